"""The teacher rule of METHOD.md A.3: per round, the network with the lower mean absolute
error on the previous round teaches the next one, after ``distill.warmup_rounds`` rounds
without distillation (:class:`TeacherSelector`, the recipe's round state, saved with every
checkpoint through its ``state_dict``).

:func:`check_teacher_rule` is the one check of the two settings (``distill.teacher_selection``,
``distill.warmup_rounds``), used by the configuration and by :class:`TeacherSelector`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor

from depthduet.config import ConfigError

__all__ = ["TEACHER_SELECTIONS", "TeacherSelector", "check_teacher_rule"]

#: the values of ``distill.teacher_selection`` (:class:`TeacherSelector`'s ``mode``)
TEACHER_SELECTIONS = ("error", "improvement", "fixed_dsr", "fixed_de")


def check_teacher_rule(mode: str, warmup_rounds: int) -> None:
    """Check ``distill.teacher_selection`` (one of :data:`TEACHER_SELECTIONS`) and
    ``distill.warmup_rounds`` (>= 0).

    Raises:
        ConfigError: naming the setting (a :class:`~depthduet.errors.UserError` and a
            ``ValueError``, so a configuration's ``validate`` reports it as is).
    """
    if mode not in TEACHER_SELECTIONS:
        raise ConfigError(
            f"distill.teacher_selection: expected one of {', '.join(TEACHER_SELECTIONS)}, "
            f"got {mode!r}"
        )
    if warmup_rounds < 0:
        raise ConfigError(f"distill.warmup_rounds: must be >= 0, got {warmup_rounds}")


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
        check_teacher_rule(self.mode, self.warmup_rounds)
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
