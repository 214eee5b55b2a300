"""What every file format of :mod:`depthduet.io` shares: the error type, the depth-map type,
one-line file checks, the size limits that keep a corrupt header from allocating memory, and
picking one map out of a file that holds several."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from depthduet.errors import UserError
from depthduet.paths import PathLike

#: the most elements a depth file may declare (a 32768 x 32768 map)
MAX_ELEMENTS = 2**30
#: the most a compressed stream expands (zlib / deflate: 1032 times), with a margin
MAX_EXPANSION = 1100


class DepthIOError(UserError, ValueError):
    """A depth / image / LiDAR file cannot be read or written; the message names the file."""


class DepthMap(NamedTuple):
    """A depth (or disparity) map and its validity.

    Attributes:
        values: ``(H, W)`` float32, 0 where invalid.
        valid: ``(H, W)`` bool.
    """

    values: np.ndarray
    valid: np.ndarray


def file_error(path: PathLike, msg: str) -> DepthIOError:
    """The :class:`DepthIOError` ``"<path>: <msg>"`` (to raise)."""
    return DepthIOError(f"{os.fspath(path)}: {msg}")


def first_line(e: BaseException) -> str:
    """The first line of an exception's message (libraries' messages may span lines or quote the
    file's bytes), or the exception's type name when that line is empty."""
    lines = str(e).splitlines()
    return (lines[0].strip() if lines else "") or type(e).__name__


def check_declared_size(path: PathLike, shape: tuple[int, ...], what: str) -> int:
    """The number of elements a file's header declares for ``shape``; raises the one-line
    :class:`DepthIOError` when it is over :data:`MAX_ELEMENTS` (before anything is allocated).

    >>> check_declared_size("a.npy", (480, 640), "header")
    307200
    """
    n = int(np.prod(shape, dtype=np.float64))
    if n > MAX_ELEMENTS:
        raise file_error(
            path, f"{what} declares shape {tuple(shape)} ({n:.3g} elements), over {MAX_ELEMENTS:.3g}"
        )
    return n


def check_readable(path: PathLike) -> Path:
    """Fail early, with one line, for a missing path, a directory or an empty file."""
    p = Path(path)
    if not p.exists():
        if p.is_symlink():
            raise file_error(p, f"broken or looping symbolic link (-> {os.readlink(p)})")
        raise file_error(p, "no such file")
    if p.is_dir():
        raise file_error(p, "is a directory, expected a file")
    if p.stat().st_size == 0:
        raise file_error(p, "empty file (0 bytes)")
    return p


def read_bytes(path: PathLike) -> bytes:
    """The whole content of a file, after :func:`check_readable`; a read error names the file."""
    p = check_readable(path)
    try:
        return p.read_bytes()
    except OSError as e:
        raise file_error(p, f"cannot read: {e.strerror or e}") from e


def as_2d_map(arr: np.ndarray, path: PathLike, index: int | None, axis: int) -> np.ndarray:
    """Select one map from a stack (``index`` along ``axis``) or squeeze singleton axes."""
    if arr.ndim == 3 and index is not None:
        n = arr.shape[axis]
        if not -n <= index < n:
            raise file_error(path, f"index {index} out of range for {n} maps (shape {arr.shape})")
        arr = np.take(arr, index, axis=axis)
    elif index is not None:
        raise file_error(path, f"index given but the array is {arr.ndim}-D (shape {arr.shape})")
    if arr.ndim > 2:
        squeezed = np.squeeze(arr)
        if squeezed.ndim == 2:
            arr = squeezed
    if arr.ndim != 2:
        hint = " (pass an index to pick one map)" if arr.ndim == 3 else ""
        raise file_error(path, f"expected a 2-D depth map, got shape {tuple(arr.shape)}{hint}")
    return arr


def pick_key(path: PathLike, names: dict[str, tuple[int, ...]], key: str | None) -> str:
    """The variable to read from a container file (``.mat``, ``.npz``) whose arrays have the
    shapes ``names``: ``key`` when given (it must exist), else the only array with at least two
    non-singleton dimensions; otherwise raises, listing the names."""

    def listed(ks: Any) -> str:  # names from the file may hold line breaks: quote those
        return ", ".join(k if k.isprintable() else repr(k) for k in sorted(ks))

    if key is not None:
        if key not in names:
            raise file_error(path, f"no variable {key!r} (available: {listed(names) or 'none'})")
        return key
    cands = [k for k, shp in names.items() if len(shp) >= 2 and sum(s > 1 for s in shp) >= 2]
    if len(cands) == 1:
        return cands[0]
    if not cands:
        raise file_error(path, "no 2-D array found")
    raise file_error(path, f"several arrays ({listed(cands)}); pick one by name (key= / --key)")


def raster_magic(path: PathLike, a: np.ndarray, grey: bytes, colour: bytes, what: str) -> bytes:
    """The header magic for writing ``a``: ``grey`` for ``(H, W)``, ``colour`` for ``(H, W, 3)``;
    any other shape raises naming the format ``what``."""
    if a.ndim == 2:
        return grey
    if a.ndim == 3 and a.shape[2] == 3:
        return colour
    raise file_error(path, f"{what} needs (H, W) or (H, W, 3), got shape {a.shape}")
