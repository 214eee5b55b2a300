"""Mutual distillation with uncertainty (METHOD.md B.4).

Each branch's depth is a pseudo-label for the other, weighted by the other branch's
confidence; both the pseudo-label and the weight are detached, so gradients reach only the
student::

    L_u,d = mean_p C_s.detach() |log D_u - log D~_s.detach()|      (teaches N_u)
    L_s,d = mean_p C_u.detach() |log D_s - log D_u.detach()|       (teaches N_s)

``D~_s`` is ``D_s`` scaled by the per-image median ratio to ``D_u`` (:func:`median_align`) when
``N_s`` is trained on monocular video alone (scale ambiguity). Log-depth differences are B.4's
**[our reading]**; ``space="linear"`` compares depths in metres instead.
"""

from __future__ import annotations

import torch

from depthduet.losses.confidence import masked_mean

__all__ = ["DISTILL_SPACES", "uncertainty_distillation", "median_align", "median_scale"]

DISTILL_SPACES = ("log", "linear")


def median_scale(
    depth: torch.Tensor, reference: torch.Tensor, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Per-image ratio ``median(reference) / median(depth)`` over ``mask`` (the scale of
    METHOD.md B.4's ``D~_s``).

    Args:
        depth: ``(B, 1, H, W)`` depth to be scaled (positive).
        reference: ``(B, 1, H, W)`` reference depth (positive).
        mask: ``(B, 1, H, W)`` bool pixels to use (all when ``None``); an image with an empty
            mask gets ratio 1.

    Returns:
        ``(B, 1, 1, 1)`` ratios.
    """
    b = depth.shape[0]
    out = torch.ones(b, 1, 1, 1, dtype=depth.dtype, device=depth.device)
    for i in range(b):
        d, r = depth[i].reshape(-1), reference[i].reshape(-1)
        if mask is not None:
            m = mask[i].reshape(-1).bool()
            d, r = d[m], r[m]
        if d.numel() == 0:
            continue
        md = d.median()
        if md > 0:
            out[i] = r.median() / md
    return out


def median_align(
    depth: torch.Tensor, reference: torch.Tensor, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """``depth`` scaled per image so that its median matches ``reference``'s (no gradient
    through the ratio): METHOD.md B.4's ``D~_s`` for ``N_s`` trained on "M" alone.

    Args:
        depth: ``(B, 1, H, W)`` depth to be scaled (positive).
        reference: ``(B, 1, H, W)`` reference depth (positive).
        mask: ``(B, 1, H, W)`` bool pixels to use (all when ``None``).

    Returns:
        ``(B, 1, H, W)`` scaled depth.
    """
    with torch.no_grad():
        s = median_scale(depth, reference, mask)
    return depth * s


def uncertainty_distillation(
    student_depth: torch.Tensor,
    teacher_depth: torch.Tensor,
    teacher_confidence: torch.Tensor,
    mask: torch.Tensor | None = None,
    space: str = "log",
) -> torch.Tensor:
    """``mean_p C_t.detach() |log D_student - log D_teacher.detach()|`` (METHOD.md B.4).

    Args:
        student_depth: ``(B, 1, H, W)`` positive depth of the branch being taught.
        teacher_depth: ``(B, 1, H, W)`` positive depth of the other branch (already
            median-aligned when needed).
        teacher_confidence: ``(B, 1, H, W)`` the other branch's confidence.
        mask: optional ``(B, 1, H, W)`` bool pixels to average over.
        space: ``"log"`` (B.4's [our reading]) or ``"linear"`` (``|D_student - D_teacher|``).

    Returns:
        Scalar tensor; gradients reach ``student_depth`` only.
    """
    if not (student_depth.shape == teacher_depth.shape == teacher_confidence.shape):
        raise ValueError(
            "uncertainty_distillation: shapes differ: "
            f"{tuple(student_depth.shape)}, {tuple(teacher_depth.shape)}, "
            f"{tuple(teacher_confidence.shape)}"
        )
    if space == "log":
        diff = (torch.log(student_depth) - torch.log(teacher_depth.detach())).abs()
    elif space == "linear":
        diff = (student_depth - teacher_depth.detach()).abs()
    else:
        raise ValueError(f"loss.distill_space: expected one of {DISTILL_SPACES}, got {space!r}")
    return masked_mean(teacher_confidence.detach() * diff, mask)
