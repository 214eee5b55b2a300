"""The configuration of the ``ctkt`` recipe (METHOD.md A): one dataclass per YAML section
(``data``, ``model``, ``loss``, ``distill``, ``optim``) and :class:`CTKTConfig`, the whole file
(``configs/dsr/*.yaml``). Each section's ``validate`` raises ``ValueError`` naming the key,
which :func:`depthduet.config.load_config` reports as a :class:`~depthduet.config.ConfigError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import depthduet.data.dsr_dataset  # noqa: F401  (registers the data.source names)
from depthduet.config import check_min
from depthduet.data.degradation import DegradationMix
from depthduet.data.degrade import resolve_degradation
from depthduet.data.registry import DSR_DATASETS
from depthduet.engine.config import EngineConfig
from depthduet.errors import UserError
from depthduet.losses.distill import AFFINITY_LOSSES
from depthduet.losses.structure import STRUCTURE_GT
from depthduet.models.dbpn import get_preset
from depthduet.recipes.ctkt.teacher import check_teacher_rule

__all__ = ["CTKTConfig", "CTKTData", "CTKTDistill", "CTKTLoss", "CTKTModel", "CTKTOptim"]


@dataclass
class CTKTData:
    """What to train on (``data:`` section).

    Attributes:
        source: datasets to mix, by their names in
            :data:`~depthduet.data.registry.DSR_DATASETS` (:mod:`depthduet.data.dsr_dataset`):
            ``world`` (procedural indoor RGB-D), ``middlebury`` (2001/2003
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
            if s not in DSR_DATASETS:
                known = ", ".join(DSR_DATASETS.names())
                raise ValueError(f"data.source: unknown source {s!r}; known: {known}")
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
            check_min(f"model.{k}", getattr(self, k))

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
            check_min(f"loss.{k}", getattr(self, k))
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
            :class:`~depthduet.recipes.ctkt.teacher.TeacherSelector`), ``fixed_dsr``, ``fixed_de``.
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
        check_teacher_rule(self.teacher_selection, self.warmup_rounds)
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
        check_min("optim.lr", self.lr, strict=True)
        if len(self.betas) != 2:
            raise ValueError("optim.betas: expected two numbers")
        if self.scheduler not in ("none", "step", "cosine"):
            raise ValueError(
                f"optim.scheduler: expected 'none', 'step' or 'cosine', got {self.scheduler!r}"
            )
        check_min("optim.step_size", self.step_size, 1)


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
