"""Depth super-resolution pairs (METHOD A, "how the LR input is made").

* :func:`downsample` (from :mod:`depthduet.data.degradation`) makes ``(lr, lr_valid)`` from
  ``(hr, hr_valid)`` with a named kernel: ``bicubic_aa`` (antialiased bicubic; ``bicubic`` is
  its older name and keeps that meaning), ``bicubic_plain``, ``bilinear``, ``area``,
  ``nearest[:offset]``, ``gaussian[:sigma]``; all as normalised convolutions over valid pixels.
* :class:`DepthSRPairs` wraps any RGB-D or depth-only dataset and returns the pair dictionary of
  docs/DEVELOPING.md (``lr``, ``lr_valid``, ``hr``, ``hr_valid``, ``image`` if any, ``scale``,
  ``degradation``, ``name``), with random crops and horizontal flips when training, a fixed or
  random LR recipe per sample (:class:`depthduet.data.degradation.DegradationMix`), optional LR
  noise and random LR holes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from depthduet.data.degradation import (
    KERNEL_ALIASES,
    KERNELS,
    Degradation,
    DegradationMix,
    downsample,
    parse_degradation,
)
from depthduet.errors import UserError

__all__ = ["DEGRADATIONS", "downsample", "DepthSRPairs", "resolve_degradation"]

#: ``data.degradation`` values: a kernel (:data:`depthduet.data.degradation.KERNELS`, the old
#: name ``bicubic`` = ``bicubic_aa``), ``random`` (a :class:`DegradationMix`) or ``given``; a
#: chain such as ``area+gaussian_noise:0.01`` is accepted too (:func:`parse_degradation`).
DEGRADATIONS = (*KERNELS, *KERNEL_ALIASES, "random", "given")


def resolve_degradation(
    spec: str, mix: DegradationMix | None = None
) -> Degradation | DegradationMix | str:
    """``data.degradation`` -> a :class:`Degradation`, the ``mix`` (``random``) or ``"given"``.

    Raises:
        UserError: an unknown name or a malformed chain.
    """
    if spec == "given":
        return "given"
    if spec == "random":
        mix = mix if mix is not None else DegradationMix()
        mix.validate()
        return mix
    return parse_degradation(spec)


#: an HR crop ``(top, left, height, width)``
Window = tuple[int, int, int, int]


def _as_tensor(x: Any, dtype: torch.dtype | None = None) -> Tensor:
    t = x if isinstance(x, Tensor) else torch.as_tensor(np.asarray(x))
    return t.to(dtype) if dtype is not None else t


class DepthSRPairs(Dataset):
    """Depth super-resolution pairs over a base dataset (docs/DEVELOPING.md "Depth-SR pairs").

    Args:
        base: a dataset returning ``depth (1, H, W)``, ``valid (1, H, W)`` (optional: all valid
            where ``depth > 0``), optionally ``image (3, H, W)``, ``name``, ``unit`` and, for
            ``degradation="given"``, ``depth_lr (1, h, w)`` (+ optional ``valid_lr``).
        scale: integer upsampling factor.
        degradation: a kernel or chain (see :func:`downsample`,
            :func:`depthduet.data.degradation.parse_degradation`), ``"random"`` (a new draw of
            ``mix`` per sample; validation draws are fixed by ``(seed, index)``) or ``"given"``.
        crop: HR patch size (a multiple of ``scale``) or ``None`` for the whole map (cropped at
            the bottom/right to a multiple of ``scale``). Random position when ``train``, centred
            otherwise.
        noise_std: Gaussian noise added to valid LR pixels, as a fraction of the sample's valid
            HR depth range (so it is unit-free); train and test alike.
        hole_prob: probability that each LR pixel is made invalid (random holes).
        train: random crops and horizontal flips.
        seed: base of the per-sample random generator. Evaluation (``train=False``) seeds
            sample ``i`` with ``(seed, i)``: the same noise / holes every time. Training adds a
            number drawn from torch's global generator (seeded by the engine, and per worker by
            the DataLoader), so every epoch sees new crops / flips / noise, reproducibly.

    Returns per item: ``lr (1, h, w)``, ``lr_valid (1, h, w)`` bool, ``hr (1, H, W)``,
    ``hr_valid (1, H, W)`` bool, ``image (3, H, W)`` when the base has it, ``scale`` int,
    ``degradation`` str (the exact chain used for this sample), ``name`` str, ``unit`` str.
    """

    def __init__(
        self,
        base: Dataset,
        scale: int,
        degradation: str = "bicubic",
        crop: int | None = None,
        noise_std: float = 0.0,
        hole_prob: float = 0.0,
        train: bool = True,
        seed: int = 0,
        mix: DegradationMix | None = None,
    ) -> None:
        try:
            self._recipe = resolve_degradation(str(degradation), mix)
        except UserError as e:
            raise UserError(f"data.degradation: {e}") from None
        if int(scale) != scale or scale < 1:
            raise UserError(f"data.scale: expected an integer >= 1, got {scale!r}")
        if crop is not None and (crop <= 0 or crop % int(scale)):
            raise UserError(f"data.crop: {crop} must be a positive multiple of the scale {scale}")
        if noise_std < 0 or not 0.0 <= hole_prob < 1.0:
            raise UserError(
                f"data: noise_std must be >= 0 and hole_prob in [0, 1), got {noise_std}, {hole_prob}"
            )
        self.base = base
        self.scale = int(scale)
        self.degradation = degradation
        self.crop = crop
        self.noise_std = float(noise_std)
        self.hole_prob = float(hole_prob)
        self.train = train
        self.seed = int(seed)

    def __len__(self) -> int:
        return len(self.base)  # type: ignore[arg-type]

    def _window(self, h: int, w: int, rng: np.random.Generator, name: str) -> Window:
        s = self.scale
        if self.crop is None:
            hh, ww = (h // s) * s, (w // s) * s
            if hh == 0 or ww == 0:
                raise UserError(f"{name}: depth {h}x{w} is smaller than the scale {s}")
            return 0, 0, hh, ww
        c = self.crop
        if h < c or w < c:
            raise UserError(f"{name}: depth {h}x{w} is smaller than data.crop={c}")
        if self.train:
            # LR-aligned offsets so that "given" LR maps crop consistently
            top = int(rng.integers(0, (h - c) // s + 1)) * s
            left = int(rng.integers(0, (w - c) // s + 1)) * s
        else:
            top, left = ((h - c) // 2 // s) * s, ((w - c) // 2 // s) * s
        return top, left, c, c

    def _sample_rng(self, index: int) -> np.random.Generator:
        """The generator of sample ``index``: fixed by ``(seed, index)`` for evaluation; when
        training, with a number drawn from torch's global generator (new every epoch)."""
        if self.train:
            draw = int(torch.randint(0, 2**31 - 1, (1,)).item())
            return np.random.default_rng([self.seed, draw, int(index)])
        return np.random.default_rng([self.seed, int(index)])

    def _given_lr(
        self, sample: dict[str, Any], name: str, hr_size: tuple[int, int], window: Window
    ) -> tuple[Tensor, Tensor]:
        """The sample's own LR map (``degradation="given"``) cut to the HR ``window``.

        Returns:
            ``lr (1, ch / s, cw / s)`` with invalid pixels set to 0, and ``lr_valid`` bool of
            the same shape.
        """
        if "depth_lr" not in sample:
            raise UserError(f"{name}: degradation 'given' needs a 'depth_lr' key in the sample")
        h, w = hr_size
        top, left, ch, cw = window
        s = self.scale
        lr_full = _as_tensor(sample["depth_lr"], torch.float32)
        if lr_full.dim() == 2:
            lr_full = lr_full.unsqueeze(0)
        if "valid_lr" in sample:
            lv_full = _as_tensor(sample["valid_lr"]).bool().reshape(lr_full.shape)
        else:
            lv_full = torch.isfinite(lr_full) & (lr_full > 0)
        if lr_full.shape[-2] < math.ceil(h / s) - 1 or lr_full.shape[-1] < math.ceil(w / s) - 1:
            raise UserError(
                f"{name}: given LR {tuple(lr_full.shape[-2:])} does not match HR {h}x{w} / {s}"
            )
        t, lft = top // s, left // s
        lr = lr_full[:, t : t + ch // s, lft : lft + cw // s]
        lv = lv_full[:, t : t + ch // s, lft : lft + cw // s]
        if lr.shape[-2:] != (ch // s, cw // s):
            raise UserError(f"{name}: given LR map too small for HR {h}x{w} at scale {s}")
        return torch.where(lv, lr, torch.zeros_like(lr)), lv

    def _degraded_lr(
        self, hr: Tensor, hv: Tensor, rng: np.random.Generator
    ) -> tuple[Tensor, Tensor, str]:
        """LR map made from ``hr (1, H, W)`` / ``hv (1, H, W)`` by the sample's recipe (a draw
        of the mix for ``random``).

        Returns:
            ``lr (1, H / s, W / s)``, ``lr_valid`` of the same shape and the chain used.
        """
        recipe = self._recipe
        gen = torch.Generator().manual_seed(int(rng.integers(0, 2**62)))
        if isinstance(recipe, DegradationMix):
            recipe = recipe.sample(self.scale, gen)
        assert isinstance(recipe, Degradation)
        lr, lv = recipe.apply(hr, hv, self.scale, gen)
        return lr, lv, recipe.describe()

    def _with_noise_and_holes(
        self, hr: Tensor, hv: Tensor, lr: Tensor, lv: Tensor, rng: np.random.Generator
    ) -> tuple[Tensor, Tensor]:
        """``(lr, lr_valid)`` with the optional LR noise (scaled by the valid HR range of
        ``hr (1, H, W)``) and random holes applied; same shapes as ``lr (1, h, w)``."""
        if not (self.noise_std > 0 or self.hole_prob > 0):
            return lr, lv
        gen = torch.Generator().manual_seed(int(rng.integers(0, 2**62)))
        if self.noise_std > 0 and bool(hv.any()):
            rng_range = float(hr[hv].max() - hr[hv].min())
            noise = torch.randn(lr.shape, generator=gen) * self.noise_std * rng_range
            lr = torch.where(lv, lr + noise, lr)
        if self.hole_prob > 0:
            keep = torch.rand(lr.shape, generator=gen) >= self.hole_prob
            lv = lv & keep
            lr = torch.where(lv, lr, torch.zeros_like(lr))
        return lr, lv

    def __getitem__(self, index: int) -> dict[str, Any]:
        sample = self.base[index]
        name = str(sample.get("name", f"sample{index}"))
        depth, valid = _depth_and_valid(sample, name)
        rng = self._sample_rng(index)
        h, w = depth.shape[-2:]
        window = self._window(h, w, rng, name)
        top, left, ch, cw = window
        hr = depth[:, top : top + ch, left : left + cw]
        hv = valid[:, top : top + ch, left : left + cw]
        if self.degradation == "given":
            lr, lv = self._given_lr(sample, name, (h, w), window)
            used = "given"
        else:
            lr, lv, used = self._degraded_lr(hr, hv, rng)
        out: dict[str, Any] = {}
        if sample.get("image") is not None:
            out["image"] = _cropped_image(sample["image"], name, (h, w), window)
        lr, lv = self._with_noise_and_holes(hr, hv, lr, lv, rng)
        if self.train and rng.random() < 0.5:
            hr, hv, lr, lv = (x.flip(-1) for x in (hr, hv, lr, lv))
            if "image" in out:
                out["image"] = out["image"].flip(-1)
        out.update(
            lr=lr.contiguous(),
            lr_valid=lv.contiguous(),
            hr=hr.contiguous(),
            hr_valid=hv.contiguous(),
            scale=self.scale,
            degradation=used,
            name=name,
            unit=str(sample.get("unit", "")),
        )
        if "image" in out:
            out["image"] = out["image"].contiguous()
        return out


def _depth_and_valid(sample: dict[str, Any], name: str) -> tuple[Tensor, Tensor]:
    """The sample's ``depth (1, H, W)`` (invalid pixels set to 0) and ``valid (1, H, W)`` bool
    (given, else finite and > 0)."""
    if "depth" not in sample:
        raise UserError(f"{name}: the base dataset gives no 'depth' (needed for depth SR)")
    depth = _as_tensor(sample["depth"], torch.float32)
    if depth.dim() == 2:
        depth = depth.unsqueeze(0)
    if "valid" in sample and sample["valid"] is not None:
        valid = _as_tensor(sample["valid"]).bool().reshape(depth.shape)
    else:
        valid = torch.isfinite(depth) & (depth > 0)
    return torch.where(valid, depth, torch.zeros_like(depth)), valid


def _cropped_image(image: Any, name: str, hr_size: tuple[int, int], window: Window) -> Tensor:
    """``image (3, H, W)`` cut to the HR ``window``: ``(3, ch, cw)`` float32."""
    image = _as_tensor(image, torch.float32)
    h, w = hr_size
    if image.shape[-2:] != (h, w):
        raise UserError(f"{name}: image {tuple(image.shape[-2:])} and depth {h}x{w} sizes differ")
    top, left, ch, cw = window
    return image[:, top : top + ch, left : left + cw]
