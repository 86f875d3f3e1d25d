"""The papers' shared-trunk transformer, written functionally over a flat parameter vector θ with a
leading run dimension, so that R runs train in one step.

Architecture (Xu 2026a and Xu 2026b, model): input [a, b]; token embedding (p × d, N(0,1)) plus a
learned position table (2 × d, N(0,1)/√d); n_layers pre-LN encoder layers (4 heads, GELU FFN d_ff,
no mask, dropout 0) with PyTorch's `nn.TransformerEncoderLayer` initialisation; LayerNorm of the
position-0 output; one Linear(d, p) head per task. The flat order of θ follows `named_parameters()`
of the equivalent PyTorch module, so the paper's 290,401 parameters at p = 97 sit at the same
offsets.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from grokbook.training.config import RunConfig

LN_EPS = 1e-5  # nn.LayerNorm default


def param_shapes(cfg: RunConfig) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every trainable tensor, in θ order."""
    d, f, V, T = cfg.d_model, cfg.d_ff, cfg.d_vocab, cfg.n_tasks
    shapes = {"embed.weight": (V, d), "pos": (2, d)}
    for l in range(cfg.n_layers):
        pre = f"layers.{l}."
        shapes |= {
            pre + "self_attn.in_proj_weight": (3 * d, d),
            pre + "self_attn.in_proj_bias": (3 * d,),
            pre + "self_attn.out_proj.weight": (d, d),
            pre + "self_attn.out_proj.bias": (d,),
            pre + "linear1.weight": (f, d),
            pre + "linear1.bias": (f,),
            pre + "linear2.weight": (d, f),
            pre + "linear2.bias": (d,),
            pre + "norm1.weight": (d,),
            pre + "norm1.bias": (d,),
            pre + "norm2.weight": (d,),
            pre + "norm2.bias": (d,),
        }
    return shapes | {
        "ln_f.weight": (d,),
        "ln_f.bias": (d,),
        "heads.weight": (T, V, d),
        "heads.bias": (T, V),
    }


def param_layout(cfg: RunConfig) -> dict[str, tuple[int, tuple[int, ...]]]:
    """Name -> (offset in θ, shape). Also holds the attention matrices W_Q, W_K, W_V (row blocks of
    the fused in-projection) and W_O of every layer as `L{l}.W_Q` etc."""
    layout, off = {}, 0
    for name, shape in param_shapes(cfg).items():
        layout[name] = (off, shape)
        off += math.prod(shape)
    d = cfg.d_model
    for l in range(cfg.n_layers):
        base = layout[f"layers.{l}.self_attn.in_proj_weight"][0]
        for i, m in enumerate("QKV"):
            layout[f"L{l}.W_{m}"] = (base + i * d * d, (d, d))
        layout[f"L{l}.W_O"] = (layout[f"layers.{l}.self_attn.out_proj.weight"][0], (d, d))
    return layout


def n_params(cfg: RunConfig) -> int:
    return sum(math.prod(s) for s in param_shapes(cfg).values())


def attention_matrices(cfg: RunConfig) -> list[str]:
    """Names of the per-layer attention matrices, in θ order: L0.W_Q, L0.W_K, L0.W_V, L0.W_O,
    L1.W_Q, ..."""
    return [f"L{l}.W_{m}" for l in range(cfg.n_layers) for m in "QKVO"]


def group_matrices(cfg: RunConfig, group: str) -> list[str]:
    """The layout entries a snapshot group concatenates."""
    return attention_matrices(cfg) if group == "attn" else list(param_shapes(cfg))


def group_slices(cfg: RunConfig, group: str) -> dict[str, tuple[int, tuple[int, ...]]]:
    """Name -> (offset inside the group's flat vector, shape)."""
    layout, out, off = param_layout(cfg), {}, 0
    for name in group_matrices(cfg, group):
        shape = layout[name][1]
        out[name] = (off, shape)
        off += math.prod(shape)
    return out


def gather_group(theta: Tensor, cfg: RunConfig, group: str) -> Tensor:
    """The group's entries of θ. [..., P] -> [..., n_group]."""
    if group == "all":
        return theta
    layout = param_layout(cfg)
    return torch.cat(
        [
            theta[..., o : o + math.prod(s)]
            for o, s in (layout[n] for n in group_matrices(cfg, group))
        ],
        dim=-1,
    )


