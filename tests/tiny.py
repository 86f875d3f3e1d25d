"""The smallest run config the training tests use (p = 11, one 16-wide layer, 40 steps)."""
from grokbook.training.config import RunConfig

TINY = dict(p=11, ops=("add",), d_model=16, n_heads=2, d_ff=32, n_layers=1, batch_size=32, lr=3e-3,
            steps=40, eval_every=10, snapshot_every=10, stop_on_grok=False)


def tiny(**kw) -> RunConfig:
    """TINY with the given fields changed."""
    return RunConfig(**(TINY | kw))
