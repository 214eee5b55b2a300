"""MATLAB ``.mat`` files: v4 / v5 / v7 through scipy (checked first, so that a corrupt file
cannot crash scipy or make it allocate what the file declares), v7.3 (HDF5) through h5py,
transposed back to MATLAB's orientation."""

from __future__ import annotations

import mmap
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from depthduet.io.common import (
    MAX_EXPANSION,
    DepthIOError,
    PathLike,
    as_2d_map,
    check_declared_size,
    check_readable,
    file_error,
    first_line,
    pick_key,
)

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_MI_MATRIX, _MI_COMPRESSED = 14, 15
#: the data types scipy decodes as numbers or characters (it looks the type up in a table without
#: checking, and crashes on the others)
_MI_NUMERIC = {1, 2, 3, 4, 5, 6, 7, 9, 12, 13, 16, 17, 18}
_MX_CELL_STRUCT_OBJECT, _MX_CHAR, _MX_SPARSE, _MX_OPAQUE = (1, 2, 3), 4, 5, 17
_MAT_MAX_NESTING = 64


def _is_hdf5(path: Path) -> bool:
    """Whether the file is HDF5 (a MATLAB v7.3 file: signature at byte 0 or 512)."""
    with open(path, "rb") as f:
        head = f.read(520)
    return head[:8] == _HDF5_MAGIC or head[512:520] == _HDF5_MAGIC


def _check_h5_dataset(p: Path, k: str, ds: Any, shape: tuple[int, ...]) -> None:
    """Refuse an HDF5 dataset whose ``shape`` (what will be read) exceeds
    :data:`~depthduet.io.common.MAX_ELEMENTS`, or that declares far more data than it stores
    (never written: HDF5 would make it up from the fill value), before anything is allocated."""
    check_declared_size(p, shape, repr(k))
    stored = ds.id.get_storage_size()
    if ds.nbytes > MAX_EXPANSION * stored + (1 << 20):
        raise file_error(
            p, f"{k!r} declares shape {ds.shape} ({ds.nbytes} bytes) but stores {stored} bytes"
        )


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
    checked after decompression (at most :data:`MAX_EXPANSION` times larger).
    """
    if len(data) < 128 or 0 in data[:4] or data[126:128] not in (b"IM", b"MI"):
        return  # v4 or not a MATLAB file: nothing to check / scipy says what is wrong
    e = "<" if data[126:128] == b"IM" else ">"

    def bad(msg: str) -> DepthIOError:
        return file_error(p, f"corrupt MATLAB file: {msg}")

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
                walk(_inflate(buf, pos + 8, pos + 8 + n), 0, MAX_EXPANSION * n, 1)
            pos += 8 + n + (0 if typ == _MI_COMPRESSED else -n % 8)  # data padded to 8 bytes
        return types

    walk(data, 128, len(data), 0)


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
    p = check_readable(path)
    if _is_hdf5(p):
        return _read_mat_hdf5(p, key, index)
    arr = _read_mat_v5(p, key)
    if index is not None:
        arr = as_2d_map(arr, p, index, axis=-1)
    return arr


def _hdf5_numeric_shapes(f: Any) -> dict[str, tuple[int, ...]]:
    """``{name: MATLAB shape}`` of the numeric datasets of an open MATLAB v7.3 file ``f`` (not
    MATLAB's own ``#refs#``, char, cell or struct data, nor empty dataspaces)."""
    import h5py

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

    f.visititems(visit)
    return names


def _read_mat_hdf5(p: Path, key: str | None, index: int | None) -> np.ndarray:
    """:func:`read_mat` of a v7.3 (HDF5) file: a 3-D stack with ``index`` reads one map only."""
    import h5py

    try:
        f = h5py.File(p, "r")
    except OSError as e:
        raise file_error(p, f"cannot open MATLAB v7.3 (HDF5) file: {e}") from e
    with f:
        try:
            k = pick_key(p, _hdf5_numeric_shapes(f), key)
            ds = f[k]
            stack = index is not None and ds.ndim == 3
            _check_h5_dataset(p, k, ds, ds.shape[1:] if stack else ds.shape)
            if stack:
                n = ds.shape[0]
                if not -n <= index < n:
                    raise file_error(p, f"index {index} out of range for {n} maps in {k!r}")
                return np.asarray(ds[index % n]).T  # h5py takes no negative indices
            arr = np.asarray(ds[()]).T
        except DepthIOError:
            raise
        except (OSError, KeyError, RuntimeError, ValueError, TypeError) as e:  # from h5py
            raise file_error(p, f"corrupt MATLAB v7.3 (HDF5) file: {first_line(e)}") from e
    if index is not None:
        arr = as_2d_map(arr, p, index, axis=-1)
    return arr


def _read_mat_v5(p: Path, key: str | None) -> np.ndarray:
    """The array ``key`` of a v4 / v5 / v7 file, read with scipy after :func:`_check_mat5`."""
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
        raise file_error(p, f"unsupported MATLAB file: {first_line(e)}") from e
    except Exception as e:  # scipy raises ValueError / TypeError / MatReadError on junk
        raise file_error(
            p, f"not a readable MATLAB file ({type(e).__name__}: {first_line(e)})"
        ) from e
    arrays = {
        k: v
        for k, v in m.items()
        if not k.startswith("__") and isinstance(v, np.ndarray) and v.dtype.kind in "biuf"
    }
    k = pick_key(p, {k: v.shape for k, v in arrays.items()}, key)
    return arrays[k]
