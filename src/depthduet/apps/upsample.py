"""Depth super-resolution of a file or a folder of files (``depthduet upsample``).

What the job decides per file: the output's name and format, the unit it is stored in
(``out_scale``; an 8-bit input becomes 16-bit with value x 256 unless asked otherwise), the
bit depth of integer formats, how invalid pixels are marked (as the input marks them, 0 where
the format cannot hold that), and which outputs it refuses before any work (an input, another
input's output, a preview over the depth output).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from depthduet.apps.folders import FileResults, process_files
from depthduet.apps.messages import Messages, console
from depthduet.errors import UserError

__all__ = ["LR_GRIDS", "SELF_ENSEMBLES", "UpsampleParams", "upsample"]

#: the sampling grids and self-ensembles of DepthUpsampler (``inference.dsr.LR_GRIDS``,
#: ``inference.self_ensemble.SELF_ENSEMBLES``), named here so that parsing the command line does
#: not import torch (tests/test_self_ensemble.py checks that they agree)
LR_GRIDS = ("center", "point", "corner")
SELF_ENSEMBLES = ("none", "transpose", "dihedral")

#: input formats that cannot be written: written as PNG instead
WRITE_AS = {".bmp": ".png", ".tif": ".png", ".tiff": ".png"}
#: suffixes a ``--preview`` file may have
PREVIEW_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".ppm")


@dataclass
class UpsampleParams:
    """What ``depthduet upsample`` was asked to do (saved as YAML next to the outputs); the
    command's options of the same names describe each field."""

    input: str
    output: str
    scale: int
    model: str | None = None
    checkpoint: str | None = None
    baseline: str | None = None
    in_scale: float | None = None
    out_scale: float | None = None
    index: int | None = None
    key: str | None = None
    invalid: float | None = None
    format: str | None = None
    preview: str | None = None
    gt: str | None = None
    unit: str = ""
    disparity: bool = False
    bits: int | None = None
    tile: int | None = None
    overlap: int | None = None
    lr_grid: str = "center"
    self_ensemble: str | None = None
    max_pixels: int | None = None
    device: str = "auto"


def upsample(params: UpsampleParams, messages: Messages | None = None) -> FileResults:
    """Super-resolve the file or every depth file of the folder ``params.input``.

    A file is written to ``params.output`` (a file name, or a folder); a folder's files go to
    the folder ``params.output``, one by one: a file that fails is reported on
    ``messages.err`` and skipped. The settings are saved as YAML beside the outputs.

    Returns:
        The :class:`~depthduet.apps.folders.FileResults` (input -> output, failures).

    Raises:
        UserError: a missing input, an output that would overwrite an input, a model that does
            not match ``scale``, and for a single file any failure.
    """
    messages = console("upsample") if messages is None else messages
    src, out = Path(params.input), Path(params.output)
    if not src.exists():
        raise UserError(f"{src}: no such file or folder")
    fmt = _norm_suffix(params.format) if params.format else None
    if src.is_file():
        return _upsample_file(params, src, out, fmt, messages)
    return _upsample_folder(params, src, out, fmt, messages)


def _upsample_file(
    params: UpsampleParams, src: Path, out: Path, fmt: str | None, messages: Messages
) -> FileResults:
    from depthduet.config import save_config

    dst = _file_output(src, out, fmt)
    _check_distinct(src, dst)
    preview = Path(params.preview) if params.preview else None
    if preview is not None:
        _check_preview(preview, src, dst, folder=False)
    up = _build_upsampler(params)
    messages.out(_process(up, src, dst, preview, params, messages))
    files = {str(src): str(dst)}
    save_config(
        params,
        dst.with_name(dst.stem + ".upsample.yaml"),
        extra={"upsampler": up.describe(), "files": files},
    )
    return FileResults(done=files)


def _upsample_folder(
    params: UpsampleParams, src: Path, out: Path, fmt: str | None, messages: Messages
) -> FileResults:
    from depthduet.config import save_config

    files = _folder_inputs(src, out, fmt)
    preview_dir = Path(params.preview) if params.preview else None
    if preview_dir is not None:
        _check_preview(preview_dir, src, out, folder=True)
    up = _build_upsampler(params)
    out.mkdir(parents=True, exist_ok=True)
    inputs = {_real(f) for f in files}
    written: set[str] = set()

    def job(f: Path) -> tuple[str, str]:
        dst = out / (f.stem + (fmt or WRITE_AS.get(f.suffix.lower(), f.suffix.lower())))
        prev = preview_dir / f"{f.stem}.png" if preview_dir is not None else None
        _check_distinct(f, dst)
        if _real(dst) in inputs:
            raise UserError(f"{f}: its output {dst} is another input file; choose another -o")
        if str(dst) in written:
            raise UserError(f"{f}: output {dst} was already written from another file")
        line = _process(up, f, dst, prev, params, messages)
        written.add(str(dst))
        return str(dst), line

    results = process_files(files, job, messages)
    save_config(
        params,
        out / "upsample.yaml",
        extra={"upsampler": up.describe(), "files": results.done, "failed": results.failed},
    )
    messages.out(f"{len(results.done)} of {len(files)} files written to {out}")
    if results.failed:
        messages.err(f"{len(results.failed)} file(s) failed")
    return results


