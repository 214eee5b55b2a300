"""The monocular depth network of one branch (N_u or N_s, METHOD.md B) and helpers.

``DepthNet`` = :class:`~depthduet.models.resnet.ResNetEncoder` +
:class:`~depthduet.models.decoder.DepthDecoder`; it predicts at 4 scales a disparity
``sigma_d`` and a confidence ``C`` (both sigmoids). Depth follows METHOD.md B::

    D = 1 / (1/d_max + (1/d_min - 1/d_max) * sigma_d)

Also here: :func:`build_depth_net` (a network from the ``model`` section of a ``mutual``
configuration, shared by the recipe and inference), :func:`is_scale_ambiguous` (whether a
trained branch predicts metric depth) and :func:`confidence_informativeness`, the evaluation
statistic "error of the 20% least confident pixels vs the 20% most confident ones", logged
during validation.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from depthduet.models.decoder import DepthDecoder
from depthduet.models.resnet import ResNetEncoder

__all__ = [
    "DepthNet",
    "build_depth_net",
    "confidence_informativeness",
    "depth_to_disp",
    "disp_to_depth",
    "is_scale_ambiguous",
]


def disp_to_depth(sigma: torch.Tensor, d_min: float = 0.1, d_max: float = 100.0) -> torch.Tensor:
    """Sigmoid disparity -> depth (METHOD.md B).

    ``D = 1 / (1/d_max + (1/d_min - 1/d_max) * sigma)``: ``sigma = 0`` gives ``d_max``,
    ``sigma = 1`` gives ``d_min``.

    Args:
        sigma: any shape, values in [0, 1].
        d_min: smallest depth (> 0).
        d_max: largest depth (> d_min).

    Returns:
        Depth of the same shape, in [d_min, d_max].
    """
    if not 0 < d_min < d_max:
        raise ValueError(f"disp_to_depth: need 0 < d_min < d_max, got {d_min}, {d_max}")
    lo, hi = 1.0 / d_max, 1.0 / d_min
    return 1.0 / (lo + (hi - lo) * sigma)


def depth_to_disp(depth: torch.Tensor, d_min: float = 0.1, d_max: float = 100.0) -> torch.Tensor:
    """Inverse of :func:`disp_to_depth` (depth clamped to [d_min, d_max] first).

    Args:
        depth: ``(B, 1, H, W)`` depth (any shape works).
        d_min: smallest depth.
        d_max: largest depth.

    Returns:
        Disparity in [0, 1], same shape as ``depth``.
    """
    if not 0 < d_min < d_max:
        raise ValueError(f"depth_to_disp: need 0 < d_min < d_max, got {d_min}, {d_max}")
    lo, hi = 1.0 / d_max, 1.0 / d_min
    return (1.0 / depth.clamp(d_min, d_max) - lo) / (hi - lo)


class DepthNet(nn.Module):
    """One branch of METHOD.md B: ResNet-18 encoder + U-Net decoder with two heads per scale.

    Args:
        encoder_weights: optional path to torchvision-layout ImageNet ResNet-18 weights.
        scales: output scales (0 = full resolution).
        d_min: minimum depth of :func:`disp_to_depth`.
        d_max: maximum depth of :func:`disp_to_depth`.
        init_depth: if > 0, the disparity heads' biases are set so that the untrained network
            predicts about this depth (metres) instead of ``disp_to_depth(0.5)`` (~0.2 m for the
            default range). From scratch that keeps stereo / temporal warps inside the image at
            the start, so view synthesis has a gradient **[our reading]**; 0 keeps the default
            initialisation (monodepth2).
    """

    #: input height and width must be multiples of this (five stride-2 stages)
    stride = 32

    def __init__(
        self,
        encoder_weights: str | os.PathLike[str] | None = None,
        scales: Sequence[int] = (0, 1, 2, 3),
        d_min: float = 0.1,
        d_max: float = 100.0,
        init_depth: float = 0.0,
    ) -> None:
        super().__init__()
        if not 0 < d_min < d_max:
            raise ValueError(f"DepthNet: need 0 < d_min < d_max, got {d_min}, {d_max}")
        if init_depth and not d_min < init_depth < d_max:
            raise ValueError(
                f"DepthNet: init_depth {init_depth} must lie inside ({d_min}, {d_max}) or be 0"
            )
        self.encoder = ResNetEncoder(1, encoder_weights)
        self.decoder = DepthDecoder(self.encoder.channels, scales, confidence=True)
        self.scales = self.decoder.scales
        self.d_min = float(d_min)
        self.d_max = float(d_max)
        if init_depth:
            sigma = float(depth_to_disp(torch.tensor(float(init_depth)), d_min, d_max))
            logit = math.log(sigma / (1.0 - sigma))
            with torch.no_grad():
                for head in self.decoder.disp_heads.values():
                    head.conv.bias.fill_(logit)

    def forward(self, image: torch.Tensor) -> dict[str, list[torch.Tensor]]:
        """Predict disparity and confidence at every scale.

        Args:
            image: ``(B, 3, H, W)`` in [0, 1]; H and W multiples of 32, at least 64 (the
                deepest map must be 2x2 for the decoder's reflection padding).

        Returns:
            ``{"disp": [...], "conf": [...]}``, lists ordered like :attr:`scales`, each
            ``(B, 1, H / 2^s, W / 2^s)`` in (0, 1).
        """
        h, w = image.shape[-2:]
        if (
            image.dim() != 4
            or image.shape[1] != 3
            or h % self.stride
            or w % self.stride
            or min(h, w) < 2 * self.stride
        ):
            raise ValueError(
                f"DepthNet: expected (B, 3, H, W) with H, W multiples of {self.stride} and at "
                f"least {2 * self.stride}, got {tuple(image.shape)}"
            )
        return self.decoder(self.encoder(image))

    def depth(self, sigma: torch.Tensor) -> torch.Tensor:
        """Depth of a disparity output with this network's ``d_min``/``d_max``.

        Args:
            sigma: ``(B, 1, H, W)`` disparity in [0, 1] (any shape works).

        Returns:
            Depth, same shape as ``sigma``.
        """

        return disp_to_depth(sigma, self.d_min, self.d_max)


def build_depth_net(model: Any, load_imagenet: bool = True) -> DepthNet:
    """A :class:`DepthNet` from the ``model`` section of a ``mutual`` configuration.

    Args:
        model: the section as a dataclass (``MDEModelConfig``) or a plain dict (a checkpoint's
            configuration); missing keys take the network's defaults.
        load_imagenet: load ``encoder_weights`` (training); inference passes False, the
            checkpoint's weights replace them anyway.
    """
    m = model if isinstance(model, Mapping) else model.__dict__
    weights = m.get("encoder_weights") or None
    return DepthNet(
        encoder_weights=weights if load_imagenet else None,
        scales=tuple(m.get("scales", (0, 1, 2, 3))),
        d_min=float(m.get("d_min", 0.1)),
        d_max=float(m.get("d_max", 100.0)),
        init_depth=float(m.get("init_depth", 0.0)),
    )


def is_scale_ambiguous(cfg: Any, branch: str) -> bool:
    """True when ``branch``'s depth has no metric scale: ``N_s`` trained on monocular video
    alone (mode ``self``, ``self_sup: M``). In ``semi`` mode distillation from ``N_u`` and in
    ``S``/``MS`` the stereo baseline fix the scale.

    Args:
        cfg: a ``mutual`` configuration, as the dataclass (``MutualConfig``) or a plain dict.
        branch: ``"u"`` or ``"s"``.
    """
    if isinstance(cfg, Mapping):
        mode, ss = cfg.get("mode", "semi"), cfg.get("self_sup", "MS")
    else:
        mode, ss = cfg.mode, cfg.self_sup
    return branch == "s" and mode == "self" and ss == "M"


def confidence_informativeness(
    error: torch.Tensor,
    confidence: torch.Tensor,
    valid: torch.Tensor | None = None,
    fraction: float = 0.2,
) -> dict[str, float]:
    """How well a confidence map ranks errors (evaluation of METHOD.md B.1's ``C``).

    Pools all valid pixels, sorts them by confidence and compares the mean error of the
    ``fraction`` least confident pixels with that of the ``fraction`` most confident ones.

    Args:
        error: ``(B, 1, H, W)`` per-pixel error (e.g. ``|D - D*| / D*``).
        confidence: ``(B, 1, H, W)`` confidence.
        valid: ``(B, 1, H, W)`` bool mask of pixels with ground truth (all when ``None``).
        fraction: share of pixels in each group, in (0, 0.5].

    Returns:
        ``{"err_low_conf", "err_high_conf", "conf_ratio"}`` with ``conf_ratio =
        err_low_conf / err_high_conf`` (> 1 when confidence is informative); NaN values when
        fewer than 2 valid pixels exist (then nothing can be ranked).
    """
    if not 0 < fraction <= 0.5:
        raise ValueError(
            f"confidence_informativeness: fraction must be in (0, 0.5], got {fraction}"
        )
    if error.shape != confidence.shape:
        raise ValueError(
            f"confidence_informativeness: shapes differ: {tuple(error.shape)} vs "
            f"{tuple(confidence.shape)}"
        )
    e = error.detach().reshape(-1).float()
    c = confidence.detach().reshape(-1).float()
    if valid is not None:
        m = valid.reshape(-1).bool()
        e, c = e[m], c[m]
    n = e.numel()
    k = int(round(fraction * n))
    if n < 2 or k < 1:
        nan = float("nan")
        return {"err_low_conf": nan, "err_high_conf": nan, "conf_ratio": nan}
    order = torch.argsort(c, stable=True)
    low = e[order[:k]].mean().item()
    high = e[order[-k:]].mean().item()
    ratio = low / high if high > 0 else float("inf") if low > 0 else 1.0
    return {"err_low_conf": low, "err_high_conf": high, "conf_ratio": ratio}
