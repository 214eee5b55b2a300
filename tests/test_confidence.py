"""Confidence-weighted likelihood loss, point filtering (METHOD.md B.1, B.2), smoothness and
uncertainty distillation (B.4)."""

from __future__ import annotations

import math

import pytest
import torch

from depthduet.losses.confidence import (
    confidence_loss,
    masked_mean,
    optimal_confidence,
    point_filtering_loss,
    relative_error,
)
from depthduet.losses.smoothness import edge_aware_smoothness, normalise_disparity
from depthduet.losses.uncertainty_distill import (
    median_align,
    median_scale,
    uncertainty_distillation,
)
from depthduet.models.mde import confidence_informativeness, depth_to_disp, disp_to_depth


def test_confidence_loss_value_by_hand():
    l = torch.tensor([0.5, 2.0]).view(1, 1, 1, 2)
    c = torch.tensor([0.8, 0.1]).view(1, 1, 1, 2)
    lam = 0.3
    expected = ((0.8 * 0.5 - lam * math.log(0.8)) + (0.1 * 2.0 - lam * math.log(0.1))) / 2
    assert math.isclose(confidence_loss(l, c, lam).item(), expected, rel_tol=1e-6)
    mask = torch.tensor([True, False]).view(1, 1, 1, 2)
    assert math.isclose(
        confidence_loss(l, c, lam, mask).item(), 0.8 * 0.5 - lam * math.log(0.8), rel_tol=1e-6
    )


@pytest.mark.parametrize("lam", [0.05, 0.2])
def test_confidence_optimum_by_gradient_descent(lam):
    # per-pixel errors below, at and above lambda_c; optimise C = sigmoid(z) by gradient descent
    l = torch.tensor([0.01, 0.05, 0.1, 0.2, 0.5, 1.0, 3.0], dtype=torch.float64).view(1, 1, 1, -1)
    z = torch.zeros_like(l, requires_grad=True)
    opt = torch.optim.Adam([z], lr=0.1)
    for _ in range(1500):
        opt.zero_grad()
        confidence_loss(l, torch.sigmoid(z), lam).backward()
        opt.step()
    c = torch.sigmoid(z).detach()
    expected = optimal_confidence(l, lam)
    assert torch.allclose(expected, torch.clamp(lam / l, max=1.0))
    # above lambda_c the optimum is interior; below it C -> 1 (sigmoid approaches from below)
    interior = l > lam
    assert torch.allclose(c[interior], expected[interior], atol=2e-3)
    assert (c[~interior] > 0.97).all()


def test_confidence_optimum_by_grid():
    """``optimal_confidence`` is the minimiser of ``C * l - lambda * log C`` over (0, 1], found
    here by a grid search independent of the library."""
    lam = 0.1
    grid = torch.linspace(1e-3, 1.0, 20001, dtype=torch.float64)
    errs = torch.tensor([0.02, 0.1, 0.25, 1.7], dtype=torch.float64)
    got = optimal_confidence(errs, lam)
    for err, c in zip(errs, got):
        obj = grid * err - lam * torch.log(grid)
        assert math.isclose(c.item(), grid[obj.argmin()].item(), abs_tol=1e-3)


def test_point_filtering_uses_only_unlabelled_pixels():
    c = torch.tensor([0.9, 0.2, 0.5]).view(1, 1, 1, 3)
    valid = torch.tensor([True, False, False]).view(1, 1, 1, 3)
    m, lam = 0.4, 0.1
    expected = ((0.2 * m - lam * math.log(0.2)) + (0.5 * m - lam * math.log(0.5))) / 2
    assert math.isclose(point_filtering_loss(c, valid, m, lam).item(), expected, rel_tol=1e-6)
    # all labelled: empty mean is 0
    assert point_filtering_loss(c, torch.ones_like(valid), m, lam).item() == 0.0
    with pytest.raises(ValueError, match="M must be"):
        point_filtering_loss(c, valid, -1.0, lam)


def test_confidence_loss_bad_input():
    with pytest.raises(ValueError, match="differ"):
        confidence_loss(torch.rand(1, 1, 2, 2), torch.rand(1, 1, 2, 3), 0.1)
    with pytest.raises(ValueError, match="lambda_c"):
        confidence_loss(torch.rand(1, 1, 2, 2), torch.rand(1, 1, 2, 2), 0.0)


