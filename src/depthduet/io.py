"""Depth, image and LiDAR file formats (numpy level).

Every depth reader returns a :class:`DepthMap`: ``values`` float32 ``(H, W)`` and ``valid`` bool
``(H, W)``. A pixel is invalid when its stored value is 0, negative, NaN, +-inf or equal to the
``invalid`` sentinel; invalid pixels have ``values == 0`` (the convention of DEVELOPING.md).
Stored values are divided by ``scale`` (``None`` means 1), so that ``scale`` names the unit:

=====================  ================  ===============================
data                   ``scale``         unit of ``values``
=====================  ================  ===============================
KITTI depth PNG        256               metres
TUM RGB-D PNG          5000              metres
millimetre PNG         1000              metres
Middlebury 2001 GT     8 (16 tsukuba)    disparity in pixels
=====================  ================  ===============================

Special encodings (``encoding=``) decode raw sensor values straight to metres:
``"kinect-raw"`` (NYU v2 raw Kinect, :func:`kinect_raw_to_metres`) and ``"sun-rotated"``
(SUN RGB-D bit-rotated millimetres, :func:`sun_depth_to_metres`).

Formats by suffix: ``.png .pgm .bmp .tif .tiff`` (8/16-bit integers), ``.pfm`` (both byte
orders, rows stored bottom-to-top), ``.npy``, ``.npz``, ``.mat`` (MATLAB v5 via scipy, v7.3 via
h5py, transposed back to row-major), ``.dpt`` (MPI Sintel). Writers write to a temporary file in
the target folder and rename it, so an interrupted write never leaves a half-written file.

Every problem with a file raises :class:`DepthIOError` (a :class:`~depthduet.errors.UserError`)
whose one-line message names the file and the problem.
"""

from __future__ import annotations

import io
import mmap
import os
import re
import struct
import tempfile
import tokenize
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, NamedTuple

import numpy as np

from depthduet.errors import UserError

__all__ = [
    "DepthIOError",
    "DepthMap",
    "DEPTH_SUFFIXES",
    "IMAGE_SUFFIXES",
    "ENCODINGS",
    "read_depth",
    "read_depth_stored",
    "invalid_marker",
    "fill_fits",
    "write_depth",
    "make_depth_map",
    "read_image",
    "write_image",
    "read_pnm",
    "write_pnm",
    "read_pgm_raw",
    "read_pfm",
    "write_pfm",
    "read_dpt",
    "write_dpt",
    "read_mat",
    "read_velodyne",
    "write_velodyne",
    "read_calib_txt",
    "write_ply",
    "kinect_raw_to_metres",
    "sun_depth_to_metres",
    "sun_metres_to_depth",
    "disparity_to_depth",
    "atomic_write",
]

PathLike = str | os.PathLike[str]

#: suffixes :func:`read_depth` / :func:`write_depth` understand.
DEPTH_SUFFIXES: tuple[str, ...] = (
    ".png",
    ".pgm",
    ".bmp",
    ".tif",
    ".tiff",
    ".pfm",
    ".npy",
    ".npz",
    ".mat",
    ".dpt",
)
#: depth formats that store integers (``round(values * scale)``).
INTEGER_DEPTH_SUFFIXES: tuple[str, ...] = (".png", ".pgm")
#: largest relative rounding error accepted silently when integers are written without a scale.
MAX_ROUNDING = 0.01
#: suffixes :func:`read_image` understands (anything Pillow reads also works).
IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", ".tif", ".tiff")
#: values of ``encoding`` in :func:`read_depth`.
ENCODINGS: tuple[str, ...] = ("plain", "kinect-raw", "sun-rotated")

_DPT_TAG = np.float32(202021.25)
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


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


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _err(path: PathLike, msg: str) -> DepthIOError:
    return DepthIOError(f"{os.fspath(path)}: {msg}")


def _first_line(e: BaseException) -> str:
    """The first line of an exception's message (libraries' messages may span lines or quote the
    file's bytes), or the exception's type name when that line is empty."""
    lines = str(e).splitlines()
    return (lines[0].strip() if lines else "") or type(e).__name__


def _check_readable(path: PathLike) -> Path:
    """Fail early, with one line, for a missing path, a directory or an empty file."""
    p = Path(path)
    if not p.exists():
        if p.is_symlink():
            raise _err(p, f"broken or looping symbolic link (-> {os.readlink(p)})")
        raise _err(p, "no such file")
    if p.is_dir():
        raise _err(p, "is a directory, expected a file")
    if p.stat().st_size == 0:
        raise _err(p, "empty file (0 bytes)")
    return p


def _read_bytes(path: PathLike) -> bytes:
    p = _check_readable(path)
    try:
        return p.read_bytes()
    except OSError as e:
        raise _err(p, f"cannot read: {e.strerror or e}") from e


def fsync_path(path: PathLike) -> None:
    """Flush a file or a folder (its entries: a rename) to disk, so that a rename after it
    cannot land before the data after a power loss; skipped where the platform cannot."""
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if Path(path).is_dir() else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: PathLike, write: Callable[[IO[bytes]], None]) -> Path:
    """Write a file atomically: ``write(f)`` fills a temporary file that is then renamed.

    The temporary file lives in the target folder (same file system), so ``os.replace`` is
    atomic; on any error it is removed and the target is left untouched.
    """
    p = Path(path)
    if p.is_dir():
        raise _err(p, "is a directory, expected a file name")
    parent = p.parent if str(p.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise _err(p, f"cannot create folder {parent}: {e.strerror or e}") from e
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=parent)
    except OSError as e:
        raise _err(p, f"cannot write: {e.strerror or e}") from e
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, p)
        fsync_path(parent)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return p


def make_depth_map(
    stored: np.ndarray,
    scale: float | None = None,
    invalid: float | None = None,
    *,
    path: PathLike = "<array>",
) -> DepthMap:
    """Turn stored values into a :class:`DepthMap`: ``values = stored / scale``.

    A pixel is invalid when its stored value is non-finite, ``<= 0`` or equals ``invalid``
    (compared before scaling).

    Args:
        stored: ``(H, W)`` array of any real dtype.
        scale: stored units per output unit (``None`` = 1); must be finite and > 0.
        invalid: optional sentinel stored value marking missing data.
        path: file name used in error messages.

    Returns:
        ``DepthMap(values (H, W) float32, valid (H, W) bool)``.
    """
    arr = np.asarray(stored)
    if arr.ndim != 2:
        raise _err(path, f"expected a 2-D depth map, got shape {tuple(arr.shape)}")
    if arr.size == 0:
        raise _err(path, f"empty depth map (shape {tuple(arr.shape)})")
    if arr.dtype.kind not in "iuf":
        what = "a boolean mask, not depth" if arr.dtype.kind == "b" else f"dtype {arr.dtype}"
        raise _err(path, f"expected numeric depth values, got {what}")
    s = 1.0 if scale is None else float(scale)
    if not np.isfinite(s) or s <= 0:
        raise _err(path, f"scale must be a positive number, got {scale}")
    a64 = arr.astype(np.float64)
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(a64) & (a64 > 0)
        if invalid is not None:
            valid &= a64 != float(invalid)
    scaled = a64[valid] / s
    top = float(np.abs(scaled).max()) if scaled.size else 0.0
    if top > float(np.finfo(np.float32).max):
        raise _err(
            path, f"values up to {top:.3g} exceed the float32 range; pass a scale (--in-scale)"
        )
    values = np.zeros(arr.shape, np.float32)
    values[valid] = scaled.astype(np.float32)
    # a tiny stored value divided by a huge scale may underflow float32 to 0
    valid &= values > 0
    return DepthMap(values, valid)