# ----------------------------------------------------------------------------- outputs
def _norm_suffix(fmt: str) -> str:
    from depthduet.io import DEPTH_SUFFIXES

    s = fmt.lower() if fmt.startswith(".") else f".{fmt.lower()}"
    if s not in DEPTH_SUFFIXES or s in WRITE_AS:
        writable = " ".join(x for x in DEPTH_SUFFIXES if x not in WRITE_AS)
        raise UserError(f"--format {fmt}: cannot write this format (choose from {writable})")
    return s


def _file_output(src: Path, out: Path, fmt: str | None) -> Path:
    """Where the one input file ``src`` is written: ``out`` itself, or a file in the folder
    ``out`` (an existing folder or a name without suffix) named after ``src``."""
    from depthduet.io import DEPTH_SUFFIXES

    if out.is_dir() or not out.suffix:
        suffix = fmt or WRITE_AS.get(src.suffix.lower(), src.suffix.lower())
        return out / (src.stem + suffix)
    if out.suffix.lower() in WRITE_AS or out.suffix.lower() not in DEPTH_SUFFIXES:
        raise UserError(
            f"{out}: cannot write depth as {out.suffix!r}; use .png .pgm .pfm .npy .npz .mat or .dpt"
        )
    return out


def _folder_inputs(src: Path, out: Path, fmt: str | None) -> list[Path]:
    """The depth files of the folder ``src``, after checking the output folder ``out``."""
    from depthduet.data.folder import list_files
    from depthduet.io import DEPTH_SUFFIXES

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
    return files


def _real(p: Path) -> Path:
    """The canonical path; unlike ``Path.resolve`` it does not raise on a symlink loop."""
    return Path(os.path.realpath(p))


def _check_distinct(src: Path, dst: Path) -> None:
    if dst.exists() and _real(src) == _real(dst):
        raise UserError(f"{dst}: output would overwrite the input; choose another -o")


def _check_preview(preview: Path, src: Path, out: Path, folder: bool) -> None:
    """Refuse a ``--preview`` that would overwrite the input or the depth output, or that has
    no picture suffix, before any work is done."""
    kind = "folder" if folder else "file"
    for other, what in ((src, "the input"), (out, "the depth output")):
        if _real(preview) == _real(other):
            raise UserError(f"--preview {preview}: the preview {kind} is {what}; choose another")
    if not folder and preview.suffix.lower() not in PREVIEW_SUFFIXES:
        raise UserError(
            f"--preview {preview}: a picture name is needed ({' '.join(PREVIEW_SUFFIXES)})"
        )


# ----------------------------------------------------------------------------- one file
def _build_upsampler(params: UpsampleParams) -> Any:  # -> DepthUpsampler
    from depthduet.inference.dsr import DepthUpsampler

    kw: dict[str, Any] = {"tile": params.tile, "overlap": params.overlap, "device": params.device}
    if params.self_ensemble is not None:
        if params.lr_grid != "center" and params.self_ensemble != "dihedral":
            raise UserError(
                f"--self-ensemble {params.self_ensemble}: --lr-grid {params.lr_grid} always runs "
                "the dihedral self-ensemble aligned on its grid; leave --self-ensemble out"
            )
        kw["self_ensemble"] = params.self_ensemble
    if params.max_pixels is not None:
        if params.max_pixels < 0:
            raise UserError("--max-pixels must be >= 0 (0 = no limit)")
        kw["max_output_pixels"] = params.max_pixels
    if (params.tile is not None and params.tile < 0) or (
        params.overlap is not None and params.overlap < 0
    ):
        raise UserError("--tile and --overlap must be >= 0")
    if params.baseline == "bicubic":
        return DepthUpsampler.bicubic(params.scale, **kw)
    if params.checkpoint:
        up = DepthUpsampler.from_checkpoint(params.checkpoint, **kw)
    else:
        up = DepthUpsampler.from_pretrained(params.model or f"dsr-x{params.scale}", **kw)
    if up.scale != params.scale:
        raise UserError(f"{up.name}: a x{up.scale} model, but --scale {params.scale} was asked")
    return up


