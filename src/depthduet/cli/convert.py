"""``depthduet convert IN OUT``: convert a depth / disparity map between formats and units."""

from __future__ import annotations

import argparse
from pathlib import Path

from depthduet.cli import options_as

HELP = "convert a depth map between formats and units (png/pgm/pfm/npy/npz/mat/dpt)"
DESCRIPTION = """\
Convert a depth (or disparity) map between file formats and units. The output format follows
OUT's suffix (.png/.pgm 8/16-bit integers, .pfm, .npy, .npz, .mat, .dpt). Scales say how many
stored units make one unit: a stored value divided by --in-scale gives the unit, and the output
stores value x --out-scale (e.g. --in-scale 5000 reads TUM PNGs in metres, --out-scale 1000
writes millimetre PNGs). Invalid pixels (0, NaN, inf, --invalid) are written as 0. The
parameters used are saved next to OUT as OUT.yaml. Files are written atomically.

encodings (--in-encoding):
  plain        stored / in-scale (default)
  kinect-raw   raw Kinect v1 units (NYU v2 raw PGM, little-endian) -> metres
  sun-rotated  SUN RGB-D bit-rotated millimetres -> metres
  disparity    disparity (stored / in-scale, pixels) -> depth = focal * baseline / (d + doffs),
               in the unit of --baseline; give --focal --baseline [--doffs] or --calib

examples:
  depthduet convert TUM_depth.png tum_m.pfm --in-scale 5000
  depthduet convert NYU_depth.pgm nyu_mm.png --in-encoding kinect-raw --out-scale 1000
  depthduet convert SUN_depth.png sun_mm.png --in-encoding sun-rotated --out-scale 1000
  depthduet convert motorcycle_disp.npz moto_mm.png --in-encoding disparity \\
      --focal 994.978 --baseline 193.001 --doffs 31.086
  depthduet convert cones_2.mat cones_disp.pfm --in-scale 4
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    from depthduet.io import ENCODINGS

    p.add_argument("input", metavar="IN", help="input depth / disparity file")
    p.add_argument("output", metavar="OUT", help="output file; its suffix picks the format")
    p.add_argument(
        "--in-scale",
        type=float,
        default=None,
        metavar="S",
        help="stored units per unit in IN (KITTI 256, TUM 5000, mm 1000; default 1)",
    )
    p.add_argument(
        "--out-scale",
        type=float,
        default=None,
        metavar="S",
        help="stored units per unit in OUT (e.g. 1000 to store metres as mm; default 1)",
    )
    p.add_argument(
        "--in-encoding",
        choices=(*ENCODINGS, "disparity"),
        default="plain",
        help="how IN encodes depth (see the list above; default plain)",
    )
    p.add_argument("--focal", type=float, default=None, help="focal length in pixels (disparity)")
    p.add_argument("--baseline", type=float, default=None, help="stereo baseline (disparity)")
    p.add_argument(
        "--doffs", type=float, default=None, help="principal point offset in pixels (disparity)"
    )
    p.add_argument(
        "--calib",
        default=None,
        metavar="TXT",
        help="Middlebury calib.txt giving cam0 (focal), baseline, doffs (disparity)",
    )
    p.add_argument("--key", default=None, help="array name inside IN (.npz / .mat)")
    p.add_argument("--index", type=int, default=None, help="map index in a 3-D stack in IN")
    p.add_argument(
        "--invalid", type=float, default=None, metavar="V", help="stored sentinel marking no data"
    )
    p.add_argument(
        "--out-key", default="depth", help="array name in OUT (.npz / .mat; default depth)"
    )
    p.add_argument(
        "--bits", type=int, choices=(8, 16), default=16, help="integer bits for .png/.pgm OUT"
    )


def run(args: argparse.Namespace) -> int:
    """Convert, print a one-line summary."""
    from depthduet.apps.convert import ConvertParams, convert
    from depthduet.apps.messages import console

    params = options_as(ConvertParams, args)
    record = convert(params, console("convert"))
    s = record["summary"]
    h, w = s["shape"]
    rng = f", range {s['min']:.6g}..{s['max']:.6g}" if s["valid_pixels"] else ""
    print(
        f"{args.input} -> {Path(args.output)}: {h}x{w}, {s['valid_pixels']} valid "
        f"({100 * s['valid_fraction']:.1f}%){rng}"
    )
    return 0
