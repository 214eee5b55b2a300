"""What every miniature writer shares: argument checks, the atomic publication of a root with
its ``miniature.yaml``, the file encoders, and the ground-truth disparity of the stereo layouts.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from depthduet import io as dio
from depthduet.errors import UserError
from depthduet.paths import PathLike

#: layout names accepted by :func:`write_miniature` (and ``depthduet synth --layout``).
LAYOUTS: tuple[str, ...] = ("kitti-raw", "kitti-depth", "nyu-v2-mat", "middlebury", "cityscapes")
#: default image size ``(H, W)`` of each layout.
DEFAULT_SIZES: dict[str, tuple[int, int]] = {
    "kitti-raw": (64, 208),
    "kitti-depth": (64, 208),
    "nyu-v2-mat": (60, 80),
    "middlebury": (64, 96),
    "cityscapes": (80, 160),
}
#: file at the root of every miniature.
MARKER_FILE = "miniature.yaml"

MAX_SAMPLES = 200
MIN_SIDE, MAX_SIDE = 16, 1024


def _check(n: int, size: tuple[int, int], seed: int, frames: int = 3) -> tuple[int, int]:
    """Validate the common arguments; returns ``size`` as two ints."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 2 <= n <= MAX_SAMPLES:
        raise UserError(f"--n {n}: need 2..{MAX_SAMPLES} samples (training and held-out samples)")
    try:
        h, w = (int(v) for v in size)
    except (TypeError, ValueError):
        raise UserError(f"--size {size!r}: expected two integers H x W") from None
    if not (MIN_SIDE <= h <= MAX_SIDE and MIN_SIDE <= w <= MAX_SIDE):
        raise UserError(f"--size {h}x{w}: each side must be {MIN_SIDE}..{MAX_SIDE} pixels")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise UserError(f"--seed {seed}: must be an integer >= 0")
    if not 1 <= frames <= 64:
        raise UserError(f"frames {frames}: must be 1..64")
    return h, w


def _n_heldout(n: int) -> int:
    """Samples of the held-out split: the last ``max(1, n // 4)``."""
    return max(1, n // 4)


def _prepare(out: PathLike, overwrite: bool) -> Path:
    """Refuse an output that exists and is not an empty folder, unless it is a miniature and
    ``overwrite``; returns the path."""
    p = Path(out)
    if p.exists() and not p.is_dir():
        raise UserError(f"{p}: exists and is not a folder")
    if p.is_dir() and any(p.iterdir()):
        if not overwrite:
            raise UserError(
                f"{p}: folder exists and is not empty; choose another output folder or pass "
                "--overwrite"
            )
        if not (p / MARKER_FILE).is_file():
            raise UserError(
                f"{p}: holds no {MARKER_FILE}; --overwrite replaces only a miniature dataset"
            )
    return p


def _publish(
    out: PathLike,
    overwrite: bool,
    layout: str,
    args: dict[str, Any],
    fill: Callable[[Path], dict[str, Any]],
) -> dict[str, Any]:
    """Write a miniature into a temporary sibling of ``out`` with ``fill(tmp)`` and rename it to
    ``out`` when complete (replacing an old miniature when ``overwrite``).

    ``fill`` returns ``{"paths": {key: path relative to the root}, "splits": {...}}``.

    Returns:
        ``{"layout", "root", "n", "size", "seed", ..., "files", "paths", "splits"}`` with
        ``paths`` as absolute-or-given paths under ``out`` and ``files`` the number of files.
    """
    from depthduet import __version__
    from depthduet.config import save_config

    target = _prepare(out, overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    old: Path | None = None
    try:
        made = fill(tmp)
        record = {
            "layout": layout,
            **args,
            "depthduet_version": __version__,
            "paths": made.get("paths", {}),
            "splits": made.get("splits", {}),
        }
        save_config(record, tmp / MARKER_FILE)
        n_files = sum(1 for f in tmp.rglob("*") if f.is_file())
        if target.exists():
            if any(target.iterdir()):
                old = Path(
                    tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent)
                )
                os.replace(target, old / "data")
            else:
                target.rmdir()
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not target.exists():
            os.replace(old / "data", target)
            shutil.rmtree(old, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    info = dict(record)
    info["root"] = str(target)
    info["files"] = n_files
    info["paths"] = {k: str(target / v) for k, v in record["paths"].items()}
    return info


def _png(path: Path, img: np.ndarray) -> None:
    """``(H, W, 3)`` float image in [0, 1] as 8-bit RGB PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    dio.write_image(path, np.round(np.clip(img, 0.0, 1.0) * 255.0).astype(np.uint8))


def _png16(path: Path, stored: np.ndarray) -> None:
    """``(H, W)`` uint16 array as a 16-bit grey PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    dio.write_image(path, np.ascontiguousarray(stored, np.uint16))


def _text(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines))


def _stereo_gt(
    depth: np.ndarray, other: np.ndarray, fB: float, doffs: float, sign: float
) -> np.ndarray:
    """GT disparity ``fB / Z - doffs`` of a view where the other view sees the same surface.

    Args:
        depth: ``(H, W)`` depth of this view (metres, 0 = none).
        other: ``(H, W)`` depth of the other view.
        fB: focal length (px) x baseline (m).
        doffs: principal-point offset (px).
        sign: ``-1`` for the left view (its pixel ``u`` is at ``u - d`` in the right view),
            ``+1`` for the right view.

    Returns:
        ``(H, W)`` float32 disparity in pixels, ``inf`` where unknown.
    """
    h, w = depth.shape
    out = np.full((h, w), np.inf, np.float32)
    v, u = np.nonzero(depth > 0)
    z = depth[v, u].astype(np.float64)
    d = fB / z - doffs
    j = np.floor(u + sign * d + 0.5).astype(np.int64)
    inside = (j >= 0) & (j < w) & (d > 0)
    zo = np.zeros_like(z)
    zo[inside] = other[v[inside], j[inside]]
    seen = inside & (zo > 0) & (np.abs(zo - z) <= 0.01 * z)
    out[v[seen], u[seen]] = d[seen]
    return out
