"""Middlebury loaders: MSG-Net .mat samples, official 2001-2014 layouts, disparity -> depth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from depthduet import io as dio
from depthduet.data import middlebury as mb
from depthduet.data.folder import load_rgb
from depthduet.errors import UserError

# ---------------------------------------------------------------------------------------------
# shared samples
# ---------------------------------------------------------------------------------------------

#: maximum disparity (pixels) of each scene at this resolution (Middlebury: ndisp / search range)
MAX_DISP = {"tsukuba": 16, "venus": 20, "cones": 60, "teddy": 60}


def _edge_agreement(gray: torch.Tensor, disp: torch.Tensor) -> float:
    """Mean image-gradient magnitude on disparity edges, relative to the mean over the image."""
    gi = (gray[1:, 1:] - gray[:-1, 1:]).abs() + (gray[1:, 1:] - gray[1:, :-1]).abs()
    gd = (disp[1:, 1:] - disp[:-1, 1:]).abs() + (disp[1:, 1:] - disp[1:, :-1]).abs()
    edges = (gd > 0.5).float()
    return float((gi * edges).sum() / edges.sum() / gi.mean())


def test_middlebury_2001_2003_rgbd(data_root: Path) -> None:
    root = data_root / "middlebury_2001_2003"
    ds = mb.MiddleburyMatDataset(root)
    assert sorted(s["name"] for s in ds) == ["cones", "teddy", "tsukuba", "venus"]
    for s in ds:
        name, d = s["name"], s["depth"][0]
        assert s["unit"] == "disparity_px" and s["valid"].all()  # hole-filled
        assert s["image"].shape[-2:] == d.shape
        # the scale is right: the maxima lie just below the scenes' disparity ranges
        assert 0.8 * MAX_DISP[name] < d.max().item() <= MAX_DISP[name]
        assert d.min().item() > 0
        full = load_rgb(root / "RGB" / f"{name}.bmp")
        torch.testing.assert_close(s["image"], full[:, : d.shape[0], : d.shape[1]])
        if full.shape[-2:] != d.shape:  # cropping the bottom/right aligns better than the top
            dy, dx = full.shape[1] - d.shape[0], full.shape[2] - d.shape[1]
            shifted = full.mean(0)[dy:, dx:]
            assert _edge_agreement(s["image"].mean(0), d) > 1.1 * _edge_agreement(shifted, d)
    tsukuba = ds[[s["name"] for s in ds].index("tsukuba")]
    assert tsukuba["depth"].min().item() == 5.0 and tsukuba["depth"].max().item() == 14.0


def test_middlebury_2001_depth_only(data_root: Path) -> None:
    ds = mb.MiddleburyMatDataset(data_root / "middlebury_2001_depth")
    assert [s.stem for s in ds.files] == [f"Df_{i}" for i in range(59, 65)]
    for s in ds:
        assert "image" not in s and s["unit"] == "disparity_px"
        # stored uint8 x8: quantised to 1/8 px, 24..161 stored -> 3..20.125 px
        v = s["depth"][s["valid"]]
        assert 2.9 < v.min().item() and v.max().item() <= 161 / 8
        assert torch.all((v * 8) == (v * 8).round())
    one = mb.MiddleburyMatDataset(data_root / "middlebury_2001_depth", names=["Df_62"])
    assert len(one) == 1 and one[0]["depth"].shape == (1, 383, 435)


def test_motorcycle_disparity_to_depth(data_root: Path) -> None:
    d = data_root / "motorcycle"
    disp = dio.read_depth(d / "motorcycle_disp.npz")
    assert 1 - disp.valid.mean() == pytest.approx(0.0735, abs=0.001)  # +inf = invalid
    K = np.array([[994.978, 0, 311.193], [0, 994.978, 254.877], [0, 0, 1]])
    cal = mb.MiddleburyCalib(K, doffs=31.086, baseline=193.001)
    z = cal.depth_from_disparity(disp.values, disp.valid)
    assert np.array_equal(z > 0, disp.valid)
    r, c = np.argwhere(disp.valid)[1000]
    assert z[r, c] == pytest.approx(193.001 * 994.978 / (disp.values[r, c] + 31.086), rel=1e-6)
    zv = z[disp.valid]
    # disparity 7.19..59.9 px -> about 2.1 .. 5.0 m, a table-top scene
    assert 2000 < zv.min() < 2200 and 4900 < zv.max() < 5100


def test_2014_layout_with_calib(data_root: Path, tmp_path: Path) -> None:
    src = data_root / "motorcycle"
    scene = tmp_path / "Motorcycle-perfect"
    scene.mkdir()
    disp = np.load(src / "motorcycle_disp.npz")["arr_0"]
    dio.write_pfm(scene / "disp0.pfm", disp)
    (scene / "im0.png").write_bytes((src / "motorcycle_left.png").read_bytes())
    (scene / "calib.txt").write_text(
        "cam0=[994.978 0 311.193; 0 994.978 254.877; 0 0 1]\n"
        "cam1=[994.978 0 342.279; 0 994.978 254.877; 0 0 1]\n"
        "doffs=31.086\nbaseline=193.001\nwidth=741\nheight=500\nndisp=70\n"
    )
    cal = mb.read_middlebury_calib(scene / "calib.txt")
    assert (cal.width, cal.height) == (741, 500) and cal.doffs == pytest.approx(31.086)
    s = mb.MiddleburyDataset(tmp_path, to_depth=True)[0]
    assert s["unit"] == "mm" and s["name"] == "Motorcycle-perfect"
    torch.testing.assert_close(s["K"], torch.tensor(cal.K0, dtype=torch.float32))
    ok = np.isfinite(disp)
    expect = np.where(ok, 193.001 * 994.978 / (np.where(ok, disp, 0) + 31.086), 0)
    np.testing.assert_allclose(s["depth"][0].numpy(), expect, rtol=1e-5)
    assert s["valid"][0].numpy().tolist() == ok.tolist()
    d = mb.MiddleburyDataset(tmp_path)[0]
    assert d["unit"] == "disparity_px" and d["depth"][0][ok].max().item() == pytest.approx(
        disp[ok].max()
    )


# ---------------------------------------------------------------------------------------------
# synthetic official layouts
# ---------------------------------------------------------------------------------------------


def _pair(folder: Path, img_name: str, gt_name: str, stored: np.ndarray) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    h, w = stored.shape
    dio.write_image(folder / img_name, np.full((h + 1, w, 3), 77, np.uint8))
    dio.write_image(folder / gt_name, stored.astype(np.uint8))


def test_2001_2003_2005_layouts(tmp_path: Path) -> None:
    stored = np.array([[0, 32, 64], [96, 128, 255]])
    _pair(tmp_path / "tsukuba", "scene1.row3.col3.ppm", "truedisp.row3.col3.pgm", stored)
    _pair(tmp_path / "venus", "im2.ppm", "disp2.pgm", stored)
    _pair(tmp_path / "cones", "im2.ppm", "disp2.pgm", stored)
    _pair(tmp_path / "Art" / "Illum1" / "Exp0", "view1.png", "unused.png", stored)
    dio.write_image(tmp_path / "Art" / "disp1.png", stored.astype(np.uint8))
    (tmp_path / "Art" / "dmin.txt").write_text("200\n")
    ds = mb.MiddleburyDataset(tmp_path)
    by = {s["name"]: s for s in ds}
    assert set(by) == {"tsukuba", "venus", "cones", "Art"}
    for name, scale in (("tsukuba", 16), ("venus", 8), ("cones", 4), ("Art", 1)):
        s = by[name]
        assert s["unit"] == "disparity_px" and s["image"].shape == (3, 2, 3)
        np.testing.assert_allclose(s["depth"][0].numpy(), stored / scale)
        assert not s["valid"][0, 0, 0] and s["valid"].sum() == 5
    # 2005 depth: Z = 160 mm * 3740 px / (d + dmin)
    art = mb.MiddleburyDataset(tmp_path, scenes=["Art"], to_depth=True)[0]
    assert art["unit"] == "mm" and "K" not in art
    assert art["depth"][0, 1, 2].item() == pytest.approx(160 * 3740 / (255 + 200))
    with pytest.raises(UserError, match="mix units"):
        mb.MiddleburyDataset(tmp_path, to_depth=True)
    over = mb.MiddleburyDataset(tmp_path, scenes=["venus"], disparity_scale={"Venus": 2})[0]
    assert over["depth"][0, 1, 2].item() == 127.5


def test_layout_errors(tmp_path: Path) -> None:
    stored = np.array([[10, 20], [30, 40]])
    _pair(tmp_path / "mystery", "im2.ppm", "disp2.pgm", stored)
    with pytest.raises(UserError, match="unknown stored scale for scene 'mystery'"):
        mb.MiddleburyDataset(tmp_path)
    assert mb.MiddleburyDataset(tmp_path, disparity_scale={"mystery": 2})[0]["depth"].max() == 20
    with pytest.raises(UserError, match="no Middlebury scene folder 'cones'"):
        mb.MiddleburyDataset(tmp_path, scenes=["cones"], disparity_scale={"mystery": 2})
    (tmp_path / "calib.txt").write_text("cam0=[1 0 0; 0 1 0; 0 0 1]\n")
    with pytest.raises(UserError, match="missing key 'baseline'"):
        mb.read_middlebury_calib(tmp_path / "calib.txt")
    (tmp_path / "calib.txt").write_text("cam0=[1 0 0; 0 1 0]\nbaseline=1\n")
    with pytest.raises(UserError, match="'cam0' must be a 3x3 matrix"):
        mb.read_middlebury_calib(tmp_path / "calib.txt")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserError, match="no Middlebury scene found"):
        mb.MiddleburyDataset(empty)


def test_mat_layout_errors(tmp_path: Path) -> None:
    import scipy.io

    (tmp_path / "Depth").mkdir()
    (tmp_path / "RGB").mkdir()
    scipy.io.savemat(tmp_path / "Depth" / "cones_2.mat", {"img_double": np.full((3, 4), 40.0)})
    with pytest.raises(UserError, match=r"cones.bmp: RGB image for cones_2.mat not found"):
        mb.MiddleburyMatDataset(tmp_path)
    dio.write_image(tmp_path / "RGB" / "cones.bmp", np.zeros((4, 4, 3), np.uint8))
    s = mb.MiddleburyMatDataset(tmp_path)[0]
    assert s["depth"].max().item() == 10.0 and s["image"].shape == (3, 3, 4)  # cones: /4
    scipy.io.savemat(
        tmp_path / "Depth" / "cones_2.mat", {"a": np.ones((3, 4)), "b": np.ones((3, 4))}
    )
    with pytest.raises(dio.DepthIOError, match="cones_2.mat: several arrays"):
        mb.MiddleburyMatDataset(tmp_path)[0]
    (tmp_path / "Depth" / "cones_2.mat").write_bytes(b"MATLAB 5.0 MAT-file, truncated")
    with pytest.raises(dio.DepthIOError, match="cones_2.mat"):
        mb.MiddleburyMatDataset(tmp_path)[0]


def test_2014_layout_synthetic(tmp_path: Path) -> None:
    scene = tmp_path / "Tiny-perfect"
    scene.mkdir()
    disp = np.array([[10.0, np.inf, 40.0], [0.0, 90.0, 15.0]], np.float32)
    dio.write_pfm(scene / "disp0.pfm", disp)
    dio.write_image(scene / "im0.png", np.full((2, 3, 3), 128, np.uint8))
    # no doffs line: derived from cam1's cx - cam0's cx = 10
    (scene / "calib.txt").write_text(
        "cam0=[100 0 1; 0 100 0.5; 0 0 1]\ncam1=[100 0 11; 0 100 0.5; 0 0 1]\nbaseline=200\n"
    )
    s = mb.MiddleburyDataset(tmp_path, to_depth=True)[0]
    # Z = 200 mm * 100 px / (d + 10)
    expect = [[1000.0, 0, 400.0], [0, 200.0, 800.0]]
    np.testing.assert_allclose(s["depth"][0].numpy(), expect, rtol=1e-6)
    assert s["valid"][0].tolist() == [[True, False, True], [False, True, True]]
    torch.testing.assert_close(s["K"], torch.tensor([[100.0, 0, 1], [0, 100, 0.5], [0, 0, 1]]))
    d = mb.MiddleburyDataset(tmp_path)[0]
    np.testing.assert_allclose(d["depth"][0].numpy(), [[10, 0, 40], [0, 90, 15]])


def test_same_scene_at_two_sizes(tmp_path: Path) -> None:
    stored = np.array([[30, 60], [90, 120]])
    for size in ("FullSize", "ThirdSize"):
        _pair(tmp_path / size / "Art", "view1.png", "disp1.png", stored)
        (tmp_path / size / "Art" / "dmin.txt").write_text("240")
    ds = mb.MiddleburyDataset(tmp_path, to_depth=True)
    assert [s.name for s in ds.scenes] == ["Art", "ThirdSize/Art"]
    full, third = ds[0], ds[1]
    # third size: f and dmin divided by 3
    assert full["depth"][0, 0, 0].item() == pytest.approx(160 * 3740 / (30 + 240))
    assert third["depth"][0, 0, 0].item() == pytest.approx(160 * (3740 / 3) / (30 + 80))
