"""Orthogonal-gradient deletion on hand-made cases: the matched-norm factor of a constructed g and
B, f = 0 leaves g unchanged, f = 1 leaves BBᵀg, the post-Adam projection keeps every update in
span(B) at f = 1."""

import dataclasses
import math

import numpy as np
import pytest
import torch

from grokbook.training.config import RunConfig
from grokbook.papers.multitask.deletion import (
    MatchedNormShrink,
    PostAdamProjection,
    cap_steps,
    deleted,
    deletion_rows,
    matched_factor,
    next_seed,
    random_bases,
    removed_along,
    span_fraction,
    task_rows,
)
from grokbook.papers.curvature.interventions import SubspaceSuppression
from grokbook.training.model import n_params
from grokbook.training.cache import load_or_train
from grokbook.training.train import StackView

TINY = RunConfig(
    p=7,
    ops=("add", "mul"),
    d_model=8,
    n_layers=1,
    n_heads=2,
    d_ff=16,
    batch_size=16,
    steps=20,
    eval_every=10,
    snapshot_every=10,
    stop_on_grok=False,
    lr=3e-3,
    snapshot_groups=("attn", "all"),
)
E1 = torch.tensor([[[1.0], [0.0], [0.0], [0.0]]])  # B = e1 in R^4, [1, 4, 1]


def _view(theta):
    return StackView(None, theta, torch.arange(theta.shape[0]), None)


def test_matched_factor_by_hand():
    g = torch.tensor([[3.0, 4.0, 0.0, 0.0]])  # BBᵀg = (3, 0, 0, 0), orthogonal part (0, 4, 0, 0)
    torch.testing.assert_close(deleted(g, E1, 0.5), torch.tensor([[3.0, 2.0, 0.0, 0.0]]))
    torch.testing.assert_close(matched_factor(g, E1, 0.5), torch.tensor([math.sqrt(13) / 5]))
    torch.testing.assert_close(matched_factor(g, E1, 1.0), torch.tensor([0.6]))
    assert (
        matched_factor(torch.zeros(1, 4), E1, 0.5).item() == 1.0
    )  # zero gradient: nothing to remove
    hook = MatchedNormShrink(E1, 0.5, start=0)
    theta = torch.ones(1, 4)
    hook(0, g, _view(theta))
    torch.testing.assert_close(
        g, torch.tensor([[3.0, 4.0, 0.0, 0.0]])
    )  # the gradient is left alone
    theta.add_(torch.tensor([[1.0, -2.0, 0.0, 4.0]]))  # "the AdamW step"
    hook.after_step(0, _view(theta))
    torch.testing.assert_close(theta, 1 + torch.tensor([[1.0, -2.0, 0.0, 4.0]]) * math.sqrt(13) / 5)


def test_f0_leaves_g_and_f1_leaves_the_projection():
    g0 = torch.tensor([[3.0, 4.0, -1.0, 2.0]])
    for hook in (SubspaceSuppression(E1, [0.0], start=0), MatchedNormShrink(E1, 0.0, start=0)):
        g = g0.clone()
        hook(0, g, _view(torch.zeros(1, 4)))
        assert torch.equal(g, g0)
    g = g0.clone()
    SubspaceSuppression(E1, [1.0], start=0)(0, g, _view(torch.zeros(1, 4)))
    torch.testing.assert_close(g, torch.tensor([[3.0, 0.0, 0.0, 0.0]]))  # BBᵀg
    torch.testing.assert_close(deleted(g0, E1, 1.0), torch.tensor([[3.0, 0.0, 0.0, 0.0]]))
    g, theta = g0.clone(), torch.zeros(1, 4)
    hook = MatchedNormShrink(E1, 0.5, start=5)
    hook(4, g, _view(theta))  # before `start`: untouched
    theta.add_(1.0)
    hook.after_step(4, _view(theta))
    assert torch.equal(g, g0) and torch.equal(theta, torch.ones(1, 4))
    g = g0.clone()
    SubspaceSuppression(E1, [0.5], start=0)(
        0, g, _view(torch.zeros(1, 4))
    )  # the hook is the paper's rule
    torch.testing.assert_close(g, deleted(g0, E1, 0.5))
    torch.testing.assert_close(g, torch.tensor([[3.0, 2.0, -0.5, 1.0]]))


