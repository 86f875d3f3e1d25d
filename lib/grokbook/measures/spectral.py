"""Spectral edge of the attention-update window and the Fourier structure of perturbation fields.

Pipeline (Xu 2026d; Methods chapter, "Spectral edge of the update window" and "Fourier bases and
the discrete logarithm"): stack the last W attention-weight updates ending at a chosen snapshot,
take their SVD via the W × W Gram matrix (the edge v1, v2, … and the gap measures k*, R, E₃, ρ₃),
push θ along a direction and record how far the position-0 residual stream moves for every input
pair (the perturbation field f(a, b) = ‖Δh(a, b)‖²), then group f by a harmonic label g(a, b) of
period T and read off how much of the group means' spectrum sits in one frequency (concentration F,
η²). Nulls: white-noise group means (simulated) and random unit directions in θ_attn pushed through
the same field and Fourier pipeline.

All functions are pure (arrays in, arrays or small dataclasses out); float64 inside except the
forward passes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple, Optional, Sequence

import numpy as np
import torch

from grokbook.training.config import RunConfig
from grokbook.training.model import attention_matrices, group_slices, param_layout, residual_stream
from grokbook.errors import ConfigError
from grokbook.training.tasks import is_prime

# ── update window and spectral edge
# ──────────────────────────────────────────────────────────────────


def update_window(
    snapshot_steps: np.ndarray,
    attn: np.ndarray,
    end_step: int,
    W: int = 20,
    centred: bool = True,
    min_rows: int = 3,
) -> tuple[np.ndarray, np.ndarray]:
    """The last W updates u_i = θ_attn(s_i) − θ_attn(s_{i−1}) ending at the snapshot nearest
    `end_step` (fewer if the run is shorter, at least `min_rows`), optionally centred (window mean
    removed). snapshot_steps [S], attn [S, n] -> (X [w, n] float64, steps [w] = s_i of every
    update). Ref: Methods, spectral edge (the window)."""
    steps = np.asarray(snapshot_steps)
    j = int(np.argmin(np.abs(steps - end_step)))  # nearest snapshot; ties -> the earlier one
    lo = max(1, j - W + 1)
    if j - lo + 1 < min_rows:
        raise ValueError(
            f"update_window: only {j - lo + 1} updates end at step {int(steps[j])}; need {min_rows}"
        )
    A = np.asarray(attn[lo - 1 : j + 1], dtype=np.float64)
    X = np.diff(A, axis=0)  # [w, n]
    if centred:
        X = X - X.mean(0, keepdims=True)
    return X, steps[lo : j + 1].copy()


@dataclass(frozen=True)
class Edge:
    """SVD of an update window and its gap statistics (σ decreasing; V rows are unit right singular
    vectors v1, v2, … with a fixed sign: largest-magnitude coordinate positive)."""

    sigma: np.ndarray  # [m] all singular values of X (m = number of rows), zeros included
    V: np.ndarray  # [n_dirs, n] unit rows v1..v_{n_dirs} (fewer if X has lower rank)
    k_star: int  # 1-based argmax of (σ_j/Σσ)·(σ_j/σ_{j+1}), j <= 10 (the code's weighted score)
    gap_ratio: float  # R = σ_{k*}/σ_{k*+1}
    k_star_unweighted: int  # 1-based argmax of σ_j/σ_{j+1}
    gap_ratio_unweighted: float
    E3: float  # (σ1² + σ2² + σ3²) / Σσ²
    rho3: float  # σ3/σ4 (nan if fewer than 4 non-zero σ)
    g23: float  # σ2² − σ3² (sub-leading gap of the companion works)


def edge(X: np.ndarray, n_dirs: int = 8, max_j: int = 10, rtol: float = 1e-6) -> Edge:
    """Spectral edge of an update window X [w, n] via its w × w Gram matrix (n may be 10⁵+).
    Singular values below rtol·σ1 count as zero (centring removes one); the gap scores use j =
    1…min(max_j, r−1) with r the number of non-zero σ. Ref: Methods, spectral edge (k*, R)."""
    X = np.asarray(X, dtype=np.float64)
    eig, U = np.linalg.eigh(X @ X.T)
    order = np.argsort(eig)[::-1]
    eig, U = np.clip(eig[order], 0, None), U[:, order]
    sigma = np.sqrt(eig)
    if sigma[0] == 0:
        raise ValueError("edge: the window does not move (all updates zero)")
    r = int((sigma > rtol * sigma[0]).sum())
    k = min(n_dirs, r)
    V = (U[:, :k].T @ X) / sigma[:k, None]  # [k, n]
    V *= np.sign(V[np.arange(k), np.abs(V).argmax(1)])[:, None]
    s = sigma[:r]
    J = min(max_j, r - 1)
    if J >= 1:
        ratio = s[:J] / s[1 : J + 1]
        score = (s[:J] / s.sum()) * ratio
        kw, ku = int(score.argmax()), int(ratio.argmax())
        R, Ru = float(ratio[kw]), float(ratio[ku])
    else:
        kw = ku = 0
        R = Ru = math.nan
    e2 = sigma**2
    pad = np.concatenate([sigma, np.zeros(4)])
    rho3 = float(pad[2] / pad[3]) if r >= 4 else math.nan
    return Edge(
        sigma=sigma,
        V=V,
        k_star=kw + 1,
        gap_ratio=R,
        k_star_unweighted=ku + 1,
        gap_ratio_unweighted=Ru,
        E3=float(e2[:3].sum() / e2.sum()),
        rho3=rho3,
        g23=float(pad[1] ** 2 - pad[2] ** 2),
    )


# ── perturbation field
# ───────────────────────────────────────────────────────────────────────────────


def attn_offsets(cfg: RunConfig) -> list[tuple[int, int, int]]:
    """(offset in θ, offset in θ_attn, size) of every attention matrix, in θ_attn order."""
    layout, gs = param_layout(cfg), group_slices(cfg, "attn")
    return [(layout[n][0], gs[n][0], math.prod(gs[n][1])) for n in attention_matrices(cfg)]


def attn_of(theta: np.ndarray, cfg: RunConfig) -> np.ndarray:
    """θ_attn of a flat θ. [..., P] -> [..., n_attn]."""
    th = np.asarray(theta)
    return np.concatenate([th[..., o : o + n] for o, _, n in attn_offsets(cfg)], axis=-1)


@torch.no_grad()
def perturbation_field(
    cfg: RunConfig,
    theta: np.ndarray,
    direction_attn: np.ndarray,
    pairs,
    rel_eps: float = 0.005,
    chunk: int = 4,
    block: int = 1024,
) -> np.ndarray:
    """Δh_k(a, b) = h(a, b; θ + ε v̂_k) − h(a, b; θ) with h the position-0 residual stream before
    the final LayerNorm and v̂_k the unit direction placed in the attention coordinates of θ; ε =
    rel_eps·‖θ_attn‖. θ [P], direction_attn [n_attn] or [k, n_attn], pairs [N, 2] int -> Δh [k, N,
    d_model] float64. The perturbation field is (Δh**2).sum(-1). Every input is its own forward
    pass, so the work goes in tiles of `chunk` directions × `block` inputs, small enough to stay in
    the processor's caches (about 2× faster than whole-grid passes). Ref: Methods, spectral edge."""
    dev = torch.device(cfg.device)
    th = torch.as_tensor(np.asarray(theta, dtype=np.float32)).to(dev)
    D = np.atleast_2d(np.asarray(direction_attn, dtype=np.float64))
    D = D / np.linalg.norm(D, axis=1, keepdims=True)
    eps = rel_eps * float(np.linalg.norm(attn_of(np.asarray(theta, dtype=np.float64), cfg)))
    x = torch.as_tensor(np.asarray(pairs), dtype=torch.int64).to(dev)
    blocks = [x[b : b + block] for b in range(0, len(x), block)]
    h0 = [residual_stream(th[None], cfg, xb[None])[0].double() for xb in blocks]  # [n, d] each
    out = np.empty((len(D), len(x), cfg.d_model))
    for s in range(0, len(D), chunk):
        Dc = D[s : s + chunk]
        T = th.repeat(len(Dc), 1).double()
        for o, g, n in attn_offsets(cfg):
            T[:, o : o + n] += eps * torch.from_numpy(Dc[:, g : g + n]).to(dev)
        T = T.float()
        for b, (xb, hb) in enumerate(zip(blocks, h0)):
            h = residual_stream(T, cfg, xb.expand(len(Dc), -1, -1)).double()  # [c, n, d]
            out[s : s + len(Dc), b * block : b * block + len(xb)] = (h - hb).cpu().numpy()
    return out


