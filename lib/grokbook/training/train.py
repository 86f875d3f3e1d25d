"""The one training loop: R runs stacked along a leading dimension of θ, one optimiser step for all
of them.

Runs in a stack share shapes and schedule (`config.stack_key`) and may differ in seed, ops,
train_frac, lr, weight decay and decay target. Each run draws its split, its init and its batch
stream from generators seeded by its own seed, so run r of a stack follows the same trajectory as
when trained alone (up to float rounding of the batched matmuls).

Per step: batch of `batch_size` indices drawn with replacement -> summed per-task mean CE (float64)
-> gradient -> per-run global-norm clip -> optional gradient hook -> AdamW with per-run lr and λ.
The loop itself records evaluations and snapshots; other measurements during training (commutator
probes) are recorders (probes.py) that it calls at fixed points without knowing what they measure.
"""

from __future__ import annotations

import math
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch
from torch import Tensor

from grokbook.training.config import RunConfig, stack_key
from grokbook.training.model import forward, gather_group, init_theta, task_losses
from grokbook.training.probes import ProbeStream, Recorder, recorders_for
from grokbook.errors import ConfigError
from grokbook.training.tasks import make_split


@dataclass
class StackView:
    """What a hook sees of a stack: the shared config, θ [R, P] (edit in place to move the runs),
    the caller's index of every stacked row, and fresh probe batches (x [R, B, 2], y [R, B, T]) from
    the runs' probe generators (never the training stream)."""

    cfg: RunConfig
    theta: Tensor
    rows: Tensor
    probe_batch: Callable[[], tuple[Tensor, Tensor]]


# A hook intervenes in training. It carries a `key` string that says what it does (it enters the run
# cache key);
#   hook(step, grad [R, P], view)  edits the clipped gradient in place before the AdamW step;
#   hook.after_step(step, view)    (optional) edits view.theta in place after the AdamW step.
# A hook that treats every run on its own (through view.rows) and keeps no state that its caller
# reads after training may say so with `split_safe = True`: the `processes` training layout
# (layout.py) may then apply a pickled copy of it in each worker process, to that worker's runs.
GradHook = Callable[[int, Tensor, StackView], None]

EVAL_ROWS = 1 << 16  # examples x runs per evaluation chunk (bounds activation memory)
CHECKPOINT_EVERY_S = 120.0  # wall-clock interval between resumable checkpoints
CHECKPOINT_FORMAT = 2  # version of the checkpoint record written by _save_checkpoint
# (2: probe generators and commutator probes moved into the stack's probe stream and recorders)


class DeadlineReached(RuntimeError):
    """Raised by train_stack at the first evaluation after its deadline, once the stack's checkpoint
    is written: the same call later resumes from there."""


class CheckpointError(RuntimeError):
    """A checkpoint file that cannot be used for this stack; the message names the file and the
    reason."""


# Fixed id of every random stream of a run. The ids are the values an earlier name hash gave
# (sum of character codes * 7919 + length), kept so that every run's split, init and batches stay
# the same.
STREAMS = {"split": 4402969, "init": 3452688, "batches": 5780877, "probe": 4244589}


def derived_seed(seed: int, stream: str) -> int:
    """Independent seed for one random stream of a run (split, init, batches and probes never share
    one). `stream` must be a key of STREAMS."""
    if stream not in STREAMS:
        raise KeyError(f"unknown random stream {stream!r}; known streams: {sorted(STREAMS)}")
    return int(np.random.SeedSequence([seed, STREAMS[stream]]).generate_state(1)[0])


def first_sustained(
    steps: np.ndarray, values: np.ndarray, threshold: float, patience: int
) -> Optional[int]:
    """Step of the `patience`-th consecutive entry with value >= threshold (the papers' stop rule
    reports the step of the last of the consecutive evals); None if it never happens. steps/values
    [E]."""
    run = 0
    for s, v in zip(steps, values):
        run = run + 1 if v >= threshold else 0
        if run >= patience:
            return int(s)
    return None


