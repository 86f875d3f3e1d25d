"""Tables of the spectral-edge claims that probe the edge directly (Xu 2026d §4 and abstract): the
grokking-versus-control comparison, head purity, the effective rank of Δh, the SAE overlap null and
the cross-term regression. Each function loops over the grid's runs and returns plain tables for a
claim page; the measurements themselves live in `measures` (spectral, representation, composition).
"""
from __future__ import annotations

import itertools
from typing import Sequence

import numpy as np
import pandas as pd

from grokbook.measures import composition as comp
from grokbook.measures import representation as rep
from grokbook.measures import spectral
from grokbook.measures.trajectory import stop_step


def edge_at(run, step: int, W: int, n_dirs: int) -> spectral.Edge:
    """Leading n_dirs directions of the centred W-update window ending at `step`."""
    X = spectral.update_window(run.snapshot_steps, run.snapshots["attn"], step, W)[0]
    return spectral.edge(X, n_dirs)


def post_grok_end(run, W: int) -> int:
    """The as-coded post-grok window end t* (the run's stop step when the phase is missing)."""
    return rep.phase_ends(run, W, last_step=stop_step(run))["post-grok"] or stop_step(run)


# ── spec.edge-separates-regimes ───────────────────────────────────────────────────────────────────

def separations(rows: pd.DataFrame, stats: Sequence[str]) -> pd.DataFrame:
    """Paired grokking-vs-control separation of every statistic, for every (W, centring) of `rows`
    (`spectral.regime_rows`)."""
    out = []
    for (w, c), d in rows.groupby(["W", "centred"]):
        for s in stats:
            pair = d.pivot_table(index=["op", "seed"], columns="regime", values=s).dropna()
            out.append({"stat": s, "W": w, "centred": c,
                        **vars(spectral.separation(pair["grokking"], pair["control"]))})
    return pd.DataFrame(out)


def paired(rows: pd.DataFrame, stat: str) -> tuple[list[str], list[float], list[float]]:
    """Labels ("add s42"), grokking and control values of the matched pairs of a statistic."""
    pair = rows.pivot_table(index=["op", "seed"], columns="regime", values=stat).dropna()
    labels = [f"{op} s{seed}" for op, seed in pair.index]
    return labels, list(pair["grokking"]), list(pair["control"])


def post_rows(main, W: int, centred: bool) -> pd.DataFrame:
    """R, E3, ρ3 of the window ending at each grokking run's stop step (after the jump)."""
    keep = ("rows", "R", "E3", "rho3")

    def track(g):
        return spectral.edge_track(g.run.snapshot_steps, g.run.snapshots["attn"],
                                   [g.run.grok_step() or g.run.final_step], W, centred)[0]

    return pd.DataFrame([{"op": g.task_set, "seed": g.seed, "stop step": g.run.grok_step(),
                          **{k: v for k, v in track(g).items() if k in keep}} for g in main])


def nongrok_entered(nongrok: pd.DataFrame, stat: str = "R") -> dict:
    """The non-grokking runs that enter spec.edge-separates-regimes (those that never reached the
    grok threshold), as keyword arguments of the rule: labels ("x2_xy_y2 s42") and values."""
    d = nongrok[~nongrok.grokked.astype(bool)]
    return {"nongrok_runs": [f"{o} s{s}" for o, s in zip(d.op, d.seed)],
            "nongrok": list(d[stat])}


def regime_values(sep: pd.DataFrame, head_rows: pd.DataFrame, stats: Sequence[str], W: int,
                  centred: bool, control_weight_decay: float,
                  nongrok: pd.DataFrame) -> tuple[str, str]:
    """Our value and the nulls of spec.edge-separates-regimes (headline rows, separations and the
    non-grokking runs at the grokking runs' λ, `nongrok_rows`)."""
    from grokbook.measures.trajectory import Spread
    hs = sep[(sep.W == W) & (sep.centred == centred)].set_index("stat")
    g_R, c_R = (head_rows[head_rows.regime == r].R for r in ("grokking", "control"))
    others = ", ".join(f"{s}: {hs.loc[s, 'wins']}/{hs.loc[s, 'n']} wins → {hs.loc[s, 'level']}"
                       for s in stats[1:])
    ours = (f"R at the grok step (W={W}, centred): grokking {Spread.of(g_R).fmt(digits=3)}; wins "
            f"{hs.loc['R', 'wins']}/{hs.loc['R', 'n']}, AUROC {hs.loc['R', 'auroc']:.2f}; "
            + others)
    entered = nongrok[~nongrok.grokked.astype(bool)]
    null = (f"matched λ = {control_weight_decay} runs at the same step: R "
            f"{Spread.of(c_R).fmt(digits=3)}; non-grokking operations at the same λ and training "
            + (f"time: R {Spread.of(entered.R).fmt(digits=3)}"
               if len(entered) else "time: none measured"))
    return ours, null


