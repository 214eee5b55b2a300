"""Images through Pillow: RGB / grey pictures as float32 in [0, 1], and the exact stored values
of single-channel PNG / BMP / TIFF depth files. Headers are checked against the file size
before Pillow allocates the pixels they declare."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from depthduet.io.atomic import atomic_write
from depthduet.io.common import (
    MAX_EXPANSION,
    PathLike,
    check_readable,
    file_error,
    first_line,
    read_bytes,
)
from depthduet.io.netpbm import decode_pnm, write_pnm

#: suffixes :func:`read_image` understands (anything Pillow reads also works).
IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", ".tif", ".tiff")


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
    check_readable(p)
    if p.suffix.lower() in (".pgm", ".ppm", ".pnm"):
        arr, maxval = decode_pnm(p, "big")
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
        raise file_error(p, f"image must be (H, W), (H, W, 3) or (H, W, 4), got shape {a.shape}")
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)):
            raise file_error(p, "image contains NaN or inf")
        a = np.round(np.clip(a, 0.0, 1.0) * 255.0).astype(np.uint8)
    elif a.dtype == np.bool_:
        a = a.astype(np.uint8) * 255
    elif a.dtype not in (np.uint8, np.uint16):
        raise file_error(p, f"image dtype must be float, bool, uint8 or uint16, got {a.dtype}")
    if p.suffix.lower() in (".pgm", ".ppm"):
        if a.ndim == 3 and a.shape[2] == 4:
            a = a[..., :3]
        return write_pnm(p, a)
    return write_with_pillow(p, a)


def _pil_open(path: PathLike):  # -> PIL.Image.Image (loaded)
    """The image of a file, decoded from memory by Pillow; every failure names the file."""
    from PIL import Image, UnidentifiedImageError

    p = Path(path)
    data = read_bytes(p)
    try:
        # from memory: Pillow skips some chunks with read(n), which on a file allocates the n
        # bytes a corrupt length declares before reading
        im = Image.open(io.BytesIO(data))
        _check_image_size(p, im, len(data))
        im.load()
    except UnidentifiedImageError as e:
        raise file_error(p, "not a recognised image file (wrong magic bytes?)") from e
    except Image.DecompressionBombError as e:
        raise file_error(p, f"image too large to decode safely ({str(e).split('.')[0]})") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise file_error(p, f"cannot decode image: {first_line(e)}") from e
    return im


def _check_image_size(p: Path, im: Any, size: int) -> None:
    """Refuse a PNG or TIFF whose header declares more pixels than its ``size`` bytes can hold,
    before Pillow allocates them: a pixel takes at least a bit, and deflate data expand at most
    ~1032 times, LZW data ~2700 times per 8-bit sample (bilevel fax-coded TIFFs shrink more)."""
    if im.format not in ("PNG", "TIFF") or im.mode == "1":
        return
    if im.width * im.height / 8 > MAX_EXPANSION * size:
        raise file_error(
            p,
            f"{im.format} header declares {im.width}x{im.height} pixels, more than its {size} "
            "bytes can hold (corrupt header?)",
        )


def read_stored_grey(path: PathLike) -> np.ndarray:
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
        raise file_error(path, "unsupported bit depth 1 (depth needs 8- or 16-bit grey)")
    if mode in ("LA", "RGB", "RGBA", "P", "PA", "CMYK", "YCbCr"):
        raise file_error(
            path,
            f"expected a single-channel (grey) depth image, got mode {mode} with "
            f"{len(im.getbands())} bands",
        )
    raise file_error(path, f"unsupported image mode {mode} for depth (need 8/16-bit grey)")


def _pil_format(path: Path) -> str:
    """Pillow's format name for the suffix of ``path`` (``"PNG"``, ``"JPEG"``, ...)."""
    from PIL import Image

    ext = path.suffix.lower()
    fmt = Image.registered_extensions().get(ext)
    if fmt is None:
        raise file_error(path, f"unsupported image format {ext!r}")
    return fmt


def write_with_pillow(path: Path, array: np.ndarray) -> Path:
    """Write ``array`` (uint8 ``(H, W)`` / ``(H, W, 3|4)``, or uint16 ``(H, W)`` for PNG / TIFF)
    in the format of the suffix, atomically."""
    from PIL import Image

    fmt = _pil_format(path)
    a = np.ascontiguousarray(array)
    if a.dtype == np.uint16:
        if a.ndim != 2:
            raise file_error(path, "16-bit images must be single-channel (H, W)")
        if fmt != "PNG" and fmt != "TIFF":
            raise file_error(path, f"{fmt} cannot store 16-bit data; use .png")
        im = Image.fromarray(a.astype(np.uint16))  # Pillow maps uint16 (H, W) to I;16
    else:
        im = Image.fromarray(a)
    if fmt == "JPEG" and im.mode not in ("L", "RGB"):
        im = im.convert("RGB")
    return atomic_write(path, lambda f: im.save(f, format=fmt))