def _to_2d(arr: np.ndarray, path: PathLike, index: int | None, axis: int) -> np.ndarray:
    """Select one map from a stack (``index`` along ``axis``) or squeeze singleton axes."""
    if arr.ndim == 3 and index is not None:
        n = arr.shape[axis]
        if not -n <= index < n:
            raise _err(path, f"index {index} out of range for {n} maps (shape {arr.shape})")
        arr = np.take(arr, index, axis=axis)
    elif index is not None:
        raise _err(path, f"index given but the array is {arr.ndim}-D (shape {arr.shape})")
    if arr.ndim > 2:
        squeezed = np.squeeze(arr)
        if squeezed.ndim == 2:
            arr = squeezed
    if arr.ndim != 2:
        hint = " (pass an index to pick one map)" if arr.ndim == 3 else ""
        raise _err(path, f"expected a 2-D depth map, got shape {tuple(arr.shape)}{hint}")
    return arr


# --------------------------------------------------------------------------------------------
# unit helpers
# --------------------------------------------------------------------------------------------


def kinect_raw_to_metres(raw: np.ndarray) -> np.ndarray:
    """Raw Kinect v1 disparity units (NYU v2 raw PGM) to metres.

    ``depth = 351.3 / (1092.5 - raw)``; raw values ``>= 1084`` (and 0, no reading) are invalid.

    Args:
        raw: ``(...)`` integer raw values (0..2047).

    Returns:
        ``(...)`` float32 metres, 0 where invalid.
    """
    r = np.asarray(raw).astype(np.float64)
    ok = (r > 0) & (r < 1084)
    out = np.zeros(r.shape, np.float32)
    out[ok] = (351.3 / (1092.5 - r[ok])).astype(np.float32)
    return out


def sun_depth_to_metres(v: np.ndarray) -> np.ndarray:
    """SUN RGB-D depth PNG values (16-bit, bits rotated right by 3) to metres.

    ``mm = (v >> 3) | (v << 13)`` in 16 bits; ``m = mm / 1000``; 0 is invalid.

    Args:
        v: ``(...)`` uint16-range integers as stored in the PNG.

    Returns:
        ``(...)`` float32 metres, 0 where invalid.
    """
    a = np.asarray(v)
    if a.dtype.kind not in "iu":
        raise DepthIOError(f"SUN depth must be integers, got dtype {a.dtype}")
    u = a.astype(np.uint32) & 0xFFFF
    mm = ((u >> 3) | (u << 13)) & 0xFFFF
    return (mm.astype(np.float64) / 1000.0).astype(np.float32)


def sun_metres_to_depth(m: np.ndarray) -> np.ndarray:
    """Inverse of :func:`sun_depth_to_metres`: metres ``(...)`` to stored uint16 ``(...)``."""
    mm = np.round(np.asarray(m, np.float64) * 1000.0)
    if np.any(mm < 0) or np.any(mm > 0xFFFF) or not np.all(np.isfinite(mm)):
        raise DepthIOError("SUN depth: values must be finite and within 0..65.535 m")
    u = mm.astype(np.uint32)
    return (((u << 3) | (u >> 13)) & 0xFFFF).astype(np.uint16)


def disparity_to_depth(
    d: np.ndarray, f: float, B: float, doffs: float = 0.0, valid: np.ndarray | None = None
) -> np.ndarray:
    """Stereo disparity (pixels) to depth: ``Z = f * B / (d + doffs)``.

    The depth unit is the unit of the baseline ``B`` (Middlebury gives it in millimetres).
    ``doffs`` is the x-difference of the principal points (Middlebury ``doffs``).

    Args:
        d: ``(H, W)`` disparity in pixels.
        f: focal length in pixels.
        B: baseline.
        doffs: principal-point offset in pixels.
        valid: optional ``(H, W)`` bool; pixels outside it become 0.

    Returns:
        ``(H, W)`` float32 depth, 0 where invalid (``d`` non-finite, ``d <= 0``, or
        ``d + doffs <= 0``).
    """
    a = np.asarray(d, np.float64)
    den = a + float(doffs)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(a) & (a > 0) & (den > 0)
    if valid is not None:
        ok &= np.asarray(valid, bool)
    out = np.zeros(a.shape, np.float32)
    out[ok] = (float(f) * float(B) / den[ok]).astype(np.float32)
    return out


# --------------------------------------------------------------------------------------------
# PNM (PGM / PPM), including the little-endian raw Kinect PGM
# --------------------------------------------------------------------------------------------

_PNM_CHANNELS = {b"P2": 1, b"P3": 3, b"P5": 1, b"P6": 3}


def _pnm_header(data: bytes, path: PathLike) -> tuple[bytes, int, int, int, int]:
    """Parse ``magic width height maxval`` (comments allowed); returns them and the data offset."""
    magic = data[:2]
    if magic not in _PNM_CHANNELS:
        raise _err(path, f"bad PNM header: expected P2, P3, P5 or P6, got {magic!r}")
    pos = 2
    tokens: list[int] = []
    n = len(data)
    while len(tokens) < 3:
        while pos < n and data[pos : pos + 1].isspace():
            pos += 1
        if pos < n and data[pos : pos + 1] == b"#":
            while pos < n and data[pos : pos + 1] not in (b"\n", b"\r"):
                pos += 1
            continue
        start = pos
        while pos < n and not data[pos : pos + 1].isspace() and data[pos : pos + 1] != b"#":
            pos += 1
        tok = data[start:pos]
        if not tok:
            raise _err(path, "truncated PNM header")
        if not tok.isdigit():
            raise _err(path, f"bad PNM header: expected an integer, got {tok[:20]!r}")
        tokens.append(int(tok))
    if pos >= n or not data[pos : pos + 1].isspace():
        raise _err(path, "truncated PNM header")
    pos += 1  # exactly one whitespace byte before binary data
    w, h, maxval = tokens
    if w <= 0 or h <= 0:
        raise _err(path, f"bad PNM size {w}x{h}")
    if not 0 < maxval < 65536:
        raise _err(path, f"unsupported PNM maxval {maxval} (1..65535)")
    return magic, w, h, maxval, pos


def _pnm_decode(path: PathLike, byteorder: str) -> tuple[np.ndarray, int]:
    data = _read_bytes(path)
    magic, w, h, maxval, pos = _pnm_header(data, path)
    c = _PNM_CHANNELS[magic]
    count = w * h * c
    shape = (h, w) if c == 1 else (h, w, 3)
    if magic in (b"P2", b"P3"):
        vals = data[pos:].split()
        if len(vals) < count:
            raise _err(path, f"truncated: expected {count} values, found {len(vals)}")
        try:
            arr = np.array([int(v) for v in vals[:count]], np.int64)
        except ValueError as e:
            raise _err(path, "bad ASCII PNM data: non-integer value") from e
        except OverflowError as e:
            raise _err(path, f"bad ASCII PNM data: a value over maxval {maxval}") from e
        if arr.max(initial=0) > maxval:
            raise _err(path, f"bad ASCII PNM data: value {arr.max()} over maxval {maxval}")
        arr = arr.astype(np.uint16 if maxval > 255 else np.uint8).reshape(shape)
        return arr, maxval
    nbytes = 2 if maxval > 255 else 1
    body = data[pos:]
    if len(body) < count * nbytes:
        raise _err(
            path,
            f"truncated: {w}x{h}x{c} {8 * nbytes}-bit data needs {count * nbytes} bytes, "
            f"found {len(body)}",
        )
    if nbytes == 1:
        return np.frombuffer(body, np.uint8, count).reshape(shape).copy(), maxval
    if byteorder == "auto":
        big = np.frombuffer(body, ">u2", count)
        little = big.byteswap()
        # raw Kinect data are 11-bit: stored little-endian, they look huge when read big-endian
        byteorder = "little" if big.max() > 4095 and little.max() <= 4095 else "big"
    if byteorder not in ("big", "little"):
        raise _err(path, f"byteorder must be 'big', 'little' or 'auto', got {byteorder!r}")
    dt = ">u2" if byteorder == "big" else "<u2"
    arr = np.frombuffer(body, dt, count).astype(np.uint16).reshape(shape)
    return arr, maxval


