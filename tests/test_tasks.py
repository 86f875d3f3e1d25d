"""Modular-arithmetic tasks: op tables on hand-computed cases, domain and split sizes, seeded
splits, the shuffled-label control, and parameter errors that name the parameter. Ref: Power et al.
2022 App. A.1.1; the setups of Xu 2026a and Xu 2026b."""

import numpy as np
import pytest
import torch

from grokbook.training.config import RunConfig
from grokbook.errors import ConfigError
from grokbook.training.tasks import OPS, domain_pairs, labels, make_split, split_sizes


def label(op: str, a: int, b: int, p: int = 7) -> int:
    return int(labels(torch.tensor([[a, b]]), p, (op,))[0, 0])


# p = 7, worked by hand: 5⁻¹ = 3 (5·3 = 15 ≡ 1), 4⁻¹ = 2 (4·2 = 8 ≡ 1)
HAND_CASES = [
    ("add", 3, 5, 1),  # 8 ≡ 1
    ("sub", 2, 5, 4),  # −3 ≡ 4
    ("mul", 3, 5, 1),  # 15 ≡ 1
    ("div", 3, 5, 2),  # 3·5⁻¹ = 3·3 = 9 ≡ 2, and indeed 5·2 = 10 ≡ 3
    ("div", 2, 4, 4),  # 2·4⁻¹ = 2·2 = 4
    ("div_odd", 3, 5, 2),  # b = 5 odd: division, as above
    ("div_odd", 2, 4, 5),  # b = 4 even: a − b = −2 ≡ 5 (division would give 4)
    ("x2_y2", 3, 5, 6),  # 9 + 25 = 34 ≡ 6
    ("x2_xy_y2", 3, 5, 0),  # 9 + 15 + 25 = 49 ≡ 0
    ("x2_xy_y2", 1, 2, 0),  # 1 + 2 + 4 = 7 ≡ 0
    ("x2_xy_y2", 2, 2, 5),  # 4 + 4 + 4 = 12 ≡ 5
    ("x2_xy_y2_x", 3, 5, 3),  # 49 + 3 = 52 ≡ 3
    ("x3_xy", 2, 5, 4),  # 8 + 10 = 18 ≡ 4
    ("x3_xy", 3, 1, 2),  # 27 + 3 = 30 ≡ 2
    ("x3_xy2_y", 3, 2, 6),  # 27 + 12 + 2 = 41 ≡ 6
    ("x3_xy2_y", 1, 1, 3),  # 1 + 1 + 1 = 3
]


@pytest.mark.parametrize("op,a,b,want", HAND_CASES)
def test_op_hand_computed(op, a, b, want):
    assert label(op, a, b) == want


def test_every_op_has_a_hand_case():
    assert {c[0] for c in HAND_CASES} == set(OPS)


@pytest.mark.parametrize("p", [7, 13])
def test_division_inverts_multiplication_on_the_whole_domain(p):
    pairs = domain_pairs(p, ("div",))
    a, b = pairs[:, 0], pairs[:, 1]
    q = labels(pairs, p, ("div",))[:, 0]
    assert torch.equal(q * b % p, a)


def test_labels_lie_in_range_and_symmetric_ops_are_symmetric():
    p = 11
    pairs = domain_pairs(p, ("add",))
    swapped = pairs.flip(1)
    for name, op in OPS.items():
        if op.needs_field:
            continue
        y = labels(pairs, p, (name,))[:, 0]
        assert int(y.min()) >= 0 and int(y.max()) < p
        assert torch.equal(y, labels(swapped, p, (name,))[:, 0]) == op.symmetric, name


def test_multitask_labels_stack_one_column_per_op():
    y = labels(torch.tensor([[3, 5], [2, 4]]), 7, ("add", "mul", "x2_y2"))
    assert y.tolist() == [[1, 1, 6], [6, 1, 6]]  # (2+4, 2·4 = 8, 4+16 = 20) mod 7


@pytest.mark.parametrize(
    "ops,n",
    [
        (("add",), 9409),
        (("sub",), 9409),
        (("mul",), 9216),
        (("div",), 9312),
        (("div_odd",), 9312),
        (("add", "mul"), 9216),
        (("add", "mul", "x2_y2"), 9216),
        (("add", "div"), 9312),
    ],
)
def test_domain_sizes_p97(ops, n):
    assert len(domain_pairs(97, ops)) == n  # p², (p−1)², p(p−1)


