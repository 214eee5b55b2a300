"""Edge-aware disparity smoothness (METHOD.md B.3, monodepth2 convention).

``L_sm = mean |d_x d*| exp(-mean_c |d_x I|) + mean |d_y d*| exp(-mean_c |d_y I|)`` with
``d* = d / mean(d)`` the disparity normalised by its per-image mean (so the term cannot be
lowered by shrinking the disparity scale). The recipe weights scale ``s`` by ``1e-3 / 2^s``.
"""

from __future__ import annotations

import torch

__all__ = ["edge_aware_smoothness", "normalise_disparity"]


def normalise_disparity(disp: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """``disp / mean(disp)`` per image.

    Args:
        disp: ``(B, 1, H, W)`` disparity.
        eps: added to the mean.

    Returns:
        ``(B, 1, H, W)`` normalised disparity.
    """

    return disp / (disp.mean(dim=(2, 3), keepdim=True) + eps)


def edge_aware_smoothness(disp: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """Edge-aware first-order smoothness of the mean-normalised disparity (METHOD.md B.3)::

        mean |dx d*| exp(-mean_c |dx I|) + mean |dy d*| exp(-mean_c |dy I|),  d* = d / mean(d)

    Args:
        disp: ``(B, 1, H, W)`` disparity (positive).
        image: ``(B, C, H, W)`` image at the same resolution (edges lower the penalty).

    Returns:
        Scalar tensor.
    """
    if disp.dim() != 4 or image.dim() != 4 or disp.shape[-2:] != image.shape[-2:]:
        raise ValueError(
            f"edge_aware_smoothness: disp {tuple(disp.shape)} and image {tuple(image.shape)} "
            "must be (B, *, H, W) of the same size"
        )
    d = normalise_disparity(disp)
    gdx = (d[..., :, :-1] - d[..., :, 1:]).abs()
    gdy = (d[..., :-1, :] - d[..., 1:, :]).abs()
    gix = (image[..., :, :-1] - image[..., :, 1:]).abs().mean(1, keepdim=True)
    giy = (image[..., :-1, :] - image[..., 1:, :]).abs().mean(1, keepdim=True)
    total = disp.new_zeros(())
    if gdx.numel():
        total = total + (gdx * torch.exp(-gix)).mean()
    if gdy.numel():
        total = total + (gdy * torch.exp(-giy)).mean()
    return total
