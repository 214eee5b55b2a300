"""Cross-task distillation of METHOD A (METHOD.md A.3): valid-pixel means, multi-scale
output-space distillation, affinity matrices and their loss, and per-round teacher selection.

Every distillation term detaches the teacher, so gradients reach the student only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor

from depthduet.errors import UserError

__all__ = [
    "masked_mean",
    "masked_l1",
    "output_space_loss",
    "affinity_matrix",
    "affinity_loss",
    "TeacherSelector",
]


def masked_mean(x: Tensor, mask: Tensor | None = None) -> Tensor:
    """Mean of ``x (B, C, H, W)`` over the pixels where ``mask`` (broadcastable, bool or weights
    in [0, 1]) is set; all channels count. An empty mask gives 0 (still attached to the graph).

    Args:
        x: ``(B, C, H, W)`` values.
        mask: ``(B, 1, H, W)`` (or any shape broadcastable to ``x``) bool or weights.

    Returns:
        ``()`` scalar tensor.
    """
    if mask is None:
        return x.mean()
    w = mask.to(x.dtype).expand_as(x)
    return (x * w).sum() / w.sum().clamp_min(1e-12)


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


#: the values of ``distill.teacher_selection`` (:class:`TeacherSelector`'s ``mode``)
TEACHER_SELECTIONS = ("error", "improvement", "fixed_dsr", "fixed_de")


def _relative_drop(before: float, after: float) -> float:
    """``(before - after) / before``; 0 when either is not a positive finite number (an empty
    round, a zero error)."""
    if not (math.isfinite(before) and math.isfinite(after)) or before <= 0:
        return 0.0
    return (before - after) / before


@dataclass
class TeacherSelector:
    """Per-round teacher choice of METHOD.md A.3.

    During a round, :meth:`update` accumulates the two networks' mean absolute errors;
    :meth:`end_round` closes it and picks the next round's teacher::

        teacher = "dsr" if e_dsr < e_de else "de"

    ``mode="improvement"`` (**[our reading]**, an alternative to A.3's rule, off by default): the
    review also says the roles are decided "by how much each network improved at the time"
    ("그때그때 성능 향상이 되는 정도에 따라"), so here the network whose round error fell more,
    relative to its previous round, teaches the next round::

        i_x = (e_x_prev - e_x) / e_x_prev ;  teacher = "dsr" if i_dsr > i_de else "de"

    (a tie keeps the current teacher; the first round, with no previous one, uses the error
    rule). ``mode="fixed_dsr"`` / ``"fixed_de"`` always pick that network. Before any round has
    ended (and during the ``warmup_rounds`` first rounds) :attr:`distill` is False.

    Attributes:
        teacher: ``"dsr"`` or ``"de"`` for the current round.
        rounds_done: number of finished rounds.
        history: one dict per finished round (``round``, ``e_dsr``, ``e_de``, ``teacher`` chosen
            for the following round).
    """

    mode: str = "error"
    warmup_rounds: int = 1
    teacher: str = "dsr"
    rounds_done: int = 0
    history: list[dict] = field(default_factory=list)
    _sum_dsr: float = 0.0
    _sum_de: float = 0.0
    _count: float = 0.0

    def __post_init__(self) -> None:
        if self.mode not in TEACHER_SELECTIONS:
            raise UserError(
                f"distill.teacher_selection: expected one of {', '.join(TEACHER_SELECTIONS)}, "
                f"got {self.mode!r}"
            )
        if self.warmup_rounds < 0:
            raise UserError(f"distill.warmup_rounds: must be >= 0, got {self.warmup_rounds}")
        if self.mode == "fixed_de":
            self.teacher = "de"

    @property
    def distill(self) -> bool:
        """Whether the current round distils (warm-up rounds do not)."""
        return self.rounds_done >= self.warmup_rounds

    @property
    def student(self) -> str:
        """The network the distillation terms train this round: ``"de"`` or ``"dsr"``."""
        return "de" if self.teacher == "dsr" else "dsr"

    def update(self, e_dsr: float, e_de: float, weight: float = 1.0) -> None:
        """Add one batch's mean absolute errors (weighted, e.g. by its number of valid pixels)."""
        self._sum_dsr += float(e_dsr) * weight
        self._sum_de += float(e_de) * weight
        self._count += weight

    def round_errors(self) -> tuple[float, float]:
        """``(e_dsr, e_de)`` averaged over the current round so far (NaN when empty)."""
        if self._count <= 0:
            return float("nan"), float("nan")
        return self._sum_dsr / self._count, self._sum_de / self._count

    def reduce(self, mean: Callable[[Tensor], Tensor]) -> None:
        """Replace this process's round sums by their mean over processes.

        Under DistributedDataParallel each process sees a shard of the round; calling this with
        :meth:`~depthduet.engine.recipe.Recipe.reduce_mean` before :meth:`end_round` makes every
        process pick the teacher from the errors over the whole round (sum over shards of the
        weighted errors / sum of the weights: the means of both give the same ratio), so the
        processes agree. With one process ``mean`` is the identity.

        Args:
            mean: maps a ``(3,)`` float64 tensor of round sums to its mean over processes
                (same shape as its input).
        """

        sums = torch.tensor([self._sum_dsr, self._sum_de, self._count], dtype=torch.float64)
        self._sum_dsr, self._sum_de, self._count = (float(v) for v in mean(sums))

    def end_round(self) -> dict:
        """Close the round, choose the teacher of the next one; returns the round's record.

        A round without any update keeps the previous teacher.
        """
        e_dsr, e_de = self.round_errors()
        if self.mode == "fixed_dsr":
            self.teacher = "dsr"
        elif self.mode == "fixed_de":
            self.teacher = "de"
        elif self._count > 0:
            prev = self.history[-1] if self.history else None
            if self.mode == "improvement" and prev is not None:
                i_dsr = _relative_drop(prev["e_dsr"], e_dsr)
                i_de = _relative_drop(prev["e_de"], e_de)
                if i_dsr != i_de:
                    self.teacher = "dsr" if i_dsr > i_de else "de"
            else:
                self.teacher = "dsr" if e_dsr < e_de else "de"
        self.rounds_done += 1
        rec = {"round": self.rounds_done - 1, "e_dsr": e_dsr, "e_de": e_de, "teacher": self.teacher}
        self.history.append(rec)
        self._sum_dsr = self._sum_de = self._count = 0.0
        return rec

    def state_dict(self) -> dict:
        """Teacher, rounds done, history and the open round's sums (saved with checkpoints)."""
        return {
            "mode": self.mode,
            "warmup_rounds": self.warmup_rounds,
            "teacher": self.teacher,
            "rounds_done": self.rounds_done,
            "history": list(self.history),
            "sums": [self._sum_dsr, self._sum_de, self._count],
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict`, so a resumed run picks the same teachers."""
        self.teacher = str(state["teacher"])
        self.rounds_done = int(state["rounds_done"])
        self.history = list(state.get("history", []))
        self._sum_dsr, self._sum_de, self._count = (float(v) for v in state.get("sums", [0, 0, 0]))
