"""depthduet.viz: colour ranges, invalid marking, error maps, overlays and panels."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pytest
import torch
from PIL import Image

from depthduet import viz


def _lut(name: str) -> np.ndarray:
    return np.round(matplotlib.colormaps[name](np.linspace(0, 1, 256))[:, :3] * 255).astype(
        np.uint8
    )


def test_robust_range_percentiles_and_degenerate_cases() -> None:
    v = np.arange(101, dtype=np.float64)  # percentiles equal the values
    assert viz.robust_range(v, None, 2, 98) == (2.0, 98.0)
    valid = v < 51
    assert viz.robust_range(v, valid, 0, 100) == (0.0, 50.0)
    assert viz.robust_range(np.full(4, np.nan)) == (0.0, 1.0)
    lo, hi = viz.robust_range(np.full(4, 5.0))
    assert lo < 5.0 < hi


def test_colorize_depth_ends_of_range_and_invalid_black() -> None:
    d = np.array([[1.0, 2.0, 3.0, 0.0], [np.nan, 100.0, -1.0, 3.0]])
    out = viz.colorize_depth(d, lo_pct=0, hi_pct=100, vmax=3.0)
    turbo = _lut("turbo")
    assert out.dtype == np.uint8 and out.shape == (2, 4, 3)
    np.testing.assert_array_equal(out[0, 0], turbo[0])
    np.testing.assert_array_equal(out[0, 1], turbo[128])  # (2 - 1) / 2 * 255 = 127.5 -> 128
    np.testing.assert_array_equal(out[0, 2], turbo[255])
    np.testing.assert_array_equal(out[1, 1], turbo[255])  # clipped above vmax
    for r, c in [(0, 3), (1, 0), (1, 2)]:  # 0, NaN, negative -> invalid black
        np.testing.assert_array_equal(out[r, c], [0, 0, 0])


def test_colorize_depth_invert_and_explicit_mask_and_tensor_input() -> None:
    d = torch.tensor([[[1.0, 3.0]]])  # (1, H, W) tensor
    a = viz.colorize_depth(d, lo_pct=0, hi_pct=100)
    b = viz.colorize_depth(d, lo_pct=0, hi_pct=100, invert=True)
    np.testing.assert_array_equal(a[0, 0], b[0, 1])
    np.testing.assert_array_equal(a[0, 1], b[0, 0])
    m = viz.colorize_depth(d, valid=np.array([[True, False]]), invalid_color=(1, 2, 3))
    np.testing.assert_array_equal(m[0, 1], [1, 2, 3])


def test_robust_range_ignores_outliers() -> None:
    d = np.ones((10, 10))
    d[0, 0] = 1e6  # one outlier must not squash the colour range
    d[5:] = 2.0
    out = viz.colorize_depth(d)
    turbo = _lut("turbo")
    np.testing.assert_array_equal(out[1, 1], turbo[0])
    np.testing.assert_array_equal(out[6, 1], turbo[255])


def test_colorize_error_unsigned_and_signed() -> None:
    e = np.array([[0.0, -1.0, 2.0, 5.0]])
    valid = np.array([[True, True, True, False]])
    inferno, rdbu = _lut("inferno"), _lut("RdBu_r")
    out = viz.colorize_error(e, valid, vmax=2.0)
    np.testing.assert_array_equal(out[0, 0], inferno[0])
    np.testing.assert_array_equal(out[0, 1], inferno[128])  # |-1| / 2
    np.testing.assert_array_equal(out[0, 2], inferno[255])
    np.testing.assert_array_equal(out[0, 3], [128, 128, 128])
    s = viz.colorize_error(e, valid, vmax=2.0, signed=True)
    np.testing.assert_array_equal(s[0, 0], rdbu[128])  # 0 -> middle
    np.testing.assert_array_equal(s[0, 1], rdbu[64])  # -1 -> (-1 + 2) / 4 * 255 = 63.75
    np.testing.assert_array_equal(s[0, 2], rdbu[255])
    # default vmax: 98th percentile of |err| over valid pixels
    auto = viz.colorize_error(np.linspace(0, 1, 101)[None], None)
    np.testing.assert_array_equal(auto[0, 98], inferno[255])


def test_overlay_points_z_buffer_and_bounds() -> None:
    img = np.zeros((5, 5, 3), np.float32)
    uv = np.array([[2.0, 2.0], [2.0, 2.0], [10.0, 1.0], [-1.0, 0.0], [0.0, 4.0]])
    z = np.array([9.0, 1.0, 5.0, 5.0, np.nan])
    out = viz.overlay_points(img, uv, z, radius=0, vmin=1.0, vmax=9.0)
    turbo = _lut("turbo")
    np.testing.assert_array_equal(out[2, 2], turbo[0])  # nearest of the two at (2, 2) wins
    assert out.sum() == int(turbo[0].sum())  # others are outside / non-finite
    big = viz.overlay_points(img, uv[:1], z[:1], radius=1)
    assert (big.reshape(-1, 3).any(1)).sum() == 9
    with pytest.raises(ValueError, match="points"):
        viz.overlay_points(img, uv, z[:2])


def test_make_panel_layout_and_tiles(tmp_path: Path) -> None:
    rgb = np.ones((4, 6, 3), np.float32)
    mask = np.array([[True, False]])
    depth = np.array([[1.0, 2.0], [0.0, 3.0]])
    panel = viz.make_panel([rgb, mask, depth], ncols=2, gap=2, title_size=0)
    assert panel.shape == (4 * 2 + 2, 6 * 2 + 2, 3)
    np.testing.assert_array_equal(panel[0, 0], [255, 255, 255])
    np.testing.assert_array_equal(panel[0, 8], [255, 255, 255])  # mask True = white
    np.testing.assert_array_equal(panel[0, 9], [0, 0, 0])  # mask False = black
    np.testing.assert_array_equal(panel[7, 0], [0, 0, 0])  # depth 0 -> invalid black
    titled = viz.make_panel([("a", rgb), ("b", rgb)], title_size=10)
    assert titled.shape[0] == 4 + 16 and titled.shape[1] == 6 * 2 + 4
    assert (titled[:16] < 128).any()  # some title text was drawn
    p = viz.save_panel(tmp_path / "sub" / "p.png", [("depth", depth)])
    with Image.open(p) as im:
        assert im.mode == "RGB"
    with pytest.raises(ValueError):
        viz.make_panel([])


def test_depth_to_points_known_geometry(tmp_path: Path) -> None:
    K = np.array([[2.0, 0, 1.0], [0, 2.0, 0.5], [0, 0, 1]])
    d = np.array([[4.0, 0.0, 2.0]])
    pts, cols = viz.depth_to_points(d, K, rgb=np.zeros((1, 3, 3)))
    # pixel (u=0, v=0) at z=4: x = (0 - 1) / 2 * 4 = -2, y = (0 - 0.5) / 2 * 4 = -1
    np.testing.assert_allclose(pts, [[-2, -1, 4], [1, -0.5, 2]])
    assert cols is not None and cols.shape == (2, 3)
    raw = viz.save_depth_ply(tmp_path / "c.ply", d, K).read_bytes()
    assert b"element vertex 2" in raw
