"""Colour maps of depth, error and mask arrays: a robust value range, linear colouring through a
matplotlib colour map, invalid pixels in a flat colour; and any displayable image as uint8 RGB.

Every function takes numpy arrays or torch tensors (moved to the CPU) and returns ``uint8``
``(H, W, 3)`` RGB.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

__all__ = [
    "RGB",
    "as_numpy",
    "squeeze_map",
    "valid_pixels",
    "cmap_lut",
    "robust_range",
    "colorize",
    "map_and_range",
    "colorize_depth",
    "colorize_error",
    "colorize_mask",
    "to_uint8_rgb",
]

RGB = tuple[int, int, int]


def as_numpy(x: Any) -> np.ndarray:
    """numpy view of an array or a (possibly CUDA / grad-tracking) torch tensor."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def squeeze_map(x: Any, name: str) -> np.ndarray:
    """``x`` as an ``(H, W)`` numpy map (leading size-1 axes dropped); ``name`` is for the
    error message of another shape."""
    a = as_numpy(x)
    while a.ndim > 2 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 2:
        raise ValueError(f"{name} must be (H, W) or (1, H, W), got shape {a.shape}")
    return a


def valid_pixels(v: np.ndarray, valid: Any | None) -> np.ndarray:
    """``(H, W)`` bool: ``valid`` (default: ``v > 0``) where the ``(H, W)`` map ``v`` is finite."""
    if valid is None:
        with np.errstate(invalid="ignore"):
            return np.isfinite(v) & (v > 0)
    return squeeze_map(valid, "valid").astype(bool) & np.isfinite(v)


def cmap_lut(cmap: str) -> np.ndarray:
    """256-entry uint8 RGB lookup table ``(256, 3)`` of a matplotlib colour map (a copy)."""
    return _cached_lut(cmap).copy()


@lru_cache(maxsize=16)
def _cached_lut(cmap: str) -> np.ndarray:
    import matplotlib

    try:
        cm = matplotlib.colormaps[cmap]
    except KeyError as e:
        raise ValueError(f"unknown colour map {cmap!r}") from e
    return np.round(cm(np.linspace(0.0, 1.0, 256))[:, :3] * 255).astype(np.uint8)


def robust_range(
    values: Any, valid: Any | None = None, lo_pct: float = 2.0, hi_pct: float = 98.0
) -> tuple[float, float]:
    """Percentile range ``(lo, hi)`` of the valid, finite values (``lo < hi`` guaranteed).

    Args:
        values: ``(H, W)`` array.
        valid: optional ``(H, W)`` bool mask.
        lo_pct, hi_pct: percentiles in [0, 100].

    Returns:
        ``(lo, hi)``; ``(0, 1)`` when nothing is valid; widened by 1e-6 (relative) when flat.
    """
    v = as_numpy(values).astype(np.float64)
    m = np.isfinite(v)
    if valid is not None:
        m &= as_numpy(valid).astype(bool).reshape(v.shape)
    if not m.any():
        return 0.0, 1.0
    lo, hi = np.percentile(v[m], [lo_pct, hi_pct])
    if hi <= lo:
        eps = max(abs(lo), 1.0) * 1e-6
        lo, hi = lo - eps, hi + eps
    return float(lo), float(hi)


def colorize(
    values: Any,
    valid: Any | None = None,
    *,
    vmin: float,
    vmax: float,
    cmap: str = "turbo",
    invalid_color: RGB = (0, 0, 0),
) -> np.ndarray:
    """Map ``(H, W)`` values linearly from ``[vmin, vmax]`` (clipped) through ``cmap``.

    Returns:
        ``(H, W, 3)`` uint8; pixels that are invalid or non-finite get ``invalid_color``.
    """
    v = squeeze_map(values, "values").astype(np.float64)
    m = np.isfinite(v)
    if valid is not None:
        m &= squeeze_map(valid, "valid").astype(bool)
    span = vmax - vmin if vmax != vmin else 1.0
    t = np.zeros(v.shape)
    t[m] = np.clip((v[m] - vmin) / span, 0.0, 1.0)
    idx = np.round(t * 255).astype(np.int64)
    out = cmap_lut(cmap)[idx]
    out[~m] = np.asarray(invalid_color, np.uint8)
    return out


