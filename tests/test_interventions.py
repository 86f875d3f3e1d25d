"""Interventions on hand-made cases: kicks move θ by exactly ε along a unit vector orthogonal to B,
zero strengths leave training bit-identical, the attention-confined rule leaves every other gradient
entry alone.
"""

import math

import numpy as np
import pytest
import torch

from grokbook.training.commutator import batch_gradient
from grokbook.training.config import RunConfig
from grokbook.papers.curvature.interventions import (
    CurvatureKicks,
    SubspaceSuppression,
    attention_region,
    full_coordinates,
    median_sample,
    orthogonal_unit,
    paired_delay,
)
from grokbook.training.model import group_slices, init_theta, n_params, param_layout
from grokbook.training.cache import load_or_train
from grokbook.training.tasks import make_split
from grokbook.training.train import StackView

TINY = RunConfig(
    p=7,
    d_model=8,
    n_layers=1,
    n_heads=2,
    d_ff=16,
    batch_size=16,
    steps=30,
    eval_every=10,
    snapshot_every=10,
    stop_on_grok=False,
    lr=3e-3,
)


def test_orthogonal_unit_and_median_sample():
    B = torch.zeros(1, 3, 1)
    B[0, 2, 0] = 1.0  # B = e3
    torch.testing.assert_close(
        orthogonal_unit(torch.tensor([[3.0, 4.0, 5.0]]), B), torch.tensor([[0.6, 0.8, 0.0]])
    )
    torch.testing.assert_close(
        orthogonal_unit(torch.tensor([[0.0, 0.0, 5.0]]), B), torch.zeros(1, 3)
    )
    d = torch.tensor([[3.0, 1.0, 2.0], [math.nan, 5.0, 1.0], [math.nan, math.nan, math.nan]])
    assert median_sample(d).tolist() == [2, 2, -1]  # 2 is the median; lower median of {5, 1} is 1


def test_attention_confined_rule_leaves_other_gradients_unchanged():
    basis = torch.zeros(1, 5, 1)
    basis[0, 0, 0] = 1.0  # B = e1, inside the region
    region = torch.tensor([True, True, True, False, False])
    hook = SubspaceSuppression(basis, [0.75], start=0, region=region)
    g = torch.tensor([[2.0, 4.0, -8.0, 3.0, 5.0]])
    hook(0, g, StackView(None, torch.zeros(1, 5), torch.tensor([0]), None))
    torch.testing.assert_close(g, torch.tensor([[2.0, 1.0, -2.0, 3.0, 5.0]]))
    assert hook.key != SubspaceSuppression(basis, [0.75], start=0).key
    with pytest.raises(ValueError):  # a basis outside the region is refused
        SubspaceSuppression(basis, [0.5], region=~region)


def test_attention_region_and_full_coordinates():
    layout, mask = param_layout(TINY), attention_region(TINY)
    assert int(mask.sum()) == 4 * 8 * 8 and mask.shape == (n_params(TINY),)
    off_k = group_slices(TINY, "attn")["L0.W_K"][0]
    b = np.zeros((4 * 64, 1))
    b[off_k + 3, 0] = 1.0  # 4th entry of W_K in attention coordinates
    full = full_coordinates(b, TINY)
    assert full[:, 0].nonzero().flatten().tolist() == [layout["L0.W_K"][0] + 3]
    assert bool(mask[layout["L0.W_K"][0] + 3]) and not bool(
        mask[layout["layers.0.self_attn.in_proj_bias"][0]]
    )


def _view(cfg, theta, batches):
    it = iter(batches)
    return StackView(cfg, theta, torch.arange(theta.shape[0]), lambda: next(it))


def _batches(cfg, n, seed=0):
    split = make_split(cfg.p, cfg.ops, cfg.train_frac, 1, False)
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        i = torch.randint(len(split.train_x), (2, cfg.batch_size), generator=g)
        out.append((split.train_x[i], split.train_y[i]))  # x [R=2, B, 2], y [R=2, B, 1]
    return out


@pytest.mark.parametrize("arm", ["comm", "rand"])
def test_a_kick_moves_theta_by_epsilon_orthogonally_to_b(arm):
    theta0 = torch.stack([init_theta(TINY, 1), init_theta(TINY, 2)])
    region = attention_region(TINY)
    B = torch.zeros(2, n_params(TINY), 2)
    idx = region.nonzero().flatten()
    B[0, idx[0], 0] = B[0, idx[5], 1] = B[1, idx[7], 0] = B[1, idx[9], 1] = 1.0
    hook = CurvatureKicks(B, [50.0, 0.0], [42, 137], arm=arm, start=10, every=5, samples=3)
    batches = _batches(TINY, 2 * 3 + 1 + 2)
    theta = theta0.clone()
    hook.after_step(8, _view(TINY, theta, batches))  # t = 9: not a kick step
    torch.testing.assert_close(theta, theta0)
    hook.after_step(9, _view(TINY, theta, batches))  # t = 10: kick
    move = (theta - theta0).double()
    eps = hook.log[0]["eps"]
    if arm == "comm":  # ε = α η ‖g‖ on the 7th probe batch
        g = batch_gradient(TINY, *batches[6])(theta0)
        assert eps == pytest.approx(50.0 * 1e-3 * g[0].norm().item(), rel=1e-5)
    else:
        assert eps == pytest.approx(50.0 * 1.5e-3)
    assert move[0].norm().item() == pytest.approx(eps, rel=1e-4)
    assert torch.einsum("pk,p->k", B[0].double(), move[0]).abs().max() < 1e-9
    assert move[1].abs().max() == 0  # α = 0: θ untouched
    assert [d["step"] for d in hook.log] == [10, 10] and hook.log[1]["eps"] == 0
    assert hook.log[0]["theta_norm"] == pytest.approx(theta0[0].norm().item(), rel=1e-6)


