"""Evaluation: metrics, named protocols, map sets on disk and interpolation baselines.

* :mod:`.metrics` - ``depth_errors`` (AbsRel, SqRel, RMSE, RMSElog, delta thresholds) and
  ``dsr_errors`` (RMSE, MAD), float64.
* :mod:`.protocols` - ``kitti-eigen``, ``kitti-eigen-benchmark``, ``nyu-eigen``, ``nyu-dsr``,
  ``middlebury-dsr``, ``sintel-dsr``: crops, caps, clamping, units; ``evaluate_image``.
* :mod:`.predictions` - folders / stacks of maps and how they are matched.
* :mod:`.baselines` - LR degradation from the ground truth and bicubic / nearest upsampling.
* :mod:`.runner` - what ``depthduet evaluate`` runs.
"""

from depthduet.evaluation.metrics import depth_errors, dsr_errors, median_scale_ratio
from depthduet.evaluation.protocols import (
    PROTOCOLS,
    ImageResult,
    Protocol,
    evaluate_arrays,
    evaluate_image,
    get_protocol,
    summarize,
)

__all__ = [
    "PROTOCOLS",
    "ImageResult",
    "Protocol",
    "depth_errors",
    "dsr_errors",
    "evaluate_arrays",
    "evaluate_image",
    "get_protocol",
    "median_scale_ratio",
    "summarize",
]
