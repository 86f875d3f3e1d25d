"""Hand-computed values for grokbook.spectral (update window, spectral edge, perturbation field,
Fourier concentration, discrete log, white-noise null)."""

import numpy as np
import pytest
import torch

from grokbook.training.config import RunConfig
from grokbook.training.model import init_theta, param_layout, residual_stream
from grokbook.measures.spectral import (
    attn_of,
    concentration,
    dlog_table,
    edge,
    field,
    groupings,
    harmonic_mean_F,
    perturbation_field,
    primitive_root,
    random_direction_fields,
    random_directions,
    update_window,
    white_noise_F,
)
from grokbook.errors import ConfigError
from grokbook.training.tasks import domain_pairs

TINY = RunConfig(p=7, d_model=8, n_layers=1)


def test_update_window_takes_the_last_W_updates_at_the_nearest_snapshot():
    steps = np.arange(0, 1100, 100)  # 11 snapshots
    attn = (steps[:, None] ** 2 / 1e4) * np.ones((1, 3))  # θ(s) = (s/100)², updates 2i − 1
    X, s = update_window(steps, attn, end_step=740, W=4, centred=False)  # nearest snapshot: 700
    np.testing.assert_array_equal(s, [400, 500, 600, 700])
    np.testing.assert_allclose(X[:, 0], [7, 9, 11, 13])
    Xc, _ = update_window(steps, attn, end_step=740, W=4)
    np.testing.assert_allclose(Xc[:, 0], [-3, -1, 1, 3])
    X2, s2 = update_window(steps, attn, end_step=300, W=20, centred=False)  # shorter run: 3 updates
    np.testing.assert_array_equal(s2, [100, 200, 300])
    with pytest.raises(ValueError):
        update_window(steps, attn, end_step=200, W=20)


def test_edge_of_rank_one_plus_noise():
    rng = np.random.default_rng(0)
    v = rng.standard_normal(500)
    X = 10 * np.outer(rng.standard_normal(20), v / np.linalg.norm(v)) + 0.1 * rng.standard_normal(
        (20, 500)
    )
    e = edge(X - X.mean(0))
    assert e.k_star == 1 and e.k_star_unweighted == 1
    assert e.gap_ratio > 5
    assert abs(e.V[0] @ v / np.linalg.norm(v)) > 0.99
    np.testing.assert_allclose(e.V @ e.V.T, np.eye(len(e.V)), atol=1e-9)  # orthonormal rows
    assert e.E3 > 0.9


def test_edge_gap_scores_by_hand():
    X = np.diag([4.0, 2.0, 1.0, 1.0, 0.5])  # σ = 4, 2, 1, 1, 0.5; Σσ = 8.5
    e = edge(X)
    # weighted scores (σ_j/Σσ)(σ_j/σ_{j+1}): 4/8.5·2, 2/8.5·2, 1/8.5·1, 1/8.5·2 -> k* = 1, R = 2
    assert (e.k_star, e.gap_ratio) == (1, 2.0)
    assert e.k_star_unweighted == 1  # ties (2, 2, 1, 2): the first
    assert e.E3 == pytest.approx(21 / 22.25)
    assert e.rho3 == pytest.approx(1.0)
    assert e.g23 == pytest.approx(3.0)


def test_primitive_roots_and_discrete_log():
    assert primitive_root(97) == 5 and primitive_root(7) == 3 and primitive_root(47) == 5
    for p in (5, 7, 47, 59, 97, 113):
        L = dlog_table(p)
        assert sorted(L[1:]) == list(range(p - 1)) and L[0] == -1
        a, b = np.meshgrid(np.arange(1, p), np.arange(1, p))
        np.testing.assert_array_equal(L[a * b % p], (L[a] + L[b]) % (p - 1))  # mult -> addition
    with pytest.raises(ConfigError):
        primitive_root(91)
    with pytest.raises(ConfigError):
        dlog_table(7, g=2)  # 2 has order 3 mod 7


