"""Tiled inference: tile layout, blend windows, and tiled == untiled for local networks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from depthduet.inference.tiling import TileGrid, axis_tiles, axis_window, tiled_upsample


class LocalUpNet(nn.Module):
    """conv3x3 - PReLU - conv3x3 (LR) - deconv(k=s, stride=s) - conv3x3 (HR).

    Receptive field: 1 + 1 LR pixels, the deconvolution mixes nothing across LR pixels, the HR
    conv reaches one HR pixel = at most one LR pixel: 3 LR pixels in all.
    """

    receptive_field = 3

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 4, 3, 1, 1),
            nn.PReLU(),
            nn.Conv2d(4, 4, 3, 1, 1),
            nn.ConvTranspose2d(4, 4, scale, scale, 0),
            nn.Conv2d(4, 2, 3, 1, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def test_axis_tiles_short_axis_is_one_tile() -> None:
    assert axis_tiles(7, 16, 4, 4) == [(0, 7)]
    assert axis_tiles(16, 16, 4, 4) == [(0, 16)]


def test_axis_tiles_layout() -> None:
    # stride = 16 - 2*3 - 2 = 8; starts 0, 8, 16, then snapped to 40 - 16 = 24
    assert axis_tiles(40, 16, 3, 2) == [(0, 16), (8, 24), (16, 32), (24, 40)]
    for length in (17, 33, 100, 101):
        spans = axis_tiles(length, 16, 3, 2)
        assert spans[0][0] == 0 and spans[-1][1] == length
        assert all(b - a == 16 for a, b in spans)
        starts = [a for a, _ in spans]
        assert all(0 < d <= 8 for d in np.diff(starts))


def test_axis_tiles_rejects_tile_without_core() -> None:
    with pytest.raises(ValueError, match="must exceed"):
        axis_tiles(100, 10, 4, 2)
    with pytest.raises(ValueError, match="length"):
        axis_tiles(0, 10, 1, 1)


def test_axis_window_hand_values() -> None:
    # scale 1, interior left side, overlap 1, blend 2, linear: u = 0.5, 1.5, 2.5, 3.5, ...
    # t = clip((u - 1) / 2, 0, 1) = 0, 0.25, 0.75, 1, 1, ...; right side is the image border
    w = axis_window(5, 11, 11, 1, 1, 2, "linear")
    np.testing.assert_allclose(w, [0, 0.25, 0.75, 1, 1, 1])
    # cosine ramp: (1 - cos(pi t)) / 2
    w = axis_window(5, 11, 11, 1, 1, 2, "cosine")
    expect = 0.5 - 0.5 * np.cos(np.pi * np.array([0, 0.25, 0.75, 1, 1, 1]))
    np.testing.assert_allclose(w, expect)
    # scale 2, both sides interior, step window (blend 0): zero on the 1-pixel context = 2 HR px
    w = axis_window(3, 8, 20, 2, 1, 0)
    np.testing.assert_array_equal(w, [0, 0, 1, 1, 1, 1, 1, 1, 0, 0])
    # border sides weigh 1
    np.testing.assert_array_equal(axis_window(0, 4, 4, 3, 1, 1), np.ones(12))


def test_weight_sums_cover_every_pixel() -> None:
    for h, w in [(37, 53), (100, 17), (16, 16), (1, 90)]:
        grid = TileGrid.build(h, w, 4, 16, 3, 2)
        wy, wx = grid.weight_sums()
        assert wy.shape == (4 * h,) and wx.shape == (4 * w,)
        assert wy.min() > 0.01 and wx.min() > 0.01


@pytest.mark.parametrize("scale", [2, 4])
@pytest.mark.parametrize("blend", [0, 2, 5])
def test_tiled_equals_untiled_for_local_network(scale: int, blend: int) -> None:
    net = LocalUpNet(scale).eval()
    for h, w in [(37, 53), (20, 9), (5, 70), (33, 33)]:
        x = torch.randn(1, h, w)
        with torch.no_grad():
            full = net(x[None])[0]
            tiled = tiled_upsample(net, x, scale, tile=16, overlap=3, blend=blend)
        assert tiled.shape == (2, scale * h, scale * w)
        torch.testing.assert_close(tiled, full, atol=1e-5, rtol=1e-5)


def test_tiled_equals_untiled_bicubic() -> None:
    # bicubic interpolation reads 2 LR pixels on each side
    def up(t: torch.Tensor) -> torch.Tensor:
        return F.interpolate(t, scale_factor=4, mode="bicubic", align_corners=False)

    x = torch.rand(1, 45, 31)
    tiled = tiled_upsample(up, x, 4, tile=12, overlap=2, blend=3, window="linear")
    torch.testing.assert_close(tiled, up(x[None])[0], atol=1e-5, rtol=1e-5)


def test_too_small_overlap_is_not_exact() -> None:
    # the exactness test above has power: without context the tile borders differ
    net = LocalUpNet(2).eval()
    x = torch.randn(1, 40, 40)
    with torch.no_grad():
        full = net(x[None])[0]
        tiled = tiled_upsample(net, x, 2, tile=16, overlap=0, blend=0)
    assert (tiled - full).abs().max() > 1e-3


def test_constant_output_is_preserved_by_normalisation() -> None:
    def const(t: torch.Tensor) -> torch.Tensor:
        return torch.full((1, 1, 3 * t.shape[-2], 3 * t.shape[-1]), 2.5)

    out = tiled_upsample(const, torch.zeros(1, 29, 41), 3, tile=10, overlap=2, blend=3)
    torch.testing.assert_close(out, torch.full((1, 87, 123), 2.5))


def test_single_tile_when_tile_disabled_or_large() -> None:
    calls = []

    def up(t: torch.Tensor) -> torch.Tensor:
        calls.append(tuple(t.shape))
        return t.repeat_interleave(2, -1).repeat_interleave(2, -2)

    x = torch.arange(15.0).view(1, 3, 5)
    out = tiled_upsample(up, x, 2, tile=0)
    assert calls == [(1, 1, 3, 5)]
    assert out[0, 5, 9].item() == x[0, 2, 4].item()
    calls.clear()
    tiled_upsample(up, x, 2, tile=64, overlap=16)
    assert calls == [(1, 1, 3, 5)]


def test_bad_function_output_shape() -> None:
    with pytest.raises(ValueError, match="expected"):
        tiled_upsample(lambda t: t, torch.zeros(1, 8, 8), 2, tile=0)
    with pytest.raises(ValueError, match="expected"):
        tiled_upsample(lambda t: t, torch.zeros(8, 8), 2, tile=0)
