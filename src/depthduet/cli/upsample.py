"""``depthduet upsample``: depth super-resolution of a file or a folder (METHOD.md A.5)."""

from __future__ import annotations

import argparse

from depthduet.apps.upsample import LR_GRIDS, SELF_ENSEMBLES, UpsampleParams
from depthduet.cli import options_as

HELP = "super-resolve depth maps (any unit, any size) with DSRNet or bicubic"

DESCRIPTION = """\
Super-resolve depth or disparity maps by 2, 4, 8 or 16 with DSRNet (METHOD A) or bicubic.

INPUT is a depth file (.png .pgm .bmp .tif .pfm .npy .npz .mat .dpt) or a folder of them.
Maps of any size are processed in overlapping tiles (--tile/--overlap, in input pixels)
blended with a cosine ramp, so memory stays bounded.

Units: the map is normalised per image from its valid pixels (min..max), so the same
weights serve 8-bit disparity PNGs, millimetre PNGs and metric float maps; the output is in
the input's unit and clipped to the input's valid range. Invalid pixels (0, negative,
NaN/inf, or the --invalid sentinel) are filled before the network so they never affect
valid neighbours; an output pixel is invalid iff the input pixel containing it is invalid,
and it is stored the way the input marks missing data (the --invalid value, NaN or inf for
float maps whose holes are all NaN / inf, else 0; 0 where the output format cannot hold it).

Output: the format follows OUT's suffix (default: the input's format; .bmp/.tif become
.png). Integer formats store round(value * out-scale): pass e.g. --out-scale 16 to keep
sub-unit precision. An 8-bit input (e.g. a disparity PNG) is not written back as 8-bit,
which would round away what the upsampling adds: float formats keep the values, and integer
formats are written as 16-bit with value x 256 (--out-scale 256 times --in-scale, noted on
stderr), unless --bits 8 or --out-scale asks otherwise. A float map
whose values would not survive rounding is refused unless --out-scale is given. A folder
is processed file by file; a bad file is reported and skipped and the exit status is 1.
Files are written atomically (never half-written). The settings are saved as YAML next to
the outputs.

Preview (--preview): a panel input | output (| ground truth | error with --gt) with colour
bars in --unit and one colour range; near = warm (red near, blue far); pass --disparity for
maps where large values are near.

Examples:
  depthduet upsample lr.png --scale 4 -o hr.png --preview hr_preview.png
  depthduet upsample lr_mm.png --scale 4 -o hr_mm.png --preview p.png --gt gt_mm.png --unit mm
  depthduet upsample lr_mm/ --scale 8 --model dsr-x8 -o hr_mm/
  depthduet upsample d.npz --key depth --scale 4 --checkpoint runs/dsr_x4 -o d_x4.pfm
  depthduet upsample lr.pfm --scale 4 --baseline bicubic -o bicubic.pfm
  depthduet upsample sparse.npy --scale 8 --lr-grid corner -o dense.npy
  depthduet upsample decimated.png --scale 4 --lr-grid point -o hr.png

Sampling grid: block means and resizes stand for the centres of their s x s blocks (the
default, --lr-grid center). Point samples sit elsewhere, and a map does not tell where: pass
--lr-grid point for hr[s//2::s] (what `depthduet degrade --degradation nearest` makes) and
--lr-grid corner for hr[::s] (plain slicing, many sparse sensors). Both run the model eight
times (flips and transpositions aligned on that grid).

Self-ensemble (--self-ensemble): on the centre grid, also average the model over the input's
transpositions (transpose: 2 passes) or all flips and transpositions (dihedral: 8 passes);
default none (one pass).
"""

__all__ = ["HELP", "DESCRIPTION", "UpsampleParams", "add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    p.add_argument("input", metavar="INPUT", help="depth file or folder of depth files")
    p.add_argument(
        "--scale", type=int, required=True, choices=(2, 4, 8, 16), help="upsampling factor"
    )
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT",
        help="output file, or folder (an existing folder or a name without suffix)",
    )
    _add_source(p)
    _add_storage(p)
    _add_preview(p)
    _add_processing(p)


