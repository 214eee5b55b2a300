"""The degradation model (depthduet.data.degradation): kernels, noise, holes, mixes."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from depthduet.data.degradation import (
    HOLES,
    KERNELS,
    NOISES,
    Degradation,
    DegradationMix,
    add_gaussian_noise,
    add_proportional_noise,
    downsample,
    drop_at_edges,
    drop_blobs,
    drop_random,
    flying_pixels,
    parse_degradation,
    quantize_disparity,
    quantize_levels,
    shift_subpixel,
)
from depthduet.errors import UserError


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------------------ kernels
def test_nearest_offsets_pick_the_stated_samples() -> None:
    hr = torch.arange(1.0, 65.0).view(1, 8, 8)
    # offset 0 (corner grid): rows/cols 0 and 4 -> 1, 5, 33, 37
    assert downsample(hr, None, 4, "nearest:0")[0].tolist() == [[[1.0, 5.0], [33.0, 37.0]]]
    # default offset s//2 = 2 (centre grid): rows/cols 2 and 6 -> 19, 23, 51, 55
    assert downsample(hr, None, 4, "nearest")[0].tolist() == [[[19.0, 23.0], [51.0, 55.0]]]
    assert downsample(hr, None, 4, "nearest", offset=3)[0].tolist() == [
        [[28.0, 32.0], [60.0, 64.0]]
    ]
    with pytest.raises(UserError, match="offset"):
        downsample(hr, None, 4, "nearest:4")
    with pytest.raises(UserError, match="offset"):
        downsample(hr, None, 4, "nearest:1.5")


def test_area_is_the_block_mean_over_valid_pixels() -> None:
    hr = torch.tensor([[[1.0, 2.0, 10.0, 10.0], [3.0, 4.0, 10.0, 10.0]]])
    lr, lv = downsample(hr, None, 2, "area")
    assert lr.tolist() == [[[2.5, 10.0]]]
    # one invalid pixel of four: the mean of the other three, still valid (3/4 > 0.5)
    valid = torch.ones_like(hr, dtype=torch.bool)
    valid[0, 0, 0] = False
    lr, lv = downsample(hr, valid, 2, "area")
    assert lr[0, 0, 0].item() == pytest.approx(3.0)
    # two invalid of four: not more than half valid -> invalid, stored 0
    valid[0, 1, 0] = False
    lr, lv = downsample(hr, valid, 2, "area")
    assert not bool(lv[0, 0, 0]) and lr[0, 0, 0].item() == 0.0


def test_plain_and_antialiased_bicubic_differ_on_a_step_edge() -> None:
    hr = torch.ones(1, 16, 16)
    hr[..., 7:] = 5.0  # a vertical step between columns 6 and 7
    aa, _ = downsample(hr, None, 4, "bicubic_aa")
    plain, _ = downsample(hr, None, 4, "bicubic_plain")
    ref_aa = F.interpolate(
        hr[None], size=(4, 4), mode="bicubic", antialias=True, align_corners=False
    )
    ref_plain = F.interpolate(hr[None], scale_factor=0.25, mode="bicubic", align_corners=False)
    torch.testing.assert_close(aa, ref_aa[0])
    torch.testing.assert_close(plain, ref_plain[0])
    # the antialiased kernel spreads the step over more LR columns than the 4-tap plain one
    assert (aa[0, 0] - plain[0, 0]).abs().max() > 0.2
    # the old name keeps its meaning
    torch.testing.assert_close(downsample(hr, None, 4, "bicubic")[0], aa)


def test_bilinear_at_x2_is_the_2x2_mean_and_gaussian_blurs() -> None:
    hr = torch.rand(1, 8, 8) + 1
    lr, _ = downsample(hr, None, 2, "bilinear")
    torch.testing.assert_close(lr, F.avg_pool2d(hr[None], 2)[0])
    # a constant map stays constant through every kernel, holes or not
    const = torch.full((1, 16, 16), 3.25)
    valid = torch.rand(1, 16, 16) > 0.2
    for k in (*KERNELS, "gaussian:1.5", "nearest:1"):
        lr, lv = downsample(const, valid, 4, k)
        torch.testing.assert_close(lr[lv], torch.full_like(lr[lv], 3.25), msg=k)


@pytest.mark.parametrize("kernel", [*KERNELS, "nearest:0", "gaussian:2"])
def test_invalid_values_never_leak(kernel: str) -> None:
    torch.manual_seed(0)
    hr = torch.rand(2, 1, 16, 24) + 1
    valid = torch.rand(2, 1, 16, 24) > 0.3
    a = torch.where(valid, hr, torch.zeros_like(hr))
    b = torch.where(valid, hr, torch.full_like(hr, 1e6))
    la, va = downsample(a, valid, 4, kernel)
    lb, vb = downsample(b, valid, 4, kernel)
    assert torch.equal(va, vb)
    torch.testing.assert_close(la, lb)
    assert bool((la[~va] == 0).all())
    # NaN in an invalid pixel is invalid too, and changes nothing
    c = torch.where(valid, hr, torch.full_like(hr, float("nan")))
    lc, vc = downsample(c, None, 4, kernel)
    assert torch.isfinite(lc).all()


def test_kernel_errors() -> None:
    hr = torch.rand(1, 8, 8) + 1
    for bad in ("box", "gaussian:x", "area:2", "gaussian:-1"):
        with pytest.raises(UserError):
            downsample(hr, None, 2, bad)


def test_shift_subpixel_moves_a_ramp() -> None:
    yy, xx = torch.meshgrid(torch.arange(8.0), torch.arange(8.0), indexing="ij")
    ramp = (1 + xx + 10 * yy)[None]
    out, ok = shift_subpixel(ramp, None, 0.25, -0.5)
    torch.testing.assert_close(out[ok], (ramp + 0.25 * 10 - 0.5)[ok])
    assert not bool(ok[0, -1].any()) and not bool(ok[0, :, 0].any())


# ------------------------------------------------------------------------------ noise
def test_gaussian_noise_is_seeded_relative_and_spares_holes() -> None:
    d = torch.linspace(1, 11, 400).view(1, 20, 20)  # range 10
    v = torch.rand(1, 20, 20) > 0.2
    d = torch.where(v, d, torch.zeros_like(d))
    a = add_gaussian_noise(d, v, 0.01, gen(1))
    b = add_gaussian_noise(d, v, 0.01, gen(1))
    c = add_gaussian_noise(d, v, 0.01, gen(2))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert bool((a[~v] == 0).all())
    assert (a - d)[v].std().item() == pytest.approx(0.1, rel=0.2)  # 1% of 10


def test_proportional_noise_grows_with_depth() -> None:
    near = torch.full((1, 64, 64), 1.0)
    far = torch.full((1, 64, 64), 10.0)
    v = torch.ones(1, 64, 64, dtype=torch.bool)
    sn = (add_proportional_noise(near, v, 0.01, gen()) - near).std().item()
    sf = (add_proportional_noise(far, v, 0.01, gen()) - far).std().item()
    assert sn == pytest.approx(0.01, rel=0.1) and sf == pytest.approx(0.1, rel=0.1)


def test_disparity_quantisation_step_grows_as_depth_squared() -> None:
    d = torch.linspace(1.0, 4.0, 3001).view(1, 1, -1)
    v = torch.ones_like(d, dtype=torch.bool)
    q = quantize_disparity(d, v, 0.01)
    err_far = (q - d)[..., -300:].abs().max().item()
    err_near = (q - d)[..., :300].abs().max().item()
    # step at d_max = 4: 0.04 (max error 0.02); at d ~ 1.1: ~0.04 * (1.1/4)^2 / 2
    assert err_far == pytest.approx(0.02, rel=0.15)
    assert err_near < err_far / 8


def test_quantize_levels_counts_levels() -> None:
    d = torch.linspace(2.0, 3.0, 1000).view(1, 1, -1)
    v = torch.ones_like(d, dtype=torch.bool)
    assert torch.unique(quantize_levels(d, v, 3)).numel() == 8
    assert (quantize_levels(d, v, 16) - d).abs().max() <= 0.5 / 65535 + 1e-6


# ------------------------------------------------------------------------------ holes
def test_drop_random_and_blobs_are_seeded_subsets() -> None:
    v = torch.rand(1, 64, 64) > 0.1
    a, b = drop_random(v, 0.2, gen(3)), drop_random(v, 0.2, gen(3))
    assert torch.equal(a, b) and bool((a <= v).all())
    assert (v & ~a).float().sum().item() / v.sum().item() == pytest.approx(0.2, abs=0.03)
    blobs = drop_blobs(torch.ones(1, 64, 64, dtype=torch.bool), 0.1, gen(4))
    assert (~blobs).float().mean().item() == pytest.approx(0.1, abs=0.01)
    assert torch.equal(blobs, drop_blobs(torch.ones(1, 64, 64, dtype=torch.bool), 0.1, gen(4)))


def _step_map() -> tuple[torch.Tensor, torch.Tensor]:
    d = torch.full((1, 16, 16), 2.0)
    d[..., 8:] = 6.0
    return d, torch.ones_like(d, dtype=torch.bool)


def test_edge_dropouts_only_at_discontinuities() -> None:
    d, v = _step_map()
    out = drop_at_edges(d, v, 1.0, generator=gen())
    dropped = ~out[0]
    assert bool(dropped[:, 7:9].all()) and not bool(dropped[:, :7].any())
    assert not bool(dropped[:, 9:].any())


def test_flying_pixels_mix_foreground_and_background() -> None:
    d, v = _step_map()
    out = flying_pixels(d, v, 1.0, generator=gen())
    changed = out != d
    assert bool(changed[..., 7:9].any()) and not bool(changed[..., :7].any())
    assert bool((out >= 2.0).all() and (out <= 6.0).all())
    # an invalid neighbour never takes part in a mixture
    v2 = v.clone()
    v2[..., 9] = False
    d2 = torch.where(v2, d, torch.full_like(d, 100.0))
    out2 = flying_pixels(d2, v2, 1.0, generator=gen())
    assert bool((out2[v2] <= 6.0).all())


# ------------------------------------------------------------------------------ pipelines
def test_parse_describe_round_trip_and_errors() -> None:
    chain = "nearest:0+gaussian_noise:0.01+quantize:8+drop_random:0.01+flying_pixels:0.3"
    deg = parse_degradation(chain)
    assert deg.kernel == "nearest:0"
    assert deg.noise == [("gaussian_noise", 0.01), ("quantize", 8.0)]
    assert parse_degradation(deg.describe()) == deg
    assert deg.record()["chain"] == deg.describe()
    for bad in ("", "area+noise:1", "area+gaussian_noise", "area+drop_random:2", "cubic"):
        with pytest.raises(UserError):
            parse_degradation(bad)


def test_pipeline_keeps_masks_exact_and_is_seeded() -> None:
    hr = torch.rand(1, 32, 32) * 5 + 1
    valid = torch.rand(1, 32, 32) > 0.2
    garbage = torch.where(valid, hr, torch.full_like(hr, -7.0))
    chain = "area+gaussian_noise:0.02+disparity_quantize:0.01+drop_blobs:0.05+flying_pixels:0.5"
    deg = parse_degradation(chain)
    a = deg.apply(torch.where(valid, hr, torch.zeros_like(hr)), valid, 4, gen(9))
    b = deg.apply(garbage, valid, 4, gen(9))
    torch.testing.assert_close(a[0], b[0])
    assert torch.equal(a[1], b[1])
    assert bool((a[0][~a[1]] == 0).all()) and bool((a[0][a[1]] > 0).all())


def test_random_mix_covers_every_component() -> None:
    mix = DegradationMix(shift_prob=0.2)
    mix.validate()
    g = gen(0)
    kernels: Counter[str] = Counter()
    steps: Counter[str] = Counter()
    shifts = 0
    for _ in range(600):
        d = mix.sample(4, g)
        kernels[d.kernel.split(":")[0]] += 1
        steps.update(n for n, _ in (*d.noise, *d.holes))
        shifts += any(d.shift)
    assert set(kernels) == set(KERNELS)
    assert set(steps) == set(NOISES) | set(HOLES)
    assert shifts > 0
    # draws are reproducible
    assert mix.sample(4, gen(5)) == mix.sample(4, gen(5))


def test_mix_validation_names_the_bad_entry() -> None:
    with pytest.raises(UserError, match="kernels"):
        DegradationMix(kernels={"box": 1.0}).validate()
    with pytest.raises(UserError, match="noise.gaussian_noise"):
        DegradationMix(noise={"gaussian_noise": [0.5, 0.1]}).validate()


def test_degradation_validates_steps() -> None:
    with pytest.raises(UserError):
        Degradation("area", noise=[("gaussian_noise", math.nan)])
    with pytest.raises(UserError):
        Degradation("area", holes=[("drop_random", 1.5)])


def test_lr_grid_corner_shifts_exactly() -> None:
    """Corner-grid samples hr[::s] upsampled with ``lr_grid="corner"`` match centre-grid samples
    hr[s//2::s] upsampled as usual (a ramp, away from the borders): the hint removes the s//2
    shift. Read as centre-grid samples they land s//2 pixels off."""
    from depthduet.inference.dsr import DepthUpsampler

    s, o = 4, 2
    xx = np.tile(np.arange(64, dtype=np.float64), (64, 1)) + 10.0
    up = DepthUpsampler.bicubic(s, device="cpu", clamp=False)
    inner = (slice(8, 56), slice(8, 48))
    corner = up.upsample(xx[::s, ::s], lr_grid="corner").values
    centre = up.upsample(xx[o::s, o::s]).values
    unhinted = up.upsample(xx[::s, ::s]).values
    # equal up to the phase of bicubic's ripple on a ramp (PyTorch's a = -0.75 kernel)
    assert np.abs(corner - centre)[inner].max() < 0.3
    assert (corner - centre)[inner].mean() == pytest.approx(0.0, abs=1e-3)
    # and exactly the centre-grid result of the padded map, s//2 pixels on
    padded = np.pad(xx[::s, ::s], ((0, 1), (0, 1)), mode="edge")
    np.testing.assert_array_equal(corner, up.upsample(padded).values[o : o + 64, o : o + 64])
    # bicubic's own convention puts an LR pixel at s*i + (s-1)/2: half a pixel from s*i + s//2
    assert np.abs(corner - xx)[inner].mean() == pytest.approx(0.5, abs=0.01)
    assert np.abs(unhinted - xx)[inner].mean() == pytest.approx(o - 0.5, abs=0.01)
    with pytest.raises(UserError, match="lr_grid"):
        up.upsample(xx, lr_grid="edge")
