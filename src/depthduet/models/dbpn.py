"""DSRNet: dense DBPN depth super-resolution (METHOD.md A.1), the only network of METHOD A that
runs at test time. This module imports nothing of DENet / SPNet, so inference needs no RGB.

Depth normalisation (shared by training, validation and inference)
------------------------------------------------------------------
The network works on *normalised* depth, so one model serves any unit and range:

1. per sample, from the VALID low-resolution pixels, ``lo`` and ``hi`` are the minimum and maximum
   (``norm="minmax"``) or the ``pct`` percentiles (``norm="percentile"``, robust to outliers);
   a constant map gets ``hi = lo + 1``;
2. ``x_n = (x - lo) / (hi - lo)`` (:func:`normalize_depth`);
3. invalid LR pixels are filled by normalised convolution over an image pyramid
   (:func:`fill_invalid`) so that they never leak zeros into the network;
4. the network's output is mapped back with ``x = x_n * (hi - lo) + lo``
   (:func:`denormalize_depth`).

The three functions live in :mod:`depthduet.depth` (the depth vocabulary shared by models,
losses and inference); this module re-exports them.

:meth:`DSRNet.super_resolve` chains the four steps. Training (``depthduet.recipes.ctkt``) computes
its losses in normalised units on valid HR pixels only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from depthduet.depth import check_depth_batch, denormalize_depth, fill_invalid, normalize_depth
from depthduet.errors import UserError
from depthduet.models.blocks import (
    ConvAct,
    DownProjection,
    UpProjection,
    kaiming_init,
    projection_setting,
)

# normalize_depth, denormalize_depth and fill_invalid are defined in depthduet.depth (one place
# for models, losses and inference) and stay importable from here
__all__ = ["DSRNet", "DSRPreset", "PRESETS", "get_preset", "prepare_lr"]


@dataclass(frozen=True)
class DSRPreset:
    """Network sizes of METHOD A: DSRNet ``F`` (shallow width), ``b`` (projection width), ``N``
    (stages); DENet width ``b_de`` (``b'`` of METHOD.md A.2); SPNet width ``sp_width``."""

    n_feats: int
    n_base: int
    n_stages: int
    b_de: int
    sp_width: int


#: ``paper`` follows D-DBPN (F=256, b=64, N=7); ``small`` and ``tiny`` are CPU-sized.
PRESETS: dict[str, DSRPreset] = {
    "paper": DSRPreset(n_feats=256, n_base=64, n_stages=7, b_de=64, sp_width=64),
    "small": DSRPreset(n_feats=64, n_base=32, n_stages=3, b_de=32, sp_width=32),
    "tiny": DSRPreset(n_feats=32, n_base=16, n_stages=2, b_de=16, sp_width=16),
}


def get_preset(name: str) -> DSRPreset:
    """The :class:`DSRPreset` called ``name``; raises :class:`UserError` listing the known ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise UserError(
            f"model.preset: unknown preset {name!r}; known: {', '.join(PRESETS)}"
        ) from None


def prepare_lr(
    lr: Tensor,
    lr_valid: Tensor | None = None,
    norm: str = "minmax",
    pct: tuple[float, float] = (1.0, 99.0),
) -> tuple[Tensor, Tensor, Tensor]:
    """Normalise then fill the LR depth: the network input of DSRNet.

    Args:
        lr: ``(B, 1, h, w)`` LR depth.
        lr_valid: ``(B, 1, h, w)`` bool validity of ``lr`` (``None``: all valid).
        norm: ``"minmax"`` or ``"percentile"`` (see :func:`normalize_depth`).
        pct: lower and upper percentiles for ``norm="percentile"``.

    Returns:
        ``(x, lo, hi)``: ``x`` ``(B, 1, h, w)`` normalised and hole-filled; ``lo`` and ``hi``
        ``(B, 1, 1, 1)``.
    """
    x_n, lo, hi = normalize_depth(lr, lr_valid, norm=norm, pct=pct)
    if lr_valid is not None:
        x_n = fill_invalid(x_n, lr_valid)
    return x_n, lo, hi


def dense_projection_stages(
    low: Tensor, ups: Sequence[nn.Module], downs: Sequence[nn.Module]
) -> list[Tensor]:
    """DSRNet's dense back-projection stages (METHOD.md A.1): ``H^t = U_t([L^0..L^{t-1}])`` and,
    for ``t < N``, ``L^t = Dn_t([H^1..H^t])`` (concatenations along channels).

    Args:
        low: ``L^0`` ``(B, b, h, w)``, the shallow block's output.
        ups: the ``N`` up-projections ``U_t``; downs: the ``N - 1`` down-projections ``Dn_t``.

    Returns:
        ``[H^1..H^N]``, each ``(B, b, s*h, s*w)``.
    """
    lows = [low]
    highs: list[Tensor] = []
    for t in range(len(ups)):
        low_in = lows[0] if t == 0 else torch.cat(lows, dim=1)
        highs.append(ups[t](low_in))
        if t < len(ups) - 1:
            high_in = highs[0] if t == 0 else torch.cat(highs, dim=1)
            lows.append(downs[t](high_in))
    return highs


class DSRNet(nn.Module):
    """Dense DBPN for single depth super-resolution (METHOD.md A.1).

    * shallow block: conv3x3 1->F, conv3x3 F->F, conv1x1 F->b, each + PReLU, giving ``L^0``;
    * stage ``t = 1..N``: ``H^t = U_t([L^0..L^{t-1}])`` (``F_sr^t``, ``b x sh x sw``), then for
      ``t < N``: ``L^t = Dn_t([H^1..H^t])`` (dense concatenation, 1x1 squeeze when more than one);
    * reconstruction: conv3x3 on ``[H^1..H^N]`` -> 1 channel, plus ``bicubic_up(D_lr)``.

    Weights: Kaiming-normal (:func:`blocks.kaiming_init`); the reconstruction conv is scaled by
    0.1 so that an untrained network outputs nearly the bicubic upsampling.

    The input is *normalised, hole-filled* LR depth (see :func:`prepare_lr` and the module
    docstring); :meth:`super_resolve` takes raw depth in any unit.

    Args:
        scale: 2, 4, 8 or 16 (projection settings of :data:`blocks.PROJECTION_SETTINGS`).
        n_feats: ``F``. n_base: ``b``. n_stages: ``N`` (>= 1).
    """

    def __init__(self, scale: int, n_feats: int = 64, n_base: int = 32, n_stages: int = 3) -> None:
        super().__init__()
        projection_setting(scale)  # validates the scale
        if n_stages < 1 or n_feats < 1 or n_base < 1:
            raise UserError(
                f"DSRNet: n_feats, n_base, n_stages must be >= 1, got {n_feats}, {n_base}, {n_stages}"
            )
        self.scale = int(scale)
        self.n_feats = n_feats
        self.n_base = n_base
        self.n_stages = n_stages
        self.shallow = nn.Sequential(
            ConvAct(1, n_feats, 3), ConvAct(n_feats, n_feats, 3), ConvAct(n_feats, n_base, 1, 1, 0)
        )
        self.ups = nn.ModuleList(
            UpProjection(n_base, scale, c_in=n_base * t) for t in range(1, n_stages + 1)
        )
        self.downs = nn.ModuleList(
            DownProjection(n_base, scale, c_in=n_base * t) for t in range(1, n_stages)
        )
        self.recon = nn.Conv2d(n_base * n_stages, 1, 3, 1, 1)
        kaiming_init(self)
        with torch.no_grad():  # start close to the bicubic residual: recon at 0.1x Kaiming
            self.recon.weight.mul_(0.1)

    @classmethod
    def from_preset(cls, scale: int, preset: str) -> DSRNet:
        """A DSRNet with the sizes of :data:`PRESETS` ``[preset]``."""
        p = get_preset(preset)
        return cls(scale, n_feats=p.n_feats, n_base=p.n_base, n_stages=p.n_stages)

    def forward_features(self, lr: Tensor) -> tuple[Tensor, list[Tensor]]:
        """Super-resolve ``lr (B, 1, h, w)`` (normalised) and keep the stage features.

        Returns:
            ``(D_sr, [F_sr^1..F_sr^N])``: ``D_sr`` ``(B, 1, s*h, s*w)``, each ``F_sr^t`` of
            shape ``(B, b, s*h, s*w)``.
        """
        check_depth_batch(lr, "DSRNet input")
        highs = dense_projection_stages(self.shallow(lr), self.ups, self.downs)
        recon = self.recon(torch.cat(highs, dim=1) if len(highs) > 1 else highs[0])
        up = F.interpolate(lr, scale_factor=self.scale, mode="bicubic", align_corners=False)
        return recon + up, highs

    def forward(self, lr: Tensor) -> Tensor:
        """Super-resolve ``lr (B, 1, h, w)`` (normalised, hole-filled).

        Returns:
            ``D_sr`` ``(B, 1, s*h, s*w)``, normalised.
        """

        return self.forward_features(lr)[0]

    @torch.no_grad()
    def super_resolve(
        self,
        lr: Tensor,
        lr_valid: Tensor | None = None,
        norm: str = "minmax",
        pct: tuple[float, float] = (1.0, 99.0),
    ) -> Tensor:
        """Raw LR depth (any unit) -> HR depth in the same unit (normalise, fill, run, map back).

        Args:
            lr: ``(B, 1, h, w)``; invalid pixels may hold anything finite.
            lr_valid: ``(B, 1, h, w)`` bool or ``None`` (all valid).

        Returns:
            ``(B, 1, s*h, s*w)`` dense HR depth in the unit of ``lr``.
        """
        x, lo, hi = prepare_lr(lr, lr_valid, norm=norm, pct=pct)
        return denormalize_depth(self(x), lo, hi)
