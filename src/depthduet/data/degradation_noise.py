"""Degradation noise: Gaussian, depth-proportional (ToF-like), inverse-depth quantisation
(Kinect-like) and integer storage of the valid range, on the valid pixels of an LR map.

Re-exported by :mod:`depthduet.data.degradation`.
"""

from __future__ import annotations

import torch
from torch import Tensor

from depthduet.data.degradation_common import _as_batch, _unbatch, _valid_range
from depthduet.errors import UserError

__all__ = [
    "NOISES",
    "add_gaussian_noise",
    "add_proportional_noise",
    "quantize_disparity",
    "quantize_levels",
]

#: noise step names and the meaning of their parameter
NOISES: dict[str, str] = {
    "gaussian_noise": "std as a fraction of the map's valid depth range",
    "proportional_noise": "k: std = k * depth (ToF-like)",
    "disparity_quantize": "relative depth step at the farthest valid depth (Kinect-like)",
    "quantize": "bits of the integer storage of the valid range (8 or 16)",
}


def add_gaussian_noise(
    depth: Tensor, valid: Tensor, std: float, generator: torch.Generator | None = None
) -> Tensor:
    """Add ``N(0, (std * range)^2)`` to the valid pixels, ``range`` = each map's valid max - min.

    Args:
        depth, valid: ``(1, H, W)`` or ``(B, 1, H, W)``.
        std: noise level as a fraction of the valid range (unit-free), >= 0.

    Returns:
        ``depth`` with noise on valid pixels (same shape as ``depth``); invalid pixels unchanged.
    """
    d, v, batched = _as_batch(depth, valid, "gaussian_noise")
    lo, hi = _valid_range(d, v)
    noise = torch.randn(d.shape, generator=generator) * (float(std) * (hi - lo))
    return _unbatch(torch.where(v, d + noise, d), batched)


def add_proportional_noise(
    depth: Tensor, valid: Tensor, k: float, generator: torch.Generator | None = None
) -> Tensor:
    """ToF-like noise whose standard deviation grows with depth: ``d + N(0, (k d)^2)``.

    Args:
        depth, valid: ``(1, H, W)`` or ``(B, 1, H, W)``.
        k: relative noise (0.01 = 1% of the depth), >= 0.

    Returns:
        the noisy depth, same shape as ``depth``; invalid pixels unchanged.
    """
    d, v, batched = _as_batch(depth, valid, "proportional_noise")
    noise = torch.randn(d.shape, generator=generator) * (float(k) * d)
    return _unbatch(torch.where(v, d + noise, d), batched)


def quantize_disparity(depth: Tensor, valid: Tensor, rel_step: float) -> Tensor:
    """Kinect-like storage: depth quantised as inverse depth, so the depth step grows as ``d^2``.

    ``q = round((1/d) / delta) * delta`` with ``delta = rel_step / d_max`` per map: the step is
    ``rel_step * d_max`` at the farthest valid depth and ``(d / d_max)^2`` times that nearer.

    Args:
        depth, valid: ``(1, H, W)`` or ``(B, 1, H, W)``; valid depth > 0.
        rel_step: relative depth step at the farthest valid pixel, in ``(0, 1)``.

    Returns:
        the quantised depth, same shape as ``depth``; invalid pixels unchanged.
    """
    if not 0 < rel_step < 1:
        raise UserError(f"disparity_quantize: rel_step must be in (0, 1), got {rel_step}")
    d, v, batched = _as_batch(depth, valid, "disparity_quantize")
    _, hi = _valid_range(d, v)
    delta = float(rel_step) / hi.clamp_min(1e-30)
    inv = 1.0 / d.clamp_min(1e-30)
    q = (torch.round(inv / delta) * delta).clamp_min(delta)
    return _unbatch(torch.where(v & (d > 0), 1.0 / q, d), batched)


def quantize_levels(depth: Tensor, valid: Tensor, bits: int) -> Tensor:
    """Integer storage of each map's valid range ``[lo, hi]`` in ``2^bits - 1`` steps.

    Args:
        depth, valid: ``(1, H, W)`` or ``(B, 1, H, W)``.
        bits: 1..24 (8 for 8-bit PNG / BMP maps, 16 for 16-bit PNGs).

    Returns:
        the quantised depth, same shape as ``depth``; invalid pixels unchanged.
    """
    if int(bits) != bits or not 1 <= bits <= 24:
        raise UserError(f"quantize: bits must be an integer in 1..24, got {bits}")
    d, v, batched = _as_batch(depth, valid, "quantize")
    lo, hi = _valid_range(d, v)
    n = float(2 ** int(bits) - 1)
    span = (hi - lo).clamp_min(1e-30)
    q = torch.round((d - lo) / span * n) / n * span + lo
    return _unbatch(torch.where(v, q, d), batched)