def _add_source(p: argparse.ArgumentParser) -> None:
    """Which weights (or the bicubic baseline) upsample."""
    src = p.add_mutually_exclusive_group()
    src.add_argument(
        "--model",
        metavar="NAME",
        help="shipped weights (dsr-x2, dsr-x4, dsr-x8, dsr-x16: blind models for LR made any way; default: dsr-x<scale>)",
    )
    src.add_argument(
        "--checkpoint", metavar="PATH", help="run folder, checkpoint folder or .safetensors"
    )
    src.add_argument(
        "--baseline", choices=("bicubic",), help="bicubic interpolation instead of a model"
    )


def _add_storage(p: argparse.ArgumentParser) -> None:
    """How the values are stored in the files read and written."""
    p.add_argument(
        "--in-scale",
        type=float,
        default=None,
        metavar="S",
        help="read: value = stored / S (default 1)",
    )
    p.add_argument(
        "--out-scale",
        type=float,
        default=None,
        metavar="S",
        help="write: stored = value * S (default: --in-scale, so files keep their units)",
    )
    p.add_argument("--key", default=None, help="array name in .npz/.mat input (and output)")
    p.add_argument(
        "--index",
        type=int,
        default=None,
        metavar="I",
        help="which map of a stacked input (.npy/.npz (N,H,W), .mat (H,W,N), e.g. NYU v2 .mat)",
    )
    p.add_argument(
        "--invalid", type=float, default=None, metavar="V", help="stored value meaning 'no data'"
    )
    p.add_argument(
        "--format",
        default=None,
        metavar="SUFFIX",
        help="output format for a folder (png, pfm, npy, npz, mat, dpt, pgm)",
    )


def _add_preview(p: argparse.ArgumentParser) -> None:
    """The colour-mapped preview."""
    p.add_argument(
        "--preview",
        default=None,
        metavar="PNG",
        help="colour-mapped preview file (a folder when INPUT is a folder)",
    )
    p.add_argument(
        "--gt",
        default=None,
        metavar="FILE",
        help="ground truth at the output's size (read like INPUT), shown in the preview with "
        "the error",
    )
    p.add_argument("--unit", default="", help="unit written on the preview's colour bars")
    p.add_argument(
        "--disparity",
        action="store_true",
        help="the maps are disparity (large = near): preview colours still put near = warm",
    )


def _add_processing(p: argparse.ArgumentParser) -> None:
    """Bit depth, tiling, sampling grid, size limit and device."""
    p.add_argument(
        "--bits",
        type=int,
        choices=(8, 16),
        default=None,
        help="integer outputs: 16 (default) or 8 bits; an 8-bit input is written as 16-bit "
        "with value x 256 unless --bits 8 or --out-scale",
    )
    p.add_argument(
        "--tile",
        type=int,
        default=None,
        help="tile size in input pixels (0 = no tiles; default 128 up to x4, 64 at x8, 48 at x16)",
    )
    p.add_argument(
        "--overlap",
        type=int,
        default=None,
        help="tile context margin in input pixels (default 16 up to x4, 8 at x8/x16)",
    )
    p.add_argument(
        "--lr-grid",
        choices=LR_GRIDS,
        default="center",
        help="where the input's samples sit on the output grid: center (block means, resizes; "
        "default), point (point samples hr[s//2::s]) or corner (point samples hr[::s])",
    )
    p.add_argument(
        "--self-ensemble",
        choices=SELF_ENSEMBLES,
        default=None,
        help="centre grid: average over transpositions (transpose, 2 passes) or all flips and "
        "transpositions (dihedral, 8 passes); default none",
    )
    p.add_argument(
        "--max-pixels",
        type=int,
        default=None,
        metavar="N",
        help="refuse outputs over N pixels (default 2^28 = 16384x16384, about 3 GiB; 0 = no limit)",
    )
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 ...")


def run(args: argparse.Namespace) -> int:
    """Upsample; exit status 1 when a file of a folder failed."""
    from depthduet.apps.messages import console
    from depthduet.apps.upsample import upsample

    params = options_as(UpsampleParams, args)
    results = upsample(params, console("upsample"))
    return 1 if results.failed else 0
