"""METHOD.md B: semi-supervised monocular depth with mutual distillation (recipe ``mutual``).

Two depth networks, ``N_u`` (sparse LiDAR) and ``N_s`` (view synthesis), teach each other with
confidence-weighted distillation. The parts:

* :mod:`~depthduet.recipes.mutual.config`: the YAML sections (:class:`MutualConfig` and its
  dataclasses, every key documented);
* :mod:`~depthduet.recipes.mutual.recipe`: :class:`MutualRecipe`, one training step as
  METHOD.md B.6 writes it, and validation;
* :mod:`~depthduet.recipes.mutual.losses`: the per-branch losses ``L_su``, ``L_pf`` and
  ``L_ss`` over the output scales (B.1-B.3);
* :mod:`~depthduet.recipes.mutual.distill`: which branch teaches which, with which confidence
  (B.4);
* :mod:`~depthduet.recipes.mutual.evaluate`: depth errors and confidence informativeness of a
  branch.

The datasets (``data.dataset``) are entries of :data:`~depthduet.data.registry.MDE_DATASETS`
(:mod:`depthduet.data.mde_dataset`); the network builder and the scale-ambiguity rule shared
with inference live in :mod:`depthduet.models.mde`.
"""

from __future__ import annotations

from depthduet.data.mde_dataset import CachedDataset
from depthduet.models.mde import build_depth_net, is_scale_ambiguous
from depthduet.recipes.mutual.config import (
    MODES,
    SELF_SUP,
    MDEDataConfig,
    MDEEvalConfig,
    MDEModelConfig,
    MDEOptimConfig,
    MutualAugmentConfig,
    MutualConfig,
    MutualLossConfig,
)
from depthduet.recipes.mutual.recipe import MutualRecipe

__all__ = [
    "MODES",
    "SELF_SUP",
    "MutualConfig",
    "MDEModelConfig",
    "MutualLossConfig",
    "MutualAugmentConfig",
    "MDEOptimConfig",
    "MDEDataConfig",
    "MDEEvalConfig",
    "MutualRecipe",
    "build_depth_net",
    "is_scale_ambiguous",
    "CachedDataset",
]
