"""Expected plan cost from measured runs: stop steps per family, speed per model shape."""

import dataclasses
import json

from grokbook.book import costs
from grokbook.training.config import RunConfig

A = RunConfig(p=11, d_model=16, n_heads=2, d_ff=32, n_layers=1, steps=5000, seed=1, tail_steps=100)


def fake_entry(root, key, cfg, final_step, wall, size):
    d = root / key
    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps(cfg.to_dict()))
    env = {"device": "cpu", "stack_size": size, "stack_wall_s": wall, "final_step": final_step}
    (d / "env.json").write_text(json.dumps(env))
    (d / "DONE").write_text("{}")


def test_expected_steps_are_the_family_median_and_speed_the_fastest_of_the_shape(tmp_path):
    for i, (seed, stop) in enumerate([(1, 1000), (2, 1400), (3, 3000)]):
        fake_entry(tmp_path, f"k{i}", dataclasses.replace(A, seed=seed), stop, 54.0, 3)
    fake_entry(tmp_path, "torn", A, 10, 1.0, 1)
    (tmp_path / "torn" / "env.json").unlink()  # unreadable: not a measurement
    table = costs.measured_runs(tmp_path)
    assert len(table) == 3
    new_seed = dataclasses.replace(A, seed=99)
    assert costs.expected_steps(new_seed, table) == (1400, 3)  # median stop: grok 1300 + tail 100
    longer = dataclasses.replace(A, seed=7, steps=50_000, tail_steps=1000, probe_every=100)
    assert costs.expected_steps(longer, table) == (2300, 3)  # same trajectory, its own tail
    other = dataclasses.replace(A, weight_decay=0.0)  # another family: its budget
    assert costs.expected_steps(other, table) == (5000, 0)
    short = dataclasses.replace(A, steps=1200)
    assert costs.expected_steps(short, table) == (1200, 3)  # capped by its budget
    assert costs.speed(other, table) == 5400 / 54.0  # same shape: same speed
    fake_entry(tmp_path, "slow", dataclasses.replace(A, seed=4), 1000, 100.0, 1)  # cores shared
    fake_entry(tmp_path, "fast", dataclasses.replace(A, seed=5), 1000, 5.0, 1)
    shared = costs.measured_runs(tmp_path)
    assert costs.speed(other, shared) == 1000 / 5.0  # the fastest stack, not the median (100)
    del shared["fast"]
    assert costs.speed(other, shared) == 5400 / 54.0  # a slower stack does not lower it
    assert costs.speed(dataclasses.replace(A, d_model=32, d_ff=64), table) is None
    cost = costs.stack_cost([new_seed, other], table)
    assert cost["expected_run_steps"] == 6400 and cost["measured_share"] == 0.5
    assert cost["expected_h"] == round(6400 / 100.0 / 3600, 2)


def test_a_family_that_did_not_grok_costs_its_budget(tmp_path):
    for i in range(3):  # budget 5000 reached: censored
        fake_entry(tmp_path, f"k{i}", dataclasses.replace(A, seed=i), 5000, 50.0, 3)
    table = costs.measured_runs(tmp_path)
    assert all(m["grok_step"] is None for m in table.values())
    assert costs.expected_steps(dataclasses.replace(A, steps=20_000), table) == (20_000, 3)


def test_measurements_keep_the_committed_table_and_add_the_cache(tmp_path):
    fake_entry(tmp_path / "cache", "k1", A, 900, 9.0, 1)
    committed = tmp_path / "measured.json"
    costs.write({"old": {"family": "f", "final_step": 1}}, committed)
    table = costs.measurements(committed, tmp_path / "cache")
    assert set(table) == {"old", "k1"} and table["k1"]["final_step"] == 900


def test_a_worker_share_counts_at_the_rate_of_all_workers_together(tmp_path):
    wide = dataclasses.replace(A, d_model=32, d_ff=64)
    for i, stop in enumerate([1000, 2000]):  # one worker's share of two runs, 30 s, two workers
        fake_entry(tmp_path, f"w{i}", dataclasses.replace(wide, seed=i), stop, 30.0, 2)
        env = json.loads((tmp_path / f"w{i}" / "env.json").read_text())
        (tmp_path / f"w{i}" / "env.json").write_text(json.dumps(env | {"workers": 2}))
    table = costs.measured_runs(tmp_path)
    assert costs.speed(wide, table) == 3000 / 30.0 * 2
    for m in table.values():
        m["workers"] = 1  # the same share measured alone: its own rate
    assert costs.speed(wide, table) == 3000 / 30.0
