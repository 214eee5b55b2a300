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
The DENet SSIM term uses :func:`depthduet.losses.photometric.ssim` (the per-pixel map
``(1 - SSIM) / 2``) against the hole-filled target, averaged over valid pixels.

Distributed training: a batch without RGB-D sample leaves DENet / SPNet unused, which
DistributedDataParallel only tolerates with ``engine.find_unused_parameters=true`` (set it for
mixed RGB-D / depth-only sources such as configs/dsr/real_x4.yaml).

Teacher selection (METHOD.md A.3) runs per round (an epoch, or ``engine.round_every`` steps):
:class:`~depthduet.losses.distill.TeacherSelector` accumulates ``e_dsr`` and ``e_de`` over the
round on the RGB-D samples and picks the lower one as the next round's teacher; the first
``distill.warmup_rounds`` rounds have no distillation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import ConcatDataset, Dataset

from depthduet.data.degradation import DegradationMix
from depthduet.data.degrade import DepthSRPairs, resolve_degradation
from depthduet.engine.config import EngineConfig
from depthduet.engine.recipe import Recipe, StepOutput
from depthduet.errors import UserError
from depthduet.losses.distill import (
    AFFINITY_LOSSES,
    TEACHER_SELECTIONS,
    TeacherSelector,
    affinity_loss,
    affinity_matrix,
    masked_l1,
    masked_mean,
    output_space_loss,
)
from depthduet.losses.structure import STRUCTURE_GT, structure_gt, structure_loss
from depthduet.models.blocks import SideHeads
from depthduet.models.dbpn import DSRNet, denormalize_depth, get_preset, prepare_lr
from depthduet.recipes import RECIPES

__all__ = [
    "CTKTConfig",
    "CTKTData",
    "CTKTModel",
    "CTKTLoss",
    "CTKTDistill",
    "CTKTOptim",
    "CTKTRecipe",
    "RealDepthDataset",
]

SOURCES = (
    "world",
    "middlebury",
    "middlebury_depth",
    "sintel",
    "folder",
    "rgbd_folder",
    "depth_folder",
)


# --------------------------------------------------------------------------------- configuration
@dataclass
class CTKTData:
    """What to train on (``data:`` section).

    Attributes:
        source: datasets to mix: ``world`` (procedural indoor RGB-D), ``middlebury`` (2001/2003
            RGB-D disparity pairs), ``middlebury_depth`` (2001 disparity, no RGB), ``sintel``
            (Sintel depth-like maps, no RGB), ``folder`` (``depthduet synth`` output in ``folder``),
            ``rgbd_folder`` (``folder/color`` + ``folder/depth``, see
            :class:`depthduet.data.folder.RGBDFolderDataset`), ``depth_folder`` (depth maps only,
            :class:`depthduet.data.folder.DepthFolderDataset`).
        scale: 2, 4, 8 or 16.
        degradation: how LR is made: a kernel (``bicubic_aa`` = ``bicubic``, ``bicubic_plain``,
            ``bilinear``, ``area``, ``nearest[:offset]``, ``gaussian[:sigma]``), a chain such as
            ``area+gaussian_noise:0.01`` (:func:`depthduet.data.degradation.parse_degradation`),
            ``random`` (a new draw from ``mix`` per training sample) or ``given``
            (``depth_lr`` key).
        mix: the ``random`` distribution (:class:`depthduet.data.degradation.DegradationMix`):
            kernel weights and, per noise / hole step, ``[probability, min, max]``.
        crop: HR training patch size (multiple of ``scale``; 0 = whole maps).
        val_crop: centred HR crop for validation (0 = whole maps; needed when sizes differ).
        noise_std: LR noise as a fraction of each sample's depth range.
        hole_prob: probability of dropping each LR pixel.
        train_size, val_size: number of world samples per split (real sources: all files).
        world_kind: world scene kind (``indoor`` or ``driving``).
        world_height, world_width: world render size (0 = the kind's default).
        folder: training directory of the ``folder`` / ``rgbd_folder`` / ``depth_folder`` sources.
        val_folder: their validation directory ("" = no folder validation).
        depth_scale: stored value / depth_scale = depth (folder sources; 1000 for mm PNG -> m).
        root: data root for real sources ("" = ``depthduet.paths.data_root()``).
        val_scenes: names of real samples held out for validation (file stems, e.g. ``cones``,
            ``Df_1``).
        cache: keep the base samples (rendered world scenes, decoded files) in memory after
            their first use; crops, flips and LR making still run every time.
    """

    source: list[str] = field(default_factory=lambda: ["world"])
    scale: int = 4
    degradation: str = "bicubic"
    mix: DegradationMix = field(default_factory=DegradationMix)
    crop: int = 64
    val_crop: int = 0
    noise_std: float = 0.0
    hole_prob: float = 0.0
    train_size: int = 64
    val_size: int = 8
    world_kind: str = "indoor"
    world_height: int = 0
    world_width: int = 0
    folder: str = ""
    val_folder: str = ""
    depth_scale: float = 1000.0
    root: str = ""
    val_scenes: list[str] = field(default_factory=list)
    cache: bool = True

    def validate(self) -> None:
        for s in self.source:
            if s not in SOURCES:
                raise ValueError(f"data.source: unknown source {s!r}; known: {', '.join(SOURCES)}")
        if not self.source:
            raise ValueError("data.source: empty list")
        if self.scale not in (2, 4, 8, 16):
            raise ValueError(f"data.scale: expected 2, 4, 8 or 16, got {self.scale}")
        try:
            resolve_degradation(self.degradation, self.mix)
        except UserError as e:
            raise ValueError(f"data.degradation: {e}") from None
        for k in ("crop", "val_crop"):
            v = getattr(self, k)
            if v < 0 or v % self.scale:
                raise ValueError(f"data.{k}: {v} must be 0 or a multiple of the scale {self.scale}")
        if self.train_size < 1 or self.val_size < 0:
            raise ValueError("data.train_size must be >= 1 and data.val_size >= 0")


