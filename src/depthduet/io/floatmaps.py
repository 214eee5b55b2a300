"""Float rasters: PFM (both byte orders, rows stored bottom-to-top) and MPI Sintel ``.dpt``."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from depthduet.io.atomic import atomic_write
from depthduet.io.common import PathLike, check_declared_size, file_error, raster_magic, read_bytes

_DPT_TAG = np.float32(202021.25)


def read_pfm(path: PathLike) -> np.ndarray:
    """Read a PFM file (``Pf`` grey or ``PF`` colour, either byte order).

    The scale line's sign gives the byte order (negative = little-endian); rows are stored
    bottom-to-top and are flipped so that row 0 is the top of the image.

    Returns:
        ``(H, W)`` or ``(H, W, 3)`` float32.
    """
    data = read_bytes(path)
    magic = data[:2]
    if magic not in (b"PF", b"Pf"):
        raise file_error(path, f"bad PFM header: expected 'PF' or 'Pf', got {magic!r}")
    # header: magic, width, height, scale (whitespace separated), one whitespace, data
    m = re.match(rb"P[Ff]\s+(\S+)\s+(\S+)\s+(\S+)\s", data[:256])
    if m is None:
        raise file_error(path, "truncated or malformed PFM header")
    try:
        w, h = int(m.group(1)), int(m.group(2))
        scale = float(m.group(3))
    except ValueError as e:
        raise file_error(path, f"bad PFM header: {m.group(0)[:60]!r}") from e
    if w <= 0 or h <= 0:
        raise file_error(path, f"bad PFM size {w}x{h}")
    if scale == 0 or not np.isfinite(scale):
        raise file_error(
            path, f"bad PFM scale {scale} (its sign gives the byte order; 0 is invalid)"
        )
    c = 3 if magic == b"PF" else 1
    count = w * h * c
    body = data[m.end() :]
    if m.group(0).endswith(b"\r") and len(body) == 4 * count + 1 and body[:1] == b"\n":
        body = body[1:]  # header written with Windows line ends ("\r\n")
    check_declared_size(path, (h, w, c), "PFM header")
    if len(body) < 4 * count:
        raise file_error(
            path, f"truncated: {w}x{h}x{c} float32 needs {4 * count} bytes, found {len(body)}"
        )
    if len(body) > 4 * count:
        raise file_error(
            path,
            f"the header declares {w}x{h}x{c} float32 ({4 * count} bytes) but the file holds "
            f"{len(body) - 4 * count} bytes more (wrong size in the header?)",
        )
    dt = "<f4" if scale < 0 else ">f4"
    arr = np.frombuffer(body, dt, count).astype(np.float32)
    arr = arr.reshape((h, w) if c == 1 else (h, w, 3))
    return np.ascontiguousarray(arr[::-1])


def write_pfm(path: PathLike, array: np.ndarray, little_endian: bool = True) -> Path:
    """Write ``(H, W)`` (``Pf``) or ``(H, W, 3)`` (``PF``) float data as PFM (atomically).

    Rows are written bottom-to-top; the scale line is ``-1`` (little-endian) or ``1``.
    """
    a = np.asarray(array, np.float32)
    magic = raster_magic(path, a, b"Pf", b"PF", "PFM")
    h, w = a.shape[:2]
    header = magic + f"\n{w} {h}\n{-1.0 if little_endian else 1.0}\n".encode()
    payload = np.ascontiguousarray(a[::-1]).astype("<f4" if little_endian else ">f4").tobytes()
    return atomic_write(path, lambda f: (f.write(header), f.write(payload)))


def read_dpt(path: PathLike) -> np.ndarray:
    """Read an MPI Sintel ``.dpt`` depth file.

    Layout (little-endian): float32 tag 202021.25, int32 width, int32 height, float32 data.

    Returns:
        ``(H, W)`` float32 depth.
    """
    data = read_bytes(path)
    if len(data) < 12:
        raise file_error(path, f"truncated: {len(data)} bytes, the .dpt header alone needs 12")
    tag = np.frombuffer(data, "<f4", 1)[0]
    if tag != _DPT_TAG:
        raise file_error(
            path, f"bad .dpt tag {float(tag)!r} (expected 202021.25): not a Sintel depth file"
        )
    w, h = (int(x) for x in np.frombuffer(data, "<i4", 2, offset=4))
    if w <= 0 or h <= 0 or w * h > 1 << 31:
        raise file_error(path, f"bad .dpt size {w}x{h}")
    need = 12 + 4 * w * h
    if len(data) < need:
        raise file_error(path, f"truncated: {w}x{h} float32 needs {need} bytes, found {len(data)}")
    return np.frombuffer(data, "<f4", w * h, offset=12).astype(np.float32).reshape(h, w)


def write_dpt(path: PathLike, array: np.ndarray) -> Path:
    """Write ``(H, W)`` float data as an MPI Sintel ``.dpt`` file (atomically)."""
    a = np.asarray(array, np.float32)
    if a.ndim != 2:
        raise file_error(path, f".dpt needs a 2-D array, got shape {a.shape}")
    h, w = a.shape
    head = np.array([_DPT_TAG], "<f4").tobytes() + np.array([w, h], "<i4").tobytes()
    payload = np.ascontiguousarray(a, "<f4").tobytes()
    return atomic_write(path, lambda f: (f.write(head), f.write(payload)))
