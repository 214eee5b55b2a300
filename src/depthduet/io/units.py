"""Unit conversions of raw sensor and stereo data to metric depth (numpy level): raw Kinect v1
disparity units, SUN RGB-D's bit-rotated millimetres, stereo disparity."""

from __future__ import annotations

import numpy as np

from depthduet.io.common import DepthIOError


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