@dataclass
class CTKTModel:
    """Network sizes (``model:`` section); 0 = take the value of ``preset``.

    Attributes:
        preset: ``paper`` (F=256, b=64, N=7), ``small`` (64, 32, 3) or ``tiny`` (32, 16, 2).
        n_feats: ``F``. n_base: ``b``. n_stages: ``N``. de_width: DENet ``b'``.
        spnet_width: SPNet ``c``. spnet_layers: conv layers of the structure CNN.
        spnet_uncertainty: ``softmax_c`` (softmax over the ``c`` channels, METHOD.md A.4's
            [our reading]) or ``sigmoid`` (element-wise).
        spnet_fuse_act: a PReLU after the fusion conv ``F_fuse`` (default, as every other conv
            of the three networks) or the plain conv METHOD.md A.4 writes (false).
        norm: depth normalisation ``minmax`` or ``percentile``; norm_pct: its percentiles.
        init: start DSRNet from these weights: a shipped model name (``dsr-x4``), a run
            folder or a checkpoint (``""``: random initialisation). The sizes must match.
    """

    preset: str = "tiny"
    n_feats: int = 0
    n_base: int = 0
    n_stages: int = 0
    de_width: int = 0
    spnet_width: int = 0
    spnet_layers: int = 3
    spnet_uncertainty: str = "softmax_c"
    spnet_fuse_act: bool = True
    norm: str = "minmax"
    norm_pct: list[float] = field(default_factory=lambda: [1.0, 99.0])
    init: str = ""

    def validate(self) -> None:
        if self.norm not in ("minmax", "percentile"):
            raise ValueError(f"model.norm: expected 'minmax' or 'percentile', got {self.norm!r}")
        from depthduet.models.spnet import SPNet

        if self.spnet_uncertainty not in SPNet.UNCERTAINTY:
            raise ValueError(
                f"model.spnet_uncertainty: expected one of {SPNet.UNCERTAINTY}, "
                f"got {self.spnet_uncertainty!r}"
            )
        if len(self.norm_pct) != 2 or not 0 <= self.norm_pct[0] < self.norm_pct[1] <= 100:
            raise ValueError("model.norm_pct: expected [lo, hi] with 0 <= lo < hi <= 100")
        for k in ("n_feats", "n_base", "n_stages", "de_width", "spnet_width", "spnet_layers"):
            if getattr(self, k) < 0:
                raise ValueError(f"model.{k}: must be >= 0")

    def sizes(self) -> dict[str, int]:
        """Resolved ``F, b, N, b', c`` (preset values where 0)."""
        p = get_preset(self.preset)
        return {
            "n_feats": self.n_feats or p.n_feats,
            "n_base": self.n_base or p.n_base,
            "n_stages": self.n_stages or p.n_stages,
            "de_width": self.de_width or p.b_de,
            "spnet_width": self.spnet_width or p.sp_width,
        }


@dataclass
class CTKTLoss:
    """Loss weights (``loss:`` section), METHOD.md A.5.

    Defaults and the measurements behind them (docs/results/dsr.md, docs/READINGS.md):
    ``lambda_side`` 0.1 (0.5 starved DSRNet's residual: 0.999x bicubic vs 0.790x);
    ``lambda_S`` 0.03: over 5120 steps and three paired seeds it beat 0.1 on every seed (world
    test RMSE -1.5%, MAE -4.7%, Middlebury -1.6%; Sintel -1.3%, on 2 of 3), over 320 steps the two tie
    (+1.4% RMSE, t = 1.1); 0.3 and more push DSRNet back towards bicubic (docs/results/dsr.md,
    loss weights). ``lambda_P`` 0.1, ``lambda_A`` 1
    and ``lambda_ssim`` 1: switching each off or raising it 10-1000x moved DSRNet's world test
    RMSE by no more than seed noise (0.0805-0.0829 m vs 0.0820 m) and DENet's validation error
    by at most 4%; with METHOD.md A.3's teacher rule DSRNet taught in every round of every run,
    so these terms only train DENet (docs/results/dsr.md, "Weights that only reach DENet").

    Attributes:
        lambda_ssim: DENet SSIM term weight. lambda_side: side-output deep supervision.
        lambda_P: output-space distillation. lambda_A: affinity distillation.
        lambda_S: structure loss. side_scales: pooling factors of L_P.
        structure_gt: ``sobel_max`` (Sobel magnitude / its per-sample maximum, METHOD.md A.4's
            [our reading]) or ``sobel`` (the magnitude clipped to [0, 1]).
        sr_loss: DSRNet's reconstruction term: ``l1`` (METHOD.md A.5's ``|D_sr - D_hr|_1``) or
            ``l2`` (the mean squared error: the conditional mean, which RMSE rewards where the
            LR map leaves an edge's position uncertain, e.g. point-sampled LR; docs/results).
        affinity_pool: ``p``. temperature: ``T_a``. affinity_loss: ``l1`` (A.3's
        ``mean |A_s - A_t|``), ``l1_row`` (``p^2`` times that) or ``kl`` (see
        :func:`~depthduet.losses.distill.affinity_loss`).
    """

    sr_loss: str = "l1"
    lambda_ssim: float = 1.0
    lambda_side: float = 0.1
    lambda_P: float = 0.1
    lambda_A: float = 1.0
    lambda_S: float = 0.03
    side_scales: list[int] = field(default_factory=lambda: [1, 2, 4])
    affinity_pool: int = 32
    temperature: float = 0.1
    affinity_loss: str = "l1"
    structure_gt: str = "sobel_max"

    def validate(self) -> None:
        for k in ("lambda_ssim", "lambda_side", "lambda_P", "lambda_A", "lambda_S"):
            if getattr(self, k) < 0:
                raise ValueError(f"loss.{k}: must be >= 0")
        if self.sr_loss not in ("l1", "l2"):
            raise ValueError(f"loss.sr_loss: expected 'l1' or 'l2', got {self.sr_loss!r}")
        if self.affinity_loss not in AFFINITY_LOSSES:
            raise ValueError(
                f"loss.affinity_loss: expected one of {AFFINITY_LOSSES}, got {self.affinity_loss!r}"
            )
        if self.structure_gt not in STRUCTURE_GT:
            raise ValueError(
                f"loss.structure_gt: expected one of {STRUCTURE_GT}, got {self.structure_gt!r}"
            )
        if self.temperature <= 0 or self.affinity_pool < 1:
            raise ValueError("loss.temperature must be > 0 and loss.affinity_pool >= 1")
        if not self.side_scales or any(k < 1 for k in self.side_scales):
            raise ValueError("loss.side_scales: expected a list of integers >= 1")


