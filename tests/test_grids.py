"""The shared run grids of the multitask and spectral notebooks: which configs they build, in which
order."""

import pytest

from grokbook.papers.grid import GridRun, select
from grokbook.papers.multitask import grids as multitask
from grokbook.papers.spectral import grids as spectral_runs
from grokbook.errors import ConfigError

SHARED = dict(
    p=11, d_model=16, n_heads=2, d_ff=32, n_layers=1, steps=50, eval_every=10, snapshot_every=10
)


def test_multitask_grid_has_every_task_set_decay_and_seed_plus_the_controls():
    pts = multitask.grid_configs(
        task_sets=["dual", "tri"],
        weight_decays=[0.5, 1.0],
        seeds=[1, 2],
        control_weight_decay=0.0,
        control_seeds=[1],
        control_steps=20,
        **SHARED,
    )
    assert [(t, w, s) for t, w, s, _ in pts] == [
        ("dual", 0.5, 1),
        ("dual", 0.5, 2),
        ("dual", 1.0, 1),
        ("dual", 1.0, 2),
        ("dual", 0.0, 1),
        ("tri", 0.5, 1),
        ("tri", 0.5, 2),
        ("tri", 1.0, 1),
        ("tri", 1.0, 2),
        ("tri", 0.0, 1),
    ]
    cfgs = {(t, w, s): c for t, w, s, c in pts}
    assert cfgs[("tri", 1.0, 2)].ops == ("add", "mul", "x2_y2") and cfgs[("dual", 0.5, 1)].ops == (
        "add",
        "mul",
    )
    assert cfgs[("dual", 0.0, 1)].steps == 20 and cfgs[("dual", 1.0, 1)].steps == 50
    assert cfgs[("tri", 0.5, 2)].weight_decay == 0.5 and cfgs[("tri", 0.5, 2)].p == 11


def test_multitask_grid_rejects_unknown_task_sets_and_empty_seeds():
    kw = dict(
        weight_decays=[1.0], control_weight_decay=0.0, control_seeds=[], control_steps=20, **SHARED
    )
    with pytest.raises(ConfigError, match="unknown task set 'quad'"):
        multitask.grid_configs(task_sets=["quad"], seeds=[1], **kw)
    with pytest.raises(ConfigError, match="seeds is empty"):
        multitask.grid_configs(task_sets=["dual"], seeds=[], **kw)


def test_spectral_grid_stores_full_theta_and_gives_controls_their_own_budget():
    pts = spectral_runs.grid_configs(
        ops=["add", "mul"],
        seeds=[3],
        weight_decay=1.0,
        control_ops=["add"],
        control_seeds=[3, 4],
        control_weight_decay=0.0,
        control_steps=30,
        regime_ops=["x3_xy"],
        regime_steps=40,
        **SHARED,
    )
    assert [(o, w, s) for o, w, s, _ in pts] == [
        ("add", 1.0, 3),
        ("mul", 1.0, 3),
        ("add", 0.0, 3),
        ("add", 0.0, 4),
        ("x3_xy", 1.0, 3),
    ]
    assert all(c.snapshot_groups == ("attn", "all") for *_, c in pts)
    assert [c.steps for *_, c in pts] == [50, 50, 30, 30, 40]


def test_spectral_grid_refuses_a_regime_op_that_is_also_a_grokking_op():
    with pytest.raises(ConfigError, match=r"regime_ops=\['add'\] repeats \['add'\]"):
        spectral_runs.grid_configs(
            ops=["add"],
            seeds=[3],
            weight_decay=1.0,
            control_ops=[],
            control_seeds=[],
            control_weight_decay=0.0,
            control_steps=30,
            regime_ops=["add"],
            regime_steps=40,
            **SHARED,
        )


def test_select_filters_grid_runs_by_coordinates():
    runs = [GridRun(t, w, s, run=None) for t in ("dual", "tri") for w in (0.0, 1.0) for s in (1, 2)]
    assert len(select(runs, task_set="tri")) == 4
    assert [(g.task_set, g.seed) for g in select(runs, weight_decay=0.0, task_set="dual")] == [
        ("dual", 1),
        ("dual", 2),
    ]
    assert len(select(runs, controls=False)) == 4


def test_paper_configuration_allows_less_breadth_only():
    shared = multitask.SHARED
    assert shared.at_paper_configuration(shared.values("paper"))
    assert shared.at_paper_configuration(shared.values("reduced"))
    custom = {**shared.values("reduced"), "seeds": [7, 8, 9], "task_sets": ["tri"]}
    assert shared.at_paper_configuration(custom)
    assert not shared.at_paper_configuration(shared.values("smoke"))
    for name, value in (("p", 53), ("lr", 3e-3), ("eval_every", 200)):
        assert not shared.at_paper_configuration({**shared.values("reduced"), name: value})


def test_a_reduced_profile_names_each_reduction_with_its_reason():
    from grokbook.papers.grid import Grid

    kw = dict(
        name="x.grid",
        paper={"steps": 50_000, "ops": ["add", "mul"]},
        smoke={"steps": 3000},
        build=lambda **p: [],
    )
    with pytest.raises(ValueError, match=r"reductions \['steps'\] lack a `why`"):
        Grid(**kw, reduced={"steps": 10_000})
    with pytest.raises(ValueError, match=r"reduced overrides \['lr'\] are not grid parameters"):
        Grid(**kw, reduced={"lr": 1.0}, why={"lr": "?"})
    g = Grid(**kw, reduced={"ops": ["add"]}, why={"ops": "one operation"})
    assert g.reductions() == ["ops: [add, mul] → [add] (one operation)"]
    assert g.values("reduced") == {"steps": 50_000, "ops": ["add"]}
    with pytest.raises(ValueError, match="has no reduced profile"):
        Grid(**kw).values("reduced")


def test_a_grid_can_exclude_a_claim_from_its_reduced_profile_with_a_reason(tmp_path):
    from grokbook.book.execute import has_profile, no_reduced_reason, profile_values
    from grokbook.errors import UsageError
    from grokbook.papers.grid import Grid

    kw = dict(
        name="x.grid",
        paper={"steps": 50_000},
        smoke={"steps": 3000},
        build=lambda **p: [],
        reduced={"steps": 10_000},
        why={"steps": "capped"},
    )
    with pytest.raises(ValueError, match=r"no_reduced names \['x.other'\], which do not read"):
        Grid(**kw, claims=("x.a",), no_reduced={"x.other": "breadth"})
    # the real grid: a breadth claim is refused with its reason, its neighbour is not
    nb = tmp_path / "n.ipynb"
    power_law, order = "multi.wd-groktime-powerlaw", "multi.staggered-order"
    assert "five λ values" in no_reduced_reason(power_law, nb)
    assert not has_profile(power_law, nb, "reduced") and has_profile(power_law, nb, "smoke")
    assert has_profile(order, nb, "reduced") and no_reduced_reason(order, nb) is None
    with pytest.raises(UsageError, match="has no reduced profile: its point is a power law"):
        profile_values(power_law, nb, "reduced")
    assert profile_values(order, nb, "reduced")["weight_decays"] == [1.0]


def test_a_page_value_separates_thousands_of_a_count_but_not_of_a_seed():
    from grokbook.papers.grid import short_value

    assert short_value(6000, "regime_steps") == "6,000"
    assert short_value([42, 137, 2024], "control_seeds") == "[42, 137, 2024]"
    assert short_value([1.0, 0.5], "weight_decays") == "[1.0, 0.5]"
    assert short_value(True, "x") == "True"