def field(dh: np.ndarray) -> np.ndarray:
    """f = ‖Δh‖² per input. [k, N, d] -> [k, N]."""
    return (np.asarray(dh) ** 2).sum(-1)


def random_directions(n: int, count: int, seed: int) -> np.ndarray:
    """`count` unit vectors, uniform on the sphere of R^n (normalised standard Gaussians). ->
    [count, n] float32."""
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((count, n))
    return (D / np.linalg.norm(D, axis=1, keepdims=True)).astype(np.float32)


def span_directions(X: np.ndarray, count: int, seed: int) -> np.ndarray:
    """Random unit combinations of the rows of an update window X [w, n] (the "any update direction"
    null). -> [count, n]."""
    c = np.random.default_rng(seed).standard_normal((count, len(X))) @ np.asarray(
        X, dtype=np.float64
    )
    return c / np.linalg.norm(c, axis=1, keepdims=True)


def random_direction_fields(
    cfg: RunConfig,
    theta: np.ndarray,
    pairs,
    count: int,
    seed: int,
    rel_eps: float = 0.005,
    chunk: int = 16,
) -> np.ndarray:
    """Fields f = ‖Δh‖² of `count` random unit directions in θ_attn (same ε, checkpoint and inputs
    as the edge), drawn and pushed through in chunks so that at most `chunk` directions are in
    memory. -> [count, N]. Ref: Methods, spectral edge (null)."""
    n = sum(n for *_, n in attn_offsets(cfg))
    rng = np.random.default_rng(seed)
    out = []
    for s in range(0, count, chunk):
        D = rng.standard_normal((min(chunk, count - s), n))
        out.append(field(perturbation_field(cfg, theta, D, pairs, rel_eps)))
    return np.concatenate(out) if out else np.zeros((0, len(pairs)))


