"""Training layouts (grokbook.training.layout): worker processes train the runs stacked trains,
a failing worker leaves no trusted cache entry, a deadline stops every worker at a checkpoint that
the next call resumes from, hooks that cannot go to workers fall back to stacked with a message,
and auto measures once per shape and reuses its stored choice. Tiny models (p 11, d_model 16)."""

import json
import math
import os
import time

import numpy as np
import pytest
import torch

from grokbook.errors import ConfigError
from grokbook.training import layout
from grokbook.training.cache import load_or_train, load_run, run_key
from grokbook.training.train import DeadlineReached
from test_train import assert_same_run
from tiny import tiny

CFGS = [
    tiny(seed=1),
    tiny(seed=2, ops=("mul",), lr=1e-2, weight_decay=0.3),
    tiny(seed=3, ops=("sub",), weight_decay=0.0),
]


class ZeroRow:
    """A split-safe hook: zeroes the gradient of the caller's row `row` (that run then only
    decays); with `fail`, the worker holding row `fail[0]` raises ("raise") or exits ("exit") at
    step 5. `fail` leaves the cache key alone, so a later call trains the same entries."""

    split_safe = True

    def __init__(self, row: int, fail: tuple = ()):
        self.row, self.fail = row, fail
        self.key = f"zero-row-{row}"

    def __call__(self, step, grad, view):
        if self.fail and step == 5 and self.fail[0] in view.rows.tolist():
            if self.fail[1] == "exit":
                os._exit(3)
            raise RuntimeError("the hook failed on purpose")
        grad[view.rows == self.row] = 0


def train(cfgs, root, setting, **kw):
    with layout.layout_setting(setting):
        return load_or_train(cfgs, root=root, progress=False, **kw)


