"""``depthduet evaluate``: score predictions of any method under a named, published protocol."""

from __future__ import annotations

import argparse
import sys

from depthduet.apps.upsample import LR_GRIDS
from depthduet.cli import options_as
from depthduet.errors import UserError

HELP = "evaluate depth predictions (files, baselines or a model) under a named protocol"

DESCRIPTION = """\
Evaluate depth predictions under a named protocol and print a table (the protocol first).

Protocols (details: depthduet.evaluation.protocols):
  kitti-eigen            Garg crop, 1e-3 < gt < 80 m, predictions clamped, per image then mean
  kitti-eigen-benchmark  improved GT, full image, gt > 0 and 1e-3 < gt < 80 m, clamped
  kitti-eigen-benchmark-garg  improved GT with the Garg crop (METHOD.md B.6 as written)
  nyu-eigen              Eigen crop (45:471, 41:601 on 480x640), 1e-3 < gt < 10 m, clamped
  nyu-dsr                6-pixel border crop, RMSE / MAD in cm (inputs in metres unless --unit)
  middlebury-dsr         RMSE / MAD on disparity values, full image
  sintel-dsr             RMSE / MAD on the values as given, full image

--pred / --gt: a folder of per-image files (matched by name stem), an .npy/.npz/.mat stack
(one map per image, matched by position), an .npz of named 2-D arrays, or one file. A folder
written by `depthduet predict` is read through its STEM_depth.npy maps, named STEM.
Median scaling is never implied: pass --median-scaling for scale-ambiguous (monocular
self-supervised) models. Predictions of another size are resized bilinearly to the ground
truth unless --no-resize.

DSR baselines: --baseline bicubic,nearest --scale 4 makes the LR from the ground truth
(--lr-from bicubic or bicubic_aa: antialiased bicubic; bicubic_plain: without antialiasing;
bilinear; area: block means; gaussian; nearest: hr[s//2::s, s//2::s]) or reads it
(--lr-from given --lr DIR) and upsamples it back; the degradation is recorded in the output.

Examples:
  depthduet evaluate --protocol kitti-eigen --gt gt_depths.npz --allow-pickle \\
      --pred pred_disps.npy --pred-inverse --median-scaling      # monodepth2's files
  depthduet evaluate --protocol nyu-dsr --pred out/ --gt nyu_test_gt/ --json nyu_x8.json
  depthduet evaluate --protocol middlebury-dsr --gt gt/ --gt-scale 4 --baseline bicubic,nearest \\
      --scale 8 --lr-from nearest
  depthduet evaluate --protocol sintel-dsr --gt kinect_mm/ --gt-scale 1000 --model dsr-x4 \\
      --baseline bicubic --scale 4 --missing exclude    # maps with holes: predicted pixels only
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    from depthduet.evaluation.protocols import MISSING_RULES, PROTOCOLS

    p.add_argument("--protocol", required=True, choices=list(PROTOCOLS), help="protocol name")
    p.add_argument("--gt", required=True, help="ground truth: folder, stack or file")
    p.add_argument("--pred", help="predictions: folder, stack or file")
    p.add_argument("--name", help="label of the prediction row (default: the --pred name)")
    p.add_argument(
        "--median-scaling",
        action="store_true",
        help="per-image median scaling median(gt)/median(pred) (scale-ambiguous models only)",
    )
    p.add_argument(
        "--no-resize",
        dest="allow_resize",
        action="store_false",
        help="fail instead of resizing predictions whose size differs from the ground truth",
    )
    p.add_argument(
        "--unit",
        choices=["m", "cm", "mm"],
        help="unit of the values after scaling (metric protocols; default m)",
    )
    p.add_argument("--gt-scale", type=float, help="GT stored units per unit (KITTI PNG: 256)")
    p.add_argument("--pred-scale", type=float, help="prediction stored units per unit")
    p.add_argument("--gt-key", help="array name inside GT .npz/.mat files")
    p.add_argument("--pred-key", help="array name inside prediction .npz/.mat files")
    p.add_argument("--recursive", action="store_true", help="search sub-folders of folders")
    p.add_argument(
        "--pred-inverse",
        action="store_true",
        help="predictions hold inverse depth (monodepth2 pred_disps.npy): resized, then 1/x",
    )
    p.add_argument(
        "--allow-pickle",
        action="store_true",
        help="read object-array .npy/.npz (monodepth2 gt_depths.npz); trusted files only",
    )
    _add_dsr_arguments(p)
    p.add_argument("--checkpoint", help="evaluate a trained run / checkpoint (DSR or monocular)")
    p.add_argument("--model", help="evaluate a shipped pretrained model (e.g. dsr-x4)")
    p.add_argument("--images", help="RGB images for a monocular model, matched by name")
    p.add_argument("--device", default="auto", help="device for model inference")
    p.add_argument(
        "--missing",
        choices=MISSING_RULES,
        default=MISSING_RULES[0],
        help="ground-truth pixels without a valid prediction (e.g. under an LR hole) count as "
        "0 (default, as the published protocols) or are left out of the metrics; their "
        "number is reported either way",
    )
    p.add_argument("--json", help="write the report (JSON) here; the settings go beside it")
    p.add_argument(
        "--no-per-image",
        dest="per_image",
        action="store_false",
        help="leave per-image numbers out of the JSON",
    )
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")


def _add_dsr_arguments(p: argparse.ArgumentParser) -> None:
    """The options of the DSR protocols: baselines, scale and the LR input."""
    p.add_argument(
        "--baseline",
        default="",
        help="comma-separated interpolation baselines for DSR protocols: bicubic,nearest",
    )
    p.add_argument("--scale", type=int, help="DSR upsampling factor (baselines, DSR models)")
    p.add_argument(
        "--lr-from",
        metavar="KIND",
        help="how the LR input is made: bicubic (= bicubic_aa), bicubic_plain, bilinear, area, "
        "nearest, gaussian or given (default bicubic for baselines/models; recorded only for "
        "--pred)",
    )
    p.add_argument("--lr", help="LR maps for --lr-from given (folder, stack or file)")
    p.add_argument(
        "--lr-grid",
        choices=LR_GRIDS,
        help="where the LR samples sit, for DSR models (as in upsample): center, point or "
        "corner (default point for --lr-from nearest, else center)",
    )
    p.add_argument("--lr-scale", type=float, help="LR stored units per unit")
    p.add_argument("--lr-key", help="array name inside LR .npz/.mat files")


def run(args: argparse.Namespace) -> int:
    """Evaluate, print the table, write the JSON and the settings YAML."""
    from depthduet.apps.evaluate import evaluate
    from depthduet.apps.messages import console

    def progress(i: int, n: int, name: str) -> None:
        if not args.quiet and sys.stderr.isatty():
            print(f"\r[{i}/{n}] {name}", end="" if i < n else "\n", file=sys.stderr, flush=True)

    evaluate(_settings(args), args.json or None, progress, console("evaluate"))
    return 0


def _settings(args: argparse.Namespace):  # -> EvaluateSettings
    """The settings of the command's options."""
    from depthduet.evaluation.runner import EvaluateSettings

    baselines = [b.strip() for b in (args.baseline or "").split(",") if b.strip()]
    if len(set(baselines)) != len(baselines):
        raise UserError(f"--baseline {args.baseline!r}: a baseline is listed twice")
    return options_as(EvaluateSettings, args, baselines=baselines)