def init_theta(cfg: RunConfig, seed: int) -> Tensor:
    """Initial θ of one run, drawn on the CPU from a generator seeded with `seed`. -> [P]
    float32."""
    g = torch.Generator().manual_seed(seed)
    d, f = cfg.d_model, cfg.d_ff

    def uniform(shape, bound):
        return (torch.rand(shape, generator=g) * 2 - 1) * bound

    # nn.TransformerEncoderLayer defaults: xavier in-proj, kaiming-uniform Linear, zero attn biases
    def layer():
        return [
            uniform((3 * d, d), math.sqrt(6 / (4 * d))),
            torch.zeros(3 * d),
            uniform((d, d), 1 / math.sqrt(d)),
            torch.zeros(d),
            uniform((f, d), 1 / math.sqrt(d)),
            uniform((f,), 1 / math.sqrt(d)),
            uniform((d, f), 1 / math.sqrt(f)),
            uniform((d,), 1 / math.sqrt(f)),
            torch.ones(d),
            torch.zeros(d),
            torch.ones(d),
            torch.zeros(d),
        ]

    parts = [
        torch.randn((cfg.d_vocab, d), generator=g),
        torch.randn((2, d), generator=g) / math.sqrt(d),
    ]
    first = layer()
    for l in range(cfg.n_layers):
        parts += [t.clone() for t in first] if (l == 0 or cfg.clone_layers) else layer()
    parts += [
        torch.ones(d),
        torch.zeros(d),
        uniform((cfg.n_tasks, cfg.d_vocab, d), 1 / math.sqrt(d)),
        uniform((cfg.n_tasks, cfg.d_vocab), 1 / math.sqrt(d)),
    ]
    theta = torch.cat([t.reshape(-1) for t in parts])
    assert theta.numel() == n_params(cfg)
    return theta


def unflatten(theta: Tensor, cfg: RunConfig) -> dict[str, Tensor]:
    """Views of θ [R, P] as named tensors [R, *shape] (gradients flow back into θ)."""
    R, shapes = theta.shape[0], param_shapes(cfg)
    pieces = theta.split(
        [math.prod(s) for s in shapes.values()], dim=1
    )  # one cat in backward, not one per view
    return {name: t.view(R, *shape) for (name, shape), t in zip(shapes.items(), pieces)}


def _layer_norm(x: Tensor, w: Tensor, b: Tensor) -> Tensor:
    """Per-run affine LayerNorm. x [R, ..., d], w/b [R, d]."""
    shape = (x.shape[0],) + (1,) * (x.dim() - 2) + (x.shape[-1],)
    return F.layer_norm(x, x.shape[-1:], eps=LN_EPS) * w.view(shape) + b.view(shape)


def _linear(x: Tensor, w: Tensor, b: Tensor) -> Tensor:
    """Per-run linear map. x [R, N, d_in], w [R, d_out, d_in], b [R, d_out] -> [R, N, d_out]."""
    return torch.baddbmm(b.unsqueeze(1), x, w.transpose(1, 2))


def residual_stream(theta: Tensor, cfg: RunConfig, x: Tensor) -> Tensor:
    """Encoder output at position 0, before the final LayerNorm. θ [R, P], x [R, B, 2] -> [R, B,
    d]."""
    W = unflatten(theta, cfg)
    R, B, _ = x.shape
    d, H, dh = cfg.d_model, cfg.n_heads, cfg.d_head
    offsets = torch.arange(R, device=x.device).view(R, 1, 1) * cfg.d_vocab
    h = F.embedding(x + offsets, W["embed.weight"].reshape(R * cfg.d_vocab, d))  # [R, B, 2, d]
    h = (h + W["pos"].unsqueeze(1)).reshape(R, B * 2, d)
    for l in range(cfg.n_layers):
        pre = f"layers.{l}."
        a = _layer_norm(h, W[pre + "norm1.weight"], W[pre + "norm1.bias"])
        qkv = _linear(a, W[pre + "self_attn.in_proj_weight"], W[pre + "self_attn.in_proj_bias"])
        q, k, v = qkv.view(R, B, 2, 3, H, dh).unbind(3)  # [R, B, 2, H, dh] each
        # two positions: the 2x2 attention is cheaper as broadcast products than as tiny batched
        # matmuls
        att = (
            (q.unsqueeze(3) * k.unsqueeze(2)).sum(-1).mul_(1 / math.sqrt(dh)).softmax(3)
        )  # [R, B, s, t, H]
        o = (att.unsqueeze(-1) * v.unsqueeze(2)).sum(3).reshape(R, B * 2, d)  # [R, B, s, H, dh]
        h = h + _linear(o, W[pre + "self_attn.out_proj.weight"], W[pre + "self_attn.out_proj.bias"])
        m = _layer_norm(h, W[pre + "norm2.weight"], W[pre + "norm2.bias"])
        m = F.gelu(_linear(m, W[pre + "linear1.weight"], W[pre + "linear1.bias"]))
        h = h + _linear(m, W[pre + "linear2.weight"], W[pre + "linear2.bias"])
    return h.view(R, B, 2, d)[:, :, 0]


def forward(theta: Tensor, cfg: RunConfig, x: Tensor) -> Tensor:
    """Logits of every task head. θ [R, P], x [R, B, 2] int64 -> [R, B, n_tasks, p]."""
    W = unflatten(theta, cfg)
    z = _layer_norm(residual_stream(theta, cfg, x), W["ln_f.weight"], W["ln_f.bias"])  # [R, B, d]
    return torch.einsum("rbd,rtvd->rbtv", z, W["heads.weight"]) + W["heads.bias"].unsqueeze(1)


def task_losses(logits: Tensor, y: Tensor) -> Tensor:
    """Mean cross-entropy per run and task, in float64. logits [R, B, T, p], y [R, B, T] -> [R,
    T]."""
    logp = logits.double().log_softmax(-1)
    return -logp.gather(-1, y.unsqueeze(-1)).squeeze(-1).mean(1)
