"""PGM / PPM (Netpbm) files, ASCII and binary, 8- and 16-bit, including the little-endian 16-bit
raw Kinect PGMs of NYU v2."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from depthduet.io.atomic import atomic_write
from depthduet.io.common import PathLike, file_error, raster_magic, read_bytes

_PNM_CHANNELS = {b"P2": 1, b"P3": 3, b"P5": 1, b"P6": 3}


def _pnm_header(data: bytes, path: PathLike) -> tuple[bytes, int, int, int, int]:
    """Parse ``magic width height maxval`` (comments allowed); returns them and the data offset."""
    magic = data[:2]
    if magic not in _PNM_CHANNELS:
        raise file_error(path, f"bad PNM header: expected P2, P3, P5 or P6, got {magic!r}")
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
            raise file_error(path, "truncated PNM header")
        if not tok.isdigit():
            raise file_error(path, f"bad PNM header: expected an integer, got {tok[:20]!r}")
        tokens.append(int(tok))
    if pos >= n or not data[pos : pos + 1].isspace():
        raise file_error(path, "truncated PNM header")
    pos += 1  # exactly one whitespace byte before binary data
    w, h, maxval = tokens
    if w <= 0 or h <= 0:
        raise file_error(path, f"bad PNM size {w}x{h}")
    if not 0 < maxval < 65536:
        raise file_error(path, f"unsupported PNM maxval {maxval} (1..65535)")
    return magic, w, h, maxval, pos


def decode_pnm(path: PathLike, byteorder: str) -> tuple[np.ndarray, int]:
    """``(array, maxval)`` of a PGM / PPM file; ``byteorder`` as in :func:`read_pnm`."""
    data = read_bytes(path)
    magic, w, h, maxval, pos = _pnm_header(data, path)
    c = _PNM_CHANNELS[magic]
    count = w * h * c
    shape = (h, w) if c == 1 else (h, w, 3)
    if magic in (b"P2", b"P3"):
        vals = data[pos:].split()
        if len(vals) < count:
            raise file_error(path, f"truncated: expected {count} values, found {len(vals)}")
        try:
            arr = np.array([int(v) for v in vals[:count]], np.int64)
        except ValueError as e:
            raise file_error(path, "bad ASCII PNM data: non-integer value") from e
        except OverflowError as e:
            raise file_error(path, f"bad ASCII PNM data: a value over maxval {maxval}") from e
        if arr.max(initial=0) > maxval:
            raise file_error(path, f"bad ASCII PNM data: value {arr.max()} over maxval {maxval}")
        arr = arr.astype(np.uint16 if maxval > 255 else np.uint8).reshape(shape)
        return arr, maxval
    nbytes = 2 if maxval > 255 else 1
    body = data[pos:]
    if len(body) < count * nbytes:
        raise file_error(
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
        raise file_error(path, f"byteorder must be 'big', 'little' or 'auto', got {byteorder!r}")
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
    return decode_pnm(path, byteorder)[0]


def read_pgm_raw(path: PathLike, byteorder: str = "auto") -> np.ndarray:
    """Read a raw Kinect PGM (NYU v2 raw / Open3D ``NYU_depth.pgm``).

    These files say ``P5 640 480 65535`` but store the samples little-endian; ``"auto"``
    detects that (see :func:`read_pnm`).

    Returns:
        ``(H, W)`` uint16 raw values.
    """
    arr, _ = decode_pnm(path, byteorder)
    if arr.ndim != 2:
        raise file_error(path, "expected a grey PGM (P5/P2), got a colour PPM")
    return arr.astype(np.uint16)


def write_pnm(path: PathLike, array: np.ndarray, byteorder: str = "big") -> Path:
    """Write a binary PGM ``(H, W)`` or PPM ``(H, W, 3)`` from uint8 / uint16 (atomically).

    ``byteorder="little"`` writes the (non-standard) little-endian 16-bit layout of raw Kinect
    files.
    """
    a = np.asarray(array)
    if a.dtype not in (np.uint8, np.uint16):
        raise file_error(path, f"PNM needs uint8 or uint16 data, got {a.dtype}")
    magic = raster_magic(path, a, b"P5", b"P6", "PNM")
    maxval = 255 if a.dtype == np.uint8 else 65535
    h, w = a.shape[:2]
    if a.dtype == np.uint16:
        a = a.astype(">u2" if byteorder == "big" else "<u2")
    header = magic + f"\n{w} {h}\n{maxval}\n".encode()
    payload = np.ascontiguousarray(a).tobytes()
    return atomic_write(path, lambda f: (f.write(header), f.write(payload)))
