"""``depthduet upsample``: depth super-resolution of a file or a folder (METHOD.md A.5)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from depthduet.errors import UserError

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

Sampling grid: a point-sampled map taken as hr[::s] (the corner grid) is shifted by s//2
output pixels from one taken as hr[s//2::s], block means or resizes (the centre grid); no
model can see that from the map. Pass --lr-grid corner for the former.
"""

#: input formats that cannot be written: written as PNG instead
_WRITE_AS = {".bmp": ".png", ".tif": ".png", ".tiff": ".png"}


def add_arguments(p: argparse.ArgumentParser) -> None:
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
        choices=("center", "corner"),
        default="center",
        help="where the input's samples sit on the output grid: center (block means, resizes, "
        "hr[s//2::s]; default) or corner (point samples hr[::s], e.g. plain slicing)",
    )
    p.add_argument(
        "--max-pixels",
        type=int,
        default=None,
        metavar="N",
        help="refuse outputs over N pixels (default 2^28 = 16384x16384, about 3 GiB; 0 = no limit)",
    )
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 ...")


@dataclass
class UpsampleParams:
    """What ``depthduet upsample`` was asked to do (saved as YAML next to the outputs)."""

    input: str
    output: str
    scale: int
    model: str | None
    checkpoint: str | None
    baseline: str | None
    in_scale: float | None
    out_scale: float | None
    index: int | None
    key: str | None
    invalid: float | None
    format: str | None
    preview: str | None
    gt: str | None
    unit: str
    disparity: bool
    bits: int | None
    tile: int | None
    overlap: int | None
    lr_grid: str
    max_pixels: int | None
    device: str


def _norm_suffix(fmt: str) -> str:
    from depthduet.io import DEPTH_SUFFIXES

    s = fmt.lower() if fmt.startswith(".") else f".{fmt.lower()}"
    if s not in DEPTH_SUFFIXES or s in _WRITE_AS:
        writable = " ".join(x for x in DEPTH_SUFFIXES if x not in _WRITE_AS)
        raise UserError(f"--format {fmt}: cannot write this format (choose from {writable})")
    return s


def _build_upsampler(args: argparse.Namespace):  # -> DepthUpsampler
    from depthduet.inference.dsr import DepthUpsampler

    kw = {"tile": args.tile, "overlap": args.overlap, "device": args.device}
    if args.max_pixels is not None:
        if args.max_pixels < 0:
            raise UserError("--max-pixels must be >= 0 (0 = no limit)")
        kw["max_output_pixels"] = args.max_pixels
    if (args.tile is not None and args.tile < 0) or (args.overlap is not None and args.overlap < 0):
        raise UserError("--tile and --overlap must be >= 0")
    if args.baseline == "bicubic":
        return DepthUpsampler.bicubic(args.scale, **kw)
    if args.checkpoint:
        up = DepthUpsampler.from_checkpoint(args.checkpoint, **kw)
    else:
        up = DepthUpsampler.from_pretrained(args.model or f"dsr-x{args.scale}", **kw)
    if up.scale != args.scale:
        raise UserError(f"{up.name}: a x{up.scale} model, but --scale {args.scale} was asked")
    return up


