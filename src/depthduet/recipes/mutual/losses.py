"""The per-branch losses of the ``mutual`` recipe: ``L_su`` and ``L_pf`` of ``N_u`` (METHOD.md
B.1, B.2) and ``L_ss`` of ``N_s`` (B.3), each averaged over the output scales, whose depth and
confidence are upsampled to full resolution first."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from depthduet.geometry import warp
from depthduet.losses.confidence import (
    confidence_loss,
    masked_mean,
    point_filtering_loss,
    relative_error,
)
from depthduet.losses.photometric import identity_error, min_reprojection
from depthduet.losses.smoothness import edge_aware_smoothness
from depthduet.recipes.mutual.config import MutualLossConfig

__all__ = ["self_supervised_loss", "supervised_error", "supervised_loss", "upsample"]


def upsample(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``x`` resized (bilinear) to ``size``; returned as is when it has that size already.

    Args:
        x: ``(B, C, h, w)`` map.
        size: ``(H, W)``.

    Returns:
        ``(B, C, H, W)`` map.
    """
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def supervised_error(
    depth: torch.Tensor, lidar: torch.Tensor, valid: torch.Tensor, kind: str
) -> torch.Tensor:
    """Per-pixel error of ``L_su`` (``loss.su_error``): ``relative`` ``|D - D*| / D*`` or
    ``absolute`` ``|D - D*|``, 0 where ``valid`` is False.

    Args:
        depth: ``(B, 1, H, W)`` predicted depth.
        lidar: ``(B, 1, H, W)`` sparse depth.
        valid: ``(B, 1, H, W)`` bool, pixels with a LiDAR return.
        kind: ``"relative"`` or ``"absolute"``.

    Returns:
        ``(B, 1, H, W)`` error.
    """
    if kind == "relative":
        return relative_error(depth, lidar, valid)
    return torch.where(valid, (depth - lidar).abs(), torch.zeros_like(depth))


def supervised_loss(
    full: list[tuple[torch.Tensor, torch.Tensor]], lidar: torch.Tensor, lc: MutualLossConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(L_su, L_pf)`` averaged over scales (METHOD.md B.1, B.2).

    Args:
        full: per scale ``(D_u, C_u)``, each ``(B, 1, H, W)`` at full resolution.
        lidar: ``(B, 1, H, W)`` sparse depth, 0 = no return.
        lc: the ``loss`` section (``su_error``, ``confidence``, ``point_filtering``, ...).

    Returns:
        ``(L_su, L_pf)``, each a ``()`` scalar tensor.
    """
    valid = lidar > 0
    l_su = lidar.new_zeros(())
    l_pf = lidar.new_zeros(())
    for depth, conf in full:
        err = supervised_error(depth, lidar, valid, lc.su_error)
        if lc.confidence:
            l_su = l_su + confidence_loss(err, conf, lc.lambda_c_u, valid)
            if lc.point_filtering:
                l_pf = l_pf + point_filtering_loss(conf, valid, lc.pf_m, lc.lambda_c_u)
        else:
            l_su = l_su + masked_mean(err, valid)
    n = len(full)
    return l_su / n, l_pf / n


def _photometric_per_pixel(
    pe: torch.Tensor, kept: torch.Tensor, ident: torch.Tensor | None, mean: str
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The per-pixel error ``L_ss`` averages and the pixels it averages over (``None``: all).

    Auto-masking as monodepth2 implements it (``automask_mean: all``): a masked pixel keeps its
    (constant, gradient-free) identity error and the mean runs over all pixels. The mean over
    the kept pixels alone (``kept``, B.3 as written) rewards masking pixels out (the depth
    collapsed to d_min on the world).

    Args:
        pe: ``(B, 1, H, W)`` minimum reprojection error.
        kept: ``(B, 1, H, W)`` bool, pixels the auto-mask keeps.
        ident: ``(B, 1, H, W)`` identity (un-warped) error, ``None`` without auto-masking.
        mean: ``loss.automask_mean``.

    Returns:
        ``(per_pixel, over)``: ``(B, 1, H, W)`` error and ``(B, 1, H, W)`` bool mask or None.
    """
    if ident is None:
        return pe, None
    if mean == "kept":
        return pe, kept
    return torch.where(kept, pe, ident), None


def self_supervised_loss(
    disps: list[torch.Tensor],
    full: list[tuple[torch.Tensor, torch.Tensor]],
    target: torch.Tensor,
    sources: list[tuple[torch.Tensor, torch.Tensor]],
    K: torch.Tensor,
    scales: tuple[int, ...],
    lc: MutualLossConfig,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(L_ss photometric part, smoothness part, auto-mask fraction)`` (METHOD.md B.3).

    Args:
        disps: ``N_s``'s per-scale disparities ``(B, 1, H / 2^s, W / 2^s)`` (for smoothness).
        full: per scale ``(D_s, C_s)``, each ``(B, 1, H, W)`` at full resolution.
        target: ``(B, 3, H, W)`` un-augmented target frame.
        sources: ``(image, T_src_tgt)`` pairs, un-augmented images ``(B, 3, H, W)`` and
            ``(B, 4, 4)`` transforms.
        K: ``(B, 3, 3)`` intrinsics at full resolution.
        scales: the output scales, ordered like ``disps`` and ``full``.
        lc: the ``loss`` section (``alpha``, ``automask``, ``confidence``, ``smoothness``, ...).

    Returns:
        ``(photometric, smoothness, kept)``, each a ``()`` scalar tensor.
    """
    l_ph = target.new_zeros(())
    l_sm = target.new_zeros(())
    kept = target.new_zeros(())
    ident = identity_error(target, [s for s, _ in sources], lc.alpha) if lc.automask else None
    for i, (s, (depth, conf)) in enumerate(zip(scales, full)):
        warped = [warp(img, depth, K, T) for img, T in sources]
        pe, mask = min_reprojection(target, warped, ident, alpha=lc.alpha)
        per_pixel, over = _photometric_per_pixel(pe, mask, ident, lc.automask_mean)
        if lc.confidence:
            l_ph = l_ph + confidence_loss(per_pixel, conf, lc.lambda_c_s, over)
        else:
            l_ph = l_ph + masked_mean(per_pixel, over)
        kept = kept + mask.float().mean()
        disp = disps[i]
        img_s = upsample(target, tuple(disp.shape[-2:])) if s else target
        l_sm = l_sm + lc.smoothness / (2**s) * edge_aware_smoothness(disp, img_s)
    n = len(full)
    return l_ph / n, l_sm / n, kept / n