def test_groupings_drop_zero_pairs_where_required():
    pairs = np.array([[0, 3], [2, 3], [4, 3], [1, 6]])
    G = groupings(7, pairs)
    np.testing.assert_array_equal(G["add"].g, [3, 5, 0, 0])
    np.testing.assert_array_equal(G["sub"].g, [4, 6, 1, 2])
    np.testing.assert_array_equal(G["raw_mul"].g, [0, 6, 5, 6])
    np.testing.assert_array_equal(G["x2_y2"].g, [2, 6, 4, 2])
    L = dlog_table(7)  # base 3: 1->0, 3->1, 2->2, 6->3, 4->4, 5->5
    np.testing.assert_array_equal(G["dlog"].g, [-1, (L[2] + L[3]) % 6, (L[4] + L[3]) % 6, L[6]])
    np.testing.assert_array_equal(G["dlog_of_sum"].g, [L[3], L[5], -1, -1])
    np.testing.assert_array_equal(G["dlog"].keep, [False, True, True, True])
    g, T = G["dlog"]
    assert T == 6


def test_pure_fourier_mode_has_concentration_one():
    p = 13
    pairs = domain_pairs(p, ("add",)).numpy()
    G = groupings(p, pairs)
    f = 2 + np.cos(2 * np.pi * 3 * G["add"].g / p)
    s = concentration(f, G["add"].g, p)
    assert s.F[0] == pytest.approx(1.0) and s.peak[0] == 3 and s.eta2[0] == pytest.approx(1.0)
    # a multiplicative character is a single mode in the dlog basis only
    h = 2 + np.cos(2 * np.pi * 5 * G["dlog"].g / (p - 1))
    assert concentration(h, G["dlog"].g, p - 1).peak[0] == 5
    assert concentration(h, G["dlog"].g, p - 1).F[0] == pytest.approx(1.0)
    assert concentration(h, G["raw_mul"].g, p).F[0] < 0.5
    # excluding the peak moves it
    two = f + 0.5 * np.sin(2 * np.pi * 5 * G["add"].g / p)
    s2 = concentration(np.stack([f, two]), G["add"].g, p, exclude=(3,))
    assert s2.peak[1] == 5 and s2.power[1, 2] == 0.0
    np.testing.assert_allclose(s2.power.sum(1)[1], 1.0)


def test_empty_bin_zero_versus_impute_and_eta2_by_hand():
    # T = 4, class 0 empty, classes 1..3 have mean 1: zero-fill m = [0, 1, 1, 1] -> X1 = −1, X2 = −1
    # -> P̂ = ½, ½
    s = concentration(np.ones(3), np.array([1, 2, 3]), 4, empty="zero")
    np.testing.assert_allclose(s.power[0], [0.5, 0.5])
    s = concentration(np.array([1.0, 1.0, 1.0, 2.0]), np.array([1, 2, 3, 3]), 4, empty="impute")
    # class means [_, 1, 1, 1.5]; the empty class takes the mean of the others, 7/6
    m = np.array([7 / 6, 1, 1, 1.5])
    P = np.abs(np.fft.rfft(m)[1:3]) ** 2
    np.testing.assert_allclose(s.power[0], P / P.sum())
    e = concentration(np.array([1.0, 3.0, 5.0, 7.0]), np.array([0, 0, 1, 1]), 2)
    assert e.eta2[0] == pytest.approx(16 / 20)  # between 2·4 + 2·4, total 9 + 1 + 1 + 9
    with pytest.raises(ConfigError):
        concentration(np.ones(3), np.array([0, 1, 1]), 2, empty="drop")


def test_white_noise_matches_the_harmonic_number_and_the_brief():
    F = white_noise_F(97, 20_000, seed=0)
    assert round(F.mean(), 2) == round(harmonic_mean_F(48), 2) == 0.09
    assert F.mean() == pytest.approx(0.0929, abs=0.002)
    assert np.quantile(F, 0.95) == pytest.approx(0.136, abs=0.004)


def test_random_directions_are_unit_and_seeded():
    D = random_directions(1000, 4, seed=1)
    np.testing.assert_allclose(np.linalg.norm(D, axis=1), 1.0, atol=1e-6)
    np.testing.assert_array_equal(D, random_directions(1000, 4, seed=1))


