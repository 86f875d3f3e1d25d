"""Hand-computed checks of grokbook.representation (Xu 2026d, the representation-level analyses)."""

import numpy as np
import pytest
import torch

from grokbook.measures import representation as rep
from grokbook.training.config import RunConfig
from grokbook.training.model import group_slices

CFG = RunConfig(p=11, d_model=8, n_heads=2, n_layers=2, d_ff=16)  # d_head 4, 4 blocks


def n_attn(cfg):
    return sum(int(np.prod(s)) for _, s in group_slices(cfg, "attn").values())


def test_head_index_owns_rows_of_qkv_and_columns_of_o():
    block, part = rep.head_index(CFG)
    assert block.shape == (n_attn(CFG),) == (2 * 4 * 64,)
    wq = block[:64].reshape(8, 8)  # L0.W_Q: rows 0-3 head 0, rows 4-7 head 1
    assert (wq[:4] == 0).all() and (wq[4:] == 1).all()
    wo = block[3 * 64 : 4 * 64].reshape(8, 8)  # L0.W_O: columns 0-3 head 0
    assert (wo[:, :4] == 0).all() and (wo[:, 4:] == 1).all()
    assert (
        block[4 * 64 : 5 * 64].reshape(8, 8)[4:] == 3
    ).all()  # L1.W_Q rows 4-7 -> layer 1, head 1
    assert np.bincount(part).tolist() == [128] * 4
    assert np.bincount(block).tolist() == [128] * 4


def test_purity_one_head_and_uniform():
    block, _ = rep.head_index(CFG)
    v = np.stack([(block == 2).astype(float), np.ones(n_attn(CFG))])
    m = rep.head_masses(v, CFG)
    np.testing.assert_allclose(m[0], [0, 0, 1, 0])
    np.testing.assert_allclose(rep.purity(m), [1.0, 1 / 4])


def test_qk_vo_mass():
    _, part = rep.head_index(CFG)
    v = np.where(part == 0, 1.0, 0.0) + np.where(part == 3, 2.0, 0.0)  # Q mass 128, O mass 4·128
    np.testing.assert_allclose(rep.qk_vo_mass(v[None], CFG), [[0.2, 0.8]])


def test_effective_rank_orthogonal_and_rank_one():
    Q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((50, 6)))
    assert rep.effective_rank(Q) == pytest.approx(6.0)
    assert rep.effective_rank(np.outer(np.arange(1, 51), [1.0, -2, 3])) == pytest.approx(1.0)
    assert rep.top_energy(np.diag([3.0, 4.0]), 1) == pytest.approx(16 / 25)


def test_jaccard_and_combinatorial_value():
    assert rep.jaccard([1, 2, 3], [2, 3, 4]) == pytest.approx(0.5)
    assert rep.combinatorial_jaccard(20, 512) == pytest.approx((400 / 512) / (40 - 400 / 512))
    assert rep.combinatorial_jaccard(20, 512) == pytest.approx(0.0199, abs=1e-4)
    assert rep.null_p_value(np.array([0.1, 0.5, 0.7, 0.9]), [0.6, 0.8]) == pytest.approx(0.5)


def test_angle_helpers():
    u, w = np.array([1.0, 0, 0]), np.array([1.0, 1.0, 0])
    x = rep.pair_at_angle(u, w, 45)
    np.testing.assert_allclose(x, [np.sqrt(0.5), np.sqrt(0.5), 0])
    assert rep.field_angle(np.array([[1.0, 0]]), np.array([[-1.0, 1.0]])) == pytest.approx(45)
    # linear fields: field_u = a, field_w = b ⊥ a with |b| = 2|a|: angle(a, cos φ a + sin φ b) =
    # atan(2 tan φ)
    phi = rep.matched_theta_angle(np.array([1.0, 0]), np.array([0, 2.0]), target=45)
    assert phi == pytest.approx(np.degrees(np.arctan(0.5)), abs=0.02)


def test_sae_reconstructs_sparse_combinations():
    rng = np.random.default_rng(1)
    atoms = rng.standard_normal((12, 16))
    atoms /= np.linalg.norm(atoms, axis=1, keepdims=True)
    codes = np.zeros((400, 12))
    for row in codes:
        row[rng.choice(12, 3, replace=False)] = rng.uniform(1, 2, 3)
    H = codes @ atoms
    sae = rep.train_sae(H, n_latents=32, k=4, epochs=40, lr=3e-3, batch=64, seed=0)
    q = rep.sae_quality(sae, H)
    assert sae.losses[-1] < 0.2 * sae.losses[0]
    assert q.relative_mse < 0.2 and q.active <= 4
    np.testing.assert_allclose(sae.W_dec.norm(dim=0).numpy(), 1, atol=1e-5)
    again = rep.train_sae(H, n_latents=32, k=4, epochs=2, lr=3e-3, batch=64, seed=0)
    assert torch.equal(
        again.W_enc, rep.train_sae(H, n_latents=32, k=4, epochs=2, lr=3e-3, batch=64, seed=0).W_enc
    )
    top = rep.top_latents(sae, H, 0.1 * H, n=5)
    assert len(set(top.tolist())) == 5


def test_phase_ends_and_checkpoint():
    from types import SimpleNamespace

    steps = np.arange(0, 1100, 100)  # snapshots 0 … 1000, updates 1 … 10
    train = np.array([0.1, 0.5, 0.9, 0.95, 1, 1, 1, 1, 1, 1, 1])[:, None]
    test = np.array([0.0, 0.0, 0.1, 0.2, 0.25, 0.4, 0.6, 0.9, 0.97, 0.99, 0.99])[:, None]
    run = SimpleNamespace(
        snapshot_steps=steps,
        eval_steps=steps,
        train_acc=train,
        test_acc=test,
        snapshots={"all": np.arange(11, dtype=np.float32)[:, None] * np.ones((1, 3))},
    )
    e = rep.phase_ends(run, W=3)
    # early: index max(3, 10 // 10) = 3 -> step 300; memorisation: train > 0.8 & test < 0.3 at steps
    # -> middle 300; transition: first test > 0.5 at 600; post-grok: last test > 0.95 at
    # 1000
    assert e == {"early": 300, "memorisation": 300, "transition": 600, "post-grok": 1000}
    assert rep.phase_ends(run, W=3, last_step=700)["post-grok"] is None
    assert (
        rep.phase_ends(run, W=3, min_rows=4)["memorisation"] is None
    )  # index 2: only 3 updates end there
    np.testing.assert_allclose(rep.checkpoint_at(run, 640), [6, 6, 6])