def _process(up, src: Path, dst: Path, preview: Path | None, args: argparse.Namespace) -> str:
    from depthduet.io import (
        INTEGER_DEPTH_SUFFIXES,
        check_integer_storable,
        fill_fits,
        invalid_marker,
        make_depth_map,
        read_depth_stored,
        write_depth,
    )

    t0 = time.perf_counter()
    stored = read_depth_stored(src, key=args.key, index=args.index)
    lr = make_depth_map(stored, args.in_scale, args.invalid, path=src)
    out_scale = args.out_scale if args.out_scale is not None else args.in_scale
    widen = (
        stored.dtype == np.uint8
        and args.bits != 8
        and args.out_scale is None
        and dst.suffix.lower() in INTEGER_DEPTH_SUFFIXES
    )
    if widen:  # keep the upsampled fractions of an 8-bit map: 16-bit, value x 256
        out_scale = 256.0 * (1.0 if args.in_scale is None else args.in_scale)
        print(
            f"depthduet upsample: note: {dst}: the 8-bit input is written as 16-bit with "
            f"stored = value x {out_scale:g} (--out-scale {out_scale:g}); pass --bits 8 for "
            "8-bit",
            file=sys.stderr,
            flush=True,
        )
    if args.out_scale is None:
        # the input's own values would not survive an integer format (e.g. metres in a .npy
        # written as .png): refuse before the work, as `depthduet convert` does
        stored_values = lr.values * (1.0 if out_scale is None else out_scale)
        check_integer_storable(dst.suffix, stored_values, lr.valid, src)
    if not lr.valid.any():
        print(
            f"depthduet upsample: warning: {src}: no valid pixel; the output is all invalid",
            file=sys.stderr,
            flush=True,
        )
    hr = up.upsample(lr.values, lr.valid, lr_grid=args.lr_grid)
    marker = invalid_marker(stored, lr.valid, args.invalid)  # 0 where OUT cannot hold it
    fill = marker if fill_fits(dst.suffix, marker) else 0.0
    bits = _integer_bits(stored, hr.values, hr.valid, out_scale, dst, fill, args.bits == 8)
    dst.parent.mkdir(parents=True, exist_ok=True)
    write_depth(
        dst, hr.values, hr.valid, scale=out_scale, key=args.key or "depth", fill=fill, bits=bits
    )
    if preview is not None:
        _write_preview(preview, lr, hr, args)
    h, w = lr.values.shape
    dt = time.perf_counter() - t0
    return f"{src} -> {dst}  ({h}x{w} -> {hr.values.shape[0]}x{hr.values.shape[1]}, {dt:.2f} s)"


def _write_preview(preview: Path, lr, hr, args: argparse.Namespace) -> None:
    """The ``--preview`` panel: input | output (| ground truth | error with ``--gt``)."""
    from depthduet.io import make_depth_map, read_depth_stored, write_image
    from depthduet.viz import depth_panel

    gt = gt_valid = None
    if args.gt:
        g = make_depth_map(
            read_depth_stored(args.gt, key=args.key, index=args.index),
            args.in_scale,
            args.invalid,
            path=args.gt,
        )
        h, w = hr.values.shape
        if g.values.shape[0] < h or g.values.shape[1] < w:
            raise UserError(
                f"--gt {args.gt}: {g.values.shape[0]}x{g.values.shape[1]}, smaller than the "
                f"output ({h}x{w})"
            )
        gt, gt_valid = g.values[:h, :w], g.valid[:h, :w]  # an HR map cropped to s*(H//s)
    kind = "disparity" if args.disparity else "depth"
    panel = depth_panel(
        hr.values,
        hr.valid,
        input=lr.values,
        input_valid=lr.valid,
        gt=gt,
        gt_valid=gt_valid,
        kind=kind,
        unit=args.unit,
    )
    preview.parent.mkdir(parents=True, exist_ok=True)
    write_image(preview, panel)


def _integer_bits(
    stored: np.ndarray,
    values: np.ndarray,
    valid: np.ndarray,
    scale: float | None,
    dst: Path,
    fill: float,
    want8: bool = False,
) -> int:
    """8 when asked (``--bits 8``) for an integer format and the output fits in 8 bits; else
    16 (with a note when the upsampled values outgrew the 8 bits asked for)."""
    from depthduet.io import INTEGER_DEPTH_SUFFIXES, fill_fits

    if not want8 or dst.suffix.lower() not in INTEGER_DEPTH_SUFFIXES:
        return 16
    s = 1.0 if scale is None else float(scale)
    top = float(np.round(values[valid] * s).max()) if valid.any() else 0.0
    if top <= 255 and fill_fits(dst.suffix, fill, 8):
        return 8
    print(
        f"depthduet upsample: note: {dst}: written as 16-bit (the upsampled values reach "
        f"{top:g} > 255, over --bits 8)",
        file=sys.stderr,
        flush=True,
    )
    return 16


def _real(p: Path) -> Path:
    """The canonical path; unlike ``Path.resolve`` it does not raise on a symlink loop."""
    return Path(os.path.realpath(p))


def _check_distinct(src: Path, dst: Path) -> None:
    if dst.exists() and _real(src) == _real(dst):
        raise UserError(f"{dst}: output would overwrite the input; choose another -o")


_PREVIEW_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".ppm")