@dataclass
class CTKTDistill:
    """Cross-task switches (``distill:`` section); all false = DSRNet alone ("w/o CT").

    Attributes:
        output_space: side outputs + multi-scale output distillation (L_side, L_P).
        affinity: affinity distillation (L_A).
        spnet: structure prediction network (L_S).
        side_residual: DSRNet's side outputs add the bicubic upsampling of the LR input,
            ``P_sr^t = head_t(F_sr^t) + bicubic_up(D_lr)`` **[our reading]**, like its final
            output (METHOD.md A.1); off = plain ``head_t(F_sr^t)`` as DENet's.
        side_into_dsr: the deep supervision of DSRNet's side outputs (``lambda_side``, **[our
            reading]**) reaches DSRNet's stage features (true), or trains its side heads only
            (false: ``F_sr^t`` detached inside that term; ``L_P`` still reaches the features when
            DSRNet is the student). DENet's side supervision always reaches DENet. Default false:
            measured over three seeds (x4 world test RMSE), reaching the features made the full
            method 3.6% worse than DSRNet alone at 320 and 1280 steps, heads only 0.7% and 1.6%
            (docs/results/dsr.md).
        warmup_rounds: rounds without distillation at the start.
        teacher_selection: ``error`` (lower previous-round error teaches, A.3), ``improvement``
            (**[our reading]**: the larger relative error drop over the previous round teaches;
            :class:`~depthduet.losses.distill.TeacherSelector`), ``fixed_dsr``, ``fixed_de``.
        de_target: what DENet (and its side heads) predict **[our reading]**, METHOD.md is
            silent: ``normalized`` = the HR depth in DSRNet's space, normalised by the *LR
            depth's* min/max (which DENet never sees, so it can only guess the per-crop
            range); ``data`` = the HR depth in the data's units divided by ``de_scale``, which an
            RGB network can learn (fixed camera, fixed units). In ``data`` mode DENet's own
            losses (L1, SSIM, its side supervision) are computed in that space, and its outputs
            are mapped into the normalised space (``(de_scale * D_de - lo) / (hi - lo)`` with
            the LR's ``lo, hi``) for the teacher errors, SPNet and ``L_P``; ``L_P`` is compared in
            the student's space (DSRNet's normalised space, or DENet's data space).
        de_scale: data units per unit of DENet output in ``data`` mode (e.g. 1 for metres,
            1000 for millimetre PNGs read as raw values).
        spnet_error_grad: ``L_S`` also reaches DSRNet / DENet through their outputs inside
            the uncertainty maps ``U = softmax_c(conv1x1(D - D_hr))`` (true), or only through
            their features ``F^N`` (false: ``D_sr``, ``D_de`` detached there) **[our reading]**:
            METHOD.md A.4 only says not to detach the features. Measured (x4, 320 steps,
            docs/results/dsr.md): no difference beyond seed noise at ``lambda_S`` 0.1, and at
            ``lambda_S`` 1 DSRNet falls back to about bicubic either way (0.97x / 0.96x), so
            the harm of a large structure weight comes through the features.
    """

    output_space: bool = True
    affinity: bool = True
    spnet: bool = True
    side_residual: bool = True
    side_into_dsr: bool = False
    warmup_rounds: int = 1
    teacher_selection: str = "error"
    de_target: str = "normalized"
    de_scale: float = 1.0
    spnet_error_grad: bool = True

    @property
    def cross_task(self) -> bool:
        """Whether any cross-task part is on (false = DSRNet alone, "w/o CT")."""
        return self.output_space or self.affinity or self.spnet

    def validate(self) -> None:
        if self.teacher_selection not in TEACHER_SELECTIONS:
            raise ValueError(
                f"distill.teacher_selection: expected one of {', '.join(TEACHER_SELECTIONS)}, "
                f"got {self.teacher_selection!r}"
            )
        if self.warmup_rounds < 0:
            raise ValueError("distill.warmup_rounds: must be >= 0")
        if self.de_target not in ("normalized", "data"):
            raise ValueError(
                f"distill.de_target: expected 'normalized' or 'data', got {self.de_target!r}"
            )
        if not (self.de_scale > 0 and math.isfinite(self.de_scale)):
            raise ValueError(f"distill.de_scale: must be a finite number > 0, got {self.de_scale}")


