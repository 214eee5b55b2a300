"""``depthduet evaluate``: file sets, matching, errors naming files, baselines, JSON output."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from depthduet.cli import main
from depthduet.evaluation.protocols import evaluate_image
from depthduet.io import write_depth


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(["evaluate", "--quiet", *map(str, argv)])
    out, err = capsys.readouterr()
    return rc, out, err


def make_pair_folders(tmp_path: Path) -> tuple[Path, Path, dict[str, tuple]]:
    """GT .npy files and 16-bit PNG predictions (KITTI style, scale 256), names a1, a2, a10."""
    rng = np.random.default_rng(0)
    gt_dir, pred_dir = tmp_path / "gt", tmp_path / "pred"
    gt_dir.mkdir()
    pred_dir.mkdir()
    maps = {}
    for i, name in enumerate(["a1", "a2", "a10"]):
        gt = np.where(rng.random((24, 40)) < 0.5, rng.uniform(1.0, 90.0, (24, 40)), 0.0)
        # multiples of 1/256 survive the PNG round trip exactly
        pred = np.round(rng.uniform(0.5, 100.0, (24, 40)) * (0.8 + 0.4 * i) * 256) / 256
        np.save(gt_dir / f"{name}.npy", gt.astype(np.float32))
        write_depth(pred_dir / f"{name}.png", pred, scale=256)
        maps[name] = (gt.astype(np.float32), pred)
    (pred_dir / "notes.txt").write_text("ignored: not a depth file")
    return gt_dir, pred_dir, maps


def expected(protocol: str, maps: dict, names: list[str], **kw) -> dict[str, float]:
    rs = [evaluate_image(protocol, maps[n][0], maps[n][1], **kw) for n in names]
    return {k: float(np.mean([r.metrics[k] for r in rs])) for k in rs[0].metrics}


def test_folders_by_stem_table_json_and_settings(tmp_path: Path, capsys) -> None:
    gt_dir, pred_dir, maps = make_pair_folders(tmp_path)
    out = tmp_path / "res" / "eval.json"
    rc, text, _ = run_cli(
        capsys,
        "--protocol",
        "kitti-eigen-benchmark",
        "--gt",
        gt_dir,
        "--pred",
        pred_dir,
        "--pred-scale",
        "256",
        "--json",
        out,
    )
    assert rc == 0
    assert text.startswith("protocol: kitti-eigen-benchmark")
    report = json.loads(out.read_text())
    assert report["protocol"] == "kitti-eigen-benchmark" and report["n_images"] == 3
    row = report["results"][0]
    assert row["method"] == "pred" and row["median_scaling"] is False
    assert row["caps"]["gt_max_exclusive"] == 80.0 and row["crop"]["kind"] == "none"
    assert [d["name"] for d in row["per_image"]] == ["a1", "a2", "a10"]
    ref = expected("kitti-eigen-benchmark", maps, ["a1", "a2", "a10"])
    for k, v in ref.items():
        assert row["metrics"][k] == pytest.approx(v, rel=1e-9), k
    assert f"{ref['abs_rel']:.4f}" in text
    settings = yaml.safe_load((tmp_path / "res" / "eval.settings.yaml").read_text())
    assert settings["protocol"] == "kitti-eigen-benchmark" and settings["pred_scale"] == 256


def test_stack_matched_by_natural_order_with_median_scaling(tmp_path: Path, capsys) -> None:
    gt_dir, _, maps = make_pair_folders(tmp_path)
    names = ["a1", "a2", "a10"]  # natural order (plain sorting would put a10 second)
    stack = np.stack([maps[n][1] for n in names]).astype(np.float32)
    np.save(tmp_path / "preds.npy", stack)
    out = tmp_path / "e.json"
    rc, text, _ = run_cli(
        capsys,
        "--protocol",
        "kitti-eigen",
        "--gt",
        gt_dir,
        "--pred",
        tmp_path / "preds.npy",
        "--median-scaling",
        "--json",
        out,
    )
    assert rc == 0
    row = json.loads(out.read_text())["results"][0]
    ref = expected(
        "kitti-eigen",
        {n: (maps[n][0], stack[i]) for i, n in enumerate(names)},
        names,
        median_scaling=True,
    )
    for k, v in ref.items():
        assert row["metrics"][k] == pytest.approx(v, rel=1e-9), k
    assert row["median_scaling"] is True and set(row["median_ratios"]) == {"mean", "std", "median"}
    assert "median scaling: ON" in text


def test_npz_of_named_arrays(tmp_path: Path, capsys) -> None:
    gt_dir, _, maps = make_pair_folders(tmp_path)
    np.savez(tmp_path / "p.npz", **{n: maps[n][1] for n in ("a10", "a2", "a1")})
    rc, _, _ = run_cli(
        capsys, "--protocol", "kitti-eigen", "--gt", gt_dir, "--pred", tmp_path / "p.npz"
    )
    assert rc == 0


@pytest.mark.parametrize(
    ("setup", "pattern"),
    [
        ("missing", r"gt/a10\.npy: no prediction named 'a10'"),
        ("extra", r"pred/zz\.png: prediction 'zz' has no ground truth"),
        ("count", r"preds\.npy: holds 2 prediction maps but .*gt holds 3"),
        ("size", r"pred/a2\.png: prediction is 12x20 but ground truth is 24x40"),
        ("nopath", r"nowhere: prediction path does not exist"),
        ("duplicate", r"two prediction files named 'a1'"),
    ],
)
def test_errors_name_the_file(tmp_path: Path, capsys, setup: str, pattern: str) -> None:
    gt_dir, pred_dir, maps = make_pair_folders(tmp_path)
    pred = pred_dir
    extra: list[str] = []
    if setup == "missing":
        (pred_dir / "a10.png").unlink()
    elif setup == "extra":
        write_depth(pred_dir / "zz.png", np.ones((24, 40)), scale=256)
    elif setup == "count":
        np.save(tmp_path / "preds.npy", np.ones((2, 24, 40), np.float32))
        pred = tmp_path / "preds.npy"
    elif setup == "size":
        write_depth(pred_dir / "a2.png", np.ones((12, 20)), scale=256)
        extra = ["--no-resize"]
    elif setup == "nopath":
        pred = tmp_path / "nowhere"
    elif setup == "duplicate":
        np.save(pred_dir / "a1.npy", np.ones((24, 40), np.float32))
    rc, _, err = run_cli(
        capsys, "--protocol", "kitti-eigen", "--gt", gt_dir, "--pred", pred, *extra
    )
    assert rc == 2
    assert err.count("\n") == 1  # one line
    assert __import__("re").search(pattern, err), err


def block_constant_gt(tmp_path: Path) -> Path:
    rng = np.random.default_rng(4)
    d = tmp_path / "mb"
    d.mkdir()
    for name in ("cones", "teddy"):
        blocks = rng.uniform(10, 60, (6, 8))
        np.save(d / f"{name}.npy", np.kron(blocks, np.ones((4, 4))).astype(np.float64))
    return d


def test_dsr_baselines_record_the_degradation(tmp_path: Path, capsys) -> None:
    gt = block_constant_gt(tmp_path)
    out = tmp_path / "b.json"
    args = ["--protocol", "middlebury-dsr", "--gt", gt, "--baseline", "bicubic,nearest"]
    rc, text, _ = run_cli(capsys, *args, "--scale", "4", "--lr-from", "nearest", "--json", out)
    assert rc == 0
    rows = {r["method"]: r for r in json.loads(out.read_text())["results"]}
    near, bic = rows["nearest (baseline)"], rows["bicubic (baseline)"]
    # nearest sampling of block-constant maps, upsampled by nearest, is exact
    assert near["metrics"] == {"rmse": 0.0, "mad": 0.0}
    assert bic["metrics"]["rmse"] > 0.5
    for r in (near, bic):
        assert r["degradation"]["lr_from"] == "nearest" and r["degradation"]["scale"] == 4
        assert r["protocol"] == "middlebury-dsr" and r["n_images"] == 2
    assert "nearest x4" in text
    # the default degradation is bicubic, and it is recorded
    rc, text, _ = run_cli(capsys, *args, "--scale", "4")
    assert rc == 0 and "bicubic x4" in text


def test_given_lr_folder(tmp_path: Path, capsys) -> None:
    gt = block_constant_gt(tmp_path)
    lr_dir = tmp_path / "lr"
    lr_dir.mkdir()
    for f in gt.iterdir():
        np.save(lr_dir / f.name, np.load(f)[2::4, 2::4])
    out = tmp_path / "g.json"
    rc, _, _ = run_cli(
        capsys,
        "--protocol",
        "middlebury-dsr",
        "--gt",
        gt,
        "--baseline",
        "nearest",
        "--scale",
        "4",
        "--lr",
        lr_dir,
        "--json",
        out,
    )
    assert rc == 0
    row = json.loads(out.read_text())["results"][0]
    assert row["degradation"]["lr_from"] == "given" and row["metrics"]["rmse"] == 0.0
    settings = yaml.safe_load((tmp_path / "g.settings.yaml").read_text())
    assert settings["lr_from"] == "given"
    # a given LR map of the wrong size names both files
    bad = sorted(lr_dir.iterdir())[-1]
    np.save(bad, np.load(bad)[:-1])
    rc, _, err = run_cli(
        capsys, "--protocol", "middlebury-dsr", "--gt", gt, "--baseline", "nearest",
        "--scale", "4", "--lr", lr_dir,
    )  # fmt: skip
    assert rc == 2 and str(bad) in err and str(gt / bad.name) in err and "paired wrongly" in err


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (["--protocol", "kitti-eigen", "--baseline", "bicubic", "--scale", "4"], "DSR protocols"),
        (["--protocol", "middlebury-dsr", "--baseline", "bicubic"], "needs --scale"),
        (["--protocol", "middlebury-dsr", "--baseline", "lanczos", "--scale", "2"], "lanczos"),
        (["--protocol", "middlebury-dsr"], "nothing to evaluate"),
        (
            [
                "--protocol",
                "middlebury-dsr",
                "--baseline",
                "nearest",
                "--scale",
                "4",
                "--lr-from",
                "given",
            ],
            "needs --lr",
        ),
        (["--protocol", "nyu-dsr", "--pred", "PRED", "--unit", "mm"], None),
    ],
)
def test_option_errors(tmp_path: Path, capsys, args: list[str], pattern: str | None) -> None:
    gt = block_constant_gt(tmp_path)
    args = [str(gt / "cones.npy") if a == "PRED" else a for a in args]
    rc, _, err = run_cli(capsys, "--gt", gt / "cones.npy", *args)
    if pattern is None:
        assert rc == 0
    else:
        assert rc == 2 and pattern in err, err


def test_dsr_checkpoint_row(tmp_path: Path, capsys) -> None:
    from safetensors.torch import save_file

    from depthduet.models.dbpn import DSRNet

    net = DSRNet(2, n_feats=4, n_base=4, n_stages=1)
    save_file(net.state_dict(), str(tmp_path / "tiny.safetensors"))
    gt = block_constant_gt(tmp_path)
    out = tmp_path / "m.json"
    rc, text, err = run_cli(
        capsys,
        "--protocol",
        "middlebury-dsr",
        "--gt",
        gt,
        "--checkpoint",
        tmp_path / "tiny.safetensors",
        "--baseline",
        "bicubic",
        "--scale",
        "2",
        "--device",
        "cpu",
        "--json",
        out,
    )
    assert rc == 0, err
    rows = json.loads(out.read_text())["results"]
    assert [r["method"] for r in rows] == ["bicubic (baseline)", "tiny.safetensors"]
    assert rows[1]["degradation"]["lr_from"] == "bicubic" and rows[1]["model"]["scale"] == 2
    assert rows[1]["degradation"]["lr_grid"] == "center"
    assert np.isfinite(rows[1]["metrics"]["rmse"])
    # point samples are read on the point grid unless another grid is stated
    ckpt = ["--checkpoint", tmp_path / "tiny.safetensors", "--scale", "2", "--device", "cpu"]
    for extra, grid in (([], "point"), (["--lr-grid", "corner"], "corner")):
        rc, _, err = run_cli(
            capsys, "--protocol", "middlebury-dsr", "--gt", gt, *ckpt, "--lr-from", "nearest",
            *extra, "--json", out,
        )  # fmt: skip
        assert rc == 0, err
        assert json.loads(out.read_text())["results"][0]["degradation"]["lr_grid"] == grid
    rc, _, err = run_cli(
        capsys, "--protocol", "middlebury-dsr", "--gt", gt, "--checkpoint",
        tmp_path / "tiny.safetensors", "--scale", "4",
    )  # fmt: skip
    assert rc == 2 and "upsamples x2, --scale is 4" in err


class FakePredictor:
    """Stands in for depthduet.inference.mde.DepthPredictor: depth = 1 + 10 * red channel."""

    scale_ambiguous = True
    branch = "s"
    size = (32, 64)
    info = {"source": "fake"}

    @classmethod
    def from_pretrained(cls, name: str, device: str = "cpu") -> FakePredictor:
        return cls()

    def predict(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        assert image.ndim == 3 and image.shape[2] == 3
        return 1.0 + 10.0 * image[..., 0], np.ones(image.shape[:2])


def test_monocular_model_row(tmp_path: Path, capsys, monkeypatch) -> None:
    from depthduet.inference import mde
    from depthduet.io import read_image, write_image

    monkeypatch.setattr(mde, "DepthPredictor", FakePredictor)
    rng = np.random.default_rng(5)
    gt_dir, img_dir = tmp_path / "gt", tmp_path / "img"
    gt_dir.mkdir()
    img_dir.mkdir()
    pairs = {}
    for name in ("f0", "f1"):
        write_image(img_dir / f"{name}.png", rng.random((20, 30, 3)))
        gt = rng.uniform(1.0, 20.0, (20, 30))
        np.save(gt_dir / f"{name}.npy", gt)
        pairs[name] = (gt, 1.0 + 10.0 * read_image(img_dir / f"{name}.png", grey=False)[..., 0])
    out = tmp_path / "m.json"
    args = ["--protocol", "kitti-eigen-benchmark", "--gt", gt_dir, "--model", "mde-x"]
    rc, text, err = run_cli(capsys, *args, "--images", img_dir, "--json", out)
    assert rc == 0, err
    row = json.loads(out.read_text())["results"][0]
    ref = expected("kitti-eigen-benchmark", pairs, ["f0", "f1"])
    for k, v in ref.items():
        assert row["metrics"][k] == pytest.approx(v, rel=1e-6), k
    assert row["model"]["scale_ambiguous"] is True and row["median_scaling"] is False
    assert "WITHOUT median scaling" in row["notes"][0] and "WITHOUT median scaling" in text
    rc, _, err = run_cli(capsys, *args)
    assert rc == 2 and "needs --images" in err
    (img_dir / "f1.png").unlink()
    rc, _, err = run_cli(capsys, *args, "--images", img_dir)
    assert rc == 2 and "f1.npy: no image named 'f1'" in err


@pytest.mark.realdata
def test_middlebury_real_maps(data_root: Path, tmp_path: Path, capsys) -> None:
    gt = data_root / "middlebury_2001_2003" / "Depth"
    out = tmp_path / "mb.json"
    rc, text, _ = run_cli(
        capsys,
        "--protocol",
        "middlebury-dsr",
        "--gt",
        gt,
        "--pred",
        gt,  # the ground truth scores zero against itself
        "--baseline",
        "bicubic,nearest",
        "--scale",
        "8",
        "--json",
        out,
    )
    assert rc == 0
    rows = {r["method"]: r for r in json.loads(out.read_text())["results"]}
    assert rows["Depth"]["metrics"] == {"rmse": 0.0, "mad": 0.0}
    assert rows["Depth"]["n_images"] == 4
    b, n = rows["bicubic (baseline)"]["metrics"], rows["nearest (baseline)"]["metrics"]
    assert 0 < b["rmse"] < n["rmse"]  # bicubic LR + bicubic up beats nearest up on these maps


def test_monodepth2_style_files(tmp_path: Path, capsys) -> None:
    """gt_depths.npz (object array, sizes differ) + pred_disps.npy (N, 12, 40) inverse depth."""
    from depthduet.evaluation.protocols import resize_bilinear
    from test_protocols import monodepth2_reference  # tests/ is on sys.path (rootdir conftest)

    rng = np.random.default_rng(6)
    gts = np.empty(2, dtype=object)
    gts[0] = np.where(rng.random((30, 90)) < 0.4, rng.uniform(1.0, 90.0, (30, 90)), 0.0)
    gts[1] = np.where(rng.random((28, 88)) < 0.4, rng.uniform(1.0, 90.0, (28, 88)), 0.0)
    np.savez_compressed(tmp_path / "gt_depths.npz", data=gts)
    disps = rng.uniform(0.01, 10.0, (2, 12, 40))
    np.save(tmp_path / "pred_disps.npy", disps)
    out = tmp_path / "md2.json"
    args = ["--protocol", "kitti-eigen", "--gt", tmp_path / "gt_depths.npz"]
    args += ["--pred", tmp_path / "pred_disps.npy", "--pred-inverse", "--median-scaling"]
    rc, _, err = run_cli(capsys, *args)
    assert rc == 2 and "--allow-pickle" in err and "gt_depths.npz" in err
    rc, _, err = run_cli(capsys, *args, "--allow-pickle", "--json", out)
    assert rc == 0, err
    row = json.loads(out.read_text())["results"][0]
    refs = []
    for i in range(2):
        depth = 1.0 / resize_bilinear(disps[i], gts[i].shape)  # resize the disparity, invert
        refs.append(monodepth2_reference(gts[i], depth, median_scaling=True)[0])
    for k in refs[0]:
        # maps are read as float32 (the reader contract), the reference used float64
        assert row["metrics"][k] == pytest.approx(np.mean([r[k] for r in refs]), rel=1e-6), k
    assert row["resize"]["n_resized"] == 2 and "inverse depth" in row["prediction_values"]
    assert row["crop"]["boxes"] == {"30x90": [12, 29, 3, 86], "28x88": [11, 27, 3, 84]}


def test_open_set_formats_and_errors(tmp_path: Path) -> None:
    from depthduet.errors import UserError
    from depthduet.evaluation.predictions import match_sets, open_set

    np.savez(tmp_path / "bad.npz", a=np.ones((2, 3, 3)), b=np.ones((3, 3)))
    with pytest.raises(UserError, match=r"bad\.npz: array 'a' has shape"):
        open_set(tmp_path / "bad.npz")
    np.save(tmp_path / "one.npy", np.full((4, 5), 2.0))
    single = open_set(tmp_path / "one.npy", scale=2.0)
    assert single.kind == "single" and single.read(0).values.max() == 1.0
    stack = np.full((4, 5, 2), 3.0)  # MATLAB layout (H, W, N)
    import scipy.io

    scipy.io.savemat(tmp_path / "s.mat", {"depths": stack})
    ms = open_set(tmp_path / "s.mat")
    assert ms.kind == "stack" and len(ms) == 2 and ms.read(1).values.shape == (4, 5)
    assert match_sets(single, open_set(tmp_path / "one.npy")) == [(0, 0, "one")]
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no maps files"):
        open_set(tmp_path / "empty")
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(UserError, match=r"x\.txt: unsupported prediction format"):
        open_set(tmp_path / "x.txt", what="prediction")
    nested = tmp_path / "nested" / "drive_1"
    nested.mkdir(parents=True)
    np.save(nested / "0005.npy", np.ones((3, 3)))
    assert open_set(tmp_path / "nested", recursive=True).names == ["drive_1/0005"]


@pytest.mark.realdata
def test_kitti_lidar_frame_with_garg_crop(data_root: Path, tmp_path: Path, capsys) -> None:
    """Real KITTI LiDAR projected to a 375x1242 depth PNG (scale 256); pred = 0.9 * GT."""
    from depthduet.io import read_calib_txt, read_depth, read_velodyne

    d = data_root / "kitti" / "object_000007"
    calib = read_calib_txt(d / "calib_000007.txt")
    velo = read_velodyne(d / "velodyne_000007.bin")
    tr = np.eye(4)
    tr[:3, :4] = np.asarray(calib["Tr_velo_to_cam"], np.float64).reshape(3, 4)
    r0 = np.eye(4)
    r0[:3, :3] = np.asarray(calib["R0_rect"], np.float64).reshape(3, 3)
    p2 = np.asarray(calib["P2"], np.float64).reshape(3, 4)
    x = np.c_[velo[:, :3], np.ones(len(velo))].T
    cam = (r0 @ tr @ x)[:3]
    uvw = p2 @ np.r_[cam, np.ones((1, cam.shape[1]))]
    z = uvw[2]
    keep = z > 0.5
    u = np.floor(uvw[0, keep] / z[keep]).astype(int)
    v = np.floor(uvw[1, keep] / z[keep]).astype(int)
    depth_z = cam[2, keep]
    H, W = 375, 1242
    inside = (u >= 0) & (u < W) & (v >= 0) & (v < H)
    gt = np.full((H, W), np.inf)
    np.minimum.at(gt, (v[inside], u[inside]), depth_z[inside])  # nearest return per pixel
    gt[np.isinf(gt)] = 0.0
    (tmp_path / "gt").mkdir()
    (tmp_path / "pred").mkdir()
    write_depth(tmp_path / "gt" / "000007.png", gt, scale=256)
    g = read_depth(tmp_path / "gt" / "000007.png", scale=256).values.astype(np.float64)
    np.save(tmp_path / "pred" / "000007.npy", (0.9 * g).astype(np.float32))
    out = tmp_path / "k.json"
    args = ["--protocol", "kitti-eigen", "--gt", tmp_path / "gt", "--gt-scale", "256"]
    args += ["--pred", tmp_path / "pred", "--json", out]
    rc, text, err = run_cli(capsys, *args)
    assert rc == 0, err
    row = json.loads(out.read_text())["results"][0]
    t, b, l, r = 153, 371, 44, 1197  # Garg crop of 375x1242
    sel = g[t:b, l:r]
    sel = sel[(sel > 1e-3) & (sel < 80)]
    assert row["n_pixels"] == sel.size > 10000
    m = row["metrics"]
    assert m["abs_rel"] == pytest.approx(0.1, rel=1e-5)
    assert m["sq_rel"] == pytest.approx(0.01 * sel.mean(), rel=1e-5)
    assert m["rmse"] == pytest.approx(0.1 * np.sqrt((sel**2).mean()), rel=1e-5)
    assert m["rmse_log"] == pytest.approx(-np.log(0.9), rel=1e-5)
    assert (m["a1"], m["a2"], m["a3"]) == (1.0, 1.0, 1.0)
    assert row["crop"]["boxes"] == {"375x1242": [t, b, l, r]}
    rc, text, _ = run_cli(capsys, *args, "--median-scaling")
    row = json.loads(out.read_text())["results"][0]
    assert row["metrics"]["abs_rel"] < 1e-6
    assert row["median_ratios"]["mean"] == pytest.approx(1 / 0.9, rel=1e-6)


def kitti_png_gt(tmp_path: Path, maps: dict) -> Path:
    """The GT of ``make_pair_folders`` as KITTI 16-bit PNGs (stored metres * 256)."""
    d = tmp_path / "gt_png"
    d.mkdir()
    for name, (gt, _) in maps.items():
        write_depth(d / f"{name}.png", gt, scale=256)
    return d


def test_gt_in_wrong_unit_names_the_gt_file(tmp_path: Path, capsys) -> None:
    from depthduet.io import read_depth

    _, pred_dir, maps = make_pair_folders(tmp_path)
    gt_dir = kitti_png_gt(tmp_path, maps)
    args = ["--protocol", "kitti-eigen", "--pred", pred_dir, "--pred-scale", "256"]
    rc, _, err = run_cli(capsys, *args, "--gt", gt_dir)  # no --gt-scale 256
    raw = read_depth(gt_dir / "a1.png").values  # first image, stored units
    v = raw[raw > 0].astype(np.float64)
    assert rc == 2
    assert err == (
        f"depthduet evaluate: error: {gt_dir / 'a1.png'}: no ground-truth pixel left to "
        f"evaluate under kitti-eigen (prediction {pred_dir / 'a1.png'}): {v.size} valid pixels, "
        f"values {v.min():.4g}..{v.max():.4g} m, all outside the caps 0.001 < gt < 80.0 m; "
        "values beyond the cap suggest another unit: pass --gt-scale (stored units per metre, "
        "e.g. 256 for KITTI 16-bit PNG, 1000 for millimetres)\n"
    )
    rc, _, err = run_cli(capsys, *args, "--gt", gt_dir, "--gt-scale", "256")
    assert rc == 0 and err == ""
    # an all-zero map: named, no unit hint
    write_depth(gt_dir / "a2.png", np.zeros((24, 40)), scale=256)
    rc, _, err = run_cli(capsys, *args, "--gt", gt_dir, "--gt-scale", "256")
    assert rc == 2
    assert err == (
        f"depthduet evaluate: error: {gt_dir / 'a2.png'}: no ground-truth pixel left to "
        f"evaluate under kitti-eigen (prediction {pred_dir / 'a2.png'}): the map has no valid "
        "pixel (all zero, negative or NaN)\n"
    )
    # valid pixels inside the caps, but none inside the Garg crop (rows 9..22 of 24)
    gt = np.zeros((24, 40))
    gt[:5] = 10.0
    write_depth(gt_dir / "a2.png", gt, scale=256)
    rc, _, err = run_cli(capsys, *args, "--gt", gt_dir, "--gt-scale", "256")
    assert rc == 2
    assert err == (
        f"depthduet evaluate: error: {gt_dir / 'a2.png'}: no ground-truth pixel left to "
        f"evaluate under kitti-eigen (prediction {pred_dir / 'a2.png'}): 200 valid pixels, "
        "values 10..10 m; 200 inside the caps 0.001 < gt < 80.0 m, none inside the crop "
        "(Garg: rows [int(0.40810811 H), int(0.99189189 H)), cols [int(0.03594771 W), "
        "int(0.96405229 W)))\n"
    )


def test_gt_mostly_outside_the_caps_warns_once(tmp_path: Path, capsys) -> None:
    _, pred_dir, maps = make_pair_folders(tmp_path)
    gt_dir = tmp_path / "gt8"
    gt_dir.mkdir()
    rng = np.random.default_rng(7)
    counts = {}
    for name in ("a1", "a2", "a10"):
        if name == "a2":  # in metres: fine
            gt = rng.uniform(1.0, 70.0, (24, 40))
        else:  # NYU-style 8-bit values 1..255 under 80 m caps: most are dropped
            gt = rng.integers(1, 256, (24, 40)).astype(np.float64)
        np.save(gt_dir / f"{name}.npy", gt.astype(np.float32))
        counts[name] = (int(gt.size), int((gt >= 80).sum()), gt.min(), gt.max())
    out = tmp_path / "w.json"
    args = ["--protocol", "kitti-eigen-benchmark", "--gt", gt_dir, "--pred", pred_dir]
    rc, text, err = run_cli(capsys, *args, "--pred-scale", "256", "--json", out)
    assert rc == 0
    n_valid, n_out, lo, hi = counts["a1"]
    message = (
        f"{gt_dir / 'a1.npy'}: {n_out} of {n_valid} valid ground-truth pixels in the crop "
        f"({100 * n_out / n_valid:.1f}%; values {lo:.4g}..{hi:.4g} m) lie outside the caps "
        "0.001 < gt < 80.0 m of kitti-eigen-benchmark and are not evaluated; 2 of 3 images lose "
        "more than half of their ground truth this way. Is the ground truth in another unit? "
        "Pass --gt-scale (stored units per metre, e.g. 256 for KITTI 16-bit PNG)"
    )
    assert err == f"depthduet evaluate: warning: {message}\n"  # once, for three images
    assert "warning" not in text
    report = json.loads(out.read_text())
    assert report["warnings"] == [message]
    assert report["gt_outside_caps"] == {
        "threshold_fraction": 0.5,
        "n_images": 2,
        "first": {
            "gt": str(gt_dir / "a1.npy"),
            "n_valid": n_valid,
            "n_outside_caps": n_out,
            "range": [float(lo), float(hi)],
            "caps": "0.001 < gt < 80.0 m",
        },
    }
    # metres: no warning (about 11% of make_pair_folders' GT lies beyond 80 m)
    gt_m = tmp_path / "gt"
    rc, _, err = run_cli(
        capsys, "--protocol", "kitti-eigen-benchmark", "--gt", gt_m, "--pred", pred_dir,
        "--pred-scale", "256", "--json", out,
    )  # fmt: skip
    assert rc == 0 and err == ""
    report = json.loads(out.read_text())
    assert report["warnings"] == [] and "gt_outside_caps" not in report
    # the crop removing most pixels is the protocol, not a warning: 80% outside the Garg crop
    crop_gt = tmp_path / "crop_gt"
    crop_gt.mkdir()
    for name in ("a1", "a2", "a10"):
        gt = np.full((24, 40), 5.0, np.float32)
        gt[12:, :] = 0.0
        gt[12:15, 5:35] = 5.0
        np.save(crop_gt / f"{name}.npy", gt)
    rc, _, err = run_cli(
        capsys, "--protocol", "kitti-eigen", "--gt", crop_gt, "--pred", pred_dir,
        "--pred-scale", "256",
    )  # fmt: skip
    assert rc == 0 and err == ""


@pytest.mark.parametrize("target", ["gt_file", "pred_file", "stack", "settings", "checkpoint"])
def test_json_never_overwrites_an_input(tmp_path: Path, capsys, target: str) -> None:
    gt_dir, pred_dir, maps = make_pair_folders(tmp_path)
    gt, pred = gt_dir, pred_dir
    extra: list[str] = []
    what = "--json"
    if target == "gt_file":
        out = victim = gt_dir / "a1.npy"
    elif target == "pred_file":
        out = victim = pred_dir / "a2.png"
    elif target == "stack":
        np.save(tmp_path / "preds.npy", np.stack([maps[n][1] for n in ("a1", "a2", "a10")]))
        pred = victim = out = tmp_path / "preds.npy"
    elif target == "settings":  # the settings file beside the JSON links to a GT file
        (tmp_path / "res").mkdir()
        out = tmp_path / "res" / "e.json"
        (tmp_path / "res" / "e.settings.yaml").symlink_to(gt_dir / "a10.npy")
        victim = gt_dir / "a10.npy"
        what = "the settings file written beside --json"
    else:  # a file of the checkpoint folder given to --checkpoint
        ckpt = tmp_path / "run" / "checkpoints" / "best"
        ckpt.mkdir(parents=True)
        (ckpt / "model.json").write_text('{"networks": {}}')
        out = victim = ckpt / "model.json"
        extra = ["--checkpoint", tmp_path / "run"]
    before = victim.read_bytes()
    written = out.with_suffix(".settings.yaml") if target != "settings" else out
    rc, text, err = run_cli(
        capsys, "--protocol", "kitti-eigen", "--gt", gt, "--pred", pred, *extra, "--json", out
    )
    assert rc == 2 and text == ""  # refused before evaluating: no table
    shown = tmp_path / "res" / "e.settings.yaml" if target == "settings" else out
    assert err == (
        f"depthduet evaluate: error: {shown}: {what} would overwrite the input file {victim}; "
        "choose another --json path\n"
    )
    assert victim.read_bytes() == before and not written.exists()
    assert not list(tmp_path.rglob("*.tmp"))


def test_json_inside_an_input_folder_is_fine(tmp_path: Path, capsys) -> None:
    gt_dir, pred_dir, _ = make_pair_folders(tmp_path)
    out = gt_dir / "eval.json"  # not a depth file: not an input, may be rewritten
    for _ in range(2):
        rc, _, err = run_cli(
            capsys, "--protocol", "kitti-eigen", "--gt", gt_dir, "--pred", pred_dir, "--json", out
        )
        assert rc == 0, err
    assert json.loads(out.read_text())["n_images"] == 3


def test_resized_predictions_are_stated_under_the_table(tmp_path: Path, capsys) -> None:
    gt_dir, pred_dir, _ = make_pair_folders(tmp_path)
    args = ["--protocol", "kitti-eigen", "--gt", gt_dir, "--pred", pred_dir, "--pred-scale", "256"]
    rc, text, _ = run_cli(capsys, *args)
    assert rc == 0 and "resized" not in text
    write_depth(pred_dir / "a2.png", np.full((12, 20), 7.0), scale=256)
    write_depth(pred_dir / "a10.png", np.full((6, 10), 7.0), scale=256)
    out = tmp_path / "r.json"
    rc, text, _ = run_cli(capsys, *args, "--json", out)
    assert rc == 0
    lines = text.splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith("pred "))
    assert lines[row + 1] == (
        "  note: 2 of 3 predictions resized bilinearly to the ground-truth size "
        "(first: a2, 12x20 -> 24x40)"
    )
    resize = json.loads(out.read_text())["results"][0]["resize"]
    assert resize["n_resized"] == 2
    assert resize["first"] == {"name": "a2", "from": [12, 20], "to": [24, 40]}


@pytest.mark.parametrize("allow_pickle", [False, True])
@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        (
            "garbage.npy",
            b"<html>404 not found</html>",
            "not a NumPy .npy file (bad header: b'<html>')",
        ),
        (
            "garbage.npz",
            b"\x80\x04garbage",
            "not an .npz (zip) archive (bad header: b'\\x80\\x04')",
        ),
        ("empty.npy", b"", "empty file (0 bytes), not a NumPy .npy file"),
    ],
)
def test_garbage_numpy_prediction(
    tmp_path: Path, capsys, allow_pickle: bool, name: str, data: bytes, problem: str
) -> None:
    gt_dir, _, _ = make_pair_folders(tmp_path)
    bad = tmp_path / name
    bad.write_bytes(data)
    extra = ["--allow-pickle"] if allow_pickle else []
    rc, _, err = run_cli(capsys, "--protocol", "kitti-eigen", "--gt", gt_dir, "--pred", bad, *extra)
    assert rc == 2
    assert err == f"depthduet evaluate: error: {bad}: {problem}\n"


def test_corrupt_pickled_stack_is_a_user_error(tmp_path: Path, capsys) -> None:
    gt_dir, _, maps = make_pair_folders(tmp_path)
    stack = np.empty(3, dtype=object)
    for i, n in enumerate(("a1", "a2", "a10")):
        stack[i] = maps[n][1]
    np.save(tmp_path / "obj.npy", stack, allow_pickle=True)
    data = (tmp_path / "obj.npy").read_bytes()
    bad = tmp_path / "cut.npy"
    bad.write_bytes(data[: len(data) // 2])  # the pickle payload is cut short
    args = ["--protocol", "kitti-eigen", "--gt", gt_dir, "--pred", bad, "--allow-pickle"]
    rc, _, err = run_cli(capsys, *args)
    assert rc == 2 and err.count("\n") == 1
    assert err.startswith(f"depthduet evaluate: error: {bad}: not a readable .npy file: "), err


def test_a_predict_output_folder_is_read_through_its_depth_maps(tmp_path: Path, capsys) -> None:
    gt_dir, _, maps = make_pair_folders(tmp_path)
    out = tmp_path / "predicted"  # what `depthduet predict images/ -o predicted` leaves
    out.mkdir()
    (out / "predict.yaml").write_text("command: predict\n")
    for name, (_, pred) in maps.items():
        np.save(out / f"{name}_depth.npy", pred.astype(np.float32))
        write_depth(out / f"{name}_depth.png", pred, scale=256)  # 16-bit copy: not read
        np.save(out / f"{name}_conf.npy", np.full(pred.shape, 0.5, np.float32))  # not depth
    args = ["--protocol", "kitti-eigen", "--gt", gt_dir, "--pred", out, "--name", "pred"]
    rc, text, err = run_cli(capsys, *args)
    assert rc == 0, err
    exp = expected("kitti-eigen", maps, ["a1", "a2", "a10"])
    row = next(line for line in text.splitlines() if line.startswith("pred "))
    assert f"{exp['abs_rel']:.4f}" in row
    (out / "a1_depth.npy").unlink()
    rc, _, err = run_cli(capsys, "--protocol", "kitti-eigen", "--gt", gt_dir, "--pred", out)
    assert rc == 2 and "no prediction named 'a1'" in err


@pytest.mark.parametrize("rule", ["zero", "exclude"])
def test_missing_predictions_rule(tmp_path: Path, capsys, rule: str) -> None:
    """A prediction with a hole: the table says how its pixels were scored, the JSON records
    the rule and the count, and the numbers follow it."""
    gt = np.full((8, 8), 2.0)
    pred = np.full((8, 8), 2.5)
    pred[:2, :2] = np.nan  # 4 of 64 pixels without a prediction
    np.save(tmp_path / "g.npy", gt)
    np.save(tmp_path / "p.npy", pred)
    out = tmp_path / "r.json"
    rc, text, err = run_cli(
        capsys, "--protocol", "sintel-dsr", "--gt", tmp_path / "g.npy", "--pred",
        tmp_path / "p.npy", "--missing", rule, "--json", out,
    )  # fmt: skip
    assert rc == 0, err
    row = json.loads(out.read_text())["results"][0]
    assert row["missing_predictions"] == rule and row["n_pred_invalid"] == 4
    if rule == "zero":
        assert "4 ground-truth pixels (6.25%) had no prediction and count as 0" in text
        assert row["metrics"]["rmse"] == pytest.approx(np.sqrt((60 * 0.25 + 4 * 4.0) / 64))
    else:
        assert "4 ground-truth pixels (6.25%) had no prediction and are left out" in text
        assert row["metrics"]["rmse"] == pytest.approx(0.5) and row["n_pixels"] == 60
