"""Hand-computed checks of grokbook.composition (Xu 2026d, the x²+y² composition regression)."""

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from grokbook.measures import composition as comp
from grokbook.errors import ConfigError

P = 13
PAIRS = np.array([(a, b) for a in range(1, P) for b in range(1, P)])  # 144 nonzero pairs


def test_feature_set_shapes_and_values():
    X = comp.feature_sets(PAIRS, P, n_low=3, focused_add=(2,), focused_mul=(1,))
    cols = {k: v.shape[1] for k, v in X.items()}
    assert cols == {"add": 12, "mul": 12, "combined": 24, "cross": 36, "full": 60, "focused": 8}
    a, b = PAIRS[5]  # (1, 6): s = 7; dlog base 2 mod 13: 2^0 = 1, 2^5 = 6 -> t = 5
    assert X["add"][5, 0] == pytest.approx(np.cos(2 * np.pi * 7 / 13))
    assert X["mul"][5, 6] == pytest.approx(np.sin(2 * np.pi * 5 / 12))
    assert X["cross"][5, 0] == pytest.approx(
        np.cos(2 * np.pi * 7 / 13) * np.cos(2 * np.pi * 5 / 12)
    )
    np.testing.assert_allclose(X["mul"][:, 11], 0, atol=1e-12)  # Nyquist sine, ω = 6 of period 12
    with pytest.raises(ConfigError):
        comp.feature_sets(np.array([[0, 3]]), P)


def test_ridge_matches_sklearn():
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((40, 5)), rng.standard_normal((40, 3))
    beta, b = comp.ridge_fit(X, Y, 1.0)
    sk = Ridge(alpha=1.0).fit(X, Y)
    np.testing.assert_allclose(beta.T, sk.coef_, atol=1e-10)
    np.testing.assert_allclose(b, sk.intercept_, atol=1e-10)


def test_exact_linear_target_and_noise():
    X = comp.feature_sets(PAIRS, P, n_low=2, focused_add=(1,), focused_mul=(1,))["add"]
    y = 3 * X[:, 0] - 2 * X[:, 7] + 5
    folds = comp.kfold(len(y), 5, seed=0)
    assert comp.r2_in_sample(X, y, alpha=1e-6) == pytest.approx(1.0, abs=1e-6)
    assert comp.r2_cv(X, y, folds, alpha=1e-6) == pytest.approx(1.0, abs=1e-6)
    noise = np.random.default_rng(3).standard_normal(len(y))
    assert comp.r2_cv(X, noise, folds) < 0 < comp.r2_in_sample(X, noise)
    null = comp.permutation_null_cv(X, y, folds, n_perm=20, seed=1)
    assert null.shape == (20,) and null.max() < 0.5
    both = comp.permutation_null_cv(X, np.stack([y, noise], 1), folds, n_perm=20, seed=1)
    assert both.shape == (2, 20)
    np.testing.assert_allclose(both[0], null)  # same seed, same draws for the first target


def test_kfold_balanced():
    f = comp.kfold(23, 5, seed=2)
    assert sorted(np.bincount(f).tolist()) == [4, 4, 5, 5, 5]


def test_ratios_and_random_cross_pairs():
    r = comp.ratios(
        {"add": 0.1, "mul": 0.05, "combined": 0.2, "cross": 0.3, "full": 0.5, "focused": 0.0}
    )
    assert r["cross/add"] == pytest.approx(3) and r["full/max"] == pytest.approx(5)
    assert r["full/combined"] == pytest.approx(2.5) and r["synergy"] == pytest.approx(0.1)
    pairs = comp.random_cross_pairs(47, 10, seed=0)
    assert pairs.shape == (100, 2) and pairs.min() >= 11 and pairs.max() <= 23
    assert len({tuple(x) for x in pairs}) == 100


def test_as_coded_uses_all_rows_for_add():
    allp = np.array([(a, b) for a in range(P) for b in range(P)])
    y = np.cos(2 * np.pi * 3 * ((allp[:, 0] + allp[:, 1]) % P) / P)
    r2 = comp.as_coded_r2(allp, y, P, alpha=1e-6, n_low=2, focused_add=(3,), focused_mul=(1,))
    assert r2["add"] == pytest.approx(1.0, abs=1e-6) and r2["focused"] == pytest.approx(
        1.0, abs=1e-6
    )


def test_regenerated_pairs_follow_python_shuffle():
    import random

    pairs = [(a, b) for a in range(5) for b in range(5)]
    random.Random(42).shuffle(pairs)
    out = comp.regenerated_test_pairs(5, 42, 0.5)
    assert out.shape == (13, 2) and [tuple(x) for x in out] == pairs[12:]
    assert len(comp.regenerated_test_pairs(97, 42)) == 4705


def test_head_logit_field_zero_for_zero_scale_and_grows_with_eps():
    import torch
    from grokbook.training.config import RunConfig
    from grokbook.training.model import init_theta
    from grokbook.measures.spectral import attn_of

    cfg = RunConfig(p=11, d_model=8, n_heads=2, n_layers=1, d_ff=16, ops=("add", "mul"))
    th = init_theta(cfg, 0).numpy()
    v = np.random.default_rng(0).standard_normal((2, attn_of(th, cfg).shape[-1]))
    pairs = np.array([[1, 2], [3, 4], [5, 6]])
    small, big = (comp.head_logit_field(cfg, th, v, pairs, task=1, rel_eps=e) for e in (1e-3, 2e-3))
    assert small.shape == (2, 3) and (small > 0).all()
    np.testing.assert_allclose(big / small, 4, rtol=0.05)  # f is quadratic in ε for small ε


def test_subset_r2_matches_separate_fits():
    rng = np.random.default_rng(4)
    X = comp.feature_sets(PAIRS, P, n_low=3, focused_add=(2,), focused_mul=(1,))
    M, idx = comp.set_matrix(X)
    for k in comp.SETS:
        np.testing.assert_allclose(M[:, idx[k]], X[k])
    Y = rng.standard_normal((len(PAIRS), 3))
    folds = comp.kfold(len(PAIRS), 4, seed=0)
    ins, cv = comp.subset_r2(M, Y, idx), comp.subset_r2(M, Y, idx, folds=folds, pooled=False)
    for k in comp.SETS:
        assert ins[k] == pytest.approx(comp.r2_in_sample(X[k], Y))
        np.testing.assert_allclose(cv[k], comp.r2_cv(X[k], Y, folds, pooled=False), atol=1e-10)
    assert comp.subset_r2(M, Y[:, 0], idx, folds=folds)["full"] == pytest.approx(
        comp.r2_cv(X["full"], Y[:, 0], folds)
    )
