"""Sentences of the holographic claim pages: the ledger's "ours" and "null" texts and the readings
whose wording depends on the numbers (kept here, with tests, so that no page says what its numbers
contradict).

Inputs are columns (any sequence of numbers, e.g. a pandas Series) and small mappings. Ref: Xu
2026c, abstract."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from grokbook.measures.trajectory import Spread


def spread(values, digits: int = 1, scale: float = 1.0, suffix: str = "", empty: str = "–") -> str:
    """Mean ± std (range, n) of `values`, or `empty` when there are none."""
    v = [float(x) for x in values]
    return Spread.of(v).fmt(scale, digits) + suffix if v else empty


def shares_text(shares: Mapping[str, float]) -> str:
    """ "J1 100%, J2 0%": a share per name."""
    return ", ".join(f"{k} {v:.0%}" for k, v in shares.items())


def _mean(values) -> float:
    v = [float(x) for x in values]
    return float(np.mean(v)) if v else float("nan")


# ── holo.global-subspace-dim ──────────────────────────────────────────────────────────────────────


def subspace_values(
    unc_k, cen_k, unc_pc1, walk_k, primary_tau: float, paper_pc1: Sequence[float]
) -> tuple[str, str]:
    """(ours, null) of the ledger: k_τ uncentred and centred, PC1 share; the matched random walk."""
    ours = (
        f"uncentred k(τ={primary_tau}) {spread(unc_k)}; centred {spread(cen_k)}; "
        f"PC1 {spread(unc_pc1, scale=100, suffix=' %')}"
    )
    null = (
        f"matched random walk k(τ={primary_tau}) {spread(walk_k)}; paper (S dual) k ≈ 2–4, "
        f"PC1 {paper_pc1[0]:.1%}–{paper_pc1[1]:.1%}"
    )
    return ours, null


def walk_reading(walk_k, dim_high: int) -> str:
    """What the matched random walk says about the uncentred dimension."""
    if not len(walk_k):
        return ""
    if _mean(walk_k) <= dim_high:
        return (
            "The random walk with the same step norms is about as concentrated, so the uncentred "
            "dimension alone says little about the path's shape."
        )
    return (
        "The matched random walk needs more directions, so the concentration is not a mere "
        "effect of "
        "drift."
    )


# ── holo.trajectory-pca-recovery ──────────────────────────────────────────────────────────────────


def recovery_values(stable, first, k_star, random_best_R) -> tuple[str, str]:
    """(ours, null): the k_95 crossings and k* over runs (never-recovering runs left out); the
    random subspace's best R."""
    ours = (
        f"stable k_95 {spread(stable, empty='none')}; first {spread(first, empty='none')}; "
        f"code k* {spread(k_star, empty='none')} (uncentred, min over tasks, test)"
    )
    null = (
        f"random subspace best R {spread(random_best_R, digits=3)}; paper S tri k* 3–8, k_95 "
        f"first 5–10"
    )
    return ours, null


def k_range(values) -> str:
    """ "3–8", or "none" when no run crossed."""
    v = [int(x) for x in values]
    return f"{min(v)}–{max(v)}" if v else "none"


def recovery_reading(stable, first, k_star, null_best: Mapping[str, float], level: float) -> str:
    """The observed ranges of the crossings against the paper's, whether our strict reading needs
    more than the abstract's 3–5, and whether a basis built without the run's own endpoint
    (leak-free, cross-seed, random) also recovers."""
    out = (
        f"Observed over runs: stable k_95 {k_range(stable)}, first {k_range(first)}, code k* "
        f"{k_range(k_star)} (paper, S tri: k* 3–8, first-crossing k_95 5–10; the abstract says "
        f"3–5). "
    )
    out += (
        "Our strict reading needs more directions than the abstract's 3–5. "
        if len(stable) and max(stable) > 5
        else ""
    )
    if null_best:
        out += (
            "The leak-free and cross-seed bases do not recover: the few directions contain θ_T, "
            "they do not predict it."
            if max(null_best.values()) < level
            else "Some basis built without this run's endpoint also recovers."
        )
    return out.strip()


# ── holo.local-full-rank ──────────────────────────────────────────────────────────────────────────


def full_rank_values(
    judged_rows,
    judged_shares: Mapping,
    control_shares: Mapping,
    matrix_share: float,
    judged: str,
    gauss,
    norm_ratio,
    cosine,
) -> tuple[str, str]:
    """(ours, null): rank measures of the judged matrices (`judged` names them, e.g. "W_T") with
    the share of conditions in which ≥ matrix_share of them pass (shares: rules.pass_shares); the
    λ = 0 control's pass share, the Gaussian reference, the norm ratio and cos(Δ_W, −W_0) of the
    Δ_W matrices."""
    ok = [v >= matrix_share for v in judged_shares.values()]
    ours = (
        f"{judged}: entropy rank/n {spread(judged_rows['entropy_n'], 2)}, r_99/n "
        f"{spread(judged_rows['r99_n'], 2)}; passing conditions {_mean(ok):.0%}"
    )
    null = (
        f"λ = 0 control: {spread(list(control_shares.values()), 2)} of its {judged} matrices pass; "
        f"Gaussian entropy/n {spread(gauss, 2)}; ‖W_T‖/‖W_0‖ {spread(norm_ratio, 2)}, "
        f"cos(Δ_W, −W_0) {spread(cosine, 2)}"
    )
    return ours, null


