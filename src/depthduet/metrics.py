"""Depth error metrics and protocols in one import: the error functions of
:mod:`depthduet.evaluation.metrics` and the protocol helpers of
:mod:`depthduet.evaluation.protocols` (which decide which pixels count), the names of
:mod:`depthduet.evaluation`.

``depthduet.metrics.depth_errors(gt, pred)`` is the documented entry point.
"""

from depthduet.evaluation import *  # noqa: F403 - the names of depthduet.evaluation.__all__
from depthduet.evaluation import __all__ as __all__
