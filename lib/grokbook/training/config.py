"""One frozen dataclass describes one training run; the run cache is keyed by its hash
(cache.run_key).

Defaults are the reference setting shared by the Xu papers (Xu 2026a, training setup): p = 97,
2-layer pre-LN encoder, d_model 128, 4 heads, d_ff 256, AdamW lr 1e-3, λ = 1, β = (0.9, 0.98), batch
512 with replacement, grad-norm clip 1, eval every 100 steps, grok = test acc >= 0.98 at 3
consecutive evals.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

import numpy as np

from grokbook.errors import ConfigError
from grokbook.training.tasks import check_split, check_task, domain_pairs

SNAPSHOT_GROUPS = ("attn", "all")  # attn: W_Q, W_K, W_V, W_O of every layer; all: the whole θ
LATE_FIELDS = {
    "snapshot_cap": 0,
    "compile_step": False,
}  # fields added after cache schema 2, with their defaults


@dataclass(frozen=True)
class RunConfig:
    # task
    p: int = 97  # modulus; tokens 0..p-1
    ops: tuple[str, ...] = ("add",)  # one linear head per op, summed cross-entropy
    train_frac: float = 0.5  # share of the domain's pairs used for training
    seed: int = 42  # seeds the split, the init and the batch stream
    shuffle_labels: bool = False  # control: permute the train labels
    # model
    d_model: int = 128
    n_layers: int = 2
    n_heads: int = 4
    d_ff: int = 256
    # every layer starts as a copy of layer 0 (nn.TransformerEncoder does)
    clone_layers: bool = True
    # optimisation
    lr: float = 1e-3
    weight_decay: float = 1.0  # decoupled (AdamW), on every parameter
    decay_to_init: bool = False  # decay θ - θ_0 instead of θ (Power et al. variant 6)
    beta1: float = 0.9
    beta2: float = 0.98
    eps: float = 1e-8
    grad_clip: float = 1.0  # global L2 norm per run; 0 disables
    batch_size: int = 512  # drawn uniformly with replacement every step
    # schedule
    steps: int = 10_000  # budget
    eval_every: int = 100  # full train + test evaluation
    snapshot_every: int = 100  # parameter snapshots of `snapshot_groups`
    snapshot_groups: tuple[str, ...] = ("attn",)
    snapshot_cap: int = 0  # 0 = keep all; else at this many snapshots drop every other one (step 0
    # kept) and double the interval (Xu 2026c's long runs: stride doubling)
    probe_every: int = 0  # commutator probe cadence in steps (0 = off; Methods)
    probe_samples: int = 5  # K independent (A, B) batch pairs per probe
    probe_eta: float = 1e-3  # probe step η (fixed, also when lr differs)
    probe_groups: tuple[str, ...] = ("attn",)  # parts of the first sample's δ that are stored
    stop_on_grok: bool = True  # stop once every task has grokked (rule below) ...
    tail_steps: int = 0  # ... and this many steps more
    grok_threshold: float = 0.98  # grok rule: test acc >= threshold ...
    grok_patience: int = 3  # ... at this many consecutive evals (the step of the last one counts)
    device: str = "cpu"
    # torch.compile the loss/gradient and the AdamW update (train.py): other
    compile_step: bool = False
    # float rounding, so another trajectory and another cache key

    def __post_init__(self):
        for f in dataclasses.fields(
            self
        ):  # numpy scalars (np.arange seeds, ...) break the JSON cache key
            if isinstance(getattr(self, f.name), np.generic):
                object.__setattr__(self, f.name, getattr(self, f.name).item())
        object.__setattr__(self, "ops", tuple(self.ops))
        object.__setattr__(self, "snapshot_groups", tuple(self.snapshot_groups))
        object.__setattr__(self, "probe_groups", tuple(self.probe_groups))
        check_task(self.p, self.ops)
        check_split(len(domain_pairs(self.p, self.ops)), self.train_frac)
        _positive_int(
            self,
            "d_model",
            "n_layers",
            "n_heads",
            "d_ff",
            "batch_size",
            "steps",
            "eval_every",
            "snapshot_every",
            "grok_patience",
        )
        _nonnegative_int(self, "seed", "tail_steps", "probe_every", "snapshot_cap")
        if self.snapshot_cap == 1:
            raise ConfigError("snapshot_cap=1 is out of range; use 0 (keep all) or an integer >= 2")
        _positive_int(self, "probe_samples")
        if not self.probe_eta > 0:
            raise ConfigError(f"probe_eta={self.probe_eta} is out of range; it must be > 0")
        if self.d_model % self.n_heads:
            raise ConfigError(f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}")
        if isinstance(self.lr, bool) or not (
            isinstance(self.lr, (int, float)) and 0 < self.lr <= 1
        ):
            raise ConfigError(f"lr={self.lr!r} is out of range; it must lie in (0, 1]")
        if isinstance(self.weight_decay, bool) or not (
            isinstance(self.weight_decay, (int, float)) and 0 <= self.weight_decay * self.lr < 1
        ):
            raise ConfigError(
                f"weight_decay={self.weight_decay!r} is out of range; need weight_decay >= 0 "
                "and lr * weight_decay < 1"
            )
        for name in ("beta1", "beta2"):
            if not 0 <= getattr(self, name) < 1:
                raise ConfigError(
                    f"{name}={getattr(self, name)} is out of range; it must lie in [0, 1)"
                )
        if self.grad_clip < 0 or self.eps <= 0:
            raise ConfigError("grad_clip must be >= 0 and eps > 0")
        if not 0 < self.grok_threshold <= 1:
            raise ConfigError(
                f"grok_threshold={self.grok_threshold} is out of range; it must lie in (0, 1]"
            )
        bad = [g for g in self.snapshot_groups + self.probe_groups if g not in SNAPSHOT_GROUPS]
        if bad:
            raise ConfigError(
                f"snapshot_groups/probe_groups: unknown group {bad[0]!r}; known groups: "
                f"{list(SNAPSHOT_GROUPS)}"
            )
        if not isinstance(self.compile_step, bool):
            raise ConfigError(f"compile_step={self.compile_step!r} must be true or false")
        if not (self.device == "cpu" or self.device.startswith("cuda")):
            raise ConfigError(f"device={self.device!r} is not supported; use 'cpu' or 'cuda'")

    @property
    def n_tasks(self) -> int:
        return len(self.ops)

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads

    @property
    def d_vocab(self) -> int:
        return self.p

    def to_dict(self) -> dict:
        """Every field, except fields added after cache schema 2 while they hold their default (so
        that adding a field leaves the keys of existing runs unchanged)."""
        d = {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}
        for name, default in LATE_FIELDS.items():
            if d[name] == default:
                del d[name]
        return d


def sweep(base: RunConfig, **axes) -> list[RunConfig]:
    """One config per combination of the listed field values (last axis varies fastest), e.g.
    sweep(base, ops=[("add",), ("sub",)], seed=[42, 137]) -> 4 configs."""
    unknown = [k for k in axes if k not in {f.name for f in dataclasses.fields(RunConfig)}]
    if unknown:
        raise ConfigError(f"sweep: unknown field {unknown[0]!r}")
    out = [base]
    for name, values in axes.items():
        out = [dataclasses.replace(c, **{name: v}) for c in out for v in values]
    return out


# Runs that may share one stacked training step differ only in these fields.
PER_RUN_FIELDS = (
    "seed",
    "ops",
    "train_frac",
    "shuffle_labels",
    "lr",
    "weight_decay",
    "decay_to_init",
)


def stack_key(cfg: RunConfig) -> tuple:
    """Everything that must agree for runs to be trained in one stacked step."""
    d = cfg.to_dict()
    return (len(cfg.ops),) + tuple(
        (k, json.dumps(v)) for k, v in sorted(d.items()) if k not in PER_RUN_FIELDS
    )


def _positive_int(cfg, *names):
    for n in names:
        v = getattr(cfg, n)
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ConfigError(f"{n}={v!r} is out of range; it must be an integer >= 1")


def _nonnegative_int(cfg, *names):
    for n in names:
        v = getattr(cfg, n)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ConfigError(f"{n}={v!r} is out of range; it must be an integer >= 0")
