"""Cross-task distillation of METHOD A (METHOD.md A.3): valid-pixel means, multi-scale
output-space distillation, affinity matrices and their loss.

Every distillation term detaches the teacher, so gradients reach the student only. Which network
teaches in a round (A.3's teacher rule) is the recipe's round state:
:class:`depthduet.recipes.ctkt.TeacherSelector`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from depthduet import depth as depth_ops
from depthduet.errors import UserError

__all__ = [
    "masked_mean",
    "masked_l1",
    "output_space_loss",
    "affinity_matrix",
    "affinity_loss",
    "AFFINITY_LOSSES",
]


def masked_mean(x: Tensor, mask: Tensor | None = None) -> Tensor:
    """:func:`depthduet.depth.masked_mean` with ``min_weight=1e-12`` (a weighted mean, soft weights normalised by their sum: METHOD A's losses).

    Args:
        x: ``(B, C, H, W)`` values (any shape).
        mask: bool or weights broadcastable to ``x`` (e.g. ``(B, 1, H, W)``); ``None``: all.

    Returns:
        ``()`` scalar tensor; 0 (attached to the graph) for an empty mask.
    """
    return depth_ops.masked_mean(x, mask, min_weight=1e-12)


def masked_l1(pred: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
    """``mean_{valid} |pred - target|`` (shapes ``(B, 1, H, W)``; METHOD.md A.5 L1 terms).

    Args:
        pred: ``(B, 1, H, W)`` prediction.
        target: ``(B, 1, H, W)`` target.
        mask: ``(B, 1, H, W)`` bool or weights (``None``: every pixel).

    Returns:
        ``()`` scalar tensor.
    """
    return masked_mean((pred - target).abs(), mask)


def output_space_loss(
    student: Sequence[Tensor],
    teacher: Sequence[Tensor],
    valid: Tensor | None = None,
    scales: Sequence[int] = (1, 2, 4),
) -> Tensor:
    """Multi-scale output-space distillation (METHOD.md A.3)::

        L_P = sum_t sum_{k in scales} mean_valid | pool_k(P_s^t) - pool_k(P_t^t).detach() |

    Args:
        student, teacher: side outputs ``P^t``, ``N`` maps ``(B, 1, H, W)`` each.
        valid: ``(B, 1, H, W)`` validity of the ground truth; at scale ``k`` each coarse pixel is
            weighted by the fraction of valid pixels it covers (``pool_k(valid)``).
        scales: average-pooling factors (1 = full resolution).

    Returns:
        ``()`` scalar tensor, summed over side outputs and scales.
    """
    if len(student) != len(teacher) or len(student) == 0:
        raise ValueError(
            f"output_space_loss: {len(student)} student vs {len(teacher)} teacher side outputs"
        )
    total = student[0].new_zeros(())
    for ps, pt in zip(student, teacher):
        pt = pt.detach()
        w = None if valid is None else valid.to(ps.dtype)
        for k in scales:
            if k == 1:
                a, b, wk = ps, pt, w
            else:
                a = F.avg_pool2d(ps, k, k, ceil_mode=True)
                b = F.avg_pool2d(pt, k, k, ceil_mode=True)
                wk = None if w is None else F.avg_pool2d(w, k, k, ceil_mode=True)
            total = total + masked_mean((a - b).abs(), wk)
    return total


AFFINITY_LOSSES = ("l1", "l1_row", "kl")


def affinity_matrix(feat: Tensor, pool: int = 32, temperature: float = 0.1) -> Tensor:
    """Row-stochastic affinity of a feature map (METHOD.md A.3)::

        A = softmax_row( R(F) R(F)^T / T_a ),  R(F) = rows of pool_p(F) (p^2 x c), L2-normalised

    Args:
        feat: ``(B, c, H, W)``.
        pool: ``p``; adaptive average pooling to ``min(p, H) x min(p, W)`` (a map smaller than
            ``p`` is not upsampled).
        temperature: ``T_a`` > 0.

    Returns:
        ``(B, n, n)`` with ``n = min(p, H) * min(p, W)``; each row sums to 1. It does not depend on
        the channel count ``c`` (networks of different widths are comparable).
    """
    if feat.dim() != 4:
        raise ValueError(f"affinity_matrix: expected (B, c, H, W), got {tuple(feat.shape)}")
    if temperature <= 0:
        raise UserError(f"loss.temperature: must be > 0, got {temperature}")
    ph, pw = min(pool, feat.shape[-2]), min(pool, feat.shape[-1])
    pooled = F.adaptive_avg_pool2d(feat, (ph, pw))
    rows = F.normalize(pooled.flatten(2).transpose(1, 2), dim=-1, eps=1e-8)  # (B, n, c)
    return torch.softmax(rows @ rows.transpose(1, 2) / temperature, dim=-1)


def affinity_loss(a_student: Tensor, a_teacher: Tensor, kind: str = "l1") -> Tensor:
    """Distance between affinity matrices ``(B, n, n)``; the teacher is detached (METHOD.md A.3).

    ``kind="l1"``: ``mean |A_s - A_t|`` over all ``B * n * n`` entries, METHOD.md A.3 as written.
    Its size falls as ``1 / n`` (rows sum to 1, so each entry is about ``1 / n``).
    ``kind="l1_row"``: mean over rows of the row's L1 distance ``sum_j |A_s[i,j] - A_t[i,j]|``
    (in [0, 2]): ``n`` times ``"l1"``, independent of the pooled size ``p`` (an option; the
    runs of docs/results/dsr.md before 2026-11-22 used it, with ``lambda_A`` 1).
    ``kind="kl"``: mean over rows of ``KL(A_t[i] || A_s[i])`` (METHOD.md A.3's "KL per row").

    Args:
        a_student: ``(B, n, n)`` student affinities (rows sum to 1).
        a_teacher: ``(B, n, n)`` teacher affinities, same shape as ``a_student``.
        kind: ``"l1"``, ``"l1_row"`` or ``"kl"``.

    Returns:
        ``()`` scalar tensor.
    """
    if a_student.shape != a_teacher.shape:
        raise ValueError(
            f"affinity_loss: shapes differ {tuple(a_student.shape)} vs {tuple(a_teacher.shape)}"
        )
    t = a_teacher.detach()
    if kind == "l1":
        return (a_student - t).abs().mean()
    if kind == "l1_row":
        return (a_student - t).abs().sum(dim=-1).mean()
    if kind == "kl":
        eps = 1e-12
        return (
            (t * (torch.log(t.clamp_min(eps)) - torch.log(a_student.clamp_min(eps))))
            .sum(dim=-1)
            .mean()
        )
    raise UserError(f"loss.affinity_loss: expected one of {AFFINITY_LOSSES}, got {kind!r}")
