"""Degradation holes and mixed pixels: random drop-outs, blobs, drop-outs and fg/bg mixtures at
depth discontinuities.

Re-exported by :mod:`depthduet.data.degradation`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from depthduet.data.degradation_common import _as_batch, _blur, _unbatch, _valid_range
from depthduet.errors import UserError

__all__ = ["HOLES", "drop_random", "drop_blobs", "drop_at_edges", "flying_pixels"]

#: hole / mixed-pixel step names and the meaning of their parameter
HOLES: dict[str, str] = {
    "drop_random": "probability of dropping each LR pixel",
    "drop_blobs": "fraction of the map covered by random blobs",
    "drop_edges": "probability of dropping a pixel at a depth discontinuity",
    "flying_pixels": "probability that a pixel at a discontinuity becomes a fg/bg mixture",
}


def drop_random(valid: Tensor, prob: float, generator: torch.Generator | None = None) -> Tensor:
    """Drop each valid pixel with probability ``prob`` (isolated drop-outs).

    Args:
        valid: bool, any shape.
        prob: in ``[0, 1)``.

    Returns:
        the new validity (a subset of ``valid``), same shape as ``valid``.
    """
    if not 0 <= prob < 1:
        raise UserError(f"drop_random: prob must be in [0, 1), got {prob}")
    return valid & (torch.rand(valid.shape, generator=generator) >= prob)


def drop_blobs(
    valid: Tensor, fraction: float, generator: torch.Generator | None = None, size: float = 4.0
) -> Tensor:
    """Drop random blobs covering about ``fraction`` of the map.

    A white-noise field is blurred with a Gaussian of ``size`` pixels and thresholded at its
    ``1 - fraction`` quantile, so blobs are smooth and about ``size`` pixels across.

    Args:
        valid: ``(1, H, W)`` or ``(B, 1, H, W)`` bool.
        fraction: in ``[0, 1)``.
        size: blob scale in pixels (> 0).

    Returns:
        the new validity (a subset of ``valid``), same shape as ``valid``.
    """
    if not 0 <= fraction < 1 or not size > 0:
        raise UserError(f"drop_blobs: fraction in [0, 1) and size > 0, got {fraction}, {size}")
    if fraction == 0:
        return valid.bool()
    v = valid.bool() if valid.dim() == 4 else valid.bool().unsqueeze(0)
    field_ = _blur(torch.randn(v.shape, generator=generator), float(size))
    thr = torch.quantile(field_.flatten(1), 1.0 - float(fraction), dim=1).view(-1, 1, 1, 1)
    out = v & (field_ < thr)
    return out if valid.dim() == 4 else out.squeeze(0)


def _edges(d: Tensor, v: Tensor, threshold: float) -> tuple[Tensor, Tensor, Tensor]:
    """``(edge, near, far)``: pixels whose valid 3x3 neighbourhood spans more than
    ``threshold`` x the map's valid range, and that neighbourhood's valid min / max."""
    big = torch.finfo(d.dtype).max
    near = -F.max_pool2d(torch.where(v, -d, torch.full_like(d, -big)), 3, 1, 1)
    far = F.max_pool2d(torch.where(v, d, torch.full_like(d, -big)), 3, 1, 1)
    lo, hi = _valid_range(d, v)
    edge = v & ((far - near) > float(threshold) * (hi - lo))
    return edge, torch.where(v, near, d), torch.where(v, far, d)


def drop_at_edges(
    depth: Tensor,
    valid: Tensor,
    prob: float,
    threshold: float = 0.05,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Drop pixels at depth discontinuities (where sensors lose the return) with ``prob``.

    Args:
        depth, valid: ``(1, H, W)`` or ``(B, 1, H, W)``.
        prob: in ``[0, 1]``.
        threshold: a discontinuity is a 3x3 valid neighbourhood spanning more than this
            fraction of the map's valid range.

    Returns:
        the new validity (a subset of ``valid``), same shape as ``valid``.
    """
    if not 0 <= prob <= 1:
        raise UserError(f"drop_edges: prob must be in [0, 1], got {prob}")
    d, v, batched = _as_batch(depth, valid, "drop_edges")
    edge, _, _ = _edges(d, v, threshold)
    hit = edge & (torch.rand(d.shape, generator=generator) < float(prob))
    return _unbatch(v & ~hit, batched)


def flying_pixels(
    depth: Tensor,
    valid: Tensor,
    prob: float,
    threshold: float = 0.05,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Mixed pixels at discontinuities: ``t * near + (1 - t) * far`` with ``t ~ U(0, 1)``.

    ``near`` and ``far`` are the valid minimum and maximum of the pixel's 3x3 neighbourhood,
    so only valid values mix; the pixels stay valid (a sensor reports them as measurements).

    Args:
        depth, valid: ``(1, H, W)`` or ``(B, 1, H, W)``.
        prob: probability that a discontinuity pixel becomes a mixture, in ``[0, 1]``.
        threshold: as :func:`drop_at_edges`.

    Returns:
        the new depth, same shape as ``depth`` (validity unchanged).
    """
    if not 0 <= prob <= 1:
        raise UserError(f"flying_pixels: prob must be in [0, 1], got {prob}")
    d, v, batched = _as_batch(depth, valid, "flying_pixels")
    edge, near, far = _edges(d, v, threshold)
    hit = edge & (torch.rand(d.shape, generator=generator) < float(prob))
    t = torch.rand(d.shape, generator=generator)
    return _unbatch(torch.where(hit, t * near + (1 - t) * far, d), batched)
