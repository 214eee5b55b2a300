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
                     ``s // 2`` (the centre grid); ``nearest:0`` is the corner grid ``hr[::s]``
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
import torch.nn.functional as F
from torch import Tensor

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

#: kernel names (see the module docstring)
KERNELS: tuple[str, ...] = (
    "bicubic_aa",
    "bicubic_plain",
    "bilinear",
    "area",
    "nearest",
    "gaussian",
)
#: older names kept working: ``bicubic`` has always meant the antialiased resize
KERNEL_ALIASES: dict[str, str] = {"bicubic": "bicubic_aa"}
#: noise step names and the meaning of their parameter
NOISES: dict[str, str] = {
    "gaussian_noise": "std as a fraction of the map's valid depth range",
    "proportional_noise": "k: std = k * depth (ToF-like)",
    "disparity_quantize": "relative depth step at the farthest valid depth (Kinect-like)",
    "quantize": "bits of the integer storage of the valid range (8 or 16)",
}
#: hole / mixed-pixel step names and the meaning of their parameter
HOLES: dict[str, str] = {
    "drop_random": "probability of dropping each LR pixel",
    "drop_blobs": "fraction of the map covered by random blobs",
    "drop_edges": "probability of dropping a pixel at a depth discontinuity",
    "flying_pixels": "probability that a pixel at a discontinuity becomes a fg/bg mixture",
}


# ----------------------------------------------------------------------------- helpers
def _as_batch(depth: Tensor, valid: Tensor | None, what: str) -> tuple[Tensor, Tensor, bool]:
    """``(B, 1, H, W)`` float depth (0 where invalid), bool validity, and whether it was batched."""
    if depth.dim() not in (3, 4) or depth.shape[-3] != 1:
        raise ValueError(f"{what}: expected (1, H, W) or (B, 1, H, W), got {tuple(depth.shape)}")
    batched = depth.dim() == 4
    if valid is None:
        valid = torch.isfinite(depth) & (depth > 0)
    if valid.shape != depth.shape:
        raise ValueError(f"{what}: valid {tuple(valid.shape)} != depth {tuple(depth.shape)}")
    d = depth if batched else depth.unsqueeze(0)
    v = valid.bool() if batched else valid.bool().unsqueeze(0)
    v = v & torch.isfinite(d)
    d = torch.where(v, d, torch.zeros_like(d)).float()
    return d, v, batched


def _unbatch(x: Tensor, batched: bool) -> Tensor:
    x = x.contiguous()
    return x if batched else x.squeeze(0)


