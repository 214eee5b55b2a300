"""KITTI: raw drives, the annotated depth benchmark, odometry sequences and object frames.

Calibration and LiDAR projection (used by every KITTI dataset here):

* raw data: ``calib_cam_to_cam.txt`` (``P_rect_0i`` 3x4, ``R_rect_00`` 3x3, ``S_rect_0i``),
  ``calib_velo_to_cam.txt`` (``R`` 3x3, ``T`` 3): :func:`read_raw_calib`;
* object benchmark: ``P0..P3``, ``R0_rect``, ``Tr_velo_to_cam``: :func:`read_object_calib`;
* odometry: ``calib.txt`` with ``P0..P3`` (and ``Tr``): :func:`read_odometry_calib`.

A Velodyne point ``X`` (metres, LiDAR frame) lands in rectified camera ``i`` at
``x = P_rect_0i @ R_rect_00 @ T_velo_to_cam @ X`` (R_rect padded to 4x4, T as 4x4), pixel
``(x0 / x2, x1 / x2)``; ``x2`` is the point's z in camera i. :func:`project_velodyne` keeps
points with ``z > min_depth`` (in front of the camera) whose nearest pixel centre
(``round(u)``, ``round(v)``; pixel centres at integers, see :mod:`depthduet.geometry`) lies in
the image, and :func:`sparse_depth` writes them into a map. When several points hit one
pixel the **nearest** (smallest depth) is kept: the occluding surface. Older code differs
in details: monodepth2's ``generate_depth_map`` also keeps the minimum of duplicates (its
linear index ``row * (W - 1) + col - 1`` merges the last column of a row with the first of
the next, a minor quirk), stores the LiDAR-frame ``x`` as the depth value
(``depth_from="x"`` reproduces that) and indexes pixels with ``round(u) - 1`` (a one-pixel
shift, not copied by default); simpler loaders keep whichever point is written last. Points
with LiDAR ``x < 0``, which monodepth2 drops first, are removed here by ``z > 0``.
``convention="monodepth2"`` reproduces its value, filter and indexing, for numbers comparable
with published KITTI Eigen results.

Stereo: rectified cameras differ by a translation along x; ``T_stereo_tgt`` maps target-camera
points into the stereo camera, with ``T[0, 3] = (P_st[0, 3] - P_tgt[0, 3]) / fx`` (about
-0.54 m when the target is the left colour camera image_02 and the partner image_03).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from torch.utils.data import Dataset

from depthduet import io as dio
from depthduet.data.folder import (
    depth_tensors,
    load_rgb,
    neighbour_keys,
    require_dir,
    require_file,
    resize_image,
)
from depthduet.data.splits import KittiSplitEntry, read_kitti_split
from depthduet.errors import UserError

__all__ = [
    "KittiCalib",
    "read_raw_calib",
    "read_object_calib",
    "read_odometry_calib",
    "read_kitti_poses",
    "LidarPoints",
    "project_velodyne",
    "sparse_depth",
    "read_kitti_depth_png",
    "KittiRawDataset",
    "KittiOdometryDataset",
    "KittiObjectDataset",
    "KittiDepthSelectionDataset",
    "export_lidar_gt",
]

PathLike = str | os.PathLike[str]

#: camera index of each split-file side: ``l`` = colour left (image_02), ``r`` = image_03.
SIDE_TO_CAM = {"l": 2, "r": 3}


# ----------------------------------------------------------------------------------------------
# calibration
# ----------------------------------------------------------------------------------------------
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


# ----------------------------------------------------------------------------------------------
# LiDAR projection
# ----------------------------------------------------------------------------------------------
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


def _image_file(folder: Path, frame: int) -> Path:
    for ext in (".png", ".jpg", ".jpeg"):
        p = folder / f"{frame:010d}{ext}"
        if p.is_file():
            return p
    raise UserError(f"{folder / f'{frame:010d}.png'}: KITTI image not found (.png or .jpg)")


# ----------------------------------------------------------------------------------------------
# datasets
# ----------------------------------------------------------------------------------------------
class KittiRawDataset(Dataset):
    """KITTI raw drives (synced + rectified), as downloaded.

    Layout::

        root/                                   e.g. kitti_data/
          2011_09_26/
            calib_cam_to_cam.txt  calib_velo_to_cam.txt  calib_imu_to_velo.txt
            2011_09_26_drive_0002_sync/
              image_02/data/0000000000.png      (left colour; .jpg also accepted)
              image_03/data/0000000000.png      (right colour)
              velodyne_points/data/0000000000.bin
          2011_09_28/ ...

        annotated_root/                         optional, KITTI depth "data_depth_annotated"
          train/2011_09_26_drive_0001_sync/proj_depth/groundtruth/image_02/0000000005.png
          val/...

    Samples follow a split file (:func:`depthduet.data.splits.read_kitti_split`, e.g. the
    Eigen / Eigen-Zhou lists) or, without one, every left frame whose neighbours exist.

    Sample keys: ``image`` (3, H, W), ``image_prev`` / ``image_next`` (for ``offsets``
    -1 / +1; other offsets ``o`` as ``image_{o:+d}``), ``image_stereo`` + ``T_stereo_tgt``
    (``stereo=True``), ``lidar`` (1, H, W) projected Velodyne depth (``lidar=True``),
    ``depth`` / ``valid`` (``gt="lidar"``: the projected scan; ``gt="annotated"``: the KITTI
    depth benchmark map, ``/256``; ``gt=None``: zeros), ``K`` (3, 3), ``name``, ``unit="m"``.

    Args:
        root: the raw data root.
        split: split file path, a list of :class:`KittiSplitEntry`, or ``None``.
        offsets: temporal neighbours to load; ``()`` for none. A missing neighbour raises
            ``UserError`` (split files for self-supervision exclude drive ends).
        stereo: load the other colour camera.
        lidar: project the Velodyne scan.
        gt: ``"lidar"``, ``"annotated"`` or ``None``.
        annotated_root: KITTI depth benchmark root (needed for ``gt="annotated"``).
        depth_from: ``"z"`` (camera z) or ``"x"`` (LiDAR x, as older code), see module doc.
        convention: LiDAR pixel convention, ``"centre"`` or ``"monodepth2"`` (reproduces the
            ground truth of published Eigen-split numbers), see :func:`project_velodyne`.
        size: ``(H, W)`` to resize images to (K scaled, LiDAR projected at that size,
            annotated maps moved to their nearest resized pixel); ``None`` keeps the native size
            (which differs between dates, so batches need ``size`` or cropping).
    """

    def __init__(
        self,
        root: PathLike,
        split: PathLike | Sequence[KittiSplitEntry] | None = None,
        offsets: Sequence[int] = (-1, 1),
        stereo: bool = True,
        lidar: bool = True,
        gt: str | None = "lidar",
        annotated_root: PathLike | None = None,
        depth_from: str = "z",
        size: tuple[int, int] | None = None,
        convention: str = "centre",
    ) -> None:
        self.root = require_dir(root, "KITTI raw root")
        if gt not in ("lidar", "annotated", None):
            raise UserError(f"gt must be 'lidar', 'annotated' or None, got {gt!r}")
        if gt == "annotated" and annotated_root is None:
            raise UserError("gt='annotated' needs annotated_root (the KITTI depth benchmark root)")
        if depth_from not in ("z", "x"):
            raise UserError(f"depth_from must be 'z' or 'x', got {depth_from!r}")
        self.offsets = tuple(int(o) for o in offsets)
        if 0 in self.offsets:
            raise UserError("offsets must not contain 0 (the target frame)")
        self.stereo, self.lidar, self.gt = stereo, lidar, gt
        self.annotated_root = None if annotated_root is None else require_dir(annotated_root)
        self.depth_from = depth_from
        if convention not in ("centre", "monodepth2"):
            raise UserError(f"convention must be 'centre' or 'monodepth2', got {convention!r}")
        self.convention = convention
        self.size = None if size is None else (int(size[0]), int(size[1]))
        if split is None:
            self.entries = self._scan()
        elif isinstance(split, (str, os.PathLike)):
            self.entries = read_kitti_split(split)
        else:
            self.entries = list(split)
        if not self.entries:
            raise UserError(f"{self.root}: no KITTI frames found")
        self._calib: dict[str, KittiCalib] = {}

    def _scan(self) -> list[KittiSplitEntry]:
        entries = []
        for date in sorted(p for p in self.root.iterdir() if p.is_dir()):
            for drive in sorted(p for p in date.iterdir() if p.is_dir()):
                folder = drive / "image_02" / "data"
                if not folder.is_dir():
                    continue
                frames = sorted(int(p.stem) for p in folder.iterdir() if p.stem.isdigit())
                have = set(frames)
                for f in frames:
                    if all(f + o in have for o in self.offsets):
                        entries.append(KittiSplitEntry(f"{date.name}/{drive.name}", f, "l"))
        return entries

    def calib(self, date: str) -> KittiCalib:
        """Calibration of a date folder (parsed once)."""
        if date not in self._calib:
            self._calib[date] = read_raw_calib(self.root / date)
        return self._calib[date]

    def __len__(self) -> int:
        return len(self.entries)

    def _annotated(self, e: KittiSplitEntry, cam: int) -> Path:
        assert self.annotated_root is not None
        drive = e.folder.split("/")[-1]
        rel = Path(drive) / "proj_depth" / "groundtruth" / f"image_0{cam}" / f"{e.frame:010d}.png"
        for sub in ("train", "val", ""):
            p = self.annotated_root / sub / rel
            if p.is_file():
                return p
        raise UserError(f"{self.annotated_root / 'train' / rel}: annotated depth not found")

    def __getitem__(self, index: int) -> dict[str, Any]:
        e = self.entries[index]
        cam = SIDE_TO_CAM[e.side]
        other = 5 - cam
        drive = self.root / e.folder
        cal = self.calib(e.date)
        image = load_rgb(_image_file(drive / f"image_0{cam}" / "data", e.frame))
        h0, w0 = image.shape[-2:]
        H, W = self.size or (h0, w0)
        S = _scale_matrix(W / w0, H / h0)
        K = S @ cal.K(cam)
        sample: dict[str, Any] = {
            "image": resize_image(image, (H, W)),
            "K": torch.as_tensor(K, dtype=torch.float32),
            "name": e.name,
            "unit": "m",
        }
        for o, tag in neighbour_keys(self.offsets).items():
            key = f"image_{tag}"
            img = load_rgb(_image_file(drive / f"image_0{cam}" / "data", e.frame + o))
            sample[key] = resize_image(img, (H, W))
        if self.stereo:
            img = load_rgb(_image_file(drive / f"image_0{other}" / "data", e.frame))
            sample["image_stereo"] = resize_image(img, (H, W))
            sample["T_stereo_tgt"] = torch.as_tensor(cal.T_stereo(cam, other), dtype=torch.float32)
        lidar_map = None
        if self.lidar or self.gt == "lidar":
            bin_path = require_file(
                drive / "velodyne_points" / "data" / f"{e.frame:010d}.bin", "Velodyne scan"
            )
            pts = dio.read_velodyne(bin_path)
            lp = project_velodyne(
                pts,
                S @ cal.velo_to_image(cam),
                H,
                W,
                depth_from=self.depth_from,
                convention=self.convention,
            )
            lidar_map = sparse_depth(lp.u, lp.v, lp.depth, H, W)
            if self.lidar:
                sample["lidar"] = torch.from_numpy(lidar_map[None].copy())
        if self.gt == "lidar":
            assert lidar_map is not None
            sample["depth"], sample["valid"] = depth_tensors(lidar_map)
        elif self.gt == "annotated":
            dm = read_kitti_depth_png(self._annotated(e, cam))
            if dm.values.shape != (h0, w0):
                raise UserError(
                    f"{self._annotated(e, cam)}: size {dm.values.shape} differs from the image "
                    f"{(h0, w0)}"
                )
            gt = _resample_sparse(np.where(dm.valid, dm.values, 0).astype(np.float32), (H, W))
            sample["depth"], sample["valid"] = depth_tensors(gt)
        else:
            sample["depth"] = torch.zeros(1, H, W)
            sample["valid"] = torch.zeros(1, H, W, dtype=torch.bool)
        return sample


class KittiOdometryDataset(Dataset):
    """KITTI odometry sequences (colour cameras), with ground-truth relative poses when the
    poses file exists (sequences 00-10).

    Layout::

        root/                                     "dataset" folder of data_odometry_color.zip
          sequences/06/image_2/000012.png         (left colour)
          sequences/06/image_3/000012.png         (right colour)
          sequences/06/calib.txt                  (P0..P3, Tr)
          poses/06.txt                            (optional; 3x4 camera-0 -> world per line)

    Sample keys: ``image``, ``image_prev`` / ``image_next`` (and ``T_prev_tgt`` /
    ``T_next_tgt`` = target camera -> neighbour camera, when poses exist), ``image_stereo`` +
    ``T_stereo_tgt`` (``stereo=True``), ``K``, ``name``, ``unit="m"``, ``depth`` zeros /
    ``valid`` False (no depth in this benchmark).

    Args:
        root: odometry root.
        sequences: sequence names (``"06"``) to include.
        side: ``"l"`` (image_2) or ``"r"`` (image_3) as the target camera.
        offsets: neighbour offsets (targets without all of them are skipped).
        stereo: also load the other camera.
    """

    def __init__(
        self,
        root: PathLike,
        sequences: Sequence[str],
        side: str = "l",
        offsets: Sequence[int] = (-1, 1),
        stereo: bool = False,
    ) -> None:
        self.root = require_dir(root, "KITTI odometry root")
        if side not in SIDE_TO_CAM:
            raise UserError(f"side must be 'l' or 'r', got {side!r}")
        self.cam = SIDE_TO_CAM[side]
        self.offsets = tuple(int(o) for o in offsets)
        if 0 in self.offsets:
            raise UserError("offsets must not contain 0 (the target frame)")
        self.stereo = stereo
        self.items: list[tuple[str, int]] = []
        self.calibs: dict[str, KittiCalib] = {}
        self.poses: dict[str, np.ndarray | None] = {}
        for seq in sequences:
            sdir = require_dir(self.root / "sequences" / seq, "KITTI odometry sequence")
            self.calibs[seq] = read_odometry_calib(sdir / "calib.txt")
            pose_file = self.root / "poses" / f"{seq}.txt"
            self.poses[seq] = read_kitti_poses(pose_file) if pose_file.is_file() else None
            folder = require_dir(sdir / f"image_{self.cam}", "KITTI image folder")
            have = {int(p.stem) for p in folder.iterdir() if p.stem.isdigit()}
            for f in sorted(have):
                if all(f + o in have for o in self.offsets):
                    self.items.append((seq, f))
        if not self.items:
            raise UserError(f"{self.root}: no odometry frames with neighbours {self.offsets}")

    def __len__(self) -> int:
        return len(self.items)

    def _image(self, seq: str, cam: int, frame: int) -> torch.Tensor:
        folder = self.root / "sequences" / seq / f"image_{cam}"
        for ext in (".png", ".jpg"):
            if (folder / f"{frame:06d}{ext}").is_file():
                return load_rgb(folder / f"{frame:06d}{ext}")
        raise UserError(f"{folder / f'{frame:06d}.png'}: KITTI image not found")

    def relative_pose(self, seq: str, src: int, tgt: int) -> np.ndarray:
        """``(4, 4)`` target camera -> source camera (the target camera's index, e.g. 2) from
        the ground-truth camera-0 poses: ``C T_w0_src^-1 T_w0_tgt C^-1`` with
        ``C = [I | offset(cam)]``."""
        poses = self.poses[seq]
        if poses is None:
            raise UserError(f"{self.root / 'poses' / f'{seq}.txt'}: poses file not found")
        if max(src, tgt) >= len(poses):
            raise UserError(
                f"{self.root / 'poses' / f'{seq}.txt'}: no pose for frame {max(src, tgt)}"
            )
        C = np.eye(4)
        C[:3, 3] = self.calibs[seq].offset(self.cam)
        return C @ np.linalg.inv(poses[src]) @ poses[tgt] @ np.linalg.inv(C)

    def __getitem__(self, index: int) -> dict[str, Any]:
        seq, f = self.items[index]
        cal = self.calibs[seq]
        image = self._image(seq, self.cam, f)
        h, w = image.shape[-2:]
        sample: dict[str, Any] = {
            "image": image,
            "depth": torch.zeros(1, h, w),
            "valid": torch.zeros(1, h, w, dtype=torch.bool),
            "K": torch.as_tensor(cal.K(self.cam), dtype=torch.float32),
            "name": f"{seq}/{f:06d}",
            "unit": "m",
        }
        for o, tag in neighbour_keys(self.offsets).items():
            sample[f"image_{tag}"] = self._image(seq, self.cam, f + o)
            if self.poses[seq] is not None:
                T = self.relative_pose(seq, f + o, f)
                sample[f"T_{tag}_tgt"] = torch.as_tensor(T, dtype=torch.float32)
        if self.stereo:
            other = 5 - self.cam
            sample["image_stereo"] = self._image(seq, other, f)
            sample["T_stereo_tgt"] = torch.as_tensor(
                cal.T_stereo(self.cam, other), dtype=torch.float32
            )
        return sample


class KittiObjectDataset(Dataset):
    """KITTI 3-D object benchmark frames: left colour image + Velodyne depth.

    Layout::

        root/training/image_2/000007.png
        root/training/velodyne/000007.bin
        root/training/calib/000007.txt          (P0..P3, R0_rect, Tr_velo_to_cam)
        (and root/testing/... likewise)

    Sample keys: ``image``, ``lidar`` and ``depth`` (the projected scan, metres), ``valid``,
    ``K`` (from ``P2``), ``name``, ``unit="m"``.
    """

    def __init__(
        self,
        root: PathLike,
        split: str = "training",
        names: Sequence[str] | None = None,
        depth_from: str = "z",
    ) -> None:
        self.dir = require_dir(Path(root) / split, "KITTI object split folder")
        img_dir = require_dir(self.dir / "image_2", "KITTI image_2 folder")
        self.names = (
            list(names) if names is not None else sorted(p.stem for p in img_dir.glob("*.png"))
        )
        if not self.names:
            raise UserError(f"{img_dir}: no images")
        self.depth_from = depth_from

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, index: int) -> dict[str, Any]:
        n = self.names[index]
        image = load_rgb(self.dir / "image_2" / f"{n}.png")
        h, w = image.shape[-2:]
        cal = read_object_calib(self.dir / "calib" / f"{n}.txt")
        pts = dio.read_velodyne(require_file(self.dir / "velodyne" / f"{n}.bin", "Velodyne scan"))
        lp = project_velodyne(pts, cal.velo_to_image(2), h, w, depth_from=self.depth_from)
        lidar = sparse_depth(lp.u, lp.v, lp.depth, h, w)
        depth, valid = depth_tensors(lidar)
        return {
            "image": image,
            "lidar": depth.clone(),
            "depth": depth,
            "valid": valid,
            "K": torch.as_tensor(cal.K(2), dtype=torch.float32),
            "name": n,
            "unit": "m",
        }


class KittiDepthSelectionDataset(Dataset):
    """The KITTI depth benchmark's ``depth_selection`` folders (validation / test crops).

    Layout (``data_depth_selection.zip``)::

        root/                                   e.g. depth_selection/val_selection_cropped
          image/<drive>_image_<frame>_image_02.png
          groundtruth_depth/<drive>_groundtruth_depth_<frame>_image_02.png   (uint16 / 256, m)
          velodyne_raw/<drive>_velodyne_raw_<frame>_image_02.png             (uint16 / 256, m)
          intrinsics/<drive>_image_<frame>_image_02.txt                      (9 numbers, K)

    The test folders (``test_depth_prediction_anonymous``) have ``image`` and ``intrinsics``
    only; their samples have ``depth`` zeros and ``valid`` False. Samples: ``image``, ``depth``
    / ``valid`` (ground truth), ``lidar`` (when ``velodyne_raw`` exists), ``K``, ``name`` (the
    image stem), ``unit="m"``.
    """

    def __init__(self, root: PathLike) -> None:
        self.root = require_dir(root, "KITTI depth selection folder")
        img_dir = require_dir(self.root / "image", "KITTI depth selection image folder")
        self.names = sorted(p.stem for p in img_dir.glob("*.png"))
        if not self.names:
            raise UserError(f"{img_dir}: no images")

    def __len__(self) -> int:
        return len(self.names)

    def _other(self, kind: str, stem: str) -> Path:
        return self.root / kind / (stem.replace("_sync_image_", f"_sync_{kind}_", 1) + ".png")

    def __getitem__(self, index: int) -> dict[str, Any]:
        from depthduet.data.folder import read_camera

        stem = self.names[index]
        image = load_rgb(self.root / "image" / f"{stem}.png")
        h, w = image.shape[-2:]
        sample: dict[str, Any] = {
            "image": image,
            "K": torch.as_tensor(
                read_camera(self.root / "intrinsics" / f"{stem}.txt").K, dtype=torch.float32
            ),
            "name": stem,
            "unit": "m",
        }
        gt = self._other("groundtruth_depth", stem)
        if gt.is_file():
            dm = read_kitti_depth_png(gt)
            sample["depth"], sample["valid"] = depth_tensors(dm.values, dm.valid)
        elif (self.root / "groundtruth_depth").is_dir():
            raise UserError(f"{gt}: ground truth not found")
        else:
            sample["depth"] = torch.zeros(1, h, w)
            sample["valid"] = torch.zeros(1, h, w, dtype=torch.bool)
        lid = self._other("velodyne_raw", stem)
        if lid.is_file():
            sample["lidar"] = depth_tensors(*read_kitti_depth_png(lid))[0]
        if sample["depth"].shape[-2:] != (h, w):
            raise UserError(
                f"{gt}: size {tuple(sample['depth'].shape[-2:])} differs from the image"
            )
        return sample


def export_lidar_gt(
    root: PathLike,
    split: PathLike | Sequence[KittiSplitEntry],
    out: PathLike,
    *,
    convention: str = "monodepth2",
) -> Path:
    """Write the projected-LiDAR ground truth of a KITTI split as one ``.npz``.

    Every entry of ``split`` (e.g. the Eigen test list) gives one full-resolution float32
    ``(H, W)`` depth map (metres, 0 = no point), stored under the key
    ``<drive>__<frame>_<side>`` in split order, ready for ``depthduet evaluate --gt``. The
    default ``convention="monodepth2"`` matches the ground truth of published Eigen numbers.

    Returns:
        The written path.
    """
    ds = KittiRawDataset(
        root, split=split, offsets=(), stereo=False, lidar=True, gt=None, convention=convention
    )
    maps: dict[str, np.ndarray] = {}
    for i, e in enumerate(ds.entries):
        maps[e.name.replace("/", "__")] = ds[i]["lidar"][0].numpy()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp.npz")
    np.savez_compressed(tmp, **maps)
    os.replace(tmp, out)
    return out