def test_perturbation_field_places_the_direction_in_the_attention_coordinates():
    theta = init_theta(TINY, 0).numpy()
    n = attn_of(theta, TINY).shape[0]
    assert n == 4 * TINY.d_model**2
    pairs = domain_pairs(7, ("add",)).numpy()
    d = np.zeros(n)
    d[3 * 64 + 5] = 1.0  # 6th entry of L0.W_O (after Q, K, V, 8x8 each)
    dh = perturbation_field(TINY, theta, d, pairs, rel_eps=0.01)
    eps = 0.01 * np.linalg.norm(attn_of(theta, TINY))
    th2 = theta.copy()
    th2[param_layout(TINY)["L0.W_O"][0] + 5] += eps
    x = torch.as_tensor(pairs)[None]
    ref = (
        residual_stream(torch.as_tensor(th2)[None], TINY, x)
        - residual_stream(torch.as_tensor(theta)[None], TINY, x)
    )[0].numpy()
    np.testing.assert_allclose(dh[0], ref, atol=1e-5)


def test_perturbation_field_is_quadratic_in_eps():
    theta = init_theta(TINY, 0).numpy()
    pairs = domain_pairs(7, ("add",)).numpy()
    D = random_directions(attn_of(theta, TINY).shape[0], 2, seed=3)
    f1 = field(perturbation_field(TINY, theta, D, pairs, rel_eps=0.002)).sum(1)
    f2 = field(perturbation_field(TINY, theta, D, pairs, rel_eps=0.004)).sum(1)
    np.testing.assert_allclose(f2 / f1, 4.0, rtol=0.02)
    # sign of the direction does not matter to first order
    fm = field(perturbation_field(TINY, theta, -D, pairs, rel_eps=0.002)).sum(1)
    np.testing.assert_allclose(fm / f1, 1.0, rtol=0.02)
    # the chunked null gives the fields of its own draws
    R = random_direction_fields(TINY, theta, pairs, count=3, seed=5, chunk=2)
    assert R.shape == (3, len(pairs)) and (R > 0).all()


def test_perturbation_field_tiles_do_not_change_the_field():
    theta = init_theta(TINY, 0).numpy()
    pairs = domain_pairs(7, ("mul",)).numpy()  # 36 pairs: blocks of 5 leave a short last one
    D = random_directions(attn_of(theta, TINY).shape[0], 7, seed=3)
    whole = perturbation_field(TINY, theta, D, pairs, chunk=7, block=len(pairs))
    tiled = perturbation_field(TINY, theta, D, pairs, chunk=3, block=5)
    # equal up to float32 rounding of h (a misplaced tile would differ by Δh itself, ~1e-3)
    assert tiled.shape == (7, 36, TINY.d_model) and np.abs(whole).mean() > 1e-3
    np.testing.assert_allclose(tiled, whole, rtol=1e-4, atol=1e-6)
    one = perturbation_field(TINY, theta, D[4], pairs[10:20])
    np.testing.assert_allclose(tiled[4, 10:20], one[0], rtol=1e-4, atol=1e-6)


def test_generator_change_relabels_dlog_frequencies():
    # p = 17, g0 = 3, g = 10 = 3^3 (u = 3, u⁻¹ = 11): dlog_g0 = 3·dlog_g, so ω = 1 in base 3 is ω =
    # 3 in base 10
    p = 17
    pairs = domain_pairs(p, ("mul",)).numpy()
    f = 2 + np.cos(2 * np.pi * 1 * groupings(p, pairs)["dlog"].g / (p - 1))
    G = groupings(p, pairs, g=10)["dlog"]
    s = concentration(f, G.g, G.T)
    assert s.peak[0] == 3 and s.F[0] == pytest.approx(1.0)


def test_separation_by_hand():
    from grokbook.measures.spectral import separation
    from grokbook.papers.spectral.rules import separation_level

    s = separation([1.5, 1.4, 1.3], [1.0, 1.35, 1.1])
    assert (s.n, s.wins, s.separated) == (3, 3, False)  # 1.3 < 1.35
    assert s.auroc == pytest.approx(8 / 9)  # 1.3 loses to 1.35 only
    assert separation_level(s) == "partial"
    assert separation_level(separation([2.0, 3.0], [1.0, 1.5])) == "reproduced"
    assert separation_level(separation([1.0, 1.0], [2.0, 3.0])) == "not reproduced"