# ── groupings and Fourier concentration
# ──────────────────────────────────────────────────────────────


def _prime_factors(n: int) -> list[int]:
    out, q = [], 2
    while q * q <= n:
        if n % q == 0:
            out.append(q)
            while n % q == 0:
                n //= q
        q += 1
    return out + ([n] if n > 1 else [])


def primitive_root(p: int) -> int:
    """The smallest generator of the multiplicative group mod a prime p (5 for p = 97)."""
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or not is_prime(int(p)):
        raise ConfigError(
            f"p={p!r} is not prime; a primitive root (discrete log basis) needs a prime p"
        )
    p = int(p)
    if p == 2:
        return 1
    qs = _prime_factors(p - 1)
    return next(g for g in range(2, p) if all(pow(g, (p - 1) // q, p) != 1 for q in qs))


def dlog_table(p: int, g: Optional[int] = None) -> np.ndarray:
    """Discrete logarithm base g (default the smallest primitive root): dlog[g^k mod p] = k, k =
    0…p−2; dlog[0] = −1 (undefined). -> [p] int64."""
    g = primitive_root(p) if g is None else int(g)
    table = np.full(p, -1, dtype=np.int64)
    x = 1
    for k in range(p - 1):
        if table[x] != -1:
            raise ConfigError(f"g={g} is not a primitive root mod {p}")
        table[x] = k
        x = x * g % p
    return table


class Grouping(NamedTuple):
    """Label g(a, b) in 0…T−1 of every pair (−1 = pair dropped from this grouping) and the period
    T."""

    g: np.ndarray
    T: int

    @property
    def keep(self) -> np.ndarray:
        return self.g >= 0


def groupings(p: int, pairs, g: Optional[int] = None) -> dict[str, Grouping]:
    """The harmonic bases (Methods, Fourier bases) for pairs [N, 2]: add (a+b), sub (a−b), raw_mul
    (a·b), x2_y2 (a²+b²), all mod p with T = p; dlog ((dlog a + dlog b) mod p−1, T = p−1, pairs with
    a zero dropped) and dlog_of_sum (dlog((a+b) mod p), T = p−1, sums ≡ 0 dropped). Dropped pairs
    get label −1.
    """
    ab = np.asarray(pairs, dtype=np.int64)
    a, b = ab[:, 0], ab[:, 1]
    L = dlog_table(p, g)
    s = (a + b) % p
    out = {
        "add": Grouping(s, p),
        "sub": Grouping((a - b) % p, p),
        "raw_mul": Grouping(a * b % p, p),
        "x2_y2": Grouping((a * a + b * b) % p, p),
    }
    out["dlog"] = Grouping(
        np.where((a % p != 0) & (b % p != 0), (L[a % p] + L[b % p]) % (p - 1), -1), p - 1
    )
    out["dlog_of_sum"] = Grouping(np.where(s != 0, L[s], -1), p - 1)
    return out


@dataclass(frozen=True)
class Spectrum:
    """Normalised power spectrum of a field's group means and its summaries (one row per field)."""

    power: (
        np.ndarray
    )  # [k, T//2] P̂(ω) for ω = 1…T//2 (column ω−1); excluded ω are 0; rows sum to 1
    F: np.ndarray  # [k] concentration max_ω P̂(ω)
    peak: np.ndarray  # [k] argmax ω (1-based frequency)
    top3: np.ndarray  # [k, 3] the three strongest ω, strongest first
    eta2: np.ndarray  # [k] between-class share of the per-input variance of the field (η²)


def group_means(values: np.ndarray, groups: np.ndarray, T: int) -> tuple[np.ndarray, np.ndarray]:
    """Class means of every row of values [k, N] over labels groups [N] (−1 ignored). -> (means [k,
    T] with NaN for empty classes, counts [T])."""
    v = np.atleast_2d(np.asarray(values, dtype=np.float64))
    g = np.asarray(groups)
    keep = g >= 0
    onehot = np.zeros((int(keep.sum()), T))
    onehot[np.arange(len(onehot)), g[keep]] = 1.0
    counts = onehot.sum(0)
    sums = v[:, keep] @ onehot
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan), counts


def spectrum_of_means(
    m: np.ndarray, exclude: Sequence[int] = ()
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """P̂, F, peak ω and top-3 ω of group means m [k, T] (no NaN). P(ω) = C_ω² + S_ω², ω =
    1…T//2."""
    m = np.atleast_2d(m)
    T = m.shape[1]
    P = np.abs(np.fft.rfft(m, axis=1)[:, 1 : T // 2 + 1]) ** 2 / T**2  # = C² + S²
    for w in exclude:
        if 1 <= w <= T // 2:
            P[:, w - 1] = 0.0
    tot = P.sum(1, keepdims=True)
    Ph = np.divide(P, tot, out=np.zeros_like(P), where=tot > 0)
    order = np.argsort(-Ph, axis=1, kind="stable")
    return Ph, Ph.max(1), order[:, 0] + 1, order[:, :3] + 1


def concentration(
    values: np.ndarray, groups: np.ndarray, T: int, empty: str = "zero", exclude: Sequence[int] = ()
) -> Spectrum:
    """Fourier concentration of field(s) values [N] or [k, N] under labels groups [N] (−1 = dropped)
    of period T: class means m[q] (empty classes 0 as in the code, or "impute"d by the mean of the
    other classes), normalised power over ω = 1…T//2 without the ω in `exclude` (e.g. the dlog
    Nyquist term 48), F = max, peak, top-3, and η² = Σ_q n_q (m_q − f̄)² / Σ_i (f_i − f̄)² over the
    kept pairs. Ref: Methods, Fourier bases (empty classes, the dlog Nyquist term, η²)."""
    if empty not in ("zero", "impute"):
        raise ConfigError(f"empty={empty!r} is not known; use 'zero' or 'impute'")
    v = np.atleast_2d(np.asarray(values, dtype=np.float64))
    m, counts = group_means(v, groups, T)
    keep = np.asarray(groups) >= 0
    fbar = v[:, keep].mean(1, keepdims=True)
    between = (counts * np.nan_to_num(m - fbar) ** 2).sum(1)
    total = ((v[:, keep] - fbar) ** 2).sum(1)
    eta2 = np.divide(between, total, out=np.zeros_like(between), where=total > 0)
    fill = np.nanmean(m, axis=1, keepdims=True) if empty == "impute" else np.zeros((len(m), 1))
    m = np.where(np.isnan(m), fill, m)
    Ph, F, peak, top3 = spectrum_of_means(m, exclude)
    return Spectrum(Ph, F, peak, top3, eta2)


def white_noise_F(T: int, draws: int, seed: int, exclude: Sequence[int] = ()) -> np.ndarray:
    """Concentration F of i.i.d. Gaussian group means of period T (the chance level of F;
    simulated for T = 97: mean 0.093, 95th pct 0.136; the mean ≈ H_m/m with m = T//2
    frequencies). -> [draws]."""
    rng = np.random.default_rng(seed)
    out = np.empty(draws)
    for s in range(0, draws, 20_000):
        n = min(20_000, draws - s)
        out[s : s + n] = spectrum_of_means(rng.standard_normal((n, T)), exclude)[1]
    return out


def harmonic_mean_F(m: int) -> float:
    """H_m / m, the analytic white-noise mean of F for m i.i.d. exponential powers (E max / E
    sum)."""
    return float(sum(1 / i for i in range(1, m + 1)) / m)


# ── the per-model analysis every spec.* Fourier notebook calls
# ───────────────────────────────────────────

BASES = ("add", "sub", "raw_mul", "x2_y2", "dlog", "dlog_of_sum")
COMBOS = ((0, 1), (0, 2), (1, 2), (0, 1, 2))  # basis test: normalised sums of v1–v3 (Xu 2026d)


def direction_labels(n_dirs: int) -> list[str]:
    """Labels of the edge directions and of the basis-test sums, in the order of ModelAnalysis
    fields."""
    return [f"v{i + 1}" for i in range(n_dirs)] + [
        "+".join(f"v{i + 1}" for i in c) for c in COMBOS if max(c) < n_dirs
    ]


def _variants(T: int) -> dict[str, dict]:
    """Spectrum variants of a basis: the code's zero-filled empty classes, imputed classes and,
    for an even period, without the Nyquist term ω = T/2."""
    v = {"zero": {"empty": "zero"}, "impute": {"empty": "impute"}}
    if T % 2 == 0:
        v["no_nyquist"] = {"empty": "zero", "exclude": (T // 2,)}
    return v


@dataclass
class ModelAnalysis:
    """Edge, fields and spectra of one model (Methods, spectral edge); built by analyse_model."""

    op: str
    seed: int
    weight_decay: float
    p: int
    end_step: int  # snapshot step at which the window ends (and θ is taken)
    window_steps: np.ndarray  # [w] update labels
    edge: Edge
    labels: list  # names of the edge fields: v1..v_n, then the basis-test sums
    inputs: dict  # "test"/"grid" -> pairs [N, 2]
    fields: dict  # inputs -> edge fields [len(labels), N]
    null_fields: dict  # inputs -> random-direction fields [n_null, N]
    span_fields: dict  # inputs -> random update-span fields [n_span, N]
    spectra: dict  # (inputs, basis, variant) -> (edge, null, span) Spectrum
    white_noise: dict  # (T, variant) -> white-noise F draws
    config: RunConfig  # the run's config
    theta: np.ndarray  # [P] θ at end_step (the perturbed checkpoint)


def analyse_model(
    run,
    *,
    end_step: Optional[int] = None,
    W: int = 20,
    centred: bool = True,
    n_dirs: int = 8,
    n_null: int = 200,
    n_span: int = 0,
    null_seed: int = 0,
    rel_eps: float = 0.005,
    inputs: Sequence[str] = ("test", "grid"),
    bases: Sequence[str] = BASES,
    wn_draws: int = 20_000,
    g: Optional[int] = None,
) -> ModelAnalysis:
    """The whole per-model pipeline: window of W updates ending at the snapshot nearest `end_step`
    (default the paper's stop step, measures.stop_step), its edge (n_dirs directions), θ at that
    snapshot (needs the "all" snapshot group), the fields f = ‖Δh‖² of v1..v_n, of the basis-test
    sums and of n_null random and n_span update-span directions on the run's test pairs and/or the
    op's full input grid, and the Spectrum of every field in every basis and variant, plus
    white-noise F draws for every period. Ref: Methods, spectral edge and its random-direction
    null."""
    from grokbook.measures.trajectory import stop_step
    from grokbook.training.tasks import domain_pairs
    from grokbook.training.train import run_split

    cfg = run.config
    end = stop_step(run) if end_step is None else int(end_step)
    X, wsteps = update_window(run.snapshot_steps, run.snapshots["attn"], end, W, centred)
    j = int(np.flatnonzero(run.snapshot_steps == wsteps[-1])[0])
    if "all" not in run.snapshots:
        raise ConfigError(
            "analyse_model needs full-θ snapshots: train with snapshot_groups=('attn', 'all')"
        )
    theta = run.snapshots["all"][j]
    e = edge(X, n_dirs)
    k = len(e.V)
    D = np.concatenate([e.V] + [e.V[list(c)].sum(0, keepdims=True) for c in COMBOS if max(c) < k])
    pairs = {"test": run_split(cfg).test_x.numpy(), "grid": domain_pairs(cfg.p, cfg.ops).numpy()}
    an = ModelAnalysis(
        cfg.ops[0],
        cfg.seed,
        cfg.weight_decay,
        cfg.p,
        int(wsteps[-1]),
        wsteps,
        e,
        direction_labels(k),
        {},
        {},
        {},
        {},
        {},
        {},
        cfg,
        theta,
    )
    # every input is its own forward pass, so the fields of all input sets are read off one pass
    # over their union (the test pairs lie inside the grid)
    union, where = np.unique(
        np.concatenate([pairs[name] for name in inputs]), axis=0, return_inverse=True
    )
    f_edge = field(perturbation_field(cfg, theta, D, union, rel_eps))
    f_null = random_direction_fields(cfg, theta, union, n_null, null_seed, rel_eps)
    f_span = (
        field(
            perturbation_field(
                cfg, theta, span_directions(X, n_span, null_seed + 1), union, rel_eps
            )
        )
        if n_span
        else np.zeros((0, len(union)))
    )
    ends = np.cumsum([len(pairs[name]) for name in inputs])
    for name, rows in zip(inputs, np.split(where.reshape(-1), ends[:-1])):
        x = pairs[name]
        an.inputs[name] = x
        an.fields[name] = f_edge[:, rows]
        an.null_fields[name] = f_null[:, rows]
        an.span_fields[name] = f_span[:, rows]
        G = groupings(cfg.p, x, g)
        for b in bases:
            for var, kw in _variants(G[b].T).items():
                an.spectra[(name, b, var)] = tuple(
                    concentration(f, G[b].g, G[b].T, **kw) if len(f) else None
                    for f in (an.fields[name], an.null_fields[name], an.span_fields[name])
                )
                key = (G[b].T, "no_nyquist" if var == "no_nyquist" else "zero")
                if key not in an.white_noise:
                    an.white_noise[key] = white_noise_F(
                        G[b].T, wn_draws, null_seed, kw.get("exclude", ())
                    )
    return an


def triple_means(
    F: np.ndarray, draws: int, seed: int, *others: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Top-3 means of random triples of null directions: mean F over 3 distinct rows, `draws` times,
    for F and for the same triples of every array in `others` (e.g. the dlog and raw F of the same
    directions, whose ratio is the null of the "dlog/raw improvement"). F [n] -> ([draws], ...)."""
    idx = (
        np.random.default_rng(seed).random((draws, len(F))).argsort(1)[:, :3]
    )  # 3 distinct rows per draw
    return tuple(np.asarray(a)[idx].mean(1) for a in (F,) + others)


def summary_rows(
    an: ModelAnalysis, top: int = 3, bulk: tuple[int, int] = (4, 8), triples: int = 2000
) -> list[dict]:
    """One row per (inputs, basis, variant): F and peak of v1..v_top, mean F of the top block and of
    the bulk (v_bulk[0]..v_bulk[1]), the same with the edge = v1..v_{k*}, shared peak of
    v1..v_top, mean η² of the top block, the random-direction null (mean, 95th, 99th pct of single F
    and of random-triple means, mean η²), the update-span null mean and the white-noise mean / 95th
    / 99th pct for the basis's period."""
    rows = []
    nd = len(an.edge.V)
    ks = max(1, min(an.edge.k_star, nd))
    for (inp, b, var), (es, ns, ss) in an.spectra.items():
        T = an.p if b in ("add", "sub", "raw_mul", "x2_y2") else an.p - 1
        wn = an.white_noise[(T, "no_nyquist" if var == "no_nyquist" else "zero")]
        F, peaks = es.F[:nd], es.peak[:nd]
        t3 = triple_means(ns.F, triples, an.seed)[0] if len(ns.F) >= 3 else np.full(1, np.nan)
        row = {
            "op": an.op,
            "seed": an.seed,
            "weight_decay": an.weight_decay,
            "p": an.p,
            "inputs": inp,
            "basis": b,
            "variant": var,
            "T": T,
            "end_step": an.end_step,
            "k_star": an.edge.k_star,
            "R": an.edge.gap_ratio,
        }
        row |= {f"F_v{i + 1}": float(F[i]) for i in range(min(top, nd))}
        row |= {f"peak_v{i + 1}": int(peaks[i]) for i in range(min(top, nd))}
        row |= {
            "top_mean": float(F[:top].mean()),
            "bulk_mean": float(F[bulk[0] - 1 : bulk[1]].mean()) if nd >= bulk[0] else math.nan,
            "kstar_mean": float(F[:ks].mean()),
            "shared_peak": bool(len(set(peaks[:top].tolist())) == 1),
            "eta2_top": float(es.eta2[:top].mean()),
            "null_eta2": float(ns.eta2.mean()),
            "null_mean": float(ns.F.mean()),
            "null_q95": float(np.quantile(ns.F, 0.95)),
            "null_q99": float(np.quantile(ns.F, 0.99)),
            "null_top_q95": float(np.quantile(t3, 0.95)),
            "null_top_q99": float(np.quantile(t3, 0.99)),
            "span_mean": float(ss.F.mean()) if ss is not None else math.nan,
            "wn_mean": float(wn.mean()),
            "wn_q95": float(np.quantile(wn, 0.95)),
            "wn_q99": float(np.quantile(wn, 0.99)),
        }
        rows.append(row)
    return rows


def direction_rows(an: ModelAnalysis, keys: Sequence[tuple[str, str, str]]) -> list[dict]:
    """One row per (inputs, basis, variant) in keys and edge field (v1.., basis-test sums): F, peak,
    top-3 ω, η²."""
    rows = []
    for key in keys:
        s = an.spectra[key][0]
        for i, lab in enumerate(an.labels):
            rows.append(
                {
                    "seed": an.seed,
                    "inputs": key[0],
                    "basis": key[1],
                    "variant": key[2],
                    "direction": lab,
                    "F": float(s.F[i]),
                    "peak": int(s.peak[i]),
                    "top3": tuple(int(w) for w in s.top3[i]),
                    "eta2": float(s.eta2[i]),
                }
            )
    return rows


def field_grid(
    an: ModelAnalysis, inputs: str, index: int, order: str = "natural", g: Optional[int] = None
) -> np.ndarray:
    """A field on the p × p input grid (NaN where no input was evaluated), rows a, columns b, in the
    natural order 0…p−1 or (order="dlog") with the nonzero residues sorted by their discrete log
    (g^0, g^1, …). -> [p, p] (natural) or [p−1, p−1] (dlog)."""
    p, x = an.p, an.inputs[inputs]
    M = np.full((p, p), np.nan)
    M[x[:, 0], x[:, 1]] = an.fields[inputs][index]
    if order == "natural":
        return M
    perm = np.argsort(np.where(np.arange(p) == 0, -1, dlog_table(p, g)))[
        1:
    ]  # residues by dlog, zero dropped
    return M[np.ix_(perm, perm)]


# ── edge statistics over training (spec.edge-separates-regimes)
# ──────────────────────────────────────────


def edge_track(
    snapshot_steps: np.ndarray,
    attn: np.ndarray,
    ends: Optional[Sequence[int]] = None,
    W: int = 20,
    centred: bool = True,
    min_rows: int = 3,
) -> list[dict]:
    """Edge statistics of the window ending at every snapshot (or at the snapshots nearest `ends`)
    that has at least min_rows updates: step, rows, weighted k* and R, unweighted k* and R, E₃, ρ₃,
    g₂₃, σ2/σ1. Ref: Methods, spectral edge; spec.edge-separates-regimes."""
    steps = np.asarray(snapshot_steps)
    ends = steps[min_rows:] if ends is None else ends
    rows = []
    for s in ends:
        try:
            X, ws = update_window(steps, attn, int(s), W, centred, min_rows)
        except ValueError:
            continue
        e = edge(X, n_dirs=1)
        rows.append(
            {
                "step": int(ws[-1]),
                "rows": len(ws),
                "k_star": e.k_star,
                "R": e.gap_ratio,
                "k_star_unweighted": e.k_star_unweighted,
                "R_unweighted": e.gap_ratio_unweighted,
                "E3": e.E3,
                "rho3": e.rho3,
                "g23": e.g23,
                "s2_s1": float(e.sigma[1] / e.sigma[0]) if len(e.sigma) > 1 else math.nan,
            }
        )
    return rows


# ── figure data (numbers only; plotting.spectrum_panels / field_maps draw them)
# ──────────────────────────


def spectrum_panel(an: ModelAnalysis, key: tuple[str, str, str], k: int = 3) -> dict:
    """Data of one spectrum_panels panel: P̂ of v1..v_k, the random-direction 95th/99th-percentile
    band per ω and the white-noise mean F of the basis's period."""
    es, ns, _ = an.spectra[key]
    T = an.p if key[1] in ("add", "sub", "raw_mul", "x2_y2") else an.p - 1
    wn = an.white_noise[(T, "no_nyquist" if key[2] == "no_nyquist" else "zero")]
    return {
        "lines": {an.labels[i]: es.power[i] for i in range(min(k, len(es.F)))},
        "band": tuple(np.quantile(ns.power, [0.95, 0.99], axis=0)) if len(ns.F) else None,
        "levels": {"white-noise mean F": float(wn.mean())},
    }


def field_map_panels(
    an: ModelAnalysis,
    inputs: str = "grid",
    k: int = 3,
    orders: Sequence[str] = ("natural",),
    g: Optional[int] = None,
) -> dict[str, np.ndarray]:
    """Fields of v1..v_k on the p × p grid in each ordering, {"v1 (natural)": [p, p], ...}, for
    field_maps."""
    return {
        f"{an.labels[i]} ({o}, seed {an.seed})": field_grid(an, inputs, i, o, g)
        for o in orders
        for i in range(min(k, len(an.edge.V)))
    }


# ── multiplication helpers (spec.mul-dlog-mode)
# ──────────────────────────────────────────────────────────


def improvement(
    an: ModelAnalysis,
    inputs: str,
    raw: str = "raw_mul",
    log: str = "dlog",
    draws: int = 2000,
    seed: int = 0,
    top: int = 3,
) -> dict:
    """The "dlog/raw improvement" mean F_dlog(v1..v_top) / mean F_raw(v1..v_top) with the raw
    basis's empty class filled with 0 (as coded) and imputed, the per-direction ratios (as
    coded), and its null: the same ratios for random triples of the model's random directions (mean,
    95th pct). Ref: Xu 2026d (the 5.9× dlog/raw ratio).
    """
    d, n_d = an.spectra[(inputs, log, "zero")][:2]
    z, n_z = an.spectra[(inputs, raw, "zero")][:2]
    i, n_i = an.spectra[(inputs, raw, "impute")][:2]
    nd, nz, ni = triple_means(n_d.F, draws, seed, n_z.F, n_i.F)
    out = {
        "seed": an.seed,
        "inputs": inputs,
        "paper ratio": d.F[:top].mean() / z.F[:top].mean(),
        "imputed ratio": d.F[:top].mean() / i.F[:top].mean(),
    }
    out |= {f"ratio v{k + 1}": d.F[k] / z.F[k] for k in range(top)}
    return out | {
        "null mean": float((nd / ni).mean()),
        "null q95": float(np.quantile(nd / ni, 0.95)),
        "null q95 as coded": float(np.quantile(nd / nz, 0.95)),
    }


def generator_check(an: ModelAnalysis, inputs: str, g: int, top: int = 3) -> dict:
    """F and peaks of v1..v_top in the dlog basis of generator g against the default generator g0:
    with g = g0^u, dlog_g0 = u·dlog_g, so every frequency ω becomes ω·u mod (p−1) (folded to
    1…(p−1)/2) and F is unchanged. (ω·u⁻¹ would agree only when u² ≡ ±1.)"""
    T = an.p - 1
    G = groupings(an.p, an.inputs[inputs], g)["dlog"]
    s = concentration(an.fields[inputs][:top], G.g, G.T)
    base = an.spectra[(inputs, "dlog", "zero")][0]
    u = int(dlog_table(an.p)[g])
    pred = [min(w * u % T, T - w * u % T) for w in base.peak[:top]]
    return {
        "seed": an.seed,
        "generator": g,
        **{f"F_v{k + 1}": float(base.F[k]) for k in range(top)},
        **{f"F_v{k + 1} (g={g})": float(s.F[k]) for k in range(top)},
        "peaks": tuple(int(w) for w in base.peak[:top]),
        f"peaks (g={g})": tuple(int(w) for w in s.peak),
        "predicted peaks": tuple(pred),
    }


# ── grokking versus matched no-decay controls (spec.edge-separates-regimes)
# ──────────────────────────────


def regime_rows(
    grid,
    threshold: float = 0.9,
    Ws: Sequence[int] = (10, 20, 40),
    centring: Sequence[bool] = (True, False),
    control_wd: float = 0.0,
) -> list[dict]:
    """Edge statistics (edge_track columns) of the window ending at the grok step of every grokking
    run (first evaluation with test accuracy >= threshold; runs that never reach it are skipped) and
    of the window ending at the same step in its matched control (same op and seed, λ = control_wd),
    for every W and centring. grid: GridRun list (spectral_runs.grid_runs). One row per (op, seed,
    regime, W, centred); `short` flags a window with fewer than W updates. Ref:
    spec.edge-separates-regimes."""
    from grokbook.training.train import first_sustained

    ctrl = {(g.task_set, g.seed): g.run for g in grid if g.weight_decay == control_wd}
    rows = []
    for g in grid:
        if g.weight_decay == control_wd or (g.task_set, g.seed) not in ctrl:
            continue
        step = first_sustained(g.run.eval_steps, g.run.test_acc[:, 0], threshold, 1)
        if step is None:
            continue
        for regime, r in (("grokking", g.run), ("control", ctrl[(g.task_set, g.seed)])):
            for W in Ws:
                for c in centring:
                    t = edge_track(r.snapshot_steps, r.snapshots["attn"], [step], W, c)
                    if t:
                        rows.append(
                            {
                                "op": g.task_set,
                                "seed": g.seed,
                                "regime": regime,
                                "weight_decay": r.config.weight_decay,
                                "end_step": step,
                                "W": W,
                                "centred": c,
                                "short": t[0]["rows"] < W,
                                **t[0],
                            }
                        )
    return rows


@dataclass(frozen=True)
class Separation:
    """Paired comparison of a statistic between grokking runs and their matched controls."""

    n: int  # matched (op, seed) pairs
    wins: int  # pairs with grokking > control
    separated: bool  # min over grokking runs > max over controls
    auroc: float  # P(grokking value > control value) over all pooled pairs (ties count ½)


def separation(grok: Sequence[float], control: Sequence[float]) -> Separation:
    """Wins, perfect separation and AUROC of paired values grok[i] vs control[i]."""
    g, c = np.asarray(grok, dtype=float), np.asarray(control, dtype=float)
    if len(g) != len(c) or not len(g):
        raise ValueError(
            "separation: need the same, non-zero number of grokking and control values"
        )
    return Separation(len(g), int((g > c).sum()), bool(g.min() > c.max()), auroc(g, c))


def auroc(high: Sequence[float], low: Sequence[float]) -> float:
    """Probability that a value of `high` exceeds one of `low` (ties count half): the area under
    the ROC curve of the two samples, unpaired, of any sizes."""
    h, lo = np.asarray(high, dtype=float), np.asarray(low, dtype=float)
    if not len(h) or not len(lo):
        raise ValueError("auroc: need at least one value on each side")
    return float((h[:, None] > lo[None, :]).mean() + 0.5 * (h[:, None] == lo[None, :]).mean())


def linearity_rows(
    an: ModelAnalysis, rel_eps: Sequence[float], basis: str, inputs: str = "test", top: int = 3
) -> list[dict]:
    """Linearity and sign check of the perturbation field: fields of ±v1..±v_top at every ε in
    rel_eps, with F and peak in `basis` and the mean of f/ε² relative to the smallest ε (1 where
    the field is quadratic in ε). One row per (ε, sign, direction). Ref: spec.add-single-mode, the
    paper's ε."""
    G = groupings(an.p, an.inputs[inputs])[basis]
    rows, ref = [], None
    for e in sorted(rel_eps):
        for sign in (1, -1):
            f = field(
                perturbation_field(
                    an.config, an.theta, sign * an.edge.V[:top], an.inputs[inputs], e
                )
            )
            s = concentration(f, G.g, G.T)
            scaled = f.mean(1) / e**2
            ref = scaled if ref is None else ref
            rows += [
                {
                    "seed": an.seed,
                    "rel_eps": e,
                    "sign": "+" if sign > 0 else "−",
                    "direction": an.labels[i],
                    "F": float(s.F[i]),
                    "peak": int(s.peak[i]),
                    "f/ε² (rel.)": float(scaled[i] / ref[i]),
                }
                for i in range(len(f))
            ]
    return rows