@dataclass
class CTKTOptim:
    """Optimiser (``optim:`` section): Adam per network, LR scheduler stepped per epoch.

    Attributes:
        lr: learning rate. betas: Adam betas. weight_decay: L2 weight decay.
        scheduler: ``none``, ``step`` (x ``gamma`` every ``step_size`` epochs) or ``cosine``
            (to 0 over ``engine.epochs``).
    """

    lr: float = 1e-3
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    weight_decay: float = 0.0
    scheduler: str = "step"
    step_size: int = 100
    gamma: float = 0.5

    def validate(self) -> None:
        if self.lr <= 0:
            raise ValueError("optim.lr: must be > 0")
        if len(self.betas) != 2:
            raise ValueError("optim.betas: expected two numbers")
        if self.scheduler not in ("none", "step", "cosine"):
            raise ValueError(
                f"optim.scheduler: expected 'none', 'step' or 'cosine', got {self.scheduler!r}"
            )
        if self.step_size < 1:
            raise ValueError("optim.step_size: must be >= 1")


@dataclass
class CTKTConfig:
    """Whole configuration of the ``ctkt`` recipe (YAML: configs/dsr/*.yaml)."""

    recipe: str = "ctkt"
    engine: EngineConfig = field(default_factory=EngineConfig)
    data: CTKTData = field(default_factory=CTKTData)
    model: CTKTModel = field(default_factory=CTKTModel)
    loss: CTKTLoss = field(default_factory=CTKTLoss)
    distill: CTKTDistill = field(default_factory=CTKTDistill)
    optim: CTKTOptim = field(default_factory=CTKTOptim)

    def validate(self) -> None:
        if self.recipe != "ctkt":
            raise ValueError(f"recipe: this configuration is for 'ctkt', got {self.recipe!r}")


# --------------------------------------------------------------------------------- datasets
class RealDepthDataset(Dataset):
    """The real sample maps of ``../shared/data`` used by ``configs/dsr/real_x4.yaml``.

    ``kind``:

    * ``middlebury``: ``middlebury_2001_2003/Depth/<scene>_2.mat`` (``img_double``, scaled
      disparity) + ``RGB/<scene>.bmp`` (cropped to the depth's size); unit ``disparity_scaled``;
    * ``middlebury_depth``: ``middlebury_2001_depth/Df_*.mat`` (``Df``, x8 disparity), no RGB;
    * ``sintel``: ``sintel_depth/Df_*.mat`` (``Df``, depth-like), no RGB.

    ``names`` keeps (``include=True``) or drops (``include=False``) the samples whose stem (scene
    or file name) is listed. Samples: ``depth (1,H,W)``, ``valid`` (finite and > 0), ``image``
    when RGB exists, ``name``, ``unit``.
    """

    _LAYOUT = {
        "middlebury": ("middlebury_2001_2003/Depth", "*_2.mat"),
        "middlebury_depth": ("middlebury_2001_depth", "Df_*.mat"),
        "sintel": ("sintel_depth", "Df_*.mat"),
    }

    def __init__(
        self, kind: str, root: str | Path | None = None, names: list[str] = (), include=False
    ) -> None:
        from depthduet.paths import data_root

        if kind not in self._LAYOUT:
            raise UserError(f"data.source: unknown real source {kind!r}")
        base = Path(root) if root else data_root()
        if base is None:
            raise UserError("data.root: sample data folder ../shared/data not found")
        if not Path(base).is_dir():
            raise UserError(f"{base}: data.root folder not found")
        sub, pattern = self._LAYOUT[kind]
        folder = Path(base) / sub
        if not folder.is_dir():
            raise UserError(f"{folder}: folder not found (data.source {kind} reads {sub}/)")
        files = sorted(folder.glob(pattern), key=lambda p: _natural_key(p.stem))
        if not files:
            raise UserError(f"{folder}: no {pattern} files (data.source {kind})")
        wanted = set(names)
        self.kind = kind
        self.files = [f for f in files if (self._stem(f) in wanted) == include]

    def _stem(self, p: Path) -> str:
        """Scene name: ``cones`` for ``cones_2.mat`` (Middlebury), the file stem otherwise."""
        if self.kind == "middlebury" and p.stem.endswith("_2"):
            return p.stem[:-2]
        return p.stem

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> dict[str, Any]:
        from depthduet.io import read_image, read_mat

        path = self.files[i]
        depth = np.asarray(read_mat(path), dtype=np.float32)
        valid = np.isfinite(depth) & (depth > 0)
        depth = np.where(valid, depth, 0.0).astype(np.float32)
        out: dict[str, Any] = {
            "depth": torch.from_numpy(depth)[None],
            "valid": torch.from_numpy(valid)[None],
            "name": f"{self.kind}/{self._stem(path)}",
            "unit": "disparity_scaled" if self.kind != "sintel" else "sintel_df",
        }
        if self.kind == "middlebury":
            rgb_path = path.parent.parent / "RGB" / f"{self._stem(path)}.bmp"
            img = read_image(rgb_path, grey=False)
            h, w = depth.shape
            if img.shape[0] < h or img.shape[1] < w:
                raise UserError(f"{rgb_path}: image smaller than its depth map {h}x{w}")
            out["image"] = torch.from_numpy(np.ascontiguousarray(img[:h, :w])).permute(2, 0, 1)
        return out


