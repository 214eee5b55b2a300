"""Pieces of the sample dictionary every dataset returns (``docs/DEVELOPING.md``): image and
depth tensors from arrays or files, crops and resizes that keep pixel centres aligned, and the
key tags of temporal neighbours.

Re-exported by :mod:`depthduet.data.folder`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch

from depthduet import io as dio
from depthduet.data.folder_files import PathLike, require_file
from depthduet.errors import UserError

__all__ = [
    "crop_to",
    "depth_tensors",
    "check_offsets",
    "frames_with_neighbours",
    "image_tensor",
    "load_rgb",
    "neighbour_keys",
    "resize_depth_nearest",
    "resize_image",
    "resize_intrinsics",
]


def neighbour_keys(offsets: Sequence[int]) -> dict[int, str]:
    """Sample-dict tags of temporal neighbours: the nearest earlier frame is ``prev``, the nearest
    later frame ``next``, any further one ``+2``, ``-3``... (keys ``image_<tag>``, ``T_<tag>_tgt``).

    >>> neighbour_keys((-2, -1, 1))
    {-2: '-2', -1: 'prev', 1: 'next'}
    """
    prev = max((o for o in offsets if o < 0), default=None)
    nxt = min((o for o in offsets if o > 0), default=None)
    return {o: "prev" if o == prev else "next" if o == nxt else f"{o:+d}" for o in offsets}


def check_offsets(offsets: Sequence[int]) -> tuple[int, ...]:
    """Temporal neighbour offsets as ints; refuses 0 (the target frame itself)."""
    out = tuple(int(o) for o in offsets)
    if 0 in out:
        raise UserError("offsets must not contain 0 (the target frame)")
    return out


def frames_with_neighbours(frames: Iterable[int], offsets: Sequence[int]) -> list[int]:
    """The ``frames`` (sorted) whose neighbours ``frame + o`` for every offset ``o`` are among
    ``frames`` too."""
    frames = list(frames)
    have = set(frames)
    return [f for f in sorted(frames) if all(f + o in have for o in offsets)]


def image_tensor(img: np.ndarray) -> torch.Tensor:
    """``(H, W, 3)`` or ``(H, W)`` float array in [0, 1] -> float32 tensor (grey images are
    repeated over the three channels).

    Returns:
        ``(3, H, W)`` float32 tensor.
    """
    a = np.asarray(img, dtype=np.float32)
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise ValueError(f"expected an (H, W, 3) image, got shape {a.shape}")
    return torch.from_numpy(np.ascontiguousarray(a[:, :, :3].transpose(2, 0, 1)))


def depth_tensors(
    values: np.ndarray, valid: np.ndarray | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(H, W)`` depth values (+ optional validity) -> depth and validity tensors.

    Non-finite values and values <= 0 are invalid.

    Returns:
        ``(depth, valid)``: ``depth`` ``(1, H, W)`` float32 with 0 where invalid, ``valid``
        ``(1, H, W)`` bool.
    """
    v = np.asarray(values, dtype=np.float32)
    ok = np.isfinite(v) & (v > 0)
    if valid is not None:
        ok &= np.asarray(valid, dtype=bool)
    v = np.where(ok, v, np.float32(0)).astype(np.float32)
    return torch.from_numpy(v[None].copy()), torch.from_numpy(ok[None].copy())


def load_rgb(path: PathLike) -> torch.Tensor:
    """Read a colour (or grey) image file as a tensor in [0, 1].

    Returns:
        ``(3, H, W)`` float32 tensor.
    """
    p = require_file(path, "image")
    return image_tensor(dio.read_image(p))


def crop_to(t: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Crop the bottom rows / right columns of ``t`` ``(..., H, W)`` so it is
    ``height x width``.

    Raises ``UserError`` if ``t`` is smaller than the requested size.

    Returns:
        ``(..., height, width)`` view of ``t``.
    """
    h, w = t.shape[-2:]
    if h < height or w < width:
        raise UserError(f"cannot crop a {h}x{w} array to {height}x{width}")
    return t[..., :height, :width]


def resize_image(img: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize ``img`` ``(C, H, W)`` to ``size = (h, w)`` (bilinear, antialiased when shrinking,
    pixel-centre aligned), clamped to [0, 1].

    Returns:
        ``(C, h, w)`` image; the input itself when the size already matches.
    """
    if tuple(img.shape[-2:]) == tuple(size):
        return img
    out = torch.nn.functional.interpolate(
        img[None], size=tuple(size), mode="bilinear", align_corners=False, antialias=True
    )
    return out[0].clamp_(0, 1)


def resize_intrinsics(K: np.ndarray, src: tuple[int, int], dst: tuple[int, int]) -> np.ndarray:
    """Intrinsics ``(3, 3)`` of an image resized from ``src = (H, W)`` to ``dst = (h, w)``:
    ``u' + 0.5 = (w / W) (u + 0.5)`` (pixel centres, as :func:`depthduet.geometry.scale_intrinsics`)."""
    sx, sy = dst[1] / src[1], dst[0] / src[0]
    S = np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1.0]])
    return S @ np.asarray(K, dtype=np.float64)


def resize_depth_nearest(
    depth: torch.Tensor, valid: torch.Tensor, size: tuple[int, int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Resize ``depth (1, H, W)`` / ``valid (1, H, W)`` to ``size`` by nearest-pixel sampling
    (no interpolation across depth edges or into holes).

    Returns:
        ``(depth, valid)``, each ``(1, h, w)`` with ``size = (h, w)``.
    """
    if tuple(depth.shape[-2:]) == tuple(size):
        return depth, valid
    d = torch.nn.functional.interpolate(depth[None], size=tuple(size), mode="nearest-exact")[0]
    v = torch.nn.functional.interpolate(
        valid[None].float(), size=tuple(size), mode="nearest-exact"
    )[0]
    v = v > 0.5
    return torch.where(v, d, torch.zeros_like(d)), v
