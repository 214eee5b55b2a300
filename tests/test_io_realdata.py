"""depthduet.io on the real sample files in ../shared/data, in the units their READMEs state.

Numbers checked here come from the READMEs (ranges, counts, invalid fractions); the tests skip
when the data folder is absent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from depthduet import io
from depthduet.cli import main

pytestmark = pytest.mark.realdata


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} not present")
    return path


# ------------------------------------------------------------------ RGB-D (Open3D test data)


def test_nyu_raw_kinect_pgm_to_metres(data_root: Path) -> None:
    p = _need(data_root / "rgbd_open3d" / "other_formats" / "NYU_depth.pgm")
    raw = io.read_pgm_raw(p)  # little-endian despite the P5 65535 header
    assert raw.shape == (480, 640) and raw.dtype == np.uint16
    assert (int(raw.min()), int(raw.max())) == (839, 2047)
    dm = io.read_depth(p, encoding="kinect-raw")
    z = dm.values[dm.valid]
    assert z.min() == pytest.approx(1.39, abs=0.005) and z.max() == pytest.approx(6.69, abs=0.005)
    assert 1 - dm.valid.mean() == pytest.approx(0.072, abs=0.001)
    np.testing.assert_array_equal(dm.valid, raw < 1084)
    # the documented formula, pixel by pixel
    i = np.argwhere(dm.valid)[123]
    assert dm.values[tuple(i)] == pytest.approx(351.3 / (1092.5 - raw[tuple(i)]), rel=1e-6)


def test_tum_png_divided_by_5000(data_root: Path) -> None:
    p = _need(data_root / "rgbd_open3d" / "other_formats" / "TUM_depth.png")
    dm = io.read_depth(p, scale=5000)
    z = dm.values[dm.valid]
    assert (round(float(z.min()), 2), round(float(z.max()), 2)) == (1.46, 9.33)
    assert not dm.valid.all() and (dm.values[~dm.valid] == 0).all()


def test_sun_bit_rotated_millimetres(data_root: Path) -> None:
    p = _need(data_root / "rgbd_open3d" / "other_formats" / "SUN_depth.png")
    dm = io.read_depth(p, encoding="sun-rotated")
    z = dm.values[dm.valid]
    assert (round(float(z.min()), 2), round(float(z.max()), 2)) == (1.06, 9.87)
    # reading it plain (no rotation) gives absurd values up to 64 m: the encoding matters
    assert io.read_depth(p, scale=1000).values.max() > 60


def test_open3d_sequence_millimetre_pngs(data_root: Path) -> None:
    folder = _need(data_root / "rgbd_open3d" / "depth")
    for f in sorted(folder.glob("*.png")):
        dm = io.read_depth(f, scale=1000)
        assert dm.values.shape == (480, 640)
        assert dm.values.max() <= 2.702 + 1e-6
        assert 0.12 < 1 - dm.valid.mean() < 0.14
    color = io.read_image(_need(data_root / "rgbd_open3d" / "color" / "00000.jpg"))
    assert color.shape == (480, 640, 3) and color.dtype == np.float32


def test_colour_ppm_and_png_images(data_root: Path) -> None:
    ppm = io.read_image(_need(data_root / "rgbd_open3d" / "other_formats" / "NYU_color.ppm"))
    assert ppm.shape == (480, 640, 3) and 0 <= ppm.min() and ppm.max() <= 1
    # the same pixels through Pillow
    from PIL import Image

    with Image.open(data_root / "rgbd_open3d" / "other_formats" / "NYU_color.ppm") as im:
        np.testing.assert_allclose(ppm * 255, np.asarray(im), atol=1e-3)


# ------------------------------------------------------------------ stereo / Middlebury


def test_motorcycle_disparity_inf_invalid_and_millimetres(data_root: Path) -> None:
    p = _need(data_root / "motorcycle" / "motorcycle_disp.npz")
    dm = io.read_depth(p)
    assert dm.values.shape == (500, 741)
    assert 1 - dm.valid.mean() == pytest.approx(0.0735, abs=0.0005)  # the +inf pixels
    assert dm.values[dm.valid].min() == pytest.approx(7.19, abs=0.01)
    f, B, doffs = 994.978, 193.001, 31.086
    mm = io.disparity_to_depth(dm.values, f, B, doffs, valid=dm.valid)
    np.testing.assert_array_equal(mm > 0, dm.valid)
    d_min, d_max = dm.values[dm.valid].min(), dm.values[dm.valid].max()
    assert mm[mm > 0].max() == pytest.approx(f * B / (d_min + doffs), rel=1e-5)
    assert mm[mm > 0].min() == pytest.approx(f * B / (d_max + doffs), rel=1e-5)
    rgb = io.read_image(_need(data_root / "motorcycle" / "motorcycle_left.png"))
    assert rgb.shape == (500, 741, 3)


def test_motorcycle_convert_command_to_mm_png(
    data_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = _need(data_root / "motorcycle" / "motorcycle_disp.npz")
    out = tmp_path / "moto_mm.png"
    rc = main(
        [
            "convert",
            str(p),
            str(out),
            "--in-encoding",
            "disparity",
            "--focal",
            "994.978",
            "--baseline",
            "193.001",
            "--doffs",
            "31.086",
        ]
    )
    assert rc == 0, capsys.readouterr().err
    back = io.read_depth(out)  # stored millimetres
    disp = io.read_depth(p)
    np.testing.assert_array_equal(back.valid, disp.valid)
    expect = io.disparity_to_depth(disp.values, 994.978, 193.001, 31.086)
    assert np.abs(back.values - expect)[back.valid].max() <= 0.5 + 1e-3
    assert 2100 < back.values[back.valid].min() < back.values.max() < 5100


@pytest.mark.parametrize(
    "scene,shape,lo,hi,scale",
    [
        ("tsukuba", (288, 384), 80, 224, 16),
        ("venus", (382, 434), 24, 157, 8),
        ("cones", (374, 450), 61, 220, 4),
        ("teddy", (374, 450), 56, 207, 4),
    ],
)
def test_middlebury_mat_v5_disparity(
    data_root: Path, scene: str, shape: tuple[int, int], lo: int, hi: int, scale: int
) -> None:
    p = _need(data_root / "middlebury_2001_2003" / "Depth" / f"{scene}_2.mat")
    raw = io.read_mat(p, "img_double")
    assert raw.shape == shape and (raw.min(), raw.max()) == (lo, hi)
    dm = io.read_depth(p, scale=scale)
    assert dm.valid.all()  # hole-filled
    np.testing.assert_allclose(dm.values, raw / scale, rtol=1e-6)
    rgb = io.read_image(data_root / "middlebury_2001_2003" / "RGB" / f"{scene}.bmp")
    assert rgb.shape[2] == 3 and 0 <= rgb.shape[0] - shape[0] <= 1


def test_middlebury_2001_depth_only(data_root: Path) -> None:
    folder = _need(data_root / "middlebury_2001_depth")
    files = sorted(folder.glob("Df_*.mat"))
    assert len(files) == 6
    for f in files:
        raw = io.read_mat(f)
        assert raw.dtype == np.uint8 and 380 <= raw.shape[0] <= 383
        assert 24 <= raw.min() and raw.max() <= 161


def test_sintel_mat_quantised_to_one_64th(data_root: Path) -> None:
    folder = _need(data_root / "sintel_depth")
    for i in (1, 20, 28, 58):  # MSG-Net's validation indices
        m = io.read_mat(folder / f"Df_{i}.mat", "Df")
        assert m.shape == (436, 1024) and m.dtype == np.float64
        np.testing.assert_array_equal(m * 64, np.round(m * 64))
        dm = io.read_depth(folder / f"Df_{i}.mat")
        np.testing.assert_allclose(dm.values[dm.valid], m[dm.valid], rtol=1e-6)


def test_sintel_map_round_trips_through_dpt_and_pfm(data_root: Path, tmp_path: Path) -> None:
    dm = io.read_depth(_need(data_root / "sintel_depth" / "Df_1.mat"))
    for suffix in (".dpt", ".pfm"):
        back = io.read_depth(io.write_depth(tmp_path / f"s{suffix}", dm.values, dm.valid))
        np.testing.assert_array_equal(back.values, dm.values)
        np.testing.assert_array_equal(back.valid, dm.valid)


# ------------------------------------------------------------------ sparse / LiDAR


def test_tofmark_sparse_depth_bmp(data_root: Path) -> None:
    for name in ("books", "devil", "shark"):
        dm = io.read_depth(_need(data_root / "tofmark" / f"{name}_depth.bmp"))
        assert dm.values.shape == (610, 810)
        assert 12_000 < dm.valid.sum() < 12_700  # ~2.5 % of the pixels
        grey = io.read_image(data_root / "tofmark" / f"{name}.bmp")
        assert grey.shape == (610, 810)


def test_kitti_velodyne_projects_into_image(data_root: Path) -> None:
    folder = _need(data_root / "kitti" / "object_000007")
    pts = io.read_velodyne(folder / "velodyne_000007.bin")
    assert pts.shape == (115236, 4) and pts.dtype == np.float32
    cal = io.read_calib_txt(folder / "calib_000007.txt")
    P2 = cal["P2"].reshape(3, 4)
    R0 = np.eye(4)
    R0[:3, :3] = cal["R0_rect"].reshape(3, 3)
    Tr = np.eye(4)
    Tr[:3] = cal["Tr_velo_to_cam"].reshape(3, 4)
    X = np.c_[pts[:, :3].astype(np.float64), np.ones(len(pts))].T
    x = P2 @ R0 @ Tr @ X
    z = x[2]
    with np.errstate(divide="ignore", invalid="ignore"):
        u, v = x[0] / z, x[1] / z
    h, w = io.read_image(folder / "image_2_000007.png").shape[:2]
    assert (h, w) == (375, 1242)
    inside = (z > 0) & (u >= 0) & (u < w) & (v >= 0) & (v < h)
    assert inside.sum() == 18407  # the README's check
    assert z[inside].min() == pytest.approx(3.25, abs=0.01)
    assert z[inside].max() == pytest.approx(77.2, abs=0.05)


def test_kitti_calib_files(data_root: Path) -> None:
    raw = _need(data_root / "kitti" / "raw_calib_2011_09_26")
    c2c = io.read_calib_txt(raw / "calib_cam_to_cam.txt")
    assert "calib_time" not in c2c  # a date, not numbers
    assert c2c["P_rect_02"].reshape(3, 4).shape == (3, 4)
    assert c2c["S_rect_02"].size == 2
    v2c = io.read_calib_txt(raw / "calib_velo_to_cam.txt")
    R = v2c["R"].reshape(3, 3)
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-5)  # a rotation
    odo = io.read_calib_txt(_need(data_root / "kitti" / "odometry06" / "KITTI04-12.yaml"))
    assert odo["Camera.bf"][0] / odo["Camera.fx"][0] == pytest.approx(0.5372, abs=1e-4)


def test_nyu_sample_8bit_png(data_root: Path) -> None:
    dm = io.read_depth(_need(data_root / "nyu_sample" / "1025_big.png"))
    assert dm.values.shape == (480, 640) and dm.values.max() == 255
    rgb = io.read_image(data_root / "nyu_sample" / "1025_color.png")
    assert rgb.shape == (480, 640, 3)


def test_show_command_on_real_pair(
    data_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = _need(data_root / "rgbd_open3d" / "other_formats" / "TUM_depth.png")
    rgb = data_root / "rgbd_open3d" / "other_formats" / "TUM_color.png"
    out = tmp_path / "tum.png"
    assert main(["show", str(d), "--scale", "5000", "--rgb", str(rgb), "-o", str(out)]) == 0
    panel = io.read_image(out)
    assert panel.shape[1] == 3 * 640 + 2 * 4
