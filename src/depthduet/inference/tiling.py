"""Tiled inference for upsampling networks: overlapping tiles, context margins, smooth blending.

A super-resolution network maps a low-resolution tile ``(1, C, th, tw)`` to a high-resolution
one ``(1, C', s*th, s*tw)``. Running it on a whole large map needs memory proportional to the
output; running it tile by tile keeps memory bounded by the tile size.

Layout along each axis (all sizes in LR pixels):

* a tile spans ``tile`` pixels (or the whole axis when it is shorter);
* at a side that is interior to the image (not the image border), the first ``overlap``
  pixels are *context*: the network sees them but their outputs get weight 0, because a
  convolution near a tile edge sees zero padding instead of the neighbouring pixels;
* the next ``blend`` pixels form a ramp where the weight rises smoothly from 0 to 1
  (cosine, or linear), cross-fading with the neighbouring tile;
* neighbouring tiles therefore share ``2 * overlap + blend`` pixels: the stride is
  ``tile - 2 * overlap - blend``; the last tile is moved back so that it ends at the border
  (all tiles of an axis have the same size, so shapes stay constant).

The HR result is ``sum_t w_t * f(tile_t) / sum_t w_t`` with the weight of a tile the outer
product of its two axis windows, evaluated at HR pixel centres. Because the tiles form a grid,
the weight sum is separable too (``W_y (x) W_x``) and is never stored as a full map.

Exactness: if the network is a function of local context whose receptive field is at most
``overlap`` LR pixels, every output pixel with non-zero weight is computed from exactly the
input pixels the untiled network would use, so tiled == untiled up to float rounding
(``tests/test_tiling.py`` checks this). Real networks with large receptive fields differ
slightly near tile borders; the blend ramp hides the seams.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["TileGrid", "axis_tiles", "axis_window", "tiled_upsample"]


def _check(tile: int, overlap: int, blend: int) -> None:
    if tile < 1:
        raise ValueError(f"tile: must be >= 1 LR pixel, got {tile}")
    if overlap < 0 or blend < 0:
        raise ValueError(f"overlap and blend must be >= 0, got overlap={overlap}, blend={blend}")
    if tile <= 2 * overlap + blend:
        raise ValueError(
            f"tile {tile} must exceed 2*overlap + blend = {2 * overlap + blend} "
            "(each tile needs a core that is not context or ramp)"
        )


def axis_tiles(length: int, tile: int, overlap: int, blend: int) -> list[tuple[int, int]]:
    """Tile spans ``(start, stop)`` along one axis of ``length`` LR pixels.

    Args:
        length: axis length (>= 1).
        tile: tile size; an axis no longer than this is a single tile ``(0, length)``.
        overlap: context pixels at interior sides (their outputs get weight 0).
        blend: ramp pixels after the context.

    Returns:
        Spans of equal size ``min(tile, length)``, starting at 0 and ending at ``length``, with
        consecutive starts at most ``tile - 2*overlap - blend`` apart.
    """
    if length < 1:
        raise ValueError(f"length: must be >= 1, got {length}")
    if length <= tile:
        return [(0, length)]
    _check(tile, overlap, blend)
    stride = tile - 2 * overlap - blend
    n = 1 + math.ceil((length - tile) / stride)
    starts = [min(i * stride, length - tile) for i in range(n)]
    return [(s, s + tile) for s in starts]


def axis_window(
    start: int,
    stop: int,
    length: int,
    scale: int,
    overlap: int,
    blend: int,
    window: str = "cosine",
) -> np.ndarray:
    """Blend weights of one tile along one axis, at the HR pixel centres of the tile.

    For HR pixel ``X`` of the tile its LR coordinate is ``u = (X + 0.5) / scale`` (from the
    tile start). At an interior left side the weight is ``r((u - overlap) / blend)`` with the
    ramp ``r(t) = 0`` for ``t <= 0``, ``1`` for ``t >= 1``, and ``t`` (linear) or
    ``(1 - cos(pi t)) / 2`` (cosine) between; the right side mirrors it. Sides on the image
    border weigh 1. With ``blend == 0`` the ramp is a step at ``overlap``.

    Returns:
        float64 array of shape ``(scale * (stop - start),)``, values in [0, 1].
    """
    if window not in ("cosine", "linear"):
        raise ValueError(f"window: expected 'cosine' or 'linear', got {window!r}")
    n = stop - start
    u = (np.arange(scale * n, dtype=np.float64) + 0.5) / scale
    w = np.ones_like(u)

    def ramp(d: np.ndarray) -> np.ndarray:
        if blend == 0:
            return (d >= overlap).astype(np.float64)
        t = np.clip((d - overlap) / blend, 0.0, 1.0)
        return t if window == "linear" else 0.5 - 0.5 * np.cos(np.pi * t)

    if start > 0:
        w = w * ramp(u)
    if stop < length:
        w = w * ramp(n - u)
    return w


@dataclass(frozen=True)
class TileGrid:
    """The tiles of an ``h x w`` LR map and their separable blend weights.

    Attributes:
        h, w: LR size. scale: integer upsampling factor.
        rows, cols: spans along each axis (see :func:`axis_tiles`).
        row_weights, col_weights: per span, HR weights (see :func:`axis_window`).
    """

    h: int
    w: int
    scale: int
    rows: list[tuple[int, int]]
    cols: list[tuple[int, int]]
    row_weights: list[np.ndarray]
    col_weights: list[np.ndarray]

    @classmethod
    def build(
        cls,
        h: int,
        w: int,
        scale: int,
        tile: int,
        overlap: int,
        blend: int | None = None,
        window: str = "cosine",
    ) -> TileGrid:
        """Plan the tiles (``blend=None`` means ``blend = overlap``; ``tile <= 0`` = one tile)."""
        if scale < 1:
            raise ValueError(f"scale: must be >= 1, got {scale}")
        blend = overlap if blend is None else blend
        if tile <= 0:
            tile = max(h, w)
        rows = axis_tiles(h, tile, overlap, blend)
        cols = axis_tiles(w, tile, overlap, blend)
        rw = [axis_window(a, b, h, scale, overlap, blend, window) for a, b in rows]
        cw = [axis_window(a, b, w, scale, overlap, blend, window) for a, b in cols]
        return cls(h, w, scale, rows, cols, rw, cw)

    def weight_sums(self) -> tuple[np.ndarray, np.ndarray]:
        """``(W_y (s*h,), W_x (s*w,))``: the total weight is their outer product."""
        s = self.scale
        wy = np.zeros(s * self.h)
        wx = np.zeros(s * self.w)
        for (a, b), r in zip(self.rows, self.row_weights):
            wy[s * a : s * b] += r
        for (a, b), c in zip(self.cols, self.col_weights):
            wx[s * a : s * b] += c
        return wy, wx

    def __len__(self) -> int:
        return len(self.rows) * len(self.cols)


def tiled_upsample(
    fn: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    scale: int,
    *,
    tile: int = 128,
    overlap: int = 16,
    blend: int | None = None,
    window: str = "cosine",
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Apply an upsampling function tile by tile and blend the results.

    Args:
        fn: maps ``(1, C, th, tw)`` on ``device`` to ``(1, C', scale*th, scale*tw)``.
        x: LR input ``(C, h, w)`` or ``(1, C, h, w)`` (any device; tiles are moved to
            ``device``, results accumulate on the CPU in float32 so memory on the device is
            bounded by one tile).
        scale: integer factor ``s``.
        tile, overlap, blend, window: the tiling (see the module docstring); ``tile <= 0``
            runs the whole map at once; ``blend=None`` means ``blend = overlap``.
        device: where ``fn`` runs (default: ``x``'s device).

    Returns:
        ``(C', s*h, s*w)`` float32 on the CPU.
    """
    if x.dim() == 4:
        if x.shape[0] != 1:
            raise ValueError(f"x: expected one map (1, C, h, w), got {tuple(x.shape)}")
        x = x[0]
    if x.dim() != 3:
        raise ValueError(f"x: expected (C, h, w), got {tuple(x.shape)}")
    device = x.device if device is None else torch.device(device)
    _, h, w = x.shape
    s = int(scale)
    grid = TileGrid.build(h, w, s, tile, overlap, blend, window)
    out: torch.Tensor | None = None
    for (ra, rb), wr in zip(grid.rows, grid.row_weights):
        wr_t = torch.from_numpy(wr.astype(np.float32))
        for (ca, cb), wc in zip(grid.cols, grid.col_weights):
            piece = x[:, ra:rb, ca:cb].unsqueeze(0).to(device)
            y = fn(piece)
            if y.dim() != 4 or y.shape[0] != 1 or y.shape[-2:] != (s * (rb - ra), s * (cb - ca)):
                raise ValueError(
                    f"fn returned shape {tuple(y.shape)} for a tile of {tuple(piece.shape)} "
                    f"at scale {s}; expected (1, C', {s * (rb - ra)}, {s * (cb - ca)})"
                )
            y = y[0].detach().to("cpu", torch.float32)
            if out is None:
                out = torch.zeros(y.shape[0], s * h, s * w, dtype=torch.float32)
            wt = wr_t[:, None] * torch.from_numpy(wc.astype(np.float32))[None, :]
            out[:, s * ra : s * rb, s * ca : s * cb].addcmul_(y, wt)
    assert out is not None
    wy, wx = grid.weight_sums()
    out /= torch.from_numpy(wy.astype(np.float32))[:, None]
    out /= torch.from_numpy(wx.astype(np.float32))[None, :]
    return out
