"""``depthduet export``: every shipped model, ONNX and TorchScript, equals the eager model on a
real map of ../shared/data within 1e-4 of the output's range (depthduet.inference.export)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from depthduet.apps import export as ex
from depthduet.cli import main
from depthduet.errors import UserError
from depthduet.inference import export as graphs
from depthduet.inference.pretrained import MDE_KIND, available_models

HAVE_ORT = importlib.util.find_spec("onnxruntime") is not None
NEEDS_ORT = pytest.mark.skipif(
    not HAVE_ORT,
    reason="onnxruntime is not installed (pip install 'depthduet[export]'): ONNX files cannot run",
)
FORMATS = [pytest.param("onnx", marks=NEEDS_ORT), "torchscript"]
SUFFIX = {"onnx": ".onnx", "torchscript": ".pt"}


def _real_input(name: str, data_root: Path, scale: int) -> np.ndarray:
    """A real input: KITTI's colour frame for monocular depth; for super-resolution the
    Middlebury cones disparity reduced by ``scale`` (block means), with a hole."""
    from depthduet.apps.degrade import degrade_map
    from depthduet.io import read_depth, read_image

    if name in available_models(kind=MDE_KIND):
        p = data_root / "kitti" / "object_000007" / "image_2_000007.png"
        if not p.is_file():
            pytest.skip(f"{p} not found")
        return read_image(p, grey=False)
    p = data_root / "middlebury_2001_2003" / "Depth" / "cones_2.mat"
    if not p.is_file():
        pytest.skip(f"{p} not found")
    gt = read_depth(p, key="img_double")
    lr = degrade_map(gt.values, gt.valid, scale, "area")[0].astype(np.float32)
    h, w = lr.shape
    lr[h // 3 : h // 3 + max(1, h // 10), w // 2 : w // 2 + max(1, w // 10)] = 0.0
    return lr


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", available_models())
def test_shipped_model_export_equals_eager_on_real_data(
    name: str, fmt: str, data_root: Path, tmp_path: Path
) -> None:
    out = tmp_path / f"{name}{SUFFIX[fmt]}"
    rep = ex.export_model(out, fmt, model=name)
    assert out.is_file() and rep.max_difference <= ex.TOLERANCE  # on the shipped example
    loaded = ex.load_for_export(name)
    scale = loaded.meta.get("scale", 1)
    x = _real_input(name, data_root, scale)
    diffs = ex.check_export(loaded, out, fmt, x)
    for key, value in diffs.items():
        if key == "valid_mismatch":
            assert value == 0, f"{name} {fmt}: {value:.0f} validity pixels differ"
        else:
            assert value <= ex.TOLERANCE, f"{name} {fmt} {key}: {value:.2e} of the range"
    # dynamic batch: two maps at once, each as the eager model gives it alone
    if loaded.kind == "dsr":
        pair = np.stack([x, 0.5 * x + 3.0])[:, None]
        hr, hv = graphs.run_exported(out, fmt, pair)
        for i in range(2):
            ref = loaded.eager.upsample(pair[i, 0])
            span = np.ptp(ref.values[ref.valid])
            assert np.abs(hr[i, 0] - ref.values).max() <= ex.TOLERANCE * span
            np.testing.assert_array_equal(hv[i, 0], ref.valid)
    else:
        import torch

        img = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None]
        pair = torch.cat([img, img.flip(-1)]).numpy()
        depth, conf = graphs.run_exported(out, fmt, pair)
        ref_d, ref_c = loaded.eager.predict_tensor(torch.from_numpy(pair))
        assert depth.shape == conf.shape == (2, 1, *x.shape[:2])
        assert np.abs(depth - ref_d.numpy()).max() <= ex.TOLERANCE * float(np.ptp(ref_d.numpy()))
        assert np.abs(conf - ref_c.numpy()).max() <= ex.TOLERANCE * float(np.ptp(ref_c.numpy()))


@NEEDS_ORT
def test_onnx_file_says_what_it_holds(tmp_path: Path) -> None:
    import json

    import onnx

    out = tmp_path / "m.onnx"
    ex.export_model(out, "onnx", model="dsr-x4")
    m = onnx.load(str(out))
    meta = {p.key: json.loads(p.value) for p in m.metadata_props}
    assert meta["task"] == "depth-super-resolution" and meta["scale"] == 4
    assert [i.name for i in m.graph.input] == ["lr_depth"]
    assert [o.name for o in m.graph.output] == ["hr_depth", "hr_valid"]


def test_export_command(tmp_path: Path, capsys, monkeypatch) -> None:
    out = tmp_path / "x4.pt"
    assert main(["export", "--model", "dsr-x4", "--format", "torchscript", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert out.is_file() and "max |difference| / range" in text
    # an unknown model: one line, exit status 2, nothing written
    bad = tmp_path / "bad.pt"
    assert main(["export", "--model", "dsr-x3", "--format", "torchscript", "-o", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "dsr-x3" in err[0] and not bad.exists()
    # an export that does not reproduce the eager model is refused and not written
    monkeypatch.setattr(ex, "check_export", lambda *a, **k: {"depth": 3e-3, "valid_mismatch": 0})
    assert main(["export", "--model", "dsr-x4", "--format", "torchscript", "-o", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "3.00e-03" in err[0] and "not written" in err[0]
    assert not bad.exists() and not list(tmp_path.glob(".bad.pt*"))


def test_export_arguments_are_checked(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="exactly one"):
        ex.load_for_export()
    with pytest.raises(UserError, match="--format"):
        ex.export_model(tmp_path / "a", "tflite", model="dsr-x4")
    with pytest.raises(UserError, match="folder"):
        ex.export_model(tmp_path, "torchscript", model="dsr-x4")


def test_unrolled_fill_equals_recursive_fill() -> None:
    import torch

    from depthduet.models.dbpn import fill_invalid

    g = torch.Generator().manual_seed(0)
    for shape in [(1, 1, 1, 1), (2, 1, 5, 9), (1, 1, 37, 23), (1, 1, 64, 64)]:
        x = torch.rand(*shape, generator=g)
        v = torch.rand(*shape, generator=g) > 0.6
        v[0, 0, 0, 0] = True
        ref = fill_invalid(x, v)
        out = graphs._fill_unrolled(torch.where(v, x, torch.zeros_like(x)), v.float())
        torch.testing.assert_close(out, ref, atol=1e-6, rtol=1e-6)
