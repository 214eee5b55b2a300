"""Velodyne points into images: projection, sparse depth maps, the benchmark's 16-bit PNGs.

The pixel and depth conventions (``convention="centre"`` / ``"monodepth2"``) are described in
:mod:`depthduet.data.kitti`, which re-exports everything here.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from depthduet import io as dio
from depthduet.data.folder_files import PathLike, require_file
from depthduet.errors import UserError

__all__ = ["LidarPoints", "project_velodyne", "sparse_depth", "read_kitti_depth_png"]


class LidarPoints(NamedTuple):
    """Velodyne points that fall inside an image.

    Attributes:
        u, v: ``(M,)`` int64 pixel column / row (nearest pixel centre).
        depth: ``(M,)`` float32 depth value (camera z, or LiDAR x with ``depth_from="x"``).
        uv: ``(M, 2)`` float64 sub-pixel coordinates before rounding.
    """

    u: np.ndarray
    v: np.ndarray
    depth: np.ndarray
    uv: np.ndarray


def project_velodyne(
    points: np.ndarray,
    velo_to_image: np.ndarray,
    height: int,
    width: int,
    *,
    depth_from: str = "z",
    min_depth: float = 0.0,
    convention: str = "centre",
) -> LidarPoints:
    """Project LiDAR points into an image.

    Args:
        points: ``(N, 3)`` or ``(N, 4)`` LiDAR-frame points (x forward, metres).
        velo_to_image: ``(3, 4)`` matrix, e.g. :meth:`KittiCalib.velo_to_image`.
        height, width: image size.
        depth_from: ``"z"`` camera-frame z (default) or ``"x"`` LiDAR-frame x (older code).
        min_depth: keep points with camera z strictly greater than this.
        convention: ``"centre"`` (default): pixel ``(round(u), round(v))`` with pixel centres
            at integers; ``"monodepth2"``: the ground-truth export behind most published
            KITTI Eigen numbers: points with LiDAR ``x >= 0`` (and camera ``z > 0``), pixel
            ``(np.round(u) - 1, np.round(v) - 1)`` (round half to even), depth = LiDAR ``x``
            (``depth_from`` is ignored).

    Returns:
        :class:`LidarPoints` for points in front of the camera whose pixel lies inside the
        ``height x width`` image.
    """
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] < 3:
        raise UserError(f"LiDAR points must be (N, 3+), got shape {pts.shape}")
    M = np.asarray(velo_to_image, dtype=np.float64)
    if M.shape != (3, 4):
        raise UserError(f"velo_to_image must be 3x4, got {M.shape}")
    if depth_from not in ("z", "x"):
        raise UserError(f"depth_from must be 'z' or 'x', got {depth_from!r}")
    if convention not in ("centre", "monodepth2"):
        raise UserError(f"convention must be 'centre' or 'monodepth2', got {convention!r}")
    proj = pts[:, :3] @ M[:, :3].T + M[:, 3]
    z = proj[:, 2]
    front = z > max(min_depth, 0.0)
    if convention == "monodepth2":
        front &= pts[:, 0] >= 0
    uv = proj[front, :2] / z[front, None]
    if convention == "centre":
        u = np.floor(uv[:, 0] + 0.5).astype(np.int64)
        v = np.floor(uv[:, 1] + 0.5).astype(np.int64)
    else:
        u = np.round(uv[:, 0]).astype(np.int64) - 1
        v = np.round(uv[:, 1]).astype(np.int64) - 1
        depth_from = "x"
    inside = (u >= 0) & (u < width) & (v >= 0) & (v < height)
    value = (z if depth_from == "z" else pts[:, 0])[front][inside]
    return LidarPoints(u[inside], v[inside], value.astype(np.float32), uv[inside])


def sparse_depth(
    u: np.ndarray, v: np.ndarray, depth: np.ndarray, height: int, width: int
) -> np.ndarray:
    """Splat point depths into a ``(height, width)`` float32 map, 0 where no point; several
    points on one pixel keep the smallest (nearest) positive depth."""
    out = np.full(height * width, np.inf, dtype=np.float32)
    d = np.asarray(depth, dtype=np.float32)
    keep = d > 0
    np.minimum.at(out, (np.asarray(v) * width + np.asarray(u))[keep], d[keep])
    out[~np.isfinite(out)] = 0
    return out.reshape(height, width)


def read_kitti_depth_png(path: PathLike) -> dio.DepthMap:
    """KITTI depth benchmark PNG (``proj_depth/groundtruth`` / ``velodyne_raw``): uint16
    value / 256 = metres, 0 = no measurement."""
    return dio.read_depth(require_file(path, "KITTI depth PNG"), scale=256.0)


def _scale_matrix(sx: float, sy: float) -> np.ndarray:
    """Pixel-centre rescaling ``u' = sx (u + 0.5) - 0.5`` as a 3x3 homography."""
    return np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1.0]])


def _resample_sparse(depth: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Move each valid pixel of a sparse map to its nearest pixel in a resized grid (nearest
    depth kept), without interpolating between measurements."""
    h, w = depth.shape
    H, W = size
    if (h, w) == (H, W):
        return depth
    v, u = np.nonzero(depth > 0)
    S = _scale_matrix(W / w, H / h)
    uu = np.floor(S[0, 0] * u + S[0, 2] + 0.5).astype(np.int64)
    vv = np.floor(S[1, 1] * v + S[1, 2] + 0.5).astype(np.int64)
    ok = (uu >= 0) & (uu < W) & (vv >= 0) & (vv < H)
    return sparse_depth(uu[ok], vv[ok], depth[v, u][ok], H, W)