def map_and_range(
    values: Any,
    valid: Any,
    lo_pct: float,
    hi_pct: float,
    vmin: float | None,
    vmax: float | None,
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """``(values (H, W) float64, valid (H, W) bool, lo, hi)``: validity (finite and > 0 when
    ``valid`` is None) and the colour range (robust percentiles unless ``vmin``/``vmax``)."""
    v = squeeze_map(values, "values").astype(np.float64)
    m = valid_pixels(v, valid)
    lo, hi = robust_range(v, m, lo_pct, hi_pct)
    lo = lo if vmin is None else float(vmin)
    hi = hi if vmax is None else float(vmax)
    return v, m, lo, hi


def colorize_depth(
    values: Any,
    valid: Any | None = None,
    cmap: str = "turbo",
    lo_pct: float = 2.0,
    hi_pct: float = 98.0,
    invert: bool = False,
    *,
    vmin: float | None = None,
    vmax: float | None = None,
    invalid_color: RGB = (0, 0, 0),
) -> np.ndarray:
    """Colour-map a depth (or disparity) map with a robust range.

    The range is the ``[lo_pct, hi_pct]`` percentile range of the valid pixels (outliers are
    clipped), unless ``vmin`` / ``vmax`` fix it (e.g. to compare several maps on one scale).

    Args:
        values: ``(H, W)`` or ``(1, H, W)`` depth.
        valid: ``(H, W)`` bool; default: finite and ``> 0``.
        cmap: matplotlib colour map name.
        lo_pct, hi_pct: percentiles of the robust range.
        invert: reverse the map (near = high end), handy for depth vs disparity.
        vmin, vmax: fixed range overriding the percentiles.
        invalid_color: RGB of invalid pixels (black).

    Returns:
        ``(H, W, 3)`` uint8.
    """
    v, m, lo, hi = map_and_range(values, valid, lo_pct, hi_pct, vmin, vmax)
    if invert:
        v = np.where(m, lo + hi - v, v)
    return colorize(v, m, vmin=lo, vmax=hi, cmap=cmap, invalid_color=invalid_color)


def colorize_error(
    err: Any,
    valid: Any | None = None,
    vmax: float | None = None,
    *,
    signed: bool = False,
    cmap: str | None = None,
    pct: float = 98.0,
    invalid_color: RGB = (128, 128, 128),
) -> np.ndarray:
    """Colour-map an error map.

    Unsigned (default): ``|err|`` on ``[0, vmax]`` with ``inferno`` (black = no error).
    Signed: ``err`` on ``[-vmax, vmax]`` with ``RdBu_r`` (white = 0, red = positive).
    ``vmax`` defaults to the ``pct`` percentile of ``|err|`` over valid pixels.

    Args:
        err: ``(H, W)`` error, e.g. ``pred - gt``.
        valid: ``(H, W)`` bool where the error is defined; default: finite.
        vmax: top of the range.
        signed: keep the sign.
        cmap: override the colour map.
        pct: percentile used when ``vmax`` is None.
        invalid_color: RGB of pixels without an error (grey).

    Returns:
        ``(H, W, 3)`` uint8.
    """
    e = squeeze_map(err, "err").astype(np.float64)
    m = np.isfinite(e)
    if valid is not None:
        m &= squeeze_map(valid, "valid").astype(bool)
    if vmax is None:
        vmax = float(np.percentile(np.abs(e[m]), pct)) if m.any() else 1.0
    vmax = float(vmax) if vmax and vmax > 0 else 1.0
    if signed:
        return colorize(
            e,
            m,
            vmin=-vmax,
            vmax=vmax,
            cmap=cmap or "RdBu_r",
            invalid_color=invalid_color,
        )
    return colorize(
        np.abs(e),
        m,
        vmin=0.0,
        vmax=vmax,
        cmap=cmap or "inferno",
        invalid_color=invalid_color,
    )


def colorize_mask(mask: Any, on: RGB = (255, 255, 255), off: RGB = (0, 0, 0)) -> np.ndarray:
    """``(H, W)`` bool mask -> ``(H, W, 3)`` uint8 (``on`` where True)."""
    m = squeeze_map(mask, "mask").astype(bool)
    out = np.empty((*m.shape, 3), np.uint8)
    out[m] = on
    out[~m] = off
    return out


def to_uint8_rgb(image: Any) -> np.ndarray:
    """Any displayable image -> ``(H, W, 3)`` uint8.

    Accepts ``(H, W)`` / ``(H, W, 1)`` / ``(H, W, 3)`` / ``(H, W, 4)`` and channel-first
    ``(1|3, H, W)`` tensors; floats are taken as [0, 1] (clipped), bool as a mask, uint16 as
    16-bit grey.
    """
    a = as_numpy(image)
    if a.ndim == 3 and a.shape[0] in (1, 3) and a.shape[2] not in (1, 3, 4):
        a = np.moveaxis(a, 0, -1)
    if a.ndim == 3 and a.shape[2] == 4:
        a = a[..., :3]
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] != 3):
        raise ValueError(f"cannot display an array of shape {a.shape} as an image")
    if a.dtype == np.bool_:
        a = a.astype(np.uint8) * 255
    elif a.dtype == np.uint16:
        a = (a.astype(np.uint32) * 255 // 65535).astype(np.uint8)
    elif a.dtype.kind == "f":
        a = np.round(np.clip(np.nan_to_num(a.astype(np.float64)), 0, 1) * 255).astype(np.uint8)
    elif a.dtype != np.uint8:
        a = np.clip(a, 0, 255).astype(np.uint8)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    return np.ascontiguousarray(a)
