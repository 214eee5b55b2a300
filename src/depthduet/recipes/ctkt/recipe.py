"""The ``ctkt`` recipe (METHOD.md A): its networks and optimisers, its datasets, the training
step of A.5 in named pieces, validation and the per-round teacher choice of A.3.

:meth:`CTKTRecipe.training_step` reads as the total loss of METHOD.md A.5::

    L = |D_sr - D_hr|_1                                 _reconstruction_term (DSRNet, all samples)
        + lambda_side * L_side(DSRNet)                  _dsr_side_term
        + |D_de - D_hr|_1 + lambda_ssim (1 - SSIM) / 2  _de_l1_term, _de_ssim_term (RGB-D rows)
        + lambda_side * L_side(DENet)                   _de_side_term
        + lambda_P * L_P + lambda_A * L_A               _output_space_term, _affinity_term
        + lambda_S * L_S                                _structure_term

after the forward passes (:meth:`~CTKTRecipe._forward_dsr` on the whole batch,
:meth:`~CTKTRecipe._forward_de` on its RGB-D rows); the round's teacher (A.3) decides the
direction of ``L_P`` / ``L_A`` and the batch's errors of both networks feed the next choice
(:meth:`~CTKTRecipe._record_round_errors`). The terms are added in this order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import ConcatDataset, Dataset

from depthduet.data.degrade import DepthSRPairs
from depthduet.data.dsr_dataset import CachedDataset
from depthduet.data.registry import DSR_DATASETS
from depthduet.depth import denormalize_depth, fill_invalid
from depthduet.engine.recipe import Recipe, StepOutput
from depthduet.errors import UserError
from depthduet.losses.distill import (
    affinity_loss,
    affinity_matrix,
    masked_l1,
    masked_mean,
    output_space_loss,
)
from depthduet.losses.structure import structure_gt, structure_loss
from depthduet.models.blocks import SideHeads
from depthduet.models.dbpn import DSRNet, prepare_lr
from depthduet.recipes import RECIPES
from depthduet.recipes.ctkt.config import CTKTConfig, CTKTData
from depthduet.recipes.ctkt.init_weights import init_dsrnet
from depthduet.recipes.ctkt.teacher import TeacherSelector

__all__ = ["CTKTRecipe"]


# --------------------------------------------------------------------------------- datasets
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


def _base_dataset(d: CTKTData, split: str) -> Dataset | None:
    """The HR maps of every ``data.source`` (:data:`~depthduet.data.registry.DSR_DATASETS`,
    in the listed order) for ``split`` (``train`` / ``val``), cached with ``data.cache``;
    ``None`` when the validation split is empty.

    Raises:
        UserError: no training sample at all.
    """
    found = (DSR_DATASETS.get(source)(d, split) for source in d.source)
    parts = [ds for ds in found if ds is not None]
    if not parts:
        if split != "train":
            return None
        raise UserError("data: no training samples")
    base = parts[0] if len(parts) == 1 else ConcatDataset(parts)
    return CachedDataset(base) if d.cache else base


def _pairs(base: Dataset, d: CTKTData, train: bool, seed: int) -> DepthSRPairs:
    """LR / HR pairs of ``base``: random ``data.crop`` patches and flips for training, the
    centred ``data.val_crop`` (or whole maps) and no randomness for validation."""
    return DepthSRPairs(
        base,
        d.scale,
        d.degradation,
        crop=(d.crop if train else d.val_crop) or None,
        noise_std=d.noise_std,
        hole_prob=d.hole_prob,
        train=train,
        seed=seed,
        mix=d.mix,
    )


# --------------------------------------------------------------------------------- step state
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
        """DENet's output ``y (B,1,H,W)`` in DSRNet's normalised space."""
        return (y * self.scale - self.lo) / self.span if self.data else y

    def from_norm(self, z: Tensor) -> Tensor:
        """A normalised map ``z (B,1,H,W)`` in DENet's output space."""
        return (z * self.span + self.lo) / self.scale if self.data else z


