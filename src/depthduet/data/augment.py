"""Batch augmentations of METHOD.md B.5 (separate augmentation for the two branches).

- :func:`hflip_batch`: the shared geometric augmentation. Flips every image-like tensor of the
  selected samples and updates the geometry so it stays consistent: ``cx -> W - 1 - cx`` in
  ``K`` (pixel-centre convention) and every 4x4 transform ``T -> S T S`` with
  ``S = diag(-1, 1, 1, 1)`` (mirroring the x axis), which negates the stereo baseline.
- :class:`ColorAugment`: per-sample colour jitter (brightness, contrast, saturation, hue),
  optional grey conversion and random erasing; the same draw is applied to all frames of one
  sample (target and neighbours), different draws for different samples.

Strong colour augmentation (+ optional erasing) feeds ``N_u``, weak colour jitter feeds ``N_s``
and the pose network; the photometric loss always uses the un-augmented (only flipped) frames.
All operations run on batched tensors on any device; randomness comes from an optional
``torch.Generator`` (CPU) so runs are reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from depthduet.config import check_range

__all__ = [
    "IMAGE_KEYS",
    "MAP_KEYS",
    "POSE_KEYS",
    "hflip_batch",
    "flip_transform",
    "flip_intrinsics",
    "ColorJitterConfig",
    "ColorAugment",
    "rgb_to_grey",
    "adjust_hue",
]

#: RGB frames of a monocular sample
IMAGE_KEYS = ("image", "image_prev", "image_next", "image_stereo")
#: per-pixel maps flipped with the images
MAP_KEYS = ("depth", "valid", "lidar", "lidar_valid")
#: 4x4 transforms between the target camera and other cameras
POSE_KEYS = ("T_prev_tgt", "T_next_tgt", "T_stereo_tgt")

_GREY = (0.299, 0.587, 0.114)


def flip_intrinsics(K: torch.Tensor, width: int) -> torch.Tensor:
    """Intrinsics of the horizontally mirrored image: ``cx' = W - 1 - cx``.

    Args:
        K: ``(..., 3, 3)`` intrinsics; not modified.
        width: image width ``W`` in pixels.

    Returns:
        ``(..., 3, 3)``, same shape as ``K``.
    """
    K = K.clone()
    K[..., 0, 2] = (width - 1) - K[..., 0, 2]
    return K


def flip_transform(T: torch.Tensor) -> torch.Tensor:
    """Rigid transform ``(..., 4, 4)`` expressed in x-mirrored cameras: ``S T S``,
    ``S = diag(-1, 1, 1, 1)``. A stereo transform with translation ``(-b, 0, 0)`` becomes
    ``(+b, 0, 0)``: the other camera is now on the other side.

    Returns:
        ``(..., 4, 4)``, same shape as ``T``."""
    s = torch.tensor([-1.0, 1.0, 1.0, 1.0], dtype=T.dtype, device=T.device)
    return T * s.view(-1, 1) * s.view(1, -1)


def hflip_batch(batch: dict[str, Any], flags: torch.Tensor) -> dict[str, Any]:
    """Horizontally flip the samples of a batch where ``flags`` is True.

    Args:
        batch: sample dict with batched tensors (keys of DEVELOPING.md; missing keys skipped).
        flags: ``(B,)`` bool.

    Returns:
        A new dict (the input is not modified); other keys are passed through.
    """
    out = dict(batch)
    if not bool(flags.any()):
        return out
    for key in IMAGE_KEYS + MAP_KEYS:
        x = batch.get(key)
        if isinstance(x, torch.Tensor) and x.dim() == 4:
            f = flags.to(x.device).view(-1, 1, 1, 1)
            out[key] = torch.where(f, torch.flip(x, dims=[-1]), x)
    width = None
    for key in IMAGE_KEYS + MAP_KEYS:
        if isinstance(batch.get(key), torch.Tensor) and batch[key].dim() == 4:
            width = batch[key].shape[-1]
            break
    K = batch.get("K")
    if isinstance(K, torch.Tensor) and width is not None:
        f = flags.to(K.device).view(-1, *([1] * (K.dim() - 1)))
        out["K"] = torch.where(f, flip_intrinsics(K, width), K)
    for key in POSE_KEYS:
        T = batch.get(key)
        if isinstance(T, torch.Tensor) and T.shape[-2:] == (4, 4):
            f = flags.to(T.device).view(-1, 1, 1)
            out[key] = torch.where(f, flip_transform(T), T)
    return out


def rgb_to_grey(x: torch.Tensor) -> torch.Tensor:
    """Luma of an RGB batch ``x`` ``(B, 3, H, W)`` (ITU-R 601 weights).

    Returns:
        ``(B, 1, H, W)`` luma.
    """
    w = torch.tensor(_GREY, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * w).sum(1, keepdim=True)


def adjust_hue(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Rotate the chroma of RGB images ``x`` ``(B, 3, H, W)`` by ``shift`` ``(B,)`` turns (YIQ
    space; ``shift = 0`` is the identity, 1 a full turn).

    Returns:
        ``(B, 3, H, W)``, same shape as ``x``.
    """
    to_yiq = torch.tensor(
        [[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]],
        dtype=x.dtype,
        device=x.device,
    )
    from_yiq = torch.linalg.inv(to_yiq)
    theta = 2 * math.pi * shift.to(x.dtype)
    cos, sin = torch.cos(theta), torch.sin(theta)
    rot = torch.zeros(x.shape[0], 3, 3, dtype=x.dtype, device=x.device)
    rot[:, 0, 0] = 1
    rot[:, 1, 1], rot[:, 1, 2] = cos, -sin
    rot[:, 2, 1], rot[:, 2, 2] = sin, cos
    m = from_yiq @ rot @ to_yiq  # (B, 3, 3)
    b, _, h, w = x.shape
    return (m @ x.reshape(b, 3, h * w)).reshape(b, 3, h, w)


