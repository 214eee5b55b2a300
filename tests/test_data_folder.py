"""Generic folder datasets and intrinsics files (synthetic layouts + the shared samples)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from depthduet import io as dio
from depthduet.data import folder
from depthduet.errors import UserError

# ---------------------------------------------------------------------------------------------
# intrinsics files
# ---------------------------------------------------------------------------------------------


def test_read_camera_formats(tmp_path: Path) -> None:
    K = np.array([[500.0, 0, 320], [0, 510, 240], [0, 0, 1]])
    (tmp_path / "k9.txt").write_text("500 0 320\n0 510 240\n0 0 1\n")
    (tmp_path / "k4.txt").write_text("500, 510, 320, 240")
    (tmp_path / "k.json").write_text(json.dumps({"K": K.tolist(), "baseline": 0.12}))
    (tmp_path / "k.yaml").write_text(
        "%YAML:1.0\nCamera.fx: 500\nCamera.fy: 510\nCamera.cx: 320\nCamera.cy: 240\nCamera.bf: 60\n"
    )
    (tmp_path / "camera.json").write_text(
        json.dumps(
            {
                "extrinsic": {"baseline": 0.209},
                "intrinsic": {"fx": 500, "fy": 510, "u0": 320, "v0": 240},
            }
        )
    )
    for name in ("k9.txt", "k4.txt", "k.json", "k.yaml", "camera.json"):
        np.testing.assert_allclose(folder.read_camera(tmp_path / name).K, K)
    assert folder.read_camera(tmp_path / "k9.txt").baseline is None
    assert folder.read_camera(tmp_path / "k.json").baseline == 0.12
    assert folder.read_camera(tmp_path / "k.yaml").baseline == pytest.approx(60 / 500)
    assert folder.read_camera(tmp_path / "camera.json").baseline == 0.209


def test_read_camera_errors(tmp_path: Path) -> None:
    (tmp_path / "bad.txt").write_text("1 2 3")
    (tmp_path / "nofx.yaml").write_text("fy: 1\ncx: 2\ncy: 3\n")
    (tmp_path / "broken.json").write_text("{")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(UserError, match=r"bad.txt: expected 9 numbers .* got 3"):
        folder.read_camera(tmp_path / "bad.txt")
    with pytest.raises(UserError, match="nofx.yaml: no intrinsics: missing fx"):
        folder.read_camera(tmp_path / "nofx.yaml")
    with pytest.raises(UserError, match="broken.json: not valid JSON"):
        folder.read_camera(tmp_path / "broken.json")
    with pytest.raises(UserError, match="list.yaml: expected a mapping"):
        folder.read_camera(tmp_path / "list.yaml")
    with pytest.raises(UserError, match="missing.txt: intrinsics file not found"):
        folder.read_camera(tmp_path / "missing.txt")


# ---------------------------------------------------------------------------------------------
# synthetic layouts
# ---------------------------------------------------------------------------------------------


def _rgbd_folder(root: Path) -> None:
    for i, stem in enumerate(["f2", "f10", "f1"]):
        img = np.zeros((5, 7, 3), np.uint8)
        img[..., 0] = 50 * i
        dio.write_image(root / "color" / f"{stem}.png", img)
        d = np.full((4, 6), 1000.0 * (i + 1))
        d[0, 0] = 0  # unknown
        dio.write_depth(root / "depth" / f"{stem}.png", d, d > 0, scale=1)
    (root / "intrinsics.txt").write_text("100 100 3 2\n")


def test_rgbd_folder(tmp_path: Path) -> None:
    _rgbd_folder(tmp_path)
    ds = folder.RGBDFolderDataset(tmp_path)
    assert [p[0] for p in ds.pairs] == ["f1", "f2", "f10"]  # natural order
    s = ds[1]
    assert s["name"] == "f2" and s["unit"] == "m"
    assert s["image"].shape == (3, 4, 6)  # cropped to the depth size
    assert s["image"][0, 0, 0].item() == pytest.approx(0.0)
    assert s["depth"][0, 1, 1].item() == pytest.approx(1.0)
    assert not s["valid"][0, 0, 0] and s["valid"].sum().item() == 23 and s["depth"][0, 0, 0] == 0
    torch.testing.assert_close(s["K"], torch.tensor([[100.0, 0, 3], [0, 100, 2], [0, 0, 1]]))
    mm = folder.RGBDFolderDataset(tmp_path, depth_scale=1, unit="mm", names=["f10"])
    assert len(mm) == 1 and mm[0]["depth"][0, 1, 1].item() == 2000.0


def test_rgbd_folder_errors(tmp_path: Path) -> None:
    _rgbd_folder(tmp_path)
    with pytest.raises(UserError, match="no depth map named 'f3'"):
        dio.write_image(tmp_path / "color" / "f3.png", np.zeros((5, 7, 3), np.uint8))
        folder.RGBDFolderDataset(tmp_path, names=["f3"])
    with pytest.raises(UserError, match="no colour image named 'zz'"):
        folder.RGBDFolderDataset(tmp_path, names=["zz"])
    with pytest.raises(UserError, match="depth_scale must be > 0"):
        folder.RGBDFolderDataset(tmp_path, depth_scale=0)
    with pytest.raises(UserError, match="nothing: RGB-D folder not found"):
        folder.RGBDFolderDataset(tmp_path / "nothing")
    dio.write_image(tmp_path / "color" / "f1.png", np.zeros((3, 3, 3), np.uint8))
    with pytest.raises(
        UserError,
        match=r"depth/f1.png: depth map is 4x6, larger than its colour image .*color/f1.png \(3x3\)",
    ):
        folder.RGBDFolderDataset(tmp_path, names=["f1"])[0]
    (tmp_path / "depth" / "f2.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(dio.DepthIOError, match="f2.png"):
        folder.RGBDFolderDataset(tmp_path, names=["f2"])[0]


def test_depth_folder(tmp_path: Path) -> None:
    for i in (1, 2, 10):
        np.save(tmp_path / f"d{i}.npy", np.array([[i, 0.0], [np.nan, 2 * i]], np.float32))
    ds = folder.DepthFolderDataset(tmp_path, scale=2, unit="disparity_px")
    assert [p.stem for p in ds.files] == ["d1", "d2", "d10"]
    s = ds[2]
    assert "image" not in s and s["unit"] == "disparity_px"
    torch.testing.assert_close(s["depth"], torch.tensor([[[5.0, 0], [0, 10]]]))
    assert s["valid"].tolist() == [[[True, False], [False, True]]]
    with pytest.raises(UserError, match="no depth map named 'd3'"):
        folder.DepthFolderDataset(tmp_path, names=["d3"])
    with pytest.raises(UserError, match="no depth maps matching"):
        folder.DepthFolderDataset(tmp_path, pattern="*.pfm")


def test_image_sequence_neighbours(tmp_path: Path) -> None:
    for i in (3, 4, 5, 7):
        dio.write_image(tmp_path / f"frame{i:03d}.png", np.full((4, 5, 3), 20 * i, np.uint8))
    dio.write_image(tmp_path / "frame004_R.png", np.full((4, 5, 3), 255, np.uint8))
    (tmp_path / "cam.yaml").write_text("fx: 10\nfy: 10\ncx: 2\ncy: 1.5\nbaseline: 0.3\n")
    ds = folder.ImageSequenceDataset(tmp_path, "cam.yaml", regex=r"frame(\d+)\.png")
    assert ds.targets == [4]
    s = ds[0]
    assert s["image"][0, 0, 0].item() == pytest.approx(80 / 255)
    assert s["image_prev"][0, 0, 0].item() == pytest.approx(60 / 255)
    assert s["image_next"][0, 0, 0].item() == pytest.approx(100 / 255)
    st = folder.ImageSequenceDataset(
        tmp_path, "cam.yaml", regex=r"frame(\d+)\.png", offsets=(), stereo_format="frame{id}_R.png"
    )
    assert st.targets == [4] and st[0]["T_stereo_tgt"][0, 3].item() == pytest.approx(-0.3)
    far = folder.ImageSequenceDataset(
        tmp_path, "cam.yaml", regex=r"frame(\d+)\.png", offsets=(-1, 1, 3)
    )
    assert far.targets == [4] and set(far[0]) >= {"image_+3", "image_prev", "image_next"}
    assert far[0]["image_+3"][0, 0, 0].item() == pytest.approx(140 / 255)
    with pytest.raises(UserError, match="no frame has all neighbours"):
        folder.ImageSequenceDataset(tmp_path, "cam.yaml", regex=r"frame(\d+)\.png", offsets=(-3, 3))
    with pytest.raises(UserError, match="needs a group"):
        folder.ImageSequenceDataset(tmp_path, "cam.yaml", regex=r"frame\d+\.png")


# ---------------------------------------------------------------------------------------------
# shared sample data
# ---------------------------------------------------------------------------------------------


def test_kitti_odometry_triplet_with_intrinsics(data_root: Path) -> None:
    d = data_root / "kitti" / "odometry06"
    ds = folder.ImageSequenceDataset(d, d / "KITTI04-12.yaml", regex=r"kitti06-(\d+)-color\.png")
    assert len(ds) == 1 and ds.targets == [13]  # 12, 13, 14 consecutive; 17 has no neighbours
    s = ds[0]
    assert s["image"].shape == s["image_prev"].shape == s["image_next"].shape == (3, 370, 1226)
    torch.testing.assert_close(
        s["K"], torch.tensor([[707.0912, 0, 601.8873], [0, 707.0912, 183.1104], [0, 0, 1]])
    )
    assert ds.baseline == pytest.approx(379.8145 / 707.0912)
    ref = folder.load_rgb(d / "kitti06-12-color.png")
    torch.testing.assert_close(s["image_prev"], ref)
    # consecutive frames of a slowly moving car are closer to each other than to frame 17
    far = folder.load_rgb(d / "kitti06-17-color.png")
    assert (s["image"] - s["image_next"]).abs().mean() < (s["image"] - far).abs().mean()
    st = folder.ImageSequenceDataset(
        d,
        d / "KITTI04-12.yaml",
        regex=r"kitti06-(\d+)-color\.png",
        offsets=(),
        stereo_format="kitti06-{id}-R-color.png",
    )
    assert st.targets == [12]
    assert st[0]["T_stereo_tgt"][0, 3].item() == pytest.approx(-0.5372, abs=1e-4)


def test_open3d_sequence_metric_depth(data_root: Path) -> None:
    d = data_root / "rgbd_open3d"
    ds = folder.RGBDFolderDataset(d, image_dir="color", depth_dir="depth", depth_scale=1000)
    assert len(ds) == 5
    s = ds[0]
    assert s["image"].shape == (3, 480, 640) and "K" not in s
    frac_invalid = 1 - s["valid"].float().mean().item()
    assert 0.05 < frac_invalid < 0.25  # README: about 13 % invalid
    assert s["depth"].max().item() <= 2.702 + 1e-6
    assert max(x["depth"].max().item() for x in ds) == pytest.approx(2.702, abs=1e-3)


@pytest.mark.parametrize(
    "stem, kwargs, lo, hi",
    [
        ("TUM", {"depth_scale": 5000.0}, 1.46, 9.33),
        ("SUN", {"depth_scale": None, "encoding": "sun-rotated"}, 1.06, 9.87),
        ("NYU", {"depth_scale": None, "encoding": "kinect-raw"}, 1.39, 6.69),
    ],
)
def test_open3d_single_pairs_metric_ranges(
    data_root: Path, stem: str, kwargs: dict, lo: float, hi: float
) -> None:
    d = data_root / "rgbd_open3d" / "other_formats"
    ds = folder.RGBDFolderDataset(
        d,
        image_dir=".",
        depth_dir=".",
        image_glob=f"{stem}_color.*",
        depth_stem=("_color$", "_depth"),
        **kwargs,
    )
    s = ds[0]
    v = s["depth"][s["valid"]]
    assert s["image"].shape == (3, 480, 640)
    assert v.min().item() == pytest.approx(lo, abs=0.01)
    assert v.max().item() == pytest.approx(hi, abs=0.01)
    if stem == "NYU":
        assert 1 - s["valid"].float().mean().item() == pytest.approx(0.072, abs=0.005)
    with pytest.raises(UserError, match="use depth_scale=None"):
        folder.RGBDFolderDataset(
            d,
            image_dir=".",
            depth_dir=".",
            image_glob="SUN_color.*",
            depth_stem=("_color$", "_depth"),
            encoding="sun-rotated",
        )


def test_list_files_natural_order_and_broken_links(tmp_path: Path) -> None:
    for name in ("f10.npy", "f2.npy", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "gone.npy").symlink_to("nowhere.npy")
    (tmp_path / "sub.npy").mkdir()  # a folder with a depth suffix is never listed
    assert [p.name for p in folder.list_files(tmp_path, (".npy",))] == ["f2.npy", "f10.npy"]
    listed = folder.list_files(tmp_path, (".npy",), broken_links=True)
    assert [p.name for p in listed] == ["f2.npy", "f10.npy", "gone.npy"]


def test_first_missing_parent(tmp_path: Path) -> None:
    from depthduet.paths import first_missing_parent

    assert first_missing_parent(tmp_path) is None
    assert first_missing_parent(tmp_path / "a" / "b" / "c") == tmp_path / "a"
    (tmp_path / "a").mkdir()
    assert first_missing_parent(tmp_path / "a" / "b" / "c") == tmp_path / "a" / "b"


def test_select_files_keeps_the_order_of_the_names_and_words_both_errors(tmp_path: Path) -> None:
    from depthduet.data.folder_files import select_files

    files = [tmp_path / f"{n}.png" for n in ("a", "b", "c")]
    assert select_files(files, None, str, "none") == files
    assert select_files(files, ["c", "a"], str, "none") == [files[2], files[0]]
    by_scene = {"scene_b": files[1]}
    assert select_files(files, ["scene_b"], str, "none", index=by_scene) == [files[1]]
    with pytest.raises(UserError, match="^root: no map named 'd'$"):
        select_files(files, ["a", "d"], lambda n: f"root: no map named {n!r}", "none")
    with pytest.raises(UserError, match="^root: no depth maps$"):
        select_files([], None, str, "root: no depth maps")
    with pytest.raises(UserError, match="^root: no depth maps$"):
        select_files(files, [], str, "root: no depth maps")
