"""Confidence-weighted likelihood loss and point filtering (METHOD.md B.1, B.2).

For a per-pixel loss ``l >= 0`` and a confidence ``C`` in (0, 1)::

    L_conf(l, C) = mean_p [ C(p) l(p) - lambda_c log C(p) ]            (B.1)

whose minimiser over ``C`` in (0, 1] is ``C* = min(1, lambda_c / l)`` (:func:`optimal_confidence`).
Pixels without LiDAR get the pseudo-error ``M`` (point filtering, B.2)::

    L_pf = mean_{p not in V} [ C(p) M - lambda_c log C(p) ]
"""

from __future__ import annotations

import torch

from depthduet import depth as depth_ops

__all__ = [
    "confidence_loss",
    "point_filtering_loss",
    "optimal_confidence",
    "masked_mean",
    "relative_error",
]

#: lower clamp of C inside log (C comes from a sigmoid, so it is > 0 but may underflow)
LOG_EPS = 1e-6


def masked_mean(x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """:func:`depthduet.depth.masked_mean` with ``min_weight=1.0`` (never divides by less than one element: METHOD B's losses).

    Args:
        x: ``(B, C, H, W)`` values (any shape).
        mask: bool or weights broadcastable to ``x`` (e.g. ``(B, 1, H, W)``); ``None``: all.

    Returns:
        ``()`` scalar tensor; 0 (attached to the graph) for an empty mask.
    """
    return depth_ops.masked_mean(x, mask, min_weight=1.0)


def confidence_loss(
    loss: torch.Tensor,
    confidence: torch.Tensor,
    lambda_c: float,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """``L_conf(l, C) = mean_{p in mask} [ C l - lambda_c log C ]`` (METHOD.md B.1).

    Args:
        loss: ``(B, 1, H, W)`` per-pixel loss ``l >= 0`` (gradients flow into it too).
        confidence: ``(B, 1, H, W)`` confidence in (0, 1).
        lambda_c: weight of the ``-log C`` prior (> 0): the error level below which full
            confidence is optimal.
        mask: ``(B, 1, H, W)`` bool pixels to average over (all when ``None``).

    Returns:
        Scalar tensor (0 if the mask is empty).
    """
    if loss.shape != confidence.shape:
        raise ValueError(
            f"confidence_loss: loss {tuple(loss.shape)} and confidence "
            f"{tuple(confidence.shape)} differ"
        )
    if lambda_c <= 0:
        raise ValueError(f"confidence_loss: lambda_c must be > 0, got {lambda_c}")
    c = confidence.clamp(min=LOG_EPS)
    return masked_mean(confidence * loss - lambda_c * torch.log(c), mask)


def point_filtering_loss(
    confidence: torch.Tensor, valid: torch.Tensor, m: float, lambda_c: float
) -> torch.Tensor:
    """``L_pf = mean_{p not in V} [ C M - lambda_c log C ]`` (METHOD.md B.2).

    Args:
        confidence: ``(B, 1, H, W)`` confidence of the supervised branch.
        valid: ``(B, 1, H, W)`` bool, True where LiDAR depth exists (``V``).
        m: pseudo-error ``M`` of pixels without LiDAR (>= 0).
        lambda_c: the branch's ``lambda_c`` (> 0).

    Returns:
        Scalar tensor; its optimum is ``C = min(1, lambda_c / M)`` on unlabelled pixels.
    """
    if m < 0:
        raise ValueError(f"point_filtering_loss: M must be >= 0, got {m}")
    pseudo = torch.full_like(confidence, float(m))
    return confidence_loss(pseudo, confidence, lambda_c, ~valid.bool())


def optimal_confidence(loss: torch.Tensor, lambda_c: float) -> torch.Tensor:
    """The per-pixel minimiser of :func:`confidence_loss`: ``min(1, lambda_c / l)``.

    Args:
        loss: ``(B, 1, H, W)`` per-pixel loss ``l >= 0`` (any shape works).
        lambda_c: weight of the ``-log C`` prior.

    Returns:
        Confidence in (0, 1], same shape as ``loss``.
    """
    return torch.where(loss > lambda_c, lambda_c / loss.clamp(min=1e-12), torch.ones_like(loss))


def relative_error(pred: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """``|pred - target| / target`` where ``valid`` (0 elsewhere); the loss of METHOD.md B.2.

    Args:
        pred: ``(B, 1, H, W)`` predicted depth.
        target: ``(B, 1, H, W)`` reference depth.
        valid: ``(B, 1, H, W)`` bool, pixels where ``target`` is valid (> 0).

    Returns:
        ``(B, 1, H, W)`` per-pixel relative error.
    """

    safe = torch.where(valid, target, torch.ones_like(target))
    return torch.where(valid, (pred - safe).abs() / safe, torch.zeros_like(pred))
