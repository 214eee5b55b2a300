"""Validation of the ``mutual`` recipe: the seven depth errors of a branch under a named
protocol (:mod:`depthduet.evaluation.protocols`) and how well its confidence ranks its errors
(:func:`~depthduet.models.mde.confidence_informativeness`), both averaged over a batch."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from depthduet.errors import UserError
from depthduet.models.mde import confidence_informativeness

__all__ = ["batch_metrics"]


def _scored_image(
    proto: Any, gt: np.ndarray, valid: np.ndarray, pred: np.ndarray, median: bool, name: str
) -> tuple[dict[str, float], np.ndarray, np.ndarray] | None:
    """``(metrics, relative error, evaluated pixels)`` of one ``(H, W)`` image, the error that
    of the evaluated prediction (median-scaled, clamped as the protocol says); ``None`` when
    the image has no evaluable pixel."""
    from depthduet.evaluation.protocols import evaluate_image

    try:
        r = evaluate_image(proto, gt, pred, gt_valid=valid, median_scaling=median, name=name)
    except UserError:
        return None
    mask = proto.mask(gt.astype(np.float64), valid)
    scaled = pred * (r.ratio if r.ratio is not None else 1.0)
    if proto.clamp_pred:
        scaled = np.clip(scaled, proto.min_depth, proto.max_depth)
    err = np.abs(scaled - gt) / np.where(gt > 0, gt, 1.0)
    return r.metrics, err, np.asarray(mask, dtype=bool)


def batch_metrics(
    depth: torch.Tensor,
    conf: torch.Tensor,
    gt: torch.Tensor,
    valid: torch.Tensor,
    protocol: str,
    median_scaling: bool,
    conf_fraction: float,
) -> dict[str, float]:
    """Depth errors and confidence informativeness of one branch's predictions on a batch.

    Args:
        depth: ``(B, 1, H, W)`` predicted depth.
        conf: ``(B, 1, H, W)`` predicted confidence.
        gt: ``(B, 1, H, W)`` ground-truth depth.
        valid: ``(B, 1, H, W)`` bool, pixels with ground truth.
        protocol: a named protocol of :mod:`depthduet.evaluation.protocols`.
        median_scaling: scale each prediction by the median ratio first (scale-ambiguous
            depth).
        conf_fraction: share of least / most confident pixels compared.

    Returns:
        The protocol's metrics averaged over the images with an evaluable pixel, plus
        ``err_low_conf``, ``err_high_conf``, ``conf_ratio`` and ``conf_mean``; empty when no
        image could be evaluated.
    """
    from depthduet.evaluation.protocols import get_protocol

    proto = get_protocol(protocol)
    rows: list[dict[str, float]] = []
    errs, confs, masks = [], [], []
    for i in range(depth.shape[0]):
        g = gt[i, 0].detach().cpu().numpy()
        v = valid[i, 0].detach().cpu().numpy()
        p = depth[i, 0].detach().cpu().numpy()
        scored = _scored_image(proto, g, v, p, median_scaling, str(i))
        if scored is None:
            continue  # no evaluable pixel in this image
        metrics, e, m = scored
        rows.append(metrics)
        errs.append(torch.from_numpy(e.astype(np.float32)))
        confs.append(conf[i, 0].detach().float().cpu())
        masks.append(torch.from_numpy(m))
    if not rows:
        return {}
    out = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
    out.update(
        confidence_informativeness(
            torch.stack(errs), torch.stack(confs), torch.stack(masks), conf_fraction
        )
    )
    out["conf_mean"] = float(conf.mean())
    return out
