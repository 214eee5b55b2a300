"""``depthduet show DEPTH -o PNG``: save a picture of a depth map (+ RGB, + validity)."""

from __future__ import annotations

import argparse
from pathlib import Path

from depthduet.cli import options_as

HELP = "save a colour-mapped picture of a depth map (with its RGB image and validity)"
DESCRIPTION = """\
Write a PNG panel: the RGB image (with --rgb), the colour-mapped depth (robust percentile
range, near = warm: red near, blue far, with a colour bar in --unit; invalid pixels black) and
the validity mask (white = valid). Pass --disparity for maps where large values are near.
DEPTH is read like `depthduet convert` reads its input (--scale, --key, --index, --encoding,
--invalid). The parameters and value range are saved next to the PNG as PNG.yaml.

examples:
  depthduet show TUM_depth.png --scale 5000 --rgb TUM_color.png -o tum.png
  depthduet show NYU_depth.pgm --encoding kinect-raw --rgb NYU_color.ppm -o nyu.png
  depthduet show motorcycle_disp.npz --disparity --rgb motorcycle_left.png -o moto.png
  depthduet show depth_mm.png --unit mm -o depth.png
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    from depthduet.io import ENCODINGS

    p.add_argument("depth", metavar="DEPTH", help="depth / disparity file")
    p.add_argument("-o", "--output", required=True, metavar="PNG", help="output picture (.png)")
    p.add_argument("--rgb", default=None, metavar="IMG", help="colour image shown beside it")
    p.add_argument("--scale", type=float, default=None, help="stored units per unit (default 1)")
    p.add_argument("--key", default=None, help="array name inside DEPTH (.npz / .mat)")
    p.add_argument("--index", type=int, default=None, help="map index in a 3-D stack")
    p.add_argument("--encoding", choices=ENCODINGS, default="plain", help="raw encoding of DEPTH")
    p.add_argument("--invalid", type=float, default=None, metavar="V", help="no-data sentinel")
    p.add_argument("--cmap", default="turbo", help="matplotlib colour map (default turbo)")
    p.add_argument("--lo-pct", type=float, default=2.0, help="lower percentile of the range")
    p.add_argument("--hi-pct", type=float, default=98.0, help="upper percentile of the range")
    p.add_argument("--vmin", type=float, default=None, help="fixed bottom of the colour range")
    p.add_argument("--vmax", type=float, default=None, help="fixed top of the colour range")
    p.add_argument(
        "--disparity",
        action="store_true",
        help="the map is disparity (large = near); colours still put near = warm",
    )
    p.add_argument("--unit", default="", help="unit written on the colour bar, e.g. m or mm")
    p.add_argument("--invert", action="store_true", help="reverse the colours once more")
    p.add_argument("--no-mask", action="store_true", help="leave out the validity tile")
    p.add_argument("--ncols", type=int, default=None, help="tiles per row (default: one row)")


def run(args: argparse.Namespace) -> int:
    """Save the picture, print what was written."""
    from depthduet.apps.show import ShowParams, show

    record = show(options_as(ShowParams, args))
    lo, hi = record["colour_range"]
    out = Path(args.output)
    print(f"wrote {out} (colour range {lo:.6g}..{hi:.6g}, {record['valid_pixels']} valid pixels)")
    return 0
