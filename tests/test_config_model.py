"""RunConfig validation and the functional model: the papers' parameter counts, θ layout, init, and
the forward pass against a reference built from torch.nn. Ref: the setups of Xu 2026a, 2026b
and 2026c.
"""

import dataclasses
import math

import pytest
import torch
from torch import nn

from grokbook.training.cache import run_key
from grokbook.training.config import RunConfig, stack_key, sweep
from grokbook.training.model import (
    attention_matrices,
    forward,
    gather_group,
    group_slices,
    init_theta,
    n_params,
    param_layout,
    param_shapes,
    unflatten,
)
from grokbook.errors import ConfigError

TRI = ("add", "mul", "x2_y2")


@pytest.mark.parametrize(
    "kwargs,count",
    [
        (dict(), 290_401),  # curvature: p 97, single task
        (dict(ops=("add", "mul")), 302_914),  # multitask: dual
        (dict(ops=TRI), 315_427),  # multitask: tri
        (dict(ops=TRI, d_model=256, n_heads=8, d_ff=512), 1_154_851),  # holographic: ≈1.15M
        (
            dict(ops=TRI, d_model=256, n_heads=8, d_ff=512, n_layers=4),
            2_209_059,
        ),  # holographic: ≈2.2M
        (dict(n_layers=3), 422_881),  # curvature slow regime
    ],
)
def test_parameter_counts_match_the_papers(kwargs, count):
    cfg = RunConfig(**kwargs)
    assert n_params(cfg) == count
    assert init_theta(cfg, 0).numel() == count


@pytest.mark.parametrize(
    "kwargs,name",
    [
        (dict(d_model=30, n_heads=4), "d_model=30"),
        (dict(lr=0), "lr="),
        (dict(lr=2), "lr="),
        (dict(lr=-1e-3), "lr="),
        (dict(weight_decay=-0.5), "weight_decay"),
        (dict(lr=0.5, weight_decay=2.0), "weight_decay"),
        (dict(steps=0), "steps"),
        (dict(steps=1.5), "steps"),
        (dict(batch_size=0), "batch_size"),
        (dict(eval_every=0), "eval_every"),
        (dict(seed=-1), "seed"),
        (dict(n_layers=0), "n_layers"),
        (dict(snapshot_groups=("attn", "mlp")), "snapshot_groups"),
        (dict(device="tpu"), "device"),
        (dict(beta2=1.0), "beta2"),
        (dict(grok_threshold=0), "grok_threshold"),
    ],
)
def test_run_config_errors_name_the_parameter(kwargs, name):
    with pytest.raises(ConfigError, match=name):
        RunConfig(**kwargs)


def test_config_lists_become_tuples_and_the_key_tracks_every_field():
    a = RunConfig(ops=["add", "mul"], snapshot_groups=["attn", "all"])
    assert a.ops == ("add", "mul") and a.snapshot_groups == ("attn", "all")
    assert run_key(a) == run_key(RunConfig(ops=("add", "mul"), snapshot_groups=("attn", "all")))
    assert run_key(a) != run_key(dataclasses.replace(a, seed=43))
    assert run_key(a) != run_key(dataclasses.replace(a, tail_steps=1))
    assert (a.n_tasks, a.d_head, a.d_vocab) == (2, 32, 97)


def test_sweep_order_and_errors():
    base = RunConfig(p=11)
    cfgs = sweep(base, ops=[("add",), ("sub",)], seed=[1, 2, 3])
    assert [(c.ops[0], c.seed) for c in cfgs] == [(o, s) for o in ("add", "sub") for s in (1, 2, 3)]
    with pytest.raises(ConfigError, match="sweep: unknown field 'sed'"):
        sweep(base, sed=[1])
    with pytest.raises(ConfigError, match="train_frac"):
        sweep(base, train_frac=[0.5, 1.0])


def test_stack_key_ignores_only_per_run_fields():
    base = RunConfig(p=11)
    same = dataclasses.replace(
        base,
        seed=7,
        lr=3e-3,
        weight_decay=0.1,
        ops=("mul",),
        train_frac=0.3,
        shuffle_labels=True,
        decay_to_init=True,
    )
    assert stack_key(same) == stack_key(base)
    assert stack_key(dataclasses.replace(base, ops=("add", "mul"))) != stack_key(
        base
    )  # head count differs
    assert stack_key(dataclasses.replace(base, d_model=64)) != stack_key(base)


def test_layout_offsets_and_attention_blocks():
    cfg = RunConfig(p=11, d_model=16, n_heads=2, d_ff=32, n_layers=2)
    layout, d = param_layout(cfg), 16
    assert list(layout)[:2] == ["embed.weight", "pos"] and layout["pos"][0] == 11 * d
    assert layout["L0.W_Q"] == (
        layout["layers.0.self_attn.in_proj_weight"][0],
        (d, d),
    )  # rows 0..d of the in-proj
    assert layout["L0.W_K"][0] == layout["L0.W_Q"][0] + d * d
    assert layout["L1.W_O"] == layout["layers.1.self_attn.out_proj.weight"]
    assert attention_matrices(cfg) == [f"L{l}.W_{m}" for l in (0, 1) for m in "QKVO"]
    theta = init_theta(cfg, 1)
    attn = gather_group(theta, cfg, "attn")
    assert (
        attn.numel()
        == 8 * d * d
        == sum(math.prod(s) for _, s in group_slices(cfg, "attn").values())
    )
    off, _ = group_slices(cfg, "attn")["L1.W_V"]
    o, s = layout["L1.W_V"]
    assert torch.equal(attn[off : off + d * d], theta[o : o + d * d])
    assert torch.equal(gather_group(theta, cfg, "all"), theta)