def init_reading(norm_ratio, cosine, delta_entropy, final_entropy) -> str:
    """Whether the full rank of Δ_W is the random init removed by weight decay: matrices that
    shrank below half their init norm, their cos(Δ_W, −W_0), and W_T's entropy rank against
    Δ_W's."""
    shrunk = [c for r, c in zip(norm_ratio, cosine) if r < 0.5]
    cos = _mean(shrunk)
    out = (
        f"{len(shrunk)} of {len(list(norm_ratio))} matrices shrank below half their init norm; "
        f"for them "
        f"cos(Δ_W, −W_0) averages {cos:.2f}"
    )
    out += (
        ": their update is mostly the removed random init, so **Δ_W inherits the init's full "
        "rank** "
        "and its rank says little about what was learned."
        if shrunk and cos > 0.5
        else "."
    )
    if _mean(final_entropy) < _mean(delta_entropy) - 0.1:
        out += (
            " W_T is markedly less full-rank than Δ_W, so the full rank of Δ_W is partly an "
            "init effect."
        )
    return out


# ── holo.per-matrix-svd-failure and holo.joint-svd-failure ────────────────────────────────────────


def per_matrix_values(
    best_sub,
    wt_best,
    random_R,
    shares: tuple[float, float],
    half_fraction: float,
    paper_chance_up_to: int,
) -> tuple[str, str]:
    """(ours, null): best sub-full-rank R of the split truncation and the failing shares; the W_T
    truncation, the random projection and the paper's S-scale number."""
    ours = (
        f"split, all matrices: best sub-full-rank R {spread(best_sub, 3)}; conditions failing at "
        f"ρ ≤ {half_fraction}: {shares[0]:.0%}, at every sub-full rank: {shares[1]:.0%}"
    )
    null = (
        f"W_T truncation best R {spread(wt_best, 3)}; random projection R {spread(random_R, 3)}; "
        f"paper (S dual, fused): chance up to r {paper_chance_up_to}"
    )
    return ours, null


def init_residue_reading(best_sub, wt_best) -> str:
    """Whether truncating W_T keeps much more than truncating Δ_W (then the random init left inside
    Δ_W, not full-rank learned structure, is what the low-rank truncation destroys)."""
    if len(wt_best) and len(best_sub) and _mean(wt_best) > _mean(best_sub) + 0.2:
        return (
            "Truncating W_T keeps much more than truncating Δ_W: what the low-rank truncation of "
            "Δ_W destroys is the random init left inside it, not full-rank learned structure."
        )
    return "Truncating W_T does not keep much more than truncating Δ_W."


def joint_values(
    best_sub, shares: Mapping[str, float], random_R, wt_best, full_rank_R
) -> tuple[str, str]:
    """(ours, null): J1's best sub-full-rank R and the failing share per variant; the random shared
    subspace, W_T truncated jointly and R at r = d."""
    ours = (
        f"J1 best sub-full-rank R {spread(best_sub, 3)}; conditions failing: {shares_text(shares)}"
    )
    null = (
        f"random shared subspace R {spread(random_R, 3)}; W_T jointly best R {spread(wt_best, 3)}; "
        f"R at r = d {min(full_rank_R, default=float('nan')):.4f}"
    )
    return ours, null


def joint_sanity(full_rank_R, gap: float, tol: float) -> str:
    """The two construction checks: R at full rank, and the largest J1–J4 difference against
    `tol`."""
    where = "within" if gap <= tol else "OUTSIDE"
    return (
        f"Sanity at r = d: R = {min(full_rank_R, default=float('nan')):.4f} (min); J1 vs J4 "
        f"largest gap {gap:.1e} ({where} {tol:g})."
    )


# ── holo.energy-accuracy-dissociation ─────────────────────────────────────────────────────────────


def dissociation_values(
    shares: Mapping[str, float],
    per_direction: Mapping[str, float],
    energy_min: float,
    half_R: float,
) -> tuple[str, str]:
    """(ours, null): share of conditions showing the dissociation per method; the energy per
    direction at the first point with R >= half_R."""
    ours = f"share of conditions with E ≥ {energy_min:.2f} and R ≤ {half_R}: {shares_text(shares)}"
    null = f"median energy per direction at R ≥ {half_R}: " + ", ".join(
        f"{k} {v:.2e}" for k, v in per_direction.items()
    )
    return ours, null


def pca_reading(
    energy_k3,
    R_k3,
    pca_share: float,
    cond_share: float,
    paper_energy: float,
    paper_R: Sequence[float],
) -> str:
    """Trajectory PCA at k = 3 against the paper, and whether PCA shows the same dissociation."""
    out = (
        f"Trajectory PCA at k = 3: E {spread(energy_k3, 4)}, R {spread(R_k3, 2)} (paper: E ≈ "
        f"{paper_energy}, R ≈ {paper_R[0]}–{paper_R[1]}). "
    )
    return out + (
        "Trajectory PCA shows the same dissociation, so energy predicts recovery poorly for every "
        "method: PCA's advantage is that it needs far fewer directions, not less energy."
        if pca_share >= cond_share
        else "Trajectory PCA does not show the dissociation in most conditions."
    )


# ── holo.cross-scale-consistency ──────────────────────────────────────────────────────────────────


def components_value(components: Sequence[Mapping], names: Sequence[str]) -> str:
    """ "S: dimension, full rank hold; M: ... hold": the components that hold per scale."""
    return "; ".join(
        f"{c['scale']}: " + ", ".join(n for n in names if c[n]) + " hold" for c in components
    )


def trend_value(rho: Mapping[str, float]) -> str:
    """Spearman's ρ of each quantity against the parameter count."""
    return "Spearman ρ vs parameters: " + ", ".join(f"{k} {v:.2f}" for k, v in rho.items())
