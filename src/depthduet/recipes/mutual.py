"""METHOD.md B: semi-supervised monocular depth with mutual distillation (Baek et al. 2022).

Two networks of the same architecture (:class:`~depthduet.models.mde.DepthNet`) see the same
frames: ``depth_u`` (``N_u``) learns from sparse LiDAR, ``depth_s`` (``N_s``) from view
synthesis (``M`` monocular video with a :class:`~depthduet.models.pose.PoseNet`, ``S`` stereo
with the known transform, or ``MS``). Each step:

1. shared horizontal flip of the batch (images, maps, ``K``, transforms; B.5);
2. separate colour augmentation: strong (+ random erasing) for ``N_u``, weak for ``N_s`` and the
   pose net; the photometric loss uses the un-augmented (only flipped) frames (B.5);
3. ``L_su`` + ``lambda_pf L_pf`` on ``N_u`` (B.1, B.2), ``L_ss`` on ``N_s`` (B.3), each
   averaged over the 4 scales (disparity and confidence upsampled to full resolution);
4. mutual distillation ``lambda_ud L_u,d + lambda_sd L_s,d`` at full resolution (B.4), with
   per-image median alignment of ``D_s`` for ``M``-only self-supervision.

Modes (``mode``): ``sup`` (``N_u`` only), ``self`` (``N_s`` only, ``self_sup`` = M, S or MS),
``semi`` (both). Ablations: ``loss.point_filtering: false``, ``augment.separate: false``,
``loss.distill: false``.

Validation: the seven depth errors of the evaluated branch (``eval_branch``) under a named
protocol (default ``kitti-eigen-benchmark``: ``1e-3 < gt < 80`` m, no crop, predictions clamped),
per-image median scaling only for the scale-ambiguous ``M``-only model, plus the
confidence-informativeness ratio (error of the 20% least vs the 20% most confident pixels).

Choices where METHOD.md is silent **[our reading]**:

- auto-masked pixels keep their constant identity error and ``L_conf`` averages over all
  pixels (monodepth2's implementation); averaging over kept pixels only let the depth of
  ``N_s`` collapse to ``d_min`` on the world;
- the distillation terms use the full-resolution outputs only (scale 0);
- ``augment.separate: false`` feeds both branches the same weakly jittered image;
- ``model.init_depth`` (default 10 m) sets the disparity-head bias so that view synthesis has a
  gradient from the first step when no ImageNet weights are given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from depthduet.data.augment import ColorAugment, ColorJitterConfig, hflip_batch
from depthduet.data.world.config import WorldConfig
from depthduet.engine.config import EngineConfig
from depthduet.engine.recipe import Recipe, StepOutput
from depthduet.errors import UserError
from depthduet.geometry import pose_vec_to_matrix, warp
from depthduet.losses.confidence import (
    confidence_loss,
    masked_mean,
    point_filtering_loss,
    relative_error,
)
from depthduet.losses.photometric import identity_error, min_reprojection
from depthduet.losses.smoothness import edge_aware_smoothness
from depthduet.losses.uncertainty_distill import (
    DISTILL_SPACES,
    median_align,
    uncertainty_distillation,
)
from depthduet.models.mde import DepthNet, confidence_informativeness, disp_to_depth
from depthduet.models.pose import PoseNet
from depthduet.recipes import RECIPES

__all__ = [
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
            if getattr(self, k) <= 0:
                raise ValueError(f"loss.{k}: must be > 0, got {getattr(self, k)}")
        for k in ("pf_m", "lambda_pf", "smoothness", "lambda_ud", "lambda_sd"):
            if getattr(self, k) < 0:
                raise ValueError(f"loss.{k}: must be >= 0, got {getattr(self, k)}")
        if not 0 <= self.alpha <= 1:
            raise ValueError(f"loss.alpha: must be in [0, 1], got {self.alpha}")
        if self.distill_warmup_steps < 0:
            raise ValueError("loss.distill_warmup_steps: must be >= 0")
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
        if not 0 <= self.flip_prob <= 1:
            raise ValueError(f"augment.flip_prob: must be in [0, 1], got {self.flip_prob}")


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
        if self.step_size < 1:
            raise ValueError("optim.step_size: must be >= 1")


@dataclass
class MDEDataConfig:
    """Training / validation data.

    Attributes:
        dataset: ``world`` (the procedural driving world), ``kitti`` (KITTI raw) or
            ``cityscapes``.
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
        if self.dataset not in ("world", "kitti", "cityscapes"):
            raise ValueError(
                f"data.dataset: expected world, kitti or cityscapes, got {self.dataset!r}"
            )
        if self.train_size < 1 or self.val_size < 0:
            raise ValueError("data.train_size must be >= 1 and data.val_size >= 0")

    def size(self) -> tuple[int, int]:
        """Training resolution ``(H, W)``."""
        if self.dataset == "world":
            r = self.world.resolved(self.kind)
            return int(r.height), int(r.width)
        return self.height, self.width


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


