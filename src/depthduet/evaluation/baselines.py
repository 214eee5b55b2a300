"""Interpolation baselines for the depth super-resolution protocols.

A DSR table is only comparable with another when the low-resolution (LR) input was made the same
way (METHOD.md A, "Evaluation": bicubic vs nearest vs given LR can change x8 RMSE by almost 2x).
This module makes the LR from the ground truth with a documented degradation and upsamples it
back with plain interpolation, giving the "bicubic" / "nearest" rows of a DSR table.

Degradations (:func:`downsample_depth`), for a ``(H, W)`` map and integer scale ``s``, with
``h = H // s`` and ``w = W // s`` (only the top-left ``h*s x w*s`` region is used, i.e. the map
is "mod-cropped"):

``bicubic``
    ``torch.nn.functional.interpolate(mode="bicubic", antialias=True, align_corners=False)``
    to ``(h, w)``: antialiased bicubic (Keys a = -0.75, kernel stretched by ``s``), as
    MATLAB's ``imresize`` / PIL's ``BICUBIC`` reduce. LR pixel ``i`` is centred on HR coordinate
    ``(i + 0.5) s - 0.5``.
``nearest``
    Fixed offset sampling ``lr = hr[s//2::s, s//2::s][:h, :w]``: one HR sample per ``s x s``
    block, at offset ``s // 2`` - the block centre for odd ``s``, the pixel just below and right
    of the centre for even ``s``. No averaging, so sensor-like aliasing is kept. The offset is
    fixed (not random) so results are reproducible.

``bicubic`` is computed by :func:`depthduet.data.degrade.downsample` (the degradation used for
training, so evaluation and training share one definition), on float32 values; ``nearest`` is
the same sampling as there, done here in float64 so that it is exact. With invalid
pixels (holes) the bicubic degradation is a normalised convolution ``lr = down(v * m) /
down(m)``, valid where ``down(m) > 0.5``; for ``nearest`` the LR pixel is valid when its sample
is.

Upsampling (:func:`upsample_depth`) back to ``(H, W)``: ``F.interpolate(scale_factor=s,
align_corners=False)`` to ``(h s, w s)`` with ``bicubic`` (no antialias; may overshoot at edges,
values are not clipped) or ``nearest`` (each LR pixel fills its ``s x s`` block), then the
remaining ``H - h s`` rows / ``W - w s`` columns (fewer than ``s``) repeat the last row / column.
So the HR sampling grid is exact, never stretched.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from depthduet.data.degradation import KERNELS
from depthduet.data.degrade import downsample
from depthduet.errors import UserError

__all__ = [
    "DEGRADATIONS",
    "UPSAMPLERS",
    "downsample_depth",
    "upsample_depth",
    "lr_size_mismatch",
    "fit_to_size",
    "degradation_record",
]

#: how the LR input can be made from the ground truth.
DEGRADATIONS: tuple[str, ...] = ("bicubic", *KERNELS)
#: interpolation baselines.
UPSAMPLERS: tuple[str, ...] = ("bicubic", "nearest")

_DEFINITIONS = {
    "bicubic": "antialiased bicubic (F.interpolate bicubic, antialias=True, align_corners=False) "
    "of the top-left (H//s*s, W//s*s) region to (H//s, W//s)",
    "bicubic_aa": "antialiased bicubic (F.interpolate bicubic, antialias=True, align_corners=False) "
    "of the top-left (H//s*s, W//s*s) region to (H//s, W//s) (the same as bicubic)",
    "bicubic_plain": "bicubic without antialiasing (F.interpolate bicubic, antialias=False, "
    "align_corners=False) of the top-left (H//s*s, W//s*s) region to (H//s, W//s)",
    "bilinear": "bilinear without antialiasing (F.interpolate bilinear, antialias=False, "
    "align_corners=False) of the top-left (H//s*s, W//s*s) region to (H//s, W//s)",
    "area": "mean of each s x s block of the top-left (H//s*s, W//s*s) region",
    "gaussian": "Gaussian blur (sigma = s/2 HR pixels), then bilinear sampling at the LR pixel "
    "centres, of the top-left (H//s*s, W//s*s) region",
    "nearest": "fixed offset sampling lr = hr[s//2::s, s//2::s][:H//s, :W//s]",
    "given": "LR files supplied by the user",
}


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64))[None, None]


def _check_scale(scale: int) -> int:
    if isinstance(scale, bool) or int(scale) != scale or int(scale) < 1:
        raise UserError(f"scale must be a positive integer, got {scale!r}")
    return int(scale)


def downsample_depth(
    values: np.ndarray, valid: np.ndarray | None, scale: int, method: str = "bicubic"
) -> tuple[np.ndarray, np.ndarray]:
    """Make the LR input from a ground-truth map (definitions in the module docstring).

    Args:
        values: ``(H, W)`` depth or disparity.
        valid: ``(H, W)`` bool, or ``None`` for ``values > 0`` and finite.
        scale: integer factor ``s``.
        method: a name of :data:`DEGRADATIONS` (normalised convolutions over valid pixels,
            :mod:`depthduet.data.degradation`).

    Returns:
        ``(lr (H//s, W//s) float64 with 0 where invalid, lr_valid (H//s, W//s) bool)``.

    Raises:
        UserError: unknown method, bad scale, or a map smaller than one ``s x s`` block.
    """
    s = _check_scale(scale)
    if method not in DEGRADATIONS:
        raise UserError(f"unknown degradation {method!r}; known: {', '.join(DEGRADATIONS)}")
    v = np.asarray(values, dtype=np.float64)
    m = (np.isfinite(v) & (v > 0)) if valid is None else np.asarray(valid, bool) & np.isfinite(v)
    v = np.where(m, v, 0.0)
    H, W = v.shape
    h, w = H // s, W // s
    if h < 1 or w < 1:
        raise UserError(f"a {H}x{W} map is smaller than one {s}x{s} block")
    if method == "nearest":  # exact in float64 (degrade.downsample would round to float32)
        o = s // 2
        lr_valid = m[o::s, o::s][:h, :w]
        return np.where(lr_valid, v[o::s, o::s][:h, :w], 0.0), lr_valid
    crop = (slice(0, h * s), slice(0, w * s))
    lr, lr_valid = downsample(
        torch.from_numpy(v[crop].astype(np.float32))[None],
        torch.from_numpy(m[crop])[None],
        s,
        method,
    )
    lr_valid_np = lr_valid[0].numpy().astype(bool)
    return np.where(lr_valid_np, lr[0].numpy().astype(np.float64), 0.0), lr_valid_np


def fit_to_size(a: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Crop, or pad by repeating the last row / column, to ``size`` (a difference < the scale).

    Args:
        a: ``(h', w')`` array.
        size: ``(H, W)``.

    Returns:
        ``(H, W)`` array.
    """
    H, W = size
    a = a[:H, :W]
    ph, pw = H - a.shape[0], W - a.shape[1]
    if ph or pw:
        a = np.pad(a, ((0, ph), (0, pw)), mode="edge")
    return a


def lr_size_mismatch(lr_shape: tuple[int, ...], hr_shape: tuple[int, ...], scale: int) -> str:
    """Why an ``(h, w)`` LR map cannot be the x``scale`` input of an ``(H, W)`` map, or ``""``.

    They fit when ``|H - h s| < s`` and ``|W - w s| < s`` (HR sizes that are not multiples of
    the scale lose their last rows / columns in the LR map).
    """
    (h, w), (H, W), s = lr_shape[-2:], hr_shape[-2:], int(scale)
    if abs(H - h * s) < s and abs(W - w * s) < s:
        return ""
    return f"a {h}x{w} LR map upsampled x{s} gives {h * s}x{w * s}, which does not match {H}x{W}"


def upsample_depth(
    lr: np.ndarray,
    lr_valid: np.ndarray | None,
    scale: int,
    size: tuple[int, int],
    method: str = "bicubic",
) -> tuple[np.ndarray, np.ndarray]:
    """Upsample an LR map by ``scale`` to ``size`` with plain interpolation (a DSR baseline).

    Holes are handled by normalised interpolation: ``up(lr * m) / up(m)``, valid where the
    nearest LR pixel is valid and ``up(m) > 0.5``.

    Args:
        lr: ``(h, w)`` LR values.
        lr_valid: ``(h, w)`` bool or ``None`` (``lr > 0`` and finite).
        scale: integer factor ``s``.
        size: ``(H, W)`` output size; must satisfy ``|H - h s| < s`` and ``|W - w s| < s``.
        method: ``"bicubic"`` or ``"nearest"``.

    Returns:
        ``(hr (H, W) float64 with 0 where invalid, hr_valid (H, W) bool)``.

    Raises:
        UserError: unknown method, bad scale, or a size that does not match ``scale``.
    """
    s = _check_scale(scale)
    if method not in UPSAMPLERS:
        raise UserError(f"unknown upsampling {method!r}; known: {', '.join(UPSAMPLERS)}")
    v = np.asarray(lr, dtype=np.float64)
    m = (np.isfinite(v) & (v > 0)) if lr_valid is None else np.asarray(lr_valid, bool)
    m = m & np.isfinite(v)
    v = np.where(m, v, 0.0)
    H, W = size
    problem = lr_size_mismatch(v.shape, size, s)
    if problem:
        raise UserError(f"{problem} (wrong --scale?)")

    def up(a: np.ndarray) -> np.ndarray:
        out = F.interpolate(_t(a), scale_factor=s, mode=method, **_align(method))
        return fit_to_size(out[0, 0].numpy(), (H, W))

    near = fit_to_size(np.repeat(np.repeat(m, s, axis=0), s, axis=1), (H, W))
    if m.all():
        return up(v), np.ones((H, W), bool)
    weight = up(m.astype(np.float64))
    hr_valid = near & (weight > 0.5)
    hr = np.where(hr_valid, up(v) / np.where(hr_valid, weight, 1.0), 0.0)
    return hr, hr_valid


def _align(method: str) -> dict[str, Any]:
    return {"align_corners": False} if method == "bicubic" else {}


def degradation_record(lr_from: str, scale: int, upsample: str | None = None) -> dict[str, Any]:
    """What made the LR input (and which interpolation upsampled it), for results.

    Args:
        lr_from: ``"bicubic"``, ``"nearest"`` or ``"given"``.
        scale: integer factor.
        upsample: the baseline interpolation, or ``None`` for a method's prediction.
    """
    rec: dict[str, Any] = {
        "lr_from": lr_from,
        "scale": int(scale),
        "definition": _DEFINITIONS[lr_from],
    }
    if upsample is not None:
        rec["upsample"] = (
            f"{upsample} (F.interpolate scale_factor={scale}, align_corners=False; "
            "last rows/cols repeated to the GT size)"
            if upsample == "bicubic"
            else f"nearest (each LR pixel fills its {scale}x{scale} block; last rows/cols repeated)"
        )
    return rec