def test_post_adam_projection_by_hand():
    B = torch.zeros(1, 5, 2)
    B[0, 0, 0] = B[0, 1, 1] = 1.0  # span(e1, e2)
    theta = torch.tensor([[1.0, 1.0, 1.0, 1.0, 1.0]])
    for f, want in ((1.0, [2.0, 3.0, 1.0, 1.0, 1.0]), (0.5, [2.0, 3.0, 2.5, 3.0, 3.5])):
        th = theta.clone()
        hook = PostAdamProjection(B, f, start=0)
        hook(0, torch.zeros(1, 5), _view(th))  # remembers θ_prev
        th.add_(torch.tensor([[1.0, 2.0, 3.0, 4.0, 5.0]]))  # "the AdamW step"
        hook.after_step(0, _view(th))
        torch.testing.assert_close(th, torch.tensor([want]))
    th = theta.clone()
    hook = PostAdamProjection(B, 1.0, start=3)
    hook(2, torch.zeros(1, 5), _view(th))
    th.add_(1.0)
    hook.after_step(2, _view(th))  # before `start`: untouched
    torch.testing.assert_close(th, theta + 1.0)
    with pytest.raises(ValueError):
        PostAdamProjection(B, 1.5)


def test_post_adam_f1_keeps_training_in_span(tmp_path, monkeypatch):
    monkeypatch.setenv("GROKBOOK_CACHE", str(tmp_path))
    cfgs = [TINY, dataclasses.replace(TINY, seed=7)]
    P = n_params(TINY)
    bases = random_bases([type("R", (), {"config": c})() for c in cfgs], k=3)
    runs = load_or_train(cfgs, grad_hook=PostAdamProjection(bases, 1.0, start=0))
    for r, B in zip(runs, bases):
        move = r.theta_final.astype(np.float64) - r.theta_init
        assert span_fraction(move, B.numpy()) == pytest.approx(
            1.0, abs=1e-4
        )  # every step (decay too) in span(B)
        assert np.linalg.norm(move) > 0
    free = load_or_train(cfgs)
    assert span_fraction(free[0].theta_final - free[0].theta_init, bases[0].numpy()) < 0.5
    assert bases.shape == (2, P, 3)


def test_helpers_and_tables(tmp_path, monkeypatch):
    monkeypatch.setenv("GROKBOOK_CACHE", str(tmp_path))
    assert next_seed([2024, 42, 137]) == [1, 2, 0] and next_seed([42]) == [0]
    run = load_or_train([TINY])[0]
    assert cap_steps([run], 5_000, 0) == 5_000
    assert cap_steps([run], 5_000, 2.0) == 40  # never grokked: 2 × its budget of 20 steps
    B = torch.zeros(n_params(TINY), 1)
    B[0, 0] = 1.0
    rows = removed_along(run, B, [0.0, 1.0], n_points=3)
    assert [r["step"] for r in rows] == [0, 10, 20, 0, 10, 20]
    assert all(r["removed"] == pytest.approx(0.0, abs=1e-12) for r in rows[:3])
    assert all(
        r["removed"] == pytest.approx(1 - r["in_span"]) for r in rows[3:]
    )  # f = 1 keeps BBᵀg
    d = deletion_rows([run], B[None], task_set="dual", arm="delete", basis="own", f=0.1)
    assert d[0]["grok_add"] is None and d[0]["grok"] is None and d[0]["cap"] == 20
    t = task_rows(d)
    assert [x["op"] for x in t] == ["dual add", "dual mul"] and t[0]["arm"] == "delete (own)"


def test_hooked_runs_are_keyed_by_their_own_row_not_their_position():
    """The cache key of a hooked run comes from what the hook does to that run (row_key), so the
    same run gets the same key whatever its position in the caller's list."""
    import torch

    from grokbook.papers.curvature.interventions import CurvatureKicks, SubspaceSuppression
    from grokbook.papers.multitask.deletion import MatchedNormShrink
    from grokbook.training.cache import hook_keys

    bases = torch.linalg.qr(torch.randn(2, 12, 3)).Q
    swapped = bases.flip(0)
    hooks = [
        (SubspaceSuppression(bases, [0.5, 1.0]), SubspaceSuppression(swapped, [1.0, 0.5])),
        (MatchedNormShrink(bases, 0.3), MatchedNormShrink(swapped, 0.3)),
        (CurvatureKicks(bases, [1.0, 2.0], [7, 8]), CurvatureKicks(swapped, [2.0, 1.0], [8, 7])),
    ]
    for a, b in hooks:
        ka, kb = hook_keys(a, 2), hook_keys(b, 2)
        assert ka == kb[::-1] and ka[0] != ka[1] and all(i is None for _, i in ka)
