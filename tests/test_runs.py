"""The on-disk run cache: reuse without training, duplicates trained once, and every damaged entry
(no DONE, flipped byte, wrong checksum, other config) warned about and retrained, never trusted."""

import json

import numpy as np
import pytest

import grokbook.training.cache as runs
from grokbook.training.config import RunConfig
from tiny import tiny as tiny_config
from grokbook.training.cache import load_or_train, run_key


def tiny(**kw) -> RunConfig:
    return tiny_config(**(dict(steps=20) | kw))


@pytest.fixture
def counted(monkeypatch):
    """Wraps train_stack; `calls` lists the configs of every stack it trains."""
    calls = []
    real = runs.train_stack

    def wrapped(cfgs, **kw):
        calls.append(list(cfgs))
        return real(cfgs, **kw)

    monkeypatch.setattr(runs, "train_stack", wrapped)
    return calls


def forbid_training(monkeypatch):
    def fail(*a, **kw):
        raise AssertionError("load_or_train trained although every run was cached")

    monkeypatch.setattr(runs, "train_stack", fail)


def same(a, b, exact=True):
    for k in ("eval_steps", "train_acc", "test_acc", "snapshot_steps", "theta_init"):
        assert np.array_equal(getattr(a, k), getattr(b, k)), k
    for k in (
        "train_loss",
        "test_loss",
        "theta_final",
    ):  # alone vs in a stack: equal up to matmul rounding
        if exact:
            assert np.array_equal(getattr(a, k), getattr(b, k)), k
        else:
            np.testing.assert_allclose(getattr(a, k), getattr(b, k), rtol=1e-5, atol=1e-6)
    assert a.final_step == b.final_step and a.config == b.config
    assert a.snapshots.keys() == b.snapshots.keys()
    for g in a.snapshots:
        np.testing.assert_allclose(
            a.snapshots[g], b.snapshots[g], rtol=0 if exact else 1e-5, atol=0 if exact else 1e-6
        )


def test_second_call_reads_the_cache(tmp_path, monkeypatch, counted):
    cfgs = [tiny(seed=1), tiny(seed=2, lr=1e-2), tiny(seed=1, d_model=32, n_heads=4)]  # two stacks
    first = load_or_train(cfgs, root=tmp_path, progress=False)
    assert len(counted) == 2 and sorted(len(c) for c in counted) == [1, 2]
    assert {p.name for p in tmp_path.iterdir()} == {run_key(c) for c in cfgs} | {"partial", "locks"}
    assert not list((tmp_path / "partial").iterdir())  # resumable checkpoints removed when done
    forbid_training(monkeypatch)
    again = load_or_train(cfgs, root=tmp_path, progress=False)
    for a, b in zip(first, again):
        same(a, b)
    single = load_or_train(cfgs[1], root=tmp_path, progress=False)  # one config in, one Run out
    same(single, first[1])


def test_a_list_with_duplicates_trains_each_config_once(tmp_path, counted):
    a, b = tiny(seed=1), tiny(seed=2)
    out = load_or_train([a, b, a, a], root=tmp_path, progress=False)
    assert counted == [[a, b]]
    assert [r.config.seed for r in out] == [1, 2, 1, 1]
    same(out[0], out[2])


def _break_missing_done(entry):
    (entry / "DONE").unlink()


def _break_flip_byte(entry):
    f = entry / "arrays.npz"
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0xFF
    f.write_bytes(bytes(data))


def _break_checksum(entry):
    done = json.loads((entry / "DONE").read_text())
    done["sha256"]["arrays.npz"] = "0" * 64
    (entry / "DONE").write_text(json.dumps(done))


def _break_config(entry):
    """A config.json for another run, with a checksum that matches it (so only the config check can
    catch it)."""
    cfg = json.loads((entry / "config.json").read_text())
    cfg["lr"] = 0.5
    (entry / "config.json").write_text(json.dumps(cfg))
    done = json.loads((entry / "DONE").read_text())
    done["sha256"]["config.json"] = runs._sha(entry / "config.json")
    (entry / "DONE").write_text(json.dumps(done))


