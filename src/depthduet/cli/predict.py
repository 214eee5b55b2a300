"""``depthduet predict``: monocular depth + confidence of images with a METHOD B network."""

from __future__ import annotations

import argparse

from depthduet.apps.predict import PredictParams
from depthduet.apps.predict import write_previews as _write_previews  # noqa: F401 - old name
from depthduet.cli import options_as

__all__ = ["HELP", "DESCRIPTION", "add_arguments", "run"]

HELP = "predict depth and confidence maps (and a point cloud) from RGB images (METHOD B)"

DESCRIPTION = """\
Predict metric depth and a confidence map for one RGB image or every image of a folder with a
trained branch of the mutual-distillation method (N_u: LiDAR-supervised, N_s: self-supervised).

Outputs in the folder OUT, per image STEM:
  STEM_depth.npy         float32 depth in metres (relative units for an M-only model)
  STEM_depth.png         16-bit PNG, value = round(depth * 256) (KITTI convention)
  STEM_depth_color.png   preview: image | depth (turbo, near = warm) | confidence, colour bars
  STEM_conf.npy          float32 confidence in (0, 1)
  STEM_conf.png          16-bit PNG, value = round(confidence * 65535)
  STEM_conf_color.png    confidence preview (viridis, with colour bar)
  STEM.ply               coloured point cloud, with intrinsics (--K or --camera)
and predict.yaml with the settings. Intrinsics are those of the input image (pixels, 0-based
pixel centres); a folder may hold intrinsics.txt/.yaml/.json or camera.json (Cityscapes).
In a folder, a file named as predict's output for another image there (a_depth.png beside
a.png) is skipped with a note; inputs sharing a stem (a.png and a.jpg) are refused. A bad image
in a folder is reported and skipped, the others are predicted, and the exit status is 1; a
single bad image is one error line and exit status 2, with nothing written.

Examples:
  depthduet predict frame.png --checkpoint runs/mde_world_semi -o out/
  depthduet predict frames/ --checkpoint runs/mde_world_semi --branch s -o out/ --K 721.5,721.5,609.6,172.9
  depthduet predict img.png --model mde-driving -o out/ --camera camera.json
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    p.add_argument("input", metavar="IMAGE|DIR", help="RGB image or folder of images")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="output folder")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--model", metavar="NAME", help="shipped weights (default: mde-driving)")
    src.add_argument(
        "--checkpoint", metavar="PATH", help="run folder, checkpoint folder or .safetensors"
    )
    p.add_argument(
        "--branch", choices=("u", "s"), help="which network: u (LiDAR) or s (self-supervised)"
    )
    p.add_argument(
        "--prefer", choices=("best", "last"), default="best", help="checkpoint in a run folder"
    )
    cam = p.add_mutually_exclusive_group()
    cam.add_argument("--K", metavar="fx,fy,cx,cy", help="intrinsics of the input images")
    cam.add_argument("--camera", metavar="FILE", help="intrinsics file (txt/yaml/json)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1 ...")
    p.add_argument("--no-preview", action="store_true", help="skip the colour previews")


def run(args: argparse.Namespace) -> int:
    """Predict every input image and write the maps. A single input that fails is an error
    (exit status 2, nothing written); in a folder, failed images are reported and the exit
    status is 1."""
    from depthduet.apps.messages import console
    from depthduet.apps.predict import predict

    params = options_as(PredictParams, args)
    results = predict(params, console("predict"))
    return 1 if results.failed else 0
