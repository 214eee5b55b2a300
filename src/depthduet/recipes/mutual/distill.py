"""Mutual distillation of the ``mutual`` recipe (METHOD.md B.4): which branch teaches which,
with which confidence, and from which step.

Each branch learns from the other's full-resolution depth, weighted by the other's
confidence (the teacher's confidence selects the pixels worth learning from)::

    L_u,d = mean_p C_s |log D_u - log D~_s|      (N_s teaches N_u)
    L_s,d = mean_p C_u |log D_s - log D_u|       (N_u teaches N_s)

``D~_s`` is ``D_s`` median-aligned to ``D_u`` per image when ``N_s`` learns from monocular
video alone (``self_sup: M``: its depth has no scale); otherwise ``D~_s = D_s``.
"""

from __future__ import annotations

from typing import Any

import torch

from depthduet.losses.uncertainty_distill import median_align, uncertainty_distillation
from depthduet.recipes.mutual.config import MutualConfig

__all__ = ["distills", "mutual_distillation"]


def distills(cfg: MutualConfig, state: dict[str, Any] | None) -> bool:
    """Whether this step adds the distillation terms: ``semi`` mode with ``loss.distill`` on,
    after ``loss.distill_warmup_steps`` optimiser steps (``state["step"]``)."""
    step = int(state.get("step", 0)) if state else 0
    lc = cfg.loss
    return cfg.mode == "semi" and lc.distill and step >= lc.distill_warmup_steps


def mutual_distillation(
    u: tuple[torch.Tensor, torch.Tensor],
    s: tuple[torch.Tensor, torch.Tensor],
    align_s: bool,
    space: str,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(L_u,d, L_s,d)`` of METHOD.md B.4 at full resolution.

    Args:
        u: ``(D_u, C_u)`` of ``N_u``, each ``(B, 1, H, W)``.
        s: ``(D_s, C_s)`` of ``N_s``, each ``(B, 1, H, W)``.
        align_s: median-align ``D_s`` to ``D_u`` before it teaches (``self_sup: M``).
        space: ``loss.distill_space`` (``log`` or ``linear``).

    Returns:
        ``(L_u,d, L_s,d)``, each a ``()`` scalar tensor; ``L_u,d``'s gradient reaches ``N_u``
        only, ``L_s,d``'s ``N_s`` only.
    """
    d_u, c_u = u
    d_s, c_s = s
    d_s_teacher = median_align(d_s, d_u) if align_s else d_s
    l_ud = uncertainty_distillation(d_u, d_s_teacher, c_s, space=space)
    l_sd = uncertainty_distillation(d_s, d_u, c_u, space=space)
    return l_ud, l_sd
