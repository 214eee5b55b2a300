"""DepthPredictor (METHOD B inference) and ``depthduet predict``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from depthduet.cli import main
from depthduet.config import load_config, to_dict
from depthduet.engine.checkpoint import save_checkpoint
from depthduet.errors import UserError
from depthduet.inference.mde import DepthPredictor
from depthduet.io import read_depth, write_image
from depthduet.models.mde import disp_to_depth
from depthduet.recipes.mutual import MutualConfig, MutualRecipe


def _checkpoint(tmp_path, *overrides: str):
    cfg = load_config(
        MutualConfig, overrides=["data.world.height=64", "data.world.width=96", *overrides]
    )
    torch.manual_seed(0)
    r = MutualRecipe(cfg)
    for net in r.networks.values():
        net.eval()
    run = tmp_path / "run"
    save_checkpoint(
        run / "checkpoints" / "best",
        {n: m.state_dict() for n, m in r.networks.items()},
        None,
        {"recipe": "mutual", "config": to_dict(cfg), "inference_networks": r.inference_networks},
    )
    return run, r


@pytest.fixture(scope="module")
def semi_run(tmp_path_factory):
    return _checkpoint(tmp_path_factory.mktemp("semi"))


def test_predictor_matches_the_network(semi_run):
    run, r = semi_run
    p = DepthPredictor.from_checkpoint(run)
    assert p.branch == "u" and p.size == (64, 96) and not p.scale_ambiguous
    assert p.channels_last  # the default layout; the reference below runs the plain layout
    img = np.random.default_rng(0).random((64, 96, 3)).astype(np.float32)
    depth, conf = p.predict(img)
    with torch.no_grad():
        out = r.networks["depth_u"](torch.from_numpy(img).permute(2, 0, 1)[None])
    ref = disp_to_depth(out["disp"][0], 0.1, 100.0)[0, 0].numpy()
    assert np.allclose(depth, ref, rtol=1e-5)
    assert np.allclose(conf, out["conf"][0][0, 0].numpy(), atol=1e-6)
    ps = DepthPredictor.from_checkpoint(run, branch="s")
    d_s, _ = ps.predict(img)
    assert ps.branch == "s" and not np.allclose(d_s, depth)


def test_predictor_any_size_and_dtype(semi_run):
    run, _ = semi_run
    p = DepthPredictor.from_checkpoint(run)
    img = np.random.default_rng(1).integers(0, 256, (50, 70, 3), dtype=np.uint8)
    depth, conf = p.predict(img)
    assert depth.shape == conf.shape == (50, 70)
    assert depth.dtype == np.float32
    assert depth.min() >= 0.1 - 1e-4 and depth.max() <= 100.0 + 1e-3
    assert conf.min() > 0 and conf.max() < 1
    d2, _ = p.predict(img.astype(np.float32) / 255.0)
    assert np.allclose(depth, d2, rtol=1e-5)
    with pytest.raises(UserError, match="RGB"):
        p.predict(np.zeros((4, 5, 2), np.float32))


def test_predictor_errors_and_scale_ambiguity(tmp_path, semi_run):
    run, _ = semi_run
    with pytest.raises(UserError, match="branch"):
        DepthPredictor.from_checkpoint(run, branch="x")
    with pytest.raises(UserError, match="not found"):
        DepthPredictor.from_checkpoint(tmp_path / "nothing")
    with pytest.raises(UserError, match="available"):
        DepthPredictor.from_pretrained("mde-does-not-exist")
    m_run, _ = _checkpoint(tmp_path / "m", "mode=self", "self_sup=M")
    p = DepthPredictor.from_checkpoint(m_run)
    assert p.branch == "s" and p.scale_ambiguous
    with pytest.raises(UserError, match="no branch 'u'"):
        DepthPredictor.from_checkpoint(m_run, branch="u")
    single = m_run / "checkpoints" / "best" / "depth_s.safetensors"
    assert DepthPredictor.from_checkpoint(single).branch == "s"
    # a checkpoint of the other method is refused with a pointer to the right command
    other = tmp_path / "ctkt"
    save_checkpoint(other, {"dsr": {"w": torch.zeros(1)}}, None, {"recipe": "ctkt", "config": {}})
    with pytest.raises(UserError, match="not 'mutual'"):
        DepthPredictor.from_checkpoint(other / "dsr.safetensors")


def test_cli_predict_folder_with_camera(tmp_path, semi_run, capsys):
    run, _ = semi_run
    src = tmp_path / "imgs"
    src.mkdir()
    rng = np.random.default_rng(2)
    for name in ("a.png", "b.jpg"):
        write_image(src / name, rng.random((40, 60, 3)).astype(np.float32))
    (src / "camera.json").write_text(
        json.dumps({"intrinsic": {"fx": 50.0, "fy": 50.0, "u0": 29.5, "v0": 19.5}})
    )
    out = tmp_path / "out"
    assert main(["predict", str(src), "--checkpoint", str(run), "-o", str(out)]) == 0
    for stem in ("a", "b"):
        for suffix in ("_depth.npy", "_depth.png", "_depth_color.png", "_conf.npy", "_conf.png"):
            assert (out / f"{stem}{suffix}").is_file(), stem + suffix
        assert (out / f"{stem}.ply").is_file()
        d = np.load(out / f"{stem}_depth.npy")
        png = read_depth(out / f"{stem}_depth.png", scale=256.0)
        assert png.values.shape == (40, 60)
        assert np.abs(png.values - d).max() <= 0.5 / 256 + 1e-6
        header = (out / f"{stem}.ply").read_bytes()[:200].decode("ascii", "ignore")
        assert "element vertex 2400" in header
    params = (out / "predict.yaml").read_text()
    assert "camera.json" in params and "branch: u" in params
    # bad input: missing path and malformed --K are one-line errors (exit 2)
    assert (
        main(["predict", str(tmp_path / "none.png"), "--checkpoint", str(run), "-o", str(out)]) == 2
    )
    assert (
        main(
            ["predict", str(src / "a.png"), "--checkpoint", str(run), "-o", str(out), "--K", "1,2"]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "no such file" in err and "fx,fy,cx,cy" in err


def test_cli_predict_bad_and_grey_files_in_a_folder(tmp_path, semi_run, capsys, monkeypatch):
    run, _ = semi_run
    src = tmp_path / "imgs"
    src.mkdir()
    rng = np.random.default_rng(3)
    write_image(src / "a.png", rng.random((40, 60, 3)).astype(np.float32))
    (src / "b.png").write_bytes(b"")  # empty
    from PIL import Image

    Image.fromarray((rng.random((40, 60)) * 60000).astype(np.uint16)).save(src / "c.png")
    (src / "d.png").symlink_to("gone.png")  # a dangling link is reported, not skipped
    out = tmp_path / "out"
    assert main(["predict", str(src), "--checkpoint", str(run), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"error: {src / 'b.png'}: empty file" in err and err.count(str(src / "b.png")) == 1
    assert f"{src / 'd.png'}: broken or looping symbolic link" in err
    assert "2 of 4 image(s) failed" in err
    (src / "d.png").unlink()
    assert "grey image, replicated to RGB" in err and "depth map rather than a photo" in err
    assert (out / "a_depth.npy").is_file() and (out / "c_depth.npy").is_file()
    assert not (out / "b_depth.npy").exists()
    assert not list(out.glob(".*.tmp"))
    # an unexpected failure in one file (here: the network) is reported, the rest go on
    from depthduet.inference import mde

    calls = []

    def flaky(self, image):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("out of memory")
        return np.ones(image.shape[:2], np.float32), np.full(image.shape[:2], 0.5, np.float32)

    monkeypatch.setattr(mde.DepthPredictor, "predict", flaky)
    out2 = tmp_path / "out2"
    assert main(["predict", str(src), "--checkpoint", str(run), "-o", str(out2)]) == 1
    err = capsys.readouterr().err
    assert (
        "RuntimeError: out of memory" in err and "2 of 3 image(s) failed" in err
    )  # a.png and the empty b.png
    assert not (out2 / "a_depth.npy").exists() and (out2 / "c_depth.npy").is_file()


def test_cli_predict_single_bad_image_is_a_user_error(tmp_path, semi_run, capsys):
    """One input image that cannot be read: one error line naming it, exit status 2 (as every
    command's bad input), and no output folder left behind; an existing folder is kept."""
    run, _ = semi_run
    bad = tmp_path / "trunc.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")  # a PNG cut after its signature
    out = tmp_path / "out"
    assert main(["predict", str(bad), "--checkpoint", str(run), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(bad) in err[0] and err[0].startswith("depthduet predict: error")
    assert not out.exists()
    out.mkdir()
    (out / "keep.txt").write_text("x")
    assert main(["predict", str(bad), "--checkpoint", str(run), "-o", str(out)]) == 2
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    nested = tmp_path / "new" / "deeper"  # every folder the run made goes, not only the last
    assert main(["predict", str(bad), "--checkpoint", str(run), "-o", str(nested)]) == 2
    assert not (tmp_path / "new").exists()


def _rgb(path, seed=0):
    write_image(path, np.random.default_rng(seed).random((40, 60, 3)).astype(np.float32))


def test_cli_predict_folder_skips_only_its_own_outputs(tmp_path, semi_run, capsys):
    """A photo named *_color/_depth/_conf is predicted; only names predict writes for another
    image of the folder are skipped, each with one line; -o equal to the input folder neither
    re-predicts earlier outputs nor overwrites a file predict did not write."""
    import yaml

    run, _ = semi_run
    src = tmp_path / "imgs"
    src.mkdir()
    for i, name in enumerate(("1025_color.png", "x_depth.png", "b.png", "b_depth.png")):
        _rgb(src / name, i)
    out = tmp_path / "out"
    assert main(["predict", str(src), "--checkpoint", str(run), "-o", str(out)]) == 0
    cap = capsys.readouterr()
    assert cap.err == (
        f"depthduet predict: skipping {src / 'b_depth.png'}: predict writes this name for b.png "
        "(give the file itself to predict it)\n"
    )
    assert sorted(p.name for p in out.glob("*_depth.npy")) == [
        "1025_color_depth.npy",
        "b_depth.npy",
        "x_depth_depth.npy",
    ]
    params = yaml.safe_load((out / "predict.yaml").read_text())
    assert params["images"] == 3
    assert params["skipped"] == {str(src / "b_depth.png"): str(src / "b.png")}
    # -o = input folder: b_depth.png (not written by predict) would be overwritten: refused
    before = {p.name: p.read_bytes() for p in src.iterdir()}
    assert main(["predict", str(src), "--checkpoint", str(run), "-o", str(src)]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"depthduet predict: error: {src / 'b_depth.png'}: would be overwritten by the output "
        "for b.png (-o is the input folder and holds no predict.yaml of an earlier run); "
        "choose another -o"
    )
    assert {p.name: p.read_bytes() for p in src.iterdir()} == before
    # a clean folder predicted into itself twice: the second run skips the first's outputs
    same = tmp_path / "same"
    same.mkdir()
    _rgb(same / "a.png")
    for _ in range(2):
        assert main(["predict", str(same), "--checkpoint", str(run), "-o", str(same)]) == 0
    cap = capsys.readouterr()
    assert cap.out.count(f"{same / 'a.png'} -> ") == 2 and "_depth.png -> " not in cap.out
    names = ("a_conf.png", "a_conf_color.png", "a_depth.png", "a_depth_color.png")
    assert cap.err.splitlines() == [
        f"depthduet predict: skipping {same / n}: predict writes this name for a.png "
        "(give the file itself to predict it)"
        for n in names
    ]
    assert not list(same.glob("a_*_depth.npy")) and not list(same.glob("a_*_conf.npy"))


def test_cli_predict_same_stem_inputs_refused_before_work(tmp_path, semi_run, capsys, monkeypatch):
    run, _ = semi_run
    src = tmp_path / "imgs"
    src.mkdir()
    for i, name in enumerate(("a.png", "a.jpg", "b.png")):
        _rgb(src / name, i)

    def no_model(*a, **k):
        raise AssertionError("the model must not be loaded")

    monkeypatch.setattr(DepthPredictor, "from_checkpoint", no_model)
    out = tmp_path / "out"
    assert main(["predict", str(src), "--checkpoint", str(run), "-o", str(out)]) == 2
    assert capsys.readouterr().err == (
        f"depthduet predict: error: {src}: several inputs would write the same outputs "
        f"(a.jpg, a.png -> {out / 'a'}_depth.*); rename them or predict them into separate "
        "-o folders\n"
    )
    assert not out.exists()


def test_predict_refuses_a_depth_sr_model(tmp_path, capsys):
    from depthduet.paths import weights_dir

    # a DSR card (scale + arch, no kind) beside an mde-* model: pointed to `depthduet upsample`
    (tmp_path / "dsr-x2.json").write_text(
        json.dumps({"name": "dsr-x2", "scale": 2, "arch": {}, "file": "dsr-x2.safetensors"})
    )
    (tmp_path / "dsr-x2.safetensors").write_bytes(b"")
    (tmp_path / "mde-tiny.safetensors").write_bytes(b"")
    with pytest.raises(UserError) as e:
        DepthPredictor.from_pretrained("dsr-x2", folder=tmp_path)
    assert str(e.value) == (
        "model 'dsr-x2' is a depth super-resolution model (x2), not a monocular-depth one: use "
        "`depthduet upsample --model dsr-x2`; monocular-depth models: mde-tiny"
    )
    # the shipped dsr-x4 through the CLI
    img = tmp_path / "img.png"
    _rgb(img)
    out = tmp_path / "out"
    assert main(["predict", str(img), "--model", "dsr-x4", "-o", str(out)]) == 2
    mde = ", ".join(sorted(p.stem for p in weights_dir().glob("mde-*.safetensors")))
    assert capsys.readouterr().err == (
        "depthduet predict: error: model 'dsr-x4' is a depth super-resolution model (x4), not a "
        f"monocular-depth one: use `depthduet upsample --model dsr-x4`; monocular-depth models: "
        f"{mde or 'none shipped in this installation'}\n"
    )
    assert not out.exists()


@pytest.mark.realdata
def test_predict_real_kitti_frame(data_root, semi_run, tmp_path):
    """A real 1242x375 KITTI image through the CLI with the object calibration's P2 as K."""
    img = data_root / "kitti" / "object_000007" / "image_2_000007.png"
    if not img.is_file():
        pytest.skip("KITTI object sample missing")
    run, _ = semi_run
    out = tmp_path / "kitti"
    K = "721.5377,721.5377,609.5593,172.854"  # P2 of KITTI calibration 2011_09_26 / object set
    assert main(["predict", str(img), "--checkpoint", str(run), "-o", str(out), "--K", K]) == 0
    d = np.load(out / "image_2_000007_depth.npy")
    c = np.load(out / "image_2_000007_conf.npy")
    assert d.shape == c.shape == (375, 1242)
    assert np.isfinite(d).all() and (d >= 0.1 - 1e-4).all() and (d <= 100 + 1e-3).all()
    header = (out / "image_2_000007.ply").read_bytes()[:200].decode("ascii", "ignore")
    assert f"element vertex {375 * 1242}" in header


@pytest.mark.slow
def test_train_then_predict_with_the_engine(tmp_path):
    """`depthduet train` on a few world samples, then `depthduet predict` on its checkpoint."""
    run = tmp_path / "run"
    args = [
        "train",
        "--config",
        "mde/world_semi",
        "--out",
        str(run),
        "data.train_size=2",
        "data.val_size=2",
        "data.world.height=64",
        "data.world.width=128",
        "engine.epochs=1",
        "engine.batch_size=2",
        "engine.progress=false",
        "engine.tensorboard=false",
    ]
    assert main(args) == 0
    assert (run / "checkpoints" / "best" / "depth_u.safetensors").is_file()
    img = tmp_path / "x.png"
    write_image(img, np.random.default_rng(0).random((64, 128, 3)).astype(np.float32))
    assert main(["predict", str(img), "--checkpoint", str(run), "-o", str(tmp_path / "p")]) == 0
    assert (tmp_path / "p" / "x_depth.png").is_file()