@dataclass
class Run:
    """The recorded trajectory of one trained run."""

    config: RunConfig
    eval_steps: np.ndarray  # [E]
    train_acc: np.ndarray  # [E, T]
    test_acc: np.ndarray  # [E, T]
    train_loss: np.ndarray  # [E, T] float64 mean CE
    test_loss: np.ndarray  # [E, T]
    snapshot_steps: np.ndarray  # [S]
    snapshots: dict  # group -> [S, n_group] float32
    theta_init: np.ndarray  # [P]
    theta_final: np.ndarray  # [P]
    final_step: int
    env: dict = field(
        default_factory=dict
    )  # torch version, device, wall time of the stack, stack size
    probes: dict = field(default_factory=dict)
    # commutator probes (empty unless probe_every > 0; probes.CommutatorProbes): steps [Q]; defect,
    # delta_norm, grad_a_norm, grad_b_norm, cos_ab [Q, K]; align [Q] = mean_k |cos(θ_t − θ_prev,
    # over all P (NaN at the first probe); delta_<group> [Q, n_group] = the first sample's δ
    # restricted to that group.

    def grok_step(
        self, task: int = 0, threshold: Optional[float] = None, patience: Optional[int] = None
    ) -> Optional[int]:
        """Grok step of one task under the run's rule (or another threshold/patience); None if
        never."""
        return first_sustained(
            self.eval_steps,
            self.test_acc[:, task],
            self.config.grok_threshold if threshold is None else threshold,
            self.config.grok_patience if patience is None else patience,
        )

    def all_grok_step(self) -> Optional[int]:
        """Step at which the last task grokked under the run's rule; None unless every task did."""
        steps = [self.grok_step(t) for t in range(self.config.n_tasks)]
        return None if any(x is None for x in steps) else max(steps)

    def first_grok_step(self) -> Optional[int]:
        """Step at which the first task grokked under the run's rule; None if no task did."""
        steps = [
            x for x in (self.grok_step(t) for t in range(self.config.n_tasks)) if x is not None
        ]
        return min(steps) if steps else None

    @property
    def grokked(self) -> bool:
        """Every task grokked within the run's budget."""
        return self.all_grok_step() is not None

    def memorised_step(self, task: int = 0, threshold: float = 0.99) -> Optional[int]:
        """First eval with train accuracy >= threshold."""
        return first_sustained(self.eval_steps, self.train_acc[:, task], threshold, 1)


def _pad(tensors: list[Tensor]) -> Tensor:
    n = max(len(t) for t in tensors)
    out = tensors[0].new_zeros((len(tensors), n) + tuple(tensors[0].shape[1:]))
    for r, t in enumerate(tensors):
        out[r, : len(t)] = t
    return out


