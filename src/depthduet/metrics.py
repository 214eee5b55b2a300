"""Depth error metrics (alias of :mod:`depthduet.evaluation.metrics`).

``depthduet.metrics.depth_errors(gt, pred)`` is the documented entry point; the protocols that
decide which pixels count live in :mod:`depthduet.evaluation.protocols`.
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
    evaluate_arrays,
    evaluate_image,
    get_protocol,
)

__all__ = [
    "DEPTH_METRICS",
    "DSR_METRICS",
    "LOWER_IS_BETTER",
    "PROTOCOLS",
    "depth_errors",
    "dsr_errors",
    "evaluate_arrays",
    "evaluate_image",
    "get_protocol",
    "median_scale_ratio",
]
