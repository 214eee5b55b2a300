"""Depth maps in files: :func:`read_depth` / :func:`write_depth` over every depth format (the
suffix picks it), the stored values behind them, and the rules that turn stored values into a
:class:`~depthduet.io.common.DepthMap` and back (scale, invalid pixels, integer rounding)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from depthduet.errors import UserError
from depthduet.io.atomic import atomic_write
from depthduet.io.common import DepthMap, PathLike, as_2d_map, check_readable, file_error
from depthduet.io.floatmaps import read_dpt, read_pfm, write_dpt, write_pfm
from depthduet.io.images import read_stored_grey, write_with_pillow
from depthduet.io.matlab import read_mat
from depthduet.io.netpbm import read_pnm, write_pnm
from depthduet.io.numpy_files import read_npy_map, read_npz_map
from depthduet.io.units import kinect_raw_to_metres, sun_depth_to_metres

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
#: values of ``encoding`` in :func:`read_depth`.
ENCODINGS: tuple[str, ...] = ("plain", "kinect-raw", "sun-rotated")


def _positive_scale(path: PathLike, scale: float | None) -> float:
    """``scale`` as a float (``None`` = 1); raises unless it is finite and > 0."""
    s = 1.0 if scale is None else float(scale)
    if not np.isfinite(s) or s <= 0:
        raise file_error(path, f"scale must be a positive number, got {scale}")
    return s


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
        raise file_error(path, f"expected a 2-D depth map, got shape {tuple(arr.shape)}")
    if arr.size == 0:
        raise file_error(path, f"empty depth map (shape {tuple(arr.shape)})")
    if arr.dtype.kind not in "iuf":
        what = "a boolean mask, not depth" if arr.dtype.kind == "b" else f"dtype {arr.dtype}"
        raise file_error(path, f"expected numeric depth values, got {what}")
    s = _positive_scale(path, scale)
    a64 = arr.astype(np.float64)
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(a64) & (a64 > 0)
        if invalid is not None:
            valid &= a64 != float(invalid)
    scaled = a64[valid] / s
    top = float(np.abs(scaled).max()) if scaled.size else 0.0
    if top > float(np.finfo(np.float32).max):
        raise file_error(
            path, f"values up to {top:.3g} exceed the float32 range; pass a scale (--in-scale)"
        )
    values = np.zeros(arr.shape, np.float32)
    values[valid] = scaled.astype(np.float32)
    # a tiny stored value divided by a huge scale may underflow float32 to 0
    valid &= values > 0
    return DepthMap(values, valid)


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
    check_readable(p)
    if encoding not in ENCODINGS:
        raise file_error(p, f"unknown encoding {encoding!r} (choose from {', '.join(ENCODINGS)})")
    stored = read_depth_stored(p, key=key, index=index)
    if encoding == "plain":
        return make_depth_map(stored, scale, invalid, path=p)
    if scale is not None:
        raise file_error(p, f"encoding {encoding!r} decodes to metres; do not give a scale")
    if stored.dtype.kind not in "iu":
        raise file_error(p, f"encoding {encoding!r} needs integer data, got {stored.dtype}")
    if invalid is not None:
        stored = np.where(stored == invalid, 0, stored)
    if encoding == "kinect-raw":
        if stored.max(initial=0) > 2047:
            raise file_error(
                p,
                f"values up to {int(stored.max())} are not raw Kinect units (0..2047); "
                "wrong byte order or not a raw Kinect file",
            )
        metres = kinect_raw_to_metres(stored)
    else:
        if stored.dtype.itemsize < 2:
            raise file_error(
                p,
                f"encoding 'sun-rotated' needs 16-bit data (SUN RGB-D depth PNGs), got "
                f"{stored.dtype}: not a SUN RGB-D depth file",
            )
        metres = sun_depth_to_metres(stored)
    return make_depth_map(metres, None, None, path=p)


def read_depth_stored(
    path: PathLike, *, key: str | None = None, index: int | None = None
) -> np.ndarray:
    """The raw stored 2-D array of a depth file: no scaling, no masking.

    Use it with :func:`make_depth_map` when the stored values themselves matter, e.g. to find
    how the file marks missing data (:func:`invalid_marker`). Arguments as :func:`read_depth`.

    Returns:
        ``(H, W)`` array in the file's own dtype.
    """
    p = check_readable(Path(path))
    return _stored_array(p, p.suffix.lower(), key, index)


def _stored_array(p: Path, suffix: str, key: str | None, index: int | None) -> np.ndarray:
    """The raw stored 2-D array of a depth file (before scaling / masking)."""
    if suffix == ".pfm":
        arr = read_pfm(p)
        if arr.ndim == 3:
            raise file_error(p, "colour PFM ('PF', 3 channels); a depth map needs a grey 'Pf' file")
        return arr
    if suffix == ".dpt":
        return read_dpt(p)
    if suffix == ".pgm":
        arr = read_pnm(p, byteorder="auto")
        if arr.ndim != 2:
            raise file_error(p, "colour PPM data; a depth map needs a grey PGM")
        return arr
    if suffix in (".png", ".bmp", ".tif", ".tiff"):
        return read_stored_grey(p)
    if suffix == ".npy":
        return read_npy_map(p, index)
    if suffix == ".npz":
        return read_npz_map(p, key, index)
    if suffix == ".mat":
        return as_2d_map(read_mat(p, key, index), p, None, axis=-1)
    raise file_error(
        p, f"unsupported depth format {suffix!r} (supported: {' '.join(DEPTH_SUFFIXES)})"
    )


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
    v, ok = _depth_and_validity(p, values, valid)
    if bits not in (8, 16):
        raise file_error(p, f"unsupported bit depth {bits} (8 or 16)")
    fill = float(fill)
    if suffix in INTEGER_DEPTH_SUFFIXES:
        return _write_integer_depth(p, suffix, v, ok, scale, bits, fill)
    return _write_float_depth(p, suffix, v, ok, scale, key, fill)


def _depth_and_validity(
    p: Path, values: np.ndarray, valid: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """``values`` as ``(H, W)`` float64 (``(1, H, W)`` accepted) and its validity ``(H, W)``:
    finite, > 0, and set in ``valid`` (same shapes accepted) when that is given."""
    v = np.asarray(values)
    if v.ndim == 3 and v.shape[0] == 1:
        v = v[0]
    if v.ndim != 2:
        raise file_error(p, f"expected a 2-D depth map, got shape {v.shape}")
    v = v.astype(np.float64)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(v) & (v > 0)
    if valid is not None:
        m = np.asarray(valid, bool)
        if m.ndim == 3 and m.shape[0] == 1:
            m = m[0]
        if m.shape != v.shape:
            raise file_error(p, f"valid mask shape {m.shape} does not match depth shape {v.shape}")
        ok &= m
    return v, ok


def _write_integer_depth(
    p: Path,
    suffix: str,
    v: np.ndarray,
    ok: np.ndarray,
    scale: float | None,
    bits: int,
    fill: float,
) -> Path:
    """:func:`write_depth` to ``.png`` / ``.pgm``: ``round(v * scale)`` as ``bits``-bit integers
    where ``ok``, ``fill`` elsewhere."""
    q = _integer_payload(p, v, ok, scale, bits)
    if not fill_fits(suffix, fill, bits):
        raise file_error(p, f"invalid-pixel value {fill:g} cannot be stored in a {bits}-bit image")
    _store_fill(p, q, ok, fill)
    if suffix == ".pgm":
        return write_pnm(p, q)
    return write_with_pillow(p, q)


def _write_float_depth(
    p: Path,
    suffix: str,
    v: np.ndarray,
    ok: np.ndarray,
    scale: float | None,
    key: str,
    fill: float,
) -> Path:
    """:func:`write_depth` to a float format: ``v * scale`` as float32 where ``ok``, ``fill``
    elsewhere; ``.npz`` / ``.mat`` store it under the name ``key``."""
    s = _positive_scale(p, scale)
    out = np.where(ok, v * s, 0.0).astype(np.float32)
    _store_fill(p, out, ok, fill)
    if suffix == ".pfm":
        return write_pfm(p, out)
    if suffix == ".dpt":
        return write_dpt(p, out)
    if suffix == ".npy":
        return atomic_write(p, lambda f: np.save(f, out, allow_pickle=False))
    if suffix in (".npz", ".mat") and not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,62}", key):
        raise file_error(
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
    raise file_error(p, f"cannot write depth format {suffix!r} (supported: {writable})")


def _integer_payload(
    path: PathLike, values: np.ndarray, valid: np.ndarray, scale: float | None, bits: int
) -> np.ndarray:
    """``round(values * scale)`` as ``(H, W)`` uint8 / uint16 (0 where not ``valid``); raises
    when a valid value overflows ``bits`` or rounds to 0 (it would read back as invalid)."""
    s = _positive_scale(path, scale)
    top = (1 << bits) - 1
    q = np.zeros(values.shape, np.float64)
    q[valid] = np.round(values[valid].astype(np.float64) * s)
    if valid.any():
        lo, hi = q[valid].min(), q[valid].max()
        if hi > top:
            raise file_error(
                path,
                f"value {values[valid].max():.6g} x scale {s:g} = {hi:.0f} exceeds the "
                f"{bits}-bit maximum {top}; use a smaller scale",
            )
        if lo <= 0:
            raise file_error(
                path,
                f"valid value {values[valid].min():.6g} x scale {s:g} rounds to {lo:.0f}, which "
                "reads back as invalid; use a larger scale",
            )
    return q.astype(np.uint16 if bits == 16 else np.uint8)


def _store_fill(path: Path, stored: np.ndarray, ok: np.ndarray, fill: float) -> None:
    """Set the invalid pixels of a stored array (integer or float) to ``fill``, in place; raise
    when a valid pixel holds that value (it would read back as invalid). 0 is already there."""
    if fill == 0.0:
        return
    if np.isfinite(fill) and (stored[ok] == stored.dtype.type(fill)).any():
        raise file_error(path, f"a valid pixel is stored as {fill:g}, the invalid-pixel value")
    stored[~ok] = fill
