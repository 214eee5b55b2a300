"""One image's maps before its metrics: 2-D float64 arrays with validity masks, the prediction
resized onto the ground-truth grid (bilinear, half-pixel centres, no antialiasing; invalid
prediction pixels do not bleed into their neighbours), inverse depth turned into depth.

Invalid pixels hold 0 in the returned maps (:func:`depthduet.evaluation.protocols.evaluate_image`
says how they are scored).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from depthduet.errors import UserError

__all__ = [
    "as_2d",
    "checked_maps",
    "resize_bilinear",
    "resize_nearest_mask",
    "prediction_on_grid",
    "depth_from_inverse",
]


def as_2d(x: Any, what: str, name: str) -> np.ndarray:
    """``x`` (numpy or torch; size-1 axes squeezed) as a 2-D numpy array ``(H, W)``.

    Raises:
        UserError: not 2-D after squeezing (the message names ``what`` of image ``name``).
    """
    if isinstance(x, torch.Tensor):
        x = x.detach().to("cpu").numpy()
    a = np.asarray(x)
    a = np.squeeze(a) if a.ndim > 2 else a
    if a.ndim != 2:
        raise UserError(f"{name}: {what} must be a 2-D map, got shape {tuple(np.shape(x))}")
    return a


def checked_maps(
    gt: Any, pred: Any, gt_valid: Any, pred_valid: Any, name: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Ground truth and prediction as float64 maps with their validity.

    Args:
        gt: ``(H, W)`` ground truth. pred: ``(h, w)`` prediction.
        gt_valid: ``(H, W)`` bool or ``None`` (finite and ``> 0``).
        pred_valid: ``(h, w)`` bool or ``None`` (finite).
        name: image id for messages.

    Returns:
        ``(gt, gt_valid, pred, pred_valid)``: float64 ``(H, W)``, bool ``(H, W)``, float64
        ``(h, w)``, bool ``(h, w)``; non-finite pixels are invalid and invalid pixels hold 0.

    Raises:
        UserError: a map that is not 2-D, or a validity mask of another shape than its map.
    """
    g = as_2d(gt, "ground truth", name).astype(np.float64)
    p = as_2d(pred, "prediction", name).astype(np.float64)
    gv = np.isfinite(g) & (g > 0) if gt_valid is None else as_2d(gt_valid, "gt validity", name)
    if gv.shape != g.shape:
        raise UserError(f"{name}: gt validity is {gv.shape} but ground truth is {g.shape}")
    gv = gv.astype(bool) & np.isfinite(g)
    pv = np.isfinite(p) if pred_valid is None else as_2d(pred_valid, "pred validity", name)
    if pv.shape != p.shape:
        raise UserError(f"{name}: pred validity is {pv.shape} but prediction is {p.shape}")
    pv = pv.astype(bool) & np.isfinite(p)
    return np.where(gv, g, 0.0), gv, np.where(pv, p, 0.0), pv


def resize_bilinear(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize with half-pixel centres and no antialiasing (as ``cv2.resize``).

    Args:
        values: ``(h, w)`` array.
        size: ``(H, W)`` target.

    Returns:
        ``(H, W)`` float64 array.
    """
    t = torch.from_numpy(np.ascontiguousarray(values, dtype=np.float64))[None, None]
    out = F.interpolate(t, size=tuple(size), mode="bilinear", align_corners=False)
    return out[0, 0].numpy()


def resize_nearest_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of an ``(h, w)`` bool mask to ``size`` ``(H, W)``."""
    t = torch.from_numpy(np.ascontiguousarray(mask, dtype=np.float32))[None, None]
    out = F.interpolate(t, size=tuple(size), mode="nearest")
    return out[0, 0].numpy() > 0.5


def prediction_on_grid(
    pred: np.ndarray, valid: np.ndarray, size: tuple[int, int], *, allow_resize: bool, name: str
) -> tuple[np.ndarray, np.ndarray, bool]:
    """The prediction at the ground-truth size.

    With invalid pixels the resize is normalised, ``sum_k w_k v_k p_k / sum_k w_k v_k``, so that
    they do not bleed into their neighbours; a pixel is valid where its nearest source pixel is
    and some valid weight reaches it.

    Args:
        pred: ``(h, w)`` float64 prediction, 0 where invalid. valid: ``(h, w)`` bool.
        size: ``(H, W)`` of the ground truth.
        allow_resize: ``False`` makes a size mismatch an error.
        name: image id for messages.

    Returns:
        ``(pred (H, W), valid (H, W), resized)``; the inputs themselves when the sizes agree.
    """
    if pred.shape == size:
        return pred, valid, False
    if not allow_resize:
        raise UserError(
            f"{name}: prediction is {pred.shape[0]}x{pred.shape[1]} but ground truth is "
            f"{size[0]}x{size[1]} (resizing is switched off)"
        )
    if valid.all():
        return resize_bilinear(pred, size), np.ones(size, bool), True
    weight = resize_bilinear(valid.astype(np.float64), size)
    valid = resize_nearest_mask(valid, size) & (weight > 1e-6)
    pred = np.where(valid, resize_bilinear(pred, size) / np.where(valid, weight, 1.0), 0.0)
    return pred, valid, True


def depth_from_inverse(pred: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(1 / pred, valid)`` of an inverse-depth map ``(H, W)``: non-positive values become
    invalid (0); both outputs ``(H, W)``."""
    valid = valid & (pred > 0)
    return np.where(valid, 1.0 / np.where(valid, pred, 1.0), 0.0), valid