def is_scale_ambiguous(cfg: MutualConfig | dict[str, Any], branch: str) -> bool:
    """True when ``branch``'s depth has no metric scale: ``N_s`` trained on monocular video
    alone (mode ``self``, ``self_sup: M``). In ``semi`` mode distillation from ``N_u`` and in
    ``S``/``MS`` the stereo baseline fix the scale."""
    if isinstance(cfg, dict):
        mode, ss = cfg.get("mode", "semi"), cfg.get("self_sup", "MS")
    else:
        mode, ss = cfg.mode, cfg.self_sup
    return branch == "s" and mode == "self" and ss == "M"


def build_depth_net(model: MDEModelConfig | dict[str, Any], load_imagenet: bool = True) -> DepthNet:
    """A :class:`DepthNet` from the ``model`` section (ImageNet weights only when asked)."""
    m = model if isinstance(model, dict) else model.__dict__
    weights = m.get("encoder_weights") or None
    return DepthNet(
        encoder_weights=weights if load_imagenet else None,
        scales=tuple(m.get("scales", (0, 1, 2, 3))),
        d_min=float(m.get("d_min", 0.1)),
        d_max=float(m.get("d_max", 100.0)),
        init_depth=float(m.get("init_depth", 0.0)),
    )


class CachedDataset(torch.utils.data.Dataset):
    """Keeps each sample of a deterministic dataset (the procedural world renders the same
    scene for an index every time) after its first use, so later epochs skip rendering."""

    def __init__(self, base: torch.utils.data.Dataset) -> None:
        self.base = base
        self._items: dict[int, Any] = {}

    def __len__(self) -> int:
        return len(self.base)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> Any:
        if index not in self._items:
            self._items[index] = self.base[index]
        return self._items[index]


