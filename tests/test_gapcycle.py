"""Hand-computed values for grokbook.gapcycle (singular gaps, commutator norms, head blocks, events,
loop area, matched random walk)."""

import numpy as np
import pytest

from grokbook.training.config import RunConfig
from grokbook.papers.multitask.cycles import (
    commutator_norm,
    cycle_events,
    gap_series,
    head_block,
    loop_area,
    matched_walk,
    minmax,
    qk_matrices,
    relative_dip,
    shoelace_area,
    singular_gaps,
)
from grokbook.training.model import group_slices


def test_gaps_of_a_diagonal_matrix():
    assert singular_gaps(np.diag([5.0, 3.0, 2.5, 1.0])) == pytest.approx((2.0, 0.5))
    assert singular_gaps(np.diag([-1.0, 4.0, 2.0])) == pytest.approx((2.0, 1.0))  # |−1| = 1 is σ3


def test_commutator_of_two_projections():
    A = np.array([[1.0, 0.0], [0.0, 0.0]])
    B = np.array([[0.0, 1.0], [0.0, 0.0]])
    # AB − BA = [[0, 1], [0, 0]] − 0 = [[0, 1], [0, 0]] -> Frobenius norm 1
    assert commutator_norm(A, B) == pytest.approx(1.0)
    assert commutator_norm(A, A) == 0.0


def test_head_block_and_gap_series():
    W = np.arange(16.0).reshape(4, 4)
    np.testing.assert_array_equal(head_block(W, 1, 2), [[10.0, 11.0], [14.0, 15.0]])
    WQ = np.stack([np.diag([4.0, 2.0, 1.0, 0.5])] * 2)
    WK = np.stack([np.eye(4), np.diag([1.0, 2.0, 3.0, 4.0])])
    s = gap_series(WQ, WK, n_heads=2)
    np.testing.assert_allclose(s["g12_Q"], [2.0, 2.0])
    np.testing.assert_allclose(s["g23_Q"], [1.0, 1.0])
    np.testing.assert_allclose(s["comm"], [0.0, 0.0])  # diagonal matrices commute
    np.testing.assert_allclose(s["g12_Q_h1"], [0.5, 0.5])  # block diag(1, 0.5)


def test_qk_matrices_read_the_layout():
    cfg = RunConfig(p=5, ops=("add",), d_model=4, n_layers=1, n_heads=2, d_ff=8)
    sl = group_slices(cfg, "attn")
    attn = np.zeros((1, sum(int(np.prod(s)) for _, s in sl.values())))
    off, _ = sl["L0.W_K"]
    attn[0, off : off + 16] = np.arange(16.0)
    WQ, WK = qk_matrices(attn, cfg)
    assert WQ.shape == (1, 4, 4) and not WQ.any()
    np.testing.assert_array_equal(WK[0], np.arange(16.0).reshape(4, 4))


def test_cycle_events_hand_series():
    steps = np.arange(0, 1000, 100)
    g12 = np.array([9, 9, 9, 8, 6, 3, 4, 6, 8, 9], dtype=float)  # min at index 5 (step 500)
    comm = np.array(
        [0, 0, 0, 1, 3, 5, 4, 2.5, 2, 1], dtype=float
    )  # peak 5 at 500; half of (5+1) = 3
    ev = cycle_events(steps, g12, comm, skip=3)
    assert ev == {"gap_min": 500, "comm_peak": 500, "collapse": 700}  # 2.5 < 3 first at step 700
    assert relative_dip(g12, skip=3) == pytest.approx(1 - 3 / 8)
    assert relative_dip(np.arange(10.0), skip=3) == 0.0


def test_shoelace_unit_square_and_loop():
    assert shoelace_area([0, 1, 1, 0], [0, 0, 1, 1]) == pytest.approx(1.0)
    assert shoelace_area([0, 1, 0], [0, 0, 1]) == pytest.approx(0.5)
    np.testing.assert_allclose(minmax([2.0, 4.0, 3.0]), [0.0, 1.0, 0.5])
    assert loop_area([10, 20, 20, 10], [5, 5, 7, 7]) == pytest.approx(
        1.0
    )  # a rectangle -> unit square


def test_matched_walk_keeps_step_norms():
    traj = np.cumsum(np.random.default_rng(1).standard_normal((6, 50)), axis=0)
    w = matched_walk(traj, seed=3)
    np.testing.assert_allclose(w[0], traj[0])
    np.testing.assert_allclose(
        np.linalg.norm(np.diff(w, axis=0), axis=1), np.linalg.norm(np.diff(traj, axis=0), axis=1)
    )


def test_short_series_have_no_events():
    assert cycle_events(np.arange(3), np.ones(3), np.ones(3), skip=3) == {
        "gap_min": None,
        "comm_peak": None,
        "collapse": None,
    }
    assert np.isnan(relative_dip(np.ones(4), skip=3))


def test_head_peaks_and_spread():
    from grokbook.papers.multitask.cycles import head_peaks, peak_spread

    steps = np.arange(0, 800, 100)
    s = {
        "comm_h0": np.array([9, 0, 0, 0, 5, 1, 1, 1.0]),
        "comm_h1": np.array([0, 0, 0, 0, 1, 1, 7, 1.0]),
    }
    assert head_peaks(s, steps, 2, skip=3) == [400, 600]  # the early 9 at index 0 is skipped
    assert peak_spread([400, 600], 1000) == pytest.approx(0.2)
    assert head_peaks(s, steps[:4], 2, skip=3) is None and np.isnan(peak_spread(None, 1000))


def test_has_cycle():
    from grokbook.papers.multitask.cycles import has_cycle

    assert has_cycle(500, 520, 1000, 0.1)  # 20 ≤ 100 and 520 < 1000
    assert not has_cycle(500, 700, 1000, 0.1)  # 200 > 100
    assert not has_cycle(900, 1000, 1000, 0.1)  # peak not before grok
    assert not has_cycle(None, 500, 1000, 0.1) and not has_cycle(500, 500, None, 0.1)
