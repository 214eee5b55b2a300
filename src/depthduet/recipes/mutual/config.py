"""Configuration of the ``mutual`` recipe (METHOD.md B): one dataclass per YAML section.

:class:`MutualConfig` is the whole file (``configs/mde/*.yaml``); its sections are
:class:`MDEModelConfig` (``model``), :class:`MutualLossConfig` (``loss``),
:class:`MutualAugmentConfig` (``augment``), :class:`MDEOptimConfig` (``optim``),
:class:`MDEDataConfig` (``data``), :class:`MDEEvalConfig` (``eval``) and the engine's
:class:`~depthduet.engine.config.EngineConfig` (``engine``). Every key is documented on its
class; ``validate()`` runs when a file is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import depthduet.data.mde_dataset  # noqa: F401  (registers the data.dataset names)
from depthduet.config import check_min, check_range
from depthduet.data.augment import ColorJitterConfig
from depthduet.data.registry import MDE_DATASETS
from depthduet.data.world.config import WorldConfig
from depthduet.engine.config import EngineConfig
from depthduet.losses.uncertainty_distill import DISTILL_SPACES

__all__ = [
    "MODES",
    "SELF_SUP",
    "MDEDataConfig",
    "MDEEvalConfig",
    "MDEModelConfig",
    "MDEOptimConfig",
    "MutualAugmentConfig",
    "MutualConfig",
    "MutualLossConfig",
]

MODES = ("semi", "sup", "self")
SELF_SUP = ("M", "S", "MS")


@dataclass
class MDEModelConfig:
    """Networks of METHOD.md B.

    Attributes:
        encoder_weights: torchvision-layout ImageNet ResNet-18 weights file ("" = random init),
            used for both depth encoders and the pose encoder.
        scales: output scales of the decoder (0 = full resolution).
        d_min, d_max: depth range of ``D = 1 / (1/d_max + (1/d_min - 1/d_max) sigma_d)``.
        pose_scale: multiplier of the pose head's output (small initial motions).
        init_depth: depth (m) the untrained network predicts (disparity-head bias); 0 keeps the
            default init (sigma ~ 0.5, about 0.2 m), with which stereo warps start outside the
            image and view synthesis from scratch collapsed to d_min on the world
            **[our reading]**.
    """

    encoder_weights: str = ""
    scales: list[int] = field(default_factory=lambda: [0, 1, 2, 3])
    d_min: float = 0.1
    d_max: float = 100.0
    pose_scale: float = 0.01
    init_depth: float = 10.0

    def validate(self) -> None:
        if not 0 < self.d_min < self.d_max:
            raise ValueError(
                f"model.d_min/d_max: need 0 < d_min < d_max, got {self.d_min}, {self.d_max}"
            )
        if not self.scales or any(s < 0 or s > 3 for s in self.scales):
            raise ValueError(f"model.scales: values must be in 0..3, got {list(self.scales)}")
        if 0 not in self.scales:
            raise ValueError("model.scales: must contain 0 (full resolution)")
        if self.init_depth and not self.d_min < self.init_depth < self.d_max:
            raise ValueError(
                f"model.init_depth: {self.init_depth} must lie inside (d_min, d_max) or be 0"
            )


@dataclass
class MutualLossConfig:
    """Loss weights of METHOD.md B.1-B.6.

    Attributes:
        lambda_c_u: ``lambda_c`` of the supervised branch (relative-error level of full
            confidence).
        lambda_c_s: ``lambda_c`` of the self-supervised branch (photometric-error level).
        confidence: use ``L_conf`` (B.1); ``false`` averages the plain per-pixel losses.
        point_filtering: add ``L_pf`` (B.2); ablation switch.
        pf_m: the pseudo-error ``M`` of pixels without LiDAR.
        lambda_pf: weight of ``L_pf``.
        alpha: SSIM weight of the photometric error.
        automask: monodepth2 auto-masking: pixels whose un-warped (identity) error is lower
            than the best warped error are masked out.
        automask_mean: how ``L_ss`` averages under auto-masking: ``all`` (default, as
            monodepth2's implementation: a masked pixel keeps its constant, gradient-free
            identity error and the mean runs over all pixels) or ``kept`` (METHOD.md B.3 as
            written: ``L_conf(pe_min, C_s)`` over the kept pixels only).
        su_error: the per-pixel error of ``L_su``: ``relative`` ``|D_u - D*| / D*`` (B.2's
            [our reading]) or ``absolute`` ``|D_u - D*|`` in metres (then ``lambda_c_u`` and
            ``pf_m`` are in metres too).
        distill_space: the distance of ``L_u,d`` / ``L_s,d``: ``log`` ``|log D - log D'|``
            (B.4's [our reading]) or ``linear`` ``|D - D'|`` in metres.
        smoothness: edge-aware smoothness weight at scale 0 (scale s uses ``w / 2^s``).
        distill: mutual distillation (B.4); ablation switch (only in ``semi`` mode).
        lambda_ud: weight of ``L_u,d`` (teaches ``N_u``).
        lambda_sd: weight of ``L_s,d`` (teaches ``N_s``).
        distill_warmup_steps: optimiser steps without distillation at the start.
    """

    lambda_c_u: float = 0.1
    lambda_c_s: float = 0.1
    confidence: bool = True
    point_filtering: bool = True
    pf_m: float = 1.0
    lambda_pf: float = 0.1
    alpha: float = 0.85
    automask: bool = True
    automask_mean: str = "all"
    su_error: str = "relative"
    distill_space: str = "log"
    smoothness: float = 1e-3
    distill: bool = True
    lambda_ud: float = 0.1
    lambda_sd: float = 0.01
    distill_warmup_steps: int = 0

    def validate(self) -> None:
        for k in ("lambda_c_u", "lambda_c_s"):
            check_min(f"loss.{k}", getattr(self, k), strict=True, got=True)
        for k in ("pf_m", "lambda_pf", "smoothness", "lambda_ud", "lambda_sd"):
            check_min(f"loss.{k}", getattr(self, k), got=True)
        check_range("loss.alpha", self.alpha, 0, 1)
        check_min("loss.distill_warmup_steps", self.distill_warmup_steps)
        for key, allowed in (
            ("automask_mean", ("all", "kept")),
            ("su_error", ("relative", "absolute")),
            ("distill_space", DISTILL_SPACES),
        ):
            if getattr(self, key) not in allowed:
                raise ValueError(
                    f"loss.{key}: expected one of {allowed}, got {getattr(self, key)!r}"
                )


def _strong() -> ColorJitterConfig:
    return ColorJitterConfig(
        prob=1.0, brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1, grey_prob=0.2,
        erase_prob=0.3,
    )  # fmt: skip


def _weak() -> ColorJitterConfig:
    return ColorJitterConfig(prob=0.5, brightness=0.2, contrast=0.2, saturation=0.2, hue=0.05)


@dataclass
class MutualAugmentConfig:
    """Augmentation of METHOD.md B.5.

    Attributes:
        flip_prob: probability of the shared horizontal flip.
        separate: strong colour augmentation for ``N_u``, weak for ``N_s``; ``false`` (ablation,
            **[our reading]**) feeds both branches the same weakly augmented image.
        strong: augmentation of ``N_u``'s input (random erasing via ``strong.erase_prob``).
        weak: augmentation of ``N_s``'s and the pose net's inputs.
    """

    flip_prob: float = 0.5
    separate: bool = True
    strong: ColorJitterConfig = field(default_factory=_strong)
    weak: ColorJitterConfig = field(default_factory=_weak)

    def validate(self) -> None:
        check_range("augment.flip_prob", self.flip_prob, 0, 1)


@dataclass
class MDEOptimConfig:
    """Adam per network, step decay per epoch (monodepth2: lr 1e-4, x0.1 after 15 epochs)."""

    lr: float = 1e-4
    pose_lr: float = 1e-4
    weight_decay: float = 0.0
    step_size: int = 15
    gamma: float = 0.1

    def validate(self) -> None:
        if self.lr <= 0 or self.pose_lr <= 0:
            raise ValueError("optim.lr/pose_lr: must be > 0")
        check_min("optim.step_size", self.step_size, 1)


@dataclass
class MDEDataConfig:
    """Training / validation data.

    Attributes:
        dataset: a name of :data:`~depthduet.data.registry.MDE_DATASETS`
            (:mod:`depthduet.data.mde_dataset`): ``world`` (the procedural driving world),
            ``kitti`` (KITTI raw) or ``cityscapes``.
        kind: world scene kind (``driving``).
        train_size, val_size: number of world samples (``val_size`` 0 = no validation).
        world: renderer settings (height/width give the training resolution).
        root: dataset root for ``kitti`` / ``cityscapes``.
        train_split, val_split: split files (KITTI: e.g. Eigen-Zhou train / Eigen test lists).
        annotated_root: KITTI depth benchmark root (improved ground truth for validation).
        height, width: training resolution for ``kitti`` / ``cityscapes`` (multiples of 32).
        sup_key: sample key of the sparse metric depth supervising ``N_u`` (``lidar``; Cityscapes
            has no LiDAR: ``depth``, its SGM-disparity depth).
        cache: keep rendered world samples in memory after their first use (about 2.2 MB per
            sample at 96x320; each DataLoader worker holds its own copy).
    """

    dataset: str = "world"
    kind: str = "driving"
    train_size: int = 256
    val_size: int = 16
    world: WorldConfig = field(default_factory=WorldConfig)
    root: str = ""
    train_split: str = ""
    val_split: str = ""
    annotated_root: str = ""
    height: int = 96
    width: int = 320
    sup_key: str = "lidar"
    cache: bool = True

    def validate(self) -> None:
        if self.dataset not in MDE_DATASETS:
            raise ValueError(
                f"data.dataset: expected one of {', '.join(MDE_DATASETS.names())}, "
                f"got {self.dataset!r}"
            )
        if self.train_size < 1 or self.val_size < 0:
            raise ValueError("data.train_size must be >= 1 and data.val_size >= 0")

    def size(self) -> tuple[int, int]:
        """Training resolution ``(H, W)`` (the world renderer's for ``world``)."""
        return MDE_DATASETS.get(self.dataset).size(self)


@dataclass
class MDEEvalConfig:
    """Validation settings.

    Attributes:
        protocol: named protocol of :mod:`depthduet.evaluation.protocols`.
        conf_fraction: share of least / most confident pixels in the informativeness ratio.
    """

    protocol: str = "kitti-eigen-benchmark"
    conf_fraction: float = 0.2


@dataclass
class MutualConfig:
    """Whole configuration of the ``mutual`` recipe (a YAML file under configs/mde/).

    Attributes:
        recipe: always ``mutual``.
        mode: ``semi`` (both branches), ``sup`` (``N_u`` only) or ``self`` (``N_s`` only).
        self_sup: self-supervision of ``N_s``: ``M``, ``S`` or ``MS``.
        eval_branch: branch validated and monitored: ``u``, ``s`` or ``auto`` (``u`` unless
            mode is ``self``).
    """

    recipe: str = "mutual"
    mode: str = "semi"
    self_sup: str = "MS"
    eval_branch: str = "auto"
    model: MDEModelConfig = field(default_factory=MDEModelConfig)
    loss: MutualLossConfig = field(default_factory=MutualLossConfig)
    augment: MutualAugmentConfig = field(default_factory=MutualAugmentConfig)
    optim: MDEOptimConfig = field(default_factory=MDEOptimConfig)
    data: MDEDataConfig = field(default_factory=MDEDataConfig)
    eval: MDEEvalConfig = field(default_factory=MDEEvalConfig)
    engine: EngineConfig = field(default_factory=EngineConfig)

    def validate(self) -> None:
        if self.recipe != "mutual":
            raise ValueError(f"recipe: expected 'mutual', got {self.recipe!r}")
        if self.mode not in MODES:
            raise ValueError(f"mode: expected one of {', '.join(MODES)}, got {self.mode!r}")
        if self.self_sup not in SELF_SUP:
            raise ValueError(f"self_sup: expected M, S or MS, got {self.self_sup!r}")
        if self.eval_branch not in ("auto", "u", "s"):
            raise ValueError(f"eval_branch: expected auto, u or s, got {self.eval_branch!r}")
        b = self.resolved_eval_branch()
        if b not in self.branches():
            raise ValueError(f"eval_branch: {b!r} is not trained in mode {self.mode!r}")

    def branches(self) -> tuple[str, ...]:
        """Trained branches: ``("u",)``, ``("s",)`` or ``("u", "s")``."""
        return {"semi": ("u", "s"), "sup": ("u",), "self": ("s",)}[self.mode]

    def resolved_eval_branch(self) -> str:
        """The branch validated and exported: ``eval_branch``, or for ``auto`` ``s`` in self mode, else ``u``."""
        if self.eval_branch != "auto":
            return self.eval_branch
        return "s" if self.mode == "self" else "u"