@dataclass
class ColorJitterConfig:
    """One colour augmentation strength (METHOD.md B.5).

    Attributes:
        prob: probability that a sample is jittered at all.
        brightness: factor drawn from ``[1 - b, 1 + b]``.
        contrast: factor drawn from ``[1 - c, 1 + c]`` (blend with the mean grey level).
        saturation: factor drawn from ``[1 - s, 1 + s]`` (blend with the grey image).
        hue: shift drawn from ``[-h, h]`` turns (h <= 0.5).
        grey_prob: probability of converting the sample to grey.
        erase_prob: probability of random erasing (one rectangle of random colour noise).
        erase_area: (min, max) erased fraction of the image.
    """

    prob: float = 1.0
    brightness: float = 0.2
    contrast: float = 0.2
    saturation: float = 0.2
    hue: float = 0.05
    grey_prob: float = 0.0
    erase_prob: float = 0.0
    erase_area: tuple[float, float] = (0.02, 0.2)

    def validate(self) -> None:
        for k in ("prob", "grey_prob", "erase_prob"):
            check_range(f"augment.*.{k}", getattr(self, k), 0, 1)
        for k in ("brightness", "contrast", "saturation"):
            check_range(f"augment.*.{k}", getattr(self, k), 0, 1, hi_open=True)
        check_range("augment.*.hue", self.hue, 0, 0.5)
        lo, hi = self.erase_area
        if not 0.0 < lo <= hi < 1.0:
            raise ValueError(f"augment.*.erase_area: need 0 < min <= max < 1, got {lo}, {hi}")


class ColorAugment:
    """Per-sample photometric augmentation with a :class:`ColorJitterConfig`.

    Call with a list of RGB batches ``[(B, 3, H, W), ...]`` (frames of the same samples);
    returns the augmented list, each clamped to [0, 1]. Erasing is applied to the first
    tensor only (the target frame fed to the depth network).
    """

    def __init__(self, cfg: ColorJitterConfig) -> None:
        cfg.validate()
        self.cfg = cfg

    def _uniform(self, n: int, lo: float, hi: float, gen, device) -> torch.Tensor:
        return (lo + (hi - lo) * torch.rand(n, generator=gen)).to(device)

    def __call__(
        self, frames: Sequence[torch.Tensor], generator: torch.Generator | None = None
    ) -> list[torch.Tensor]:
        if not frames:
            return []
        c = self.cfg
        x0 = frames[0]
        b, dev = x0.shape[0], x0.device
        on = (torch.rand(b, generator=generator) < c.prob).to(dev).view(-1, 1, 1, 1)
        bright = self._uniform(b, 1 - c.brightness, 1 + c.brightness, generator, dev)
        contr = self._uniform(b, 1 - c.contrast, 1 + c.contrast, generator, dev)
        sat = self._uniform(b, 1 - c.saturation, 1 + c.saturation, generator, dev)
        hue = self._uniform(b, -c.hue, c.hue, generator, dev)
        grey = (torch.rand(b, generator=generator) < c.grey_prob).to(dev).view(-1, 1, 1, 1)
        erase = torch.rand(b, generator=generator) < c.erase_prob
        out = []
        for x in frames:
            y = x * bright.view(-1, 1, 1, 1)
            mean = rgb_to_grey(y).mean(dim=(2, 3), keepdim=True)
            y = (y - mean) * contr.view(-1, 1, 1, 1) + mean
            g = rgb_to_grey(y)
            y = (y - g) * sat.view(-1, 1, 1, 1) + g
            if c.hue > 0:
                y = adjust_hue(y, hue)
            y = torch.where(grey, rgb_to_grey(y).expand_as(y), y)
            y = torch.where(on, y, x).clamp(0.0, 1.0)
            out.append(y)
        if bool(erase.any()):
            out[0] = self._erase(out[0], erase, generator)
        return out

    def _erase(self, x: torch.Tensor, which: torch.Tensor, gen) -> torch.Tensor:
        """Replace one random rectangle per selected sample by uniform noise."""
        x = x.clone()
        _, _, h, w = x.shape
        lo, hi = self.cfg.erase_area
        for i in torch.nonzero(which).flatten().tolist():
            area = (lo + (hi - lo) * torch.rand(1, generator=gen).item()) * h * w
            aspect = math.exp(
                math.log(0.3)
                + (math.log(3.3) - math.log(0.3)) * torch.rand(1, generator=gen).item()
            )
            eh = max(1, min(h, int(round(math.sqrt(area / aspect)))))
            ew = max(1, min(w, int(round(math.sqrt(area * aspect)))))
            top = int(torch.randint(0, h - eh + 1, (1,), generator=gen))
            left = int(torch.randint(0, w - ew + 1, (1,), generator=gen))
            noise = torch.rand(3, eh, ew, generator=gen).to(x.device, x.dtype)
            x[i, :, top : top + eh, left : left + ew] = noise
        return x