def _up(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


@RECIPES.register("mutual")
class MutualRecipe(Recipe):
    """The training method of METHOD.md B (see the module docstring)."""

    name = "mutual"
    config_class = MutualConfig
    monitor = "abs_rel"
    monitor_mode = "min"

    def __init__(self, cfg: MutualConfig) -> None:
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        self.branches = cfg.branches()
        self.eval_branch = cfg.resolved_eval_branch()
        self.use_pose = "s" in self.branches and "M" in cfg.self_sup
        self.use_stereo = "s" in self.branches and "S" in cfg.self_sup
        for b in self.branches:
            self.networks[f"depth_{b}"] = build_depth_net(cfg.model)
        if self.use_pose:
            self.networks["pose"] = PoseNet(cfg.model.encoder_weights or None, cfg.model.pose_scale)
        o = cfg.optim
        for name, net in self.networks.items():
            lr = o.pose_lr if name == "pose" else o.lr
            opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=o.weight_decay)
            self.optimizers[name] = opt
            self.schedulers[name] = torch.optim.lr_scheduler.StepLR(opt, o.step_size, o.gamma)
        self.inference_networks = [f"depth_{b}" for b in self.branches]
        self.strong = ColorAugment(cfg.augment.strong)
        self.weak = ColorAugment(cfg.augment.weak)
        self.scales = tuple(sorted(cfg.model.scales))

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_config(cls, cfg: MutualConfig) -> MutualRecipe:
        """Build networks, optimisers and schedulers from a :class:`MutualConfig`."""
        return cls(cfg)

    @classmethod
    def build_datasets(cls, cfg: MutualConfig):
        """Training and validation datasets of ``cfg.data`` (sample dicts of DEVELOPING.md)."""
        d = cfg.data
        h, w = d.size()
        if h % 32 or w % 32 or min(h, w) < 64:
            raise UserError(
                f"data: training size {h}x{w} must be multiples of 32 and at least 64 "
                "(ResNet strides)"
            )
        need_seq = "s" in cfg.branches() and "M" in cfg.self_sup
        need_stereo = "s" in cfg.branches() and "S" in cfg.self_sup
        if d.dataset == "world":
            from depthduet.data.world import WorldDataset

            train = WorldDataset(d.kind, "train", n=d.train_size, cfg=d.world)
            val = WorldDataset(d.kind, "val", n=d.val_size, cfg=d.world) if d.val_size else None
            if d.cache:
                train = CachedDataset(train)
                val = CachedDataset(val) if val is not None else None
            return train, val
        if not d.root:
            raise UserError(f"data.root: required for dataset {d.dataset!r}")
        if d.dataset == "kitti":
            from depthduet.data.kitti import KittiRawDataset

            train = KittiRawDataset(
                d.root,
                split=d.train_split or None,
                offsets=(-1, 1) if need_seq else (),
                stereo=need_stereo,
                lidar=True,
                gt="lidar",
                size=(h, w),
            )
            val = None
            if d.val_split:
                val = KittiRawDataset(
                    d.root,
                    split=d.val_split,
                    offsets=(),
                    stereo=False,
                    lidar=True,
                    gt="annotated" if d.annotated_root else "lidar",
                    annotated_root=d.annotated_root or None,
                    size=(h, w),
                )
            return train, val
        from depthduet.data.cityscapes import CityscapesDataset

        train = CityscapesDataset(
            d.root,
            split=d.train_split or "train",
            offsets=(-1, 1) if need_seq else (),
            stereo=need_stereo,
            size=(h, w),
        )
        val = None
        if d.val_size:
            val = CityscapesDataset(d.root, split=d.val_split or "val", size=(h, w))
        return train, val

    # ------------------------------------------------------------------ helpers
    def _predict(self, branch: str, image: torch.Tensor) -> dict[str, list[torch.Tensor]]:
        return self.net(f"depth_{branch}")(image)

    def _depth(self, sigma: torch.Tensor) -> torch.Tensor:
        """Depth of a sigmoid disparity with the configured range (METHOD.md B)."""
        return disp_to_depth(sigma, self.cfg.model.d_min, self.cfg.model.d_max)

    def _full_res(self, out: dict[str, list[torch.Tensor]], size: tuple[int, int]):
        """Per scale: (depth, confidence) upsampled to ``size`` (multi-scale, B.3)."""
        return [(self._depth(_up(d, size)), _up(c, size)) for d, c in zip(out["disp"], out["conf"])]

    def supervised_loss(
        self, full: list[tuple[torch.Tensor, torch.Tensor]], lidar: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(L_su, L_pf)`` averaged over scales (METHOD.md B.1, B.2).

        Args:
            full: per scale ``(D_u, C_u)``, each ``(B, 1, H, W)`` at full resolution.
            lidar: ``(B, 1, H, W)`` sparse depth, 0 = no return.

        Returns:
            ``(L_su, L_pf)``, each a ``()`` scalar tensor.
        """
        lc = self.cfg.loss
        valid = lidar > 0
        l_su = lidar.new_zeros(())
        l_pf = lidar.new_zeros(())
        for depth, conf in full:
            if lc.su_error == "relative":
                err = relative_error(depth, lidar, valid)
            else:
                err = torch.where(valid, (depth - lidar).abs(), torch.zeros_like(depth))
            if lc.confidence:
                l_su = l_su + confidence_loss(err, conf, lc.lambda_c_u, valid)
                if lc.point_filtering:
                    l_pf = l_pf + point_filtering_loss(conf, valid, lc.pf_m, lc.lambda_c_u)
            else:
                l_su = l_su + masked_mean(err, valid)
        n = len(full)
        return l_su / n, l_pf / n

    def self_supervised_loss(
        self,
        out: dict[str, list[torch.Tensor]],
        full: list[tuple[torch.Tensor, torch.Tensor]],
        target: torch.Tensor,
        sources: list[tuple[torch.Tensor, torch.Tensor]],
        K: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(L_ss photometric part, smoothness part, auto-mask fraction)`` (METHOD.md B.3).

        Args:
            out: ``N_s`` outputs; ``out["disp"]`` holds the per-scale disparities
                ``(B, 1, H / 2^s, W / 2^s)`` (for smoothness).
            full: per scale ``(D_s, C_s)``, each ``(B, 1, H, W)`` at full resolution.
            target: ``(B, 3, H, W)`` un-augmented target frame.
            sources: ``(image, T_src_tgt)`` pairs, un-augmented images ``(B, 3, H, W)``.
            K: ``(B, 3, 3)`` intrinsics at full resolution.

        Returns:
            ``(photometric, smoothness, kept)``, each a ``()`` scalar tensor.
        """
        lc = self.cfg.loss
        l_ph = target.new_zeros(())
        l_sm = target.new_zeros(())
        kept = target.new_zeros(())
        ident = identity_error(target, [s for s, _ in sources], lc.alpha) if lc.automask else None
        for i, (s, (depth, conf)) in enumerate(zip(self.scales, full)):
            warped = [warp(img, depth, K, T) for img, T in sources]
            pe, mask = min_reprojection(target, warped, ident, alpha=lc.alpha)
            # auto-masking as monodepth2 implements it (automask_mean=all): a masked pixel keeps
            # its (constant, gradient-free) identity error and the mean runs over all pixels.
            # The mean over the kept pixels alone (automask_mean=kept, B.3 as written) rewards
            # masking pixels out (the depth collapsed to d_min on the world).
            over = None
            if ident is None:
                per_pixel = pe
            elif lc.automask_mean == "kept":
                per_pixel, over = pe, mask
            else:
                per_pixel = torch.where(mask, pe, ident)
            if lc.confidence:
                l_ph = l_ph + confidence_loss(per_pixel, conf, lc.lambda_c_s, over)
            else:
                l_ph = l_ph + masked_mean(per_pixel, over)
            kept = kept + mask.float().mean()
            disp = out["disp"][i]
            img_s = _up(target, tuple(disp.shape[-2:])) if s else target
            l_sm = l_sm + lc.smoothness / (2**s) * edge_aware_smoothness(disp, img_s)
        n = len(full)
        return l_ph / n, l_sm / n, kept / n

    # ------------------------------------------------------------------ training
    def training_step(self, batch: dict[str, Any], state: dict[str, Any]) -> StepOutput:
        """One step of METHOD.md B.6 on a batch (see the module docstring)."""
        cfg = self.cfg
        lc = cfg.loss
        image = batch["image"]
        bsz, _, h, w = image.shape
        flags = torch.rand(bsz) < cfg.augment.flip_prob
        batch = hflip_batch(batch, flags)
        image = batch["image"]
        K = batch["K"]
        logs: dict[str, Any] = {}
        total = image.new_zeros(())

        # separate augmentation (B.5): N_s / pose see weak jitter, N_u strong (or the same)
        seq_keys = ["image"] + (["image_prev", "image_next"] if self.use_pose else [])
        weak = dict(zip(seq_keys, self.weak([batch[k] for k in seq_keys])))
        if cfg.augment.separate:
            x_u = self.strong([image])[0]
        else:
            x_u = weak["image"]

        out_u = out_s = full_u = full_s = None
        if "u" in self.branches:
            out_u = self._predict("u", x_u)
            full_u = self._full_res(out_u, (h, w))
            key = cfg.data.sup_key
            if key not in batch:
                raise UserError(
                    f"data.sup_key: the samples have no {key!r} for the supervised branch"
                )
            l_su, l_pf = self.supervised_loss(full_u, batch[key])
            total = total + l_su + lc.lambda_pf * l_pf
            logs["l_su"] = l_su.detach()
            logs["l_pf"] = l_pf.detach()
            logs["conf_u"] = full_u[0][1].detach().mean()
        if "s" in self.branches:
            out_s = self._predict("s", weak["image"])
            full_s = self._full_res(out_s, (h, w))
            sources: list[tuple[torch.Tensor, torch.Tensor]] = []
            if self.use_pose:
                pose = self.net("pose")
                for key, before in (("image_prev", True), ("image_next", False)):
                    if key not in batch:
                        raise UserError(
                            f"mutual: self_sup {cfg.self_sup} needs {key!r} in the samples"
                        )
                    # temporal order (PoseNet docstring): earlier frame first; invert for prev
                    if before:
                        aa, t = pose(weak[key], weak["image"])
                    else:
                        aa, t = pose(weak["image"], weak[key])
                    sources.append((batch[key], pose_vec_to_matrix(aa, t, invert=before)))
            if self.use_stereo:
                if "image_stereo" not in batch or "T_stereo_tgt" not in batch:
                    raise UserError(
                        f"mutual: self_sup {cfg.self_sup} needs 'image_stereo' and 'T_stereo_tgt'"
                    )
                sources.append((batch["image_stereo"], batch["T_stereo_tgt"]))
            l_ph, l_sm, kept = self.self_supervised_loss(out_s, full_s, image, sources, K)
            total = total + l_ph + l_sm
            logs["l_ph"] = l_ph.detach()
            logs["l_sm"] = l_sm.detach()
            logs["automask"] = kept.detach()
            logs["conf_s"] = full_s[0][1].detach().mean()

        step = int(state.get("step", 0)) if state else 0
        if (
            cfg.mode == "semi"
            and lc.distill
            and step >= lc.distill_warmup_steps
            and full_u is not None
            and full_s is not None
        ):
            d_u, c_u = full_u[0]
            d_s, c_s = full_s[0]
            d_s_t = median_align(d_s, d_u) if cfg.self_sup == "M" else d_s
            space = lc.distill_space
            l_ud = uncertainty_distillation(d_u, d_s_t, c_s, space=space)
            l_sd = uncertainty_distillation(d_s, d_u, c_u, space=space)
            total = total + lc.lambda_ud * l_ud + lc.lambda_sd * l_sd
            logs["l_ud"] = l_ud.detach()
            logs["l_sd"] = l_sd.detach()
        return StepOutput(loss=total, **logs)

    # ------------------------------------------------------------------ validation
    @torch.no_grad()
    def evaluate_branch(self, branch: str, batch: dict[str, Any]) -> dict[str, float]:
        """Depth errors and confidence informativeness of one branch on a batch (averaged
        over images)."""
        from depthduet.evaluation.protocols import evaluate_image, get_protocol

        proto = get_protocol(self.cfg.eval.protocol)
        image = batch["image"]
        out = self._predict(branch, image)
        depth = self._depth(out["disp"][0])
        conf = out["conf"][0]
        gt = batch["depth"]
        valid = batch["valid"].bool() if "valid" in batch else gt > 0
        median = is_scale_ambiguous(self.cfg, branch)
        rows: list[dict[str, float]] = []
        errs, confs, masks = [], [], []
        for i in range(image.shape[0]):
            g = gt[i, 0].detach().cpu().numpy()
            v = valid[i, 0].detach().cpu().numpy()
            p = depth[i, 0].detach().cpu().numpy()
            try:
                r = evaluate_image(proto, g, p, gt_valid=v, median_scaling=median, name=str(i))
            except UserError:
                continue  # no evaluable pixel in this image
            rows.append(r.metrics)
            m = proto.mask(g.astype(np.float64), v)
            scaled = p * (r.ratio if r.ratio is not None else 1.0)
            if proto.clamp_pred:
                scaled = np.clip(scaled, proto.min_depth, proto.max_depth)
            e = np.abs(scaled - g) / np.where(g > 0, g, 1.0)
            errs.append(torch.from_numpy(e.astype(np.float32)))
            confs.append(conf[i, 0].detach().float().cpu())
            masks.append(torch.from_numpy(np.asarray(m, dtype=bool)))
        if not rows:
            return {}
        metrics = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
        ci = confidence_informativeness(
            torch.stack(errs), torch.stack(confs), torch.stack(masks), self.cfg.eval.conf_fraction
        )
        metrics.update(ci)
        metrics["conf_mean"] = float(conf.mean())
        return metrics

    def validation_step(self, batch: dict[str, Any]) -> dict[str, float]:
        """Metrics of the evaluated branch (``abs_rel``, ``sq_rel``, ``rmse``, ``rmse_log``,
        ``a1`` ... ``a3``, ``conf_ratio``, ...); with two branches the other one's full set too,
        suffixed with its name (``abs_rel_s``, ``sq_rel_s``, ... or ``_u``)."""
        out = self.evaluate_branch(self.eval_branch, batch)
        for b in self.branches:
            if b == self.eval_branch:
                continue
            other = self.evaluate_branch(b, batch)
            for k, v in other.items():
                out[f"{k}_{b}"] = v
        return {k: v for k, v in out.items() if not (isinstance(v, float) and math.isnan(v))}

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        return {"branches": list(self.branches), "eval_branch": self.eval_branch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state and list(state.get("branches", self.branches)) != list(self.branches):
            raise UserError(
                f"resume: checkpoint trained branches {state.get('branches')}, "
                f"this configuration trains {list(self.branches)}"
            )
