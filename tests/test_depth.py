"""depthduet.depth, the depth vocabulary: normalisation, hole filling and the masked mean against
hand-computed values, gradients (gradcheck), empty masks and NaN at invalid pixels."""

from __future__ import annotations

import doctest

import pytest
import torch

from depthduet import depth as vocab
from depthduet.depth import denormalize_depth, fill_invalid, masked_mean, normalize_depth
from depthduet.errors import UserError


def test_docstring_examples_run():
    res = doctest.testmod(vocab)
    assert res.attempted >= 8 and res.failed == 0


def test_models_reexport_the_same_functions():
    from depthduet import models
    from depthduet.models import dbpn

    for name in ("normalize_depth", "denormalize_depth", "fill_invalid"):
        assert getattr(dbpn, name) is getattr(vocab, name)
        assert getattr(models, name) is getattr(vocab, name)


# --------------------------------------------------------------------------------------------
# normalize_depth / denormalize_depth


def test_normalize_minmax_by_hand():
    depth = torch.tensor([[[[2.0, 4.0], [6.0, 100.0]]], [[[1.0, 3.0], [5.0, 9.0]]]])
    valid = torch.tensor([[[[True, True], [True, False]]], [[[True, True], [True, True]]]])
    x, lo, hi = normalize_depth(depth, valid)
    assert lo.shape == hi.shape == (2, 1, 1, 1)
    assert lo.flatten().tolist() == [2.0, 1.0] and hi.flatten().tolist() == [6.0, 9.0]
    assert x[0, 0].tolist() == [[0.0, 0.5], [1.0, 0.0]]  # the invalid 100 becomes 0
    assert x[1, 0].tolist() == [[0.0, 0.25], [0.5, 1.0]]


def test_normalize_percentile_by_hand():
    # 0..100: the 10th / 90th percentiles are 10 and 90; 25 -> (25 - 10) / 80
    depth = torch.arange(101.0, dtype=torch.float64).view(1, 1, 1, 101)
    x, lo, hi = normalize_depth(depth, None, norm="percentile", pct=(10.0, 90.0))
    assert lo.item() == pytest.approx(10.0) and hi.item() == pytest.approx(90.0)
    assert x[0, 0, 0, 25].item() == pytest.approx(15.0 / 80.0)
    assert x[0, 0, 0, 0].item() == pytest.approx(-10.0 / 80.0)  # outside [0, 1] below lo


def test_normalize_constant_all_invalid_and_huge():
    const = torch.full((1, 1, 2, 3), 7.0)
    x, lo, hi = normalize_depth(const)
    assert (lo.item(), hi.item()) == (7.0, 8.0) and bool((x == 0).all())
    none = torch.zeros(1, 1, 2, 2, dtype=torch.bool)
    x, lo, hi = normalize_depth(torch.rand(1, 1, 2, 2), none)
    assert (lo.item(), hi.item()) == (0.0, 1.0) and bool((x == 0).all())
    for norm in ("minmax", "percentile"):
        _, lo, hi = normalize_depth(torch.rand(1, 1, 2, 2), none, norm=norm)
        assert (lo.item(), hi.item()) == (0.0, 1.0)
    big = torch.full((1, 1, 2, 2), 1e20, dtype=torch.float64)
    x, lo, hi = normalize_depth(big)
    assert hi.item() == 2e20 and bool(torch.isfinite(x).all())


def test_normalize_ignores_nan_and_inf_at_invalid_pixels():
    depth = torch.tensor([[[[1.0, float("nan")], [3.0, float("inf")]]]])
    valid = torch.isfinite(depth)
    for norm in ("minmax", "percentile"):
        x, lo, hi = normalize_depth(depth, valid, norm=norm, pct=(0.0, 100.0))
        assert (lo.item(), hi.item()) == (1.0, 3.0)
        assert x.flatten().tolist() == [0.0, 0.0, 1.0, 0.0]


def test_normalize_rejects_bad_input():
    with pytest.raises(UserError, match="norm"):
        normalize_depth(torch.rand(1, 1, 2, 2), norm="median")
    with pytest.raises(ValueError, match=r"\(B, 1, H, W\)"):
        normalize_depth(torch.rand(1, 2, 2, 2))


def test_normalize_gradcheck():
    g = torch.Generator().manual_seed(0)
    depth = (1 + torch.rand(2, 1, 3, 4, generator=g, dtype=torch.float64)).requires_grad_()
    valid = torch.rand(2, 1, 3, 4, generator=g) > 0.3
    valid[:, :, 0, :2] = True
    assert torch.autograd.gradcheck(lambda d: normalize_depth(d, valid), (depth,))
    assert torch.autograd.gradcheck(
        lambda d: normalize_depth(d, valid, norm="percentile", pct=(20.0, 80.0)), (depth,)
    )


def test_denormalize_round_trip_and_gradcheck():
    depth = torch.tensor([[[[2.0, 4.0], [6.0, 3.0]]]], dtype=torch.float64)
    x, lo, hi = normalize_depth(depth)
    assert torch.equal(denormalize_depth(x, lo, hi), depth)
    args = tuple(t.clone().requires_grad_() for t in (x, lo, hi))
    assert torch.autograd.gradcheck(denormalize_depth, args)


# --------------------------------------------------------------------------------------------
# fill_invalid


