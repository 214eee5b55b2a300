"""``depthduet convert IN OUT``: convert a depth / disparity map between formats and units."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

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


def _stereo(args: argparse.Namespace) -> tuple[float, float, float]:
    from depthduet.errors import UserError
    from depthduet.io import read_calib_txt

    f, b, doffs = args.focal, args.baseline, args.doffs
    if args.calib:
        cal = read_calib_txt(args.calib)
        if f is None and "cam0" in cal:
            f = float(np.ravel(cal["cam0"])[0])
        if b is None and "baseline" in cal:
            b = float(cal["baseline"][0])
        if doffs is None and "doffs" in cal:
            doffs = float(cal["doffs"][0])
    if f is None or b is None:
        if args.calib:
            missing = [k for k, v in (("cam0 (focal length)", f), ("baseline", b)) if v is None]
            raise UserError(
                f"{args.calib}: no numeric {' or '.join(missing)} entry for --in-encoding "
                "disparity (Middlebury calib.txt style: cam0=[f 0 cx; ...], baseline=...); "
                "or pass --focal / --baseline"
            )
        raise UserError("--in-encoding disparity needs --focal and --baseline (or --calib)")
    if f <= 0 or b <= 0 or not np.isfinite([f, b]).all():
        from_file = args.calib and (args.focal is None or args.baseline is None)
        where = (
            f"{args.calib}: focal (cam0) and baseline" if from_file else "--focal and --baseline"
        )
        raise UserError(f"{where} must be positive, got {f} and {b}")
    return f, b, 0.0 if doffs is None else doffs


def convert(args: argparse.Namespace) -> dict[str, Any]:
    """Read, decode and write; returns the parameters and a summary (saved as YAML)."""
    from depthduet.errors import UserError
    from depthduet.io import check_integer_storable, disparity_to_depth, read_depth, write_depth

    src, dst = Path(args.input), Path(args.output)
    if src.resolve() == dst.resolve():
        raise UserError(f"{dst}: output would overwrite the input")
    disparity = args.in_encoding == "disparity"
    if not disparity and any(
        x is not None for x in (args.focal, args.baseline, args.doffs, args.calib)
    ):
        raise UserError("--calib/--focal/--baseline/--doffs only apply to --in-encoding disparity")
    stereo = _stereo(args) if disparity else None
    dm = read_depth(
        src,
        scale=args.in_scale,
        key=args.key,
        invalid=args.invalid,
        encoding="plain" if disparity else args.in_encoding,
        index=args.index,
    )
    values, valid = dm.values, dm.valid
    if stereo is not None:
        values = disparity_to_depth(values, *stereo, valid=valid)
        valid = values > 0
    if args.out_scale is None:
        check_integer_storable(dst.suffix, values, valid, dst)
    write_depth(dst, values, valid, scale=args.out_scale, bits=args.bits, key=args.out_key)
    n = int(valid.sum())
    if n == 0:
        print(
            f"depthduet convert: warning: {src}: no valid pixel; {dst} is all invalid",
            file=sys.stderr,
        )
    summary = {
        "shape": [int(values.shape[0]), int(values.shape[1])],
        "valid_pixels": n,
        "valid_fraction": round(n / values.size, 6),
        "min": float(values[valid].min()) if n else None,
        "max": float(values[valid].max()) if n else None,
    }
    params = {
        "command": "convert",
        "input": str(src),
        "output": str(dst),
        "in_scale": args.in_scale,
        "out_scale": args.out_scale,
        "in_encoding": args.in_encoding,
        "key": args.key,
        "index": args.index,
        "invalid": args.invalid,
        "out_key": args.out_key,
        "bits": args.bits,
    }
    if stereo is not None:
        params.update(focal=stereo[0], baseline=stereo[1], doffs=stereo[2], calib=args.calib)
    return {**params, "summary": summary}


def run(args: argparse.Namespace) -> int:
    from depthduet.config import save_config

    record = convert(args)
    dst = Path(args.output)
    save_config(record, dst.with_name(dst.name + ".yaml"))
    s = record["summary"]
    h, w = s["shape"]
    rng = f", range {s['min']:.6g}..{s['max']:.6g}" if s["valid_pixels"] else ""
    print(
        f"{args.input} -> {dst}: {h}x{w}, {s['valid_pixels']} valid "
        f"({100 * s['valid_fraction']:.1f}%){rng}"
    )
    return 0
