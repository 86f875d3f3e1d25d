"""The per-run analyses of the holographic paper (Xu 2026c): trajectory dimension with its
random-walk null, rank measures of every weight matrix, and ONE table of reconstruction points per
run that every reconstruction notebook reads (trajectory PCA, its nulls, per-matrix SVD, joint SVD,
pruning).

The constructions themselves live in grokbook.compression (bases, truncations, pruning, recovery
metrics) and grokbook.ranks (effective ranks); this module only assembles them per run and evaluates
the candidates with train.accuracy_of. Model scales S/M/L are built from grid configs with `scaled`.

Ref: Xu 2026c, abstract; the Methods chapter (methods-trajectory-pca, methods-reconstruction)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from grokbook.measures import compression as cp
from grokbook.measures.subspaces import random_basis
from grokbook.training.config import RunConfig
from grokbook.measures.trajectory import random_walk_energy, step_norms
from grokbook.papers.grid import GridRun
from grokbook.training.model import n_params
from grokbook.measures.ranks import (
    gaussian_reference,
    init_alignment,
    learned_part,
    norm_ratio,
    ranks,
)
from grokbook.training.train import Run, accuracy_of

RANK_FRACTIONS = (1 / 128, 1 / 64, 1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2, 3 / 4, 7 / 8, 15 / 16, 1.0)
CODE_RANKS = (1, 2, 3, 5, 10, 20, 32, 64, 128)


# ── scales ────────────────────────────────────────────────────────────────────────────────────────


def scaled(cfg: RunConfig, d_model: int, n_heads: int, d_ff: int, n_layers: int) -> RunConfig:
    """The same run at another model scale (our choice for the paper's 315K, 1.15M and 2.2M
    models: S = 128/4/256/2, M = 256/8/512/2, L = 256/8/512/4); everything else, seed and λ
    included, unchanged."""
    return dataclasses.replace(cfg, d_model=d_model, n_heads=n_heads, d_ff=d_ff, n_layers=n_layers)


@dataclass(frozen=True)
class ScaleRun:
    """One tri-task run at one model scale, with its grid coordinates."""

    scale: str
    weight_decay: float
    seed: int
    run: Run

    def labels(self) -> dict:
        return {
            "scale": self.scale,
            "params": n_params(self.run.config),
            "weight_decay": self.weight_decay,
            "seed": self.seed,
        }


def scale_runs(
    points: Sequence[GridRun],
    scales: dict[str, Sequence[int]],
    steps: Optional[dict[str, int]] = None,
) -> list[ScaleRun]:
    """The grid runs `points` rebuilt at every scale {name: [d_model, n_heads, d_ff, n_layers]}
    (a scale equal to the grid's own architecture is the grid run itself, read from the cache),
    all loaded or trained in one call; `steps` {name: budget} overrides the budget of some scales
    (smoke machinery checks). New scales are trained without commutator probes (see _rescaled).
    -> ScaleRun per (scale, point), scale-major. Ref: Xu 2026c, abstract (three model sizes)."""
    from grokbook.training.cache import load_or_train

    todo = [
        (name, g, _rescaled(g.run.config, spec, (steps or {}).get(name)))
        for name, spec in scales.items()
        for g in points
    ]
    runs = load_or_train([c for *_, c in todo])
    return [ScaleRun(name, g.weight_decay, g.seed, r) for (name, g, _), r in zip(todo, runs)]


def _rescaled(cfg: RunConfig, spec: Sequence[int], steps: Optional[int]) -> RunConfig:
    """`scaled` plus an optional budget; a config that differs from the grid's drops the
    commutator probes, which no holo.* analysis reads and which leave the trajectory unchanged
    (they draw from their own generator)."""
    new = dataclasses.replace(scaled(cfg, *spec), steps=cfg.steps if steps is None else steps)
    return new if new == cfg else dataclasses.replace(new, probe_every=0)


def extra_runs(
    points: Sequence[GridRun],
    post_grok_steps: int,
    post_grok_seeds: Sequence[int],
    extra_seeds: Sequence[int],
    extra_p: Sequence[int],
    weight_decay: float,
) -> list[ScaleRun]:
    """The extra scale-S runs of holo.trajectory-pca-recovery, loaded or trained in one call: the
    grid runs of `post_grok_seeds` continued `post_grok_steps` past their early stop (probes off,
    which leaves the trajectory unchanged; scale "post-grok"), and the first grid run at λ =
    `weight_decay` with each of `extra_seeds` ("extra seed") and each modulus of `extra_p`
    ("p=<q>"). Ref: Xu 2026c, abstract (holo.trajectory-pca-recovery, "at every scale and weight
    decay")."""
    from grokbook.training.cache import load_or_train

    todo = [
        ("post-grok", dataclasses.replace(g.run.config, tail_steps=post_grok_steps, probe_every=0))
        for g in points
        if g.seed in post_grok_seeds
    ]
    base = [dataclasses.replace(g.run.config, weight_decay=weight_decay) for g in points[:1]]
    todo += [("extra seed", dataclasses.replace(c, seed=s)) for c in base for s in extra_seeds]
    todo += [(f"p={q}", dataclasses.replace(c, p=q)) for c in base for q in extra_p]
    runs = load_or_train([c for _, c in todo])
    return [ScaleRun(t, c.weight_decay, c.seed, r) for (t, c), r in zip(todo, runs)]


# ── holo.global-subspace-dim ──────────────────────────────────────────────────────────────────────


def subspace_dims(
    run, taus: Sequence[float], n_values: Sequence[int], walk_trials: int, seed: int = 0
) -> list[dict]:
    """k_τ of the run's full-parameter trajectory PCA for every (n_max, centred) and τ, next to
    the median k_τ of `walk_trials` random walks with the same per-interval step norms between
    the selected checkpoints. -> rows {n_max, n_used, pca ("uncentred"/"centred"), pc1, walk_pc1,
    cum_energy (first 20 cumulative energies), k_<τ>, walk_k_<τ>}. Ref: Xu 2026c, abstract
    (holo.global-subspace-dim)."""
    steps, snaps = cp.run_trajectory(run)
    rows = []
    for n in n_values:
        idx = cp.select_checkpoints(len(steps), n)
        norms = step_norms(snaps[idx])
        for centred in (False, True):
            b = cp.trajectory_basis(steps, snaps, run.theta_init, n_max=n, centred=centred)
            walk = random_walk_energy(norms, len(run.theta_init), walk_trials, seed, centred)
            rows.append(
                {
                    "n_max": n,
                    "n_used": len(idx),
                    "pca": "centred" if centred else "uncentred",
                    "pc1": float(b.energy[0]),
                    "walk_pc1": float(np.median(walk[:, 0])),
                    "cum_energy": np.cumsum(b.energy)[:20].tolist(),
                }
                | {f"k_{t}": cp.k_tau(b.energy, t) for t in taus}
                | {f"walk_k_{t}": float(np.median([cp.k_tau(w, t) for w in walk])) for t in taus}
            )
    return rows


# ── holo.local-full-rank ──────────────────────────────────────────────────────────────────────────


def rank_rows(run, gaussian_trials: int = 3, seed: int = 0) -> list[dict]:
    """Rank measures (ranks.ranks, raw and /n) of every inventory matrix (Q, K, V split) for
    three objects: "delta" Δ_W (primary), "final" W_T and "learned" (exploratory de-shrunk Δ_W,
    ranks.learned_part), with ‖W_T‖_F/‖W_0‖_F, cos(Δ_W, −W_0) (ranks.init_alignment) and the
    i.i.d. Gaussian reference of the same shape (suffix `_gauss`). -> one row per (matrix,
    object). Ref: Xu 2026c, abstract (holo.local-full-rank)."""
    refs, rows = {}, []
    for m in cp.matrix_inventory(run.config, "split"):
        W0, WT = m.take(np.asarray(run.theta_init, np.float64)), m.take(
            np.asarray(run.theta_final, np.float64)
        )
        ref = refs.setdefault(m.shape, gaussian_reference(m.shape, gaussian_trials, seed))
        for obj, X in (("delta", WT - W0), ("final", WT), ("learned", learned_part(WT, W0))):
            rows.append(
                {
                    "matrix": m.name,
                    "role": m.role,
                    "shape": f"{m.shape[0]}x{m.shape[1]}",
                    "object": obj,
                    "norm_ratio": norm_ratio(WT, W0),
                    "cos_delta_minus_init": init_alignment(WT, W0),
                }
                | ranks(X).row()
                | {k + "_gauss": v for k, v in ref.items()}
            )
    return rows


def pca_exactness(run, n_max: int) -> float:
    """Largest |θ_k − θ_T| with every direction of the uncentred trajectory basis (θ_T is a row
    of the PCA, so this must be rounding). Ref: Xu 2026c, abstract
    (holo.trajectory-pca-recovery)."""
    b = cp.trajectory_basis(*cp.run_trajectory(run), run.theta_init, n_max)
    return float(
        np.abs(
            cp.reconstruct(run.theta_init, run.theta_final, b.V, [b.k])[0] - run.theta_final
        ).max()
    )


# ── holo.joint-svd-failure: the two constructions of J1 ───────────────────────────────────────────


def joint_agreement(run, rank_fractions: Sequence[float]) -> float:
    """Largest |θ_J1 − θ_J4| over parameters and ranks: J4 computes J1 through the left singular
    vectors of Jᵀ, a separate code path, so the two must agree to rounding. Ref: Xu 2026c,
    abstract (joint SVD)."""
    t0, tT = run.theta_init, run.theta_final
    j1 = cp.joint_truncate(run.config, t0, tT, rank_fractions=rank_fractions)[0]
    j4 = cp.joint_truncate(run.config, t0, tT, rank_fractions=rank_fractions, variant="J4")[0]
    return float(np.abs(j1 - j4).max())


def stacked_rows(run) -> int:
    """Height N of the joint matrix J (every residual-stream block stacked)."""
    return sum(B.shape[0] for _, B in cp.residual_blocks(run.config, run.theta_final))


# ── the reconstruction table (holo.trajectory-pca-recovery, per-matrix / joint SVD, dissociation) ─


def _pca_candidates(run, ks, n_max, methods, random_draws, rng, partner, leak_fractions):
    """(method, variant, budgets, n_directions, thetas, energy) of the trajectory-PCA family."""
    steps, snaps = cp.run_trajectory(run)
    t0, tT = run.theta_init, run.theta_final
    out = []

    def add(method, variant, V):
        kk = [k for k in ks if k <= V.shape[1]]
        out.append(
            (
                method,
                variant,
                kk,
                kk,
                cp.reconstruct(t0, tT, V, kk),
                cp.captured_energy(t0, tT, V, kk),
            )
        )

    if "pca" in methods:
        add("trajectory PCA", "uncentred", cp.trajectory_basis(steps, snaps, t0, n_max).V)
    if "pca_centred" in methods:
        add(
            "trajectory PCA",
            "centred",
            cp.trajectory_basis(steps, snaps, t0, n_max, centred=True).V,
        )
    if "random" in methods:
        for i in range(random_draws):
            add("random subspace", f"draw {i}", random_basis(len(t0), max(ks), rng))
    if "delta_random" in methods:
        add("Δ-containing subspace", "Δ + random", cp.delta_containing_basis(tT - t0, max(ks), rng))
    if "pregrok" in methods and run.first_grok_step() is not None:
        for f in leak_fractions:
            last = int(f * run.first_grok_step()) - 1
            if np.sum(steps <= last) >= 3:
                add(
                    "leak-free PCA",
                    f"before {f:g}·t_grok",
                    cp.trajectory_basis(steps, snaps, t0, n_max, upto_step=last).V,
                )
    if "cross_seed" in methods and partner is not None:
        ps, pz = cp.run_trajectory(partner)
        add(
            "cross-seed PCA",
            f"basis of seed {partner.config.seed}",
            cp.trajectory_basis(ps, pz, partner.theta_init, n_max).V,
        )
    return out


def _svd_candidates(cfg, t0, tT, methods, rank_fractions, code_ranks, rng):
    """(method, variant, budgets, n_directions, thetas, energy) of per-matrix and joint SVD
    truncations."""
    out = []
    if "svd" in methods:
        for variant, kw in (
            ("split", {}),
            ("fused", {"qkv": "fused"}),
            ("split, attention only", {"only": "attention"}),
            ("W_T truncated", {"target": "final"}),
            ("random rank-r projection", {"random": True}),
        ):
            th, e = cp.truncate_matrices(cfg, t0, tT, rank_fractions=rank_fractions, rng=rng, **kw)
            mats = cp.matrix_inventory(cfg, kw.get("qkv", "split"), kw.get("only", "all"))
            nd = [
                sum(cp.matrix_ranks(min(m.shape), rank_fractions=[f])[0] for m in mats)
                for f in rank_fractions
            ]
            out.append(("per-matrix SVD", variant, list(rank_fractions), nd, th, e))
    if "svd_code" in methods:
        for variant, only in (
            ("code grid, fused", "all"),
            ("code grid, fused, attention only", "attention"),
        ):
            th, e = cp.truncate_matrices(cfg, t0, tT, ranks=code_ranks, qkv="fused", only=only)
            mats = cp.matrix_inventory(cfg, "fused", only)
            nd = [sum(min(r, min(m.shape)) for m in mats) for r in code_ranks]
            out.append(("per-matrix SVD (absolute r)", variant, list(code_ranks), nd, th, e))
    if "joint" in methods:
        d = cfg.d_model
        rs = cp.matrix_ranks(d, rank_fractions=rank_fractions)
        for variant, kw in (
            ("J1", {}),
            ("J2", {"variant": "J2"}),
            ("J3", {"variant": "J3"}),
            ("J4", {"variant": "J4"}),
            ("random shared subspace", {"random": True}),
            ("W_T jointly", {"target": "final"}),
        ):
            th, e = cp.joint_truncate(cfg, t0, tT, rank_fractions=rank_fractions, rng=rng, **kw)
            out.append(("joint SVD", variant, list(rank_fractions), rs, th, e))
    return out


def _prune_candidates(t0, tT, methods, prune_fractions, rng):
    out = []
    if "prune" in methods:
        for mode in ("magnitude", "random"):
            th, e = cp.magnitude_prune(t0, tT, prune_fractions, mode=mode, rng=rng)
            out.append(
                (
                    "pruning of Δ",
                    mode,
                    list(prune_fractions),
                    [int(round(q * len(t0))) for q in prune_fractions],
                    th,
                    e,
                )
            )
    return out


METHODS = (
    "pca",
    "pca_centred",
    "random",
    "delta_random",
    "pregrok",
    "cross_seed",
    "svd",
    "svd_code",
    "joint",
    "prune",
)


def reconstruction_points(
    run,
    methods: Sequence[str],
    ks: Sequence[int] = range(1, 21),
    n_max: int = 100,
    rank_fractions: Sequence[float] = RANK_FRACTIONS,
    code_ranks: Sequence[int] = CODE_RANKS,
    prune_fractions: Sequence[float] = (0.1, 0.5, 0.8, 1.0),
    random_draws: int = 5,
    partner=None,
    leak_fractions: Sequence[float] = (1.0, 0.5),
    parts: Sequence[str] = ("test",),
    variants: Optional[Sequence[str]] = None,
    seed: int = 0,
) -> list[dict]:
    """Every reconstruction point of one run, one row each: method ("trajectory PCA", "random
    subspace", "Δ-containing subspace", "leak-free PCA", "cross-seed PCA", "per-matrix SVD",
    "per-matrix SVD (absolute r)", "joint SVD", "pruning of Δ"), variant, budget (k; rank
    fraction of n = min(m, n) or of d_model; absolute rank; kept fraction q), n_directions (k,
    Σ_W r_W, r, kept entries), energy E (fraction of ‖Δ‖² or, for the W_T variants, of ‖W_T‖²
    kept), per-task accuracy acc_<part>_<op>, and the recovery R (min over tasks of
    acc/acc(θ_T)), R_mean and all90 (every task >= 0.90) on the test split (R_train etc. when
    "train" in parts). `methods` ⊆ METHODS picks the families; `variants` (None = all) keeps only
    the candidates whose variant or method name is listed (e.g. ["uncentred", "split", "J1"]),
    before anything is evaluated; `partner` = another seed's run for the cross-seed basis;
    leak-free bases use the checkpoints before f·(first task's grok step) for f in
    leak_fractions. Ref: Xu 2026c, abstract (holo.trajectory-pca-recovery,
    holo.per-matrix-svd-failure, holo.joint-svd-failure, holo.energy-accuracy-dissociation)."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"reconstruction_points: unknown method {unknown[0]!r}; known: {METHODS}")
    cfg, rng = run.config, np.random.default_rng(seed)
    t0, tT = np.asarray(run.theta_init, np.float64), np.asarray(run.theta_final, np.float64)
    ks = sorted(int(k) for k in ks)
    cands = (
        _pca_candidates(run, ks, n_max, methods, random_draws, rng, partner, leak_fractions)
        + _svd_candidates(cfg, t0, tT, methods, rank_fractions, code_ranks, rng)
        + _prune_candidates(t0, tT, methods, prune_fractions, rng)
    )
    cands = [c for c in cands if variants is None or c[0] in variants or c[1] in variants]
    final = {part: accuracy_of(cfg, tT[None], part)[0] for part in parts}
    rows = []
    for method, variant, budgets, n_dir, thetas, energy in cands:
        acc = {part: accuracy_of(cfg, thetas.astype(np.float32), part) for part in parts}
        for i, b in enumerate(budgets):
            row = {
                "method": method,
                "variant": variant,
                "budget": b,
                "n_directions": int(n_dir[i]),
                "energy": float(energy[i]),
            }
            for part in parts:
                rec, sfx = cp.recovery(acc[part][i : i + 1], final[part]), (
                    "" if part == "test" else "_" + part
                )
                row |= {f"acc_{part}_{op}": float(acc[part][i, t]) for t, op in enumerate(cfg.ops)}
                row |= {
                    "R" + sfx: float(rec.R[0]),
                    "R_mean" + sfx: float(rec.R_mean[0]),
                    "all90" + sfx: bool(rec.all_above[0]),
                }
            rows.append(row)
    return rows


def curve_summary(points: Sequence[dict], level: float = 0.95, half: float = 0.5) -> dict:
    """Summary of one (run, method, variant) curve of reconstruction points, ordered by budget:
    the first and the stable crossing of R >= level (k_95 for trajectory PCA), the same for
    R_mean, the code's k* (all tasks >= 0.90), the smallest budget with R >= level that is below
    the full budget, the largest R below full, and E_50 = the smallest energy at which R >= half.
    -> dict. Ref: Xu 2026c, abstract (holo.energy-accuracy-dissociation)."""
    pts = sorted(points, key=lambda r: r["budget"])
    b, R, Rm = [p["budget"] for p in pts], [p["R"] for p in pts], [p["R_mean"] for p in pts]
    hits = [p["energy"] for p in pts if p["R"] >= half]
    return {
        "first": cp.k95(b, R, level),
        "stable": cp.k95(b, R, level, stable=True),
        "first_mean": cp.k95(b, Rm, level),
        "stable_mean": cp.k95(b, Rm, level, stable=True),
        "k_star": cp.first_k(b, [p["all90"] for p in pts]),
        "max_R_below_full": max(R[:-1], default=np.nan),
        "E_50": min(hits) if hits else None,
    }


def points_table(
    runs: Sequence[ScaleRun], methods: Sequence[str], require_grok: bool = True, **kw
) -> list[dict]:
    """reconstruction_points of every run in which all tasks grokked (the others are left out: a
    run that did not grok has no final accuracy to recover; require_grok=False keeps them, for
    machinery checks), each row labelled with scale, parameter count, λ and seed. The cross-seed
    basis of a run is the next seed's (cyclically) at the same scale and λ. kw: the options of
    reconstruction_points. -> rows. Ref: Xu 2026c, abstract (holo.trajectory-pca-recovery ...
    holo.cross-scale-consistency)."""
    ok = [r for r in runs if r.run.grokked or not require_grok]
    rows = []
    for r in ok:
        sib = sorted(
            (s for s in ok if (s.scale, s.weight_decay) == (r.scale, r.weight_decay)),
            key=lambda s: s.seed,
        )
        partner = sib[(sib.index(r) + 1) % len(sib)].run if len(sib) > 1 else None
        rows += [
            r.labels() | row for row in reconstruction_points(r.run, methods, partner=partner, **kw)
        ]
    return rows


CURVE_KEYS = ("scale", "params", "weight_decay", "seed", "method", "variant")


def curve_table(points: Sequence[dict], level: float = 0.95, half: float = 0.5) -> list[dict]:
    """curve_summary of every (scale, λ, seed, method, variant) curve in a points_table. -> rows."""
    groups: dict[tuple, list[dict]] = {}
    for p in points:
        groups.setdefault(tuple(p[k] for k in CURVE_KEYS), []).append(p)
    return [
        dict(zip(CURVE_KEYS, key)) | curve_summary(pts, level, half) for key, pts in groups.items()
    ]


def matched_energy(
    points: Sequence[dict],
    method: str,
    variant: str,
    reference: tuple[str, str] = ("trajectory PCA", "uncentred"),
) -> list[dict]:
    """Energy-matched comparison: for every point of (method, variant) in a points_table, the
    smallest k of the reference curve (same run) whose energy reaches the point's energy, and R
    there (None if no scanned k does). -> rows {labels, budget, energy, R, k_matched,
    energy_matched, R_matched}. Ref: Xu 2026c, abstract (holo.per-matrix-svd-failure,
    matched-energy null)."""
    ref: dict[tuple, list[dict]] = {}
    for p in points:
        if (p["method"], p["variant"]) == reference:
            ref.setdefault(tuple(p[k] for k in CURVE_KEYS[:4]), []).append(p)
    rows = []
    for p in points:
        if (p["method"], p["variant"]) != (method, variant):
            continue
        curve = sorted(ref.get(tuple(p[k] for k in CURVE_KEYS[:4]), []), key=lambda q: q["budget"])
        hit = next((q for q in curve if q["energy"] >= p["energy"]), None)
        rows.append(
            {k: p[k] for k in CURVE_KEYS[:4]}
            | {
                "budget": p["budget"],
                "energy": p["energy"],
                "R": p["R"],
                "k_matched": hit and hit["budget"],
                "energy_matched": hit and hit["energy"],
                "R_matched": hit and hit["R"],
            }
        )
    return rows


def sub_full_failure(
    points: Sequence[dict], half_fraction: float = 0.5, half_R: float = 0.5, full_R: float = 0.95
) -> list[dict]:
    """For every (run, method, variant) curve whose budgets are rank fractions (1 = full rank):
    "fails_half" = R < half_R at every budget <= half_fraction, "fails_below_full" = R < full_R
    at every budget < 1, "best_sub" = the largest R below full rank, "first_full" = the smallest
    budget with R >= full_R (the rank fraction at which recovery starts). -> rows. Ref: Xu 2026c,
    abstract (holo.per-matrix-svd-failure, holo.joint-svd-failure)."""
    groups: dict[tuple, list[dict]] = {}
    for p in points:
        groups.setdefault(tuple(p[k] for k in CURVE_KEYS), []).append(p)
    rows = []
    for key, pts in groups.items():
        sub = [p["R"] for p in pts if p["budget"] < 1]
        ok = sorted(p["budget"] for p in pts if p["R"] >= full_R)
        rows.append(
            dict(zip(CURVE_KEYS, key))
            | {
                "fails_half": all(p["R"] < half_R for p in pts if p["budget"] <= half_fraction),
                "fails_below_full": all(R < full_R for R in sub),
                "best_sub": max(sub, default=np.nan),
                "first_full": ok[0] if ok else None,
            }
        )
    return rows


def run_overview(
    r: ScaleRun,
    points: Sequence[dict],
    tau: float = 0.99,
    n_max: int = 100,
    level: float = 0.95,
    full_R: float = 0.95,
    entropy_min: float = 0.5,
    r99_min: float = 0.6,
    gaussian_trials: int = 1,
    min_side: int = 3,
) -> dict:
    """The cross-scale row of one run: k_τ (uncentred trajectory PCA, `n_max` checkpoints),
    stable and first k_95 of the uncentred trajectory PCA, the median normalised entropy rank and
    r_99 of its Δ_W matrices and the share of them with entropy/n >= entropy_min and r_99/n >=
    r99_min, the same share of its W_T matrices with both sides >= min_side (as
    holo.local-full-rank judges them), the smallest rank fraction at which per-matrix SVD (split)
    and joint SVD (J1) reach R >= full_R, and the grok step of every task. `points`: this run's
    rows of a points_table with methods pca, svd, joint. Ref: Xu 2026c, abstract
    (holo.cross-scale-consistency)."""
    mine = [p for p in points if all(p[k] == v for k, v in r.labels().items())]
    steps, snaps = cp.run_trajectory(r.run)
    b = cp.trajectory_basis(steps, snaps, r.run.theta_init, n_max)
    curve = lambda m, v: [p for p in mine if (p["method"], p["variant"]) == (m, v)]
    pca = (
        curve_summary(curve("trajectory PCA", "uncentred"), level)
        if curve("trajectory PCA", "uncentred")
        else {}
    )
    fail = {
        row["method"]: row["first_full"]
        for row in sub_full_failure(
            curve("per-matrix SVD", "split") + curve("joint SVD", "J1"), full_R=full_R
        )
    }
    rows = rank_rows(r.run, gaussian_trials)
    delta = [row for row in rows if row["object"] == "delta"]
    final = [
        row
        for row in rows
        if row["object"] == "final" and min(int(x) for x in row["shape"].split("x")) >= min_side
    ]
    return (
        r.labels()
        | {
            f"k_{tau}": cp.k_tau(b.energy, tau),
            "k95_stable": pca.get("stable"),
            "k95_first": pca.get("first"),
            "entropy_n": float(np.median([x["entropy_n"] for x in delta])),
            "r99_n": float(np.median([x["r99_n"] for x in delta])),
            "delta_pass_share": float(
                np.mean([x["entropy_n"] >= entropy_min and x["r99_n"] >= r99_min for x in delta])
            ),
            "final_pass_share": float(
                np.mean([x["entropy_n"] >= entropy_min and x["r99_n"] >= r99_min for x in final])
            ),
            "svd_first_full": fail.get("per-matrix SVD"),
            "joint_first_full": fail.get("joint SVD"),
            "grokked": r.run.grokked,
        }
        | {f"grok_{op}": r.run.grok_step(t) for t, op in enumerate(r.run.config.ops)}
    )


def scale_components(
    overview: Sequence[dict],
    tau: float,
    dim_range: tuple[int, int],
    pass_share: float,
    k_good: int,
    k_all: int,
    cond_share: float,
    matrix_share: float,
    k_never: int = 21,
    rank_key: str = "delta_pass_share",
) -> list[dict]:
    """The four component verdicts of holo.cross-scale-consistency per scale, from run_overview
    rows: "dimension": dim_range[0] <= k_τ <= dim_range[1] in >= pass_share of runs; "recovery":
    the seed-median stable k_95 per λ (never = k_never) is <= k_good for >= cond_share of the λ
    values and <= k_all for all; "full rank": every run has >= matrix_share of its matrices
    passing (`rank_key`: "delta_pass_share" for Δ_W, or "final_pass_share" for the W_T matrices
    with both sides >= 3, as holo.local-full-rank judges them); "SVD failure": neither
    per-matrix nor joint SVD recovers below full rank (first_full None or 1) in >= cond_share of
    runs. -> one row per scale. Ref: Xu 2026c, abstract (holo.cross-scale-consistency)."""
    out = []
    for scale in dict.fromkeys(o["scale"] for o in overview):
        rows = [o for o in overview if o["scale"] == scale]
        lams = sorted({o["weight_decay"] for o in rows})
        k95 = [
            float(
                np.median(
                    [
                        k_never if o["k95_stable"] is None else o["k95_stable"]
                        for o in rows
                        if o["weight_decay"] == w
                    ]
                )
            )
            for w in lams
        ]
        full = [
            (o["svd_first_full"] in (None, 1.0)) and (o["joint_first_full"] in (None, 1.0))
            for o in rows
        ]
        out.append(
            {
                "scale": scale,
                "runs": len(rows),
                "dimension": float(
                    np.mean([dim_range[0] <= o[f"k_{tau}"] <= dim_range[1] for o in rows])
                )
                >= pass_share,
                "recovery": float(np.mean([k <= k_good for k in k95])) >= cond_share
                and max(k95) <= k_all,
                "full rank": all(o[rank_key] >= matrix_share for o in rows),
                "SVD failure": float(np.mean(full)) >= cond_share,
            }
        )
    return out


def scale_trend(overview: Sequence[dict], columns: Sequence[str]) -> dict[str, dict]:
    """Spearman's ρ and p of each column of the run_overview rows against the parameter count,
    pooled over λ (None values omitted); NaN when the parameter count does not vary. -> {column:
    {"rho", "p"}}. Ref: Xu 2026c, abstract (holo.cross-scale-consistency)."""
    from scipy import stats

    params = np.array([o["params"] for o in overview], np.float64)
    out = {}
    for c in columns:
        y = np.array([np.nan if o[c] is None else float(o[c]) for o in overview], np.float64)
        if len(set(params)) > 1:
            s = stats.spearmanr(params, y, nan_policy="omit")
            out[c] = {"rho": float(s.statistic), "p": float(s.pvalue)}
        else:
            out[c] = {"rho": np.nan, "p": np.nan}
    return out
