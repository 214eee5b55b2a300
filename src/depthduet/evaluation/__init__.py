"""Evaluation: metrics, named protocols, map sets on disk and interpolation baselines.

* :mod:`.metrics` - ``depth_errors`` (AbsRel, SqRel, RMSE, RMSElog, delta thresholds) and
  ``dsr_errors`` (RMSE, MAD), float64.
* :mod:`.protocols` - ``kitti-eigen``, ``kitti-eigen-benchmark``, ``nyu-eigen``, ``nyu-dsr``,
  ``middlebury-dsr``, ``sintel-dsr``: crops, caps, clamping, units; ``evaluate_image``.
* :mod:`.predictions` - folders / stacks of maps and how they are matched.
* :mod:`.baselines` - LR degradation from the ground truth and bicubic / nearest upsampling.
* :mod:`.runner` - what ``depthduet evaluate`` runs: rows of predictions and baselines, the
  report and its table (the rows of a model come from ``depthduet.apps.evaluate``).

The names below are also those of :mod:`depthduet.metrics`, which re-exports them.
"""

from depthduet.evaluation.metrics import (
    DEPTH_METRICS,
    DSR_METRICS,
    LOWER_IS_BETTER,
    depth_errors,
    dsr_errors,
    median_scale_ratio,
)
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
    "DEPTH_METRICS",
    "DSR_METRICS",
    "LOWER_IS_BETTER",
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
