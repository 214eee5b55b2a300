"""Structure ground truth and loss of SPNet (METHOD.md A.4).

**[our reading]** ``S_gt`` = Sobel gradient magnitude of ``D_hr`` divided by its per-sample maximum
(0 where the map is flat); ``L_S = mean_valid |S - S_gt|``. Alternative (``loss.structure_gt=
sobel``): the magnitude itself, clipped to [0, 1] (in DSRNet's LR-normalised depth units, so a
jump of a quarter of the crop's range saturates it).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from depthduet.depth import fill_invalid, masked_mean
from depthduet.errors import UserError

__all__ = ["STRUCTURE_GT", "sobel_magnitude", "structure_gt", "structure_loss"]

_SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def sobel_magnitude(x: Tensor) -> Tensor:
    """Sobel gradient magnitude ``sqrt(gx^2 + gy^2)`` of ``x (B, 1, H, W)`` with replicate
    padding (so constant borders give 0).

    Returns:
        ``(B, 1, H, W)`` gradient magnitude.
    """
    if x.dim() != 4 or x.shape[1] != 1:
        raise ValueError(f"sobel_magnitude: expected (B, 1, H, W), got {tuple(x.shape)}")
    kx = _SOBEL_X.to(device=x.device, dtype=x.dtype).view(1, 1, 3, 3)
    ky = kx.transpose(-1, -2)
    xp = F.pad(x, (1, 1, 1, 1), mode="replicate")
    return torch.hypot(F.conv2d(xp, kx), F.conv2d(xp, ky))


STRUCTURE_GT = ("sobel_max", "sobel")


def structure_gt(
    depth: Tensor, valid: Tensor | None = None, mode: str = "sobel_max"
) -> tuple[Tensor, Tensor]:
    """Structure ground truth ``S_gt`` of METHOD.md A.4.

    Invalid pixels are filled first (:func:`depthduet.depth.fill_invalid`) and the result
    is only trusted where the whole 3x3 Sobel window is valid.

    Args:
        depth: ``(B, 1, H, W)`` ground-truth depth (any affine unit; the result is scale-free).
        valid: ``(B, 1, H, W)`` bool or ``None``.
        mode: ``"sobel_max"`` (divided by the per-sample maximum, the [our reading] of A.4) or
            ``"sobel"`` (the magnitude clipped to [0, 1]; not scale-free).

    Returns:
        ``(S_gt, s_valid)``: ``S_gt (B, 1, H, W)`` in ``[0, 1]`` (with ``sobel_max``: max 1 over
        ``s_valid`` for every non-flat sample, all 0 for a flat one); ``s_valid (B, 1, H, W)``
        bool.
    """
    if mode not in STRUCTURE_GT:
        raise UserError(f"loss.structure_gt: expected one of {STRUCTURE_GT}, got {mode!r}")
    with torch.no_grad():
        if valid is None:
            s_valid = torch.ones_like(depth, dtype=torch.bool)
            filled = depth
        else:
            filled = fill_invalid(depth, valid)
            v = valid.to(depth.dtype)
            eroded = -F.max_pool2d(-F.pad(v, (1, 1, 1, 1), mode="replicate"), 3, 1)
            s_valid = eroded > 0.5
        mag = sobel_magnitude(filled) * s_valid
        if mode == "sobel":
            return mag.clamp(0.0, 1.0), s_valid
        peak = mag.flatten(1).amax(dim=1).view(-1, 1, 1, 1)
        s_gt = torch.where(peak > 0, mag / peak.clamp_min(1e-30), torch.zeros_like(mag))
    return s_gt.clamp(0.0, 1.0), s_valid


def structure_loss(s_pred: Tensor, s_gt: Tensor, valid: Tensor | None = None) -> Tensor:
    """``L_S = mean_valid |S - S_gt|`` (METHOD.md A.4).

    Args:
        s_pred: ``(B, 1, H, W)`` predicted structure map.
        s_gt: ``(B, 1, H, W)`` target structure map (detached).
        valid: ``(B, 1, H, W)`` bool or weights (``None``: every pixel).

    Returns:
        ``()`` scalar tensor.
    """

    return masked_mean((s_pred - s_gt.detach()).abs(), valid, min_weight=1e-12)
