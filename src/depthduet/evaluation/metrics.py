"""Depth error metrics on 1-D arrays of valid pixels (numpy or torch), accumulated in float64.

Two families:

* :func:`depth_errors` - the seven monocular-depth numbers of Eigen et al. (NIPS 2014) as used
  by monodepth2 and BTS (METHOD.md B.6 "Evaluation"): ``abs_rel, sq_rel, rmse, rmse_log,
  a1, a2, a3``.
* :func:`dsr_errors` - the depth super-resolution numbers (METHOD.md A, "Evaluation"):
  ``rmse`` and ``mad`` (mean absolute difference), on whatever values they are given (metres,
  centimetres, disparities).

With ``g_i`` the ground truth and ``p_i`` the prediction at the ``n`` valid pixels:

* ``abs_rel  = 1/n sum |g_i - p_i| / g_i``
* ``sq_rel   = 1/n sum (g_i - p_i)^2 / g_i``
* ``rmse     = sqrt(1/n sum (g_i - p_i)^2)``
* ``rmse_log = sqrt(1/n sum (log g_i - log p_i)^2)``
* ``a_k      = 1/n #{ i : max(g_i / p_i, p_i / g_i) < 1.25^k }`` for ``k = 1, 2, 3``
* ``mad      = 1/n sum |g_i - p_i|``

These functions do no masking, cropping, capping or scaling: that is the job of the named
protocols in :mod:`depthduet.evaluation.protocols`. Inputs of any shape are flattened.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = [
    "DEPTH_METRICS",
    "DSR_METRICS",
    "LOWER_IS_BETTER",
    "as_float64",
    "depth_errors",
    "dsr_errors",
    "masked_rmse",
    "median_scale_ratio",
]

#: keys of :func:`depth_errors`, in the order papers print them.
DEPTH_METRICS: tuple[str, ...] = ("abs_rel", "sq_rel", "rmse", "rmse_log", "a1", "a2", "a3")
#: keys of :func:`dsr_errors`.
DSR_METRICS: tuple[str, ...] = ("rmse", "mad")
#: metrics where a smaller value is better (the accuracies ``a1..a3`` are higher-is-better).
LOWER_IS_BETTER: frozenset[str] = frozenset({"abs_rel", "sq_rel", "rmse", "rmse_log", "mad"})


def as_float64(x: Any) -> np.ndarray:
    """A flat float64 numpy copy of ``x`` (numpy array, torch tensor, list or scalar).

    Torch tensors are detached and moved to the CPU first.

    Args:
        x: values of any shape.

    Returns:
        ``(n,)`` float64 array.
    """
    if isinstance(x, torch.Tensor):
        x = x.detach().to("cpu", torch.float64).numpy()
    arr = np.asarray(x, dtype=np.float64)
    return arr.reshape(-1)


def masked_rmse(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None = None) -> float:
    """``sqrt(mean((pred - gt)^2))`` over the pixels where ``mask`` is set (all without one),
    computed in the arrays' own dtype (no float64 copy, unlike :func:`dsr_errors`).

    Args:
        pred: predicted values, any shape.
        gt: ground truth, the same shape.
        mask: bool, the same shape; ``None`` = every element.

    Returns:
        The RMSE as a Python float (NaN when no pixel counts).
    """
    diff = pred - gt if mask is None else pred[mask] - gt[mask]
    return float(np.sqrt(np.mean(diff**2)))


def _pair(gt: Any, pred: Any) -> tuple[np.ndarray, np.ndarray]:
    g = as_float64(gt)
    p = as_float64(pred)
    if g.shape != p.shape:
        raise ValueError(f"gt has {g.size} values but pred has {p.size}")
    if g.size == 0:
        raise ValueError("no valid pixels to evaluate (empty arrays)")
    if not (np.isfinite(g).all() and np.isfinite(p).all()):
        raise ValueError("gt and pred must be finite (mask NaN/inf pixels out first)")
    return g, p


def depth_errors(gt: Any, pred: Any) -> dict[str, float]:
    """The seven standard monocular depth errors of one set of pixels.

    Args:
        gt: ``(n,)`` ground-truth depths (any shape is flattened), strictly positive.
        pred: ``(n,)`` predicted depths at the same pixels, strictly positive.

    Returns:
        ``{"abs_rel", "sq_rel", "rmse", "rmse_log", "a1", "a2", "a3"}`` as Python floats
        (formulas in the module docstring; computed in float64).

    Raises:
        ValueError: different sizes, no pixels, non-finite or non-positive values.
    """
    g, p = _pair(gt, pred)
    if (g <= 0).any() or (p <= 0).any():
        raise ValueError("depth_errors needs gt > 0 and pred > 0 (log and ratios)")
    thresh = np.maximum(g / p, p / g)
    diff = g - p
    log_diff = np.log(g) - np.log(p)
    return {
        "abs_rel": float(np.mean(np.abs(diff) / g)),
        "sq_rel": float(np.mean(diff**2 / g)),
        "rmse": masked_rmse(p, g),
        "rmse_log": float(np.sqrt(np.mean(log_diff**2))),
        "a1": float(np.mean(thresh < 1.25)),
        "a2": float(np.mean(thresh < 1.25**2)),
        "a3": float(np.mean(thresh < 1.25**3)),
    }


def dsr_errors(gt: Any, pred: Any) -> dict[str, float]:
    """Depth super-resolution errors: RMSE and mean absolute difference (MAD).

    Args:
        gt: ``(n,)`` ground-truth values (depth in any unit, or disparity).
        pred: ``(n,)`` predicted values at the same pixels, same unit.

    Returns:
        ``{"rmse": sqrt(mean((g-p)^2)), "mad": mean(|g-p|)}`` as Python floats (float64 maths).

    Raises:
        ValueError: different sizes, no pixels or non-finite values.
    """
    g, p = _pair(gt, pred)
    diff = g - p
    return {"rmse": masked_rmse(p, g), "mad": float(np.mean(np.abs(diff)))}


def median_scale_ratio(gt: Any, pred: Any) -> float:
    """Per-image median scaling factor ``median(gt) / median(pred)`` (monodepth2 / Zhou et al.).

    Only meaningful for scale-ambiguous predictions (monocular self-supervision); protocols never
    apply it unless asked.

    Args:
        gt: ``(n,)`` ground truth at the evaluated pixels.
        pred: ``(n,)`` prediction at the same pixels.

    Returns:
        The ratio ``s`` such that ``s * pred`` has the median of ``gt``.

    Raises:
        ValueError: empty input or a non-positive prediction median.
    """
    g, p = _pair(gt, pred)
    mp = float(np.median(p))
    if not mp > 0:
        raise ValueError(f"median of the prediction is {mp:g}; median scaling needs it > 0")
    return float(np.median(g)) / mp