def nongrok_rows(main, regime, threshold: float, W: int, centred: bool) -> pd.DataFrame:
    """Edge statistics of the non-grokking operations at the grokking runs' λ (`regime`), each at
    the window ending at the median grok step of the grokking runs of its seed (first test ≥
    threshold; over all grokking runs when its seed has none): the same training time, without a
    grok step of its own. `grokked` marks a run that reached the threshold after all (it then does
    not enter the comparison)."""
    from grokbook.training.train import first_sustained

    def grok_step(g):
        return first_sustained(g.run.eval_steps, g.run.test_acc[:, 0], threshold, 1)

    steps = {(g.seed, g.task_set): grok_step(g) for g in main}
    out = []
    for g in regime:
        own = [s for (seed, _), s in steps.items() if seed == g.seed and s is not None]
        pool = own or [s for s in steps.values() if s is not None]
        if not pool:
            continue
        end = int(np.median(pool))
        t = spectral.edge_track(g.run.snapshot_steps, g.run.snapshots["attn"], [end], W, centred)
        if t:
            out.append({"op": g.task_set, "seed": g.seed, "end_step": end,
                        "grokked": grok_step(g) is not None,
                        **{k: t[0][k] for k in ("rows", "R", "E3", "rho3")}})
    return pd.DataFrame(out, columns=["op", "seed", "end_step", "grokked", "rows", "R", "E3",
                                      "rho3"])


def first_pair(main, controls):
    """The first grokking run that has a matched control, and that control."""
    def twin(g, c):
        return c.task_set == g.task_set and c.seed == g.seed

    pair = next(g for g in main if any(twin(g, c) for c in controls))
    return pair, next(c for c in controls if twin(pair, c))


# ── spec.edge-not-head-localized ──────────────────────────────────────────────────────────────────

def head_rows(main, ends: dict, phases: Sequence[str], W: int, n_dirs: int) -> pd.DataFrame:
    """Purity, dominant block and Q+K share of every edge direction, per (op, seed, phase)."""
    rows = []
    for g in main:
        for ph in phases:
            if ends[(g.task_set, g.seed)].get(ph) is None:
                continue
            E = edge_at(g.run, ends[(g.task_set, g.seed)][ph], W, n_dirs)
            m, qk = rep.head_masses(E.V, g.run.config), rep.qk_vo_mass(E.V, g.run.config)[:, 0]
            rows += [dict(op=g.task_set, seed=g.seed, phase=ph, k=k + 1, purity=m[k].max(),
                          dominant=int(m[k].argmax()), qk_share=qk[k], k_star=E.k_star)
                     for k in range(len(m))]
    return pd.DataFrame(rows)


def purity_null(cfg, n_attn: int, n_null: int, null_seed: int) -> np.ndarray:
    """Purity of n_null random unit directions in θ_attn, drawn in chunks of 100."""
    return np.concatenate([rep.purity(rep.head_masses(
        spectral.random_directions(n_attn, min(100, n_null - s), null_seed + s), cfg))
        for s in range(0, n_null, 100)])


def control_purity(controls, ends: dict, W: int, n_dirs: int) -> pd.DataFrame:
    """Purity of the λ = 0 controls' edge at the step where the grokking twin's post-grok window
    ends."""
    rows = []
    for c in controls:
        step = ends.get((c.task_set, c.seed), {}).get("post-grok")
        if step is None:                          # no grokking twin with a post-grok window
            continue
        E = edge_at(c.run, min(step, c.run.final_step), W, n_dirs)
        rows += [dict(op=c.task_set, seed=c.seed, k=k + 1, purity=v)
                 for k, v in enumerate(rep.purity(rep.head_masses(E.V, c.run.config)))]
    return pd.DataFrame(rows)