def _valid_range(d: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
    """Per-sample ``(lo, hi)`` of the valid values, ``(B, 1, 1, 1)`` each (0, 0 when empty)."""
    big = torch.finfo(d.dtype).max
    lo = torch.where(v, d, torch.full_like(d, big)).amin(dim=(1, 2, 3), keepdim=True)
    hi = torch.where(v, d, torch.full_like(d, -big)).amax(dim=(1, 2, 3), keepdim=True)
    empty = ~v.flatten(1).any(dim=1).view(-1, 1, 1, 1)
    return torch.where(empty, torch.zeros_like(lo), lo), torch.where(
        empty, torch.zeros_like(hi), hi
    )


def _gauss_kernel1d(sigma: float) -> Tensor:
    r = max(1, math.ceil(3.0 * sigma))
    x = torch.arange(-r, r + 1, dtype=torch.float64)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    return (k / k.sum()).float()


def _blur(x: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian blur of ``(B, C, H, W)`` with zero padding (used as a normalised
    convolution, so the padding counts as invalid)."""
    k = _gauss_kernel1d(sigma).to(x.device)
    r = (k.numel() - 1) // 2
    c = x.shape[1]
    x = F.conv2d(F.pad(x, (r, r, 0, 0)), k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(F.pad(x, (0, 0, r, r)), k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def canonical_kernel(spec: str) -> tuple[str, float | None]:
    """``"nearest:0"`` -> ``("nearest", 0.0)``; ``"bicubic"`` -> ``("bicubic_aa", None)``.

    Raises:
        UserError: an unknown kernel name or a parameter that is not a number.
    """
    name, _, arg = str(spec).partition(":")
    name = KERNEL_ALIASES.get(name.strip(), name.strip())
    if name not in KERNELS:
        raise UserError(
            f"degradation: unknown kernel {spec!r}; known: {', '.join(KERNELS)} "
            f"(and {', '.join(KERNEL_ALIASES)})"
        )
    if not arg:
        return name, None
    try:
        value = float(arg)
    except ValueError:
        raise UserError(f"degradation {spec!r}: {arg!r} is not a number") from None
    if name not in ("nearest", "gaussian") or not math.isfinite(value):
        raise UserError(
            f"degradation {spec!r}: only nearest:OFFSET and gaussian:SIGMA take a value"
        )
    return name, value


# ----------------------------------------------------------------------------- kernels
def downsample(
    depth: Tensor,
    valid: Tensor | None,
    scale: int,
    method: str = "bicubic_aa",
    *,
    offset: int | None = None,
    sigma: float | None = None,
) -> tuple[Tensor, Tensor]:
    """Downsample depth by an integer factor with a named kernel, keeping holes as holes.

    Args:
        depth: ``(1, H, W)`` or ``(B, 1, H, W)``; ``H`` and ``W`` multiples of ``scale``.
        valid: same shape, bool (``None``: finite and > 0).
        scale: integer factor ``s >= 1``.
        method: a kernel of :data:`KERNELS` (or ``bicubic``, the same as ``bicubic_aa``),
            optionally with its parameter: ``nearest:0``, ``gaussian:1.5``.
        offset: ``nearest`` sample offset in ``0..s-1`` (default ``s // 2``; overrides the
            ``:`` parameter).
        sigma: ``gaussian`` blur in HR pixels (default ``s / 2``).

    Returns:
        ``(lr, lr_valid)`` of shape ``(..., H/s, W/s)``; ``lr`` is float32 and 0 where
        ``lr_valid`` is False.

    Raises:
        UserError: unknown kernel, bad scale / offset / sigma, or a size that is not a multiple
            of ``scale``.

    Example:
        >>> hr = torch.tensor([[[1.0, 1.0, 5.0, 5.0]] * 4])
        >>> downsample(hr, None, 2, "bicubic_plain")[0].shape
        torch.Size([1, 2, 2])
    """
    name, arg = canonical_kernel(method)
    if isinstance(scale, bool) or int(scale) != scale or scale < 1:
        raise UserError(f"scale: expected an integer >= 1, got {scale!r}")
    s = int(scale)
    d, v, batched = _as_batch(depth, valid, "downsample")
    h, w = d.shape[-2:]
    if h % s or w % s:
        raise UserError(f"downsample: size {h}x{w} is not a multiple of the scale {s}")
    if s == 1:
        return _unbatch(d, batched), _unbatch(v, batched)
    size = (h // s, w // s)
    if name == "nearest":
        o = s // 2 if offset is None and arg is None else int(offset if offset is not None else arg)
        if not 0 <= o < s or (offset is None and arg is not None and arg != int(arg)):
            raise UserError(
                f"degradation nearest: offset must be an integer in 0..{s - 1}, got {o}"
            )
        lr, lv = d[..., o::s, o::s], v[..., o::s, o::s]
        return _unbatch(lr, batched), _unbatch(lv, batched)
    vf = v.float()
    num, den = d * vf, vf
    if name == "area":
        num, den = F.avg_pool2d(num, s), F.avg_pool2d(den, s)
    else:
        if name == "gaussian":
            sig = float(sigma if sigma is not None else (arg if arg is not None else s / 2))
            if not sig > 0:
                raise UserError(f"degradation gaussian: sigma must be > 0, got {sig}")
            num, den = _blur(num, sig), _blur(den, sig)
        mode = "bicubic" if name.startswith("bicubic") else "bilinear"
        aa = name == "bicubic_aa"
        kw = {"size": size, "mode": mode, "align_corners": False, "antialias": aa}
        num, den = F.interpolate(num, **kw), F.interpolate(den, **kw)
    lv = den > 0.5
    lr = torch.where(lv, num / den.clamp_min(1e-6), torch.zeros_like(num))
    return _unbatch(lr, batched), _unbatch(lv, batched)


def shift_subpixel(
    depth: Tensor, valid: Tensor | None, dy: float, dx: float
) -> tuple[Tensor, Tensor]:
    """Translate a map by ``(dy, dx)`` pixels (|shift| < 1) with bilinear interpolation over the
    valid pixels: ``out(y, x) = in(y + dy, x + dx)``; border rows / columns that would need
    pixels from outside become invalid.

    Args:
        depth, valid: ``(1, H, W)`` or ``(B, 1, H, W)``.
        dy, dx: the shift in pixels, each in ``(-1, 1)``.

    Returns:
        ``(depth, valid)`` of the same shape.
    """
    if not (abs(dy) < 1 and abs(dx) < 1):
        raise UserError(f"shift: expected |dy|, |dx| < 1 pixel, got ({dy}, {dx})")
    d, v, batched = _as_batch(depth, valid, "shift_subpixel")
    vf = v.float()

    def interp(x: Tensor) -> Tensor:
        fy, fx = abs(dy), abs(dx)
        sy, sx = (1 if dy > 0 else -1), (1 if dx > 0 else -1)
        ny = torch.roll(x, shifts=-sy, dims=-2)
        x = (1 - fy) * x + fy * ny if fy else x
        nx = torch.roll(x, shifts=-sx, dims=-1)
        return (1 - fx) * x + fx * nx if fx else x

    num, den = interp(d * vf), interp(vf)
    # rows / columns that rolled around the border are invalid
    border = torch.zeros_like(den, dtype=torch.bool)
    if dy > 0:
        border[..., -1, :] = True
    elif dy < 0:
        border[..., 0, :] = True
    if dx > 0:
        border[..., :, -1] = True
    elif dx < 0:
        border[..., :, 0] = True
    lv = (den > 0.5) & ~border
    out = torch.where(lv, num / den.clamp_min(1e-6), torch.zeros_like(num))
    return _unbatch(out, batched), _unbatch(lv, batched)


# ----------------------------------------------------------------------------- noise
def add_gaussian_noise(
    depth: Tensor, valid: Tensor, std: float, generator: torch.Generator | None = None
) -> Tensor:
    """Add ``N(0, (std * range)^2)`` to the valid pixels, ``range`` = each map's valid max - min.

    Args:
        depth, valid: ``(1, H, W)`` or ``(B, 1, H, W)``.
        std: noise level as a fraction of the valid range (unit-free), >= 0.

    Returns:
        ``depth`` with noise on valid pixels (same shape as ``depth``); invalid pixels unchanged.
    """
    d, v, batched = _as_batch(depth, valid, "gaussian_noise")
    lo, hi = _valid_range(d, v)
    noise = torch.randn(d.shape, generator=generator) * (float(std) * (hi - lo))
    return _unbatch(torch.where(v, d + noise, d), batched)


def add_proportional_noise(
    depth: Tensor, valid: Tensor, k: float, generator: torch.Generator | None = None
) -> Tensor:
    """ToF-like noise whose standard deviation grows with depth: ``d + N(0, (k d)^2)``.

    Args:
        depth, valid: ``(1, H, W)`` or ``(B, 1, H, W)``.
        k: relative noise (0.01 = 1% of the depth), >= 0.

    Returns:
        the noisy depth, same shape as ``depth``; invalid pixels unchanged.
    """
    d, v, batched = _as_batch(depth, valid, "proportional_noise")
    noise = torch.randn(d.shape, generator=generator) * (float(k) * d)
    return _unbatch(torch.where(v, d + noise, d), batched)


def quantize_disparity(depth: Tensor, valid: Tensor, rel_step: float) -> Tensor:
    """Kinect-like storage: depth quantised as inverse depth, so the depth step grows as ``d^2``.

    ``q = round((1/d) / delta) * delta`` with ``delta = rel_step / d_max`` per map: the step is
    ``rel_step * d_max`` at the farthest valid depth and ``(d / d_max)^2`` times that nearer.

    Args:
        depth, valid: ``(1, H, W)`` or ``(B, 1, H, W)``; valid depth > 0.
        rel_step: relative depth step at the farthest valid pixel, in ``(0, 1)``.

    Returns:
        the quantised depth, same shape as ``depth``; invalid pixels unchanged.
    """
    if not 0 < rel_step < 1:
        raise UserError(f"disparity_quantize: rel_step must be in (0, 1), got {rel_step}")
    d, v, batched = _as_batch(depth, valid, "disparity_quantize")
    _, hi = _valid_range(d, v)
    delta = float(rel_step) / hi.clamp_min(1e-30)
    inv = 1.0 / d.clamp_min(1e-30)
    q = (torch.round(inv / delta) * delta).clamp_min(delta)
    return _unbatch(torch.where(v & (d > 0), 1.0 / q, d), batched)


def quantize_levels(depth: Tensor, valid: Tensor, bits: int) -> Tensor:
    """Integer storage of each map's valid range ``[lo, hi]`` in ``2^bits - 1`` steps.

    Args:
        depth, valid: ``(1, H, W)`` or ``(B, 1, H, W)``.
        bits: 1..24 (8 for 8-bit PNG / BMP maps, 16 for 16-bit PNGs).

    Returns:
        the quantised depth, same shape as ``depth``; invalid pixels unchanged.
    """
    if int(bits) != bits or not 1 <= bits <= 24:
        raise UserError(f"quantize: bits must be an integer in 1..24, got {bits}")
    d, v, batched = _as_batch(depth, valid, "quantize")
    lo, hi = _valid_range(d, v)
    n = float(2 ** int(bits) - 1)
    span = (hi - lo).clamp_min(1e-30)
    q = torch.round((d - lo) / span * n) / n * span + lo
    return _unbatch(torch.where(v, q, d), batched)


# ----------------------------------------------------------------------------- holes
def drop_random(valid: Tensor, prob: float, generator: torch.Generator | None = None) -> Tensor:
    """Drop each valid pixel with probability ``prob`` (isolated drop-outs).

    Args:
        valid: bool, any shape.
        prob: in ``[0, 1)``.

    Returns:
        the new validity (a subset of ``valid``), same shape as ``valid``.
    """
    if not 0 <= prob < 1:
        raise UserError(f"drop_random: prob must be in [0, 1), got {prob}")
    return valid & (torch.rand(valid.shape, generator=generator) >= prob)


def drop_blobs(
    valid: Tensor, fraction: float, generator: torch.Generator | None = None, size: float = 4.0
) -> Tensor:
    """Drop random blobs covering about ``fraction`` of the map.

    A white-noise field is blurred with a Gaussian of ``size`` pixels and thresholded at its
    ``1 - fraction`` quantile, so blobs are smooth and about ``size`` pixels across.

    Args:
        valid: ``(1, H, W)`` or ``(B, 1, H, W)`` bool.
        fraction: in ``[0, 1)``.
        size: blob scale in pixels (> 0).

    Returns:
        the new validity (a subset of ``valid``), same shape as ``valid``.
    """
    if not 0 <= fraction < 1 or not size > 0:
        raise UserError(f"drop_blobs: fraction in [0, 1) and size > 0, got {fraction}, {size}")
    if fraction == 0:
        return valid.bool()
    v = valid.bool() if valid.dim() == 4 else valid.bool().unsqueeze(0)
    field_ = _blur(torch.randn(v.shape, generator=generator), float(size))
    thr = torch.quantile(field_.flatten(1), 1.0 - float(fraction), dim=1).view(-1, 1, 1, 1)
    out = v & (field_ < thr)
    return out if valid.dim() == 4 else out.squeeze(0)


def _edges(d: Tensor, v: Tensor, threshold: float) -> tuple[Tensor, Tensor, Tensor]:
    """``(edge, near, far)``: pixels whose valid 3x3 neighbourhood spans more than
    ``threshold`` x the map's valid range, and that neighbourhood's valid min / max."""
    big = torch.finfo(d.dtype).max
    near = -F.max_pool2d(torch.where(v, -d, torch.full_like(d, -big)), 3, 1, 1)
    far = F.max_pool2d(torch.where(v, d, torch.full_like(d, -big)), 3, 1, 1)
    lo, hi = _valid_range(d, v)
    edge = v & ((far - near) > float(threshold) * (hi - lo))
    return edge, torch.where(v, near, d), torch.where(v, far, d)


def drop_at_edges(
    depth: Tensor,
    valid: Tensor,
    prob: float,
    threshold: float = 0.05,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Drop pixels at depth discontinuities (where sensors lose the return) with ``prob``.

    Args:
        depth, valid: ``(1, H, W)`` or ``(B, 1, H, W)``.
        prob: in ``[0, 1]``.
        threshold: a discontinuity is a 3x3 valid neighbourhood spanning more than this
            fraction of the map's valid range.

    Returns:
        the new validity (a subset of ``valid``), same shape as ``valid``.
    """
    if not 0 <= prob <= 1:
        raise UserError(f"drop_edges: prob must be in [0, 1], got {prob}")
    d, v, batched = _as_batch(depth, valid, "drop_edges")
    edge, _, _ = _edges(d, v, threshold)
    hit = edge & (torch.rand(d.shape, generator=generator) < float(prob))
    return _unbatch(v & ~hit, batched)


def flying_pixels(
    depth: Tensor,
    valid: Tensor,
    prob: float,
    threshold: float = 0.05,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Mixed pixels at discontinuities: ``t * near + (1 - t) * far`` with ``t ~ U(0, 1)``.

    ``near`` and ``far`` are the valid minimum and maximum of the pixel's 3x3 neighbourhood,
    so only valid values mix; the pixels stay valid (a sensor reports them as measurements).

    Args:
        depth, valid: ``(1, H, W)`` or ``(B, 1, H, W)``.
        prob: probability that a discontinuity pixel becomes a mixture, in ``[0, 1]``.
        threshold: as :func:`drop_at_edges`.

    Returns:
        the new depth, same shape as ``depth`` (validity unchanged).
    """
    if not 0 <= prob <= 1:
        raise UserError(f"flying_pixels: prob must be in [0, 1], got {prob}")
    d, v, batched = _as_batch(depth, valid, "flying_pixels")
    edge, near, far = _edges(d, v, threshold)
    hit = edge & (torch.rand(d.shape, generator=generator) < float(prob))
    t = torch.rand(d.shape, generator=generator)
    return _unbatch(torch.where(hit, t * near + (1 - t) * far, d), batched)


# ----------------------------------------------------------------------------- pipelines
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