def _natural_key(s: str) -> list[Any]:
    import re

    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


class _RGBFlag(Dataset):
    """Adds ``has_rgb`` (bool) and a zero ``image`` to depth-only samples so that RGB-D and
    depth-only pairs can share a batch."""

    def __init__(self, base: Dataset) -> None:
        self.base = base

    def __len__(self) -> int:
        return len(self.base)  # type: ignore[arg-type]

    def __getitem__(self, i: int) -> dict[str, Any]:
        s = dict(self.base[i])
        s["has_rgb"] = "image" in s
        if "image" not in s:
            s["image"] = torch.zeros((3, *s["hr"].shape[-2:]), dtype=torch.float32)
        return s


class _Cached(Dataset):
    """Memoises the samples of a base dataset (per process)."""

    def __init__(self, base: Dataset) -> None:
        self.base = base
        self._store: dict[int, dict[str, Any]] = {}

    def __len__(self) -> int:
        return len(self.base)  # type: ignore[arg-type]

    def __getitem__(self, i: int) -> dict[str, Any]:
        if i not in self._store:
            self._store[i] = self.base[i]
        return self._store[i]


def _world(cfg: CTKTData, split: str, n: int) -> Dataset:
    try:
        from depthduet.data.world import WorldConfig, WorldDataset
    except ImportError as e:  # pragma: no cover - the world package ships with depthduet
        raise UserError(f"data.source world: depthduet.data.world unavailable ({e})") from None
    kwargs: dict[str, Any] = {"frames": 1, "stereo": False, "lidar_beams": 0}
    if cfg.world_height:
        kwargs["height"] = cfg.world_height
    if cfg.world_width:
        kwargs["width"] = cfg.world_width
    try:
        wcfg = WorldConfig(**kwargs)
        wcfg.resolved(cfg.world_kind)
    except (TypeError, ValueError, UserError):
        kwargs = {k: v for k, v in kwargs.items() if k in ("height", "width")}
        wcfg = WorldConfig(**kwargs)
    return WorldDataset(cfg.world_kind, split=split, n=n, cfg=wcfg)


def _sources(cfg: CTKTData, train: bool) -> Dataset | None:
    """The base datasets of ``cfg.source`` for one split; ``None`` when validation is empty."""
    parts: list[Dataset] = []
    for src in cfg.source:
        if src == "world":
            n = cfg.train_size if train else cfg.val_size
            if n > 0:
                parts.append(_world(cfg, "train" if train else "val", n))
        elif src in ("folder", "rgbd_folder", "depth_folder"):
            if not cfg.folder:
                raise UserError(f"data.folder: required for data.source [{src}]")
            root = cfg.folder if train else cfg.val_folder
            if not root:
                continue
            if src == "folder":
                from depthduet.data.synth_folder import SynthFolderDataset

                parts.append(SynthFolderDataset(root))
            elif src == "rgbd_folder":
                from depthduet.data.folder import RGBDFolderDataset

                parts.append(RGBDFolderDataset(root, depth_scale=cfg.depth_scale))
            else:
                from depthduet.data.folder import DepthFolderDataset

                parts.append(DepthFolderDataset(root, scale=cfg.depth_scale))
        else:
            ds = RealDepthDataset(src, cfg.root or None, cfg.val_scenes, include=not train)
            if len(ds) > 0:
                parts.append(ds)
    if not parts:
        if not train:
            return None
        raise UserError("data: no training samples")
    base = parts[0] if len(parts) == 1 else ConcatDataset(parts)
    return _Cached(base) if cfg.cache else base


