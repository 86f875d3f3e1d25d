"""A shared run grid: one definition of the runs that several claims read, per profile.

A grid names the notebook parameters that decide its runs, with the paper's values and the smoke
profile's overrides. Every notebook that reads the grid declares those parameters with the paper's
values as defaults; `grokbook run` applies the grid's smoke overrides before the claim's own smoke
file, so the claims of a grid always ask for identical runs (a test checks it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

from grokbook.training.config import RunConfig

PROFILE_NAMES = ("smoke", "paper")


@dataclass(frozen=True)
class Grid:
    name: str  # "<paper>.<grid>", named in claims.yaml
    paper: Mapping  # parameter -> the paper's value (notebook defaults)
    smoke: Mapping  # parameter -> smoke-profile value (a subset of `paper`)
    build: Callable[..., list[RunConfig]]  # parameters -> the grid's run configs, in a fixed order
    claims: tuple[str, ...] = ()  # the claims that read this grid

    def __post_init__(self):
        extra = set(self.smoke) - set(self.paper)
        if extra:
            raise ValueError(
                f"grid {self.name}: smoke overrides {sorted(extra)} are not grid parameters"
            )

    def values(self, profile: str) -> dict:
        """The grid's parameters under a profile ("smoke" or "paper")."""
        if profile not in PROFILE_NAMES:
            raise ValueError(f"profile={profile!r}; choose one of {PROFILE_NAMES}")
        return {**self.paper, **(self.smoke if profile == "smoke" else {})}

    def pick(self, namespace: Mapping) -> dict:
        """The grid's parameters as a notebook holds them (its namespace after papermill's
        injection)."""
        missing = [k for k in self.paper if k not in namespace]
        if missing:
            raise KeyError(f"grid {self.name}: the notebook lacks the grid parameters {missing}")
        return {k: namespace[k] for k in self.paper}

    def configs(self, namespace: Mapping) -> list[RunConfig]:
        """The run configs of this grid for the values in `namespace` (a notebook's globals())."""
        return self.build(**self.pick(namespace))


PAPERS = ("power", "curvature", "multitask", "holographic", "spectral")


def all_grids() -> dict[str, Grid]:
    """Every shared grid of the book, by name (the `GRIDS` tuples of the paper packages'
    modules)."""
    import importlib
    import pkgutil

    found: dict[str, Grid] = {}
    for paper in PAPERS:
        package = importlib.import_module(f"grokbook.papers.{paper}")
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            for g in getattr(module, "GRIDS", ()):
                if g.name in found and found[g.name] is not g:
                    raise ValueError(f"two grids are named {g.name!r}")
                found[g.name] = g
    return found


def grid_of(claim_id: str) -> Grid | None:
    """The shared grid a claim reads, if any."""
    owners = [g for g in all_grids().values() if claim_id in g.claims]
    if len(owners) > 1:
        raise ValueError(f"{claim_id} is listed by several grids: {[g.name for g in owners]}")
    return owners[0] if owners else None
