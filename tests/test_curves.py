"""Hand-computed checks of grokbook.curves (event steps and the loss-bump test)."""

import numpy as np
import pytest

from grokbook.measures.curves import delay_events, first_below, first_reach, loss_bump, value_at

STEPS = np.arange(0, 600, 100)  # 0, 100, ..., 500


def test_first_reach_and_below():
    vals = np.array([0.1, 0.5, 0.99, 1.0, 0.2, 1.0])
    assert first_reach(STEPS, vals, 0.99) == 200
    assert first_reach(STEPS, vals, 0.99, after=250) == 300
    assert first_reach(STEPS, vals, 1.1) is None
    assert first_below(STEPS, vals, 0.5, after=100) == 400
    assert first_below(STEPS, vals, 0.05) is None


def test_value_at_uses_last_eval_at_or_before():
    vals = np.array([0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
    assert value_at(STEPS, vals, 250) == pytest.approx(0.2)
    assert value_at(STEPS, vals, 300) == pytest.approx(0.3)
    assert value_at(STEPS, vals, -1) is None
    assert value_at(STEPS, vals, None) is None


def test_delay_events():
    train = np.array([0.0, 0.5, 1.0, 1.0, 1.0, 1.0])
    val = np.array([0.01, 0.02, 0.03, 0.10, 0.995, 1.0])
    ev = delay_events(STEPS, train, val, train_level=0.99, gen_level=0.05, val_level=0.99)
    assert (ev.t_train, ev.t_gen_start, ev.t_val) == (200, 300, 400)
    assert ev.val_at_t_train == pytest.approx(0.03)
    assert ev.ratio == pytest.approx(2.0)
    never = delay_events(STEPS, train, np.full(6, 0.02))
    assert never.t_val is None and never.ratio is None


def test_loss_bump_interior_maximum():
    loss = np.array([4.6, 5.0, 7.0, 6.0, 3.0, 0.1])
    b = loss_bump(STEPS, loss)
    assert (b.initial, b.peak, b.peak_step, b.final) == (4.6, 7.0, 200, 0.1)
    assert b.interior and b.rises
    assert b.back_below_step == 400
    assert b.height == pytest.approx(7.0 / 4.6)


def test_loss_bump_monotone_curves_have_no_interior_maximum():
    rising = loss_bump(
        STEPS, np.array([4.6, 5.0, 6.0, 7.0, 8.0, 9.0])
    )  # λ = 0 shape: never comes back
    assert rising.peak_step == 500 and not rising.interior and not rising.rises
    assert rising.back_below_step is None
    falling = loss_bump(STEPS, np.array([4.6, 4.0, 3.0, 2.0, 1.0, 0.5]))
    assert falling.peak_step == 0 and not falling.rises
