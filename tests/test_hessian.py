"""Lanczos bottom eigenvalues of grokbook.hessian against a known quadratic and a dense Hessian of a
tiny model."""

import numpy as np
import pytest
import torch

from grokbook.training.config import RunConfig
from grokbook.measures.hessian import (
    bottom_eigenvalues,
    checkpoint_indices,
    curvature_trace,
    hessian_batch,
    hvp,
    lanczos,
    loss_fn,
)
from grokbook.training.model import init_theta, n_params

TINY = RunConfig(p=5, ops=("add", "mul"), d_model=8, n_heads=2, d_ff=16, n_layers=1, train_frac=0.5)


def test_lanczos_on_a_known_diagonal_quadratic():
    # f(θ) = ½ θᵀ diag(d) θ: H = diag(d), so the Ritz values of a full run are exactly d (sorted)
    d = torch.tensor([-3.0, -1.0, 0.5, 2.0, 7.0], dtype=torch.float64)
    f = lambda th: 0.5 * (d * th * th).sum()  # noqa: E731
    res = lanczos(hvp(f, torch.zeros(5, dtype=torch.float64)), 5, iters=5, seed=1)
    np.testing.assert_allclose(res.ritz, [-3.0, -1.0, 0.5, 2.0, 7.0], atol=1e-10)
    np.testing.assert_allclose(res.residual, 0.0, atol=1e-8)


def test_lanczos_two_iterations_of_a_2x2_matrix_from_a_basis_vector():
    # A = [[2, 1], [1, 2]] from e1: α1 = 2, β1 = 1, α2 = 2 -> T = A, Ritz values 1 and 3
    A = torch.tensor([[2.0, 1.0], [1.0, 2.0]], dtype=torch.float64)
    res = lanczos(lambda v: A @ v, 2, iters=2, start=torch.tensor([1.0, 0.0], dtype=torch.float64))
    np.testing.assert_allclose(res.alpha, [2.0, 2.0])
    np.testing.assert_allclose(res.beta, [1.0])
    np.testing.assert_allclose(res.ritz, [1.0, 3.0])


def test_hvp_matches_the_dense_hessian_of_the_tiny_model():
    theta = init_theta(TINY, 0).double()
    x, y = hessian_batch(TINY, 8, seed=0)
    f = loss_fn(TINY, x, y)
    H = torch.autograd.functional.hessian(f, theta, vectorize=True)
    v = torch.randn(theta.numel(), generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    torch.testing.assert_close(hvp(f, theta)(v), H @ v, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("task", [None, 1])
def test_lanczos_bottom_eigenvalue_matches_eigvalsh_of_the_dense_hessian(task):
    theta = init_theta(TINY, 1).double()
    x, y = hessian_batch(TINY, 10, seed=1)
    H = torch.autograd.functional.hessian(loss_fn(TINY, x, y, task), theta, vectorize=True)
    exact = torch.linalg.eigvalsh(H).numpy()  # dense reference, P = 762
    assert n_params(TINY) == 762
    part = bottom_eigenvalues(
        TINY, theta, x, y, task, iters=120, k=1
    )  # extreme value converges early
    assert part[0] == pytest.approx(exact[0], rel=1e-3, abs=1e-6)
    assert part[0] >= exact[0] - 1e-9  # Ritz values interlace: never below


def test_float32_model_gives_the_same_bottom_eigenvalue():
    theta = init_theta(TINY, 2)
    x, y = hessian_batch(TINY, 10, seed=2)
    e32 = bottom_eigenvalues(TINY, theta, x, y, iters=80, k=1)
    e64 = bottom_eigenvalues(TINY, theta.double(), x, y, iters=80, k=1)
    assert e32[0] == pytest.approx(e64[0], rel=1e-3, abs=1e-4)


def test_hessian_batch_is_distinct_and_capped_and_checkpoint_indices():
    x, _ = hessian_batch(TINY, 1000, seed=0)
    assert len(x) == len({tuple(r) for r in x.tolist()}) == 8  # 16 nonzero pairs (mul), half train
    np.testing.assert_array_equal(checkpoint_indices(10, 4), [0, 3, 6, 9])
    np.testing.assert_array_equal(checkpoint_indices(3, 30), [0, 1, 2])


def test_curvature_trace_rows():
    thetas = torch.stack([init_theta(TINY, 0), init_theta(TINY, 1)])
    x, y = hessian_batch(TINY, 8, seed=0)
    rows = curvature_trace(TINY, [0, 100], thetas, x, y, modes=(None, 0), iters=10, k=2)
    assert [(r["step"], r["mode"]) for r in rows] == [
        (0, "total"),
        (0, "add"),
        (100, "total"),
        (100, "add"),
    ]
    assert all(len(r["ritz"]) == 2 and r["lam_min"] == r["ritz"][0] for r in rows)