def head_heatmap(first, ends: dict, W: int, n_dirs: int) -> np.ndarray:
    """Head masses of v1–v8 of the post-grok edge of every run in `first`: [runs·8, blocks]."""
    return np.vstack([rep.head_masses(edge_at(g.run, ends[(g.task_set, g.seed)]["post-grok"]
                                              or stop_step(g.run), W, n_dirs).V[:8], g.run.config)
                      for g in first])


# ── spec.edge-activation-diffuse ──────────────────────────────────────────────────────────────────

def _rank_stats(dh) -> list[dict]:
    return [dict(r_eff=rep.effective_rank(m), top1=rep.top_energy(m, 1), top3=rep.top_energy(m, 3))
            for m in dh]


def activation_rows(main, phases: Sequence[str], W: int, n_dirs: int, rel_eps: float, n_null: int,
                    null_seed: int) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Effective rank and top-1 / top-3 energy of Δh [N, d_model] for every edge direction per (op,
    seed, phase), the same for n_null random directions through the post-grok checkpoint, and N
    (the number of test pairs)."""
    from grokbook.training.train import run_split
    rows, null_rows, n_pairs = [], [], 0
    for g in main:
        run, pairs = g.run, run_split(g.run.config).test_x.numpy()
        n_pairs = len(pairs)
        ends = rep.phase_ends(run, W, last_step=stop_step(run))
        for ph in [ph for ph in phases if ends.get(ph) is not None]:
            E = edge_at(run, ends[ph], W, n_dirs)
            theta = rep.checkpoint_at(run, ends[ph])
            dh = spectral.perturbation_field(run.config, theta, E.V, pairs, rel_eps)
            rows += [dict(op=g.task_set, seed=g.seed, phase=ph, k=k + 1, **s)
                     for k, s in enumerate(_rank_stats(dh))]
            if ph == "post-grok":
                D = spectral.random_directions(E.V.shape[1], n_null, null_seed + g.seed)
                null_rows += [dict(op=g.task_set, seed=g.seed, **s) for s in _rank_stats(
                    spectral.perturbation_field(run.config, theta, D, pairs, rel_eps))]
    return pd.DataFrame(rows), pd.DataFrame(null_rows), n_pairs


def activation_compare(post: pd.DataFrame, null: pd.DataFrame) -> pd.DataFrame:
    """Per op: mean r_eff and largest top-1 share of the edge, against the random directions'."""
    return post.groupby("op").agg(edge_r_eff=("r_eff", "mean"), edge_top1=("top1", "max")).join(
        null.groupby("op").agg(random_r_eff=("r_eff", "mean"),
                               random_lo=("r_eff", lambda x: np.quantile(x, 0.05)),
                               random_hi=("r_eff", lambda x: np.quantile(x, 0.95))))


# ── spec.edge-sae-null ────────────────────────────────────────────────────────────────────────────

def sae_fields(models: dict, W: int, rel_eps: float, n_random: int, n_angle: int,
               null_seed: int) -> dict:
    """Per (op, seed): residual streams H of the test pairs at t*, the fields Δh of v1–v6, of
    n_random random directions, of n_angle pairs at 45° and of n_angle pairs matched to the edge
    fields' angle."""
    import torch
    from grokbook.training.model import residual_stream
    from grokbook.training.train import run_split
    data = {}
    for key, run in models.items():
        t_star = post_grok_end(run, W)
        E = edge_at(run, t_star, W, 6)
        theta, pairs = rep.checkpoint_at(run, t_star), run_split(run.config).test_x.numpy()
        H = residual_stream(torch.as_tensor(theta)[None], run.config,
                            torch.as_tensor(pairs)[None])[0].numpy()
        R = spectral.random_directions(E.V.shape[1], n_random + 2 * n_angle, null_seed)
        U, Wd = R[n_random:n_random + n_angle], R[n_random + n_angle:]

        def fields(D):
            return spectral.perturbation_field(run.config, theta, D, pairs, rel_eps)

        dE, dR, dU, dW = (fields(D) for D in (E.V, R[:n_random], U, Wd))
        angle = float(np.mean([rep.field_angle(dE[i], dE[j])
                               for i, j in itertools.combinations(range(3), 2)]))
        A45 = np.stack([rep.pair_at_angle(u, w, 45) for u, w in zip(U, Wd)])
        Am = np.stack([rep.pair_at_angle(u, w, rep.matched_theta_angle(fu, fw, angle))
                       for u, w, fu, fw in zip(U, Wd, dU, dW)])
        data[key] = dict(H=H, dE=dE, dR=dR, dU=dU, d45=fields(A45), dM=fields(Am), angle=angle)
    return data