@dataclass
class _DSRPass:
    """DSRNet on the whole batch, in normalised units: input ``x (B,1,h,w)``, target ``hr
    (B,1,H,W)`` (0 where invalid), its ``valid`` mask, the per-sample ``lo, hi (B,1,1,1)``,
    the output ``d (B,1,H,W)``, the stage features ``f`` (``N`` maps ``(B,b,H,W)``) and, with
    ``distill.output_space``, the side outputs ``side`` (``N`` maps ``(B,1,H,W)``)."""

    x: Tensor
    hr: Tensor
    valid: Tensor
    lo: Tensor
    hi: Tensor
    d: Tensor
    f: list[Tensor]
    side: list[Tensor] = field(default_factory=list)


@dataclass
class _RGBDPass:
    """The batch's ``B'`` RGB-D rows (``rows (B,)``; ``every``: all of them) and DENet on them.

    ``image (B',3,H,W)``, ``hr``, ``valid``, DSRNet's ``d_sr`` and ``f_sr`` of those rows and
    DENet's output ``space`` (:class:`_DESpace`); set by :meth:`CTKTRecipe._forward_de`: DENet's
    ``target`` (``hr`` in its space), raw output ``raw``, that output normalised ``d_de``, its
    features ``f_de`` and, with ``distill.output_space``, its side outputs ``side_de``."""

    rows: Tensor
    every: bool
    image: Tensor
    hr: Tensor
    valid: Tensor
    d_sr: Tensor
    f_sr: list[Tensor]
    space: _DESpace
    target: Tensor | None = None
    raw: Tensor | None = None
    d_de: Tensor | None = None
    f_de: list[Tensor] = field(default_factory=list)
    side_de: list[Tensor] = field(default_factory=list)

    def select(self, t: Tensor) -> Tensor:
        """The RGB-D rows of a batch tensor ``t (B, ...)``."""
        return t if self.every else t[self.rows]