def _process(
    up: Any,
    src: Path,
    dst: Path,
    preview: Path | None,
    params: UpsampleParams,
    messages: Messages,
) -> str:
    """Upsample ``src`` into ``dst`` (and the preview); returns the file's result line."""
    from depthduet.io import check_integer_storable, make_depth_map, read_depth_stored

    t0 = time.perf_counter()
    stored = read_depth_stored(src, key=params.key, index=params.index)
    lr = make_depth_map(stored, params.in_scale, params.invalid, path=src)
    out_scale = _output_scale(stored, dst, params, messages)
    if params.out_scale is None:
        # the input's own values would not survive an integer format (e.g. metres in a .npy
        # written as .png): refuse before the work, as `depthduet convert` does
        stored_values = lr.values * (1.0 if out_scale is None else out_scale)
        check_integer_storable(dst.suffix, stored_values, lr.valid, src)
    if not lr.valid.any():
        messages.err(f"warning: {src}: no valid pixel; the output is all invalid")
    hr = up.upsample(lr.values, lr.valid, lr_grid=params.lr_grid)
    _write_output(dst, stored, lr.valid, hr, out_scale, params, messages)
    if preview is not None:
        _write_preview(preview, lr, hr, params)
    h, w = lr.values.shape
    dt = time.perf_counter() - t0
    return f"{src} -> {dst}  ({h}x{w} -> {hr.values.shape[0]}x{hr.values.shape[1]}, {dt:.2f} s)"


def _output_scale(
    stored: np.ndarray, dst: Path, params: UpsampleParams, messages: Messages
) -> float | None:
    """``stored = value * scale`` of the output: ``--out-scale``, else ``--in-scale``; an 8-bit
    input written in an integer format keeps the upsampled fractions as 16-bit x 256."""
    from depthduet.io import INTEGER_DEPTH_SUFFIXES

    out_scale = params.out_scale if params.out_scale is not None else params.in_scale
    widen = (
        stored.dtype == np.uint8
        and params.bits != 8
        and params.out_scale is None
        and dst.suffix.lower() in INTEGER_DEPTH_SUFFIXES
    )
    if widen:  # keep the upsampled fractions of an 8-bit map: 16-bit, value x 256
        out_scale = 256.0 * (1.0 if params.in_scale is None else params.in_scale)
        messages.err(
            f"note: {dst}: the 8-bit input is written as 16-bit with stored = value x "
            f"{out_scale:g} (--out-scale {out_scale:g}); pass --bits 8 for 8-bit"
        )
    return out_scale


def _write_output(
    dst: Path,
    stored: np.ndarray,
    lr_valid: np.ndarray,
    hr: Any,
    out_scale: float | None,
    params: UpsampleParams,
    messages: Messages,
) -> None:
    """Write the HR map with the input's invalid marker (0 where ``dst`` cannot hold it)."""
    from depthduet.io import fill_fits, invalid_marker, write_depth

    marker = invalid_marker(stored, lr_valid, params.invalid)
    fill = marker if fill_fits(dst.suffix, marker) else 0.0
    bits = _integer_bits(hr.values, hr.valid, out_scale, dst, fill, params.bits == 8, messages)
    dst.parent.mkdir(parents=True, exist_ok=True)
    write_depth(
        dst, hr.values, hr.valid, scale=out_scale, key=params.key or "depth", fill=fill, bits=bits
    )


def _write_preview(preview: Path, lr: Any, hr: Any, params: UpsampleParams) -> None:
    """The ``--preview`` panel: input | output (| ground truth | error with ``--gt``)."""
    from depthduet.io import make_depth_map, read_depth_stored, write_image
    from depthduet.viz import depth_panel

    gt = gt_valid = None
    if params.gt:
        g = make_depth_map(
            read_depth_stored(params.gt, key=params.key, index=params.index),
            params.in_scale,
            params.invalid,
            path=params.gt,
        )
        h, w = hr.values.shape
        if g.values.shape[0] < h or g.values.shape[1] < w:
            raise UserError(
                f"--gt {params.gt}: {g.values.shape[0]}x{g.values.shape[1]}, smaller than the "
                f"output ({h}x{w})"
            )
        gt, gt_valid = g.values[:h, :w], g.valid[:h, :w]  # an HR map cropped to s*(H//s)
    panel = depth_panel(
        hr.values,
        hr.valid,
        input=lr.values,
        input_valid=lr.valid,
        gt=gt,
        gt_valid=gt_valid,
        kind="disparity" if params.disparity else "depth",
        unit=params.unit,
    )
    preview.parent.mkdir(parents=True, exist_ok=True)
    write_image(preview, panel)


def _integer_bits(
    values: np.ndarray,
    valid: np.ndarray,
    scale: float | None,
    dst: Path,
    fill: float,
    want8: bool,
    messages: Messages,
) -> int:
    """8 when asked (``--bits 8``) for an integer format and the output fits in 8 bits; else
    16 (with a note when the upsampled values outgrew the 8 bits asked for).

    Args:
        values, valid: the ``(H, W)`` output map and its validity.
    """
    from depthduet.io import INTEGER_DEPTH_SUFFIXES, fill_fits

    if not want8 or dst.suffix.lower() not in INTEGER_DEPTH_SUFFIXES:
        return 16
    s = 1.0 if scale is None else float(scale)
    top = float(np.round(values[valid] * s).max()) if valid.any() else 0.0
    if top <= 255 and fill_fits(dst.suffix, fill, 8):
        return 8
    messages.err(
        f"note: {dst}: written as 16-bit (the upsampled values reach {top:g} > 255, over --bits 8)"
    )
    return 16
