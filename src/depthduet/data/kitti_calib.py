"""KITTI calibration files (raw drives, object benchmark, odometry) and odometry poses.

The conventions (which matrix maps what) are those of :mod:`depthduet.data.kitti`, which
re-exports everything here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from depthduet import io as dio
from depthduet.data.folder_files import PathLike, require_file
from depthduet.errors import UserError

__all__ = [
    "SIDE_TO_CAM",
    "KittiCalib",
    "read_raw_calib",
    "read_object_calib",
    "read_odometry_calib",
    "read_kitti_poses",
]

#: camera index of each split-file side: ``l`` = colour left (image_02), ``r`` = image_03.
SIDE_TO_CAM = {"l": 2, "r": 3}


@dataclass(frozen=True)
class KittiCalib:
    """Rectified KITTI calibration.

    Attributes:
        P: camera index -> ``(3, 4)`` rectified projection matrix ``P_rect_0i``.
        R_rect: ``(4, 4)`` rectifying rotation of camera 0 (``R_rect_00`` padded).
        T_cam0_velo: ``(4, 4)`` LiDAR -> (unrectified) camera 0, or ``None`` without LiDAR calib.
        sizes: camera index -> rectified image size ``(H, W)`` when the file states it.
    """

    P: dict[int, np.ndarray]
    R_rect: np.ndarray = field(default_factory=lambda: np.eye(4))
    T_cam0_velo: np.ndarray | None = None
    sizes: dict[int, tuple[int, int]] = field(default_factory=dict)

    def _P(self, cam: int) -> np.ndarray:
        if cam not in self.P:
            raise UserError(f"calibration has no projection matrix for camera {cam}")
        return self.P[cam]

    def K(self, cam: int = 2) -> np.ndarray:
        """``(3, 3)`` intrinsics of rectified camera ``cam`` (``P_rect[:, :3]``)."""
        return self._P(cam)[:, :3].copy()

    def offset(self, cam: int) -> np.ndarray:
        """``(3,)`` translation ``K^-1 P[:, 3]`` from rectified camera 0 to camera ``cam`` (m)."""
        P = self._P(cam)
        return np.linalg.solve(P[:, :3], P[:, 3])

    def T_cam_velo(self, cam: int = 2) -> np.ndarray:
        """``(4, 4)`` LiDAR -> rectified camera ``cam``: ``[I | offset] @ R_rect @ T_cam0_velo``."""
        if self.T_cam0_velo is None:
            raise UserError("calibration has no LiDAR-to-camera transform")
        T = np.eye(4)
        T[:3, 3] = self.offset(cam)
        return T @ self.R_rect @ self.T_cam0_velo

    def velo_to_image(self, cam: int = 2) -> np.ndarray:
        """``(3, 4)`` matrix ``P_rect_0cam @ R_rect_00 @ T_velo_to_cam`` (LiDAR -> pixels)."""
        if self.T_cam0_velo is None:
            raise UserError("calibration has no LiDAR-to-camera transform")
        return self._P(cam) @ self.R_rect @ self.T_cam0_velo

    def baseline(self, cam_a: int = 2, cam_b: int = 3) -> float:
        """Stereo baseline ``|P_a[0, 3] - P_b[0, 3]| / fx`` in metres (~0.54 m for 2 / 3)."""
        Pa, Pb = self._P(cam_a), self._P(cam_b)
        return float(abs(Pa[0, 3] - Pb[0, 3]) / Pa[0, 0])

    def T_stereo(self, tgt: int, other: int) -> np.ndarray:
        """``(4, 4)`` rectified camera ``tgt`` -> camera ``other``: a pure x translation
        ``(P_other[0, 3] - P_tgt[0, 3]) / fx``."""
        Pt, Po = self._P(tgt), self._P(other)
        T = np.eye(4)
        T[0, 3] = (Po[0, 3] - Pt[0, 3]) / Pt[0, 0]
        return T


def _get(cal: dict[str, np.ndarray], key: str, n: int, path: PathLike) -> np.ndarray:
    if key not in cal:
        raise UserError(f"{path}: missing key {key!r}")
    v = np.asarray(cal[key], dtype=np.float64).reshape(-1)
    if v.size != n:
        raise UserError(f"{path}: {key!r} must hold {n} numbers, got {v.size}")
    return v


def _pad4(R: np.ndarray, t: np.ndarray | None = None) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = R
    if t is not None:
        T[:3, 3] = t
    return T


def read_raw_calib(date_dir: PathLike) -> KittiCalib:
    """Parse a KITTI raw date folder's ``calib_cam_to_cam.txt`` and ``calib_velo_to_cam.txt``.

    Args:
        date_dir: e.g. ``<raw root>/2011_09_26`` (``calib_velo_to_cam.txt`` is optional).

    Returns:
        :class:`KittiCalib` with ``P`` for cameras 0..3, ``R_rect_00``, ``T_cam0_velo`` and the
        rectified sizes ``S_rect_0i``.
    """
    d = Path(date_dir)
    c2c = require_file(d / "calib_cam_to_cam.txt", "KITTI calibration")
    cal = dio.read_calib_txt(c2c)
    P, sizes = {}, {}
    for i in range(4):
        if f"P_rect_0{i}" in cal:
            P[i] = _get(cal, f"P_rect_0{i}", 12, c2c).reshape(3, 4)
        if f"S_rect_0{i}" in cal:
            w, h = _get(cal, f"S_rect_0{i}", 2, c2c)
            if not (np.isfinite([w, h]).all() and w >= 1 and h >= 1):
                raise UserError(f"{c2c}: 'S_rect_0{i}' must be an image size, got {w:g} {h:g}")
            sizes[i] = (int(round(h)), int(round(w)))
    if not P:
        raise UserError(f"{c2c}: no P_rect_0i matrices")
    R_rect = _pad4(_get(cal, "R_rect_00", 9, c2c).reshape(3, 3))
    T = None
    v2c = d / "calib_velo_to_cam.txt"
    if v2c.is_file():
        vc = dio.read_calib_txt(v2c)
        T = _pad4(_get(vc, "R", 9, v2c).reshape(3, 3), _get(vc, "T", 3, v2c))
    return KittiCalib(P, R_rect, T, sizes)


def read_object_calib(path: PathLike) -> KittiCalib:
    """Parse a KITTI object-benchmark calibration (``P0..P3``, ``R0_rect``, ``Tr_velo_to_cam``)."""
    p = require_file(path, "KITTI calibration")
    cal = dio.read_calib_txt(p)
    P = {i: _get(cal, f"P{i}", 12, p).reshape(3, 4) for i in range(4) if f"P{i}" in cal}
    if 2 not in P:
        raise UserError(f"{p}: missing key 'P2'")
    R_rect = _pad4(_get(cal, "R0_rect", 9, p).reshape(3, 3))
    T = np.eye(4)
    T[:3] = _get(cal, "Tr_velo_to_cam", 12, p).reshape(3, 4)
    return KittiCalib(P, R_rect, T)


def read_odometry_calib(path: PathLike) -> KittiCalib:
    """Parse a KITTI odometry ``calib.txt`` (``P0..P3``, optional ``Tr`` = LiDAR -> camera 0,
    already rectified, so ``R_rect`` is the identity)."""
    p = require_file(path, "KITTI calibration")
    cal = dio.read_calib_txt(p)
    P = {i: _get(cal, f"P{i}", 12, p).reshape(3, 4) for i in range(4) if f"P{i}" in cal}
    if not P:
        raise UserError(f"{p}: no P0..P3 matrices")
    T = None
    if "Tr" in cal:
        T = np.eye(4)
        T[:3] = _get(cal, "Tr", 12, p).reshape(3, 4)
    return KittiCalib(P, np.eye(4), T)


def read_kitti_poses(path: PathLike) -> np.ndarray:
    """KITTI odometry poses file -> ``(N, 4, 4)`` float64 camera-0 -> world transforms
    (``T_world_cam0``, one 3x4 row-major matrix per line)."""
    p = require_file(path, "KITTI poses file")
    try:
        a = np.loadtxt(p, dtype=np.float64, ndmin=2)
    except ValueError as e:
        raise UserError(f"{p}: not a KITTI poses file: {e}") from None
    if a.shape[1] != 12:
        raise UserError(f"{p}: expected 12 numbers per line, got {a.shape[1]}")
    T = np.tile(np.eye(4), (a.shape[0], 1, 1))
    T[:, :3, :] = a.reshape(-1, 3, 4)
    return T
