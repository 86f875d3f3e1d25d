"""Commutator probes as a recorder outside the core training loop: built from the config, they leave
the trajectory alone, record at step 0 and every probe_every steps, and resume from a checkpoint
exactly. Tiny models (p 11, d_model 16, 1 layer)."""

import numpy as np
import pytest
import torch

import grokbook.training.train as train
from grokbook.training.config import RunConfig
from tiny import fit, interrupt_at
from tiny import tiny as tiny_config
from grokbook.training.probes import CommutatorProbes, Recorder, recorders_for


def tiny(**kw) -> RunConfig:
    return tiny_config(**(dict(snapshot_groups=("attn",), probe_every=10, probe_samples=2) | kw))



def same_probes(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k], equal_nan=True) for k in a)



def test_recorders_are_built_from_the_config():
    assert recorders_for([tiny(probe_every=0)]) == []
    (rec,) = recorders_for([tiny(), tiny(seed=2)])
    assert isinstance(rec, CommutatorProbes) and isinstance(rec, Recorder)
    assert rec.field == "probes" and len(rec.hist) == 2


def test_probes_record_at_step_0_and_every_probe_every_steps_and_leave_the_trajectory_alone():
    cfgs = [tiny(seed=1), tiny(seed=2, lr=1e-2, ops=("mul",))]
    probed = fit(cfgs)
    plain = fit([tiny(seed=1, probe_every=0), tiny(seed=2, lr=1e-2, ops=("mul",), probe_every=0)])
    for a, b in zip(probed, plain):
        assert b.probes == {}
        assert np.array_equal(a.theta_final, b.theta_final)
        assert np.array_equal(a.test_loss, b.test_loss)
        assert a.probes["steps"].tolist() == [0, 10, 20, 30, 40]
        assert a.probes["defect"].shape == (5, 2) and a.probes["delta_attn"].shape[0] == 5
        assert np.isnan(a.probes["align"][0]) and np.isfinite(a.probes["align"][1:]).all()
        assert np.isfinite(a.probes["defect"]).all() and (a.probes["defect"] > 0).all()
    assert not np.array_equal(probed[0].probes["defect"], probed[1].probes["defect"])


def test_probes_resume_exactly_from_a_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setattr(train, "CHECKPOINT_EVERY_S", 0.0)
    cfgs = [tiny(seed=1), tiny(seed=2, lr=1e-2)]
    ref = fit(cfgs)
    ckpt = tmp_path / "stack.pt"

    interrupt_at(25, cfgs, ckpt)
    record = torch.load(ckpt, weights_only=False)
    assert record["format"] == train.CHECKPOINT_FORMAT == 2
    assert list(record["state"]["recorders"]) == ["commutator_probes"]
    for a, b in zip(fit(cfgs, checkpoint=ckpt), ref):
        assert np.array_equal(a.theta_final, b.theta_final)
        assert same_probes(a.probes, b.probes)


def test_a_checkpoint_with_other_recorders_is_named_and_not_used(tmp_path, monkeypatch):
    monkeypatch.setattr(train, "CHECKPOINT_EVERY_S", 0.0)
    cfgs = [tiny(seed=3, steps=20)]
    ckpt = tmp_path / "stack.pt"
    fit(cfgs, checkpoint=ckpt)
    record = torch.load(ckpt, weights_only=False)
    record["state"]["recorders"] = {}
    torch.save(record, ckpt)
    with pytest.warns(
        UserWarning,
        match=r"recorders \[\] in the stack state, expected " r"\['commutator_probes'\].*step 0",
    ):
        run = fit(cfgs, checkpoint=ckpt)[0]
    assert same_probes(run.probes, fit(cfgs)[0].probes)
