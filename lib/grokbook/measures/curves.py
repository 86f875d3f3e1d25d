"""Events on learning curves: when a curve first crosses a level, and whether a loss curve has a
bump.

Pure functions of evaluation grids (steps [E]) and the values recorded there ([E]); no plotting, no
I/O. Ref: Power et al. 2022 power.delayed-generalization (T_train, T_gen_start, T_val) and
power.val-loss-rise (interior maximum of the validation loss above its step-0 value).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np


def first_reach(
    steps: np.ndarray, values: np.ndarray, level: float, after: int = 0
) -> Optional[int]:
    """First step >= `after` whose value is >= level; None if the curve never gets there.
    steps/values [E]."""
    steps, values = np.asarray(steps), np.asarray(values, dtype=np.float64)
    hit = np.flatnonzero((values >= level) & (steps >= after))
    return int(steps[hit[0]]) if hit.size else None


def first_below(
    steps: np.ndarray, values: np.ndarray, level: float, after: int = 0
) -> Optional[int]:
    """First step >= `after` whose value is < level; None if it never happens. steps/values [E]."""
    steps, values = np.asarray(steps), np.asarray(values, dtype=np.float64)
    hit = np.flatnonzero((values < level) & (steps >= after))
    return int(steps[hit[0]]) if hit.size else None


def value_at(steps: np.ndarray, values: np.ndarray, step: Optional[int]) -> Optional[float]:
    """The value recorded at the last evaluation at or before `step` (None if step is None or
    precedes the first evaluation). steps [E] increasing, values [E]."""
    if step is None:
        return None
    i = int(np.searchsorted(np.asarray(steps), step, side="right")) - 1
    return None if i < 0 else float(np.asarray(values, dtype=np.float64)[i])


@dataclass(frozen=True)
class DelayEvents:
    """The three event steps of power.delayed-generalization (None = not reached within the run)."""

    t_train: Optional[int]  # first step with train acc >= train_level
    t_gen_start: Optional[int]  # first step with val acc >= gen_level
    t_val: Optional[int]  # first step with val acc >= val_level
    val_at_t_train: Optional[float]  # val acc at the t_train evaluation

    @property
    def ratio(self) -> Optional[float]:
        """t_val / t_train, the delay factor (None if either is missing)."""
        if self.t_train is None or self.t_val is None:
            return None
        return self.t_val / max(self.t_train, 1)


def delay_events(
    steps: np.ndarray,
    train_acc: np.ndarray,
    val_acc: np.ndarray,
    train_level: float = 0.99,
    gen_level: float = 0.05,
    val_level: float = 0.99,
) -> DelayEvents:
    """T_train, T_gen_start and T_val of one run (first crossings, no patience).
    steps/train_acc/val_acc [E]. Ref: Power et al. 2022 power.delayed-generalization Protocol."""
    t_train = first_reach(steps, train_acc, train_level)
    return DelayEvents(
        t_train=t_train,
        t_gen_start=first_reach(steps, val_acc, gen_level),
        t_val=first_reach(steps, val_acc, val_level),
        val_at_t_train=value_at(steps, val_acc, t_train),
    )


@dataclass(frozen=True)
class LossBump:
    """Shape of a validation-loss curve around its maximum."""

    initial: float  # loss at the first evaluation (step 0)
    peak: float  # largest loss on the curve
    peak_step: int  # step of the (first) largest loss
    interior: bool  # the maximum is neither the first nor the last evaluation
    final: float  # loss at the last evaluation
    back_below_step: Optional[int]  # first step after the peak with loss < initial (None: never)

    @property
    def rises(self) -> bool:
        """An interior maximum strictly above the step-0 value."""
        return self.interior and self.peak > self.initial

    @property
    def height(self) -> float:
        """peak / initial."""
        return self.peak / self.initial


def loss_bump(steps: np.ndarray, loss: np.ndarray) -> LossBump:
    """Locate the global maximum of a loss curve and the first later step where it is back below its
    step-0 value. steps/loss [E], E >= 1. Ref: Power et al. 2022 power.val-loss-rise Verdict."""
    steps, loss = np.asarray(steps), np.asarray(loss, dtype=np.float64)
    if loss.size == 0:
        raise ValueError("loss_bump: empty curve")
    i = int(np.argmax(loss))
    return LossBump(
        initial=float(loss[0]),
        peak=float(loss[i]),
        peak_step=int(steps[i]),
        interior=0 < i < loss.size - 1,
        final=float(loss[-1]),
        back_below_step=first_below(steps[i:], loss[i:], float(loss[0])),
    )


PHASES = ("early", "memorisation", "pre-grok", "post-grok")  # training phases, in order


def training_phase(
    train_acc, test_acc, fit: float = 0.95, chance: float = 0.3, grok: float = 0.95
) -> np.ndarray:
    """Phase label of every evaluation: post-grok once test accuracy >= grok (whatever the train
    accuracy), else early while train accuracy < fit, else memorisation while test accuracy <
    chance, else pre-grok. train_acc, test_acc [E] -> [E] of str. Ref: Xu 2026a, the phase labels of
    its execution-vs-random analysis; Methods: grok rules."""
    tr, te = np.asarray(train_acc), np.asarray(test_acc)
    fitted = np.where(te < chance, PHASES[1], PHASES[2])
    return np.where(te >= grok, PHASES[3], np.where(tr < fit, PHASES[0], fitted))