# --------------------------------------------------------------------------------- recipe
@RECIPES.register("ctkt")
class CTKTRecipe(Recipe):
    """METHOD A training (see the module docstring for the loss and the switches)."""

    name = "ctkt"
    config_class = CTKTConfig
    monitor = "rmse"
    monitor_mode = "min"

    def __init__(self, cfg: CTKTConfig) -> None:
        super().__init__()
        self.cfg = cfg
        sz = cfg.model.sizes()
        dist = cfg.distill
        self.dsr = DSRNet(cfg.data.scale, sz["n_feats"], sz["n_base"], sz["n_stages"])
        if cfg.model.init:
            _init_dsrnet(self.dsr, cfg.model.init)
        self.networks["dsr"] = self.dsr
        if dist.cross_task:
            from depthduet.models.denet import DENet

            self.networks["de"] = DENet(sz["n_feats"], sz["de_width"], sz["n_stages"])
        if dist.output_space:
            self.networks["dsr_heads"] = SideHeads(sz["n_base"], sz["n_stages"])
            self.networks["de_heads"] = SideHeads(sz["de_width"], sz["n_stages"])
        if dist.spnet:
            from depthduet.models.spnet import SPNet

            self.networks["sp"] = SPNet(
                sz["n_base"],
                sz["de_width"],
                sz["spnet_width"],
                cfg.model.spnet_layers,
                uncertainty=cfg.model.spnet_uncertainty,
                fuse_act=cfg.model.spnet_fuse_act,
            )
        self.inference_networks = ["dsr"]
        o = cfg.optim
        groups = {
            "dsr": ["dsr", "dsr_heads"],
            "de": ["de", "de_heads"],
            "sp": ["sp"],
        }
        for opt_name, nets in groups.items():
            params = [p for n in nets if n in self.networks for p in self.networks[n].parameters()]
            if not params:
                continue
            opt = torch.optim.Adam(
                params, lr=o.lr, betas=(o.betas[0], o.betas[1]), weight_decay=o.weight_decay
            )
            self.optimizers[opt_name] = opt
            if o.scheduler == "step":
                self.schedulers[opt_name] = torch.optim.lr_scheduler.StepLR(
                    opt, step_size=o.step_size, gamma=o.gamma
                )
            elif o.scheduler == "cosine":
                self.schedulers[opt_name] = torch.optim.lr_scheduler.CosineAnnealingLR(
                    opt, T_max=max(1, cfg.engine.epochs)
                )
        self.selector = TeacherSelector(
            mode=dist.teacher_selection, warmup_rounds=dist.warmup_rounds
        )
        self._norm_pct = (float(cfg.model.norm_pct[0]), float(cfg.model.norm_pct[1]))

    @classmethod
    def from_config(cls, cfg: CTKTConfig) -> CTKTRecipe:
        """Build the networks, optimisers and teacher selector of a validated config."""
        return cls(cfg)

    @classmethod
    def build_datasets(cls, cfg: CTKTConfig) -> tuple[Dataset, Dataset | None]:
        """``DepthSRPairs`` over the configured sources (world by default), with ``has_rgb``.

        Training pairs use random ``data.crop`` patches and flips; validation pairs use the
        centred ``data.val_crop`` (or whole maps) and no randomness.
        """
        d = cfg.data
        seed = cfg.engine.seed
        train_base = _sources(d, True)
        assert train_base is not None
        train = DepthSRPairs(
            train_base,
            d.scale,
            d.degradation,
            crop=d.crop or None,
            noise_std=d.noise_std,
            hole_prob=d.hole_prob,
            train=True,
            seed=seed,
            mix=d.mix,
        )
        val_base = _sources(d, False)
        val = None
        if val_base is not None:
            val = DepthSRPairs(
                val_base,
                d.scale,
                d.degradation,
                crop=d.val_crop or None,
                noise_std=d.noise_std,
                hole_prob=d.hole_prob,
                train=False,
                seed=seed + 1,
                mix=d.mix,
            )
        return _RGBFlag(train), (None if val is None else _RGBFlag(val))

    # -- helpers
    def _normalise(self, batch: dict[str, Any]) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        """``(x_lr, hr_n, hr_valid, lo, hi)``: normalised filled LR input, normalised HR target
        (0 where invalid), HR validity and the per-sample ``lo, hi (B,1,1,1)``."""
        lr = batch["lr"].float()
        lv = batch["lr_valid"].bool()
        hr = batch["hr"].float()
        hv = batch["hr_valid"].bool()
        x, lo, hi = prepare_lr(lr, lv, norm=self.cfg.model.norm, pct=self._norm_pct)
        hr_n = torch.where(hv, (hr - lo) / (hi - lo), torch.zeros_like(hr))
        return x, hr_n, hv, lo, hi

    @staticmethod
    def _rgb_rows(batch: dict[str, Any], n: int, device: torch.device) -> Tensor:
        flag = batch.get("has_rgb")
        if flag is None:
            has = torch.full((n,), "image" in batch, dtype=torch.bool)
        else:
            has = torch.as_tensor(flag, dtype=torch.bool).reshape(n)
        return has.to(device)

    # -- engine contract
    def training_step(self, batch: dict[str, Any], state: dict[str, Any]) -> StepOutput:
        """The loss of METHOD.md A.5 on one batch, with the switches of :class:`CTKTDistill`::

            L = |D_sr - D_hr|_1 + (|D_de - D_hr|_1 + lambda_ssim (1 - SSIM(D_de, D_hr)) / 2)
                + lambda_side L_side + lambda_P L_P + lambda_A L_A + lambda_S L_S

        in DSRNet's LR-normalised units (DENet's own terms in its ``distill.de_target`` space),
        means over valid HR pixels. DENet, ``L_P``, ``L_A``
        and SPNet only use the batch's RGB-D samples (``has_rgb``); the round's teacher
        (:class:`~depthduet.losses.distill.TeacherSelector`, A.3) decides who is detached in
        ``L_P`` / ``L_A``, and warm-up rounds skip them. The batch's mean absolute errors of
        both networks are added to the round statistics that pick the next teacher.

        Args:
            batch: ``lr (B,1,h,w)``, ``lr_valid``, ``hr (B,1,sh,sw)``, ``hr_valid``, and for
                RGB-D samples ``image (B,3,sh,sw)`` and ``has_rgb (B,)``.
            state: the engine's step state (unused).

        Returns:
            ``loss`` and every term (detached) for logging: ``l1_sr``, ``side_sr``, ``l1_de``,
            ``ssim_de``, ``side_de``, ``distill_P``, ``distill_A``, ``structure``, ``e_dsr``,
            ``e_de``, ``teacher_dsr``.
        """
        lc, dist = self.cfg.loss, self.cfg.distill
        x, hr_n, hv, lo, hi = self._normalise(batch)
        d_sr, f_sr = self.net("dsr").forward_features(x)
        l_sr = masked_l1(d_sr, hr_n, hv)
        out = StepOutput(l1_sr=l_sr.detach())
        if lc.sr_loss == "l2":
            l_sr = masked_mean((d_sr - hr_n) ** 2, hv)
            out["l2_sr"] = l_sr.detach()
        total = l_sr

        side_sr = None
        if dist.output_space:
            heads = self.net("dsr_heads")
            side_sr = heads(f_sr)
            up = None
            if dist.side_residual:
                up = F.interpolate(x, size=d_sr.shape[-2:], mode="bicubic", align_corners=False)
                side_sr = [p + up for p in side_sr]
            side_sup = side_sr
            if not dist.side_into_dsr:  # deep supervision trains the heads only
                side_sup = heads([f.detach() for f in f_sr])
                if up is not None:
                    side_sup = [p + up for p in side_sup]
            l_side_sr = sum(masked_l1(p, hr_n, hv) for p in side_sup)
            total = total + lc.lambda_side * l_side_sr
            out["side_sr"] = l_side_sr.detach()

        rows = self._rgb_rows(batch, x.shape[0], x.device) if dist.cross_task else None
        if rows is not None and bool(rows.any()):
            all_rows = bool(rows.all())

            def sel(t: Tensor) -> Tensor:
                return t if all_rows else t[rows]

            image = sel(batch["image"].float())
            hr_c, hv_c, d_sr_c = sel(hr_n), sel(hv), sel(d_sr)
            f_sr_c = [sel(f) for f in f_sr]
            space = _DESpace(dist.de_target, dist.de_scale, sel(lo), sel(hi))
            # DENet's own target: normalised HR, or HR in data units / de_scale
            de_tgt = space.from_norm(hr_c)
            de_raw, f_de = self.net("de").forward_features(image)
            d_de = space.to_norm(de_raw)  # in DSRNet's normalised space
            l_de = masked_l1(de_raw, de_tgt, hv_c)
            total = total + l_de
            out["l1_de"] = l_de.detach()
            if lc.lambda_ssim > 0:
                from depthduet.losses.photometric import ssim

                target = _filled(de_tgt, hv_c)
                l_ssim = masked_mean(ssim(de_raw, target), hv_c)
                total = total + lc.lambda_ssim * l_ssim
                out["ssim_de"] = l_ssim.detach()
            # round statistics for teacher selection (METHOD.md A.3), in normalised units
            e_dsr = masked_l1(d_sr_c.detach(), hr_c, hv_c)
            e_de = masked_l1(d_de.detach(), hr_c, hv_c)
            self.selector.update(float(e_dsr), float(e_de), weight=float(hv_c.sum().clamp_min(1)))
            out["e_dsr"], out["e_de"] = e_dsr, e_de

            side_de_raw = None
            if dist.output_space:
                side_de_raw = self.net("de_heads")(f_de)
                l_side_de = sum(masked_l1(p, de_tgt, hv_c) for p in side_de_raw)
                total = total + lc.lambda_side * l_side_de
                out["side_de"] = l_side_de.detach()

            if self.selector.distill:
                sr_teaches = self.selector.teacher == "dsr"
                out["teacher_dsr"] = 1.0 if sr_teaches else 0.0
                if dist.output_space and side_sr is not None and side_de_raw is not None:
                    p_sr = [sel(p) for p in side_sr]
                    if sr_teaches:  # compared in DENet's space
                        stu, tea = side_de_raw, [space.from_norm(p) for p in p_sr]
                    else:  # compared in DSRNet's normalised space
                        stu, tea = p_sr, [space.to_norm(p) for p in side_de_raw]
                    l_p = output_space_loss(stu, tea, hv_c, scales=lc.side_scales)
                    total = total + lc.lambda_P * l_p
                    out["distill_P"] = l_p.detach()
                if dist.affinity:
                    l_a = d_sr.new_zeros(())
                    for fs, fd in zip(f_sr_c, f_de):
                        a_sr = affinity_matrix(fs, lc.affinity_pool, lc.temperature)
                        a_de = affinity_matrix(fd, lc.affinity_pool, lc.temperature)
                        stu, tea = (a_de, a_sr) if sr_teaches else (a_sr, a_de)
                        l_a = l_a + affinity_loss(stu, tea, lc.affinity_loss)
                    total = total + lc.lambda_A * l_a
                    out["distill_A"] = l_a.detach()

            if dist.spnet:
                if dist.spnet_error_grad:
                    u_sr_in, u_de_in = d_sr_c, d_de
                else:  # L_S through the features only (A.4 [our reading])
                    u_sr_in, u_de_in = d_sr_c.detach(), d_de.detach()
                s_pred = self.net("sp")(f_sr_c[-1], f_de[-1], u_sr_in, u_de_in, hr_c, hv_c)
                s_gt, s_valid = structure_gt(hr_c, hv_c, lc.structure_gt)
                l_s = structure_loss(s_pred, s_gt, s_valid)
                total = total + lc.lambda_S * l_s
                out["structure"] = l_s.detach()
        out["loss"] = total
        return out

    @torch.no_grad()
    def validation_step(self, batch: dict[str, Any]) -> dict[str, float]:
        """RMSE / MAE of DSRNet vs HR in the data's units (``rmse``, ``mae``) and normalised
        units (``rmse_norm``), and the bicubic upsampling of the same filled LR for reference
        (``rmse_bicubic``, ``rmse_bicubic_norm``), and DENet's RMSE on the RGB-D samples in both
        (``rmse_de``, ``rmse_de_norm``); per-sample values averaged over the batch."""
        x, hr_n, hv, lo, hi = self._normalise(batch)
        hr = batch["hr"].float()
        d_n = self.net("dsr")(x)
        bic_n = F.interpolate(x, size=hr.shape[-2:], mode="bicubic", align_corners=False)
        d = denormalize_depth(d_n, lo, hi)
        bic = denormalize_depth(bic_n, lo, hi)
        m = {
            "rmse": _rmse(d, hr, hv),
            "mae": _per_sample(lambda e: e.abs(), d - hr, hv),
            "rmse_norm": _rmse(d_n, hr_n, hv),
            "rmse_bicubic": _rmse(bic, hr, hv),
            "rmse_bicubic_norm": _rmse(bic_n, hr_n, hv),
        }
        if "de" in self.networks:
            rows = self._rgb_rows(batch, x.shape[0], x.device)
            if bool(rows.any()):
                dist = self.cfg.distill
                space = _DESpace(dist.de_target, dist.de_scale, lo[rows], hi[rows])
                d_de = space.to_norm(self.net("de")(batch["image"].float()[rows]))
                m["rmse_de_norm"] = _rmse(d_de, hr_n[rows], hv[rows])
                m["rmse_de"] = _rmse(
                    denormalize_depth(d_de, lo[rows], hi[rows]), hr[rows], hv[rows]
                )
        return m

    # -- rounds
    def on_round_start(self, state: dict[str, Any]) -> dict[str, Any]:
        """Logs who teaches this round (``teacher_dsr`` 1/0) and whether it distils."""
        if not self.cfg.distill.cross_task:
            return {}
        return {
            "teacher_dsr": 1.0 if self.selector.teacher == "dsr" else 0.0,
            "distill_on": 1.0 if self.selector.distill and self.cfg.distill.cross_task else 0.0,
        }

    def on_round_end(self, state: dict[str, Any]) -> dict[str, Any]:
        """Closes the round: logs its mean ``e_dsr`` / ``e_de`` and the next teacher.

        The round errors are first averaged over all training processes
        (:meth:`~depthduet.engine.recipe.Recipe.reduce_mean`), so that under DDP every process
        picks the same teacher from the errors over the whole round (METHOD.md A.3)."""
        if not self.cfg.distill.cross_task:
            return {}
        self.selector.reduce(self.reduce_mean)
        rec = self.selector.end_round()
        return {
            "round_e_dsr": rec["e_dsr"],
            "round_e_de": rec["e_de"],
            "next_teacher_dsr": 1.0 if rec["teacher"] == "dsr" else 0.0,
        }

    def state_dict(self) -> dict[str, Any]:
        """Round state beside the weights: the teacher selector (METHOD.md A.3)."""
        return {"selector": self.selector.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if "selector" in state:
            self.selector.load_state_dict(state["selector"])


def _init_dsrnet(net: DSRNet, source: str) -> None:
    """Copy DSRNet weights from a shipped model name or a checkpoint into ``net`` (``model.init``).

    Raises:
        UserError: an unknown model, an unreadable checkpoint, or weights of other sizes.
    """
    from depthduet.inference.dsr import DepthUpsampler

    if Path(source).exists():
        up = DepthUpsampler.from_checkpoint(source, device="cpu", channels_last=False)
    else:
        up = DepthUpsampler.from_pretrained(source, device="cpu", channels_last=False)
    assert up.network is not None
    state = {k: v.float() for k, v in up.network.state_dict().items()}
    mine = net.state_dict()
    if (
        up.scale != net.scale
        or any(k not in mine or mine[k].shape != v.shape for k, v in state.items())
        or len(state) != len(mine)
    ):
        raise UserError(
            f"model.init {source}: its DSRNet (x{up.scale}) does not match this configuration's "
            f"sizes (x{net.scale}, model.preset / n_feats / n_base / n_stages)"
        )
    net.load_state_dict(state)


class _DESpace:
    """Maps between DSRNet's normalised space and DENet's output space (``distill.de_target``).

    ``normalized``: the identity. ``data``: DENet outputs ``depth / scale`` in the data's units,
    and ``to_norm(y) = (scale * y - lo) / (hi - lo)``, ``from_norm(z) = (z * (hi - lo) + lo) /
    scale`` with the per-sample LR ``lo, hi (B,1,1,1)``. Both maps are affine per sample, so
    they commute with the average pooling of ``L_P``.
    """

    def __init__(self, mode: str, scale: float, lo: Tensor, hi: Tensor) -> None:
        self.data = mode == "data"
        self.scale, self.lo, self.span = float(scale), lo, hi - lo

    def to_norm(self, y: Tensor) -> Tensor:
        return (y * self.scale - self.lo) / self.span if self.data else y

    def from_norm(self, z: Tensor) -> Tensor:
        return (z * self.span + self.lo) / self.scale if self.data else z


def _filled(x: Tensor, valid: Tensor) -> Tensor:
    from depthduet.models.dbpn import fill_invalid

    return fill_invalid(x, valid)


def _per_sample(fn: Any, err: Tensor, valid: Tensor) -> float:
    w = valid.to(err.dtype)
    per = (fn(err) * w).flatten(1).sum(1) / w.flatten(1).sum(1).clamp_min(1.0)
    return float(per.mean())


def _rmse(pred: Tensor, target: Tensor, valid: Tensor) -> float:
    w = valid.to(pred.dtype)
    mse = ((pred - target) ** 2 * w).flatten(1).sum(1) / w.flatten(1).sum(1).clamp_min(1.0)
    return float(mse.sqrt().mean()) if math.isfinite(float(mse.sum())) else float("nan")
