"""LiDAR scans and point clouds: KITTI Velodyne ``.bin`` records and binary PLY output."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from depthduet.io.atomic import atomic_write
from depthduet.io.common import PathLike, file_error, read_bytes


def read_velodyne(path: PathLike) -> np.ndarray:
    """Read a KITTI Velodyne scan ``.bin``: float32 records (x, y, z, reflectance).

    Returns:
        ``(N, 4)`` float32, metres in the Velodyne frame (x forward, y left, z up).
    """
    data = read_bytes(path)
    if len(data) % 16:
        raise file_error(
            path,
            f"size {len(data)} bytes is not a multiple of 16 (4 float32 per point): truncated?",
        )
    return np.frombuffer(data, "<f4").reshape(-1, 4).copy()


def write_velodyne(path: PathLike, points: np.ndarray) -> Path:
    """Write ``(N, 4)`` points (x, y, z, reflectance) as a KITTI ``.bin`` (atomically)."""
    a = np.asarray(points, np.float32)
    if a.ndim != 2 or a.shape[1] != 4:
        raise file_error(path, f"Velodyne points must be (N, 4), got shape {a.shape}")
    payload = np.ascontiguousarray(a, "<f4").tobytes()
    return atomic_write(path, lambda f: f.write(payload))


def write_ply(path: PathLike, points: np.ndarray, colors: np.ndarray | None = None) -> Path:
    """Write a point cloud as binary little-endian PLY (atomically).

    Args:
        points: ``(N, 3)`` float x, y, z.
        colors: optional ``(N, 3)`` uint8 RGB (floats in [0, 1] are converted).

    Returns:
        The written path.
    """
    pts = np.asarray(points, np.float32)
    if pts.ndim != 2 or pts.shape[1] != 3:
        raise file_error(path, f"points must be (N, 3), got shape {pts.shape}")
    n = pts.shape[0]
    props = ["property float x", "property float y", "property float z"]
    if colors is not None:
        c = np.asarray(colors)
        if c.shape != (n, 3):
            raise file_error(path, f"colors must be ({n}, 3) to match the points, got {c.shape}")
        if c.dtype.kind == "f":
            c = np.round(np.clip(c, 0, 1) * 255)
        c = c.astype(np.uint8)
        props += ["property uchar red", "property uchar green", "property uchar blue"]
        rec = np.empty(n, dtype=[("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("rgb", "u1", 3)])
        rec["rgb"] = c
    else:
        rec = np.empty(n, dtype=[("x", "<f4"), ("y", "<f4"), ("z", "<f4")])
    rec["x"], rec["y"], rec["z"] = pts[:, 0], pts[:, 1], pts[:, 2]
    header = "\n".join(
        ["ply", "format binary_little_endian 1.0", f"element vertex {n}", *props, "end_header"]
    )
    payload = header.encode("ascii") + b"\n" + rec.tobytes()
    return atomic_write(path, lambda f: f.write(payload))
