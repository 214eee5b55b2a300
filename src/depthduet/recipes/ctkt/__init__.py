"""METHOD A recipe ``ctkt``: depth super-resolution with cross-task knowledge transfer
(Sun et al., CVPR 2021; METHOD.md A).

Networks (``networks`` of the engine contract):

* ``dsr``: :class:`~depthduet.models.dbpn.DSRNet`, the only inference network;
* ``de``: :class:`~depthduet.models.denet.DENet` (RGB -> depth), trained when any cross-task
  switch is on (``distill.output_space``, ``distill.affinity`` or ``distill.spnet``);
* ``dsr_heads`` / ``de_heads``: :class:`~depthduet.models.blocks.SideHeads` (side outputs
  ``P^t``), built with ``distill.output_space``;
* ``sp``: :class:`~depthduet.models.spnet.SPNet`, built with ``distill.spnet``.

Ablations of the paper = configuration switches: DSRNet alone ("w/o CT": all three false),
``+ output space`` (``distill.output_space=true``), ``+ affinity`` (``distill.affinity=true``),
``+ both``, ``+ SPNet`` (``distill.spnet=true`` too).

Normalisation: every loss is computed on *normalised* depth. Per sample, ``lo``/``hi`` come from the
valid LR pixels (min/max, or percentiles with ``model.norm=percentile``), ``x_n = (x - lo)/(hi - lo)``
is applied to the LR input and to the HR target, invalid LR pixels are filled before the network
(:func:`depthduet.models.dbpn.prepare_lr`) and all losses average over valid HR pixels only.
Validation reports the RMSE in normalised units and, after mapping back, in the data's units.
DENet's target is the same normalised HR map by default; ``distill.de_target=data`` **[our
reading]** makes it predict the HR depth in the data's units instead (the LR's range, which sets
the normalisation, is not visible to an RGB network) and maps its outputs into the normalised
space wherever they meet DSRNet's (teacher errors, ``L_P``, SPNet); see :class:`CTKTDistill`.

Depth-only samples (Sintel, Middlebury 2001 depth maps): DENet needs RGB, so for those samples only
the DSRNet terms are computed (``L1`` and, when on, ``L_side`` of DSRNet); DENet, the distillation
terms and SPNet use the RGB-D samples of the batch only (``has_rgb``), and a batch without RGB-D
sample trains DSRNet alone.

The total loss (METHOD.md A.5)::

    L = |D_sr - D_hr|_1 + ( |D_de - D_hr|_1 + lambda_ssim * (1 - SSIM(D_de, D_hr)) / 2 )
        + lambda_side * L_side + lambda_P * L_P + lambda_A * L_A + lambda_S * L_S

with ``L_side = sum_t |P_sr^t - D_hr|_1 + sum_t |P_de^t - D_hr|_1`` (deep supervision of the side
outputs, **[our reading]** of METHOD.md A.3), ``L_P`` / ``L_A`` from
:mod:`depthduet.losses.distill` (student only) and ``L_S`` from :mod:`depthduet.losses.structure`.
The DENet SSIM term uses :func:`depthduet.losses.photometric.ssim_loss` (the per-pixel map
``(1 - SSIM) / 2``) against the hole-filled target, averaged over valid pixels.

Distributed training: a batch without RGB-D sample leaves DENet / SPNet unused, which
DistributedDataParallel only tolerates with ``engine.find_unused_parameters=true`` (set it for
mixed RGB-D / depth-only sources such as configs/dsr/real_x4.yaml).

Teacher selection (METHOD.md A.3) runs per round (an epoch, or ``engine.round_every`` steps):
:class:`~depthduet.recipes.ctkt.teacher.TeacherSelector` accumulates ``e_dsr`` and ``e_de`` over the
round on the RGB-D samples and picks the lower one as the next round's teacher; the first
``distill.warmup_rounds`` rounds have no distillation.

Modules: :mod:`~depthduet.recipes.ctkt.config` (the configuration sections),
:mod:`~depthduet.recipes.ctkt.teacher` (the teacher rule) and
:mod:`~depthduet.recipes.ctkt.recipe` (:class:`CTKTRecipe`, the training step in named pieces).
The data sources (``data.source``) are :data:`~depthduet.data.registry.DSR_DATASETS`
(:mod:`depthduet.data.dsr_dataset`).
"""

from depthduet.data.dsr_dataset import RealDepthDataset
from depthduet.recipes.ctkt.config import (
    CTKTConfig,
    CTKTData,
    CTKTDistill,
    CTKTLoss,
    CTKTModel,
    CTKTOptim,
)
from depthduet.recipes.ctkt.recipe import CTKTRecipe
from depthduet.recipes.ctkt.recipe import _DESpace as _DESpace  # used by the tests
from depthduet.recipes.ctkt.recipe import _RGBFlag as _RGBFlag  # used by the tests
from depthduet.recipes.ctkt.teacher import TEACHER_SELECTIONS, TeacherSelector

__all__ = [
    "CTKTConfig",
    "CTKTData",
    "CTKTModel",
    "CTKTLoss",
    "CTKTDistill",
    "CTKTOptim",
    "CTKTRecipe",
    "RealDepthDataset",
    "TEACHER_SELECTIONS",
    "TeacherSelector",
]
