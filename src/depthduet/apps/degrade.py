"""Make low-resolution test inputs from high-resolution depth files (``depthduet degrade``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from depthduet.data.degradation import Degradation, DegradationMix, parse_degradation
from depthduet.errors import UserError

__all__ = ["degrade_map", "degrade_file"]

_WRITABLE = (".png", ".pgm", ".pfm", ".npy", ".npz", ".mat", ".dpt")


def degrade_map(
    values: np.ndarray,
    valid: np.ndarray | None,
    scale: int,
    degradation: str | Degradation = "bicubic_aa",
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, Degradation]:
    """Make an LR map from an HR one.

    Args:
        values: ``(H, W)`` depth in any unit.
        valid: ``(H, W)`` bool, or ``None`` (finite and > 0).
        scale: integer factor ``s``.
        degradation: a chain (:func:`depthduet.data.degradation.parse_degradation`), a
            :class:`~depthduet.data.degradation.Degradation`, or ``"random"`` (one draw of :class:`depthduet.data.degradation.DegradationMix`).
        seed: seed of the noise, holes and the random draw.

    Returns:
        ``(lr (H//s, W//s) float64, lr_valid, hr (H//s*s, W//s*s), hr_valid, recipe)``: the LR
        map (0 where invalid), the HR crop that matches it, and the exact recipe used.

    Example:
        >>> hr = np.arange(1.0, 17.0).reshape(4, 4)
        >>> lr, lv, gt, gv, rec = degrade_map(hr, None, 2, "area")
        >>> lr.tolist(), rec.describe()
        ([[3.5, 5.5], [11.5, 13.5]], 'area')
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2 or v.size == 0:
        raise UserError(f"depth map: expected a non-empty 2-D array, got shape {v.shape}")
    ok = np.isfinite(v) & (v > 0) if valid is None else np.asarray(valid, bool) & np.isfinite(v)
    s = int(scale)
    H, W = (v.shape[0] // s) * s, (v.shape[1] // s) * s
    if H == 0 or W == 0:
        raise UserError(f"a {v.shape[0]}x{v.shape[1]} map is smaller than one {s}x{s} block")
    gen = torch.Generator().manual_seed(int(seed))
    if isinstance(degradation, Degradation):
        recipe = degradation
    elif degradation == "random":
        recipe = DegradationMix().sample(s, gen)
    else:
        recipe = parse_degradation(degradation)
    hr, hv = np.where(ok, v, 0.0)[:H, :W], ok[:H, :W]
    lr, lv = recipe.apply(torch.from_numpy(hr)[None], torch.from_numpy(hv)[None], s, gen)
    return lr[0].double().numpy(), lv[0].numpy(), hr, hv, recipe


def _check_output(p: Path, src: Path, overwrite: bool, what: str) -> None:
    if p.suffix.lower() not in _WRITABLE:
        raise UserError(f"{p}: cannot write depth as {p.suffix!r}; use {' '.join(_WRITABLE)}")
    if p.exists() and p.resolve() == src.resolve():
        raise UserError(f"{p}: {what} would overwrite the input; choose another name")
    if p.is_dir():
        raise UserError(f"{p}: is a folder; {what} needs a file name")
    if p.exists() and not overwrite:
        raise UserError(f"{p}: exists; pass --overwrite to replace it")


def degrade_file(
    src: Path,
    dst: Path,
    *,
    scale: int,
    degradation: str = "bicubic_aa",
    seed: int = 0,
    hr_out: Path | None = None,
    key: str | None = None,
    index: int | None = None,
    invalid: float | None = None,
    overwrite: bool = False,
) -> str:
    """Read ``src``, write its LR map to ``dst`` (and the matching HR crop to ``hr_out``) in the
    input's unit, and a ``dst.degrade.yaml`` record; returns a one-line summary.

    Integer outputs store rounded values (a valid value that rounds to 0 becomes a hole); holes
    are stored the way the input marks them. Nothing is written when any check fails, and an
    output written before a later failure is removed.

    Raises:
        UserError: a missing or unreadable input, a bad chain, an output that exists (without
            ``overwrite``), is the input, or has no depth suffix.
    """
    from depthduet.io import make_depth_map, read_depth_stored

    src, dst = Path(src), Path(dst)
    _check_paths(src, dst, hr_out, overwrite)
    # a bad chain fails before the file is read
    chain = degradation if degradation == "random" else parse_degradation(degradation)
    stored = read_depth_stored(src, key=key, index=index)
    depth = make_depth_map(stored, None, invalid, path=src)
    if not depth.valid.any():
        raise UserError(f"{src}: no valid pixel")
    lr, lv, hr, hv, recipe = degrade_map(depth.values, depth.valid, scale, chain, seed)
    outputs: list[tuple[Path, np.ndarray, np.ndarray]] = [(dst, lr, lv)]
    if hr_out is not None:
        outputs.append((Path(hr_out), hr, hv))
    record: dict[str, Any] = {
        "input": str(src),
        "output": str(dst),
        "hr_out": None if hr_out is None else str(hr_out),
        "scale": int(scale),
        "seed": int(seed),
        "asked": degradation,
        "degradation": recipe.record(),
        "hr_size": list(hr.shape),
        "lr_size": list(lr.shape),
    }
    marker = _Marker(stored, depth.valid, invalid, key, src)
    _write_all(outputs, marker, record, dst.with_name(dst.stem + ".degrade.yaml"))
    h, w = lr.shape
    return (
        f"{src} -> {dst}  ({hr.shape[0]}x{hr.shape[1]} -> {h}x{w}, x{scale}, "
        f"{recipe.describe()}, seed {seed}; {int(lv.sum())} of {lv.size} pixels valid)"
    )


def _check_paths(src: Path, dst: Path, hr_out: Path | None, overwrite: bool) -> None:
    if not src.exists():
        raise UserError(f"{src}: no such file")
    if src.is_dir():
        raise UserError(f"{src}: is a folder; degrade takes one depth file")
    _check_output(dst, src, overwrite, "the output")
    if hr_out is not None:
        _check_output(Path(hr_out), src, overwrite, "--hr-out")
        if Path(hr_out).resolve() == dst.resolve():
            raise UserError(f"{hr_out}: --hr-out is the output; choose another name")


@dataclass
class _Marker:
    """How the input stores its values: the stored ``(H, W)`` array, its validity, the
    ``--invalid`` value, the array name and the file (for messages)."""

    stored: np.ndarray
    valid: np.ndarray
    invalid: float | None
    key: str | None
    src: Path


def _write_all(
    outputs: list[tuple[Path, np.ndarray, np.ndarray]],
    how: _Marker,
    record: dict[str, Any],
    record_path: Path,
) -> None:
    """Write each ``(path, values, valid)`` map as the input stores its values, then the
    record; on any failure, remove the outputs this call created."""
    from depthduet.config import save_config
    from depthduet.io import fill_fits, invalid_marker, write_depth

    marker = invalid_marker(how.stored, how.valid, how.invalid)
    written: list[Path] = []
    try:
        for path, vals, ok in outputs:
            ok, bits = _storable(path, vals, ok, how)
            fill = marker if fill_fits(path.suffix, marker, bits) else 0.0
            existed = path.exists()
            write_depth(path, vals, ok, key=how.key or "depth", fill=fill, bits=bits)
            if not existed:
                written.append(path)
        save_config(record, record_path)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise


def _storable(path: Path, vals: np.ndarray, ok: np.ndarray, how: _Marker) -> tuple[np.ndarray, int]:
    """The validity ``(H, W)`` of ``vals`` once written to ``path`` (an integer format drops
    values that round to 0) and the bit depth: the input's (8 or 16) when the values fit."""
    from depthduet.io import INTEGER_DEPTH_SUFFIXES, check_integer_storable

    ok = ok.copy()
    if path.suffix.lower() not in INTEGER_DEPTH_SUFFIXES:
        return ok, 16
    if how.stored.dtype.kind not in "iu":
        check_integer_storable(path.suffix, vals, ok, how.src)
    ok &= np.round(vals) >= 1
    bits = 8 if how.stored.dtype == np.uint8 else 16
    top = float(np.round(vals[ok]).max()) if ok.any() else 0.0
    return ok, bits if top <= (1 << bits) - 1 else 16
