"""Recorders: measurements taken during training outside the core loop, and the probe batch stream.

A recorder is built from the stack's configs (`recorders_for`) and lives in the stack, so a
checkpoint holds its state. The loop calls its hooks at fixed points and knows nothing of what it
measures:

    start(S)          once, on a fresh stack at step 0 (after the first snapshot and evaluation)
    after_step(S)     after every optimiser step (S.step already counts it), before stopped runs
                      freeze
    compact(keep)     when the rows `keep` (indices into the current rows) stay in the stack
    state() / load(d) the recorder's resumable state (a dict; load receives what state returned)
    collect(r)        its record of run r (original index), stored in the Run field named `field`

`S` is the training stack (train._Stack): θ [R, P] (`S.theta`), the current step, `S.rows` (original
index of every stacked row), `S.final` (final θ of stopped runs, None while a run trains) and
`S.probe_stream`.

The probe stream gives probe batches from generators seeded per run (stream "probe"), never the
training stream, so drawing them leaves every run's trajectory alone. Gradient hooks draw from the
same stream (StackView.probe_batch), and so does the commutator recorder.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from grokbook.training.commutator import batch_gradient, commutator
from grokbook.training.config import RunConfig
from grokbook.training.model import gather_group


class ProbeStream:
    """One probe generator per run of the stack, seeded by `seeds` (derived from each run's
    seed)."""

    def __init__(self, seeds: list[int]):
        self.gens = [torch.Generator().manual_seed(s) for s in seeds]

    def batch(self, S, c: RunConfig) -> tuple[Tensor, Tensor]:
        """One probe batch per stacked run. -> x [R, B, 2], y [R, B, T]."""
        R, B = len(S.rows), c.batch_size
        i = torch.stack([torch.randint(n, (B,), generator=g) for n, g in zip(S.n_train, self.gens)])
        i = i.to(S.theta.device)
        return (
            torch.gather(S.train_x, 1, i.unsqueeze(-1).expand(R, B, 2)),
            torch.gather(S.train_y, 1, i.unsqueeze(-1).expand(R, B, c.n_tasks)),
        )

    def compact(self, keep: list[int]) -> None:
        self.gens = [self.gens[i] for i in keep]

    def state(self) -> list[Tensor]:
        return [g.get_state() for g in self.gens]

    def load(self, states: list[Tensor]) -> None:
        self.gens = [torch.Generator() for _ in states]
        for g, s in zip(self.gens, states):
            g.set_state(s.cpu())


class Recorder:
    """Base of the recorders: every hook does nothing. `name` keys the state in a checkpoint;
    `field` is the Run field (a dict) that collect's record of a run is merged into."""

    name = "recorder"
    field = "probes"

    def start(self, S) -> None:
        pass

    def after_step(self, S) -> None:
        pass

    def compact(self, keep: list[int]) -> None:
        pass

    def state(self) -> dict:
        return {}

    def load(self, d: dict) -> None:
        pass

    def collect(self, r: int) -> dict:
        return {}


class CommutatorProbes(Recorder):
    """Commutator probes every `probe_every` steps and at step 0 (Xu 2026a; Methods:
    methods-commutator-defect): K = probe_samples pairs of probe batches per active run, each giving
    δ and the defect D at the current θ with the probe step η = probe_eta.

    Run.probes of a run: steps [Q]; defect, delta_norm, grad_a_norm, grad_b_norm, cos_ab [Q, K];
    align [Q] = mean_k |cos(θ_t − θ_prev, δ_k)| over all P (NaN at the first probe);
    delta_<group> [Q, n_group] = the first sample's δ restricted to that group."""

    name = "commutator_probes"
    field = "probes"
    STATS = ("defect", "delta_norm", "grad_a_norm", "grad_b_norm", "cos_ab")

    def __init__(self, cfgs: list[RunConfig]):
        self.c = cfgs[0]
        self.prev_theta = None  # [R, P] θ at the previous probe
        self.hist: list[dict[str, list]] = [dict() for _ in cfgs]

    def start(self, S) -> None:
        self._record(S)

    def after_step(self, S) -> None:
        if S.step % self.c.probe_every == 0:
            self._record(S)

    def compact(self, keep: list[int]) -> None:
        if self.prev_theta is not None:
            k = torch.tensor(keep, device=self.prev_theta.device)
            self.prev_theta = self.prev_theta.index_select(0, k)

    def state(self) -> dict:
        return {"prev_theta": self.prev_theta, "hist": self.hist}

    def load(self, d: dict) -> None:
        self.prev_theta, self.hist = d["prev_theta"], d["hist"]

    def collect(self, r: int) -> dict:
        return {k: np.array(v) for k, v in self.hist[r].items()}

    def _record(self, S) -> None:
        """K commutator samples for every active run, stored per run."""
        c, theta = self.c, S.theta.detach()
        samples, aligns = [], []
        move = None if self.prev_theta is None else theta - self.prev_theta  # [R, P]
        for _ in range(c.probe_samples):
            (xa, ya), (xb, yb) = S.probe_stream.batch(S, c), S.probe_stream.batch(S, c)
            cm = commutator(
                batch_gradient(c, xa, ya), batch_gradient(c, xb, yb), theta, c.probe_eta
            )
            samples.append(cm)
            if move is not None:
                cos = (move * cm.delta).sum(1) / (move.norm(dim=1) * cm.delta_norm)
                aligns.append(cos.abs())
        self.prev_theta = theta.clone()
        stats = {
            name: torch.stack([getattr(cm, name) for cm in samples], 1).cpu().numpy()  # [R, K]
            for name in self.STATS
        }
        stats["align"] = (
            torch.stack(aligns, 1).mean(1).cpu().numpy() if aligns else np.full(len(S.rows), np.nan)
        )
        for g in c.probe_groups:
            stats[f"delta_{g}"] = gather_group(samples[0].delta, c, g).cpu().numpy()
        for i, r in enumerate(S.rows):
            if S.final[r] is None:
                self.hist[r].setdefault("steps", []).append(S.step)
                for name, v in stats.items():
                    self.hist[r].setdefault(name, []).append(v[i])


def recorders_for(cfgs: list[RunConfig]) -> list[Recorder]:
    """The recorders a stack of these runs carries: commutator probes when probe_every > 0."""
    return [CommutatorProbes(cfgs)] if cfgs[0].probe_every > 0 else []
