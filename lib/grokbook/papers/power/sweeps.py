"""The run lists of the fraction-sweep claims of Power et al. 2022 (Fig. 2): optimiser variants and
operations, each over training fractions and seeds; every list is trained as one stacked job and
cached."""
from __future__ import annotations

import dataclasses
from typing import Mapping, Sequence

from grokbook.errors import ConfigError
from grokbook.training.config import RunConfig, sweep
from grokbook.training.train import Run


def variant_runs(base: RunConfig, variants: Mapping[str, Mapping], *, lr: float,
                 fractions: Sequence[float], seeds: Sequence[int]) -> dict[str, list[Run]]:
    """Variant name -> its runs over fractions × seeds. A variant is {"lr_scale", "weight_decay",
    "to_init"}: the learning rate lr·lr_scale, decoupled λ, and whether λ pulls towards θ₀, not 0.
    Ref: Power et al. 2022 §3.3, Fig. 2 left (variants 2, 5, 6, 7, 8)."""
    from grokbook.training.cache import load_or_train
    bad = [n for n, v in variants.items() if set(v) != {"lr_scale", "weight_decay", "to_init"}]
    if bad:
        raise ConfigError(f"variants {bad}: each needs exactly lr_scale, weight_decay and to_init")
    cfgs = {}
    for name, v in variants.items():
        c = dataclasses.replace(base, lr=lr * v["lr_scale"], weight_decay=v["weight_decay"],
                                decay_to_init=v["to_init"])
        cfgs[name] = sweep(c, train_frac=sorted(fractions), seed=seeds)
    flat = [(name, c) for name, cs in cfgs.items() for c in cs]
    trained = load_or_train([c for _, c in flat])
    return {name: [r for (n, _), r in zip(flat, trained) if n == name] for name in variants}


def operation_runs(base: RunConfig, ops: Sequence[str], *, fractions: Sequence[float],
                   seeds: Sequence[int], isomorphism_check: bool) -> tuple[list[Run], list[Run]]:
    """(runs of ops × fractions × seeds, runs of x+y mod (p − 1) at the same fractions and seeds if
    `isomorphism_check`). Ref: Power et al. 2022 §3.2, Fig. 2 right."""
    from grokbook.training.cache import load_or_train
    cfgs = sweep(base, ops=[(o,) for o in ops], train_frac=sorted(fractions), seed=seeds)
    iso = []                     # x+y mod (p − 1): a separate stack (another modulus)
    if isomorphism_check:
        iso = sweep(dataclasses.replace(base, p=base.p - 1), ops=[("add",)],
                    train_frac=sorted(fractions), seed=seeds)
    trained = load_or_train(cfgs + iso)
    return trained[:len(cfgs)], trained[len(cfgs):]