def test_relative_error_and_masked_mean():
    pred = torch.tensor([2.0, 5.0, 1.0]).view(1, 1, 1, 3)
    gt = torch.tensor([4.0, 0.0, 1.0]).view(1, 1, 1, 3)
    valid = gt > 0
    r = relative_error(pred, gt, valid)
    assert torch.allclose(r.flatten(), torch.tensor([0.5, 0.0, 0.0]))
    assert masked_mean(r, valid).item() == pytest.approx(0.25)
    assert masked_mean(r, torch.zeros_like(valid)).item() == 0.0


def test_smoothness_by_hand_and_invariance():
    # disparity [1, 3] on a flat image: normalised [0.5, 1.5], |dx| = 1, no y-gradient pairs
    disp = torch.tensor([1.0, 3.0]).view(1, 1, 1, 2)
    img = torch.zeros(1, 3, 1, 2)
    assert edge_aware_smoothness(disp, img).item() == pytest.approx(1.0, rel=1e-5)
    # an image edge of height 1 in every channel lowers it by exp(-1)
    img[..., 1] = 1.0
    assert edge_aware_smoothness(disp, img).item() == pytest.approx(math.exp(-1), rel=1e-5)
    # invariant to the disparity scale (mean normalisation)
    d = torch.rand(2, 1, 6, 7) + 0.1
    im = torch.rand(2, 3, 6, 7)
    assert torch.allclose(edge_aware_smoothness(d, im), edge_aware_smoothness(5 * d, im), atol=1e-5)
    assert torch.allclose(normalise_disparity(d).mean(dim=(2, 3)), torch.ones(2, 1), atol=1e-5)
    assert edge_aware_smoothness(torch.ones(1, 1, 4, 4), torch.rand(1, 3, 4, 4)).item() == 0.0
    with pytest.raises(ValueError):
        edge_aware_smoothness(torch.rand(1, 1, 4, 4), torch.rand(1, 3, 4, 5))


def test_distillation_gradients_reach_only_student():
    du = (torch.rand(2, 1, 4, 5) * 10 + 1).requires_grad_()
    ds = (torch.rand(2, 1, 4, 5) * 10 + 1).requires_grad_()
    cu = torch.rand(2, 1, 4, 5).requires_grad_()
    cs = torch.rand(2, 1, 4, 5).requires_grad_()
    loss = uncertainty_distillation(du, ds, cs)  # teaches N_u
    loss.backward()
    assert du.grad is not None and du.grad.abs().sum() > 0
    assert ds.grad is None and cs.grad is None and cu.grad is None
    # value: mean C_s |log du - log ds|
    expected = (cs * (du.log() - ds.log()).abs()).mean()
    assert torch.allclose(loss, expected)


def test_distillation_zero_when_equal_and_mask():
    d = torch.rand(1, 1, 3, 3) + 1
    c = torch.rand(1, 1, 3, 3)
    assert uncertainty_distillation(d, d, c).item() == 0.0
    mask = torch.zeros(1, 1, 3, 3, dtype=torch.bool)
    mask[0, 0, 1, 1] = True
    t = d * 2
    out = uncertainty_distillation(d, t, c, mask)
    assert out.item() == pytest.approx(c[0, 0, 1, 1].item() * math.log(2), rel=1e-5)
    # space="linear": |D - D'| in the depth's units (here D' = 2 D, so |D - 2D| = D)
    lin = uncertainty_distillation(d, t, c, mask, space="linear")
    assert lin.item() == pytest.approx((c * d)[0, 0, 1, 1].item(), rel=1e-5)
    with pytest.raises(ValueError, match="distill_space"):
        uncertainty_distillation(d, t, c, space="sqrt")


