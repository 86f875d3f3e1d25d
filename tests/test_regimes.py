"""Hand-computed onsets and leads of papers/curvature/regimes.py (Xu 2026a Table 2)."""
import math

import numpy as np
import pytest

from grokbook.training.config import RunConfig
from grokbook.papers.curvature.regimes import onset_rows, post_memorisation_onset
from grokbook.training.train import Run

# Per-probe defect at steps 0, 100, ..., 1000 (NaN at 400: both samples were exactly 0: missing).
SERIES = np.array([1, 2, 3, 50, np.nan, 3, 4, 500, 600, 700, 800])


def _run():
    """Memorises at 100; test acc crosses 0.5 at 500 (R50), 0.9 at 600 (R90), R98 (3rd eval
    >= 0.98) at 900."""
    steps = np.arange(11) * 100
    train = np.array([0] + [1.0] * 10)[:, None]
    test = np.array([0, 0, 0, 0, 0, 0.6, 0.95, 0.99, 0.99, 0.99, 1.0])[:, None]
    defect = np.stack([SERIES, SERIES], 1)
    defect[4] = 0.0
    return Run(config=RunConfig(p=7, d_model=4, n_layers=1, n_heads=2, d_ff=8, seed=3),
               eval_steps=steps, train_acc=train, test_acc=test, train_loss=test, test_loss=test,
               snapshot_steps=steps[:1], snapshots={}, theta_init=np.zeros(1),
               theta_final=np.zeros(1), final_step=1000,
               probes={"steps": steps, "defect": defect})


def test_post_memorisation_onset_by_hand():
    steps = np.arange(11) * 100
    # from step 100: [2, 3, 50, nan, 3 | 4, 500, 600, ...]; baseline median(2, 3, 50, 3) = 3 ->
    # threshold 30; centred lower medians of 5 from the 6th kept probe: 4 (600; [3, 4, 500, 600]),
    # 500 (700), 600 (800), 600 (900): above for 3 probes from 700 -> fires at 700, the jump itself
    assert post_memorisation_onset(steps, SERIES, 100) == 700
    # without the memorisation cut the baseline is median(1, 2, 3, 50, nan) = 2.5 -> threshold 25;
    # centred lower medians from index 5: 4 (500), 4 (600), 500 (700), ... -> fires at 700
    assert post_memorisation_onset(steps, SERIES, None) == 700
    assert post_memorisation_onset(steps, np.full(11, 2.0), 100) is None


def test_onset_rows_by_hand():
    (row,) = onset_rows([_run()], factor=10, floor=5, width=5, smooth_baseline=5)
    assert (row["memorised"], row["R50"], row["R90"], row["R98"]) == (100, 500, 600, 900)
    assert row["onset_committed"] == 300   # baseline median(1, 2, 3) = 2: first D > 20, > 5: 50
    assert row["lead_committed"] == 300 and row["norm_lead_committed"] == pytest.approx(1 / 3)
    assert row["onset_smoothed"] == 700
    assert row["lead_smoothed"] == -100 and row["norm_lead_smoothed"] == pytest.approx(-100 / 900)
    assert row["missing_D"] == pytest.approx(1 / 11) and row["max_D"] == 800
    assert (row["op"], row["seed"], row["weight_decay"]) == ("add", 3, 1.0)


def test_onset_rows_of_a_run_that_never_fires_or_groks():
    r = _run()
    r.probes["defect"][:] = 2.0
    r.test_acc[:] = 0.0
    (row,) = onset_rows([r])
    assert row["onset_committed"] is None and row["onset_smoothed"] is None and row["R98"] is None
    assert row["lead_committed"] is None and math.isnan(row["norm_lead_smoothed"])


def test_one_spike_does_not_fire_the_sustained_onset():
    """The causal rolling median of the old smoothed detector skipped missing probes, so one spike
    among missing ones fired it (here at 800); the centred, sustained detector needs a majority of
    present probes and three probes above threshold in a row."""
    from grokbook.measures.defect import smoothed_onset_step
    from grokbook.papers.curvature.regimes import centred_median, sustained_onset_step
    steps = np.arange(12) * 100
    spike = np.array([2, 2, 2, 2, 2, np.nan, np.nan, np.nan, 900, np.nan, np.nan, np.nan])
    assert smoothed_onset_step(steps, spike, width=5, n_baseline=5, start=5, floor=5) == 800
    assert sustained_onset_step(steps, spike, width=5, sustain=3, n_baseline=5) is None
    assert np.isnan(centred_median(spike, 5)[8])
    lone = np.array([2, 2, 2, 2, 2, 2, 2, 900, 2, 2, 2, 2.0])      # present but alone: no majority
    assert sustained_onset_step(steps, lone, width=5, sustain=3, n_baseline=5) is None
    step_up = np.array([2, 2, 2, 2, 2, 2, 900, 900, 900, 900, 900, 900.0])
    assert sustained_onset_step(steps, step_up, width=5, sustain=3, n_baseline=5) == 600
