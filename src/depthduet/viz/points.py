"""Depth as points: coloured points drawn on an image (projected LiDAR, with a z-buffer), and a
depth map back-projected into a camera-frame point cloud (``.ply``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from depthduet.viz.colors import (
    as_numpy,
    cmap_lut,
    robust_range,
    squeeze_map,
    to_uint8_rgb,
    valid_pixels,
)

__all__ = ["overlay_points", "depth_to_points", "save_depth_ply"]


def overlay_points(
    rgb: Any,
    uv: Any,
    values: Any,
    *,
    radius: int = 1,
    cmap: str = "turbo",
    lo_pct: float = 2.0,
    hi_pct: float = 98.0,
    vmin: float | None = None,
    vmax: float | None = None,
    invert: bool = False,
    dim: float = 1.0,
) -> np.ndarray:
    """Draw coloured points (e.g. projected LiDAR) on an image.

    Points are squares of side ``2 * radius + 1``; where points overlap the nearest one wins
    (a z-buffer). Points outside the image or with non-finite coordinates / values are
    skipped.

    Args:
        rgb: ``(H, W, 3)`` image (float [0, 1] or uint8), or ``(H, W)`` grey.
        uv: ``(N, 2)`` pixel coordinates (u = column, v = row; pixel centres at integers).
        values: ``(N,)`` depth of each point (sets the colour).
        radius: half size of the drawn squares in pixels.
        cmap, lo_pct, hi_pct, vmin, vmax, invert: as in :func:`colorize_depth`.
        dim: factor applied to the background image (e.g. 0.6 to make points stand out).

    Returns:
        ``(H, W, 3)`` uint8.
    """
    base = to_uint8_rgb(rgb)
    out = np.round(base.astype(np.float64) * float(dim)).clip(0, 255).astype(np.uint8)
    h, w = out.shape[:2]
    pts = as_numpy(uv).astype(np.float64).reshape(-1, 2)
    z = as_numpy(values).astype(np.float64).reshape(-1)
    if pts.shape[0] != z.shape[0]:
        raise ValueError(f"uv has {pts.shape[0]} points but values has {z.shape[0]}")
    u = np.round(pts[:, 0])
    v = np.round(pts[:, 1])
    keep = np.isfinite(u) & np.isfinite(v) & np.isfinite(z) & (u >= 0) & (u < w) & (v >= 0)
    keep &= v < h
    u, v, z = u[keep].astype(np.int64), v[keep].astype(np.int64), z[keep]
    if z.size == 0:
        return out
    lo, hi = robust_range(z, None, lo_pct, hi_pct)
    lo = lo if vmin is None else float(vmin)
    hi = hi if vmax is None else float(vmax)
    zz = lo + hi - z if invert else z
    t = np.clip((zz - lo) / (hi - lo if hi != lo else 1.0), 0, 1)
    colours = cmap_lut(cmap)[np.round(t * 255).astype(np.int64)]
    r = int(radius)
    offs = [(du, dv) for dv in range(-r, r + 1) for du in range(-r, r + 1)]
    lin = np.concatenate(
        [np.clip(v + dv, 0, h - 1) * w + np.clip(u + du, 0, w - 1) for du, dv in offs]
    )
    depth_all = np.tile(z, len(offs))
    point = np.tile(np.arange(z.size), len(offs))
    # z-buffer: per pixel keep the nearest point (first after a stable sort by depth)
    order = np.argsort(depth_all, kind="stable")
    pix, first = np.unique(lin[order], return_index=True)
    out.reshape(-1, 3)[pix] = colours[point[order][first]]
    return out


def depth_to_points(
    depth: Any, K: Any, valid: Any | None = None, rgb: Any | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Back-project a depth map into camera-frame points (OpenCV axes, see geometry.py).

    ``X = depth * K^-1 [u, v, 1]^T`` for every valid pixel.

    Args:
        depth: ``(H, W)`` z-depth.
        K: ``(3, 3)`` intrinsics in pixels.
        valid: ``(H, W)`` bool; default: finite and ``> 0``.
        rgb: optional ``(H, W, 3)`` image giving point colours.

    Returns:
        ``points (N, 3)`` float32 and ``colors (N, 3)`` uint8 (or None).
    """
    d = squeeze_map(depth, "depth").astype(np.float64)
    m = valid_pixels(d, valid)
    k = as_numpy(K).astype(np.float64).reshape(3, 3)
    v, u = np.nonzero(m)
    pix = np.stack([u, v, np.ones_like(u)], 0).astype(np.float64)
    pts = (np.linalg.inv(k) @ pix) * d[v, u]
    colors = to_uint8_rgb(rgb)[v, u] if rgb is not None else None
    return pts.T.astype(np.float32), colors


def save_depth_ply(
    path: str | os.PathLike[str],
    depth: Any,
    K: Any,
    valid: Any | None = None,
    rgb: Any | None = None,
) -> Path:
    """Back-project a depth map (:func:`depth_to_points`) and write it as a PLY point cloud."""
    from depthduet.io import write_ply

    pts, colors = depth_to_points(depth, K, valid, rgb)
    return write_ply(path, pts, colors)