def test_init_is_deterministic_per_seed_and_follows_the_torch_defaults():
    cfg = RunConfig(p=13, d_model=32, d_ff=64, n_layers=2)
    a, b, c = init_theta(cfg, 5), init_theta(cfg, 5), init_theta(cfg, 6)
    assert torch.equal(a, b) and not torch.equal(a, c)
    W = unflatten(a[None], cfg)
    assert torch.equal(W["layers.0.norm1.weight"], torch.ones(1, 32))
    assert torch.equal(W["layers.1.self_attn.in_proj_bias"], torch.zeros(1, 96))
    assert W["layers.0.self_attn.in_proj_weight"].abs().max() <= math.sqrt(
        6 / (4 * 32)
    )  # xavier-uniform bound
    assert 0.8 < float(W["embed.weight"].std()) < 1.2  # N(0, 1) embedding


def _layer_block(theta, cfg, l):
    layout = param_layout(cfg)
    start = layout[f"layers.{l}.self_attn.in_proj_weight"][0]
    end_off, end_shape = layout[f"layers.{l}.norm2.bias"]
    return theta[start : end_off + math.prod(end_shape)]


def test_clone_layers_starts_every_layer_as_a_copy():
    cfg = RunConfig(p=11, d_model=16, n_heads=2, d_ff=32, n_layers=3)
    theta = init_theta(cfg, 3)
    assert torch.equal(_layer_block(theta, cfg, 0), _layer_block(theta, cfg, 1))
    assert torch.equal(_layer_block(theta, cfg, 0), _layer_block(theta, cfg, 2))
    fresh = init_theta(dataclasses.replace(cfg, clone_layers=False), 3)
    assert not torch.equal(_layer_block(fresh, cfg, 0), _layer_block(fresh, cfg, 1))


class Reference(nn.Module):
    """The papers' model from torch.nn blocks: embedding + position table, pre-LN encoder layers,
    final LayerNorm of position 0, one Linear head per task."""

    def __init__(self, cfg: RunConfig):
        super().__init__()
        d = cfg.d_model
        self.embed = nn.Embedding(cfg.p, d)
        self.pos = nn.Parameter(torch.zeros(2, d))
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(
                d,
                cfg.n_heads,
                cfg.d_ff,
                dropout=0.0,
                activation="gelu",
                batch_first=True,
                norm_first=True,
            )
            for _ in range(cfg.n_layers)
        )
        self.ln_f = nn.LayerNorm(d)
        self.heads = nn.ModuleList(nn.Linear(d, cfg.p) for _ in cfg.ops)

    def forward(self, x):  # x [B, 2] -> [B, T, p]
        h = self.embed(x) + self.pos
        for layer in self.layers:
            h = layer(h)
        z = self.ln_f(h[:, 0])
        return torch.stack([head(z) for head in self.heads], dim=1)


def _load_reference(theta: torch.Tensor, cfg: RunConfig) -> Reference:
    ref = Reference(cfg).double()
    W = {k: v[0] for k, v in unflatten(theta[None], cfg).items()}
    state = {k: v for k, v in W.items() if not k.startswith("heads.")}
    for t in range(cfg.n_tasks):
        state[f"heads.{t}.weight"], state[f"heads.{t}.bias"] = (
            W["heads.weight"][t],
            W["heads.bias"][t],
        )
    ref.load_state_dict(state, strict=True)
    return ref


def test_reference_state_dict_names_match_param_shapes():
    cfg = RunConfig(p=11, ops=("add", "mul"), d_model=16, n_heads=2, d_ff=32, n_layers=2)
    ref = {
        k: tuple(v.shape)
        for k, v in Reference(cfg).state_dict().items()
        if not k.startswith("heads.")
    }
    ours = {k: v for k, v in param_shapes(cfg).items() if not k.startswith("heads.")}
    assert (
        ref == ours
    )  # names and shapes; the order differs only in that a root nn.Parameter `pos` comes first


@pytest.mark.parametrize("n_layers", [1, 2])
def test_forward_matches_torch_nn_reference_for_two_stacked_runs(n_layers):
    cfg = RunConfig(
        p=11,
        ops=("add", "mul"),
        d_model=32,
        n_heads=4,
        d_ff=64,
        n_layers=n_layers,
        clone_layers=False,
    )
    thetas = [init_theta(cfg, s).double() for s in (1, 2)]
    for th in thetas:  # move the zero/one-initialised tensors off their defaults
        th.add_(
            0.1
            * torch.randn(th.shape, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
        )
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, cfg.p, (2, 40, 2), generator=g)  # different inputs per run
    ours = forward(torch.stack(thetas), cfg, x)  # [R, B, T, p]
    assert ours.shape == (2, 40, 2, 11)
    with torch.no_grad():
        for r in range(2):
            torch.testing.assert_close(ours[r], _load_reference(thetas[r], cfg).train()(x[r]))


def test_numpy_scalars_become_python_values():
    """Seeds from np.arange and the like: same config, same cache key (json cannot encode
    np.int64)."""
    import numpy as np

    a = RunConfig(p=np.int64(11), seed=np.int64(3), lr=np.float64(1e-3), train_frac=np.float64(0.5))
    assert a == RunConfig(p=11, seed=3, lr=1e-3) and type(a.p) is int and type(a.seed) is int
    assert run_key(a) == run_key(RunConfig(p=11, seed=3, lr=1e-3))
    assert [c.seed for c in sweep(RunConfig(p=11), seed=np.arange(3))] == [0, 1, 2]
