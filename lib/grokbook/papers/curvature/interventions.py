"""Training interventions, applied through the trainer's hook (train.StackView): no second training
loop.

Ref: Xu 2026a §6: suppression, Fig. 13 (g ← B Bᵀ g + (1 − s)(g − B Bᵀ g) from step 500 on, with our
Adam-confound controls), its random-basis ablation, Fig. 14, and the kicks, Fig. 15 (θ ← θ + ε u
along the B-orthogonal commutator direction or a random one). """
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch
from torch import Tensor

from grokbook.training.commutator import batch_gradient, commutator
from grokbook.training.config import RunConfig
from grokbook.training.model import attention_matrices, group_slices, n_params, param_layout
from grokbook.training.cache import load_or_train
from grokbook.measures.subspaces import (basis_window, execution_basis, random_basis,
                                         random_block_basis)
from grokbook.training.train import Run, StackView


def _digest(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def _on(cache: dict, t: Tensor, device) -> Tensor:
    """t moved to `device` once (not on every step: the bases of a paper-scale stack are ~100
    MB)."""
    key = (id(t), str(device))
    if key not in cache:
        cache[key] = t.to(device)
    return cache[key]


def attention_region(cfg: RunConfig) -> Tensor:
    """[P] bool: True on the attention weight matrices W_Q, W_K, W_V, W_O of every layer (the
    coordinates the execution basis lives on; attention biases excluded). Ref: Xu 2026a §6, Fig.
    13."""
    mask = torch.zeros(n_params(cfg), dtype=torch.bool)
    layout = param_layout(cfg)
    for name in attention_matrices(cfg):
        off, shape = layout[name]
        mask[off:off + math.prod(shape)] = True
    return mask


class SubspaceSuppression:
    """Scale the gradient component outside (or inside) a per-run orthonormal basis by (1 − s).

    bases [N, P, K] (orthonormal columns), strengths [N]: row i of the caller's config list uses
    bases[i] and strengths[i]. part="orthogonal" damps g − BBᵀg (the paper's rule); part="parallel"
    damps BBᵀg (the complement control). region [P] bool (optional, orthogonal part only): damp only
    the orthogonal component inside these coordinates and leave every other gradient entry untouched
    (the attention-confined control; B must vanish outside the region). Acts at steps >= start,
    after clipping and before AdamW."""

    def __init__(self, bases: Tensor, strengths, *, start: int = 500, part: str = "orthogonal",
                 label: str = "", region: Optional[Tensor] = None):
        if part not in ("orthogonal", "parallel"):
            raise ValueError(f"part={part!r}; must be 'orthogonal' or 'parallel'")
        self.bases = bases.float()
        self.strengths = torch.as_tensor(strengths, dtype=torch.float32)
        in_range = ((0 <= self.strengths) & (self.strengths <= 1)).all()
        if self.strengths.shape != (len(bases),) or not in_range:
            raise ValueError("strengths: one value in [0, 1] per basis")
        self.region = None if region is None else torch.as_tensor(region, dtype=torch.bool)
        if self.region is not None:
            if part != "orthogonal" or self.region.shape != (bases.shape[1],):
                raise ValueError("region: a [P] bool mask, only with part='orthogonal'")
            if self.bases[:, ~self.region].abs().max() > 0:
                raise ValueError("region: the bases must vanish outside the region")
        self.start, self.part = start, part
        digest = hashlib.sha256(self.bases.numpy().tobytes()
                                + self.strengths.numpy().tobytes()).hexdigest()[:16]
        where = "" if self.region is None else f":region={_digest(self.region.numpy())}"
        self.key = f"suppress:{part}:start={start}:{label}:{digest}{where}"
        self._row = f"suppress:{part}:start={start}:{label}{where}"
        self._dev: dict = {}

    def row_key(self, i: int) -> str:
        """What the hook does to run i (its basis and strength), for the run cache key."""
        return f"{self._row}:{_digest(self.bases[i].numpy(), self.strengths[i:i + 1].numpy())}"

    def __call__(self, step: int, grad: Tensor, view: StackView) -> None:
        if step < self.start:
            return
        B = _on(self._dev, self.bases, grad.device)[view.rows]                          # [R, P, K]
        s = _on(self._dev, self.strengths, grad.device)[view.rows].unsqueeze(1)         # [R, 1]
        inside = torch.einsum("rpk,rk->rp", B, torch.einsum("rpk,rp->rk", B, grad))     # B Bᵀ g
        if self.part == "parallel":
            grad.sub_(s * inside)
        elif self.region is None:
            grad.sub_(s * (grad - inside))
        else:
            region = _on(self._dev, self.region, grad.device)                           # [P]
            grad.sub_(s * torch.where(region, grad - inside, torch.zeros_like(grad)))


# ── kicks (curv.kick-no-effect) ─────────────────────────────────────────────────────────────────

def orthogonal_unit(v: Tensor, bases: Tensor) -> Tensor:
    """Unit vector along the B-orthogonal part of v: u = (v − BBᵀv) / ‖v − BBᵀv‖ (rows with a zero
    part give 0). v [R, P], bases [R, P, K] orthonormal columns -> [R, P]. Ref: Xu 2026a §6, Fig.
    15."""
    perp = v - torch.einsum("rpk,rk->rp", bases, torch.einsum("rpk,rp->rk", bases, v))
    norm = perp.norm(dim=1, keepdim=True)
    return torch.where(norm > 0, perp / norm.clamp_min(torch.finfo(v.dtype).tiny),
                       torch.zeros_like(perp))


def median_sample(defect: Tensor) -> Tensor:
    """Index of the median-D sample of every row, NaN treated as missing (lower median for an even
    count; -1 when every sample is missing). defect [R, K] -> [R] int64. Ref: Xu 2026a §3 (median
    over K samples)."""
    d = torch.nan_to_num(defect.double(), nan=math.inf)
    order = d.argsort(dim=1)                                    # NaNs (= inf) last
    n_valid = (~torch.isnan(defect)).sum(1)
    pick = order.gather(1, ((n_valid - 1).clamp_min(0) // 2).unsqueeze(1)).squeeze(1)
    return torch.where(n_valid > 0, pick, torch.full_like(pick, -1))


def _rand_seed(seed: int, step: int) -> int:
    return int(np.random.SeedSequence([seed, step]).generate_state(1)[0])


class CurvatureKicks:
    """Sustained weight kicks θ ← θ + ε u after the AdamW step, from `start` on every `every` steps.

    A kick at hook step t lands on θ_{t+1} (the weights after t + 1 updates) when (t + 1) % every ==
    0, so a run probe at that step (probe_every a multiple of `every`) measures the kicked weights.
    arm="comm": u = unit B-orthogonal part of δ of the median-D sample among `samples` commutator
    samples at θ (probe batches, never the training stream); ε = α · η ‖g‖ with g the raw mean-CE
    gradient on one more fresh probe batch (the paper's ‖η g_A‖ of an extra call). arm="rand": u =
    unit B-orthogonal part of a Gaussian vector drawn from a generator seeded by (seed + 88888,
    step), so it does not depend on the stack or on resumption; ε = α · rand_scale (the paper's
    fixed 1.5e-3). bases [N, P, K], alphas [N], seeds [N]: row i of the caller's config list. α = 0
    leaves θ untouched.

    After every kick one more commutator sample gives D right after the kick; it, ‖θ‖ before the
    kick and ε are appended to `self.log` and, when `log_dir` is set, to a JSON file named after the
    hook key, so that a notebook that gets the runs from the run cache (hook never called) can still
    read them with `records()`."""

    def __init__(self, bases: Tensor, alphas, seeds: Sequence[int], *, arm: str = "comm",
                 start: int = 500, every: int = 50, samples: int = 5, eta: float = 1e-3,
                 rand_scale: float = 1.5e-3,
                 seed_offset: int = 88888, log_dir: Optional[Path] = None, label: str = ""):
        if arm not in ("comm", "rand"):
            raise ValueError(f"arm={arm!r}; must be 'comm' or 'rand'")
        self.bases = bases.float()
        self.alphas = torch.as_tensor(alphas, dtype=torch.float64)
        self.seeds = [int(s) for s in seeds]
        if (self.alphas.shape != (len(bases),) or len(self.seeds) != len(bases)
                or (self.alphas < 0).any()):
            raise ValueError("alphas, seeds: one value per basis, alphas >= 0")
        if every < 1 or samples < 1:
            raise ValueError("every and samples must be >= 1")
        self.arm, self.start, self.every, self.samples, self.eta = arm, start, every, samples, eta
        self.rand_scale, self.seed_offset = rand_scale, seed_offset
        digest = _digest(self.bases.numpy(), self.alphas.numpy(), np.array(self.seeds))
        self._row = (f"kick:{arm}:start={start}:every={every}:K={samples}:eta={eta}:"
                     f"rand={rand_scale}+{seed_offset}:{label}")
        self.key = f"{self._row}:{digest}"   # names the kick log of the whole stack
        self.log_dir = None if log_dir is None else Path(log_dir)
        self.log: list[dict] = []
        self._dev: dict = {}

    def row_key(self, i: int) -> str:
        """What the hook does to run i (its basis, α and seed), for the run cache key."""
        row = (self.bases[i].numpy(), self.alphas[i:i + 1].numpy(), np.array(self.seeds[i:i + 1]))
        return f"{self._row}:{_digest(*row)}"

    def __call__(self, step: int, grad: Tensor, view: StackView) -> None:
        pass                       # kicks move θ after the step; the gradient is left alone

    def _direction(self, t: int, view: StackView, B: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """-> u [R, P], ε [R], D of the chosen sample before the kick [R] (NaN for the rand arm)."""
        theta, R = view.theta, view.theta.shape[0]
        alpha = _on(self._dev, self.alphas, theta.device)[view.rows]
        if self.arm == "rand":
            v = torch.stack([torch.randn(theta.shape[1], generator=torch.Generator().manual_seed(
                _rand_seed(self.seeds[int(i)] + self.seed_offset, t)))
                for i in view.rows.tolist()]).to(theta)
            return (orthogonal_unit(v, B), alpha * self.rand_scale,
                    torch.full((R,), math.nan, dtype=torch.float64))
        cms = [commutator(batch_gradient(view.cfg, *view.probe_batch()),
                          batch_gradient(view.cfg, *view.probe_batch()), theta, self.eta)
               for _ in range(self.samples)]
        defect = torch.stack([c.defect for c in cms], 1)                                # [R, K]
        pick = median_sample(defect)
        deltas = torch.stack([c.delta for c in cms], 1)                                  # [R, K, P]
        ar = torch.arange(R, device=theta.device)
        delta = deltas[ar, pick.clamp_min(0)]
        g = batch_gradient(view.cfg, *view.probe_batch())(theta)
        eps = torch.where(pick >= 0, alpha * self.eta * g.norm(dim=1).double(),
                          torch.zeros_like(alpha))
        return orthogonal_unit(delta, B), eps, defect[ar, pick.clamp_min(0)].double().cpu()

    def after_step(self, step: int, view: StackView) -> None:
        t = step + 1                                                     # updates done
        if t < self.start or t % self.every:
            return
        theta = view.theta
        B = _on(self._dev, self.bases, theta.device)[view.rows]
        u, eps, d_pre = self._direction(t, view, B)
        norm_before = theta.norm(dim=1).double().cpu()
        move = eps > 0
        theta.add_(torch.where(move.unsqueeze(1), eps.to(theta.dtype).unsqueeze(1) * u,
                               torch.zeros_like(u)))
        post = commutator(batch_gradient(view.cfg, *view.probe_batch()),
                          batch_gradient(view.cfg, *view.probe_batch()), theta, self.eta)
        for i, r in enumerate(view.rows.tolist()):
            self.log.append({"row": r, "seed": self.seeds[r], "step": t,
                             "alpha": float(self.alphas[r]), "eps": float(eps[i]),
                             "theta_norm": float(norm_before[i]), "D_pre": float(d_pre[i]),
                             "D_post": float(post.defect[i]),
                             "delta_norm_post": float(post.delta_norm[i])})
        if self.log_dir is not None:
            self._write()

    def log_file(self) -> Path:
        return self.log_dir / f"{hashlib.sha256(self.key.encode()).hexdigest()[:24]}.json"

    def _write(self) -> None:
        path = self.log_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        merged = {(d["row"], d["step"]): d for d in self._read() + self.log}
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        records = sorted(merged.values(), key=lambda d: (d["row"], d["step"]))
        tmp.write_text(json.dumps({"key": self.key, "records": records}))
        os.replace(tmp, path)

    def _read(self) -> list[dict]:
        if self.log_dir is None or not self.log_file().exists():
            return []
        blob = json.loads(self.log_file().read_text())
        if blob.get("key") != self.key:
            raise ValueError(f"{self.log_file()}: written by another hook ({blob.get('key')!r})")
        return blob["records"]

    def records(self) -> list[dict]:
        """Every kick logged by this hook (this process and, with log_dir, earlier ones), one dict
        per (row, kick), sorted by row and step; the latest value wins when a resumed stack repeated
        a kick."""
        merged = {(d["row"], d["step"]): d for d in self._read() + self.log}
        return sorted(merged.values(), key=lambda d: (d["row"], d["step"]))


# ── bases in full-θ coordinates ─────────────────────────────────────────────────────────────────

def full_coordinates(basis_attn: np.ndarray, cfg: RunConfig) -> Tensor:
    """Embed a basis given in "attn" snapshot coordinates into θ: zeros outside W_Q, W_K, W_V, W_O.
    basis_attn [n_attn, K] -> [P, K] float32."""
    out = torch.zeros(n_params(cfg), basis_attn.shape[1], dtype=torch.float64)
    layout, b = param_layout(cfg), torch.as_tensor(np.asarray(basis_attn, np.float64))
    for name, (off, shape) in group_slices(cfg, "attn").items():
        n = math.prod(shape)
        out[layout[name][0]:layout[name][0] + n] = b[off:off + n]
    return out.float()


BASIS_KINDS = ("pca", "random", "attn-random")


def phase1_bases(runs: Sequence[Run], kind: str = "pca", k: int = 2,
                 seed_offset: int = 77777) -> Tensor:
    """One basis per Phase-1 run, in θ coordinates, K = k · 4 · n_layers columns each. "pca":
    execution basis B of the run's attention snapshots up to its R98 stop (whole run if it never
    grokked); "random": QR of a Gaussian P × K matrix over all coordinates (generator seed +
    seed_offset, as the paper's ablation); "attn-random": k Gaussian directions inside every
    attention matrix, embedded and QR'd like B (same generator seed). -> [N, P, K]. Ref: Xu 2026a
    §6, Fig. 14."""
    if kind not in BASIS_KINDS:
        raise ValueError(f"kind={kind!r}; must be one of {BASIS_KINDS}")
    out = []
    for r in runs:
        c, rng = r.config, np.random.default_rng(r.config.seed + seed_offset)
        K = k * len(attention_matrices(c))
        if kind == "pca":
            out.append(full_coordinates(execution_basis(basis_window(r), c, k), c))
        elif kind == "attn-random":
            out.append(full_coordinates(random_block_basis(c, k, rng, rank_one=False), c))
        else:
            out.append(torch.as_tensor(random_basis(n_params(c), K, rng), dtype=torch.float32))
    if len({b.shape for b in out}) > 1:
        raise ValueError("phase1_bases: the runs give bases of different shapes (a trajectory of "
                         "too low rank?)")
    return torch.stack(out)


# ── training a Phase-2 job from Phase-1 runs ────────────────────────────────────────────────────

def phase2_configs(phase1: Sequence[RunConfig], levels: Sequence[float], *, budget: int,
                   full_budget: int, full_level: float = 1.0, probe_every: int = 0,
                   tail_steps: int = 0) -> list[RunConfig]:
    """Retrain every Phase-1 config (same seed: same split and init) once per level, seed-major:
    [(cfg_0, level_0), (cfg_0, level_1), ..., (cfg_1, level_0), ...]. The level `full_level` gets
    `full_budget` steps, every other one `budget`. Ref: Xu 2026a §6, Fig. 13."""
    return [dataclasses.replace(c, steps=full_budget if lv == full_level else budget,
                                probe_every=probe_every, tail_steps=tail_steps)
            for c in phase1 for lv in levels]


def suppressed_runs(phase1: Sequence[Run], bases: Tensor, strengths: Sequence[float], *,
                    start: int, budget: int, full_budget: int, part: str = "orthogonal",
                    region: Optional[Tensor] = None,
                    label: str = "") -> list[list[Run]]:
    """Phase 2 of the suppression experiments: retrain every Phase-1 run with SubspaceSuppression at
    every strength (one stacked job; s = 1 gets `full_budget` steps, others `budget`; no probes, no
    tail; the stop rule is the grid's). Strength 0 is the Phase-1 run itself (the hook would be an
    exact no-op), not retrained. bases [N, P, K] one per Phase-1 run. -> runs[i][j] for Phase-1 run
    i and strengths[j]. The same arguments give the same cache entries, so notebooks share runs."""
    levels = [s for s in strengths if s != 0]
    cfgs = phase2_configs([r.config for r in phase1], levels, budget=budget,
                          full_budget=full_budget)
    hook = SubspaceSuppression(bases.repeat_interleave(len(levels), 0),
                               [s for _ in phase1 for s in levels], start=start, part=part,
                               label=label, region=region)
    trained = iter(load_or_train(cfgs, grad_hook=hook) if cfgs else [])
    return [[r if s == 0 else next(trained) for s in strengths] for r in phase1]


def unsuppressed_reruns(phase1: Sequence[Run], bases: Tensor, *, start: int, budget: int,
                        label: str = "") -> list[Run]:
    """Every Phase-1 run retrained through the Phase-2 path (stacked, no probes, no tail, the hook
    at strength 0, an exact no-op): a check that a seed-paired difference holds the intervention
    only, since stacked training matches solo training only to floating-point tolerance."""
    cfgs = phase2_configs([r.config for r in phase1], [0.0], budget=budget, full_budget=budget)
    hook = SubspaceSuppression(bases, [0.0] * len(phase1), start=start, label=f"{label}:rerun")
    return load_or_train(cfgs, grad_hook=hook)


def kicked_runs(phase1: Sequence[Run], bases: Tensor, alphas: Sequence[float], *, arm: str,
                start: int, every: int, samples: int, eta: float, budget: int,
                log_dir: Optional[Path] = None,
                label: str = "") -> tuple[list[list[Run]], CurvatureKicks]:
    """Retrain every Phase-1 run with CurvatureKicks at every α (one stacked job; `budget` steps,
    the grid's stop rule, no probes and no tail). α = 0 is the Phase-1 run itself. -> (runs[i][j]
    for Phase-1 run i and alphas[j], the hook, whose `records()` hold the per-kick log, row = i ·
    n_levels + j' over α > 0)."""
    levels = [a for a in alphas if a != 0]
    cfgs = phase2_configs([r.config for r in phase1], levels, budget=budget, full_budget=budget)
    hook = CurvatureKicks(bases.repeat_interleave(len(levels), 0),
                          [a for _ in phase1 for a in levels],
                          [r.config.seed for r in phase1 for _ in levels], arm=arm, start=start,
                          every=every, samples=samples, eta=eta, log_dir=log_dir, label=label)
    trained = iter(load_or_train(cfgs, grad_hook=hook) if cfgs else [])
    return [[r if a == 0 else next(trained) for a in alphas] for r in phase1], hook


# ── delays (seed-paired) ────────────────────────────────────────────────────────────────────────

@dataclass(frozen=True)
class PairedDelay:
    """Grok delay of an arm against the same seeds' baseline."""
    mean: float          # mean of (arm − baseline) over the seeds where both grokked (NaN if none)
    std: float           # its s.d. over those seeds (ddof 1; 0 for one pair)
    n_pairs: int         # seeds where both grokked
    n_failed: int        # seeds where the arm never grokked within its budget
    baseline_std: float  # seed-to-seed s.d. of the baseline grok step (ddof 1)


def paired_delay(baseline: Sequence[Optional[float]],
                 arm: Sequence[Optional[float]]) -> PairedDelay:
    """Seed-paired grok delay. baseline, arm [n] grok steps of the same seeds (None/NaN = never
    grokked). Ref: Xu 2026a §6, Fig. 13 (paired same-seed differences)."""
    b = np.array([np.nan if x is None else x for x in baseline], dtype=np.float64)
    a = np.array([np.nan if x is None else x for x in arm], dtype=np.float64)
    if b.shape != a.shape:
        raise ValueError("baseline and arm need one grok step per seed each")
    both = ~np.isnan(a) & ~np.isnan(b)
    d = a[both] - b[both]
    bv = b[~np.isnan(b)]
    return PairedDelay(float(d.mean()) if d.size else math.nan,
                       float(d.std(ddof=1)) if d.size > 1 else 0.0, int(both.sum()),
                       int(np.isnan(a).sum()), float(bv.std(ddof=1)) if bv.size > 1 else 0.0)


def grok_rows(runs: Sequence[Sequence[Run]], levels: Sequence[float], arm: str,
              task: int = 0) -> list[dict]:
    """One row per (Phase-1 run i, level j) of runs[i][j]: op, seed, arm, level, R98 grok step (None
    if never), R90, memorisation step, final step and budget."""
    rows = []
    for per_seed in runs:
        for lv, r in zip(levels, per_seed):
            c = r.config
            rows.append({"op": c.ops[task], "seed": c.seed, "arm": arm, "level": float(lv),
                         "grok": r.grok_step(task),
                         "R90": r.grok_step(task, threshold=0.90, patience=1),
                         "memorised": r.memorised_step(task), "final_step": r.final_step,
                         "budget": c.steps,
                         "best_test_acc": float(r.test_acc[:, task].max())})
    return rows


def delay_rows(rows: Sequence[dict], baseline: Sequence[dict]) -> list[dict]:
    """Seed-paired delays of every (op, arm, level) group of `rows` against the `baseline` rows of
    the same op (one per seed; the Phase-1 runs). Each output row: op, arm, level, n, n_grokked,
    mean grok step over seeds (NaN unless every seed grokked), the PairedDelay fields and the
    paper-style 'all failed' flag."""
    base = {(b["op"], b["seed"]): b["grok"] for b in baseline}
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["op"], r["arm"], r["level"]), []).append(r)
    out = []
    for (op, arm, lv), g in groups.items():
        steps = [x["grok"] for x in g]
        d = paired_delay([base[(op, x["seed"])] for x in g], steps)
        n_ok = sum(s is not None for s in steps)
        out.append({"op": op, "arm": arm, "level": lv, "n": len(g), "n_grokked": n_ok,
                    "mean_grok": float(np.mean(steps)) if n_ok == len(g) else math.nan,
                    "delay": d.mean, "delay_sd": d.std, "n_pairs": d.n_pairs,
                    "baseline_sd": d.baseline_std})
    return out


def defect_at(run: Run, steps) -> np.ndarray:
    """Median commutator defect D (over the K samples, NaN = missing) of the run's latest probe at
    or before each step; NaN before the first probe. steps [n] -> [n]. Used as the un-kicked
    reference for the D measured right after a kick."""
    pr = run.probes
    if not pr or not len(pr.get("steps", [])):
        return np.full(len(steps), np.nan)
    med = np.array([np.nanmedian(d) if np.isfinite(d).any() else np.nan for d in pr["defect"]])
    i = np.searchsorted(pr["steps"], np.asarray(steps), side="right") - 1
    return np.where(i >= 0, med[np.clip(i, 0, None)], np.nan)


# ── arms and cells of the seed-paired comparisons ─────────────────────────────────────────────

PCA_ARM, RANDOM_ARM, ATTN_RANDOM_ARM = "PCA", "random, all coordinates", "random, attention only"


def arm_delays(rows: Sequence[Mapping], baseline: Sequence[Mapping],
               level: float) -> dict[str, float]:
    """Seed-paired delay of every arm at one level, mean over operations (NaN where none)."""
    out: dict[str, list] = {}
    for r in delay_rows(rows, baseline):
        if r["level"] == level:
            out.setdefault(r["arm"], []).append(r["delay"])
    return {arm: (float(np.nanmean(v)) if np.isfinite(v).any() else math.nan)
            for arm, v in ((a, np.asarray(x, dtype=np.float64)) for a, x in out.items())}


def kick_cells(rows: Sequence[Mapping], baseline: Sequence[Mapping]) -> list[dict]:
    """delay_rows of the kicked cells (level > 0) with the s.e. of each seed-paired mean."""
    cells = [r | {"se": r["delay_sd"] / math.sqrt(max(r["n_pairs"], 1))}
             for r in delay_rows(rows, baseline) if r["level"] > 0]
    return sorted(cells, key=lambda r: (r["op"], r["arm"], r["level"]))


# ── page helpers: delays beside the paper, ledger values, the kick log ──────────────────────────

def paper_delay_column(delays, paper_grok: dict, paper_levels=(0, 0.25, 0.5, 0.75)) -> list:
    """For each row of a delay_rows table: the paper's seed-mean delay at that (op, level) read off
    figI10 (paper_grok[op][i] − paper_grok[op][0] at paper_levels[i]), None where it has none."""
    levels = list(paper_levels)
    return [paper_grok[o][levels.index(lv)] - paper_grok[o][0] if o in paper_grok and lv in levels
            else None for o, lv in zip(delays.op, delays.level)]


def dose_values(rows, controls, baseline, check_strength: float) -> tuple[str, str]:
    """(our_value, null_value) of curv.suppression-dose-response: the delay of every operation at
    `check_strength`, the s = 1 runs that grokked, the baseline s.d., the confined control at s =
    1."""
    d = delay_rows(rows, baseline)
    at = sorted((r for r in d if r["level"] == check_strength), key=lambda r: r["op"])
    full = [r for r in d if r["level"] == 1.0]
    conf = [r for r in delay_rows(controls, baseline)
            if r["arm"] == "attention-confined" and r["level"] == 1.0]
    ours = ("; ".join(f"{r['op']}: delay at s={check_strength} {r['delay']:+.0f} (s.d. "
                      f"{r['delay_sd']:.0f})" for r in at)
            + f"; s=1 grokked {sum(r['n_grokked'] for r in full)}/{sum(r['n'] for r in full)}")
    null = ("baseline seed-to-seed s.d. "
            + ", ".join(f"{r['op']} {r['baseline_sd']:.0f}" for r in at)
            + (f"; attention-confined s=1 grokked {sum(r['n_grokked'] for r in conf)}/"
               f"{sum(r['n'] for r in conf)}" if conf else ""))
    return ours, null


def ablation_values(rows, baseline, check_strength: float, n_seeds: int) -> tuple[str, str]:
    """(our_value, null_value) of curv.suppression-pca-vs-random."""
    at = arm_delays(rows, baseline, check_strength)
    get = lambda arm: at.get(arm, math.nan)   # noqa: E731
    full = [r for r in delay_rows(rows, baseline)
            if r["level"] == 1.0 and r["arm"] in (PCA_ARM, ATTN_RANDOM_ARM)]
    ours = (f"delay at s={check_strength}: PCA {get(PCA_ARM):+.0f}, random (attention only) "
            f"{get(ATTN_RANDOM_ARM):+.0f} steps (seed-paired, {n_seeds} seeds); s=1 grokked "
            f"{sum(r['n_grokked'] for r in full)}/{sum(r['n'] for r in full)}")
    null = (f"all-coordinates random basis (a rescaling Adam undoes): delay "
            f"{get(RANDOM_ARM):+.0f} steps at s={check_strength}")
    return ours, null


def kick_log(jobs: dict, phase1: Sequence[Run], alphas: Sequence[float]):
    """Every kick up to its run's own stop, one row per (op, arm, seed, α, kick): the hook's record
    plus ε/‖θ‖ and the post-kick D divided by the un-kicked (Phase-1) run's median D at the latest
    probe at or before that step (NaN after the Phase-1 run stopped).
    jobs: (op, arm) -> (runs[i][j], hook) as kicked_runs returns them."""
    import pandas as pd
    run_of = {(op, arm, r.config.seed, a): r for (op, arm), (rr, _) in jobs.items()
              for per_seed in rr for a, r in zip(alphas, per_seed)}
    p1 = {(r.config.ops[0], r.config.seed): r for r in phase1}
    log = pd.DataFrame([dict(rec, op=op, arm=arm) for (op, arm), (_, hook) in jobs.items()
                        for rec in hook.records()])
    log = log[[s <= run_of[(o, a, sd, al)].final_step
               for o, a, sd, al, s in zip(log.op, log.arm, log.seed, log.alpha, log.step)]].copy()
    log["eps/|θ|"] = log.eps / log.theta_norm
    log["D_ref"] = [float(defect_at(p1[(o, sd)], [s])[0]) if s <= p1[(o, sd)].final_step else np.nan
                    for o, sd, s in zip(log.op, log.seed, log.step)]
    log["D ratio"] = log.D_post / log.D_ref
    return log


def kick_summary(log):
    """Per (arm, α): kicks, mean ε, mean and max ε/‖θ‖, median post-kick D and median D ratio."""
    return log.groupby(["arm", "alpha"]).agg(
        kicks=("step", "size"), eps=("eps", "mean"), eps_rel=("eps/|θ|", "mean"),
        eps_rel_max=("eps/|θ|", "max"), D_post=("D_post", "median"),
        D_ratio=("D ratio", "median")).reset_index()


def kick_values(rows, baseline, log) -> tuple[str, str]:
    """(our_value, null_value) of curv.kick-no-effect."""
    kicked = [r for r in rows if r["level"] > 0]
    cells = kick_cells(rows, baseline)
    ours = (f"{sum(r['grok'] is not None for r in kicked)}/{len(kicked)} kicked runs grok; "
            "seed-paired shifts " + ", ".join(f"{c['arm']} α={c['level']:g}: {c['delay']:+.0f}"
                                              for c in cells)
            + f"; baseline R98 s.d. {max(c['baseline_sd'] for c in cells):.0f}")
    null = (f"post-kick D / un-kicked D: median {log['D ratio'].median():.2f}; ε/‖θ‖ ≤ "
            f"{log['eps/|θ|'].max():.2e}")
    return ours, null


def kick_defect_ratio(log, arm: str = "comm") -> float:
    """Median over an arm's kicks of the post-kick D / the un-kicked run's D (NaN without any)."""
    v = log[log.arm == arm]["D ratio"].dropna() if len(log) else []
    return float(np.median(v)) if len(v) else math.nan