def test_domain_excludes_zero_only_where_the_op_needs_it():
    mul = domain_pairs(7, ("mul",))
    div = domain_pairs(7, ("div",))
    assert (mul != 0).all()
    assert (div[:, 1] != 0).all() and (div[:, 0] == 0).any()
    assert domain_pairs(3, ("add",)).tolist() == [
        [0, 0],
        [0, 1],
        [0, 2],
        [1, 0],
        [1, 1],
        [1, 2],
        [2, 0],
        [2, 1],
        [2, 2],
    ]


@pytest.mark.parametrize(
    "p,ops,frac,sizes",
    [
        (97, ("add",), 0.5, (4704, 4705)),
        (11, ("add",), 0.3, (36, 85)),
        (97, ("mul",), 0.3, (2764, 6452)),
        (13, ("div",), 0.7, (109, 47)),
    ],
)
def test_split_sizes_are_int_of_fraction(p, ops, frac, sizes):
    assert split_sizes(len(domain_pairs(p, ops)), frac) == sizes
    s = make_split(p, ops, frac, seed=0)
    assert (len(s.train_x), len(s.test_x)) == sizes
    assert s.train_y.shape == (sizes[0], len(ops)) and s.test_y.shape == (sizes[1], len(ops))


def _keys(x):
    return set(map(tuple, x.tolist()))


def test_split_is_disjoint_and_covers_the_domain():
    p, ops = 13, ("add", "mul")
    s = make_split(p, ops, 0.4, seed=3)
    tr, te = _keys(s.train_x), _keys(s.test_x)
    assert len(tr) == len(s.train_x) and len(te) == len(s.test_x)  # no pair twice
    assert not tr & te
    assert tr | te == _keys(domain_pairs(p, ops))
    assert torch.equal(s.train_y, labels(s.train_x, p, ops))
    assert torch.equal(s.test_y, labels(s.test_x, p, ops))


def test_split_depends_on_the_seed_only():
    a = make_split(11, ("add",), 0.5, seed=1)
    b = make_split(11, ("add",), 0.5, seed=1)
    c = make_split(11, ("add",), 0.5, seed=2)
    assert torch.equal(a.train_x, b.train_x) and torch.equal(a.test_x, b.test_x)
    assert _keys(a.train_x) != _keys(c.train_x)


def test_split_leaves_the_global_rng_alone():
    torch.manual_seed(0)
    before = torch.rand(3)
    torch.manual_seed(0)
    make_split(11, ("add",), 0.5, seed=5)
    assert torch.equal(torch.rand(3), before)


def test_shuffle_labels_keeps_the_label_multiset_and_the_inputs():
    plain = make_split(13, ("add", "mul"), 0.5, seed=4)
    shuf = make_split(13, ("add", "mul"), 0.5, seed=4, shuffle_labels=True)
    assert torch.equal(plain.train_x, shuf.train_x) and torch.equal(plain.test_y, shuf.test_y)
    assert sorted(map(tuple, plain.train_y.tolist())) == sorted(
        map(tuple, shuf.train_y.tolist())
    )  # rows move whole
    assert not torch.equal(plain.train_y, shuf.train_y)
    assert (shuf.train_y != labels(shuf.train_x, 13, ("add", "mul"))).any(1).float().mean() > 0.5


@pytest.mark.parametrize(
    "kwargs,name",
    [
        (dict(p=1), "p="),
        (dict(p=0), "p="),
        (dict(p=-3), "p="),
        (dict(p=2), "p="),
        (dict(p=2.5), "p="),
        (dict(p=True), "p="),
        (dict(p=33, ops=("mul",)), "p=33"),
        (dict(p=33, ops=("div",)), "p=33"),
        (dict(p=33, ops=("add", "div_odd")), "p=33"),
        (dict(train_frac=0), "train_frac"),
        (dict(train_frac=1), "train_frac"),
        (dict(train_frac=1.5), "train_frac"),
        (dict(train_frac=-0.1), "train_frac"),
        (dict(p=3, train_frac=0.05), "train_frac"),  # int(0.45) = 0 train pairs
        (dict(ops=("foo",)), "ops"),
        (dict(ops=()), "ops"),
        (dict(ops=("add", "add")), "ops"),
        (dict(ops="add"), "ops"),
    ],
)
def test_bad_task_parameters_name_the_parameter(kwargs, name):
    with pytest.raises(ConfigError, match=name.replace("(", r"\(")):
        RunConfig(**kwargs)


def test_non_prime_p_is_fine_without_a_field_op():
    cfg = RunConfig(p=33, ops=("add", "sub", "x2_y2"))
    s = make_split(cfg.p, cfg.ops, cfg.train_frac, seed=0)
    assert len(s.train_x) + len(s.test_x) == 33 * 33
    assert int(np.asarray(s.train_y).max()) <= 32