@torch.no_grad()
def evaluate(
    theta: Tensor, cfg: RunConfig, x: Tensor, y: Tensor, n_valid: Tensor
) -> tuple[Tensor, Tensor]:
    """Accuracy and mean CE (float64) of every run and task on a padded set.
    θ [R, P], x [R, N, 2], y [R, N, T], n_valid [R] -> ([R, T], [R, T])."""
    R, N = x.shape[:2]
    chunk = max(1, EVAL_ROWS // R)
    correct = torch.zeros(R, cfg.n_tasks, dtype=torch.float64, device=x.device)
    loss = torch.zeros_like(correct)
    for s in range(0, N, chunk):
        logits = forward(theta, cfg, x[:, s : s + chunk])  # [R, c, T, p]
        yc = y[:, s : s + chunk]
        valid = (torch.arange(s, s + yc.shape[1], device=x.device) < n_valid[:, None]).unsqueeze(
            -1
        )  # [R, c, 1]
        correct += ((logits.argmax(-1) == yc) & valid).sum(1)
        nll = -logits.double().log_softmax(-1).gather(-1, yc.unsqueeze(-1)).squeeze(-1)  # [R, c, T]
        loss += (nll * valid).sum(1)
    return correct / n_valid[:, None], loss / n_valid[:, None]


def run_split(cfg: RunConfig):
    """The train/test split a run with this config trained on (same seed stream as the trainer)."""
    return make_split(
        cfg.p, cfg.ops, cfg.train_frac, derived_seed(cfg.seed, "split"), cfg.shuffle_labels
    )


@torch.no_grad()
def accuracy_of(cfg: RunConfig, thetas, part: str = "test", batch: int = 16) -> np.ndarray:
    """Per-task accuracy of any parameter vectors on the run's own split ("test", "train" or "all").
    thetas [N, P] (numpy or torch, e.g. reconstructions of one run) -> [N, T] float64."""
    if part not in ("test", "train", "all"):
        raise ConfigError(f"part={part!r} is not known; use 'test', 'train' or 'all'")
    s = run_split(cfg)
    x = {"test": s.test_x, "train": s.train_x, "all": torch.cat([s.train_x, s.test_x])}[part]
    y = {"test": s.test_y, "train": s.train_y, "all": torch.cat([s.train_y, s.test_y])}[part]
    th = torch.as_tensor(
        np.asarray(thetas, dtype=np.float32) if not torch.is_tensor(thetas) else thetas
    )
    th = th.reshape(-1, th.shape[-1]).to(torch.float32).to(cfg.device)
    x, y = x.to(cfg.device), y.to(cfg.device)
    out = []
    for i in range(0, len(th), batch):
        t = th[i : i + batch]
        R = len(t)
        acc, _ = evaluate(
            t,
            cfg,
            x.expand(R, -1, -1),
            y.expand(R, -1, -1),
            torch.full((R,), len(x), device=x.device),
        )
        out.append(acc.cpu().numpy())
    return np.concatenate(out)


class _Stack:
    """Mutable state of a stacked training job (one object, so it can be checkpointed whole), with
    its probe stream and its recorders (probes.recorders_for). Runs that have stopped are dropped
    from the stacked tensors (`rows` lists the ones still training)."""

    def __init__(self, cfgs: list[RunConfig]):
        c0 = cfgs[0]
        dev = torch.device(c0.device)
        splits = [run_split(c) for c in cfgs]
        self.train_x = _pad([s.train_x for s in splits]).to(dev)
        self.train_y = _pad([s.train_y for s in splits]).to(dev)
        self.test_x = _pad([s.test_x for s in splits]).to(dev)
        self.test_y = _pad([s.test_y for s in splits]).to(dev)
        self.n_train = [len(s.train_x) for s in splits]
        self.n_train_t = torch.tensor(self.n_train, device=dev)
        self.n_test_t = torch.tensor([len(s.test_x) for s in splits], device=dev)
        theta0 = torch.stack([init_theta(c, derived_seed(c.seed, "init")) for c in cfgs])  # [R, P]
        self.theta_init = theta0.numpy().copy()
        self.theta = theta0.to(dev).requires_grad_(True)
        self.anchor = (
            theta0.to(dev) * torch.tensor([[float(c.decay_to_init)] for c in cfgs], device=dev)
            if any(c.decay_to_init for c in cfgs)
            else None
        )
        self.m = torch.zeros_like(self.theta, requires_grad=False)
        self.v = torch.zeros_like(self.m)
        self.lr = torch.tensor([[c.lr] for c in cfgs], device=dev)
        self.wd = torch.tensor([[c.weight_decay] for c in cfgs], device=dev)
        self.gens = [torch.Generator().manual_seed(derived_seed(c.seed, "batches")) for c in cfgs]
        self.probe_stream = ProbeStream([derived_seed(c.seed, "probe") for c in cfgs])
        self.recorders: list[Recorder] = recorders_for(cfgs)
        self.rows = list(range(len(cfgs)))  # original index of every stacked row
        self.step = 0
        R, T = len(cfgs), c0.n_tasks
        self.hist = [
            {k: [] for k in ("eval_steps", "train_acc", "test_acc", "train_loss", "test_loss")}
            for _ in range(R)
        ]
        self.snap_steps: list[list[int]] = [[] for _ in range(R)]
        self.snaps: list[dict[str, list]] = [{g: [] for g in c0.snapshot_groups} for _ in range(R)]
        self.snap_interval = c0.snapshot_every  # doubles whenever a run reaches snapshot_cap
        self.streak = np.zeros((R, T), dtype=int)  # consecutive evals above the grok threshold
        self.grokked = np.zeros((R, T), dtype=bool)
        self.stop_at: list[Optional[int]] = [None] * R  # step at which each run stops
        self.final: list[Optional[np.ndarray]] = [None] * R
        self.wall = 0.0

    _STACKED = (
        "train_x",
        "train_y",
        "test_x",
        "test_y",
        "n_train_t",
        "n_test_t",
        "anchor",
        "m",
        "v",
        "lr",
        "wd",
    )

    def compact(self) -> None:
        """Drop the rows of runs that have stopped."""
        keep = [i for i, r in enumerate(self.rows) if self.final[r] is None]
        if len(keep) == len(self.rows) or not keep:
            return
        k = torch.tensor(keep, device=self.theta.device)
        for name in self._STACKED:
            t = getattr(self, name)
            if t is not None:
                setattr(self, name, t.index_select(0, k))
        self.theta = self.theta.detach().index_select(0, k).requires_grad_(True)
        self.gens = [self.gens[i] for i in keep]
        self.probe_stream.compact(keep)
        for rec in self.recorders:
            rec.compact(keep)
        self.n_train = [self.n_train[i] for i in keep]
        self.rows = [self.rows[i] for i in keep]

    def state(self) -> dict:
        d = {
            k: v for k, v in self.__dict__.items() if k not in ("gens", "probe_stream", "recorders")
        }
        d["gens"] = [g.get_state() for g in self.gens]
        d["probe_stream"] = self.probe_stream.state()
        d["recorders"] = {rec.name: rec.state() for rec in self.recorders}
        return d

    def load(self, d: dict) -> None:
        missing = sorted(set(self.__dict__) - set(d))
        if missing:
            raise CheckpointError(f"fields missing from the stack state: {missing}")
        d = dict(d)
        gens = [torch.Generator() for _ in d["gens"]]
        for g, s in zip(gens, d.pop("gens")):
            g.set_state(s.cpu())
        self.gens = gens
        self.probe_stream.load(d.pop("probe_stream"))
        states = d.pop("recorders")
        if sorted(states) != sorted(rec.name for rec in self.recorders):
            raise CheckpointError(
                f"recorders {sorted(states)} in the stack state, expected "
                f"{sorted(rec.name for rec in self.recorders)}"
            )
        for rec in self.recorders:
            rec.load(states[rec.name])
        self.__dict__.update(d)


def _adamw(
    th: Tensor,
    m: Tensor,
    v: Tensor,
    grad: Tensor,
    lr: Tensor,
    wd: Tensor,
    anchor: Optional[Tensor],
    bc1,
    sqrt_bc2,
    beta1: float,
    beta2: float,
    eps: float,
) -> None:
    """AdamW on the stacked θ with per-run lr and λ, in place (same arithmetic as
    torch.optim.AdamW). bc1 = 1 - β1^t and sqrt_bc2 = √(1 - β2^t) are Python floats (eager) or 0-d
    tensors (compiled).
    """
    if anchor is None:
        th.mul_(1 - lr * wd)
    else:
        th.sub_(lr * wd * (th - anchor))
    m.lerp_(grad, 1 - beta1)
    v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    denom = (v.sqrt() / sqrt_bc2).add_(eps)
    th.sub_(m / denom * (lr / bc1))


def _batch_loss(theta: Tensor, c: RunConfig, X: Tensor, Y: Tensor, i: Tensor) -> Tensor:
    """Summed per-task loss of every run on its batch rows i [R, B] of (X [R, N, 2], Y [R, N,
    T])."""
    R, B = i.shape
    xb = torch.gather(X, 1, i.unsqueeze(-1).expand(R, B, 2))
    yb = torch.gather(Y, 1, i.unsqueeze(-1).expand(R, B, c.n_tasks))
    return task_losses(forward(theta, c, xb), yb).sum()


class _Step:
    """The two pieces of a training step: the loss (autograd takes its gradient) and the AdamW
    update. With `compile_step` both go through torch.compile, and the update takes the step count
    as a device tensor so that no argument changes value between calls (no recompilation, no
    host-device synchronisation).
    """

    def __init__(self, c: RunConfig):
        self.c, self.loss = c, _batch_loss
        if (
            c.compile_step
        ):  # each new stack shape compiles these two functions once more; a run must
            import torch._dynamo.config as dynamo  # never fall back to eager silently

            dynamo.recompile_limit = max(dynamo.recompile_limit, 64)
            dynamo.fail_on_recompile_limit_hit = True
            self.loss = torch.compile(_batch_loss)
            self._compiled_update = torch.compile(self._update_at)
            self.t = torch.zeros((), dtype=torch.float64, device=c.device)

    def __call__(self, theta: Tensor, X: Tensor, Y: Tensor, i: Tensor) -> Tensor:
        return self.loss(theta, self.c, X, Y, i)

    def _update_at(self, th, m, v, grad, lr, wd, anchor, t: Tensor) -> None:
        c = self.c
        _adamw(
            th,
            m,
            v,
            grad,
            lr,
            wd,
            anchor,
            1 - c.beta1**t,
            (1 - c.beta2**t).sqrt(),
            c.beta1,
            c.beta2,
            c.eps,
        )

    def update(self, S: "_Stack", grad: Tensor) -> None:
        c, t = self.c, S.step + 1
        if c.compile_step:
            self.t.fill_(t)
            self._compiled_update(S.theta.data, S.m, S.v, grad, S.lr, S.wd, S.anchor, self.t)
        else:
            _adamw(
                S.theta.data,
                S.m,
                S.v,
                grad,
                S.lr,
                S.wd,
                S.anchor,
                1 - c.beta1**t,
                math.sqrt(1 - c.beta2**t),
                c.beta1,
                c.beta2,
                c.eps,
            )


def _record_snapshot(S: _Stack, c: RunConfig) -> None:
    groups = {
        g: gather_group(S.theta.detach(), c, g).to("cpu", copy=True) for g in c.snapshot_groups
    }
    live = [r for r in S.rows if S.final[r] is None]
    for i, r in enumerate(S.rows):
        if S.final[r] is None:
            S.snap_steps[r].append(S.step)
            for g, x in groups.items():
                S.snaps[r][g].append(x[i])
    if c.snapshot_cap and live and len(S.snap_steps[live[0]]) >= c.snapshot_cap:
        for r in live:  # every live run holds the same steps: thin them alike
            S.snap_steps[r] = S.snap_steps[r][::2]
            S.snaps[r] = {g: x[::2] for g, x in S.snaps[r].items()}
        S.snap_interval *= 2


def _record_eval(S: _Stack, c: RunConfig) -> None:
    tr_acc, tr_loss = evaluate(S.theta.detach(), c, S.train_x, S.train_y, S.n_train_t)
    te_acc, te_loss = evaluate(S.theta.detach(), c, S.test_x, S.test_y, S.n_test_t)
    vals = dict(
        zip(
            ("train_acc", "test_acc", "train_loss", "test_loss"),
            (x.cpu().numpy() for x in (tr_acc, te_acc, tr_loss, te_loss)),
        )
    )
    for i, r in enumerate(S.rows):
        if S.final[r] is not None:
            continue
        S.hist[r]["eval_steps"].append(S.step)
        for k, v in vals.items():
            S.hist[r][k].append(v[i])
        above = vals["test_acc"][i] >= c.grok_threshold
        S.streak[r] = np.where(above, S.streak[r] + 1, 0)
        S.grokked[r] |= S.streak[r] >= c.grok_patience
        if c.stop_on_grok and S.stop_at[r] is None and S.grokked[r].all():
            S.stop_at[r] = S.step + c.tail_steps


def _freeze_stopped(S: _Stack) -> None:
    """Keep the final θ of runs whose stop step is now and stop their updates (lr = λ = 0) until the
    next compaction drops them."""
    for i, r in enumerate(S.rows):
        if S.stop_at[r] == S.step and S.final[r] is None:
            S.final[r] = S.theta[i].detach().cpu().numpy().copy()
            S.lr[i] = 0.0
            S.wd[i] = 0.0


def _save_checkpoint(S: _Stack, cfgs: list[RunConfig], path: Path) -> None:
    """Write the checkpoint record atomically: format version, the stack's configs, step, stack
    state."""
    record = {
        "format": CHECKPOINT_FORMAT,
        "configs": [c.to_dict() for c in cfgs],
        "step": S.step,
        "state": S.state(),
    }
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    torch.save(record, tmp)
    os.replace(tmp, path)


def _load_checkpoint(S: _Stack, cfgs: list[RunConfig], path: Path, device: str) -> None:
    """Restore S from the checkpoint record at `path`; raises CheckpointError naming the file and
    what failed (unreadable, another format, another stack, incomplete state)."""
    try:
        record = torch.load(path, weights_only=False, map_location=device)
    except Exception as e:
        raise CheckpointError(f"{path}: unreadable ({type(e).__name__}: {e})") from e
    if not isinstance(record, dict):
        raise CheckpointError(f"{path}: not a checkpoint record ({type(record).__name__})")
    if "format" not in record and "theta" in record:  # written before the record had a header
        record = {"format": 1, "configs": None, "state": record}
    if record.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"{path}: checkpoint format {record.get('format')!r}, " f"expected {CHECKPOINT_FORMAT}"
        )
    if record["configs"] is not None and record["configs"] != [c.to_dict() for c in cfgs]:
        raise CheckpointError(f"{path}: written for another stack of runs (configs differ)")
    try:
        S.load(record["state"])
    except CheckpointError as e:
        raise CheckpointError(f"{path}: {e}") from None
    except Exception as e:
        raise CheckpointError(f"{path}: cannot restore the stack ({type(e).__name__}: {e})") from e


