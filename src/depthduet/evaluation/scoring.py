"""Scoring one image under a protocol: which pixels count, median scaling, the protocol's
clamp, the metrics in float64, and the :class:`ImageResult` that holds them (the steps of
:func:`depthduet.evaluation.protocols.evaluate_image`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from depthduet.errors import UserError
from depthduet.evaluation.crops import Box
from depthduet.evaluation.metrics import depth_errors, dsr_errors, median_scale_ratio

if TYPE_CHECKING:
    from depthduet.evaluation.protocols import Protocol

__all__ = ["ImageResult", "scored_pixels", "image_errors"]


@dataclass
class ImageResult:
    """Metrics of one image under one protocol.

    Attributes:
        name: image id.
        metrics: metric name -> value (``report_unit`` for the error metrics).
        n_pixels: number of evaluated pixels.
        ratio: the median-scaling factor applied, or ``None``.
        resized: whether the prediction was resized to the ground-truth size.
        n_pred_invalid: pixels the protocol keeps where the prediction was invalid (counted
            as 0, or left out of ``n_pixels`` and the metrics with ``missing="exclude"``).
        crop_box: ``(top, bottom, left, right)`` used, or ``None``.
        shape: ``(H, W)`` of the ground truth.
        missing: how those pixels were scored (:data:`~depthduet.evaluation.protocols.MISSING_RULES`).
    """

    name: str
    metrics: dict[str, float]
    n_pixels: int
    ratio: float | None = None
    resized: bool = False
    n_pred_invalid: int = 0
    crop_box: Box | None = None
    shape: tuple[int, int] = (0, 0)
    missing: str = "zero"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict (``name``, ``n_pixels``, ``ratio``, then the metrics)."""
        d: dict[str, Any] = {"name": self.name, "n_pixels": self.n_pixels}
        if self.ratio is not None:
            d["ratio"] = self.ratio
        if self.resized:
            d["resized"] = True
        if self.n_pred_invalid:
            d["n_pred_invalid"] = self.n_pred_invalid
        d.update(self.metrics)
        return d


def scored_pixels(
    proto: Protocol,
    gt: np.ndarray,
    gt_valid: np.ndarray,
    pred_valid: np.ndarray,
    missing: str,
    name: str,
) -> tuple[np.ndarray, int]:
    """``(mask (H, W), n_missing)``: the pixels scored (the protocol's, less those without a
    prediction under ``missing="exclude"``) and how many of the protocol's pixels have no valid
    prediction.

    Raises:
        UserError: no pixel left to evaluate.
    """
    m = proto.mask(gt, gt_valid)
    n_missing = int((m & ~pred_valid).sum())
    if missing == "exclude":
        m = m & pred_valid
    if not m.any():
        left = " with a valid prediction" if missing == "exclude" else ""
        raise UserError(
            f"{name}: no ground-truth pixel{left} left to evaluate under {proto.name} "
            f"(crop: {proto.crop}, caps: {proto.min_depth}..{proto.max_depth} {proto.report_unit})"
        )
    return m, n_missing


def image_errors(
    proto: Protocol, gt: np.ndarray, pred: np.ndarray, *, median_scaling: bool, name: str
) -> tuple[dict[str, float], float | None]:
    """``(metrics, median ratio or None)`` of the scored pixels ``gt (n,)``, ``pred (n,)``:
    median scaling (the ratio taken before clamping, as monodepth2 does), the protocol's clamp,
    then its metrics in float64."""
    ratio = None
    if median_scaling:
        try:
            ratio = median_scale_ratio(gt, pred)
        except ValueError as e:
            raise UserError(f"{name}: {e}") from None
        pred = pred * ratio
    if proto.clamp_pred:
        pred = np.clip(pred, proto.min_depth, proto.max_depth)
    try:
        metrics = depth_errors(gt, pred) if proto.task == "depth" else dsr_errors(gt, pred)
    except ValueError as e:
        raise UserError(f"{name}: {e}") from None
    return metrics, ratio
