"""The smallest run config the training tests use (p = 11, one 16-wide layer, 40 steps), and a
stack trained until an interruption leaves its checkpoint behind."""
from grokbook.training.config import RunConfig

TINY = dict(p=11, ops=("add",), d_model=16, n_heads=2, d_ff=32, n_layers=1, batch_size=32, lr=3e-3,
            steps=40, eval_every=10, snapshot_every=10, stop_on_grok=False)


def tiny(**kw) -> RunConfig:
    """TINY with the given fields changed."""
    return RunConfig(**(TINY | kw))


def fit(cfgs, **kw):
    """Train the configs as one stack, without a progress bar."""
    from grokbook.training.train import train_stack

    return train_stack(list(cfgs), progress=False, **kw)


class Interrupt(Exception):
    """Raised by a hook to stop training part-way, as a crash would."""


def interrupt_at(step: int, cfgs, checkpoint, **kw) -> None:
    """Train the stack and interrupt it at `step`, leaving its last checkpoint in `checkpoint`."""

    def crash(s, grad, view):
        if s == step:
            raise Interrupt

    try:
        fit(cfgs, grad_hook=crash, checkpoint=checkpoint, **kw)
    except Interrupt:
        return
    raise AssertionError(f"training finished before step {step}")