def test_edge_track_windows():
    from grokbook.measures.spectral import edge_track

    rng = np.random.default_rng(0)
    steps = np.arange(0, 1000, 100)
    attn = np.cumsum(rng.standard_normal((10, 50)), axis=0)
    rows = edge_track(steps, attn, W=4)
    assert [r["step"] for r in rows] == list(range(300, 1000, 100))  # >= 3 updates
    assert [r["rows"] for r in rows][:3] == [3, 4, 4]


def _fake_run(ops=("mul",), S=8, seed=0):
    """A Run of the TINY model whose θ drifts randomly (snapshots of attn and all θ every 100
    steps)."""
    from grokbook.measures.spectral import attn_of
    from grokbook.training.train import Run

    cfg = RunConfig(p=7, d_model=8, n_layers=1, ops=ops, snapshot_groups=("attn", "all"))
    rng = np.random.default_rng(seed)
    theta0 = init_theta(cfg, 0).numpy()
    th = theta0[None] + np.cumsum(0.01 * rng.standard_normal((S, theta0.size)), axis=0).astype(
        np.float32
    )
    steps = np.arange(S) * 100
    acc = np.linspace(0, 1, S)[:, None]
    return Run(
        cfg,
        steps,
        acc,
        acc,
        1 - acc,
        1 - acc,
        steps,
        {"attn": attn_of(th, cfg), "all": th},
        th[0],
        th[-1],
        int(steps[-1]),
    )


def test_analyse_model_plumbing():
    from grokbook.measures.spectral import (
        analyse_model,
        field_grid,
        generator_check,
        improvement,
        linearity_rows,
        summary_rows,
    )

    run = _fake_run()
    an = analyse_model(run, end_step=680, W=5, n_dirs=4, n_null=5, n_span=3, wn_draws=200)
    assert an.end_step == 700 and list(an.window_steps) == [
        300,
        400,
        500,
        600,
        700,
    ]  # nearest snapshot to 680
    assert an.labels == ["v1", "v2", "v3", "v4", "v1+v2", "v1+v3", "v2+v3", "v1+v2+v3"]
    assert an.fields["test"].shape == (8, len(an.inputs["test"])) and an.fields["grid"].shape == (
        8,
        36,
    )
    assert an.null_fields["grid"].shape == (5, 36) and an.span_fields["grid"].shape == (3, 36)
    # the fields of every input set are those of its own pairs (read off one pass over the union)
    rnd = random_direction_fields(run.config, an.theta, an.inputs["test"], 5, 0)
    np.testing.assert_allclose(an.null_fields["test"], rnd, rtol=1e-6)
    where = {tuple(x): i for i, x in enumerate(an.inputs["grid"])}
    rows = [where[tuple(x)] for x in an.inputs["test"]]
    np.testing.assert_array_equal(an.fields["test"], an.fields["grid"][:, rows])
    rows = summary_rows(an)
    assert {(r["inputs"], r["basis"], r["variant"]) for r in rows} >= {
        ("test", "raw_mul", "impute"),
        ("grid", "dlog", "no_nyquist"),
    }
    r = next(
        r for r in rows if r["inputs"] == "grid" and r["basis"] == "dlog" and r["variant"] == "zero"
    )
    assert r["T"] == 6 and 0 < r["F_v1"] <= 1 and r["null_q95"] <= r["null_q99"]
    M = field_grid(an, "grid", 0)
    assert np.isnan(M[0]).all() and M[1, 1] == pytest.approx(
        an.fields["grid"][0][0]
    )  # mul grid has no zeros
    assert field_grid(an, "grid", 0, "dlog").shape == (6, 6)
    assert improvement(an, "grid")["paper ratio"] > 0
    assert generator_check(an, "grid", 5)["F_v1 (g=5)"] == pytest.approx(r["F_v1"])
    lin = linearity_rows(an, [0.001, 0.002], "dlog", inputs="grid", top=2)
    assert len(lin) == 8 and all(abs(x["f/ε² (rel.)"] - 1) < 0.05 for x in lin)
