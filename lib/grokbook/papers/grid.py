"""A shared run grid: one definition of the runs that several claims read, per profile.

A grid names the notebook parameters that decide its runs, with the paper's values and the
overrides of the two lighter profiles: `smoke` (a small CPU model) and `reduced` (the paper's model,
task and optimiser, reduced only in breadth: fewer grid points, capped budgets for runs that are not
expected to grok; None where the grid's point is its breadth). Every notebook that reads the grid
declares those parameters with the paper's values as defaults; `grokbook run` applies the grid's
values for the profile before the claim's own profile file, so the claims of a grid always ask for
identical runs (a test checks it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Mapping, Optional, Sequence

from grokbook.training.config import RunConfig

if TYPE_CHECKING:
    from grokbook.training.train import Run

PROFILE_NAMES = ("smoke", "reduced", "paper")


@dataclass(frozen=True)
class Grid:
    name: str  # "<paper>.<grid>", named in claims.yaml
    paper: Mapping  # parameter -> the paper's value (notebook defaults)
    smoke: Mapping  # parameter -> smoke-profile value (a subset of `paper`)
    build: Callable[..., list[RunConfig]]  # parameters -> the grid's run configs, in a fixed order
    claims: tuple[str, ...] = ()  # the claims that read this grid
    reduced: Optional[Mapping] = None  # parameter -> reduced-profile value; None: no such profile
    why: Mapping = field(default_factory=dict)  # parameter -> why the reduced value is enough
    # claim -> why it has no reduced profile although its grid has one (its point is the breadth
    # the reduced grid drops, or its own runs cost more than a reduced sitting)
    no_reduced: Mapping = field(default_factory=dict)

    def __post_init__(self):
        for profile, over in (("smoke", self.smoke), ("reduced", self.reduced or {})):
            extra = set(over) - set(self.paper)
            if extra:
                raise ValueError(
                    f"grid {self.name}: {profile} overrides {sorted(extra)} are not grid "
                    "parameters"
                )
        unexplained = set(self.reduced or {}) - set(self.why)
        if unexplained:
            raise ValueError(f"grid {self.name}: reductions {sorted(unexplained)} lack a `why`")
        strangers = set(self.no_reduced) - set(self.claims)
        if strangers:
            raise ValueError(
                f"grid {self.name}: no_reduced names {sorted(strangers)}, which do "
                "not read this grid"
            )

    def values(self, profile: str) -> dict:
        """The grid's parameters under a profile ("smoke", "reduced" or "paper")."""
        if profile not in PROFILE_NAMES:
            raise ValueError(f"profile={profile!r}; choose one of {PROFILE_NAMES}")
        if profile == "reduced" and self.reduced is None:
            raise ValueError(f"grid {self.name} has no reduced profile")
        over = {"smoke": self.smoke, "reduced": self.reduced or {}, "paper": {}}[profile]
        return {**self.paper, **over}

    def reductions(self) -> list[str]:
        """The reduced profile's departures from the paper, one sentence each."""
        return [
            f"{k}: {short_value(self.paper[k], k)} → {short_value(v, k)} ({self.why[k]})"
            for k, v in (self.reduced or {}).items()
        ]

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

    def at_paper_configuration(self, values: Mapping) -> bool:
        """Whether a notebook's values keep the grid at the paper's configuration: every grid
        parameter at the paper's value except those of breadth (seeds, task sets, device and
        whatever the reduced profile shrinks: λ values, control seeds and budgets)."""
        breadth = {"seeds", "task_sets", "device", *(self.reduced or {})}
        return all(values[k] == v for k, v in self.paper.items() if k not in breadth)


@dataclass(frozen=True)
class GridRun:
    """One run of a grid with the coordinates it was trained at (`task_set` holds the task set of a
    multitask grid, or the operation of a single-task one)."""

    task_set: str
    weight_decay: float
    seed: int
    run: Run

    @property
    def ops(self) -> tuple[str, ...]:
        return self.run.config.ops

    def grok_steps(self) -> dict[str, int | None]:
        """Grok step of every task under the run's rule (None = not within the budget)."""
        return {op: self.run.grok_step(t) for t, op in enumerate(self.ops)}

    @property
    def is_control(self) -> bool:
        return self.weight_decay == 0.0


def select(
    grid: Sequence[GridRun],
    task_set: str | None = None,
    weight_decay: float | None = None,
    controls: bool | None = None,
) -> list[GridRun]:
    """The grid runs matching the given coordinates (None = any)."""
    return [
        g
        for g in grid
        if (task_set is None or g.task_set == task_set)
        and (weight_decay is None or g.weight_decay == weight_decay)
        and (controls is None or g.is_control == controls)
    ]


def short_value(value, name: str = "") -> str:
    """A parameter value as a page shows it: counts with thousands separators, seeds (a `name`
    with "seed" in it) without."""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(short_value(v, name) for v in value) + "]"
    count = isinstance(value, int) and not isinstance(value, bool) and "seed" not in name
    return f"{value:,}" if count else str(value)


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
