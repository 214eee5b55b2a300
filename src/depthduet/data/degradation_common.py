"""Conventions every degradation step shares: ``(depth, valid)`` as a batch, each map's valid
range, and the Gaussian blur used by the ``gaussian`` kernel and by :func:`drop_blobs`.

See :mod:`depthduet.data.degradation` for the steps themselves.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def _as_batch(depth: Tensor, valid: Tensor | None, what: str) -> tuple[Tensor, Tensor, bool]:
    """``(B, 1, H, W)`` float depth (0 where invalid), bool validity, and whether it was batched."""
    if depth.dim() not in (3, 4) or depth.shape[-3] != 1:
        raise ValueError(f"{what}: expected (1, H, W) or (B, 1, H, W), got {tuple(depth.shape)}")
    batched = depth.dim() == 4
    if valid is None:
        valid = torch.isfinite(depth) & (depth > 0)
    if valid.shape != depth.shape:
        raise ValueError(f"{what}: valid {tuple(valid.shape)} != depth {tuple(depth.shape)}")
    d = depth if batched else depth.unsqueeze(0)
    v = valid.bool() if batched else valid.bool().unsqueeze(0)
    v = v & torch.isfinite(d)
    d = torch.where(v, d, torch.zeros_like(d)).float()
    return d, v, batched


def _unbatch(x: Tensor, batched: bool) -> Tensor:
    x = x.contiguous()
    return x if batched else x.squeeze(0)


def _valid_range(d: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
    """Per-sample ``(lo, hi)`` of the valid values, ``(B, 1, 1, 1)`` each (0, 0 when empty)."""
    big = torch.finfo(d.dtype).max
    lo = torch.where(v, d, torch.full_like(d, big)).amin(dim=(1, 2, 3), keepdim=True)
    hi = torch.where(v, d, torch.full_like(d, -big)).amax(dim=(1, 2, 3), keepdim=True)
    empty = ~v.flatten(1).any(dim=1).view(-1, 1, 1, 1)
    return torch.where(empty, torch.zeros_like(lo), lo), torch.where(
        empty, torch.zeros_like(hi), hi
    )


def _gauss_kernel1d(sigma: float) -> Tensor:
    r = max(1, math.ceil(3.0 * sigma))
    x = torch.arange(-r, r + 1, dtype=torch.float64)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    return (k / k.sum()).float()


def _blur(x: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian blur of ``(B, C, H, W)`` with zero padding (used as a normalised
    convolution, so the padding counts as invalid)."""
    k = _gauss_kernel1d(sigma).to(x.device)
    r = (k.numel() - 1) // 2
    c = x.shape[1]
    x = F.conv2d(F.pad(x, (r, r, 0, 0)), k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(F.pad(x, (0, 0, r, r)), k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
