"""Miniature datasets in the official layouts: the files, their loaders, the ``synth --layout``
command, and 2-step training + evaluation runs of the shipped dataset configs on them."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from depthduet import io as dio
from depthduet.cli import main
from depthduet.data import miniatures as mini
from depthduet.data.cityscapes import CityscapesDataset, cityscapes_disparity
from depthduet.data.kitti import (
    KittiRawDataset,
    export_lidar_gt,
    read_kitti_depth_png,
    read_raw_calib,
)
from depthduet.data.middlebury import MiddleburyDataset
from depthduet.data.nyu import NYUv2MatDataset
from depthduet.data.splits import read_kitti_split, read_nyu_splits_mat
from depthduet.data.world import WorldConfig, render_sequence
from depthduet.errors import UserError
from depthduet.geometry import warp

ENGINE = [
    "engine.max_steps=2",
    "engine.epochs=1",
    "engine.batch_size=2",
    "engine.progress=false",
    "engine.tensorboard=false",
    "engine.threads=1",
    "engine.device=cpu",
]


@pytest.fixture(scope="module")
def kitti(tmp_path_factory) -> dict[str, Any]:
    """KITTI raw + depth benchmark miniatures of the same 4 drives (3 train, 1 held out)."""
    base = tmp_path_factory.mktemp("kitti")
    raw = mini.write_kitti_raw(base / "kitti_raw", n=4, seed=0)
    depth = mini.write_kitti_depth(base / "kitti_depth", n=4, seed=0)
    return {"raw": raw, "depth": depth, "base": base}


@pytest.fixture(scope="module")
def cityscapes(tmp_path_factory) -> dict[str, Any]:
    return mini.write_cityscapes(tmp_path_factory.mktemp("cs") / "cityscapes", n=5, seed=0)


@pytest.fixture(scope="module")
def nyu(tmp_path_factory) -> dict[str, Any]:
    return mini.write_nyu_v2_mat(tmp_path_factory.mktemp("nyu") / "nyu", n=5, seed=0)


@pytest.fixture(scope="module")
def middlebury(tmp_path_factory) -> dict[str, Any]:
    return mini.write_middlebury(tmp_path_factory.mktemp("mb") / "middlebury", n=5, seed=0)


@pytest.fixture
def run_dir(tmp_path) -> Iterator[Path]:
    """A run folder, removed afterwards (a METHOD B run writes about 1 GB of checkpoints)."""
    run = tmp_path / "run"
    yield run
    shutil.rmtree(run, ignore_errors=True)


def _stereo_errors(s: dict[str, Any]) -> tuple[float, float]:
    """Mean photometric error of the stereo image warped into the target view with the
    sample's depth, ``K`` and ``T_stereo_tgt``, and with the baseline's sign flipped."""
    out = []
    for sign in (1.0, -1.0):
        T = s["T_stereo_tgt"].clone()
        T[0, 3] *= sign
        d, v = s["depth"][None], s["valid"][None]
        d = torch.where(v, d, torch.full_like(d, 1e3))
        syn = warp(s["image_stereo"][None], d, s["K"][None], T[None])
        out.append(float((syn - s["image"][None]).abs().mean(1, keepdim=True)[v].mean()))
    return out[0], out[1]


# ----------------------------------------------------------------------------------------------
# the files, read back by the loaders
# ----------------------------------------------------------------------------------------------
def test_kitti_raw_files(kitti) -> None:
    raw = kitti["raw"]
    root = Path(raw["root"])
    r = render_sequence("driving", 0, WorldConfig(height=64, width=208, frames=3, lidar_beams=64))
    cal = read_raw_calib(root / mini.KITTI_DATE)
    np.testing.assert_allclose(cal.K(2), r["K"], atol=1e-6)
    assert cal.baseline(2, 3) == pytest.approx(0.54) and cal.sizes[2] == (64, 208)
    assert cal.T_stereo(2, 3)[0, 3] == pytest.approx(-0.54)
    train = read_kitti_split(raw["paths"]["train_split"])
    assert [(e.frame, e.side) for e in train[:2]] == [(1, "l"), (1, "r")] and len(train) == 6
    test = read_kitti_split(raw["paths"]["test_split"])
    assert {e.folder for e in test} == set(raw["splits"]["test"]) and len(test) == 3
    drive = root / train[0].folder
    scan = dio.read_velodyne(drive / "velodyne_points" / "data" / "0000000001.bin")
    assert scan.dtype == np.float32 and scan.shape[1] == 4
    assert (scan[:, 0] < 0).any() and 0 <= scan[:, 3].min() and scan[:, 3].max() <= 1
    # in view, the scan projects exactly onto the rendered LiDAR returns, in metres
    left, right = KittiRawDataset(root, split=train[:2], offsets=(-1, 1))
    lidar = left["lidar"][0].numpy()
    assert np.array_equal(lidar > 0, r["lidar"][1] > 0) and len(scan) > (lidar > 0).sum()
    np.testing.assert_allclose(lidar, r["lidar"][1], atol=1e-4)
    md2 = KittiRawDataset(root, split=train[:1], offsets=(), convention="monodepth2")[0]
    shifted = np.zeros_like(lidar)
    shifted[:-1, :-1] = r["lidar"][1][1:, 1:]  # monodepth2: pixel (round(u) - 1, round(v) - 1)
    assert np.array_equal(md2["lidar"][0].numpy() > 0, shifted > 0)
    np.testing.assert_allclose(
        left["image_prev"].numpy().transpose(1, 2, 0), r["images"][0], atol=0.5 / 255 + 1e-6
    )
    np.testing.assert_allclose(
        left["image_stereo"].numpy().transpose(1, 2, 0), r["right"][1], atol=0.5 / 255 + 1e-6
    )
    # the image_03 target sees the scan from 0.54 m to the right: most returns match its depth
    got = right["lidar"][0].numpy()
    hit = got > 0
    assert np.mean(np.abs(got[hit] - r["right_depths"][1][hit]) <= 0.01 * got[hit]) > 0.85
    # stereo geometry: warping with T_stereo_tgt reproduces the target, the flipped sign does not
    for s in (left, right):
        good, flipped = _stereo_errors(s)
        assert good < 0.03 and flipped > 3 * good
    resized = KittiRawDataset(root, split=train[:1], offsets=(), size=(64, 192))[0]
    good, flipped = _stereo_errors(resized)
    assert good < 0.03 and flipped > 3 * good
    assert resized["K"][0, 0].item() == pytest.approx(r["K"][0, 0] * 192 / 208, rel=1e-5)


def test_kitti_depth_files(kitti) -> None:
    raw, dep = kitti["raw"], kitti["depth"]
    r = render_sequence("driving", 3, WorldConfig(height=64, width=208, frames=3, lidar_beams=64))
    drive = Path(dep["root"]) / "val" / "2011_09_26_drive_0004_sync" / "proj_depth"
    assert dep["splits"]["val"] == ["2011_09_26_drive_0004_sync"]
    gt = read_kitti_depth_png(drive / "groundtruth" / "image_02" / "0000000002.png")
    world = r["depths"][2]
    assert np.abs(gt.values - world)[gt.valid].max() <= 1 / 512 + 1e-6
    top = np.nonzero(r["lidar"][2].any(1))[0].min()
    assert not gt.valid[:top].any() and gt.values.max() < 80.0
    assert gt.valid[top:].mean() > 0.5
    right = read_kitti_depth_png(drive / "groundtruth" / "image_03" / "0000000002.png")
    assert np.abs(right.values - r["right_depths"][2])[right.valid].max() <= 1 / 512 + 1e-6
    # the loader's annotated ground truth and projected scan agree with the benchmark files
    split = read_kitti_split(raw["paths"]["benchmark_split"])
    s = KittiRawDataset(
        raw["root"], split=split[2:3], offsets=(), gt="annotated", annotated_root=dep["root"]
    )[0]
    np.testing.assert_array_equal(s["depth"][0].numpy(), gt.values)
    vraw = read_kitti_depth_png(drive / "velodyne_raw" / "image_02" / "0000000002.png")
    np.testing.assert_array_equal(vraw.valid, s["lidar"][0].numpy() > 0)
    assert np.abs(vraw.values - s["lidar"][0].numpy()).max() <= 1 / 512 + 1e-6


def test_nyu_v2_mat_files(nyu) -> None:
    mat = Path(nyu["paths"]["mat"])
    assert mat.read_bytes()[:10] == b"MATLAB 7.3" and mat.read_bytes()[512:516] == b"\x89HDF"
    splits = read_nyu_splits_mat(nyu["paths"]["splits"])
    assert splits == {"train": [0, 1, 2, 3], "test": [4]}
    ds = NYUv2MatDataset(mat, split="test", scheme="official", splits_mat=nyu["paths"]["splits"])
    s = ds[0]
    cfg = WorldConfig(height=60, width=80, hfov_deg=63.3, frames=1, stereo=False, lidar_beams=0)
    r = render_sequence("indoor", 4, cfg)
    assert s["name"] == "nyu_0005" and s["image"].shape == (3, 60, 80)
    np.testing.assert_allclose(
        s["image"].numpy().transpose(1, 2, 0), r["images"][0], atol=0.5 / 255 + 1e-6
    )
    np.testing.assert_array_equal(s["depth"][0].numpy(), r["depths"][0])
    assert s["valid"].all()
    rd = NYUv2MatDataset(mat, split=[4], raw=True)[0]
    assert 0.5 < rd["valid"].float().mean() < 1.0  # holes in the sensor capture
    ok = rd["valid"][0].numpy()
    rel = np.abs(rd["depth"][0].numpy() - r["depths"][0])[ok] / r["depths"][0][ok]
    assert 0 < np.median(rel) < 0.02  # noise growing with depth, metres
    np.testing.assert_array_equal(dio.read_mat(mat, key="depths", index=4), r["depths"][0])
    assert dio.read_mat(mat, key="images").shape == (60, 80, 3, 5)  # MATLAB H x W x 3 x N


def test_middlebury_files(middlebury) -> None:
    root = Path(middlebury["root"])
    ds = MiddleburyDataset(root)
    assert [s.name for s in ds.scenes] == [f"Scene0{i}-perfect" for i in range(1, 6)]
    assert [ds[i]["depth"].shape[-1] for i in range(3)] == [96, 102, 108]
    depth = MiddleburyDataset(root, to_depth=True)
    for i in (0, 4):
        s, d = ds[i], depth[i]
        assert s["unit"] == "disparity_px" and d["unit"] == "mm"
        wi = s["depth"].shape[-1]
        cfg = WorldConfig(height=64, width=wi, hfov_deg=40.8, frames=1, stereo=False, lidar_beams=0)
        world = render_sequence("indoor", i, cfg)["depths"][0]
        ok = d["valid"][0].numpy()
        assert 0.7 < ok.mean() < 1.0  # occluded pixels are unknown (inf in disp0.pfm)
        np.testing.assert_allclose(d["depth"][0].numpy()[ok], 1000 * world[ok], rtol=1e-4)
        # im0 pixel (u, v) shows what im1 shows at (u - d, v)
        im0, im1 = s["image"], dio.read_image(root / s["name"] / "im1.png")
        v, u = np.nonzero(ok)
        j = np.round(u - s["depth"][0].numpy()[v, u]).astype(int)
        err = np.abs(im1[v, j] - im0.numpy().transpose(1, 2, 0)[v, u]).mean()
        shifted = np.abs(
            im1[v, np.clip(j + 3, 0, wi - 1)] - im0.numpy().transpose(1, 2, 0)[v, u]
        ).mean()
        assert err < 0.03 and shifted > 2 * err


def test_cityscapes_files(cityscapes) -> None:
    root = Path(cityscapes["root"])
    assert cityscapes["splits"]["val"] == ["frankfurt_000004_000019"]
    cfg = WorldConfig(
        height=80,
        width=160,
        hfov_deg=48.7,
        frames=3,
        baseline=0.22,
        lidar_beams=0,
        speed_scale=0.5,
    )
    r = render_sequence("driving", 4, cfg)
    s = CityscapesDataset(root, "val", offsets=(-1, 1), stereo=True)[0]
    assert s["name"] == "frankfurt_000004_000019"
    assert s["T_stereo_tgt"][0, 3].item() == pytest.approx(-0.22)
    np.testing.assert_allclose(s["K"].numpy(), r["K"], atol=1e-5)
    np.testing.assert_allclose(
        s["image_next"].numpy().transpose(1, 2, 0), r["images"][2], atol=0.5 / 255 + 1e-6
    )
    ok = s["valid"][0].numpy()
    world = r["depths"][1]
    assert 0.6 < ok.mean() and not ok[world <= 0].any()
    z = s["depth"][0].numpy()[ok]
    fb = r["K"][0, 0] * 0.22
    assert np.all(np.abs(z - world[ok]) <= z * z / fb / 512 * 1.01 + 1e-5)  # 1/512 px rounding
    disp = cityscapes_disparity(
        root / "disparity" / "val" / "frankfurt" / "frankfurt_000004_000019_disparity.png"
    )
    v, u = np.nonzero(disp.valid)
    assert (u - disp.values[v, u] >= -0.5).all()  # nothing matches left of the right view
    good, flipped = _stereo_errors(s)
    assert good < 0.02 and flipped > 3 * good
    small = CityscapesDataset(root, "train", stereo=True, size=(64, 128))[0]
    good, flipped = _stereo_errors(small)
    assert good < 0.02 and flipped > 3 * good


def test_deterministic_and_atomic(tmp_path, monkeypatch) -> None:
    def digest(root: str) -> dict[str, str]:
        files = sorted(p for p in Path(root).rglob("*") if p.is_file())
        return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}

    for layout in mini.LAYOUTS:
        a = mini.write_miniature(layout, tmp_path / f"{layout}-a", n=2, size=(32, 48), seed=7)
        b = mini.write_miniature(layout, tmp_path / f"{layout}-b", n=2, size=(32, 48), seed=7)
        assert digest(a["root"]) == digest(b["root"]) and a["files"] == len(digest(a["root"]))
    c = mini.write_miniature("cityscapes", tmp_path / "c", n=2, size=(32, 48), seed=8)
    assert digest(c["root"]) != digest(str(tmp_path / "cityscapes-a"))
    # a failure while writing leaves neither the folder nor a temporary one
    before = sorted(p.name for p in tmp_path.iterdir())

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(mini.dio, "write_pfm", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        mini.write_middlebury(tmp_path / "mb", n=2, size=(32, 48))
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    kept = digest(str(tmp_path / "middlebury-a"))
    with pytest.raises(RuntimeError, match="disk full"):  # an old miniature survives
        mini.write_middlebury(tmp_path / "middlebury-a", n=2, size=(32, 48), overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert digest(str(tmp_path / "middlebury-a")) == kept
    with pytest.raises(UserError, match="unknown"):
        mini.write_miniature("sun-rgbd", tmp_path / "x")


# ----------------------------------------------------------------------------------------------
# depthduet synth --layout
# ----------------------------------------------------------------------------------------------
def test_synth_layout_cli(tmp_path, capsys) -> None:
    out = tmp_path / "kitti"
    argv = ["synth", "--layout", "kitti-raw", "--n", "2", "--size", "32x96", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "kitti-raw miniature, 2 samples of 32x96" in printed and "train_split:" in printed
    assert (out / mini.KITTI_DATE / "calib_cam_to_cam.txt").is_file()
    files = sorted(p for p in out.rglob("*"))
    assert main(argv) == 2  # not empty: refused, untouched
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "folder exists and is not empty" in err and "--overwrite" in err
    assert sorted(p for p in out.rglob("*")) == files
    assert main([*argv[:-2], "--seed", "3", "--out", str(out), "--overwrite"]) == 0
    assert "seed: 3" in (out / mini.MARKER_FILE).read_text()
    other = tmp_path / "mine"
    other.mkdir()
    (other / "keep.txt").write_text("x")
    assert main(["synth", "--layout", "nyu-v2-mat", "--out", str(other), "--overwrite"]) == 2
    assert "holds no miniature.yaml" in capsys.readouterr().err
    assert (other / "keep.txt").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kitti", "mine"]


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--n", "1"], "--n 1: need 2..200"),
        (["--n", "500"], "--n 500"),
        (["--size", "8x64"], "--size 8x64"),
        (["--seed", "-2"], "--seed -2"),
        (["--frames", "5"], "--frames: applies to --kind"),
        (["--set", "lidar_noise=0.1"], "--set: applies to --kind"),
    ],
)
def test_synth_layout_bad_arguments(tmp_path, capsys, extra, message) -> None:
    out = tmp_path / "x"
    assert main(["synth", "--layout", "middlebury", "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_synth_kind_and_layout(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit):
        main(["synth", "--kind", "indoor", "--layout", "kitti-raw", "--out", str(tmp_path / "a")])
    with pytest.raises(SystemExit):
        main(["synth", "--out", str(tmp_path / "a")])
    capsys.readouterr()
    assert main(["synth", "--kind", "indoor", "--out", str(tmp_path / "a")]) == 2
    assert "--n: required with --kind" in capsys.readouterr().err
    argv = ["synth", "--kind", "indoor", "--n", "1", "--size", "32x40", "--quiet"]
    assert main([*argv, "--out", str(tmp_path / "w")]) == 0
    assert (tmp_path / "w" / "indoor-000000" / "camera.json").is_file()


# ----------------------------------------------------------------------------------------------
# the shipped dataset configs: train 2 steps, then evaluate
# ----------------------------------------------------------------------------------------------
def _check_run(run: Path, steps: int = 2) -> None:
    for f in ("config.yaml", "summary.json", "train.csv", "val.csv"):
        assert (run / f).is_file(), f
    assert (run / "checkpoints" / "last" / "model.json").is_file()
    assert json.loads((run / "summary.json").read_text())["steps"] == steps


def _check_report(path: Path, n_images: int, metric: str) -> dict[str, Any]:
    report = json.loads(path.read_text())
    assert report["n_images"] == n_images
    value = report["results"][-1]["metrics"][metric]
    assert np.isfinite(value) and value > 0
    return report


def test_kitti_semi_config(kitti, tmp_path, run_dir) -> None:
    raw, dep = kitti["raw"], kitti["depth"]
    run = run_dir
    argv = [
        "train",
        "--config",
        "mde/kitti_semi",
        f"data.root={raw['root']}",
        f"data.train_split={raw['paths']['train_split']}",
        f"data.val_split={raw['paths']['benchmark_split']}",
        f"data.annotated_root={dep['root']}",
        "eval.protocol=kitti-eigen-benchmark",
        "data.height=64",
        "data.width=192",
        *ENGINE,
        "--out",
        str(run),
    ]
    assert main(argv) == 0
    _check_run(run)
    # improved ground truth: the benchmark maps of the held-out drive, matched by frame name
    drive = raw["splits"]["test"][0]
    ann = Path(dep["root"]) / "val" / Path(drive).name / "proj_depth" / "groundtruth" / "image_02"
    images = Path(raw["root"]) / drive / "image_02" / "data"
    common = ["--checkpoint", str(run), "--device", "cpu", "--quiet"]
    out = tmp_path / "benchmark.json"
    argv = ["evaluate", "--protocol", "kitti-eigen-benchmark", "--gt", str(ann)]
    argv += ["--gt-scale", "256", "--images", str(images), *common, "--json", str(out)]
    assert main(argv) == 0
    _check_report(out, 3, "abs_rel")
    # raw LiDAR ground truth of the Eigen test list (monodepth2 export), images named alike
    gt = export_lidar_gt(raw["root"], raw["paths"]["test_split"], tmp_path / "gt" / "eigen.npz")
    named = tmp_path / "eigen_images"
    named.mkdir()
    for e in read_kitti_split(raw["paths"]["test_split"]):
        src = Path(raw["root"]) / e.folder / "image_02" / "data" / f"{e.frame:010d}.png"
        shutil.copy(src, named / (e.name.replace("/", "__") + ".png"))
    out = tmp_path / "eigen.json"
    argv = ["evaluate", "--protocol", "kitti-eigen", "--gt", str(gt), "--images", str(named)]
    assert main([*argv, *common, "--json", str(out)]) == 0
    _check_report(out, 3, "abs_rel")


def test_cityscapes_semi_config(cityscapes, tmp_path, run_dir) -> None:
    run = run_dir
    argv = ["train", "--config", "mde/cityscapes_semi", f"data.root={cityscapes['root']}"]
    argv += ["data.height=64", "data.width=128", *ENGINE, "--out", str(run)]
    assert main(argv) == 0
    _check_run(run)
    # the recipe's inference block reaches model.json: what inference reads for the input size
    info = json.loads((run / "checkpoints" / "last" / "model.json").read_text())
    assert info["inference"]["depth_u"]["input_size"] == [64, 128]
    # the protocol scores depth maps against named images: export the val frames' depth
    ev = tmp_path / "eval"
    for s in CityscapesDataset(cityscapes["root"], split="val"):
        dio.write_image(ev / "images" / f"{s['name']}.png", s["image"].numpy().transpose(1, 2, 0))
        dio.write_depth(
            ev / "gt" / f"{s['name']}.npy", s["depth"][0].numpy(), s["valid"][0].numpy()
        )
    out = tmp_path / "eval.json"
    argv = ["evaluate", "--protocol", "kitti-eigen-benchmark", "--gt", str(ev / "gt")]
    argv += ["--images", str(ev / "images"), "--checkpoint", str(run), "--device", "cpu"]
    assert main([*argv, "--quiet", "--json", str(out)]) == 0
    _check_report(out, 1, "abs_rel")


def _export_nyu(nyu: dict[str, Any], folder: Path) -> None:
    """The RGB-D folders nyu_x4.yaml reads: color/*.png + depth/*.png (16-bit millimetres), the
    official train / test frames of the labelled .mat."""
    for split in ("train", "test"):
        ds = NYUv2MatDataset(
            nyu["paths"]["mat"], split=split, scheme="official", splits_mat=nyu["paths"]["splits"]
        )
        for s in ds:
            name = f"{s['name']}.png"
            dio.write_image(folder / split / "color" / name, s["image"].numpy().transpose(1, 2, 0))
            dio.write_depth(
                folder / split / "depth" / name,
                s["depth"][0].numpy(),
                s["valid"][0].numpy(),
                scale=1000,
            )


def test_nyu_x4_config(nyu, tmp_path) -> None:
    data = tmp_path / "nyu_v2"
    _export_nyu(nyu, data)
    assert len(list((data / "train" / "depth").iterdir())) == 4
    back = dio.read_depth(data / "test" / "depth" / "nyu_0005.png", scale=1000)
    mat = dio.read_mat(nyu["paths"]["mat"], key="depths", index=4)
    assert np.abs(back.values - mat).max() <= 0.0005 + 1e-6
    run = tmp_path / "run"
    argv = ["train", "--config", "dsr/nyu_x4", f"data.folder={data / 'train'}"]
    argv += [f"data.val_folder={data / 'test'}", "data.crop=32", *ENGINE, "--out", str(run)]
    assert main(argv) == 0
    _check_run(run)
    out = tmp_path / "eval.json"
    argv = ["evaluate", "--protocol", "nyu-dsr", "--gt", str(data / "test" / "depth")]
    argv += ["--gt-scale", "1000", "--checkpoint", str(run), "--baseline", "bicubic"]
    assert main([*argv, "--scale", "4", "--device", "cpu", "--quiet", "--json", str(out)]) == 0
    report = _check_report(out, 1, "rmse")
    assert report["results"][0]["metrics"]["rmse"] < 100  # cm: the metres of the PNGs


def test_middlebury_x4_config(middlebury, tmp_path) -> None:
    # the RGB-D folder middlebury_x4.yaml reads: color/<scene>.png + depth/<scene>.pfm, which
    # for the 2014 scenes are im0.png and disp0.pfm (inf = unknown) as they are
    data = tmp_path / "middlebury"
    for split, scenes in middlebury["splits"].items():
        for name in scenes:
            scene = Path(middlebury["root"]) / name
            for sub, src, suffix in (("color", "im0.png", ".png"), ("depth", "disp0.pfm", ".pfm")):
                (data / split / sub).mkdir(parents=True, exist_ok=True)
                shutil.copy(scene / src, data / split / sub / f"{name}{suffix}")
    run = tmp_path / "run"
    argv = ["train", "--config", "dsr/middlebury_x4", f"data.folder={data / 'train'}"]
    argv += [f"data.val_folder={data / 'test'}", "data.crop=32", "data.val_crop=48"]
    assert main([*argv, *ENGINE, "--out", str(run)]) == 0
    _check_run(run)
    out = tmp_path / "eval.json"
    argv = ["evaluate", "--protocol", "middlebury-dsr", "--gt", str(data / "test" / "depth")]
    argv += ["--checkpoint", str(run), "--baseline", "bicubic", "--scale", "4"]
    assert main([*argv, "--device", "cpu", "--quiet", "--json", str(out)]) == 0
    _check_report(out, 1, "rmse")
