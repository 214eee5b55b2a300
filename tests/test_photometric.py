"""SSIM, photometric error and min-reprojection (METHOD.md B.3) against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch

from depthduet.geometry import warp
from depthduet.losses.photometric import (
    C1,
    C2,
    identity_error,
    min_reprojection,
    photometric_error,
    ssim,
    ssim_index,
    ssim_loss,
)


def _ssim_scalar(mx, my, vx, vy, cxy):
    num = (2 * mx * my + C1) * (2 * cxy + C2)
    den = (mx * mx + my * my + C1) * (vx + vy + C2)
    return min(max((1 - num / den) / 2, 0.0), 1.0)


def test_ssim_identical_is_zero():
    x = torch.rand(2, 3, 7, 9)
    assert torch.allclose(ssim_loss(x, x), torch.zeros_like(x), atol=1e-6)


def test_ssim_constant_3x3_patch():
    # constants a, b: variances vanish, SSIM = (2ab + C1) / (a^2 + b^2 + C1) everywhere
    a, b = 0.2, 0.7
    x = torch.full((1, 1, 3, 3), a, dtype=torch.float64)
    y = torch.full((1, 1, 3, 3), b, dtype=torch.float64)
    expected = (1 - (2 * a * b + C1) / (a * a + b * b + C1)) / 2
    out = ssim_loss(x, y)
    assert out.shape == (1, 1, 3, 3)
    assert torch.allclose(out, torch.full_like(out, expected), atol=1e-9)
    # float32 agrees to rounding (the variances are differences of nearly equal numbers)
    assert torch.allclose(ssim_loss(x.float(), y.float()), out.float(), atol=1e-4)


def test_ssim_two_pixel_hand_computed():
    # a 1x2 image: along W reflection padding gives [b, a, b, a]; the single row is replicated
    a, b, c, d = 0.1, 0.9, 0.4, 0.3
    x = torch.tensor([[[[a, b]]]], dtype=torch.float64)
    y = torch.tensor([[[[c, d]]]], dtype=torch.float64)
    # pixel 0 sees (a, b, b) and (c, d, d); pixel 1 sees (a, a, b) and (c, c, d)
    windows = [((a, b, b), (c, d, d)), ((a, a, b), (c, c, d))]
    expected = []
    for xs, ys in windows:
        mx, my = sum(xs) / 3, sum(ys) / 3
        vx = sum(v * v for v in xs) / 3 - mx * mx
        vy = sum(v * v for v in ys) / 3 - my * my
        cxy = sum(p * q for p, q in zip(xs, ys)) / 3 - mx * my
        expected.append(_ssim_scalar(mx, my, vx, vy, cxy))
    out = ssim_loss(x, y)
    assert out.shape == (1, 1, 1, 2)
    assert torch.allclose(out.flatten(), torch.tensor(expected, dtype=torch.float64), atol=1e-9)


def test_ssim_reflection_padding_matches_hand_window():
    # 3x3 image, corner pixel (0, 0): reflection makes its window rows (1,0,1) x cols (1,0,1)
    x = torch.arange(9, dtype=torch.float64).reshape(1, 1, 3, 3) / 10
    y = torch.flip(x, dims=[-1]) * 0.5 + 0.2
    idx = [1, 0, 1]
    xs = [x[0, 0, i, j].item() for i in idx for j in idx]
    ys = [y[0, 0, i, j].item() for i in idx for j in idx]
    mx, my = sum(xs) / 9, sum(ys) / 9
    vx = sum(v * v for v in xs) / 9 - mx * mx
    vy = sum(v * v for v in ys) / 9 - my * my
    cxy = sum(p * q for p, q in zip(xs, ys)) / 9 - mx * my
    assert math.isclose(
        ssim_loss(x, y)[0, 0, 0, 0].item(), _ssim_scalar(mx, my, vx, vy, cxy), abs_tol=1e-6
    )


def test_ssim_range_and_symmetry():
    x, y = torch.rand(1, 3, 6, 5), torch.rand(1, 3, 6, 5)
    s = ssim_loss(x, y)
    assert s.min() >= 0 and s.max() <= 1
    assert torch.allclose(s, ssim_loss(y, x), atol=1e-7)


def test_ssim_index_is_the_index_and_ssim_loss_its_dissimilarity():
    # kornia's names: ssim_index is 1 for identical patches, ssim_loss = clamp((1 - index) / 2)
    a, b = 0.2, 0.7
    x = torch.full((1, 1, 3, 3), a, dtype=torch.float64)
    y = torch.full((1, 1, 3, 3), b, dtype=torch.float64)
    index = ssim_index(x, y)
    expected = (2 * a * b + C1) / (a * a + b * b + C1)
    assert torch.allclose(index, torch.full_like(index, expected), atol=1e-12)
    u, v = torch.rand(2, 3, 7, 9), torch.rand(2, 3, 7, 9)
    assert torch.allclose(ssim_index(u, u), torch.ones_like(u), atol=1e-5)
    assert torch.equal(ssim_loss(u, v), torch.clamp((1 - ssim_index(u, v)) / 2, 0, 1))
    with pytest.raises(ValueError, match="ssim_index: expected 4-D"):
        ssim_index(torch.rand(3, 4, 4), torch.rand(3, 4, 4))


def test_ssim_is_the_deprecated_name_of_ssim_loss():
    x, y = torch.rand(1, 3, 6, 5), torch.rand(1, 3, 6, 5)
    with pytest.warns(DeprecationWarning, match="ssim_loss"):
        old = ssim(x, y)
    assert torch.equal(old, ssim_loss(x, y))


def test_photometric_error_two_pixels_by_hand():
    # constant-per-channel images: SSIM term from the constant formula, L1 mean over channels
    x = torch.tensor([0.2, 0.5, 0.8], dtype=torch.float64).view(1, 3, 1, 1).repeat(1, 1, 1, 2)
    y = torch.tensor([0.3, 0.5, 0.4], dtype=torch.float64).view(1, 3, 1, 1).repeat(1, 1, 1, 2)
    ss = []
    for a, b in [(0.2, 0.3), (0.5, 0.5), (0.8, 0.4)]:
        ss.append((1 - (2 * a * b + C1) / (a * a + b * b + C1)) / 2)
    l1 = (0.1 + 0.0 + 0.4) / 3
    expected = 0.85 * sum(ss) / 3 + 0.15 * l1
    pe = photometric_error(x, y)
    assert pe.shape == (1, 1, 1, 2)
    assert torch.allclose(pe, torch.full_like(pe, expected), atol=1e-9)
    assert torch.allclose(photometric_error(x, y, alpha=0.0), torch.full_like(pe, l1), atol=1e-12)


def test_photometric_error_bad_input():
    with pytest.raises(ValueError, match="shapes differ"):
        photometric_error(torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 5))
    with pytest.raises(ValueError, match="4-D"):
        ssim_loss(torch.rand(3, 4, 4), torch.rand(3, 4, 4))
    with pytest.raises(ValueError, match="alpha"):
        photometric_error(torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 4), alpha=1.5)


def test_zero_photometric_error_under_identity_pose():
    img = torch.rand(2, 3, 12, 16)
    depth = 1 + 9 * torch.rand(2, 1, 12, 16)
    K = torch.tensor([[20.0, 0, 7.5], [0, 20.0, 5.5], [0, 0, 1]])
    T = torch.eye(4).repeat(2, 1, 1)
    warped = warp(img, depth, K, T)
    pe = photometric_error(warped, img)
    assert pe.abs().max() < 1e-4


def test_min_reprojection_and_automask():
    target = torch.rand(1, 3, 8, 8)
    good = target.clone()
    good[..., :4] = torch.rand(1, 3, 8, 4)  # left half wrong, right half exact
    bad = torch.rand(1, 3, 8, 8)
    pe_min, mask = min_reprojection(target, [bad, good])
    expected = torch.minimum(photometric_error(bad, target), photometric_error(good, target))
    assert torch.allclose(pe_min, expected)
    assert mask.all() and mask.dtype == torch.bool
    # a source that already equals the target without warping: identity error 0 -> masked out
    _, mask2 = min_reprojection(target, [good], sources=[target])
    assert not mask2.any()
    # identity error large (unrelated frame) -> pixels with a better warp are kept
    _, mask3 = min_reprojection(target, [good], sources=[bad])
    assert mask3[..., 5:7].all()
    # a precomputed identity error gives the same mask as the frames themselves
    ident = identity_error(target, [bad])
    assert not ident.requires_grad and ident.shape == (1, 1, 8, 8)
    _, mask4 = min_reprojection(target, [good], sources=ident)
    assert torch.equal(mask3, mask4)
    with pytest.raises(ValueError, match="does not match"):
        min_reprojection(target, [good], sources=ident[..., :4])
    with pytest.raises(ValueError, match="at least one"):
        min_reprojection(target, [])


def test_identity_error_is_the_minimum_over_several_sources():
    """The auto-mask reference of METHOD.md B.3 is the per-pixel minimum over the un-warped
    sources: a source equal to the target gives 0 everywhere, and then no warped error can
    beat it (every pixel masked)."""
    g = torch.Generator().manual_seed(0)
    target, unrelated = torch.rand(1, 3, 8, 8, generator=g), torch.rand(1, 3, 8, 8, generator=g)
    ident = identity_error(target, [unrelated, target.clone()])
    assert torch.allclose(ident, torch.zeros_like(ident), atol=1e-6)
    a, b = torch.rand(1, 3, 8, 8, generator=g), torch.rand(1, 3, 8, 8, generator=g)
    expected = torch.minimum(photometric_error(a, target), photometric_error(b, target))
    assert torch.allclose(identity_error(target, [a, b]), expected)
    warped_good = target + 0.01 * torch.rand(target.shape, generator=g)
    _, mask = min_reprojection(target, [warped_good], sources=[unrelated, target.clone()])
    assert not mask.any()