# --------------------------------------------------------------------------------- recipe
@RECIPES.register("ctkt")
class CTKTRecipe(Recipe):
    """METHOD A training (see :mod:`depthduet.recipes.ctkt` for the loss and the switches)."""

    name = "ctkt"
    config_class = CTKTConfig
    monitor = "rmse"
    monitor_mode = "min"

    def __init__(self, cfg: CTKTConfig) -> None:
        super().__init__(cfg)
        self._build_networks()
        self.inference_networks = ["dsr"]
        self._build_optimizers()
        dist = cfg.distill
        self.selector = TeacherSelector(
            mode=dist.teacher_selection, warmup_rounds=dist.warmup_rounds
        )
        self._norm_pct = (float(cfg.model.norm_pct[0]), float(cfg.model.norm_pct[1]))

    def _build_networks(self) -> None:
        """DSRNet (from ``model.init`` when set), and with the cross-task switches DENet, the
        side heads and SPNet, in this order (the order of their random initialisation)."""
        cfg, dist = self.cfg, self.cfg.distill
        sz = cfg.model.sizes()
        self.dsr = DSRNet(cfg.data.scale, sz["n_feats"], sz["n_base"], sz["n_stages"])
        if cfg.model.init:
            init_dsrnet(self.dsr, cfg.model.init)
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

    def _build_optimizers(self) -> None:
        """One Adam per network group (``dsr``: DSRNet + its heads, ``de``: DENet + its heads,
        ``sp``: SPNet) and its scheduler (``optim.scheduler``)."""
        o = self.cfg.optim
        groups = {"dsr": ["dsr", "dsr_heads"], "de": ["de", "de_heads"], "sp": ["sp"]}
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
                    opt, T_max=max(1, self.cfg.engine.epochs)
                )

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
        d, seed = cfg.data, cfg.engine.seed
        train_base = _base_dataset(d, "train")
        assert train_base is not None
        train = _pairs(train_base, d, True, seed)
        val_base = _base_dataset(d, "val")
        val = None if val_base is None else _pairs(val_base, d, False, seed + 1)
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
        """``(n,)`` bool: the batch's samples that have RGB (``has_rgb``, else ``image``)."""
        flag = batch.get("has_rgb")
        if flag is None:
            has = torch.full((n,), "image" in batch, dtype=torch.bool)
        else:
            has = torch.as_tensor(flag, dtype=torch.bool).reshape(n)
        return has.to(device)

    # -- engine contract
    def training_step(self, batch: dict[str, Any], state: dict[str, Any]) -> StepOutput:
        """The loss of METHOD.md A.5 on one batch, with the switches of ``distill``::

            L = |D_sr - D_hr|_1 + (|D_de - D_hr|_1 + lambda_ssim (1 - SSIM(D_de, D_hr)) / 2)
                + lambda_side L_side + lambda_P L_P + lambda_A L_A + lambda_S L_S

        in DSRNet's LR-normalised units (DENet's own terms in its ``distill.de_target`` space),
        means over valid HR pixels. DENet, ``L_P``, ``L_A`` and SPNet only use the batch's
        RGB-D samples (``has_rgb``); the round's teacher (:class:`TeacherSelector`, A.3) decides
        who is detached in ``L_P`` / ``L_A``, and warm-up rounds skip them. The batch's mean
        absolute errors of both networks are added to the round statistics that pick the next
        teacher.

        Args:
            batch: ``lr (B,1,h,w)``, ``lr_valid``, ``hr (B,1,sh,sw)``, ``hr_valid``, and for
                RGB-D samples ``image (B,3,sh,sw)`` and ``has_rgb (B,)``.
            state: the engine's step state (unused).

        Returns:
            ``loss`` and every term (detached) for logging: ``l1_sr``, ``side_sr``, ``l1_de``,
            ``ssim_de``, ``side_de``, ``distill_P``, ``distill_A``, ``structure``, ``e_dsr``,
            ``e_de``, ``teacher_dsr``.
        """
        dist, out = self.cfg.distill, StepOutput()
        sr = self._forward_dsr(batch)
        total = self._reconstruction_term(sr, out)
        if dist.output_space:
            total = total + self._dsr_side_term(sr, out)
        rgbd = self._select_rgbd(batch, sr) if dist.cross_task else None
        if rgbd is not None:
            self._forward_de(rgbd)
            total = total + self._de_l1_term(rgbd, out)
            if self.cfg.loss.lambda_ssim > 0:
                total = total + self._de_ssim_term(rgbd, out)
            self._record_round_errors(rgbd, out)
            if dist.output_space:
                total = total + self._de_side_term(rgbd, out)
            if self.selector.distill:
                sr_teaches = self._teacher_is_dsr(out)
                if dist.output_space:
                    total = total + self._output_space_term(sr, rgbd, sr_teaches, out)
                if dist.affinity:
                    total = total + self._affinity_term(rgbd, sr_teaches, out)
            if dist.spnet:
                total = total + self._structure_term(rgbd, out)
        out["loss"] = total
        return out

    # -- the pieces of the training step, in their order
    def _forward_dsr(self, batch: dict[str, Any]) -> _DSRPass:
        """DSRNet's output and stage features on the normalised batch."""
        x, hr_n, hv, lo, hi = self._normalise(batch)
        d_sr, f_sr = self.net("dsr").forward_features(x)
        return _DSRPass(x, hr_n, hv, lo, hi, d_sr, f_sr)

    def _reconstruction_term(self, sr: _DSRPass, out: StepOutput) -> Tensor:
        """``|D_sr - D_hr|_1`` (``loss.sr_loss=l2``: the mean squared error); logs ``l1_sr``
        (and ``l2_sr``)."""
        l_sr = masked_l1(sr.d, sr.hr, sr.valid)
        out["l1_sr"] = l_sr.detach()
        if self.cfg.loss.sr_loss == "l2":
            l_sr = masked_mean((sr.d - sr.hr) ** 2, sr.valid)
            out["l2_sr"] = l_sr.detach()
        return l_sr

    def _dsr_side_term(self, sr: _DSRPass, out: StepOutput) -> Tensor:
        """``lambda_side * sum_t |P_sr^t - D_hr|_1``; sets ``sr.side`` (``P_sr^t``, plus the
        bicubic LR with ``distill.side_residual``). Without ``distill.side_into_dsr`` the term
        reaches the heads only (features detached). Logs ``side_sr``."""
        dist, heads = self.cfg.distill, self.net("dsr_heads")
        sr.side = heads(sr.f)
        up = None
        if dist.side_residual:
            up = F.interpolate(sr.x, size=sr.d.shape[-2:], mode="bicubic", align_corners=False)
            sr.side = [p + up for p in sr.side]
        side_sup = sr.side
        if not dist.side_into_dsr:  # deep supervision trains the heads only
            side_sup = heads([f.detach() for f in sr.f])
            if up is not None:
                side_sup = [p + up for p in side_sup]
        l_side = sum(masked_l1(p, sr.hr, sr.valid) for p in side_sup)
        weighted = self.cfg.loss.lambda_side * l_side
        out["side_sr"] = l_side.detach()
        return weighted

    def _select_rgbd(self, batch: dict[str, Any], sr: _DSRPass) -> _RGBDPass | None:
        """The batch's RGB-D rows with DSRNet's results on them (``None``: no RGB-D sample)."""
        rows = self._rgb_rows(batch, sr.x.shape[0], sr.x.device)
        if not bool(rows.any()):
            return None
        every = bool(rows.all())

        def sel(t: Tensor) -> Tensor:
            return t if every else t[rows]

        image = sel(batch["image"].float())
        hr, valid, d_sr = sel(sr.hr), sel(sr.valid), sel(sr.d)
        f_sr = [sel(f) for f in sr.f]
        dist = self.cfg.distill
        space = _DESpace(dist.de_target, dist.de_scale, sel(sr.lo), sel(sr.hi))
        return _RGBDPass(rows, every, image, hr, valid, d_sr, f_sr, space)

    def _forward_de(self, rgbd: _RGBDPass) -> None:
        """DENet on the RGB-D rows: its target (normalised HR, or HR in data units /
        ``de_scale``), raw output, that output in DSRNet's space and its block features."""
        rgbd.target = rgbd.space.from_norm(rgbd.hr)
        rgbd.raw, rgbd.f_de = self.net("de").forward_features(rgbd.image)
        rgbd.d_de = rgbd.space.to_norm(rgbd.raw)

    def _de_l1_term(self, rgbd: _RGBDPass, out: StepOutput) -> Tensor:
        """``|D_de - D_hr|_1`` in DENet's space; logs ``l1_de``."""
        l_de = masked_l1(rgbd.raw, rgbd.target, rgbd.valid)
        out["l1_de"] = l_de.detach()
        return l_de

    def _de_ssim_term(self, rgbd: _RGBDPass, out: StepOutput) -> Tensor:
        """``lambda_ssim * (1 - SSIM(D_de, D_hr)) / 2`` against the hole-filled target, averaged
        over valid pixels; logs ``ssim_de``."""
        from depthduet.losses.photometric import ssim_loss

        target = fill_invalid(rgbd.target, rgbd.valid)
        l_ssim = masked_mean(ssim_loss(rgbd.raw, target), rgbd.valid)
        weighted = self.cfg.loss.lambda_ssim * l_ssim
        out["ssim_de"] = l_ssim.detach()
        return weighted

    def _record_round_errors(self, rgbd: _RGBDPass, out: StepOutput) -> None:
        """Adds the batch's ``e_dsr``, ``e_de`` (normalised units, weighted by the valid
        pixels) to the round statistics of the teacher choice (A.3); logs both."""
        e_dsr = masked_l1(rgbd.d_sr.detach(), rgbd.hr, rgbd.valid)
        e_de = masked_l1(rgbd.d_de.detach(), rgbd.hr, rgbd.valid)
        self.selector.update(float(e_dsr), float(e_de), weight=float(rgbd.valid.sum().clamp_min(1)))
        out["e_dsr"], out["e_de"] = e_dsr, e_de

    def _de_side_term(self, rgbd: _RGBDPass, out: StepOutput) -> Tensor:
        """``lambda_side * sum_t |P_de^t - D_hr|_1`` in DENet's space; sets ``rgbd.side_de``;
        logs ``side_de``."""
        rgbd.side_de = self.net("de_heads")(rgbd.f_de)
        l_side = sum(masked_l1(p, rgbd.target, rgbd.valid) for p in rgbd.side_de)
        weighted = self.cfg.loss.lambda_side * l_side
        out["side_de"] = l_side.detach()
        return weighted

    def _teacher_is_dsr(self, out: StepOutput) -> bool:
        """Whether DSRNet teaches this round (A.3); logs ``teacher_dsr``."""
        sr_teaches = self.selector.teacher == "dsr"
        out["teacher_dsr"] = 1.0 if sr_teaches else 0.0
        return sr_teaches

    def _output_space_term(
        self, sr: _DSRPass, rgbd: _RGBDPass, sr_teaches: bool, out: StepOutput
    ) -> Tensor:
        """``lambda_P * L_P`` between the side outputs, compared in the student's space (DENet's
        when DSRNet teaches, DSRNet's normalised one otherwise); logs ``distill_P``."""
        p_sr = [rgbd.select(p) for p in sr.side]
        if sr_teaches:
            stu, tea = rgbd.side_de, [rgbd.space.from_norm(p) for p in p_sr]
        else:
            stu, tea = p_sr, [rgbd.space.to_norm(p) for p in rgbd.side_de]
        l_p = output_space_loss(stu, tea, rgbd.valid, scales=self.cfg.loss.side_scales)
        weighted = self.cfg.loss.lambda_P * l_p
        out["distill_P"] = l_p.detach()
        return weighted

    def _affinity_term(self, rgbd: _RGBDPass, sr_teaches: bool, out: StepOutput) -> Tensor:
        """``lambda_A * L_A``: the affinity matrices of every stage's features, the student's
        against the teacher's; logs ``distill_A``."""
        lc = self.cfg.loss
        l_a = rgbd.d_sr.new_zeros(())
        for fs, fd in zip(rgbd.f_sr, rgbd.f_de):
            a_sr = affinity_matrix(fs, lc.affinity_pool, lc.temperature)
            a_de = affinity_matrix(fd, lc.affinity_pool, lc.temperature)
            stu, tea = (a_de, a_sr) if sr_teaches else (a_sr, a_de)
            l_a = l_a + affinity_loss(stu, tea, lc.affinity_loss)
        weighted = lc.lambda_A * l_a
        out["distill_A"] = l_a.detach()
        return weighted

    def _structure_term(self, rgbd: _RGBDPass, out: StepOutput) -> Tensor:
        """``lambda_S * L_S``: SPNet's structure map from both networks' last features and
        uncertainties against the Sobel structure of ``D_hr`` (A.4); without
        ``distill.spnet_error_grad`` the outputs inside the uncertainties are detached. Logs
        ``structure``."""
        lc = self.cfg.loss
        if self.cfg.distill.spnet_error_grad:
            u_sr_in, u_de_in = rgbd.d_sr, rgbd.d_de
        else:  # L_S through the features only (A.4 [our reading])
            u_sr_in, u_de_in = rgbd.d_sr.detach(), rgbd.d_de.detach()
        s_pred = self.net("sp")(rgbd.f_sr[-1], rgbd.f_de[-1], u_sr_in, u_de_in, rgbd.hr, rgbd.valid)
        s_gt, s_valid = structure_gt(rgbd.hr, rgbd.valid, lc.structure_gt)
        l_s = structure_loss(s_pred, s_gt, s_valid)
        weighted = lc.lambda_S * l_s
        out["structure"] = l_s.detach()
        return weighted

    # -- validation
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
        """Restores :meth:`state_dict` (a resumed run picks the same teachers)."""
        if "selector" in state:
            self.selector.load_state_dict(state["selector"])


# --------------------------------------------------------------------------------- metrics
def _per_sample(fn: Any, err: Tensor, valid: Tensor) -> float:
    """Mean over samples of the valid-pixel mean of ``fn(err)`` (``err, valid (B,1,H,W)``)."""
    w = valid.to(err.dtype)
    per = (fn(err) * w).flatten(1).sum(1) / w.flatten(1).sum(1).clamp_min(1.0)
    return float(per.mean())


def _rmse(pred: Tensor, target: Tensor, valid: Tensor) -> float:
    """Mean over samples of the RMSE over valid pixels (``(B,1,H,W)`` each); NaN if not finite."""
    w = valid.to(pred.dtype)
    mse = ((pred - target) ** 2 * w).flatten(1).sum(1) / w.flatten(1).sum(1).clamp_min(1.0)
    return float(mse.sqrt().mean()) if math.isfinite(float(mse.sum())) else float("nan")