def test_median_alignment():
    ref = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0]).view(1, 1, 1, 5)
    d = ref * 0.25
    assert median_scale(d, ref).item() == pytest.approx(4.0)
    assert torch.allclose(median_align(d, ref), ref)
    # per image and masked: only the masked pixels define the ratio
    two = torch.cat([d, d * 2], 0)
    refs = torch.cat([ref, ref], 0)
    s = median_scale(two, refs).flatten()
    assert torch.allclose(s, torch.tensor([4.0, 2.0]))
    mask = torch.zeros_like(ref, dtype=torch.bool)
    mask[..., :1] = True
    assert median_scale(d * torch.tensor([1.0, 9, 9, 9, 9]).view(1, 1, 1, 5), ref, mask).item() == (
        pytest.approx(4.0)
    )
    assert median_scale(d, ref, torch.zeros_like(mask)).item() == 1.0


def test_disp_depth_conversion():
    s = torch.tensor([0.0, 1.0, 0.5])
    d = disp_to_depth(s, 0.1, 100.0)
    assert d[0].item() == pytest.approx(100.0)
    assert d[1].item() == pytest.approx(0.1)
    assert d[2].item() == pytest.approx(1 / (0.01 + 9.99 * 0.5))
    assert torch.allclose(depth_to_disp(d, 0.1, 100.0), s, atol=1e-6)
    with pytest.raises(ValueError):
        disp_to_depth(s, 1.0, 0.5)


def test_init_depth_sets_the_untrained_prediction():
    from depthduet.models.mde import DepthNet

    torch.manual_seed(0)
    net = DepthNet(init_depth=10.0)
    sigma = depth_to_disp(torch.tensor(10.0))
    for head in net.decoder.disp_heads.values():
        assert torch.sigmoid(head.conv.bias).item() == pytest.approx(sigma.item(), rel=1e-5)
    with torch.no_grad():
        d = net.depth(net(torch.rand(1, 3, 64, 64))["disp"][0])
    assert 3.0 < d.median().item() < 30.0  # bias dominates; default init gives ~0.2 m
    with pytest.raises(ValueError, match="init_depth"):
        DepthNet(init_depth=500.0)


def test_confidence_informativeness():
    err = torch.arange(10, dtype=torch.float32).view(1, 1, 2, 5) + 1  # 1..10
    conf = -err  # perfectly informative: confidence falls as error rises
    out = confidence_informativeness(err, conf, fraction=0.2)
    assert out["err_low_conf"] == pytest.approx(9.5)
    assert out["err_high_conf"] == pytest.approx(1.5)
    assert out["conf_ratio"] == pytest.approx(9.5 / 1.5)
    valid = torch.zeros_like(err, dtype=torch.bool)
    assert math.isnan(confidence_informativeness(err, conf, valid)["conf_ratio"])
    with pytest.raises(ValueError):
        confidence_informativeness(err, conf, fraction=0.7)


def test_smoothness_vertical_term_is_edge_aware_by_hand():
    """The y-term, like the x-term, is weighted by exp(-mean_c |dI/dy|) (METHOD.md B.3)."""
    disp = torch.tensor([1.0, 3.0]).view(1, 1, 2, 1)  # normalised [0.5, 1.5]: |dy| = 1
    img = torch.zeros(1, 3, 2, 1)
    assert edge_aware_smoothness(disp, img).item() == pytest.approx(1.0, rel=1e-5)
    img[..., 1, :] = 1.0
    assert edge_aware_smoothness(disp, img).item() == pytest.approx(math.exp(-1), rel=1e-5)


def test_smoothness_matches_explicit_loops():
    """A 3x4 example written out pixel by pixel: mean over the x-pairs plus mean over the
    y-pairs of |d(norm disp)| * exp(-mean_c |dI|)."""
    g = torch.Generator().manual_seed(3)
    disp = torch.rand(1, 1, 3, 4, dtype=torch.float64, generator=g) + 0.2
    img = torch.rand(1, 3, 3, 4, dtype=torch.float64, generator=g)
    d = disp[0, 0] / disp[0, 0].mean()
    im = img[0]

    def term(i0, j0, i1, j1):
        return abs(float(d[i0, j0] - d[i1, j1])) * math.exp(
            -float((im[:, i0, j0] - im[:, i1, j1]).abs().mean())
        )

    gx = [term(i, j, i, j + 1) for i in range(3) for j in range(3)]
    gy = [term(i, j, i + 1, j) for i in range(2) for j in range(4)]
    expected = sum(gx) / len(gx) + sum(gy) / len(gy)
    assert edge_aware_smoothness(disp, img).item() == pytest.approx(expected, rel=1e-6)
