"""Commutator defect on hand-computed cases: quadratic losses L_X = ½ θᵀ H_X θ have g_X = H_X θ and
δ = η² (H_B H_A − H_A H_B) θ exactly."""

import torch

from grokbook.training.commutator import commutator

ETA = 1e-2


def quadratic(H):
    return lambda theta: theta @ H.T  # θ [R, P] -> H θ per row


def test_commuting_hessians_give_zero_defect():
    Ha = torch.diag(torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))
    Hb = torch.diag(torch.tensor([5.0, -1.0, 0.5], dtype=torch.float64))
    theta = torch.tensor([[1.0, -2.0, 0.5], [0.3, 0.1, 4.0]], dtype=torch.float64)
    c = commutator(quadratic(Ha), quadratic(Hb), theta, ETA)
    torch.testing.assert_close(c.delta, torch.zeros_like(theta))
    torch.testing.assert_close(c.defect, torch.zeros(2, dtype=torch.float64))


def test_non_commuting_hessians_match_the_closed_form():
    Ha = torch.tensor([[1.0, 0.0], [0.0, 0.0]], dtype=torch.float64)  # projector on e1
    Hb = torch.tensor([[0.0, 1.0], [1.0, 0.0]], dtype=torch.float64)  # swap
    theta = torch.tensor([[1.0, 2.0]], dtype=torch.float64)
    c = commutator(quadratic(Ha), quadratic(Hb), theta, ETA)
    # H_B H_A − H_A H_B = [[0, -1], [1, 0]] -> δ = η² (−2, 1); g_A = (1, 0), g_B = (2, 1)
    torch.testing.assert_close(c.delta, ETA**2 * torch.tensor([[-2.0, 1.0]], dtype=torch.float64))
    expected_d = (5**0.5) / (1.0 * 5**0.5)  # ‖δ‖ / (η‖g_A‖ · η‖g_B‖) = 1
    torch.testing.assert_close(c.defect, torch.tensor([expected_d], dtype=torch.float64))
    torch.testing.assert_close(c.cos_ab, torch.tensor([2 / 5**0.5], dtype=torch.float64))


def test_a_vanishing_gradient_is_missing_not_zero():
    Ha = torch.zeros(2, 2, dtype=torch.float64)
    Hb = torch.eye(2, dtype=torch.float64)
    c = commutator(quadratic(Ha), quadratic(Hb), torch.ones(1, 2, dtype=torch.float64), ETA)
    assert torch.isnan(c.defect).all()


def test_subspace_suppression_scales_the_chosen_component():
    from grokbook.papers.curvature.interventions import SubspaceSuppression
    from grokbook.training.train import StackView

    basis = torch.zeros(2, 3, 1)
    basis[:, 0, 0] = 1.0  # B = e1 for both rows
    hook = SubspaceSuppression(basis, [0.75, 1.0], start=10)
    g = torch.tensor([[2.0, 4.0, -8.0], [1.0, 1.0, 1.0]])
    view = StackView(cfg=None, theta=torch.zeros(2, 3), rows=torch.tensor([0, 1]), probe_batch=None)
    hook(5, g, view)  # before `start`: untouched
    torch.testing.assert_close(g, torch.tensor([[2.0, 4.0, -8.0], [1.0, 1.0, 1.0]]))
    hook(10, g, view)
    torch.testing.assert_close(g, torch.tensor([[2.0, 1.0, -2.0], [1.0, 0.0, 0.0]]))
    par = SubspaceSuppression(basis, [0.5, 0.0], part="parallel")
    g = torch.tensor([[2.0, 4.0, -8.0], [1.0, 1.0, 1.0]])
    par(
        500, g, StackView(None, torch.zeros(2, 3), torch.tensor([1, 0]), None)
    )  # rows swapped: strengths follow
    torch.testing.assert_close(g, torch.tensor([[2.0, 4.0, -8.0], [0.5, 1.0, 1.0]]))
    assert hook.key != par.key
