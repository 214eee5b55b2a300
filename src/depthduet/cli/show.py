"""``depthduet show DEPTH -o PNG``: save a picture of a depth map (+ RGB, + validity)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

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


def show(args: argparse.Namespace) -> dict[str, Any]:
    """Build and save the panel; returns the parameters and the colour range used."""
    from depthduet.errors import UserError
    from depthduet.io import read_depth, read_image
    from depthduet.viz import depth_colors, robust_range, save_panel, with_colorbar

    out = Path(args.output)
    if out.suffix.lower() != ".png":
        raise UserError(f"{out}: the picture is written as PNG; use a .png name")
    for src, what in ((args.depth, "the depth input"), (args.rgb, "the --rgb image")):
        if src and Path(src).resolve() == out.resolve():
            raise UserError(f"{out}: the picture would overwrite {what}; choose another -o")
    import matplotlib

    if args.cmap not in matplotlib.colormaps:
        raise UserError(
            f"--cmap {args.cmap!r}: unknown matplotlib colour map (e.g. turbo, viridis)"
        )
    if not 0 <= args.lo_pct < args.hi_pct <= 100:
        raise UserError(f"need 0 <= --lo-pct < --hi-pct <= 100, got {args.lo_pct}, {args.hi_pct}")
    dm = read_depth(
        args.depth,
        scale=args.scale,
        key=args.key,
        invalid=args.invalid,
        encoding=args.encoding,
        index=args.index,
    )
    lo, hi = robust_range(dm.values, dm.valid, args.lo_pct, args.hi_pct)
    lo = lo if args.vmin is None else args.vmin
    hi = hi if args.vmax is None else args.vmax
    if not lo < hi:
        raise UserError(f"empty colour range {lo}..{hi}: check --vmin/--vmax")
    tiles: list[tuple[str, Any]] = []
    if args.rgb:
        tiles.append((Path(args.rgb).name, read_image(args.rgb)))
    kind = "disparity" if args.disparity else "depth"
    colour, _ = depth_colors(
        dm.values, dm.valid, kind=kind, cmap=args.cmap, invert=args.invert, vmin=lo, vmax=hi
    )
    reverse = (kind == "depth") != bool(args.invert)
    label = f"{kind} [{args.unit}]" if args.unit else kind
    colour = with_colorbar(colour, lo, hi, cmap=args.cmap, reverse=reverse, label=label)
    n = int(dm.valid.sum())
    tiles.append((f"{Path(args.depth).name}  {lo:.4g}..{hi:.4g}", colour))
    if not args.no_mask:
        tiles.append((f"valid {100 * n / dm.valid.size:.1f}%", dm.valid))
    save_panel(out, tiles, ncols=args.ncols)
    return {
        "command": "show",
        "depth": str(args.depth),
        "rgb": args.rgb,
        "output": str(out),
        "scale": args.scale,
        "key": args.key,
        "index": args.index,
        "encoding": args.encoding,
        "invalid": args.invalid,
        "cmap": args.cmap,
        "lo_pct": args.lo_pct,
        "hi_pct": args.hi_pct,
        "invert": args.invert,
        "kind": kind,
        "unit": args.unit,
        "colours": "near = warm (turbo reversed for depth)" if not args.invert else "reversed",
        "colour_range": [float(lo), float(hi)],
        "shape": [int(dm.values.shape[0]), int(dm.values.shape[1])],
        "valid_pixels": n,
        "min": float(dm.values[dm.valid].min()) if n else None,
        "max": float(dm.values[dm.valid].max()) if n else None,
    }


def run(args: argparse.Namespace) -> int:
    from depthduet.config import save_config

    record = show(args)
    out = Path(args.output)
    save_config(record, out.with_name(out.name + ".yaml"))
    lo, hi = record["colour_range"]
    print(f"wrote {out} (colour range {lo:.6g}..{hi:.6g}, {record['valid_pixels']} valid pixels)")
    return 0