def train_stack(
    cfgs: list[RunConfig],
    grad_hook: Optional[GradHook] = None,
    rows: Optional[list[int]] = None,
    checkpoint: Optional[Path] = None,
    progress: bool = True,
    deadline: Optional[float] = None,
    report: Optional[Callable[[int, int, int], None]] = None,
) -> list[Run]:
    """Train the runs `cfgs` in one stack; returns one Run per config, in order.
    `checkpoint`: file for resumable state (loaded if present, written every CHECKPOINT_EVERY_S). A
    checkpoint that cannot be used is reported with a warning naming the file and the reason, and
    training starts over. `deadline` (a time.time() value): at the first evaluation after it, write
    the checkpoint and raise DeadlineReached. `report(step, runs grokked, runs still training)` is
    called after every block of steps up to an evaluation (a worker process sends it to the process
    that shows the progress bar)."""
    if not cfgs:
        return []
    c = cfgs[0]
    if any(stack_key(x) != stack_key(c) for x in cfgs):
        raise ConfigError(
            "runs in one stack must share shapes and schedule; they may differ only in "
            "seed, ops, train_frac, shuffle_labels, lr, weight_decay, decay_to_init"
        )
    if c.device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(
            f"device={c.device!r} but CUDA is not available on this machine; use device='cpu'"
        )
    S = _Stack(cfgs)
    caller_rows = list(rows) if rows is not None else list(range(len(cfgs)))
    after_step = getattr(grad_hook, "after_step", None)
    if checkpoint is not None and checkpoint.exists():
        try:
            _load_checkpoint(S, cfgs, checkpoint, c.device)
        except CheckpointError as e:  # start over rather than trust it, and say so
            import warnings

            warnings.warn(f"checkpoint not used: {e}; training from step 0")
            S = _Stack(cfgs)
    if S.step == 0 and not S.hist[0]["eval_steps"]:
        _record_snapshot(S, c)
        _record_eval(S, c)
        for rec in S.recorders:
            rec.start(S)
    t0, last_ckpt = time.perf_counter() - S.wall, time.perf_counter()
    bar = _progress(c, len(cfgs), S.step, progress)
    B, step = c.batch_size, _Step(c)
    while S.step < c.steps and any(f is None for f in S.final):
        S.compact()
        view = StackView(
            c,
            S.theta.detach(),
            torch.tensor([caller_rows[r] for r in S.rows], device=S.theta.device),
            lambda: S.probe_stream.batch(S, c),
        )
        K = min(c.eval_every - S.step % c.eval_every, c.steps - S.step)
        idx = torch.stack(
            [torch.randint(n, (K, B), generator=g) for n, g in zip(S.n_train, S.gens)], dim=1
        )
        idx = idx.to(S.theta.device, non_blocking=True)  # [K, R, B]: idx[k] is contiguous
        for k in range(K):
            (grad,) = torch.autograd.grad(step(S.theta, S.train_x, S.train_y, idx[k]), S.theta)
            with torch.no_grad():
                if c.grad_clip > 0:
                    norm = grad.norm(dim=1, keepdim=True)
                    grad.mul_((c.grad_clip / (norm + 1e-6)).clamp_(max=1.0))
                if grad_hook is not None:
                    grad_hook(S.step, grad, view)
                step.update(S, grad)
                if after_step is not None:
                    after_step(S.step, view)
            S.step += 1
            if S.step % S.snap_interval == 0:
                _record_snapshot(S, c)
            for rec in S.recorders:
                rec.after_step(S)
            _freeze_stopped(S)
        if S.step % c.eval_every == 0 or S.step == c.steps:
            _record_eval(S, c)
            _freeze_stopped(S)
        S.wall = time.perf_counter() - t0
        if bar is not None:
            bar.update(K)
            bar.set_postfix_str(
                f"grokked {int(S.grokked.all(1).sum())}/{len(cfgs)}, training {len(S.rows)}"
            )
        if report is not None:
            report(S.step, int(S.grokked.all(1).sum()), len(S.rows))
        late = deadline is not None and time.time() >= deadline
        if checkpoint is not None and (
            late or time.perf_counter() - last_ckpt > CHECKPOINT_EVERY_S
        ):
            _save_checkpoint(S, cfgs, checkpoint)
            last_ckpt = time.perf_counter()
        if late and S.step < c.steps and any(f is None for f in S.final):
            if bar is not None:
                bar.close()
            where = f"checkpoint {checkpoint}" if checkpoint is not None else "no checkpoint"
            raise DeadlineReached(f"deadline reached at step {S.step} of {c.steps} ({where})")
    if bar is not None:
        bar.close()
    for i, r in enumerate(S.rows):  # runs that trained to the budget
        if S.final[r] is None:
            S.final[r] = S.theta[i].detach().cpu().numpy().copy()
            S.stop_at[r] = S.step
    return _collect(S, cfgs)


