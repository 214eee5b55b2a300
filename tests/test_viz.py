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


# ----------------------------------------------------------------------------- previews
def _ramp(h: int = 16, w: int = 16) -> np.ndarray:
    """Depth growing left to right: near on the left, far on the right."""
    return np.tile(np.linspace(1.0, 9.0, w), (h, 1))


def _warm(px: np.ndarray) -> bool:
    return int(px[0]) > int(px[2]) + 60  # red well above blue


def _cold(px: np.ndarray) -> bool:
    return int(px[2]) > int(px[0])  # blue above red (turbo's far end is dark blue-violet)


def test_depth_colors_near_is_warm_for_depth_and_disparity() -> None:
    turbo = _lut("turbo")
    d = _ramp()
    rgb, (lo, hi) = viz.depth_colors(d, kind="depth", vmin=1.0, vmax=9.0)
    assert (lo, hi) == (1.0, 9.0)
    np.testing.assert_array_equal(rgb[0, 0], turbo[255])  # nearest: warm end
    np.testing.assert_array_equal(rgb[0, -1], turbo[0])
    disp = 1.0 / d  # large = near
    rgb, _ = viz.depth_colors(disp, kind="disparity")
    assert _warm(rgb[0, 0]) and _cold(rgb[0, -1])
    rgb, _ = viz.depth_colors(d, invert=True)
    assert _cold(rgb[0, 0])
    with pytest.raises(ValueError, match="kind"):
        viz.depth_colors(d, kind="height")


def test_colorbar_and_with_colorbar() -> None:
    turbo = _lut("turbo")
    bar = viz.colorbar(120, 1.0, 9.0, reverse=True, label="depth [m]", height=10)
    assert bar.dtype == np.uint8 and bar.shape[1] == 120 and bar.shape[0] > 10
    np.testing.assert_array_equal(bar[0, 0], turbo[255])  # lo at the left, warm (reversed)
    np.testing.assert_array_equal(bar[0, -1], turbo[0])
    assert (bar[12:] < 100).any()  # value labels were written
    img = np.zeros((30, 120, 3), np.uint8)
    out = viz.with_colorbar(img, 0.0, 1.0, cmap="viridis")
    assert out.shape[1] == 120 and out.shape[0] > 30 + 10
    np.testing.assert_array_equal(out[:30], img)


def test_depth_panel_tiles_share_one_range_with_error() -> None:
    out = _ramp(32, 48)
    gt = out + 0.5
    lr = out[::4, ::4]
    panel = viz.depth_panel(out, input=lr, gt=gt, unit="m", min_width=0)
    # input | output | ground truth | error, each 48 wide plus 4-pixel gaps
    assert panel.shape[1] == 4 * 48 + 3 * 4 and panel.shape[0] > 20 + 32 + 15
    row = 20 + 16  # below the title bar, in the maps
    ins, outs, gts = panel[row, 1], panel[row, 52 + 1], panel[row, 104 + 1]
    assert _warm(outs) and _warm(ins) and _warm(gts)
    assert _cold(panel[row, 52 + 46])
    err = panel[row, 156 : 156 + 48]
    assert (err == err[0]).all()  # a constant error of 0.5 everywhere
    with pytest.raises(ValueError, match="gt"):
        viz.depth_panel(out, gt=gt[:-1])
    small = viz.depth_panel(_ramp(4, 6))
    assert small.shape[1] >= 256  # tiny maps are drawn bigger


def test_previews_of_show_upsample_and_predict_put_near_warm(tmp_path: Path, capsys) -> None:
    from depthduet.cli import main
    from depthduet.cli.predict import _write_previews
    from depthduet.io import read_image, write_depth

    d = _ramp(24, 24).astype(np.float32)
    src = write_depth(tmp_path / "d.npy", d)
    # show: the depth tile comes first (no --rgb)
    assert main(["show", str(src), "-o", str(tmp_path / "s.png"), "--unit", "m"]) == 0
    s = read_image(tmp_path / "s.png")
    s8 = np.round(s * 255).astype(np.uint8)
    assert _warm(s8[20 + 12, 1]) and _cold(s8[20 + 12, 22])
    # upsample: input | output, each at the output's size (48 -> drawn 6x larger: 288)
    prev = tmp_path / "u.png"
    argv = ["upsample", str(src), "--scale", "2", "--baseline", "bicubic", "-o"]
    assert main([*argv, str(tmp_path / "u.npy"), "--preview", str(prev), "--unit", "m"]) == 0
    u = np.round(read_image(prev) * 255).astype(np.uint8)
    w = 48 * 6
    assert u.shape[1] == 2 * w + 4
    for x0 in (0, w + 4):
        assert _warm(u[20 + 100, x0 + 3]) and _cold(u[20 + 100, x0 + w - 4])
    # with the ground truth: two more tiles (truth, error)
    gt = write_depth(tmp_path / "gt.npy", np.kron(d, np.ones((2, 2), np.float32)))
    assert main([*argv, str(tmp_path / "v.npy"), "--preview", str(prev), "--gt", str(gt)]) == 0
    assert read_image(prev).shape[1] == 4 * w + 3 * 4
    # predict: image | depth | confidence
    rgb = np.zeros((24, 24, 3), np.float32)
    _write_previews(tmp_path, "p", rgb, d, np.full_like(d, 0.5), relative=False)
    p = np.round(read_image(tmp_path / "p_depth_color.png") * 255).astype(np.uint8)
    x0 = 24 * 11 + 4  # second tile: 24 px drawn 11x larger, then a gap
    assert _warm(p[20 + 100, x0 + 3]) and _cold(p[20 + 100, x0 + 24 * 11 - 4])
    assert (tmp_path / "p_conf_color.png").is_file()


def test_eight_bit_input_is_not_written_back_as_eight_bit(tmp_path: Path, capsys) -> None:
    from depthduet.cli import main
    from depthduet.io import read_depth

    disp = np.clip(np.round(_ramp(8, 8) * 25), 1, 250).astype(np.uint8)
    Image.fromarray(disp).save(tmp_path / "disp.png")
    argv = ["upsample", str(tmp_path / "disp.png"), "--scale", "2", "--baseline", "bicubic"]
    assert main([*argv, "-o", str(tmp_path / "up.png")]) == 0
    assert "x 256" in capsys.readouterr().err
    with Image.open(tmp_path / "up.png") as im:
        assert im.mode in ("I;16", "I")
    up16 = read_depth(tmp_path / "up.png", scale=256.0).values
    fractions = up16 - np.round(up16)
    assert np.abs(fractions).max() > 0.05  # sub-unit values survive
    assert main([*argv, "-o", str(tmp_path / "up.pfm")]) == 0  # float formats stay float
    np.testing.assert_allclose(read_depth(tmp_path / "up.pfm").values, up16, atol=1 / 256)
    assert main([*argv, "-o", str(tmp_path / "up8.png"), "--bits", "8"]) == 0
    with Image.open(tmp_path / "up8.png") as im:
        assert im.mode == "L"
