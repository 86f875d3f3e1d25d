"""Modular-arithmetic tasks of the five papers: operations, input domains and seeded train/test
splits.

Every residue 0..p-1 is its own token; an example is the pair [a, b] and one label per task.
Ref: Power et al. 2022, Appendix A.1.1 (operations); Xu 2026a (2-token encoder, mul on nonzero
pairs); Xu 2026b (one shared split, zero excluded for every task).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from grokbook.errors import ConfigError
import numpy as np
import torch
from torch import Tensor


def is_prime(n: int) -> bool:
    if n < 2:
        return False
    return all(n % k for k in range(2, int(n**0.5) + 1))


def _inverse_table(p: int) -> np.ndarray:
    inv = np.zeros(p, dtype=np.int64)
    inv[1:] = [pow(int(b), p - 2, p) for b in range(1, p)]  # Fermat: b^(p-2) = b^-1 mod prime p
    return inv


def _div(a, b, p):
    return a * _inverse_table(p)[b] % p


def _div_odd(a, b, p):
    return np.where(b % 2 == 1, _div(a, b, p), (a - b) % p)


@dataclass(frozen=True)
class Op:
    formula: str  # human-readable, for tables and figure titles
    fn: Callable  # (a, b, p) on int64 arrays -> labels in 0..p-1
    needs_field: bool = False  # uses inverses or the multiplicative group: p must be prime
    nonzero_a: bool = False  # domain excludes a = 0
    nonzero_b: bool = False  # domain excludes b = 0
    symmetric: bool = False  # f(a, b) = f(b, a)


OPS: dict[str, Op] = {
    "add": Op("a + b", lambda a, b, p: (a + b) % p, symmetric=True),
    "sub": Op("a − b", lambda a, b, p: (a - b) % p),
    "mul": Op(
        "a · b",
        lambda a, b, p: a * b % p,
        needs_field=True,
        nonzero_a=True,
        nonzero_b=True,
        symmetric=True,
    ),
    "div": Op("a / b", _div, needs_field=True, nonzero_b=True),
    "div_odd": Op("a / b if b odd else a − b", _div_odd, needs_field=True, nonzero_b=True),
    "x2_y2": Op("a² + b²", lambda a, b, p: (a * a + b * b) % p, symmetric=True),
    "x2_xy_y2": Op("a² + ab + b²", lambda a, b, p: (a * a + a * b + b * b) % p, symmetric=True),
    "x2_xy_y2_x": Op("a² + ab + b² + a", lambda a, b, p: (a * a + a * b + b * b + a) % p),
    "x3_xy": Op("a³ + ab", lambda a, b, p: (a**3 + a * b) % p),
    "x3_xy2_y": Op("a³ + ab² + b", lambda a, b, p: (a**3 + a * b * b + b) % p),
}

TASK_SETS: dict[str, tuple[str, ...]] = {  # the multitask papers' shared-trunk task sets
    "dual": ("add", "mul"),
    "tri": ("add", "mul", "x2_y2"),
}


BYTES_PER_PAIR = 256  # every pair is held as inputs, labels and activations of a full evaluation


def max_modulus() -> int:
    """The largest p whose p² pairs fit this machine's memory (BYTES_PER_PAIR bytes a pair)."""
    import os

    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return int((memory / BYTES_PER_PAIR) ** 0.5)


def check_task(p: int, ops: tuple[str, ...]) -> None:
    """Raise ConfigError unless (p, ops) names a valid task that fits this machine."""
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)):
        raise ConfigError(f"p={p!r} is not an integer; p must be an integer >= 3")
    if p < 3:
        raise ConfigError(f"p={p} is out of range; p must be an integer >= 3 (a prime for mul/div)")
    if p > max_modulus():
        raise ConfigError(
            f"p={p} is out of range: its {p * p:,} pairs do not fit this machine's "
            f"memory; p must be at most {max_modulus():,} here"
        )
    if isinstance(ops, str) or not ops:
        raise ConfigError(
            f"ops={ops!r} must be a non-empty list of operation names from {sorted(OPS)}"
        )
    unknown = [o for o in ops if o not in OPS]
    if unknown:
        raise ConfigError(f"ops: unknown operation {unknown[0]!r}; known operations: {sorted(OPS)}")
    if len(set(ops)) != len(ops):
        raise ConfigError(f"ops={list(ops)} lists an operation twice")
    field_ops = [o for o in ops if OPS[o].needs_field]
    if field_ops and not is_prime(int(p)):
        raise ConfigError(
            f"p={p} is not prime, but ops {field_ops} need a field: choose a prime p >= 3"
        )


def domain_pairs(p: int, ops: tuple[str, ...]) -> Tensor:
    """All (a, b) pairs allowed by every op, in lexicographic (a-major) order. -> [N, 2] int64."""
    check_task(p, ops)
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    keep = np.ones_like(a, dtype=bool)
    if any(OPS[o].nonzero_a for o in ops):
        keep &= a != 0
    if any(OPS[o].nonzero_b for o in ops):
        keep &= b != 0
    return torch.from_numpy(np.stack([a[keep], b[keep]], axis=1))


def labels(pairs: Tensor, p: int, ops: tuple[str, ...]) -> Tensor:
    """Answer of every op for every pair. [N, 2] -> [N, n_tasks] int64."""
    a, b = pairs[:, 0].numpy(), pairs[:, 1].numpy()
    return torch.from_numpy(np.stack([OPS[o].fn(a, b, p) for o in ops], axis=1).astype(np.int64))


def split_sizes(n_pairs: int, train_frac: float) -> tuple[int, int]:
    n_train = int(train_frac * n_pairs)  # int(), as the papers' code does
    return n_train, n_pairs - n_train


def check_split(n_pairs: int, train_frac: float) -> None:
    if (
        isinstance(train_frac, bool)
        or not isinstance(train_frac, (int, float))
        or not 0 < train_frac < 1
    ):
        raise ConfigError(
            f"train_frac={train_frac!r} is out of range; it must lie strictly between 0 and 1"
        )
    n_train, n_test = split_sizes(n_pairs, train_frac)
    if n_train < 1 or n_test < 1:
        raise ConfigError(
            f"train_frac={train_frac} leaves {n_train} train / {n_test} test pairs of {n_pairs}; "
            "both sets need at least one pair"
        )


@dataclass(frozen=True)
class Split:
    train_x: Tensor  # [N_train, 2] int64
    train_y: Tensor  # [N_train, n_tasks]
    test_x: Tensor  # [N_test, 2]
    test_y: Tensor  # [N_test, n_tasks]


def make_split(
    p: int, ops: tuple[str, ...], train_frac: float, seed: int, shuffle_labels: bool = False
) -> Split:
    """Seeded random split of the task's pairs; all tasks share it. Optionally permute the train
    labels (a control that keeps the label marginals but destroys the rule)."""
    pairs = domain_pairs(p, ops)
    check_split(len(pairs), train_frac)
    y = labels(pairs, p, ops)
    g = torch.Generator().manual_seed(seed)  # local RNG: global state untouched
    perm = torch.randperm(len(pairs), generator=g)
    n_train, _ = split_sizes(len(pairs), train_frac)
    tr, te = perm[:n_train], perm[n_train:]
    train_y = y[tr]
    if shuffle_labels:
        train_y = train_y[torch.randperm(n_train, generator=g)]
    return Split(pairs[tr], train_y, pairs[te], y[te])
