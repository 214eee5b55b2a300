"""NumPy ``.npy`` / ``.npz`` depth files, their headers checked against the file before NumPy
allocates anything (no pickles, no more elements than :data:`~depthduet.io.common.MAX_ELEMENTS`,
no more bytes than the file holds)."""

from __future__ import annotations

import io
import tokenize
import zipfile
import zlib
from pathlib import Path

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

#: the most bytes read for an ``.npy`` header (NumPy itself refuses headers over 10000 bytes)
_NPY_HEAD_MAX = 1 << 16

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
        raise file_error(p, f"cannot read: {e.strerror or e}") from e
    if not head:
        raise file_error(p, f"empty file (0 bytes), not {what}")
    if head != magic:
        raise file_error(p, f"not {what} (bad header: {head[:8]!r})")


def read_npy_map(p: Path, index: int | None) -> np.ndarray:
    """The 2-D map of an ``.npy`` file: ``(H, W)``, or map ``index`` of an ``(N, H, W)`` stack."""
    check_readable(p)
    check_numpy_magic(p)
    _check_npy_header(p)
    try:
        arr = np.load(p, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise file_error(p, f"not a readable .npy file: {first_line(e)}") from e
    return as_2d_map(arr, p, index, axis=0)


def read_npz_map(p: Path, key: str | None, index: int | None) -> np.ndarray:
    """The 2-D map ``key`` (default: the only array) of an ``.npz`` archive; ``index`` picks one
    map of an ``(N, H, W)`` stack."""
    check_readable(p)
    check_numpy_magic(p)
    shapes = _npz_shapes(p)
    k = pick_key(p, shapes, key) if (key is not None or len(shapes) != 1) else next(iter(shapes))
    try:
        with np.load(p, allow_pickle=False) as z:
            arr = z[k]
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise file_error(p, f"corrupt .npz archive: {first_line(e)}") from e
    return as_2d_map(arr, p, index, axis=0)


def _check_npy_bytes(p: Path, head: bytes, size: int, member: str = "") -> tuple[int, ...]:
    """Check the ``.npy`` header at the start of ``head`` against ``size``, the bytes of the whole
    ``.npy`` data (a file, or the ``member`` of an ``.npz`` archive), and return its shape.

    Refuses Python objects, more elements than :data:`~depthduet.io.common.MAX_ELEMENTS`, and
    more (or fewer) bytes than the data hold, before NumPy allocates anything. The header is
    parsed from ``head`` in memory, so a huge declared header length reads what is there instead
    of allocating it.
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
        raise file_error(p, f"{what}not a readable .npy file: {first_line(e)}") from None
    if dtype.hasobject:
        raise file_error(p, f"{what}holds Python objects, not numbers (refused)")
    n = check_declared_size(p, shape, f"{what}header")
    need = offset + n * dtype.itemsize
    if size != need:
        held = f"{member!r} has" if member else "file has"
        raise file_error(
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
        raise file_error(p, f"cannot read: {e.strerror or e}") from e
    _check_npy_bytes(p, head, p.stat().st_size)


def _npz_shapes(p: Path) -> dict[str, tuple[int, ...]]:
    """``{name: shape}`` of the ``.npy`` members of an ``.npz`` archive, read from their headers
    (checked with :func:`_check_npy_bytes`, against the sizes the archive declares) without
    loading any array. Members of other types are left out."""
    try:
        zf = zipfile.ZipFile(p)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
        raise file_error(p, f"not a readable .npz file: {first_line(e)}") from e
    shapes: dict[str, tuple[int, ...]] = {}
    with zf:
        try:
            for info in zf.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                if info.file_size > MAX_EXPANSION * info.compress_size + 1024:
                    raise file_error(
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
            raise file_error(p, f"corrupt .npz archive: {first_line(e)}") from e
        except (NotImplementedError, RuntimeError) as e:  # unknown compression, encryption
            raise file_error(p, f"unsupported .npz archive: {first_line(e)}") from e
    return shapes
