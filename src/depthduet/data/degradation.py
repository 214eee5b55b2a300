"""How a low-resolution (LR) depth map is made from a high-resolution (HR) one.

A real LR depth map is rarely an antialiased bicubic resize. Depth-SR benchmarks ship plain
(non-antialiased) bicubic LR maps, sparse sensors and decimated maps are point samples, a sensor
pixel integrates its footprint (a block mean), and real sensors add depth-dependent noise,
quantisation, holes and mixed ("flying") pixels at edges. This module makes each of these as a
small, seeded function over ``(depth, valid)`` tensors, and composes them into a
:class:`Degradation` (one concrete recipe) or a :class:`DegradationMix` (a training
distribution over all of them, ``data.degradation: random``).

**Kernels** (``(..., H, W) -> (..., H/s, W/s)``; :func:`downsample`):

==================  ==========================================================================
``bicubic_aa``       antialiased bicubic resize (``F.interpolate(..., antialias=True)``); the
                     historical ``bicubic`` name keeps this meaning
``bicubic_plain``    bicubic resize without antialiasing
                     (``F.interpolate(hr, scale_factor=1/s, mode="bicubic", antialias=False)``),
                     how common depth-SR benchmarks distribute their LR maps
``bilinear``         bilinear resize without antialiasing (``cv2.INTER_LINEAR``'s sampling)
``area``             the mean of each ``s x s`` block (a sensor pixel integrating its footprint)
``nearest``          point samples ``hr[o::s, o::s]``; offset ``o`` in ``0..s-1``, default
                     ``s // 2`` (``upsample --lr-grid point``); ``nearest:0`` is the corner
                     grid ``hr[::s]`` (``--lr-grid corner``)
``gaussian``         Gaussian blur of ``sigma`` HR pixels (default ``s / 2``), then sampled at
                     the LR pixel centres (a bilinear resize without antialiasing)
==================  ==========================================================================

Every kernel is a *normalised convolution* over the valid pixels:
``lr = k(depth * valid) / k(valid)``, an LR pixel being valid where ``k(valid) > 0.5`` (point
samples: where the sampled pixel is valid). Invalid pixels never bleed into valid ones, and
whatever an invalid pixel stores cannot change a valid LR value. With no hole each kernel is
exactly its plain resize.

**Noise** (on valid LR pixels only, in the map's own unit): :func:`add_gaussian_noise`
(a fraction of the map's valid range), :func:`add_proportional_noise` (ToF-like, ``sigma = k d``),
:func:`quantize_disparity` (Kinect-like: depth stored as quantised inverse depth, so the step
grows as ``d^2``), :func:`quantize_levels` (8/16-bit storage of the valid range).

**Holes and mixed pixels**: :func:`drop_random` (isolated drop-outs), :func:`drop_blobs`
(random blobs), :func:`drop_at_edges` (drop-outs at depth discontinuities), :func:`flying_pixels`
(foreground/background mixtures at discontinuities; they stay valid, as a sensor reports them).

Kernel names take one optional parameter after a colon (``nearest:0``, ``gaussian:1.5``);
:func:`parse_degradation` reads a whole chain such as
``"area+gaussian_noise:0.01+drop_random:0.01"``.

The steps live in :mod:`~depthduet.data.degradation_kernels`,
:mod:`~depthduet.data.degradation_noise` and :mod:`~depthduet.data.degradation_holes`; this
module composes them and re-exports every name.

Example:
    >>> import torch
    >>> hr = torch.arange(16.0).view(1, 4, 4) + 1
    >>> lr, lv = downsample(hr, None, 2, "area")
    >>> lr
    tensor([[[ 3.5000,  5.5000],
             [11.5000, 13.5000]]])
    >>> downsample(hr, None, 2, "nearest:0")[0]
    tensor([[[ 1.,  3.],
             [ 9., 11.]]])
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import Tensor

from depthduet.data.degradation_holes import (
    HOLES,
    drop_at_edges,
    drop_blobs,
    drop_random,
    flying_pixels,
)
from depthduet.data.degradation_kernels import (
    KERNEL_ALIASES,
    KERNELS,
    canonical_kernel,
    downsample,
    shift_subpixel,
)
from depthduet.data.degradation_noise import (
    NOISES,
    add_gaussian_noise,
    add_proportional_noise,
    quantize_disparity,
    quantize_levels,
)
from depthduet.errors import UserError

__all__ = [
    "KERNELS",
    "KERNEL_ALIASES",
    "NOISES",
    "HOLES",
    "Degradation",
    "DegradationMix",
    "add_gaussian_noise",
    "add_proportional_noise",
    "canonical_kernel",
    "downsample",
    "drop_at_edges",
    "drop_blobs",
    "drop_random",
    "flying_pixels",
    "parse_degradation",
    "quantize_disparity",
    "quantize_levels",
    "shift_subpixel",
]


@dataclass
class Degradation:
    """One concrete LR recipe: an optional sub-pixel shift, a kernel, noise, holes.

    Attributes:
        kernel: a kernel of :data:`KERNELS`, optionally ``name:param``.
        shift: ``(dy, dx)`` HR-pixel shift applied before the kernel (``(0, 0)``: none).
        noise: ``[(name, value), ...]`` steps of :data:`NOISES`, applied in order on the LR map.
        holes: ``[(name, value), ...]`` steps of :data:`HOLES`, applied in order on the LR map.

    Example:
        >>> deg = parse_degradation("area+gaussian_noise:0.01+drop_random:0.01")
        >>> deg.describe()
        'area+gaussian_noise:0.01+drop_random:0.01'
        >>> hr = torch.rand(1, 8, 8) + 1
        >>> lr, lv = deg.apply(hr, None, 2, torch.Generator().manual_seed(0))
        >>> lr.shape, lv.dtype
        (torch.Size([1, 4, 4]), torch.bool)
    """

    kernel: str = "bicubic_aa"
    shift: tuple[float, float] = (0.0, 0.0)
    noise: list[tuple[str, float]] = field(default_factory=list)
    holes: list[tuple[str, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        canonical_kernel(self.kernel)
        for name, value in self.noise:
            if name not in NOISES:
                raise UserError(f"degradation: unknown noise {name!r}; known: {', '.join(NOISES)}")
            if not (math.isfinite(value) and value >= 0):
                raise UserError(f"degradation {name}: expected a finite value >= 0, got {value}")
        for name, value in self.holes:
            if name not in HOLES:
                raise UserError(
                    f"degradation: unknown hole step {name!r}; known: {', '.join(HOLES)}"
                )
            if not (math.isfinite(value) and 0 <= value <= 1):
                raise UserError(f"degradation {name}: expected a value in [0, 1], got {value}")

    def describe(self) -> str:
        """The chain as :func:`parse_degradation` reads it."""
        parts = [self.kernel]
        if any(self.shift):
            parts.append(f"shift:{self.shift[0]:.3g},{self.shift[1]:.3g}")
        parts += [f"{n}:{v:.4g}" for n, v in (*self.noise, *self.holes)]
        return "+".join(parts)

    def record(self) -> dict[str, Any]:
        """A JSON-ready record (for result files and model cards)."""
        rec = asdict(self)
        rec["shift"] = list(self.shift)
        rec["noise"] = [list(x) for x in self.noise]
        rec["holes"] = [list(x) for x in self.holes]
        rec["chain"] = self.describe()
        return rec

    def apply(
        self,
        depth: Tensor,
        valid: Tensor | None,
        scale: int,
        generator: torch.Generator | None = None,
    ) -> tuple[Tensor, Tensor]:
        """HR ``(depth, valid)`` -> LR ``(lr, lr_valid)`` (shapes as :func:`downsample`).

        Args:
            depth: ``(1, H, W)`` or ``(B, 1, H, W)`` HR depth.
            valid: bool, same shape as ``depth`` (``None``: finite and > 0).
            scale: integer factor ``s >= 1``.
            generator: random source of the noise and holes.

        Returns:
            ``(lr, lr_valid)``, each ``(1, H/s, W/s)`` or ``(B, 1, H/s, W/s)``.
        """

        d, v = depth, valid
        if any(self.shift):
            d, v = shift_subpixel(d, v, float(self.shift[0]), float(self.shift[1]))
        lr, lv = downsample(d, v, scale, self.kernel)
        for name, value in self.noise:
            if value <= 0:
                continue
            if name == "gaussian_noise":
                lr = add_gaussian_noise(lr, lv, value, generator)
            elif name == "proportional_noise":
                lr = add_proportional_noise(lr, lv, value, generator)
            elif name == "disparity_quantize":
                lr = quantize_disparity(lr, lv, value)
            else:
                lr = quantize_levels(lr, lv, int(value))
        for name, value in self.holes:
            if value <= 0:
                continue
            if name == "drop_random":
                lv = drop_random(lv, value, generator)
            elif name == "drop_blobs":
                lv = drop_blobs(lv, value, generator)
            elif name == "drop_edges":
                lv = drop_at_edges(lr, lv, value, generator=generator)
            else:
                lr = flying_pixels(lr, lv, value, generator=generator)
        # noise may push a value to <= 0, which files read as a hole: keep it a hole explicitly
        lv = lv & torch.isfinite(lr) & (lr > 0)
        lr = torch.where(lv, lr, torch.zeros_like(lr))
        return lr.contiguous(), lv.contiguous()


def parse_degradation(spec: str) -> Degradation:
    """Read a chain ``KERNEL[:p][+shift:DY,DX][+STEP:VALUE...]`` into a :class:`Degradation`.

    Steps are the names of :data:`NOISES` and :data:`HOLES`; noise steps apply before hole
    steps, each group in the order written.

    Raises:
        UserError: an unknown name, a missing or malformed value.

    Example:
        >>> parse_degradation("nearest:0+proportional_noise:0.01").noise
        [('proportional_noise', 0.01)]
    """
    parts = [p.strip() for p in str(spec).split("+") if p.strip()]
    if not parts:
        raise UserError("degradation: empty specification")
    kernel = parts[0]
    canonical_kernel(kernel)
    shift = (0.0, 0.0)
    noise: list[tuple[str, float]] = []
    holes: list[tuple[str, float]] = []
    for p in parts[1:]:
        name, sep, arg = p.partition(":")
        if not sep or not arg:
            raise UserError(f"degradation {spec!r}: step {p!r} needs a value (NAME:VALUE)")
        try:
            if name == "shift":
                dy, dx = (float(a) for a in arg.split(","))
                shift = (dy, dx)
                continue
            value = float(arg)
        except ValueError:
            raise UserError(f"degradation {spec!r}: bad value in {p!r}") from None
        if name in NOISES:
            noise.append((name, value))
        elif name in HOLES:
            holes.append((name, value))
        else:
            known = ", ".join([*NOISES, *HOLES, "shift"])
            raise UserError(f"degradation {spec!r}: unknown step {name!r}; known: {known}")
    return Degradation(kernel, shift, noise, holes)


@dataclass
class DegradationMix:
    """A training distribution over LR recipes (``data.degradation: random``).

    Each draw picks one kernel by weight, then switches each noise / hole step on with its
    probability and draws its value uniformly from its range (``quantize`` draws 8 or 16 bits).

    Attributes:
        kernels: kernel -> relative weight (``nearest`` takes the centre grid ``s // 2``;
            ``gaussian`` draws ``sigma`` from ``gaussian_sigma`` x the scale).
        gaussian_sigma: ``(min, max)`` blur of the ``gaussian`` kernel, in multiples of the scale.
        shift_prob: probability of a random sub-pixel shift, up to ``shift_max`` HR pixels.
        shift_max: the largest shift, in HR pixels (< 1).
        noise: noise step -> ``[probability, min, max]``.
        holes: hole step -> ``[probability, min, max]``.
    """

    kernels: dict[str, float] = field(
        default_factory=lambda: {
            "bicubic_aa": 1.0,
            "bicubic_plain": 1.0,
            "bilinear": 0.5,
            "area": 1.0,
            "nearest": 1.5,
            "gaussian": 0.5,
        }
    )
    gaussian_sigma: list[float] = field(default_factory=lambda: [0.25, 0.75])
    shift_prob: float = 0.0
    shift_max: float = 0.5
    noise: dict[str, list[float]] = field(
        default_factory=lambda: {
            "gaussian_noise": [0.4, 0.0, 0.02],
            "proportional_noise": [0.15, 0.0, 0.01],
            "disparity_quantize": [0.1, 0.001, 0.01],
            "quantize": [0.15, 8, 16],
        }
    )
    holes: dict[str, list[float]] = field(
        default_factory=lambda: {
            "drop_random": [0.3, 0.0, 0.03],
            "drop_blobs": [0.1, 0.0, 0.05],
            "drop_edges": [0.1, 0.0, 0.5],
            "flying_pixels": [0.1, 0.0, 0.5],
        }
    )

    def validate(self) -> None:
        """Raise :class:`UserError` naming the first bad entry."""
        if not self.kernels or sum(self.kernels.values()) <= 0:
            raise UserError("data.mix.kernels: needs at least one kernel with a weight > 0")
        for k, wgt in self.kernels.items():
            try:
                canonical_kernel(k)
            except UserError as e:
                raise UserError(f"data.mix.kernels: {e}") from None
            if not (math.isfinite(wgt) and wgt >= 0):
                raise UserError(f"data.mix.kernels.{k}: weight must be finite and >= 0")
        lo, hi = self.gaussian_sigma
        if not 0 < lo <= hi:
            raise UserError(f"data.mix.gaussian_sigma: need 0 < min <= max, got {lo}, {hi}")
        if not 0 <= self.shift_prob <= 1 or not 0 <= self.shift_max < 1:
            raise UserError("data.mix: shift_prob in [0, 1] and shift_max in [0, 1)")
        for group, known in (("noise", NOISES), ("holes", HOLES)):
            for name, val in getattr(self, group).items():
                if name not in known:
                    raise UserError(
                        f"data.mix.{group}: unknown step {name!r}; known: {', '.join(known)}"
                    )
                if len(val) != 3 or not 0 <= val[0] <= 1 or val[1] > val[2] or val[1] < 0:
                    raise UserError(
                        f"data.mix.{group}.{name}: expected [probability, min, max], got {val}"
                    )

    def sample(self, scale: int, generator: torch.Generator) -> Degradation:
        """Draw one :class:`Degradation` for factor ``scale`` from ``generator``."""

        def u() -> float:
            return float(torch.rand((), generator=generator))

        names = list(self.kernels)
        weights = torch.tensor([float(self.kernels[n]) for n in names], dtype=torch.float64)
        kernel = names[int(torch.multinomial(weights, 1, generator=generator))]
        kname, _ = canonical_kernel(kernel)
        if kname == "gaussian":
            lo, hi = self.gaussian_sigma
            kernel = f"gaussian:{(lo + (hi - lo) * u()) * scale:.4g}"
        shift = (0.0, 0.0)
        if self.shift_prob > 0 and u() < self.shift_prob:
            shift = ((2 * u() - 1) * self.shift_max, (2 * u() - 1) * self.shift_max)
        noise: list[tuple[str, float]] = []
        for name, (p, lo, hi) in self.noise.items():
            if u() < p:
                if name == "quantize":
                    noise.append((name, float(lo if u() < 0.5 else hi)))
                else:
                    noise.append((name, lo + (hi - lo) * u()))
        holes = [(n, lo + (hi - lo) * u()) for n, (p, lo, hi) in self.holes.items() if u() < p]
        return Degradation(kernel, shift, noise, holes)