def test_kick_log_survives_a_new_hook_object(tmp_path):
    B = torch.zeros(1, n_params(TINY), 1)
    B[0, attention_region(TINY).nonzero()[0, 0], 0] = 1.0
    theta = init_theta(TINY, 1).unsqueeze(0)
    h = CurvatureKicks(B, [10.0], [42], arm="rand", start=0, every=1, log_dir=tmp_path)
    h.after_step(0, _view(TINY, theta, [(x[:1], y[:1]) for x, y in _batches(TINY, 2)]))
    again = CurvatureKicks(B, [10.0], [42], arm="rand", start=0, every=1, log_dir=tmp_path)
    (a,), (b,) = again.records(), h.records()
    assert {k: v for k, v in a.items() if k != "D_pre"} == {
        k: v for k, v in b.items() if k != "D_pre"
    }
    assert math.isnan(a["D_pre"])  # the rand arm has no pre-kick defect


def test_zero_strengths_leave_training_identical(tmp_path):
    cfgs = [TINY, RunConfig(**{**TINY.to_dict(), "seed": 137})]
    plain = load_or_train(cfgs, root=tmp_path / "a", progress=False)
    B = torch.zeros(2, n_params(TINY), 1)
    B[:, attention_region(TINY).nonzero()[0, 0], 0] = 1.0
    hooks = [
        SubspaceSuppression(B, [0.0, 0.0], start=5),
        SubspaceSuppression(B, [0.0, 0.0], start=5, region=attention_region(TINY)),
        CurvatureKicks(B, [0.0, 0.0], [42, 137], arm="comm", start=5, every=5, samples=2),
    ]
    for i, hook in enumerate(hooks):
        runs = load_or_train(cfgs, grad_hook=hook, root=tmp_path / f"h{i}", progress=False)
        for a, b in zip(plain, runs):
            np.testing.assert_array_equal(a.theta_final, b.theta_final)
            np.testing.assert_array_equal(a.test_acc, b.test_acc)


def test_a_positive_strength_changes_training(tmp_path):
    B = torch.zeros(1, n_params(TINY), 1)
    B[0, attention_region(TINY).nonzero()[0, 0], 0] = 1.0
    plain = load_or_train([TINY], root=tmp_path / "a", progress=False)[0]
    run = load_or_train(
        [TINY],
        grad_hook=SubspaceSuppression(B, [1.0], start=5),
        root=tmp_path / "b",
        progress=False,
    )[0]
    assert not np.array_equal(plain.theta_final, run.theta_final)


def test_paired_delay_by_hand():
    d = paired_delay([100, 200, None], [150, 300, 400])
    assert (d.mean, d.n_pairs, d.n_failed) == (75.0, 2, 0)
    assert d.std == pytest.approx(50 / math.sqrt(2)) and d.baseline_std == pytest.approx(
        100 / math.sqrt(2)
    )
    d = paired_delay([100, 200], [None, None])
    assert math.isnan(d.mean) and d.n_failed == 2


def test_delay_rows_pairs_by_seed():
    from grokbook.papers.curvature.interventions import delay_rows

    base = [{"op": "add", "seed": 1, "grok": 100}, {"op": "add", "seed": 2, "grok": 300}]
    rows = [
        {"op": "add", "seed": 2, "arm": "pca", "level": 0.5, "grok": 500},  # order of seeds differs
        {"op": "add", "seed": 1, "arm": "pca", "level": 0.5, "grok": 200},
        {"op": "add", "seed": 1, "arm": "pca", "level": 1.0, "grok": None},
        {"op": "add", "seed": 2, "arm": "pca", "level": 1.0, "grok": None},
    ]
    half, full = delay_rows(rows, base)
    assert (half["delay"], half["mean_grok"], half["n_grokked"]) == (150.0, 350.0, 2)
    assert half["baseline_sd"] == pytest.approx(200 / math.sqrt(2))
    assert full["n_grokked"] == 0 and math.isnan(full["mean_grok"]) and math.isnan(full["delay"])


def test_defect_at_takes_the_latest_probe_median():
    from types import SimpleNamespace
    from grokbook.papers.curvature.interventions import defect_at

    run = SimpleNamespace(
        probes={
            "steps": np.array([0, 100, 200]),
            "defect": np.array([[1.0, 2.0, 3.0], [np.nan, 4.0, 6.0], [np.nan] * 3]),
        }
    )
    out = defect_at(run, [-5, 0, 150, 200, 250])
    np.testing.assert_array_equal(out[:3], [np.nan, 2.0, 5.0])
    assert np.isnan(out[3:]).all()
