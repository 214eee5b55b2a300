"""Photometric terms of view synthesis (METHOD.md B.3, monodepth2 conventions).

- :func:`ssim_index`: the per-pixel SSIM index (1 for identical patches) computed with a 3x3
  box filter on reflection-padded images, ``C1 = 0.01^2``, ``C2 = 0.03^2``;
  :func:`ssim_loss`: the dissimilarity ``clamp((1 - SSIM) / 2, 0, 1)`` (kornia's names: the
  index, and the loss). :func:`ssim` is the deprecated old name of :func:`ssim_loss`.
- :func:`photometric_error`: ``pe = alpha * (1 - SSIM)/2 + (1 - alpha) * |I_t - I_s->t|``,
  averaged over colour channels (alpha = 0.85).
- :func:`min_reprojection`: the per-pixel minimum over source frames plus the auto-mask (keep the
  pixels where the best warped error is below the best un-warped "identity" error).

All functions are differentiable and work on any number of channels.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import torch
import torch.nn.functional as F

__all__ = [
    "ssim_index",
    "ssim_loss",
    "ssim",
    "photometric_error",
    "identity_error",
    "min_reprojection",
    "C1",
    "C2",
]

#: SSIM stabilisers for images in [0, 1] (METHOD.md B.3)
C1 = 0.01**2
C2 = 0.03**2


def _pad_reflect(x: torch.Tensor) -> torch.Tensor:
    """Pad one pixel on every side by reflection (``ReflectionPad2d(1)``).

    Reflection is undefined along a dimension of size 1; there the single row/column is
    replicated, which is what reflecting a constant signal would give.
    """
    h, w = x.shape[-2:]
    if h >= 2 and w >= 2:
        return F.pad(x, (1, 1, 1, 1), mode="reflect")
    if w >= 2:
        x = F.pad(x, (1, 1, 0, 0), mode="reflect")
    else:
        x = torch.cat([x, x, x], dim=-1)
    if h >= 2:
        x = F.pad(x, (0, 0, 1, 1), mode="reflect")
    else:
        x = torch.cat([x, x, x], dim=-2)
    return x


def _check_pair(x: torch.Tensor, y: torch.Tensor, what: str) -> None:
    if x.dim() != 4 or y.dim() != 4:
        raise ValueError(
            f"{what}: expected 4-D (B, C, H, W) tensors, got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    if x.shape != y.shape:
        raise ValueError(f"{what}: shapes differ: {tuple(x.shape)} vs {tuple(y.shape)}")


def ssim_index(x: torch.Tensor, y: torch.Tensor, c1: float = C1, c2: float = C2) -> torch.Tensor:
    """Per-pixel SSIM index (METHOD.md B.3, monodepth2's ``SSIM`` module without the ``1 -``).

    Local statistics use a 3x3 box filter (average pooling, stride 1) on reflection-padded
    images::

        mu_x = box(x), sigma_x = box(x^2) - mu_x^2, sigma_xy = box(x y) - mu_x mu_y
        SSIM = (2 mu_x mu_y + c1)(2 sigma_xy + c2) / ((mu_x^2 + mu_y^2 + c1)(sigma_x + sigma_y + c2))

    Args:
        x: ``(B, C, H, W)`` image (values in [0, 1] for the default constants).
        y: ``(B, C, H, W)`` image of the same shape.
        c1: stabiliser of the luminance term.
        c2: stabiliser of the contrast/structure term.

    Returns:
        ``(B, C, H, W)`` map ``SSIM``, in [-1, 1] up to rounding: 1 for identical patches.
    """
    _check_pair(x, y, "ssim_index")
    return _ssim_map(x, y, c1, c2)


def _ssim_map(x: torch.Tensor, y: torch.Tensor, c1: float, c2: float) -> torch.Tensor:
    """The SSIM index of :func:`ssim_index` for checked ``(B, C, H, W)`` inputs, same shape."""
    xp, yp = _pad_reflect(x), _pad_reflect(y)
    mu_x = F.avg_pool2d(xp, 3, 1)
    mu_y = F.avg_pool2d(yp, 3, 1)
    sigma_x = F.avg_pool2d(xp * xp, 3, 1) - mu_x * mu_x
    sigma_y = F.avg_pool2d(yp * yp, 3, 1) - mu_y * mu_y
    sigma_xy = F.avg_pool2d(xp * yp, 3, 1) - mu_x * mu_y
    num = (2 * mu_x * mu_y + c1) * (2 * sigma_xy + c2)
    den = (mu_x * mu_x + mu_y * mu_y + c1) * (sigma_x + sigma_y + c2)
    return num / den


def ssim_loss(x: torch.Tensor, y: torch.Tensor, c1: float = C1, c2: float = C2) -> torch.Tensor:
    """Per-pixel SSIM dissimilarity ``clamp((1 - SSIM) / 2, 0, 1)`` (METHOD.md B.3).

    ``SSIM`` is :func:`ssim_index`; the dissimilarity is monodepth2's ``SSIM`` module.

    Args:
        x, y: ``(B, C, H, W)`` images of one shape (in [0, 1] for the default constants).
        c1, c2: the stabilisers of :func:`ssim_index`.

    Returns:
        ``(B, C, H, W)`` map in [0, 1]: 0 for identical patches.
    """
    _check_pair(x, y, "ssim_loss")
    return torch.clamp((1 - _ssim_map(x, y, c1, c2)) / 2, 0, 1)


def ssim(x: torch.Tensor, y: torch.Tensor, c1: float = C1, c2: float = C2) -> torch.Tensor:
    """Deprecated: the old name of :func:`ssim_loss` (the dissimilarity, not the index).

    It returns what it always did and warns (:class:`DeprecationWarning`). Call
    :func:`ssim_loss` for the same numbers, :func:`ssim_index` for the SSIM index.

    Args:
        x, y: ``(B, C, H, W)`` images of one shape.
        c1, c2: as in :func:`ssim_loss`.

    Returns:
        ``(B, C, H, W)`` map ``clamp((1 - SSIM) / 2, 0, 1)``, as :func:`ssim_loss`.
    """
    warnings.warn(
        "depthduet.losses.ssim returns the SSIM dissimilarity and is deprecated: call ssim_loss "
        "for the same values, ssim_index for the SSIM index",
        DeprecationWarning,
        stacklevel=2,
    )
    return ssim_loss(x, y, c1, c2)


def photometric_error(
    pred: torch.Tensor, target: torch.Tensor, alpha: float = 0.85
) -> torch.Tensor:
    """Photometric reprojection error (METHOD.md B.3).

    ``pe = alpha * mean_c (1 - SSIM)/2 + (1 - alpha) * mean_c |pred - target|``.

    Args:
        pred: ``(B, C, H, W)`` synthesised (warped) image.
        target: ``(B, C, H, W)`` target image.
        alpha: weight of the SSIM term, in [0, 1].

    Returns:
        ``(B, 1, H, W)`` per-pixel error.
    """
    _check_pair(pred, target, "photometric_error")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"photometric_error: alpha must be in [0, 1], got {alpha}")
    l1 = (pred - target).abs().mean(1, keepdim=True)
    if alpha == 0.0:
        return l1
    return alpha * ssim_loss(pred, target).mean(1, keepdim=True) + (1 - alpha) * l1


def identity_error(
    target: torch.Tensor, sources: Sequence[torch.Tensor], alpha: float = 0.85
) -> torch.Tensor:
    """Minimum over sources of the un-warped ("identity") photometric error (no gradient): the
    reference of METHOD.md B.3's auto-masking.

    It does not depend on depth or pose, so a training step computes it once for all scales.

    Args:
        target: ``(B, C, H, W)`` target frame.
        sources: un-warped source frames, each ``(B, C, H, W)``.
        alpha: SSIM weight of :func:`photometric_error`.

    Returns:
        ``(B, 1, H, W)``.
    """
    if len(sources) == 0:
        raise ValueError("identity_error: need at least one source frame")
    with torch.no_grad():
        ident = torch.cat([photometric_error(s, target, alpha) for s in sources], 1)
        return ident.min(1, keepdim=True).values


def min_reprojection(
    target: torch.Tensor,
    warped: Sequence[torch.Tensor],
    sources: Sequence[torch.Tensor] | torch.Tensor | None = None,
    alpha: float = 0.85,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-pixel minimum reprojection error and monodepth2's auto-mask (METHOD.md B.3).

    Args:
        target: ``(B, C, H, W)`` target frame ``I_t`` (un-augmented).
        warped: source frames warped into the target view, each ``(B, C, H, W)``.
        sources: for auto-masking, either the same source frames un-warped or their
            precomputed :func:`identity_error` ``(B, 1, H, W)``; ``None`` disables it.
        alpha: SSIM weight of :func:`photometric_error`.

    Returns:
        ``(pe_min, mask)``: ``pe_min`` ``(B, 1, H, W)`` the minimum over sources of the warped
        error; ``mask`` ``(B, 1, H, W)`` bool, True where ``pe_min`` is strictly below the minimum
        identity (un-warped) error (all True without ``sources``). Pixels that look the same
        without warping (static camera, objects moving with the camera) are masked out.
    """
    if len(warped) == 0:
        raise ValueError("min_reprojection: need at least one warped source frame")
    pe = torch.cat([photometric_error(w, target, alpha) for w in warped], 1)
    pe_min = pe.min(1, keepdim=True).values
    if sources is None or (not isinstance(sources, torch.Tensor) and len(sources) == 0):
        return pe_min, torch.ones_like(pe_min, dtype=torch.bool)
    if isinstance(sources, torch.Tensor):
        if sources.shape != pe_min.shape:
            raise ValueError(
                f"min_reprojection: identity error {tuple(sources.shape)} does not match "
                f"{tuple(pe_min.shape)}"
            )
        ident_min = sources
    else:
        ident_min = identity_error(target, sources, alpha)
    return pe_min, pe_min < ident_min