def _check_preview(preview: Path, src: Path, out: Path, folder: bool) -> None:
    """Refuse a ``--preview`` that would overwrite the input or the depth output, or that has
    no picture suffix, before any work is done."""
    kind = "folder" if folder else "file"
    for other, what in ((src, "the input"), (out, "the depth output")):
        if _real(preview) == _real(other):
            raise UserError(f"--preview {preview}: the preview {kind} is {what}; choose another")
    if not folder and preview.suffix.lower() not in _PREVIEW_SUFFIXES:
        raise UserError(
            f"--preview {preview}: a picture name is needed ({' '.join(_PREVIEW_SUFFIXES)})"
        )


def run(args: argparse.Namespace) -> int:
    from depthduet.config import save_config
    from depthduet.data.folder import list_files
    from depthduet.io import DEPTH_SUFFIXES

    src = Path(args.input)
    out = Path(args.output)
    if not src.exists():
        raise UserError(f"{src}: no such file or folder")
    fmt = _norm_suffix(args.format) if args.format else None
    params = UpsampleParams(**{k: getattr(args, k) for k in UpsampleParams.__dataclass_fields__})

    if src.is_file():
        if out.is_dir() or not out.suffix:
            suffix = fmt or _WRITE_AS.get(src.suffix.lower(), src.suffix.lower())
            dst = out / (src.stem + suffix)
        else:
            dst = out
            if dst.suffix.lower() in _WRITE_AS or dst.suffix.lower() not in DEPTH_SUFFIXES:
                raise UserError(
                    f"{dst}: cannot write depth as {dst.suffix!r}; use .png .pgm "
                    ".pfm .npy .npz .mat or .dpt"
                )
        _check_distinct(src, dst)
        if args.preview:
            _check_preview(Path(args.preview), src, dst, folder=False)
        up = _build_upsampler(args)
        print(_process(up, src, dst, Path(args.preview) if args.preview else None, args))
        save_config(
            params,
            dst.with_name(dst.stem + ".upsample.yaml"),
            extra={"upsampler": up.describe(), "files": {str(src): str(dst)}},
        )
        return 0

    # folder -> folder
    files = list_files(src, DEPTH_SUFFIXES, broken_links=True)  # a broken link is reported
    if not files:
        raise UserError(f"{src}: no depth files ({' '.join(DEPTH_SUFFIXES)}) in this folder")
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is not a folder (INPUT is a folder)")
    if not out.exists() and out.suffix.lower() in DEPTH_SUFFIXES:
        raise UserError(
            f"{out}: INPUT is a folder, so -o names the output folder, and this looks like a "
            "file name; pick a folder name (use --format to choose the files' format)"
        )
    if _real(out) == _real(src) and fmt is None:
        raise UserError(f"{out}: output folder is the input folder; choose another -o")
    if args.preview:
        _check_preview(Path(args.preview), src, out, folder=True)
    up = _build_upsampler(args)
    out.mkdir(parents=True, exist_ok=True)
    preview_dir = Path(args.preview) if args.preview else None
    done: dict[str, str] = {}
    failed: dict[str, str] = {}
    inputs = {_real(f) for f in files}
    for f in files:
        dst = out / (f.stem + (fmt or _WRITE_AS.get(f.suffix.lower(), f.suffix.lower())))
        prev = preview_dir / f"{f.stem}.png" if preview_dir is not None else None
        try:
            _check_distinct(f, dst)
            if _real(dst) in inputs:
                raise UserError(f"{f}: its output {dst} is another input file; choose another -o")
            if str(dst) in done.values():
                raise UserError(f"{f}: output {dst} was already written from another file")
            print(_process(up, f, dst, prev, args), flush=True)
            done[str(f)] = str(dst)
        except KeyboardInterrupt:
            raise
        except Exception as e:  # keep going: report the file, fail at the end
            text = str(e) if isinstance(e, UserError) else f"{type(e).__name__}: {e}"
            msg = text if str(f) in text else f"{f}: {text}"
            print(f"depthduet upsample: error: {msg}", file=sys.stderr, flush=True)
            failed[str(f)] = msg
    save_config(
        params,
        out / "upsample.yaml",
        extra={"upsampler": up.describe(), "files": done, "failed": failed},
    )
    print(f"{len(done)} of {len(files)} files written to {out}")
    if failed:
        print(f"depthduet upsample: {len(failed)} file(s) failed", file=sys.stderr)
        return 1
    return 0