def read_pnm(path: PathLike, byteorder: str = "big") -> np.ndarray:
    """Read a PGM / PPM file (P2, P3, P5, P6; 8- or 16-bit).

    Args:
        path: the file.
        byteorder: for 16-bit binary data: ``"big"`` (the PNM standard), ``"little"``, or
            ``"auto"`` (little-endian when that gives 11/12-bit values and big-endian does not,
            as in raw Kinect PGMs).

    Returns:
        ``(H, W)`` (PGM) or ``(H, W, 3)`` (PPM) uint8 or uint16 array, values as stored.
    """
    return _pnm_decode(path, byteorder)[0]


def read_pgm_raw(path: PathLike, byteorder: str = "auto") -> np.ndarray:
    """Read a raw Kinect PGM (NYU v2 raw / Open3D ``NYU_depth.pgm``).

    These files say ``P5 640 480 65535`` but store the samples little-endian; ``"auto"``
    detects that (see :func:`read_pnm`).

    Returns:
        ``(H, W)`` uint16 raw values.
    """
    arr, _ = _pnm_decode(path, byteorder)
    if arr.ndim != 2:
        raise _err(path, "expected a grey PGM (P5/P2), got a colour PPM")
    return arr.astype(np.uint16)


def write_pnm(path: PathLike, array: np.ndarray, byteorder: str = "big") -> Path:
    """Write a binary PGM ``(H, W)`` or PPM ``(H, W, 3)`` from uint8 / uint16 (atomically).

    ``byteorder="little"`` writes the (non-standard) little-endian 16-bit layout of raw Kinect
    files.
    """
    a = np.asarray(array)
    if a.dtype not in (np.uint8, np.uint16):
        raise _err(path, f"PNM needs uint8 or uint16 data, got {a.dtype}")
    if a.ndim == 2:
        magic = b"P5"
    elif a.ndim == 3 and a.shape[2] == 3:
        magic = b"P6"
    else:
        raise _err(path, f"PNM needs (H, W) or (H, W, 3), got shape {a.shape}")
    maxval = 255 if a.dtype == np.uint8 else 65535
    h, w = a.shape[:2]
    if a.dtype == np.uint16:
        a = a.astype(">u2" if byteorder == "big" else "<u2")
    header = magic + f"\n{w} {h}\n{maxval}\n".encode()
    payload = np.ascontiguousarray(a).tobytes()
    return atomic_write(path, lambda f: (f.write(header), f.write(payload)))


# --------------------------------------------------------------------------------------------
# PFM
# --------------------------------------------------------------------------------------------


