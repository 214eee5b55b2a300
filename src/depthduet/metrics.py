"""Depth error metrics and protocols in one import: the error functions of
:mod:`depthduet.evaluation.metrics` and the protocol helpers of
:mod:`depthduet.evaluation.protocols` (which decide which pixels count).

``depthduet.metrics.depth_errors(gt, pred)`` is the documented entry point.
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