def test_fill_invalid_by_hand():
    # level 1 averages the valid pixels of [2, hole] and [hole, 6] -> [2, 6]; the bilinear
    # upsampling back to 4 pixels (align_corners=False) is [2, 3, 5, 6]
    x = torch.tensor([[[[2.0, 0.0, 0.0, 6.0]]]])
    v = torch.tensor([[[[True, False, False, True]]]])
    assert fill_invalid(x, v).tolist() == [[[[2.0, 3.0, 5.0, 6.0]]]]
    one = torch.tensor([[[[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]]])
    assert torch.equal(fill_invalid(one, one > 0), torch.ones(1, 1, 2, 3))


def test_fill_invalid_all_valid_all_invalid_and_nan():
    x = torch.rand(2, 3, 5, 4)
    assert torch.equal(fill_invalid(x, torch.ones(2, 1, 5, 4, dtype=torch.bool)), x)
    empty = torch.zeros(2, 1, 5, 4, dtype=torch.bool)
    assert torch.equal(fill_invalid(x, empty), torch.zeros_like(x))
    # a sample without valid pixels is zeros, its neighbour in the batch is filled
    v = torch.zeros(2, 1, 2, 2, dtype=torch.bool)
    v[1, 0, 0, 0] = True
    out = fill_invalid(torch.full((2, 1, 2, 2), 5.0), v)
    assert out[0].abs().max() == 0 and bool((out[1] == 5.0).all())
    # NaN / inf at invalid pixels never leak
    bad = torch.tensor([[[[1.0, float("nan")], [float("inf"), 3.0]]]])
    filled = fill_invalid(bad, torch.isfinite(bad))
    assert filled.tolist() == [[[[1.0, 2.0], [2.0, 3.0]]]]


def test_fill_invalid_keeps_valid_pixels_dtype_and_channels():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(1, 2, 6, 5, generator=g, dtype=torch.float64)
    v = torch.rand(1, 1, 6, 5, generator=g) > 0.5
    v[..., 0, 0] = True
    out = fill_invalid(x, v)
    assert out.dtype == torch.float64 and out.shape == x.shape
    assert torch.equal(out[v.expand_as(x)], x[v.expand_as(x)])
    assert bool(torch.isfinite(out).all())


def test_fill_invalid_gradcheck():
    g = torch.Generator().manual_seed(2)
    x = torch.rand(1, 1, 5, 6, generator=g, dtype=torch.float64).requires_grad_()
    v = torch.rand(1, 1, 5, 6, generator=g) > 0.6
    v[..., 2, 3] = True
    assert torch.autograd.gradcheck(lambda t: fill_invalid(t, v), (x,))


# --------------------------------------------------------------------------------------------
# masked_mean


def test_masked_mean_by_hand():
    x = torch.tensor([[[[1.0, 2.0], [3.0, 10.0]]]])
    m = torch.tensor([[[[True, True], [True, False]]]])
    assert masked_mean(x, m, min_weight=1e-12).item() == 2.0
    assert masked_mean(x, m, min_weight=1.0).item() == 2.0
    assert masked_mean(x, None, min_weight=1.0).item() == 4.0
    w = torch.tensor([[[[0.25, 0.25], [0.0, 0.0]]]])
    assert masked_mean(x, w, min_weight=1e-12).item() == 1.5  # (0.25 + 0.5) / 0.5
    assert masked_mean(x, w, min_weight=1.0).item() == 0.75  # (0.25 + 0.5) / 1
    # a (B, 1, H, W) mask covers every channel: channels count as elements
    two = torch.cat([x, 2 * x], dim=1)
    assert masked_mean(two, m, min_weight=1e-12).item() == (6.0 + 12.0) / 6


def test_masked_mean_empty_mask_is_zero_and_attached():
    x = torch.rand(2, 1, 3, 3, requires_grad=True)
    for min_weight in (1e-12, 1.0):
        out = masked_mean(x, torch.zeros(2, 1, 3, 3, dtype=torch.bool), min_weight=min_weight)
        assert out.item() == 0.0 and out.requires_grad
        (grad,) = torch.autograd.grad(out, x)
        assert torch.equal(grad, torch.zeros_like(x))


def test_masked_mean_does_not_hide_nan():
    x = torch.tensor([1.0, float("nan")])
    assert torch.isnan(masked_mean(x, torch.tensor([True, False]), min_weight=1e-12))
    assert masked_mean(torch.nan_to_num(x), torch.tensor([True, False]), min_weight=1e-12) == 1


def test_masked_mean_gradcheck():
    g = torch.Generator().manual_seed(3)
    x = torch.rand(2, 3, 4, 4, generator=g, dtype=torch.float64).requires_grad_()
    w = torch.rand(2, 1, 4, 4, generator=g, dtype=torch.float64).requires_grad_()
    for min_weight in (1e-12, 1.0):
        assert torch.autograd.gradcheck(
            lambda a, b, mw=min_weight: masked_mean(a, b, min_weight=mw), (x, w)
        )


def test_masked_mean_gives_both_habits_of_the_losses_bit_for_bit():
    """The two means the losses were written with (a weighted mean with ``clamp_min(1e-12)``,
    and one that never divides by less than one, ``clamp(min=1)``) are ``masked_mean`` with
    ``min_weight`` 1e-12 and 1, to the bit."""
    g = torch.Generator().manual_seed(4)
    x = torch.rand(2, 3, 5, 5, generator=g)
    for mask in (torch.rand(2, 1, 5, 5, generator=g) > 0.5, 0.3 * torch.rand(2, 1, 5, 5)):
        w = mask.to(x.dtype).expand_as(x)
        weighted = (x * w).sum() / w.sum().clamp_min(1e-12)
        assert torch.equal(masked_mean(x, mask, min_weight=1e-12), weighted)
        counted = (x * w).sum() / w.sum().clamp(min=1.0)
        assert torch.equal(masked_mean(x, mask, min_weight=1.0), counted)