def sae_rows(data: dict, sae_seeds: Sequence[int], *, n_latents: int, k_active: int,
             sae_epochs: int, sae_lr: float, sae_batch: int,
             top_n: int) -> tuple[pd.DataFrame, dict]:
    """One row per (op, seed, SAE seed): SAE fit, the edge pairs' Jaccards of their top-n latents,
    and p-values and means of the random, 45°, angle-matched and bulk nulls; plus the null
    distributions."""
    rows, nulls = [], {}
    for (key, d), s in itertools.product(data.items(), sae_seeds):
        sae = rep.train_sae(d["H"], n_latents, k_active, sae_epochs, sae_lr, sae_batch, seed=s)
        top = lambda dh: [rep.top_latents(sae, d["H"], x, top_n) for x in dh]   # noqa: E731
        tE, tR, tU = top(d["dE"]), top(d["dR"]), top(d["dU"])
        obs = [rep.jaccard(tE[i], tE[j]) for i, j in itertools.combinations(range(3), 2)]
        nl = {"random": [rep.jaccard(a, b) for a, b in itertools.combinations(tR, 2)],
              "45°": [rep.jaccard(a, b) for a, b in zip(tU, top(d["d45"]))],
              "angle-matched": [rep.jaccard(a, b) for a, b in zip(tU, top(d["dM"]))],
              "bulk v4–v6": [rep.jaccard(tE[i], tE[j])
                             for i, j in itertools.combinations(range(3, 6), 2)]}
        q = rep.sae_quality(sae, d["H"])
        nulls[(key, s)] = nl
        rows.append(dict(op=key[0], seed=key[1], sae_seed=s, relative_mse=q.relative_mse,
                         active=q.active, loss_ratio=sae.losses[-1] / sae.losses[0],
                         jaccard_min=min(obs), jaccard_mean=float(np.mean(obs)),
                         **{f"p_{k}": rep.null_p_value(v, obs) for k, v in nl.items()},
                         **{f"null_{k}": float(np.mean(v)) for k, v in nl.items()}))
    return pd.DataFrame(rows), nulls


# ── spec.x2y2-cross-terms ─────────────────────────────────────────────────────────────────────────

RATIOS = ["cross/add", "cross/mul", "full/combined", "full/max", "combined/max"]


def features(p: int, n_low: int, focused_add=None, focused_mul=None) -> dict:
    """Feature-set arguments of the composition probe; focused frequencies left as None are derived
    from p (`inherit.focused_frequencies`: the paper's 25, 26 and dlog 29 at p = 97, scaled)."""
    from grokbook.papers.spectral.inherit import focused_frequencies
    derived = focused_frequencies(p)
    return {"n_low": n_low,
            "focused_add": derived["focused_add"] if focused_add is None else list(focused_add),
            "focused_mul": derived["focused_mul"] if focused_mul is None else list(focused_mul)}


def probe_fields(models, W: int, n_dirs: int, rel_eps: float, n_random: int,
                 null_seed: int) -> dict:
    """Per (op, seed): test pairs, edge fields Δh [k, N, d] and f = ‖Δh‖² at t*, and the
    random-direction f."""
    from grokbook.training.train import run_split
    fields = {}
    for g in models:
        run, pairs = g.run, run_split(g.run.config).test_x.numpy()
        t_star = post_grok_end(run, W)
        E = edge_at(run, t_star, W, n_dirs)
        theta = rep.checkpoint_at(run, t_star)
        dh = spectral.perturbation_field(run.config, theta, E.V, pairs, rel_eps)
        rnd = spectral.random_direction_fields(run.config, theta, pairs, n_random, null_seed,
                                               rel_eps)
        fields[(g.task_set, g.seed)] = dict(pairs=pairs, dh=dh, f=spectral.field(dh), rnd=rnd,
                                            t_star=t_star, k_star=E.k_star)
    return fields