def entries(root):
    """Cache entries with DONE (not the temporary folders a stopped save may leave)."""
    return sorted(p.parent.name for p in root.glob("*/DONE") if not p.parent.name.startswith("."))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """CFGS trained stacked and in processes (2 workers)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(layout, "cores", lambda: 2)
        stacked = train(CFGS, tmp_path_factory.mktemp("stacked"), "stacked")
        processes = train(CFGS, tmp_path_factory.mktemp("processes"), "processes")
    return stacked, processes


def test_processes_train_the_runs_that_stacked_trains_and_the_same_runs_twice(
    reference, tmp_path, monkeypatch
):
    stacked, processes = reference
    for a, b in zip(processes, stacked):
        assert_same_run(a, b, exact=False)
    assert [r.env["layout"] for r in processes] == ["processes"] * 3
    assert [r.env["threads"] for r in processes] == [1] * 3
    assert [r.env["stack_size"] for r in processes] == [2, 1, 2]  # rows 0, 2 | row 1
    monkeypatch.setattr(layout, "cores", lambda: 2)
    again = train(CFGS, tmp_path, "processes")
    for a, b in zip(again, processes):
        assert_same_run(a, b, exact=True)
    assert list((tmp_path / "partial").iterdir()) == []  # checkpoints and share lists removed


def test_a_deadline_stops_every_worker_at_a_checkpoint_and_the_next_call_resumes(
    reference, tmp_path, monkeypatch
):
    monkeypatch.setattr(layout, "cores", lambda: 2)
    monkeypatch.setenv("GROKBOOK_DEADLINE", repr(time.time() - 1))  # past: the first evaluation
    with pytest.raises(DeadlineReached, match="deadline reached in 2 of 2 worker processes"):
        train(CFGS, tmp_path, "processes")
    checkpoints = sorted((tmp_path / "partial").glob("*.pt"))
    assert len(checkpoints) == 2 and entries(tmp_path) == []
    assert [torch.load(c, weights_only=False)["step"] for c in checkpoints] == [10, 10]
    monkeypatch.delenv("GROKBOOK_DEADLINE")
    for a, b in zip(train(CFGS, tmp_path, "processes"), reference[1]):
        assert_same_run(a, b, exact=True)
    assert list((tmp_path / "partial").iterdir()) == []


def test_a_checkpoint_of_the_stacked_layout_resumes_stacked_with_a_message(
    reference, tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(layout, "cores", lambda: 2)
    monkeypatch.setenv("GROKBOOK_DEADLINE", repr(time.time() - 1))
    with pytest.raises(DeadlineReached, match="step 10 of 40"):
        train(CFGS, tmp_path, "stacked")
    monkeypatch.delenv("GROKBOOK_DEADLINE")
    capsys.readouterr()
    for a, b in zip(train(CFGS, tmp_path, "processes"), reference[0]):
        assert_same_run(a, b, exact=True)
    out = capsys.readouterr().out
    assert (
        out.startswith("training layout: stacked for this call, to resume ")
        and out.count("\n") == 1
    )


def test_a_share_with_a_checkpoint_is_kept_whole_when_the_others_have_finished(tmp_path):
    keys = ["a", "b", "c", "d", "e"]
    assert layout.deal_shares(keys, 2, tmp_path) == [["a", "c", "e"], ["b", "d"]]
    layout.checkpoint_file(tmp_path, ["b", "d"]).write_bytes(b"")
    assert layout.deal_shares(["b", "d", "f", "g"], 2, tmp_path) == [["b", "d"], ["f", "g"]]
    assert layout.deal_shares(["b", "d", "f"], 1, tmp_path) == [["b", "d"], ["f"]]
    assert layout.deal_shares(["b", "f", "g"], 2, tmp_path) == [["b", "g"], ["f"]]  # d: done


@pytest.mark.parametrize("how", ["raise", "exit"])
def test_a_failing_worker_names_its_runs_and_leaves_no_entry_that_is_trusted(
    how, tmp_path, monkeypatch
):
    monkeypatch.setattr(layout, "cores", lambda: 2)
    cfgs = [tiny(seed=s) for s in range(4)]  # workers: rows 0, 2 | rows 1, 3
    keys = [run_key(c, "zero-row-0", i) for i, c in enumerate(cfgs)]
    expected = "the hook failed on purpose" if how == "raise" else "exited with code 3"
    with pytest.raises(layout.WorkerFailed, match=expected) as failed:
        train(cfgs, tmp_path, "processes", grad_hook=ZeroRow(row=0, fail=(1, how)))
    message = str(failed.value)
    assert "worker 2 of 2" in message and f"{keys[1]} (seed=1," in message and keys[3] in message
    assert keys[1] not in entries(tmp_path) and keys[3] not in entries(tmp_path)
    for k in entries(tmp_path):  # the other worker's runs, if it finished first: whole runs
        assert load_run(tmp_path / k, cfgs[keys.index(k)]).final_step == 40
    if how == "exit":
        return
    runs = train(cfgs, tmp_path, "processes", grad_hook=ZeroRow(row=0))
    same = train(cfgs, tmp_path / "stacked", "stacked", grad_hook=ZeroRow(row=0))
    for a, b in zip(runs, same):
        assert_same_run(a, b, exact=False)
    c = cfgs[0]  # row 0 has no gradient: its θ only decays; the others train
    decay = (1 - c.lr * c.weight_decay) ** c.steps
    np.testing.assert_allclose(runs[0].theta_final, runs[0].theta_init * decay, rtol=1e-4)
    assert not np.allclose(runs[1].theta_final, runs[1].theta_init * decay, atol=1e-3)


def test_a_bad_layout_setting_is_an_error_naming_the_variable_and_the_values(tmp_path, monkeypatch):
    monkeypatch.setenv("GROKBOOK_LAYOUT", "fast")
    with pytest.raises(ConfigError, match="GROKBOOK_LAYOUT='fast'.*auto, stacked, processes"):
        load_or_train(CFGS[:2], root=tmp_path, progress=False)
    assert entries(tmp_path) == []
    with pytest.raises(ConfigError, match="layout='threads'"):
        with layout.layout_setting("threads"):
            pass
    with layout.layout_setting("processes"):
        assert layout.requested() == "processes"
    assert os.environ["GROKBOOK_LAYOUT"] == "fast"  # restored


def test_what_cannot_go_to_worker_processes_trains_stacked_with_a_message(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("GROKBOOK_LAYOUT", "processes")

    def local(step, grad, view):
        pass

    local.key = "local"
    assert layout.choose_layout(CFGS, local, tmp_path, False) == "stacked"
    assert "does not declare split_safe = True" in capsys.readouterr().out
    local.split_safe = True
    assert layout.choose_layout(CFGS, local, tmp_path, False) == "stacked"
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "hook local cannot be sent to a worker" in out
    cuda = [tiny(seed=1, device="cuda"), tiny(seed=2, device="cuda")]
    assert layout.choose_layout(cuda, None, tmp_path, False) == "stacked"
    assert "device='cuda'" in capsys.readouterr().out
    assert layout.choose_layout(CFGS, ZeroRow(row=0), tmp_path, False) == "processes"
    assert capsys.readouterr().out == ""


def test_auto_measures_once_per_shape_stores_its_choice_and_reuses_it(tmp_path, monkeypatch):
    monkeypatch.setattr(layout, "MIN_CALIBRATED_RUN_STEPS", 0)  # tiny budgets calibrate too
    monkeypatch.setenv("GROKBOOK_LAYOUT", "auto")
    monkeypatch.setattr(layout, "cores", lambda: 2)
    calls = []

    def timed(stacked, processes):
        def measure(cfg, workers, steps, repeats):
            calls.append((cfg.d_model, workers))
            return {"stacked": [stacked] * repeats, "processes": [processes] * repeats}

        return measure

    monkeypatch.setattr(layout, "measure", timed(stacked=20.0, processes=30.0))
    assert layout.choose_layout(CFGS[:2], None, tmp_path, False) == "processes"
    stored = json.loads((tmp_path / "layout.json").read_text())
    assert list(stored) == [layout.machine_key(CFGS[0])] and calls == [(16, 2)]
    assert list(stored.values())[0]["layout"] == "processes"
    monkeypatch.setattr(layout, "measure", timed(stacked=30.0, processes=20.0))
    assert layout.choose_layout(CFGS[1:], None, tmp_path, False) == "processes"  # stored
    assert calls == [(16, 2)]
    wider = [tiny(seed=1, d_model=32), tiny(seed=2, d_model=32)]
    assert layout.choose_layout(wider, None, tmp_path, False) == "stacked"  # another shape
    assert calls == [(16, 2), (32, 2)]
    assert len(json.loads((tmp_path / "layout.json").read_text())) == 2
    assert layout.choose_layout(CFGS[:1], None, tmp_path, False) == "stacked"  # one run
    monkeypatch.setattr(layout, "cores", lambda: 1)
    assert layout.choose_layout(CFGS, None, tmp_path / "other", False) == "stacked"
    assert calls == [(16, 2), (32, 2)] and not (tmp_path / "other").exists()


def test_auto_trains_stacked_without_storing_when_the_workers_cannot_be_timed(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(layout, "MIN_CALIBRATED_RUN_STEPS", 0)  # tiny budgets calibrate too
    monkeypatch.setenv("GROKBOOK_LAYOUT", "auto")
    monkeypatch.setattr(layout, "cores", lambda: 2)

    def measure(cfg, workers, steps, repeats):
        raise layout.WorkerFailed("timing worker timing-1 exited with code 1")

    monkeypatch.setattr(layout, "measure", measure)
    assert layout.choose_layout(CFGS, None, tmp_path, False) == "stacked"
    assert "stacked for this call (no measurement: timing worker" in capsys.readouterr().out
    assert not (tmp_path / "layout.json").exists()


def test_auto_takes_processes_only_when_clearly_faster():
    assert layout.decide({"stacked": [20.0, 21.0], "processes": [30.0, 29.0]}) == "processes"
    assert layout.decide({"stacked": [20.0, 21.0], "processes": [21.0, 22.0]}) == "stacked"
    assert layout.decide({"stacked": [20.0, 20.0], "processes": [float("nan")] * 2}) == "stacked"
    assert layout.rotated(["a", "b", "c"], 4) == ["b", "c", "a"]


def test_measure_times_both_layouts_at_a_tiny_shape():
    rates = layout.measure(tiny(), workers=2, steps=40, repeats=1)
    assert sorted(rates) == ["processes", "stacked"]
    # a marginal time <= 0 (a busy computer) gives NaN, never a negative or infinite speed
    assert all(len(v) == 1 and (v[0] > 0 or math.isnan(v[0])) for v in rates.values())
    assert all(math.isfinite(v[0]) or math.isnan(v[0]) for v in rates.values())


def test_auto_trains_a_short_stack_stacked_without_calibrating(tmp_path, monkeypatch):
    monkeypatch.setenv("GROKBOOK_LAYOUT", "auto")
    monkeypatch.setattr(layout, "cores", lambda: 2)

    def measure(cfg, workers, steps, repeats):
        raise AssertionError("a short stack must not be calibrated")

    monkeypatch.setattr(layout, "measure", measure)
    budget = sum(c.steps for c in CFGS)
    monkeypatch.setattr(layout, "MIN_CALIBRATED_RUN_STEPS", budget + 1)
    assert layout.choose_layout(CFGS, None, tmp_path, False) == "stacked"
    assert not (tmp_path / "layout.json").exists()
    monkeypatch.setattr(layout, "MIN_CALIBRATED_RUN_STEPS", budget)
    with pytest.raises(AssertionError, match="must not be calibrated"):
        layout.choose_layout(CFGS, None, tmp_path, False)
