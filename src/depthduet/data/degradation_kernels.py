"""Degradation kernels: HR -> LR downsampling as a normalised convolution over the valid pixels,
and sub-pixel shifts (the kernels are described in :mod:`depthduet.data.degradation`, which
re-exports everything here).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from depthduet.data.degradation_common import _as_batch, _blur, _unbatch
from depthduet.errors import UserError

__all__ = ["KERNELS", "KERNEL_ALIASES", "canonical_kernel", "downsample", "shift_subpixel"]

#: kernel names (see :mod:`depthduet.data.degradation`)
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
