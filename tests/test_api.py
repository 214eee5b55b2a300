"""The Python API (depthduet.api, reachable as depthduet.<name>) and ``depthduet example``."""

from __future__ import annotations

import doctest
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import depthduet
from depthduet import api
from depthduet.cli import main
from depthduet.errors import UserError
from depthduet.inference.dsr import DepthUpsampler
from depthduet.inference.mde import DepthPredictor
from depthduet.io import read_depth, read_image
from depthduet.models.dbpn import DSRNet


@pytest.fixture(scope="module")
def up() -> api.Upsampler:
    return depthduet.load_upsampler("dsr-x4", device="cpu")


@pytest.fixture(scope="module")
def mde() -> api.Predictor:
    return depthduet.load_predictor("mde-driving")


def _lr() -> np.ndarray:
    return read_depth(depthduet.example_path("indoor", "lr_x4_mm.png")).values


def test_docstring_examples_run() -> None:
    res = doctest.testmod(api, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.attempted >= 20 and res.failed == 0


def test_import_stays_lazy() -> None:
    code = (
        "import sys, depthduet\n"
        "assert 'torch' not in sys.modules and 'depthduet.api' not in sys.modules\n"
        "assert 'load_upsampler' in dir(depthduet)\n"
        "f = depthduet.load_upsampler\n"
        "assert 'depthduet.api' in sys.modules and f is depthduet.load_upsampler\n"
        "try:\n"
        "    depthduet.nope\n"
        "except AttributeError as e:\n"
        "    print('ok', e)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "ok" in r.stdout and "nope" in r.stdout


def test_upsampler_numpy_shapes_units_and_module(up: api.Upsampler) -> None:
    lr = _lr()
    hr = up(lr)
    assert isinstance(hr, np.ndarray) and hr.shape == (192, 256) and hr.dtype == np.float32
    ref = DepthUpsampler.from_pretrained("dsr-x4", device="cpu").upsample(lr)
    np.testing.assert_array_equal(hr, ref.values)
    # the same map in metres gives the same result in metres
    np.testing.assert_allclose(up(lr / 1000.0) * 1000.0, hr, rtol=1e-5, atol=1e-3)
    one = up(lr[None])
    assert one.shape == (1, 192, 256)
    batch = up(np.stack([lr, 2 * lr])[:, None])
    assert batch.shape == (2, 1, 192, 256)
    np.testing.assert_allclose(batch[1, 0], 2 * hr, rtol=1e-5)
    # .module is the plain eager network; the call goes through the fast CPU path
    assert type(up.module) is DSRNet and up.upsampler.fast and up.scale == 4
    x = torch.rand(1, 1, 6, 7)
    with torch.no_grad():
        assert up.module(x).shape == (1, 1, 24, 28)
    assert "dsr-x4" in repr(up)


def test_upsampler_tensors_and_masks(up: api.Upsampler) -> None:
    lr = _lr()
    valid = np.ones_like(lr, dtype=bool)
    valid[10:14, 20:30] = False
    lr_bad = lr.copy()
    lr_bad[10:14, 20:30] = -5.0  # anything at invalid pixels
    hr, hv = up(lr_bad, valid)
    assert hv.dtype == np.bool_ and hv.shape == hr.shape
    assert not hv[40:56, 80:120].any() and (hr[~hv] == 0).all()
    ref = DepthUpsampler.from_pretrained("dsr-x4", device="cpu").upsample(lr, valid)
    np.testing.assert_array_equal(hr, ref.values)
    np.testing.assert_array_equal(hv, ref.valid)
    assert isinstance(up(lr_bad, valid, return_mask=False), np.ndarray)
    out, mask = up(lr, return_mask=True)
    assert mask.all()
    t = torch.from_numpy(lr_bad)[None, None].double()
    th, tv = up(t, torch.from_numpy(valid)[None, None])
    assert isinstance(th, torch.Tensor) and th.shape == (1, 1, 192, 256)
    assert th.dtype == torch.float32 and tv.dtype == torch.bool
    np.testing.assert_array_equal(th[0, 0].numpy(), hr)
    # integer maps (a 16-bit millimetre PNG as stored) are fine
    assert up(lr.astype(np.uint16)).shape == (192, 256)
    for grid in ("corner", "point"):
        np.testing.assert_array_equal(
            up(lr, lr_grid=grid),
            DepthUpsampler.from_pretrained("dsr-x4").upsample(lr, lr_grid=grid).values,
        )
    ens = api.load_upsampler("dsr-x4", device="cpu", self_ensemble="transpose")
    assert ens.upsampler.describe()["self_ensemble"] == "transpose"
    assert ens(lr).shape == (192, 256)


def test_upsampler_refuses_bad_input(up: api.Upsampler) -> None:
    for bad in (np.ones((2, 3, 4)), np.ones((2, 2, 4, 4)), np.ones(5), np.ones((3, 3), bool)):
        with pytest.raises(UserError):
            up(bad)
    with pytest.raises(UserError, match="validity mask"):
        up(np.ones((4, 4)), np.ones((4, 5), bool))
    with pytest.raises(UserError, match="lr_grid"):
        up(np.ones((4, 4)), lr_grid="edge")


def test_load_upsampler_sources_and_errors(tmp_path: Path) -> None:
    from depthduet.engine.checkpoint import save_checkpoint

    torch.manual_seed(0)
    net = DSRNet(2, n_feats=8, n_base=4, n_stages=2).eval()
    run = tmp_path / "run"
    save_checkpoint(
        run / "checkpoints" / "last",
        {"dsr": net.state_dict()},
        None,
        {"recipe": "ctkt", "config": {}, "inference_networks": ["dsr"]},
    )
    x = np.random.default_rng(0).random((9, 11)).astype(np.float32) + 1
    a = depthduet.load_upsampler(run, device="cpu")(x)
    b = depthduet.load_upsampler(net, device="cpu")(x)
    ref = DepthUpsampler(net, 2, device="cpu", fast=False).upsample(x).values
    span = np.ptp(ref)
    assert np.abs(a - ref).max() <= 1e-5 * span and np.abs(b - ref).max() <= 1e-5 * span
    bic = depthduet.load_upsampler("bicubic-x2", device="cpu")
    assert bic.module is None and bic(x).shape == (18, 22)
    half = depthduet.load_upsampler(net, device="cpu", precision="bf16")
    assert half.precision == "bf16" and half.module is net
    assert np.abs(half(x) - ref).max() <= 2e-2 * np.ptp(ref)
    with pytest.raises(UserError, match="available: .*dsr-x4"):
        depthduet.load_upsampler("dsr-x3")
    with pytest.raises(UserError, match="load_predictor"):
        depthduet.load_upsampler("mde-driving")
    with pytest.raises(UserError, match="precision"):
        depthduet.load_upsampler("dsr-x4", precision="int8")
    with pytest.raises(UserError, match="depth super-resolution"):
        depthduet.load_predictor("dsr-x4")


def test_predictor_inputs_and_point_cloud(mde: api.Predictor) -> None:
    folder = depthduet.example_path("driving")
    img = read_image(folder / "frame.png", grey=False)
    ref_d, ref_c = DepthPredictor.from_pretrained("mde-driving").predict(img)
    p = mde(img)
    assert p.points is None and p.depth.shape == (96, 320) and isinstance(p.depth, np.ndarray)
    np.testing.assert_allclose(p.depth, ref_d, rtol=1e-5)
    np.testing.assert_allclose(p.confidence, ref_c, rtol=1e-5, atol=1e-6)
    u8 = mde((img * 255).round().astype(np.uint8))
    assert np.abs(u8.depth - ref_d).max() < 0.05 * np.ptp(ref_d)
    K = json.loads((folder / "camera.json").read_text())["K"]
    for k in (K, (K[0][0], K[1][1], K[0][2], K[1][2]), folder / "camera.json"):
        q = mde(folder / "frame.png", K=k)
        assert q.points.shape == (96 * 320, 3) and q.colors.shape == (96 * 320, 3)
        assert q.points.dtype == np.float32 and q.colors.dtype == np.uint8
        np.testing.assert_allclose(q.points[:, 2], ref_d.reshape(-1), rtol=1e-5)
    t = torch.from_numpy(img).permute(2, 0, 1)
    one = mde(t, K=K)
    assert isinstance(one.depth, torch.Tensor) and one.depth.shape == (96, 320)
    assert isinstance(one.points, torch.Tensor) and one.points.shape == (96 * 320, 3)
    batch = mde(torch.stack([t, t]), K=K)
    assert batch.depth.shape == (2, 1, 96, 320) and len(batch.points) == 2
    np.testing.assert_allclose(batch.depth[1, 0].numpy(), ref_d, rtol=1e-5)
    with pytest.raises(UserError, match="image"):
        mde(np.ones((4, 4, 4, 3)))
    with pytest.raises(UserError):
        mde(img, K=[[-1, 0, 1], [0, 1, 1], [0, 0, 1]])
    assert mde.size == (64, 160) and type(mde.module).__name__ == "DepthNet"


def test_list_models_covers_both_tasks() -> None:
    from depthduet.inference.pretrained import available_models

    models = depthduet.list_models()
    names = [m["name"] for m in models]
    assert "mde-driving" in names and "dsr-x4" in names
    assert names == available_models()  # the monocular-depth model is no longer left out
    for m in models:
        assert m["kind"] in ("depth-super-resolution", "monocular-depth")
        assert Path(m["weights"]).is_file() and len(m["sha256"]) == 64
    assert available_models(kind="monocular-depth") == ["mde-driving"]


def test_examples_are_small_and_readable() -> None:
    ex = depthduet.list_examples()
    total = 0
    for name, entry in ex.items():
        for f in entry["files"]:
            p = depthduet.example_path(name, f)
            assert p.is_file(), p
            total += p.stat().st_size
    assert total < 250 * 1024
    gt = read_depth(depthduet.example_path("indoor", "depth_mm.png"))
    assert gt.values.shape == (192, 256) and gt.valid.all() and gt.values.min() > 500
    with pytest.raises(UserError, match="examples: driving, indoor"):
        depthduet.example_path("outdoor")
    with pytest.raises(UserError, match="no file"):
        depthduet.example_path("indoor", "nope.png")


def test_example_command(tmp_path: Path, capsys) -> None:
    assert main(["example"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "indoor" in err[0] and "driving" in err[0]
    assert main(["example", "nope", "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'nope'" in err[0] and "indoor" in err[0]
    out = tmp_path / "ex"
    assert main(["example", "indoor", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "try: depthduet upsample" in text
    for f in ("depth_mm.png", "lr_x4_mm.png", "rgb.png", "camera.json"):
        assert (out / f).read_bytes() == depthduet.example_path("indoor", f).read_bytes()
    assert main(["example", "indoor", "-o", str(out)]) == 0  # same files again: fine
    (out / "rgb.png").write_bytes(b"mine")
    assert main(["example", "indoor", "-o", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (out / "rgb.png").read_bytes() == b"mine"
    assert main(["example", "indoor", "-o", str(out), "--overwrite"]) == 0


def test_api_equals_the_command_line(tmp_path: Path, capsys) -> None:
    """load_upsampler on a numpy map and on a (B,1,H,W) tensor equals `depthduet upsample` on the
    same file; load_predictor equals `depthduet predict` (max differences printed)."""
    import torch

    import depthduet
    from depthduet.io import read_depth

    lr_file = depthduet.example_path("indoor", "lr_x4_mm.png")
    out = tmp_path / "hr.npy"
    assert main(["upsample", str(lr_file), "--scale", "4", "-o", str(out)]) == 0
    cli = np.load(out)
    up = depthduet.load_upsampler("dsr-x4", device="cpu")
    lr = read_depth(lr_file).values
    a = up(lr)
    b = up(torch.from_numpy(np.stack([lr, lr]))[:, None])[1, 0].numpy()
    rng = float(cli.max() - cli.min())
    for name, x in (("numpy", a), ("tensor", b)):
        d = float(np.abs(x - cli).max())
        print(f"upsample vs load_upsampler ({name}): max |difference| {d:.3g} (range {rng:.4g})")
        assert d <= 1e-5 * rng
    frame = depthduet.example_path("driving", "frame.png")
    pdir = tmp_path / "pred"
    assert main(["predict", str(frame), "--model", "mde-driving", "-o", str(pdir)]) == 0
    cli_depth = np.load(pdir / "frame_depth.npy")
    pred = depthduet.load_predictor("mde-driving", device="cpu")(frame)
    d = float(np.abs(pred.depth - cli_depth).max())
    print(f"predict vs load_predictor: max |difference| {d:.3g} m")
    assert d <= 1e-5 * float(cli_depth.max() - cli_depth.min())