def _progress(c: RunConfig, R: int, start: int, show: bool):
    if not show:
        return None
    from tqdm import tqdm

    return tqdm(
        total=c.steps,
        initial=start,
        desc=f"train {R} run(s) p={c.p} d={c.d_model} L={c.n_layers}",
        unit="step",
        mininterval=10.0,
    )


def _collect(S: _Stack, cfgs: list[RunConfig]) -> list[Run]:
    env = {
        "torch": torch.__version__,
        "device": cfgs[0].device,
        "python": platform.python_version(),
        "device_name": (
            torch.cuda.get_device_name()
            if cfgs[0].device.startswith("cuda")
            else platform.processor()
        ),
        "stack_size": len(cfgs),
        "threads": torch.get_num_threads(),
        "stack_wall_s": round(S.wall, 3),
        "dtype": "float32",
    }
    runs = []
    for r, c in enumerate(cfgs):
        h, fields = S.hist[r], {}
        for rec in S.recorders:
            fields.setdefault(rec.field, {}).update(rec.collect(r))
        runs.append(
            Run(
                config=c,
                eval_steps=np.array(h["eval_steps"]),
                **{k: np.stack(h[k]) for k in ("train_acc", "test_acc", "train_loss", "test_loss")},
                snapshot_steps=np.array(S.snap_steps[r]),
                snapshots={g: torch.stack(x).numpy() for g, x in S.snaps[r].items()},
                theta_init=S.theta_init[r],
                theta_final=S.final[r],
                final_step=int(S.stop_at[r]),
                env=dict(env),
                **fields,
            )
        )
    return runs