@pytest.mark.parametrize(
    "damage,why",
    [
        (_break_missing_done, "no completion marker"),
        (_break_flip_byte, "checksum mismatch"),
        (_break_checksum, "checksum mismatch"),
        (_break_config, "stored config differs"),
    ],
)
def test_a_damaged_entry_is_retrained_not_trusted(tmp_path, counted, damage, why):
    cfgs = [tiny(seed=1), tiny(seed=2)]
    good = load_or_train(cfgs, root=tmp_path, progress=False)
    damage(tmp_path / run_key(cfgs[0]))
    counted.clear()
    with pytest.warns(UserWarning, match=why):
        again = load_or_train(cfgs, root=tmp_path, progress=False)
    assert counted == [[cfgs[0]]]  # only the damaged run is retrained
    same(again[0], good[0], exact=False)  # retrained alone, first trained in a stack
    same(again[1], good[1])
    runs.load_run(tmp_path / run_key(cfgs[0]), cfgs[0])  # the rewritten entry verifies


def test_GROKBOOK_CACHE_is_respected(tmp_path, monkeypatch):
    monkeypatch.setenv("GROKBOOK_CACHE", str(tmp_path / "elsewhere"))
    cfg = tiny(seed=5)
    load_or_train(cfg, progress=False)
    assert (tmp_path / "elsewhere" / run_key(cfg) / "DONE").exists()


def test_a_gradient_hook_needs_a_key_and_gets_its_own_entries(tmp_path):
    cfg = tiny(seed=6)

    def hook(step, g, view):
        g.zero_()

    with pytest.raises(ValueError, match="key"):
        load_or_train([cfg], grad_hook=hook, root=tmp_path, progress=False)
    hook.key = "zero-all"
    hooked = load_or_train([cfg], grad_hook=hook, root=tmp_path, progress=False)[0]
    plain = load_or_train([cfg], root=tmp_path, progress=False)[0]
    assert run_key(cfg, "zero-all") != run_key(cfg)
    assert not np.array_equal(hooked.theta_final, plain.theta_final)
    np.testing.assert_allclose(hooked.theta_final, hooked.theta_init * (1 - 3e-3) ** 20, rtol=1e-5)


class RowScale:
    """A hook with per-run data: row i of the caller's list has its gradient scaled by
    factors[i]."""

    def __init__(self, factors):
        self.factors = [float(f) for f in factors]

    def row_key(self, i: int) -> str:
        return f"scale-grad:{self.factors[i]}"

    def __call__(self, step, g, view):
        import torch

        g.mul_(torch.tensor(self.factors, dtype=g.dtype, device=g.device)[view.rows].unsqueeze(1))


def test_a_hook_with_row_keys_is_cached_independently_of_list_order(tmp_path, monkeypatch):
    a, b = tiny(seed=7), tiny(seed=8)
    first = load_or_train(
        [a, b, b], grad_hook=RowScale([0.0, 1.0, 0.5]), root=tmp_path, progress=False
    )
    np.testing.assert_allclose(
        first[0].theta_final, first[0].theta_init * (1 - 3e-3) ** 20, rtol=1e-5
    )
    assert not np.array_equal(
        first[1].theta_final, first[2].theta_final
    )  # same config, other hook data
    forbid_training(monkeypatch)
    again = load_or_train(
        [b, a, b], grad_hook=RowScale([0.5, 0.0, 1.0]), root=tmp_path, progress=False
    )
    for x, y in zip(again, (first[2], first[0], first[1])):  # same (config, row key): cached
        same(x, y)
    assert run_key(b, "scale-grad:0.5") == run_key(b, RowScale([0.5]).row_key(0))


def test_a_hook_with_one_key_is_keyed_by_its_row_and_plain_keys_are_unchanged():
    cfg = RunConfig()
    assert run_key(cfg) == "30e3970436cbb593940ae8b9"  # the paper setting's key before this layout
    assert (
        run_key(cfg, "h:x", 3) == "82355cfaffbd6165da1ab926"
    )  # hooked runs keep their earlier keys too
    assert len({run_key(cfg, "h", 0), run_key(cfg, "h", 1), run_key(cfg, "h"), run_key(cfg)}) == 4
    assert runs.hook_keys(None, 2) == [("", None), ("", None)]

    def hook(step, g, view):
        pass

    hook.key = "h"
    assert runs.hook_keys(hook, 2) == [("h", 0), ("h", 1)]


class Captured(Exception):
    pass