def read_pfm(path: PathLike) -> np.ndarray:
    """Read a PFM file (``Pf`` grey or ``PF`` colour, either byte order).

    The scale line's sign gives the byte order (negative = little-endian); rows are stored
    bottom-to-top and are flipped so that row 0 is the top of the image.

    Returns:
        ``(H, W)`` or ``(H, W, 3)`` float32.
    """
    data = _read_bytes(path)
    magic = data[:2]
    if magic not in (b"PF", b"Pf"):
        raise _err(path, f"bad PFM header: expected 'PF' or 'Pf', got {magic!r}")
    # header: magic, width, height, scale (whitespace separated), one whitespace, data
    m = re.match(rb"P[Ff]\s+(\S+)\s+(\S+)\s+(\S+)\s", data[:256])
    if m is None:
        raise _err(path, "truncated or malformed PFM header")
    try:
        w, h = int(m.group(1)), int(m.group(2))
        scale = float(m.group(3))
    except ValueError as e:
        raise _err(path, f"bad PFM header: {m.group(0)[:60]!r}") from e
    if w <= 0 or h <= 0:
        raise _err(path, f"bad PFM size {w}x{h}")
    if scale == 0 or not np.isfinite(scale):
        raise _err(path, f"bad PFM scale {scale} (its sign gives the byte order; 0 is invalid)")
    c = 3 if magic == b"PF" else 1
    count = w * h * c
    body = data[m.end() :]
    if m.group(0).endswith(b"\r") and len(body) == 4 * count + 1 and body[:1] == b"\n":
        body = body[1:]  # header written with Windows line ends ("\r\n")
    if w * h > MAX_ELEMENTS:
        raise _err(path, f"PFM header declares {w}x{h}, over {MAX_ELEMENTS:.3g} pixels")
    if len(body) < 4 * count:
        raise _err(
            path, f"truncated: {w}x{h}x{c} float32 needs {4 * count} bytes, found {len(body)}"
        )
    if len(body) > 4 * count:
        raise _err(
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
    if a.ndim == 2:
        magic = b"Pf"
    elif a.ndim == 3 and a.shape[2] == 3:
        magic = b"PF"
    else:
        raise _err(path, f"PFM needs (H, W) or (H, W, 3), got shape {a.shape}")
    h, w = a.shape[:2]
    header = magic + f"\n{w} {h}\n{-1.0 if little_endian else 1.0}\n".encode()
    payload = np.ascontiguousarray(a[::-1]).astype("<f4" if little_endian else ">f4").tobytes()
    return atomic_write(path, lambda f: (f.write(header), f.write(payload)))


# --------------------------------------------------------------------------------------------
# Sintel .dpt
# --------------------------------------------------------------------------------------------


def read_dpt(path: PathLike) -> np.ndarray:
    """Read an MPI Sintel ``.dpt`` depth file.

    Layout (little-endian): float32 tag 202021.25, int32 width, int32 height, float32 data.

    Returns:
        ``(H, W)`` float32 depth.
    """
    data = _read_bytes(path)
    if len(data) < 12:
        raise _err(path, f"truncated: {len(data)} bytes, the .dpt header alone needs 12")
    tag = np.frombuffer(data, "<f4", 1)[0]
    if tag != _DPT_TAG:
        raise _err(
            path, f"bad .dpt tag {float(tag)!r} (expected 202021.25): not a Sintel depth file"
        )
    w, h = (int(x) for x in np.frombuffer(data, "<i4", 2, offset=4))
    if w <= 0 or h <= 0 or w * h > 1 << 31:
        raise _err(path, f"bad .dpt size {w}x{h}")
    need = 12 + 4 * w * h
    if len(data) < need:
        raise _err(path, f"truncated: {w}x{h} float32 needs {need} bytes, found {len(data)}")
    return np.frombuffer(data, "<f4", w * h, offset=12).astype(np.float32).reshape(h, w)


def write_dpt(path: PathLike, array: np.ndarray) -> Path:
    """Write ``(H, W)`` float data as an MPI Sintel ``.dpt`` file (atomically)."""
    a = np.asarray(array, np.float32)
    if a.ndim != 2:
        raise _err(path, f".dpt needs a 2-D array, got shape {a.shape}")
    h, w = a.shape
    head = np.array([_DPT_TAG], "<f4").tobytes() + np.array([w, h], "<i4").tobytes()
    payload = np.ascontiguousarray(a, "<f4").tobytes()
    return atomic_write(path, lambda f: (f.write(head), f.write(payload)))


# --------------------------------------------------------------------------------------------
# MATLAB .mat (v5 via scipy, v7.3 via h5py)
# --------------------------------------------------------------------------------------------


def _is_hdf5(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(520)
    return head[:8] == _HDF5_MAGIC or head[512:520] == _HDF5_MAGIC


def _check_h5_dataset(p: Path, k: str, ds: Any, shape: tuple[int, ...]) -> None:
    """Refuse an HDF5 dataset whose ``shape`` (what will be read) exceeds :data:`MAX_ELEMENTS`, or
    that declares far more data than it stores (never written: HDF5 would make it up from the
    fill value), before anything is allocated."""
    n = int(np.prod(shape, dtype=np.float64))
    if n > MAX_ELEMENTS:
        raise _err(
            p, f"{k!r} declares shape {ds.shape} ({n:.3g} elements), over {MAX_ELEMENTS:.3g}"
        )
    stored = ds.id.get_storage_size()
    if ds.nbytes > _MAX_EXPANSION * stored + (1 << 20):
        raise _err(
            p, f"{k!r} declares shape {ds.shape} ({ds.nbytes} bytes) but stores {stored} bytes"
        )


_MI_MATRIX, _MI_COMPRESSED = 14, 15
#: the data types scipy decodes as numbers or characters (it looks the type up in a table without
#: checking, and crashes on the others)
_MI_NUMERIC = {1, 2, 3, 4, 5, 6, 7, 9, 12, 13, 16, 17, 18}
_MX_CELL_STRUCT_OBJECT, _MX_CHAR, _MX_SPARSE, _MX_OPAQUE = (1, 2, 3), 4, 5, 17
_MAT_MAX_NESTING = 64


def _inflate(data: bytes | mmap.mmap, start: int, stop: int) -> bytes:
    """As much of the zlib stream in ``data[start:stop]`` as decodes (scipy reads a corrupt one
    up to the error)."""
    d = zlib.decompressobj()
    out = []
    for i in range(start, stop, 1 << 20):
        try:
            out.append(d.decompress(data[i : min(i + (1 << 20), stop)]))
        except zlib.error:
            break
    return b"".join(out)


def _check_mat5(p: Path, data: bytes | mmap.mmap) -> None:
    """Refuse a MATLAB v5 file that scipy would crash on or allocate too much for.

    scipy reads an array's parts one after the other without checking them against the array's
    size, so a missing or mistyped part makes it decode the next element (often an array tag)
    as numbers, which crashes it. Refused: an element declaring more bytes than its container
    holds (scipy allocates what it declares), a numeric / character / sparse array whose data
    are missing or not numbers, fewer than 2 dimensions, a cell / struct array declaring more
    items than its bytes can describe, nesting over 64 levels. Compressed variables are
    checked after decompression (at most :data:`_MAX_EXPANSION` times larger).
    """
    if len(data) < 128 or 0 in data[:4] or data[126:128] not in (b"IM", b"MI"):
        return  # v4 or not a MATLAB file: nothing to check / scipy says what is wrong
    e = "<" if data[126:128] == b"IM" else ">"

    def bad(msg: str) -> DepthIOError:
        return _err(p, f"corrupt MATLAB file: {msg}")

    def check_array(buf: bytes | mmap.mmap, pos: int, n: int, parts: list[int]) -> None:
        # the array tagged at ``pos`` (``n`` bytes, all in ``buf``) made of ``parts`` (types)
        flags = struct.unpack_from(e + "I", buf, pos + 16)[0] if n >= 24 else 0
        dtyp, dn = struct.unpack_from(e + "II", buf, pos + 24) if n >= 24 else (0, 0)
        if parts[:2] not in ([6, 5], [6, 6]) or dtyp >> 16:
            return  # empty, or flags / dims that scipy refuses itself
        cls, is_complex = flags & 0xFF, flags >> 11 & 1
        if cls != _MX_OPAQUE and dn < 8:
            raise bad("an array with fewer than 2 dimensions")
        if cls == _MX_CHAR or _MX_SPARSE <= cls <= 15:  # then after the name: the numbers
            need = 3 + (3 if cls == _MX_SPARSE else 1) + is_complex
            if len(parts) < need or not set(parts[3:need]) <= _MI_NUMERIC:
                raise bad("an array whose data are missing or not numbers")
        if cls in _MX_CELL_STRUCT_OBJECT and pos + 32 + dn <= pos + 8 + n:
            fmt = f"{e}{dn // 4}{'i' if parts[1] == 5 else 'I'}"
            items = float(np.prod(struct.unpack_from(fmt, buf, pos + 32), dtype=np.float64))
            if items > n / 8:  # each item takes a tag at least
                raise bad(f"a cell / struct array declares {items:.3g} items in {n} bytes")

    def walk(buf: bytes | mmap.mmap, pos: int, end: int, depth: int) -> list[int]:
        # check the elements of buf[pos:end] (``end`` may lie past a partly decompressed
        # ``buf``) and return their types
        if depth > _MAT_MAX_NESTING:
            raise bad(f"arrays nested over {_MAT_MAX_NESTING} levels deep")
        types = []
        while pos + 8 <= min(end, len(buf)):
            typ, n = struct.unpack_from(e + "II", buf, pos)
            if typ >> 16:  # a small element: up to 4 bytes, inside the tag
                types.append(typ & 0xFFFF)
                pos += 8
                continue
            types.append(typ)
            if n > end - pos - 8:
                raise bad(f"an element declares {n} bytes, only {max(end - pos - 8, 0)} follow")
            if typ == _MI_MATRIX:
                parts = walk(buf, pos + 8, pos + 8 + n, depth + 1)
                if pos + 8 + n <= len(buf):
                    check_array(buf, pos, n, parts)
            elif typ == _MI_COMPRESSED and depth == 0:
                walk(_inflate(buf, pos + 8, pos + 8 + n), 0, _MAX_EXPANSION * n, 1)
            pos += 8 + n + (0 if typ == _MI_COMPRESSED else -n % 8)  # data padded to 8 bytes
        return types

    walk(data, 128, len(data), 0)


def _pick_key(path: PathLike, names: dict[str, tuple[int, ...]], key: str | None) -> str:
    def listed(ks: Any) -> str:  # names from the file may hold line breaks: quote those
        return ", ".join(k if k.isprintable() else repr(k) for k in sorted(ks))

    if key is not None:
        if key not in names:
            raise _err(path, f"no variable {key!r} (available: {listed(names) or 'none'})")
        return key
    cands = [k for k, shp in names.items() if len(shp) >= 2 and sum(s > 1 for s in shp) >= 2]
    if len(cands) == 1:
        return cands[0]
    if not cands:
        raise _err(path, "no 2-D array found")
    raise _err(path, f"several arrays ({listed(cands)}); pick one by name (key= / --key)")


def read_mat(path: PathLike, key: str | None = None, index: int | None = None) -> np.ndarray:
    """Read one numeric array from a MATLAB file.

    v4/v5/v7 files are read with scipy; v7.3 (HDF5) files with h5py, whose datasets come
    transposed (MATLAB is column-major) and are transposed back, so shapes match MATLAB's
    ``size``. With ``index`` a 3-D stack ``(H, W, N)`` (MATLAB's layout, e.g. NYU v2 labelled
    ``depths``) yields map ``index`` ``(H, W)``; for v7.3 only that map is read from disk.

    Args:
        path: the ``.mat`` file.
        key: variable name (may be an HDF5 path ``group/name``); ``None`` picks the only
            array with at least two non-singleton dimensions.
        index: optional map index along the last axis of a 3-D array.

    Returns:
        The array (MATLAB orientation), dtype as stored.
    """
    p = _check_readable(path)
    if _is_hdf5(p):
        import h5py

        try:
            f = h5py.File(p, "r")
        except OSError as e:
            raise _err(p, f"cannot open MATLAB v7.3 (HDF5) file: {e}") from e
        with f:
            names: dict[str, tuple[int, ...]] = {}

            def visit(name: str, obj: Any) -> None:
                if (
                    isinstance(obj, h5py.Dataset)
                    and not name.startswith("#")
                    and obj.shape is not None  # an empty (null) dataspace holds nothing
                ):
                    cls = obj.attrs.get("MATLAB_class", b"")
                    cls = cls.decode(errors="replace") if isinstance(cls, bytes) else str(cls)
                    if obj.dtype.kind in "biuf" and cls not in ("char", "cell", "struct"):
                        names[name] = tuple(reversed(obj.shape))

            try:
                f.visititems(visit)
                k = _pick_key(p, names, key)
                ds = f[k]
                stack = index is not None and ds.ndim == 3
                _check_h5_dataset(p, k, ds, ds.shape[1:] if stack else ds.shape)
                if stack:
                    n = ds.shape[0]
                    if not -n <= index < n:
                        raise _err(p, f"index {index} out of range for {n} maps in {k!r}")
                    return np.asarray(ds[index % n]).T  # h5py takes no negative indices
                arr = np.asarray(ds[()]).T
            except DepthIOError:
                raise
            except (OSError, KeyError, RuntimeError, ValueError, TypeError) as e:  # from h5py
                raise _err(p, f"corrupt MATLAB v7.3 (HDF5) file: {_first_line(e)}") from e
    else:
        import scipy.io

        try:
            # scipy calls read(n) with the sizes the file declares: a file object allocates n
            # bytes first, a memory map returns what is there
            with open(p, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
                _check_mat5(p, data)
                m = scipy.io.loadmat(data)
        except DepthIOError:
            raise
        except NotImplementedError as e:
            raise _err(p, f"unsupported MATLAB file: {_first_line(e)}") from e
        except Exception as e:  # scipy raises ValueError / TypeError / MatReadError on junk
            raise _err(
                p, f"not a readable MATLAB file ({type(e).__name__}: {_first_line(e)})"
            ) from e
        arrays = {
            k: v
            for k, v in m.items()
            if not k.startswith("__") and isinstance(v, np.ndarray) and v.dtype.kind in "biuf"
        }
        k = _pick_key(p, {k: v.shape for k, v in arrays.items()}, key)
        arr = arrays[k]
    if index is not None:
        arr = _to_2d(arr, p, index, axis=-1)
    return arr


# --------------------------------------------------------------------------------------------
# image-file depth (PNG / BMP / TIFF via Pillow)
# --------------------------------------------------------------------------------------------


def _pil_open(path: PathLike):  # -> PIL.Image.Image (loaded)
    from PIL import Image, UnidentifiedImageError

    p = Path(path)
    data = _read_bytes(p)
    try:
        # from memory: Pillow skips some chunks with read(n), which on a file allocates the n
        # bytes a corrupt length declares before reading
        im = Image.open(io.BytesIO(data))
        _check_image_size(p, im, len(data))
        im.load()
    except UnidentifiedImageError as e:
        raise _err(p, "not a recognised image file (wrong magic bytes?)") from e
    except Image.DecompressionBombError as e:
        raise _err(p, f"image too large to decode safely ({str(e).split('.')[0]})") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise _err(p, f"cannot decode image: {_first_line(e)}") from e
    return im


def _check_image_size(p: Path, im: Any, size: int) -> None:
    """Refuse a PNG or TIFF whose header declares more pixels than its ``size`` bytes can hold,
    before Pillow allocates them: a pixel takes at least a bit, and deflate data expand at most
    ~1032 times, LZW data ~2700 times per 8-bit sample (bilevel fax-coded TIFFs shrink more)."""
    if im.format not in ("PNG", "TIFF") or im.mode == "1":
        return
    if im.width * im.height / 8 > _MAX_EXPANSION * size:
        raise _err(
            p,
            f"{im.format} header declares {im.width}x{im.height} pixels, more than its {size} "
            "bytes can hold (corrupt header?)",
        )


def _pil_depth_array(path: PathLike) -> np.ndarray:
    """Single-channel integer / float image -> exact stored values."""
    im = _pil_open(path)
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        return np.asarray(im).astype(np.uint16)
    if mode == "L":
        return np.asarray(im).astype(np.uint8)
    if mode == "I":
        arr = np.asarray(im).astype(np.int64)
        return arr
    if mode == "F":
        return np.asarray(im).astype(np.float32)
    if mode == "1":
        raise _err(path, "unsupported bit depth 1 (depth needs 8- or 16-bit grey)")
    if mode in ("LA", "RGB", "RGBA", "P", "PA", "CMYK", "YCbCr"):
        raise _err(
            path,
            f"expected a single-channel (grey) depth image, got mode {mode} with "
            f"{len(im.getbands())} bands",
        )
    raise _err(path, f"unsupported image mode {mode} for depth (need 8/16-bit grey)")


# --------------------------------------------------------------------------------------------
# read_depth / write_depth
# --------------------------------------------------------------------------------------------


def _stored_array(p: Path, suffix: str, key: str | None, index: int | None) -> np.ndarray:
    """The raw stored 2-D array of a depth file (before scaling / masking)."""
    if suffix == ".pfm":
        arr = read_pfm(p)
        if arr.ndim == 3:
            raise _err(p, "colour PFM ('PF', 3 channels); a depth map needs a grey 'Pf' file")
        return arr
    if suffix == ".dpt":
        return read_dpt(p)
    if suffix == ".pgm":
        arr = read_pnm(p, byteorder="auto")
        if arr.ndim != 2:
            raise _err(p, "colour PPM data; a depth map needs a grey PGM")
        return arr
    if suffix in (".png", ".bmp", ".tif", ".tiff"):
        return _pil_depth_array(p)
    if suffix == ".npy":
        _check_readable(p)
        check_numpy_magic(p)
        _check_npy_header(p)
        try:
            arr = np.load(p, allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:
            raise _err(p, f"not a readable .npy file: {_first_line(e)}") from e
        return _to_2d(arr, p, index, axis=0)
    if suffix == ".npz":
        _check_readable(p)
        check_numpy_magic(p)
        shapes = _npz_shapes(p)
        k = (
            _pick_key(p, shapes, key)
            if (key is not None or len(shapes) != 1)
            else next(iter(shapes))
        )
        try:
            with np.load(p, allow_pickle=False) as z:
                arr = z[k]
        except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as e:
            raise _err(p, f"corrupt .npz archive: {_first_line(e)}") from e
        return _to_2d(arr, p, index, axis=0)
    if suffix == ".mat":
        return _to_2d(read_mat(p, key, index), p, None, axis=-1)
    raise _err(p, f"unsupported depth format {suffix!r} (supported: {' '.join(DEPTH_SUFFIXES)})")


#: the most elements a depth file may declare (a 32768 x 32768 map)
MAX_ELEMENTS = 2**30
#: the most a compressed stream expands (zlib / deflate: 1032 times), with a margin
_MAX_EXPANSION = 1100


#: the most bytes read for an ``.npy`` header (NumPy itself refuses headers over 10000 bytes)
_NPY_HEAD_MAX = 1 << 16


def _check_npy_bytes(p: Path, head: bytes, size: int, member: str = "") -> tuple[int, ...]:
    """Check the ``.npy`` header at the start of ``head`` against ``size``, the bytes of the whole
    ``.npy`` data (a file, or the ``member`` of an ``.npz`` archive), and return its shape.

    Refuses Python objects, more elements than :data:`MAX_ELEMENTS`, and more (or fewer) bytes
    than the data hold, before NumPy allocates anything. The header is parsed from ``head`` in
    memory, so a huge declared header length reads what is there instead of allocating it.
    """
    what = f"member {member!r}: " if member else ""
    f = io.BytesIO(head)
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        offset = f.tell()
    except (ValueError, EOFError, SyntaxError, tokenize.TokenError) as e:
        raise _err(p, f"{what}not a readable .npy file: {_first_line(e)}") from None
    if dtype.hasobject:
        raise _err(p, f"{what}holds Python objects, not numbers (refused)")
    n = int(np.prod(shape, dtype=np.float64))
    if n > MAX_ELEMENTS:
        raise _err(
            p, f"{what}header declares shape {shape} ({n:.3g} elements), over {MAX_ELEMENTS:.3g}"
        )
    need = offset + n * dtype.itemsize
    if size != need:
        held = f"{member!r} has" if member else "file has"
        raise _err(
            p,
            f"{what}header declares {shape} {dtype} ({need} bytes with the header), {held} {size}",
        )
    return shape


def _check_npy_header(p: Path) -> None:
    """Refuse a ``.npy`` file whose header does not fit the file (see :func:`_check_npy_bytes`)."""
    try:
        with open(p, "rb") as f:
            head = f.read(_NPY_HEAD_MAX)
    except OSError as e:
        raise _err(p, f"cannot read: {e.strerror or e}") from e
    _check_npy_bytes(p, head, p.stat().st_size)


def _npz_shapes(p: Path) -> dict[str, tuple[int, ...]]:
    """``{name: shape}`` of the ``.npy`` members of an ``.npz`` archive, read from their headers
    (checked with :func:`_check_npy_bytes`, against the sizes the archive declares) without
    loading any array. Members of other types are left out."""
    try:
        zf = zipfile.ZipFile(p)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
        raise _err(p, f"not a readable .npz file: {_first_line(e)}") from e
    shapes: dict[str, tuple[int, ...]] = {}
    with zf:
        try:
            for info in zf.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                if info.file_size > _MAX_EXPANSION * info.compress_size + 1024:
                    raise _err(
                        p,
                        f"member {info.filename!r} declares {info.file_size} bytes, more than "
                        f"its {info.compress_size} compressed bytes can hold",
                    )
                with zf.open(info) as f:
                    head = f.read(_NPY_HEAD_MAX)
                shapes[info.filename[:-4]] = _check_npy_bytes(
                    p, head, info.file_size, info.filename
                )
        except DepthIOError:
            raise
        except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as e:
            raise _err(p, f"corrupt .npz archive: {_first_line(e)}") from e
        except (NotImplementedError, RuntimeError) as e:  # unknown compression, encryption
            raise _err(p, f"unsupported .npz archive: {_first_line(e)}") from e
    return shapes


def integer_rounding_error(values: np.ndarray, valid: np.ndarray) -> float:
    """Largest relative change ``|round(v) - v| / |v|`` over the valid non-zero pixels: what
    writing ``values`` to an integer format (``.png`` / ``.pgm``) unscaled would do to them."""
    v = np.asarray(values, np.float64)[np.asarray(valid, bool)]
    v = v[np.isfinite(v) & (v != 0)]
    if v.size == 0:
        return 0.0
    return float(np.max(np.abs(np.round(v) - v) / np.abs(v)))


def check_integer_storable(
    suffix: str, values: np.ndarray, valid: np.ndarray, name: PathLike
) -> None:
    """Refuse to write ``values`` unscaled to an integer format when rounding would change them
    by more than :data:`MAX_ROUNDING` (e.g. metres in a float map written as ``.png``).

    Args:
        suffix: the output's suffix; nothing is checked for float formats.
        values, valid: ``(H, W)`` values as they would be stored, and their validity.
        name: the file the message names.

    Raises:
        UserError: naming ``name``, the value range and the change, suggesting ``--out-scale``.
    """
    if suffix.lower() not in INTEGER_DEPTH_SUFFIXES:
        return
    rel = integer_rounding_error(values, valid)
    if rel > MAX_ROUNDING:
        v = np.asarray(values, np.float64)[np.asarray(valid, bool)]
        raise UserError(
            f"{name}: {suffix} output stores integers and rounding these values "
            f"({v.min():.4g}..{v.max():.4g}) would change them by up to {100 * rel:.0f}%; "
            "pass --out-scale (e.g. 1000 to store metres as millimetres) or write a float "
            "format (.pfm .npy .npz .mat .dpt)"
        )


_NUMPY_MAGIC = {
    ".npy": (b"\x93NUMPY", "a NumPy .npy file"),
    ".npz": (b"PK", "an .npz (zip) archive"),
}


def check_numpy_magic(path: PathLike) -> None:
    """Raise :class:`UserError` naming ``path`` when a ``.npy`` / ``.npz`` file does not start
    with its format's signature (a truncated download, an HTML error page, a renamed file), so
    that numpy's misleading "pickled data" message never reaches the user."""
    p = Path(path)
    magic, what = _NUMPY_MAGIC.get(p.suffix.lower(), (None, ""))
    if magic is None:
        return
    try:
        with open(p, "rb") as f:
            head = f.read(len(magic))
    except OSError as e:
        raise _err(p, f"cannot read: {e.strerror or e}") from e
    if not head:
        raise _err(p, f"empty file (0 bytes), not {what}")
    if head != magic:
        raise _err(p, f"not {what} (bad header: {head[:8]!r})")


def read_depth_stored(
    path: PathLike, *, key: str | None = None, index: int | None = None
) -> np.ndarray:
    """The raw stored 2-D array of a depth file: no scaling, no masking.

    Use it with :func:`make_depth_map` when the stored values themselves matter, e.g. to find
    how the file marks missing data (:func:`invalid_marker`). Arguments as :func:`read_depth`.

    Returns:
        ``(H, W)`` array in the file's own dtype.
    """
    p = _check_readable(Path(path))
    return _stored_array(p, p.suffix.lower(), key, index)


def invalid_marker(
    stored: np.ndarray, valid: np.ndarray | None = None, invalid: float | None = None
) -> float:
    """The stored value a file uses for missing data, so that outputs can use the same one.

    ``invalid`` (a user-given sentinel) wins. Otherwise: NaN when every invalid pixel of a
    float map is NaN, +inf when every one is +inf, else 0 (integer files, zeros, negative
    values, mixtures). A map without invalid pixels gives 0.

    Args:
        stored: ``(H, W)`` stored array (:func:`read_depth_stored`).
        valid: ``(H, W)`` validity of ``stored`` (default: :func:`make_depth_map`'s rule).
        invalid: the sentinel given to :func:`read_depth`, if any.
    """
    if invalid is not None:
        return float(invalid)
    a = np.asarray(stored)
    if a.dtype.kind != "f":
        return 0.0
    if valid is None:
        valid = make_depth_map(a).valid
    bad = a[~np.asarray(valid, bool)]
    if bad.size == 0:
        return 0.0
    if np.isnan(bad).all():
        return float("nan")
    if np.isposinf(bad).all():
        return float("inf")
    return 0.0


def fill_fits(suffix: str, fill: float, bits: int = 16) -> bool:
    """Whether :func:`write_depth` can store ``fill`` as the invalid-pixel value of a ``suffix``
    file: any value in float formats, an integer in ``0 .. 2**bits - 1`` in PNG / PGM."""
    if suffix.lower() not in INTEGER_DEPTH_SUFFIXES:
        return True
    return bool(np.isfinite(fill) and fill == round(fill) and 0 <= fill <= (1 << bits) - 1)


def read_depth(
    path: PathLike,
    *,
    scale: float | None = None,
    key: str | None = None,
    invalid: float | None = None,
    encoding: str = "plain",
    index: int | None = None,
) -> DepthMap:
    """Read a depth / disparity map; the format follows the suffix.

    Args:
        path: ``.png .pgm .bmp .tif .pfm .npy .npz .mat .dpt``.
        scale: stored units per output unit: ``values = stored / scale`` (``None`` = 1).
            KITTI 256, TUM 5000, millimetre PNGs 1000 give metres. Not allowed with the
            ``kinect-raw`` / ``sun-rotated`` encodings (they give metres).
        key: array name in ``.npz`` / ``.mat`` (default: the only 2-D array).
        invalid: a stored sentinel value that marks missing data (in addition to 0, negative
            and non-finite values).
        encoding: ``"plain"``; ``"kinect-raw"`` (raw Kinect units -> metres, PGM read with
            automatic byte order); ``"sun-rotated"`` (SUN RGB-D bit-rotated mm -> metres).
        index: picks one map of a 3-D stack (first axis for ``.npy``/``.npz``, last axis,
            MATLAB's layout, for ``.mat``).

    Returns:
        ``DepthMap(values (H, W) float32 with 0 where invalid, valid (H, W) bool)``.

    Raises:
        DepthIOError: missing / empty / truncated / malformed file, unsupported format or
            bit depth, wrong key, not 2-D.
    """
    p = Path(path)
    _check_readable(p)
    if encoding not in ENCODINGS:
        raise _err(p, f"unknown encoding {encoding!r} (choose from {', '.join(ENCODINGS)})")
    stored = read_depth_stored(p, key=key, index=index)
    if encoding == "plain":
        return make_depth_map(stored, scale, invalid, path=p)
    if scale is not None:
        raise _err(p, f"encoding {encoding!r} decodes to metres; do not give a scale")
    if stored.dtype.kind not in "iu":
        raise _err(p, f"encoding {encoding!r} needs integer data, got {stored.dtype}")
    if invalid is not None:
        stored = np.where(stored == invalid, 0, stored)
    if encoding == "kinect-raw":
        if stored.max(initial=0) > 2047:
            raise _err(
                p,
                f"values up to {int(stored.max())} are not raw Kinect units (0..2047); "
                "wrong byte order or not a raw Kinect file",
            )
        metres = kinect_raw_to_metres(stored)
    else:
        if stored.dtype.itemsize < 2:
            raise _err(
                p,
                f"encoding 'sun-rotated' needs 16-bit data (SUN RGB-D depth PNGs), got "
                f"{stored.dtype}: not a SUN RGB-D depth file",
            )
        metres = sun_depth_to_metres(stored)
    return make_depth_map(metres, None, None, path=p)


def _integer_payload(
    path: PathLike, values: np.ndarray, valid: np.ndarray, scale: float | None, bits: int
) -> np.ndarray:
    s = 1.0 if scale is None else float(scale)
    if not np.isfinite(s) or s <= 0:
        raise _err(path, f"scale must be a positive number, got {scale}")
    top = (1 << bits) - 1
    q = np.zeros(values.shape, np.float64)
    q[valid] = np.round(values[valid].astype(np.float64) * s)
    if valid.any():
        lo, hi = q[valid].min(), q[valid].max()
        if hi > top:
            raise _err(
                path,
                f"value {values[valid].max():.6g} x scale {s:g} = {hi:.0f} exceeds the "
                f"{bits}-bit maximum {top}; use a smaller scale",
            )
        if lo <= 0:
            raise _err(
                path,
                f"valid value {values[valid].min():.6g} x scale {s:g} rounds to {lo:.0f}, which "
                "reads back as invalid; use a larger scale",
            )
    return q.astype(np.uint16 if bits == 16 else np.uint8)


def _fill_invalid(path: Path, stored: np.ndarray, ok: np.ndarray, fill: float) -> None:
    """Set the invalid pixels of a stored array (integer or float) to ``fill``, in place; raise
    when a valid pixel holds that value (it would read back as invalid). 0 is already there."""
    if fill == 0.0:
        return
    if np.isfinite(fill) and (stored[ok] == stored.dtype.type(fill)).any():
        raise _err(path, f"a valid pixel is stored as {fill:g}, the invalid-pixel value")
    stored[~ok] = fill


def write_depth(
    path: PathLike,
    values: np.ndarray,
    valid: np.ndarray | None = None,
    *,
    scale: float | None = None,
    bits: int = 16,
    key: str = "depth",
    fill: float = 0.0,
) -> Path:
    """Write a depth map (atomically); the format follows the suffix.

    ``.png`` / ``.pgm``: integers ``round(values * scale)`` (``scale`` None = 1), 16-bit
    unless ``bits=8``; invalid pixels are 0; raises when a valid value would not fit or would
    round to 0. Float formats (``.pfm .npy .npz .mat .dpt``) store ``values * scale``.
    Invalid pixels are stored as ``fill`` (default 0).

    Args:
        path: output file.
        values: ``(H, W)`` depth (also accepts ``(1, H, W)``).
        valid: ``(H, W)`` bool; default: finite and > 0.
        scale: stored units per unit of ``values``.
        bits: 8 or 16 for integer formats.
        key: variable name in ``.npz`` / ``.mat``.
        fill: stored value of invalid pixels (default 0). Float formats take any value
            (NaN, inf, a sentinel); integer formats an integer in the format's range that no
            valid pixel takes. :func:`invalid_marker` finds the one an input file used.

    Returns:
        The written path.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    v = np.asarray(values)
    if v.ndim == 3 and v.shape[0] == 1:
        v = v[0]
    if v.ndim != 2:
        raise _err(p, f"expected a 2-D depth map, got shape {v.shape}")
    v = v.astype(np.float64)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(v) & (v > 0)
    if valid is not None:
        m = np.asarray(valid, bool)
        if m.ndim == 3 and m.shape[0] == 1:
            m = m[0]
        if m.shape != v.shape:
            raise _err(p, f"valid mask shape {m.shape} does not match depth shape {v.shape}")
        ok &= m
    if bits not in (8, 16):
        raise _err(p, f"unsupported bit depth {bits} (8 or 16)")
    fill = float(fill)
    if suffix in INTEGER_DEPTH_SUFFIXES:
        q = _integer_payload(p, v, ok, scale, bits)
        if not fill_fits(suffix, fill, bits):
            raise _err(p, f"invalid-pixel value {fill:g} cannot be stored in a {bits}-bit image")
        _fill_invalid(p, q, ok, fill)
        if suffix == ".pgm":
            return write_pnm(p, q)
        return _write_pil(p, q)
    s = 1.0 if scale is None else float(scale)
    if not np.isfinite(s) or s <= 0:
        raise _err(p, f"scale must be a positive number, got {scale}")
    out = np.where(ok, v * s, 0.0).astype(np.float32)
    _fill_invalid(p, out, ok, fill)
    if suffix == ".pfm":
        return write_pfm(p, out)
    if suffix == ".dpt":
        return write_dpt(p, out)
    if suffix == ".npy":
        return atomic_write(p, lambda f: np.save(f, out, allow_pickle=False))
    if suffix in (".npz", ".mat") and not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,62}", key):
        raise _err(
            p,
            f"array name {key!r} cannot be stored (a letter, then letters, digits or '_'; "
            "MATLAB drops other names)",
        )
    if suffix == ".npz":
        return atomic_write(p, lambda f: np.savez_compressed(f, **{key: out}))
    if suffix == ".mat":
        import scipy.io

        return atomic_write(p, lambda f: scipy.io.savemat(f, {key: out}, do_compression=True))
    writable = ".png .pgm .pfm .npy .npz .mat .dpt"
    raise _err(p, f"cannot write depth format {suffix!r} (supported: {writable})")


# --------------------------------------------------------------------------------------------
# images
# --------------------------------------------------------------------------------------------


def _pil_format(path: Path) -> str:
    from PIL import Image

    ext = path.suffix.lower()
    fmt = Image.registered_extensions().get(ext)
    if fmt is None:
        raise _err(path, f"unsupported image format {ext!r}")
    return fmt


def _write_pil(path: Path, array: np.ndarray) -> Path:
    from PIL import Image

    fmt = _pil_format(path)
    a = np.ascontiguousarray(array)
    if a.dtype == np.uint16:
        if a.ndim != 2:
            raise _err(path, "16-bit images must be single-channel (H, W)")
        if fmt != "PNG" and fmt != "TIFF":
            raise _err(path, f"{fmt} cannot store 16-bit data; use .png")
        im = Image.fromarray(a.astype(np.uint16))  # Pillow maps uint16 (H, W) to I;16
    else:
        im = Image.fromarray(a)
    if fmt == "JPEG" and im.mode not in ("L", "RGB"):
        im = im.convert("RGB")
    return atomic_write(path, lambda f: im.save(f, format=fmt))


def read_image(path: PathLike, grey: bool | None = None) -> np.ndarray:
    """Read an RGB or grey image as float32 in [0, 1].

    8-bit data are divided by 255, 16-bit by 65535 (PGM/PPM use their maxval). Alpha is
    dropped; palette images are expanded.

    Args:
        path: ``.png .jpg .bmp .ppm .pgm .tif`` (anything Pillow reads).
        grey: ``None`` keeps the file's layout; ``False`` forces 3 channels; ``True`` forces
            one (ITU-R 601 luma ``0.299 R + 0.587 G + 0.114 B``).

    Returns:
        ``(H, W, 3)`` for colour, ``(H, W)`` for grey.
    """
    p = Path(path)
    _check_readable(p)
    if p.suffix.lower() in (".pgm", ".ppm", ".pnm"):
        arr, maxval = _pnm_decode(p, "big")
        img = arr.astype(np.float32) / float(maxval)
    else:
        im = _pil_open(p)
        mode = im.mode
        if mode.startswith("I;16"):
            img = np.asarray(im).astype(np.float32) / 65535.0
        elif mode == "I":
            a = np.asarray(im).astype(np.float64)
            img = (a / (65535.0 if a.max(initial=0) > 255 else 255.0)).astype(np.float32)
        elif mode == "F":
            img = np.asarray(im).astype(np.float32)
        elif mode in ("L", "1"):
            img = np.asarray(im.convert("L")).astype(np.float32) / 255.0
        elif mode == "LA":
            img = np.asarray(im).astype(np.float32)[..., 0] / 255.0
        else:
            img = np.asarray(im.convert("RGB")).astype(np.float32) / 255.0
    img = np.clip(img, 0.0, 1.0)
    if grey is False and img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    elif grey is True and img.ndim == 3:
        img = img @ np.array([0.299, 0.587, 0.114], np.float32)
    return np.ascontiguousarray(img, dtype=np.float32)


def write_image(path: PathLike, array: np.ndarray) -> Path:
    """Write an image (atomically); the format follows the suffix.

    Args:
        path: ``.png .jpg .bmp .ppm .pgm .tif``.
        array: ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` or ``(H, W, 4)``; float in [0, 1]
            (clipped, rounded to 8 bits), uint8, or uint16 (single-channel, 16-bit PNG/PGM).

    Returns:
        The written path.
    """
    p = Path(path)
    a = np.asarray(array)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (3, 4))):
        raise _err(p, f"image must be (H, W), (H, W, 3) or (H, W, 4), got shape {a.shape}")
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)):
            raise _err(p, "image contains NaN or inf")
        a = np.round(np.clip(a, 0.0, 1.0) * 255.0).astype(np.uint8)
    elif a.dtype == np.bool_:
        a = a.astype(np.uint8) * 255
    elif a.dtype not in (np.uint8, np.uint16):
        raise _err(p, f"image dtype must be float, bool, uint8 or uint16, got {a.dtype}")
    if p.suffix.lower() in (".pgm", ".ppm"):
        if a.ndim == 3 and a.shape[2] == 4:
            a = a[..., :3]
        return write_pnm(p, a)
    return _write_pil(p, a)


# --------------------------------------------------------------------------------------------
# LiDAR, calibration, point clouds
# --------------------------------------------------------------------------------------------


def read_velodyne(path: PathLike) -> np.ndarray:
    """Read a KITTI Velodyne scan ``.bin``: float32 records (x, y, z, reflectance).

    Returns:
        ``(N, 4)`` float32, metres in the Velodyne frame (x forward, y left, z up).
    """
    data = _read_bytes(path)
    if len(data) % 16:
        raise _err(
            path,
            f"size {len(data)} bytes is not a multiple of 16 (4 float32 per point): truncated?",
        )
    return np.frombuffer(data, "<f4").reshape(-1, 4).copy()


def write_velodyne(path: PathLike, points: np.ndarray) -> Path:
    """Write ``(N, 4)`` points (x, y, z, reflectance) as a KITTI ``.bin`` (atomically)."""
    a = np.asarray(points, np.float32)
    if a.ndim != 2 or a.shape[1] != 4:
        raise _err(path, f"Velodyne points must be (N, 4), got shape {a.shape}")
    payload = np.ascontiguousarray(a, "<f4").tobytes()
    return atomic_write(path, lambda f: f.write(payload))


_NUM = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def _parse_numbers(text: str) -> np.ndarray | None:
    """``"1 2 3"`` -> (3,), ``"[1 0; 0 1]"`` -> (2, 2); None if not all numeric."""
    t = text.strip()
    bracket = t.startswith("[") and t.endswith("]")
    if bracket:
        t = t[1:-1]
    rows = [r for r in t.split(";")] if bracket else [t]
    parsed: list[list[float]] = []
    for r in rows:
        toks = r.replace(",", " ").split()
        if not toks or not all(_NUM.match(x) for x in toks):
            return None
        parsed.append([float(x) for x in toks])
    if bracket and len(parsed) > 1:
        if len({len(r) for r in parsed}) != 1:
            return None
        return np.array(parsed, np.float64)
    return np.array(parsed[0], np.float64)


def read_calib_txt(path: PathLike) -> dict[str, np.ndarray]:
    """Read a calibration text file into ``{key: float64 array}``.

    Understands KITTI style ``"P2: v v v ..."`` (flat arrays; reshape e.g. P2 to (3, 4)) and
    Middlebury style ``"cam0=[f 0 cx; 0 f cy; 0 0 1]"`` / ``"baseline=193.001"`` (``;`` starts a
    new row). Lines whose value is not numeric (``calib_time: 09-Jan-2012 ...``), blank lines
    and ``#`` / ``%`` comments are skipped.

    Returns:
        ``{key: (n,) or (r, c) float64}``; scalars have shape ``(1,)``.
    """
    data = _read_bytes(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise _err(path, "not a text file (cannot decode as UTF-8)") from e
    out: dict[str, np.ndarray] = {}
    for line in text.splitlines():
        s = line.strip()
        if not s or s[0] in "#%":
            continue
        m = re.match(r"^([A-Za-z_][\w.\-]*)\s*[:=]\s*(.*)$", s)
        if m is None:
            continue
        vals = _parse_numbers(m.group(2))
        if vals is not None:
            out[m.group(1)] = vals
    if not out:
        raise _err(path, "no numeric 'key: values' or 'key=values' entries found")
    return out


def write_ply(path: PathLike, points: np.ndarray, colors: np.ndarray | None = None) -> Path:
    """Write a point cloud as binary little-endian PLY (atomically).

    Args:
        points: ``(N, 3)`` float x, y, z.
        colors: optional ``(N, 3)`` uint8 RGB (floats in [0, 1] are converted).

    Returns:
        The written path.
    """
    pts = np.asarray(points, np.float32)
    if pts.ndim != 2 or pts.shape[1] != 3:
        raise _err(path, f"points must be (N, 3), got shape {pts.shape}")
    n = pts.shape[0]
    props = ["property float x", "property float y", "property float z"]
    if colors is not None:
        c = np.asarray(colors)
        if c.shape != (n, 3):
            raise _err(path, f"colors must be ({n}, 3) to match the points, got {c.shape}")
        if c.dtype.kind == "f":
            c = np.round(np.clip(c, 0, 1) * 255)
        c = c.astype(np.uint8)
        props += ["property uchar red", "property uchar green", "property uchar blue"]
        rec = np.empty(n, dtype=[("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("rgb", "u1", 3)])
        rec["rgb"] = c
    else:
        rec = np.empty(n, dtype=[("x", "<f4"), ("y", "<f4"), ("z", "<f4")])
    rec["x"], rec["y"], rec["z"] = pts[:, 0], pts[:, 1], pts[:, 2]
    header = "\n".join(
        ["ply", "format binary_little_endian 1.0", f"element vertex {n}", *props, "end_header"]
    )
    payload = header.encode("ascii") + b"\n" + rec.tobytes()
    return atomic_write(path, lambda f: f.write(payload))
