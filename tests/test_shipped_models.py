"""The shipped dsr-x2/x4/x8/x16 weights, run through ``depthduet upsample`` on a real map they never
trained on (Middlebury 2003 cones, held out of ``configs/dsr/real_x4.yaml``), beat bicubic.

The LR input is made from the ground truth by the evaluation's antialiased bicubic downsampling
and written as a float ``.npy`` file; the CLI upsamples it once with ``--model dsr-xS`` and once
with ``--baseline bicubic``, and both outputs are scored against the ground truth over its valid
pixels. ``benchmarks/dsr_shipped_eval.sh`` gives the full table (more maps, more datasets).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from depthduet.cli import main
from depthduet.evaluation.baselines import downsample_depth
from depthduet.evaluation.metrics import dsr_errors
from depthduet.io import read_depth, write_depth

pytestmark = pytest.mark.realdata


@pytest.mark.parametrize("scale", [2, 4, 8, 16])
def test_shipped_model_beats_bicubic_on_held_out_map(
    scale: int, data_root: Path, tmp_path: Path
) -> None:
    src = data_root / "middlebury_2001_2003" / "Depth" / "cones_2.mat"
    if not src.is_file():
        pytest.skip(f"{src} not found")
    gt = read_depth(src, key="img_double")
    lr, lr_valid = downsample_depth(gt.values, gt.valid, scale, "bicubic")
    h, w = lr.shape[0] * scale, lr.shape[1] * scale
    gt_values, gt_valid = gt.values[:h, :w].astype(np.float64), gt.valid[:h, :w]
    lr_path = write_depth(tmp_path / "lr.npy", lr.astype(np.float32), lr_valid)

    outs = {}
    for label, how in (
        ("model", ["--model", f"dsr-x{scale}"]),
        ("bicubic", ["--baseline", "bicubic"]),
    ):
        out = tmp_path / f"{label}.npy"
        rc = main(["upsample", str(lr_path), "--scale", str(scale), *how, "-o", str(out)])
        assert rc == 0
        outs[label] = read_depth(out)
        assert outs[label].values.shape == (h, w)
    # invalid pixels stay invalid, and the model is scored where both outputs and the GT are valid
    both = gt_valid & outs["model"].valid & outs["bicubic"].valid
    assert both.mean() > 0.9
    ours = dsr_errors(gt_values[both], outs["model"].values[both])["rmse"]
    base = dsr_errors(gt_values[both], outs["bicubic"].values[both])["rmse"]
    assert ours < 0.97 * base, f"x{scale}: model RMSE {ours:.3f} vs bicubic {base:.3f}"


KERNELS = ("bicubic_aa", "bicubic_plain", "area", "nearest", "nearest:0")


@pytest.mark.parametrize("scale", [2, 4, 8, 16])
@pytest.mark.parametrize("kernel", KERNELS)
def test_blind_model_beats_bicubic_on_every_kernel(
    scale: int, kernel: str, data_root: Path
) -> None:
    """The shipped blind models on a held-out map, LR made five ways (``nearest`` upsampled with
    ``lr_grid="point"``; ``nearest:0`` is the corner grid, upsampled with ``lr_grid="corner"``;
    bicubic on the same grid)."""
    from depthduet.apps.degrade import degrade_map
    from depthduet.inference.dsr import DepthUpsampler

    src = data_root / "middlebury_2001_2003" / "Depth" / "cones_2.mat"
    if not src.is_file():
        pytest.skip(f"{src} not found")
    gt = read_depth(src, key="img_double")
    lr, lv, hr, hv, _ = degrade_map(gt.values, gt.valid, scale, kernel)
    grid = {"nearest": "point", "nearest:0": "corner"}.get(kernel, "center")
    ours = DepthUpsampler.from_pretrained(f"dsr-x{scale}", device="cpu").upsample(lr, lv, grid)
    base = DepthUpsampler.bicubic(scale, device="cpu").upsample(lr, lv, grid)
    both = hv & ours.valid & base.valid
    e_ours = dsr_errors(hr[both], ours.values[both])["rmse"]
    e_base = dsr_errors(hr[both], base.values[both])["rmse"]
    assert e_ours < e_base, f"x{scale} {kernel}: model RMSE {e_ours:.3f} vs bicubic {e_base:.3f}"