def test_the_runners_compile_and_deadline_settings_reach_training(tmp_path, monkeypatch):
    seen = {}

    def fake(cfgs, **kw):
        seen.update(cfgs=cfgs, deadline=kw["deadline"])
        raise Captured

    monkeypatch.setattr(runs, "train_stack", fake)
    cfg = tiny(seed=9)
    monkeypatch.setenv("GROKBOOK_COMPILE", "1")
    monkeypatch.setenv("GROKBOOK_DEADLINE", "1234.5")
    with pytest.raises(Captured):
        load_or_train(cfg, root=tmp_path, progress=False)
    assert [c.compile_step for c in seen["cfgs"]] == [True] and seen["deadline"] == 1234.5
    assert (
        cfg.compile_step is False and RunConfig().compile_step is False
    )  # no default reads the environment
    monkeypatch.delenv("GROKBOOK_COMPILE")
    monkeypatch.delenv("GROKBOOK_DEADLINE")
    with pytest.raises(Captured):
        load_or_train(cfg, root=tmp_path, progress=False)
    assert seen["cfgs"] == [cfg] and seen["deadline"] is None
    monkeypatch.setenv("GROKBOOK_COMPILE", "yes")
    with pytest.raises(runs.ConfigError, match="GROKBOOK_COMPILE='yes'"):
        load_or_train(cfg, root=tmp_path, progress=False)


def test_planning_mode_records_missing_configs_and_stops(tmp_path, monkeypatch):
    from grokbook.training.cache import PlanComplete, load_or_train, plan_entries

    plan = tmp_path / "plan.jsonl"
    monkeypatch.setenv("GROKBOOK_PLAN", str(plan))
    a = RunConfig(p=11, d_model=16, n_heads=2, d_ff=32, n_layers=1, steps=20, seed=1)
    b = RunConfig(
        p=11, d_model=16, n_heads=2, d_ff=32, n_layers=1, steps=20, seed=2, snapshot_cap=4
    )
    with pytest.raises(PlanComplete, match="planned 2 run"):
        load_or_train([a, b, a], root=tmp_path / "cache")
    with pytest.raises(PlanComplete):
        load_or_train([b], root=tmp_path / "cache")  # planned twice, listed once
    assert plan_entries(plan) == [(a, ""), (b, "")]

    def hook(step, grad, view):
        grad.zero_()

    hook.key = "zero"
    with pytest.raises(PlanComplete, match="hooked run"):
        load_or_train([a], grad_hook=hook, root=tmp_path / "cache")
    assert plan_entries(plan) == [(a, ""), (b, ""), (a, "zero")]  # listed; trained in the real pass
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


def test_parallel_callers_train_a_shared_run_once(tmp_path, monkeypatch):
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    calls, real = [], runs.train_stack

    def counting(cfgs, **kw):
        calls.append(len(cfgs))
        time.sleep(0.3)  # keep the lock long enough for the other caller to queue
        return real(cfgs, **kw)

    monkeypatch.setattr(runs, "train_stack", counting)
    cfg = RunConfig(
        p=11, d_model=16, n_heads=2, d_ff=32, n_layers=1, steps=20, eval_every=10, snapshot_every=10
    )
    start = threading.Barrier(2)

    def job(_):
        start.wait()
        return load_or_train(cfg, root=tmp_path, progress=False)

    with ThreadPoolExecutor(2) as pool:
        a, b = pool.map(job, range(2))
    assert calls == [1]  # one training; the second caller read the cache after the lock
    np.testing.assert_array_equal(a.theta_final, b.theta_final)


def test_plan_stacks_groups_by_shape_and_hook_and_counts_budgets_and_snapshot_memory():
    import dataclasses
    from grokbook.training.model import n_params
    from grokbook.training.cache import plan_stacks

    a = RunConfig(
        p=11, d_model=16, n_heads=2, d_ff=32, n_layers=1, steps=1000, snapshot_every=100, seed=1
    )
    b = dataclasses.replace(a, seed=2, weight_decay=0.5)  # same stack as a
    c = dataclasses.replace(
        a, steps=500, snapshot_groups=("attn", "all"), snapshot_cap=4
    )  # another shape
    rows = plan_stacks({(a, ""): ["x"], (b, ""): ["y", "x"], (c, ""): ["y"], (a, "zero"): ["z"]})
    assert [(r["runs"], r["hook"], r["steps"], r["run_steps"], r["claims"]) for r in rows] == [
        (2, "", 1000, 2000, ["x", "y"]),
        (1, "zero", 1000, 1000, ["z"]),
        (1, "", 500, 500, ["y"]),
    ]
    attn = 4 * 1 * 16 * 16  # W_Q, W_K, W_V, W_O of one layer
    assert rows[0]["snapshot_gb"] == pytest.approx(
        2 * 11 * attn * 4e-9
    )  # 11 snapshots (0, 100, ..., 1000)
    assert rows[2]["snapshot_gb"] == pytest.approx(4 * (attn + n_params(c)) * 4e-9)  # capped at 4