def coded_rows(fields: dict, p: int, targets: Sequence[str], ridge_alpha: float,
               feats: dict) -> pd.DataFrame:
    """As coded: in-sample R² of every feature set and every ratio, per (op, seed, direction,
    target)."""
    rows = []
    for (op, seed), d in fields.items():
        for k in range(len(d["f"])):
            for target, y in (("scalar", d["f"][k]), ("vector", d["dh"][k])):
                if target in targets:
                    r2 = comp.as_coded_r2(d["pairs"], y, p, ridge_alpha, **feats)
                    rows.append(dict(op=op, seed=seed, k=k + 1, target=target, **r2,
                                     **comp.ratios(r2)))
    return pd.DataFrame(rows)


def cv_rows(fields: dict, p: int, ridge_alpha: float, feats: dict, *, n_low: int, n_folds: int,
            fold_seed: int, n_perm: int, n_matched: int, null_seed: int) -> pd.DataFrame:
    """Corrected: CV R² of every set on identical rows and folds, with the 95th percentiles of the
    permuted-target and the feature-count-matched nulls (cross and full sets), per (op, seed,
    direction)."""
    out = []
    for (op, seed), d in fields.items():
        nz = (d["pairs"] % p != 0).all(1)
        X, F = comp.feature_sets(d["pairs"][nz], p, **feats), d["f"][:, nz].T            # F [N, k]
        folds = comp.kfold(int(nz.sum()), n_folds, fold_seed)
        M, idx = comp.set_matrix(X)
        cv = comp.subset_r2(M, F, idx, ridge_alpha, folds, pooled=False)     # one Gram per fold
        mc = [comp.set_matrix(comp.feature_sets(
            d["pairs"][nz], p, cross_pairs=comp.random_cross_pairs(p, n_low, null_seed + i),
            **feats)) for i in range(n_matched)]
        m = [comp.subset_r2(Mi, F, {s: ix[s] for s in ("cross", "full")}, ridge_alpha, folds,
                            pooled=False) for Mi, ix in mc]
        m_cross, m_full = np.stack([x["cross"] for x in m]), np.stack([x["full"] for x in m])
        perm = {s: np.quantile(comp.permutation_null_cv(X[s], F, folds, n_perm, null_seed,
                                                        ridge_alpha), 0.95, axis=1)
                for s in ("cross", "full")}                       # [k] each
        for k in range(F.shape[1]):
            out.append(dict(op=op, seed=seed, k=k + 1, **{f"cv_{s}": cv[s][k] for s in comp.SETS},
                            perm95_cross=perm["cross"][k], perm95_full=perm["full"][k],
                            matched95_cross=np.quantile(m_cross[:, k], 0.95),
                            matched95_full=np.quantile(m_full[:, k], 0.95)))
    return pd.DataFrame(out)


def probe_null_rows(fields: dict, p: int, ridge_alpha: float, feats: dict, *, n_noise: int,
                    n_folds: int, fold_seed: int, null_seed: int) -> pd.DataFrame:
    """In-sample R² and ratios, and CV R² of the full set, for random-direction fields and pure
    noise."""
    out = []
    for (op, seed), d in fields.items():
        nz = (d["pairs"] % p != 0).all(1)
        M, idx = comp.set_matrix(comp.feature_sets(d["pairs"][nz], p, **feats))
        noise = np.random.default_rng(null_seed).standard_normal((int(nz.sum()), n_noise))
        for name, Y in (("random directions", d["rnd"][:, nz].T), ("noise", noise)):
            r2 = comp.subset_r2(M, Y, idx, ridge_alpha, pooled=False)
            ins = {s: v.mean() for s, v in r2.items()}
            folds = comp.kfold(len(Y), n_folds, fold_seed)
            cvs = comp.subset_r2(M, Y, {"full": idx["full"]}, ridge_alpha, folds,
                                 pooled=False)["full"].mean()
            out.append(dict(op=op, seed=seed, null=name, **ins, **comp.ratios(ins), cv_full=cvs))
    return pd.DataFrame(out)


def beats_nulls(cvt: pd.DataFrame, op: str = "x2_y2") -> pd.Series:
    """Per direction of `op`: CV R² of the cross or the full set > 0 and above both nulls' 95th
    percentiles."""
    c = cvt[cvt.op == op]
    return ((c.cv_cross > np.maximum(0, np.maximum(c.perm95_cross, c.matched95_cross)))
            | (c.cv_full > np.maximum(0, np.maximum(c.perm95_full, c.matched95_full))))
