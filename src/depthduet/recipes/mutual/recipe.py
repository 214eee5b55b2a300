"""METHOD.md B: semi-supervised monocular depth with mutual distillation (Baek et al. 2022).

Two networks of the same architecture (:class:`~depthduet.models.mde.DepthNet`) see the same
frames: ``depth_u`` (``N_u``) learns from sparse LiDAR, ``depth_s`` (``N_s``) from view
synthesis (``M`` monocular video with a :class:`~depthduet.models.pose.PoseNet`, ``S`` stereo
with the known transform, or ``MS``). Each step (:meth:`MutualRecipe.training_step`):

1. shared horizontal flip of the batch (images, maps, ``K``, transforms; B.5);
2. separate colour augmentation: strong (+ random erasing) for ``N_u``, weak for ``N_s`` and the
   pose net; the photometric loss uses the un-augmented (only flipped) frames (B.5);
3. ``L_su`` + ``lambda_pf L_pf`` on ``N_u`` (B.1, B.2), ``L_ss`` on ``N_s`` (B.3), each
   averaged over the 4 scales (disparity and confidence upsampled to full resolution;
   :mod:`~depthduet.recipes.mutual.losses`);
4. mutual distillation ``lambda_ud L_u,d + lambda_sd L_s,d`` at full resolution (B.4), with
   per-image median alignment of ``D_s`` for ``M``-only self-supervision
   (:mod:`~depthduet.recipes.mutual.distill`).

Modes (``mode``): ``sup`` (``N_u`` only), ``self`` (``N_s`` only, ``self_sup`` = M, S or MS),
``semi`` (both). Ablations: ``loss.point_filtering: false``, ``augment.separate: false``,
``loss.distill: false``.

Validation: the seven depth errors of the evaluated branch (``eval_branch``) under a named
protocol (default ``kitti-eigen-benchmark``: ``1e-3 < gt < 80`` m, no crop, predictions clamped),
per-image median scaling only for the scale-ambiguous ``M``-only model, plus the
confidence-informativeness ratio (error of the 20% least vs the 20% most confident pixels;
:mod:`~depthduet.recipes.mutual.evaluate`).

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
from typing import Any

import torch

from depthduet.data.augment import ColorAugment, hflip_batch
from depthduet.data.registry import MDE_DATASETS
from depthduet.engine.recipe import Recipe, StepOutput
from depthduet.errors import UserError
from depthduet.geometry import pose_vec_to_matrix
from depthduet.models.mde import build_depth_net, disp_to_depth, is_scale_ambiguous
from depthduet.models.pose import PoseNet
from depthduet.recipes import RECIPES
from depthduet.recipes.mutual import distill, losses
from depthduet.recipes.mutual.config import MutualConfig
from depthduet.recipes.mutual.evaluate import batch_metrics

__all__ = ["MutualRecipe", "LossTotal"]

#: per scale ``(depth, confidence)``, each ``(B, 1, H, W)`` at full resolution
FullRes = list[tuple[torch.Tensor, torch.Tensor]]


class LossTotal:
    """The total loss of METHOD.md B.6, summed term by term in the order the terms are
    added, and the values logged next to it (detached)."""

    def __init__(self, like: torch.Tensor) -> None:
        self.loss = like.new_zeros(())
        self.logs: dict[str, torch.Tensor] = {}

    def add(self, *terms: torch.Tensor) -> None:
        """Add weighted terms, each a ``()`` scalar tensor, to the loss (in this order)."""
        for term in terms:
            self.loss = self.loss + term

    def log(self, **values: torch.Tensor) -> None:
        """Record values to log, detached, in the order of the calls.

        Args:
            values: name -> ``()`` scalar tensor.
        """
        self.logs.update({k: v.detach() for k, v in values.items()})


@RECIPES.register("mutual")
class MutualRecipe(Recipe):
    """The training method of METHOD.md B (see the module docstring)."""

    name = "mutual"
    config_class = MutualConfig
    monitor = "abs_rel"
    monitor_mode = "min"

    def __init__(self, cfg: MutualConfig) -> None:
        super().__init__(cfg)
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
        """Training and validation datasets of ``cfg.data`` (sample dicts of DEVELOPING.md),
        built by the ``data.dataset`` entry of
        :data:`~depthduet.data.registry.MDE_DATASETS` (:mod:`depthduet.data.mde_dataset`)."""
        d = cfg.data
        h, w = d.size()
        if h % 32 or w % 32 or min(h, w) < 64:
            raise UserError(
                f"data: training size {h}x{w} must be multiples of 32 and at least 64 "
                "(ResNet strides)"
            )
        self_sup = cfg.self_sup if "s" in cfg.branches() else ""
        frames = {"sequence": "M" in self_sup, "stereo": "S" in self_sup}
        source = MDE_DATASETS.get(d.dataset)
        return source(d, "train", **frames), source(d, "val", **frames)

    def model_info(self) -> dict[str, Any]:
        """What inference needs beyond the weights and the configuration, for a checkpoint's
        ``model.json``: ``{"inference": {"depth_<b>": {"input_size": [H, W],
        "scale_ambiguous": bool}}}`` for each trained depth network (read by
        :mod:`depthduet.inference.mde`)."""
        size = [int(v) for v in self.cfg.data.size()]
        block = {
            f"depth_{b}": {"input_size": size, "scale_ambiguous": is_scale_ambiguous(self.cfg, b)}
            for b in self.branches
        }
        return {"inference": block}

    # ------------------------------------------------------------------ helpers
    def _predict(self, branch: str, image: torch.Tensor) -> dict[str, list[torch.Tensor]]:
        return self.net(f"depth_{branch}")(image)

    def _depth(self, sigma: torch.Tensor) -> torch.Tensor:
        """Depth of a sigmoid disparity with the configured range (METHOD.md B)."""
        return disp_to_depth(sigma, self.cfg.model.d_min, self.cfg.model.d_max)

    def _full_res(self, out: dict[str, list[torch.Tensor]], size: tuple[int, int]) -> FullRes:
        """Per scale: (depth, confidence) upsampled to ``size`` (multi-scale, B.3)."""
        up = losses.upsample
        return [(self._depth(up(d, size)), up(c, size)) for d, c in zip(out["disp"], out["conf"])]

    def supervised_loss(
        self, full: FullRes, lidar: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(L_su, L_pf)`` averaged over scales (METHOD.md B.1, B.2).

        Args:
            full: per scale ``(D_u, C_u)``, each ``(B, 1, H, W)`` at full resolution.
            lidar: ``(B, 1, H, W)`` sparse depth, 0 = no return.

        Returns:
            ``(L_su, L_pf)``, each a ``()`` scalar tensor.
        """
        return losses.supervised_loss(full, lidar, self.cfg.loss)

    def self_supervised_loss(
        self,
        out: dict[str, list[torch.Tensor]],
        full: FullRes,
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
        return losses.self_supervised_loss(
            out["disp"], full, target, sources, K, self.scales, self.cfg.loss
        )

    # ------------------------------------------------------------------ training
    def training_step(self, batch: dict[str, Any], state: dict[str, Any]) -> StepOutput:
        """One step of METHOD.md B.6 on a batch (see the module docstring)::

        L = L_su + lambda_pf L_pf + L_ss + lambda_ud L_u,d + lambda_sd L_s,d

        with the terms of the branches this mode trains; distillation in ``semi`` mode only.
        """
        batch = self.flipped(batch)
        x_u, weak = self.colour_augmented(batch)
        total = LossTotal(batch["image"])
        full_u = full_s = None
        if "u" in self.branches:
            full_u = self.supervised_part(batch, x_u, total)
        if "s" in self.branches:
            full_s = self.self_supervised_part(batch, weak, total)
        if full_u is not None and full_s is not None and distill.distills(self.cfg, state):
            self.distillation_part(full_u[0], full_s[0], total)
        return StepOutput(loss=total.loss, **total.logs)

    def flipped(self, batch: dict[str, Any]) -> dict[str, Any]:
        """The batch with each sample flipped horizontally with probability
        ``augment.flip_prob`` (images, maps, ``K``, transforms together; B.5)."""
        flags = torch.rand(batch["image"].shape[0]) < self.cfg.augment.flip_prob
        return hflip_batch(batch, flags)

    def colour_augmented(self, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, Any]]:
        """B.5's separate colour augmentation of the (flipped) batch.

        The weak jitter covers the target frame (``N_s``'s input) and, with a pose network,
        the previous / next frames (its inputs); ``N_u`` gets the strong jitter, or with
        ``augment.separate: false`` the same weak image.

        Args:
            batch: the samples; ``image`` (and ``image_prev`` / ``image_next``) ``(B, 3, H, W)``.

        Returns:
            ``(x_u, weak)``: ``N_u``'s input ``(B, 3, H, W)`` and the weakly jittered frames by
            key, each ``(B, 3, H, W)``.
        """
        seq_keys = ["image"] + (["image_prev", "image_next"] if self.use_pose else [])
        weak = dict(zip(seq_keys, self.weak([batch[k] for k in seq_keys])))
        if self.cfg.augment.separate:
            return self.strong([batch["image"]])[0], weak
        return weak["image"], weak

    def supervised_part(
        self, batch: dict[str, Any], x_u: torch.Tensor, total: LossTotal
    ) -> FullRes:
        """Adds ``L_su + lambda_pf L_pf`` of ``N_u`` (B.1, B.2) to ``total``.

        Args:
            batch: the flipped samples (``image``, the ``data.sup_key`` depth).
            x_u: ``(B, 3, H, W)`` ``N_u``'s (strongly jittered) input.
            total: the loss being summed.

        Returns:
            ``N_u``'s per-scale ``(D_u, C_u)``, each ``(B, 1, H, W)`` at full resolution.
        """
        out_u = self._predict("u", x_u)
        full_u = self._full_res(out_u, tuple(batch["image"].shape[-2:]))
        key = self.cfg.data.sup_key
        if key not in batch:
            raise UserError(f"data.sup_key: the samples have no {key!r} for the supervised branch")
        l_su, l_pf = self.supervised_loss(full_u, batch[key])
        total.add(l_su, self.cfg.loss.lambda_pf * l_pf)
        total.log(l_su=l_su, l_pf=l_pf, conf_u=full_u[0][1].mean())
        return full_u

    def self_supervised_part(
        self, batch: dict[str, Any], weak: dict[str, torch.Tensor], total: LossTotal
    ) -> FullRes:
        """Adds ``L_ss`` of ``N_s`` (B.3) to ``total``: ``N_s`` sees the weakly jittered
        target, the photometric error compares the un-augmented frames.

        Args:
            batch: the flipped samples (``image``, ``K`` and the source frames).
            weak: the weakly jittered frames by key, each ``(B, 3, H, W)``.
            total: the loss being summed.

        Returns:
            ``N_s``'s per-scale ``(D_s, C_s)``, each ``(B, 1, H, W)`` at full resolution.
        """
        out_s = self._predict("s", weak["image"])
        full_s = self._full_res(out_s, tuple(batch["image"].shape[-2:]))
        sources = self.view_synthesis_sources(batch, weak)
        l_ph, l_sm, kept = self.self_supervised_loss(
            out_s, full_s, batch["image"], sources, batch["K"]
        )
        total.add(l_ph, l_sm)
        total.log(l_ph=l_ph, l_sm=l_sm, automask=kept, conf_s=full_s[0][1].mean())
        return full_s

    def view_synthesis_sources(
        self, batch: dict[str, Any], weak: dict[str, torch.Tensor]
    ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The source frames of ``self_sup``'s view synthesis (B.3): the previous and next
        frames with the pose net's motion (``M``), then the stereo frame with its known
        transform (``S``).

        Args:
            batch: the flipped samples (un-augmented frames, ``T_stereo_tgt``).
            weak: the weakly jittered frames by key (the pose net's inputs), each
                ``(B, 3, H, W)``.

        Returns:
            ``(image, T_src_tgt)`` pairs: un-augmented images ``(B, 3, H, W)`` and
            ``(B, 4, 4)`` transforms.
        """
        sources: list[tuple[torch.Tensor, torch.Tensor]] = []
        if self.use_pose:
            pose = self.net("pose")
            for key, before in (("image_prev", True), ("image_next", False)):
                if key not in batch:
                    raise UserError(
                        f"mutual: self_sup {self.cfg.self_sup} needs {key!r} in the samples"
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
                    f"mutual: self_sup {self.cfg.self_sup} needs 'image_stereo' and 'T_stereo_tgt'"
                )
            sources.append((batch["image_stereo"], batch["T_stereo_tgt"]))
        return sources

    def distillation_part(
        self,
        u: tuple[torch.Tensor, torch.Tensor],
        s: tuple[torch.Tensor, torch.Tensor],
        total: LossTotal,
    ) -> None:
        """Adds ``lambda_ud L_u,d + lambda_sd L_s,d`` (B.4) of the full-resolution ``u =
        (D_u, C_u)`` and ``s = (D_s, C_s)``, each ``(B, 1, H, W)``, to ``total``."""
        lc = self.cfg.loss
        align = self.cfg.self_sup == "M"
        l_ud, l_sd = distill.mutual_distillation(u, s, align, lc.distill_space)
        total.add(lc.lambda_ud * l_ud, lc.lambda_sd * l_sd)
        total.log(l_ud=l_ud, l_sd=l_sd)

    # ------------------------------------------------------------------ validation
    @torch.no_grad()
    def evaluate_branch(self, branch: str, batch: dict[str, Any]) -> dict[str, float]:
        """Depth errors and confidence informativeness of one branch on a batch (averaged
        over images; :func:`~depthduet.recipes.mutual.evaluate.batch_metrics`)."""
        out = self._predict(branch, batch["image"])
        gt = batch["depth"]
        return batch_metrics(
            self._depth(out["disp"][0]),
            out["conf"][0],
            gt,
            batch["valid"].bool() if "valid" in batch else gt > 0,
            self.cfg.eval.protocol,
            is_scale_ambiguous(self.cfg, branch),
            self.cfg.eval.conf_fraction,
        )

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
