"""The ``kitti-raw`` and ``kitti-depth`` miniatures: KITTI raw drives with their calibration,
Velodyne scans and split files, and the depth benchmark maps of the same drives.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from depthduet import io as dio
from depthduet.data.kitti_calib import _pad4
from depthduet.data.miniatures.common import (
    DEFAULT_SIZES,
    PathLike,
    _check,
    _n_heldout,
    _png,
    _png16,
    _publish,
    _text,
)

#: the KITTI raw calibration date folder of the miniature drives.
KITTI_DATE = "2011_09_26"
KITTI_BASELINE = 0.54  # m, image_02 -> image_03
KITTI_MAX_GT = 80.0  # m, the annotated maps' range


def _nums(a: np.ndarray) -> str:
    """Numbers in KITTI calibration style (``%.12e``, space separated, row-major)."""
    return " ".join(f"{v:.12e}" for v in np.asarray(a, np.float64).reshape(-1))


def _rot(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """``(3, 3)`` rotation ``Rz(roll) Ry(yaw) Rx(pitch)`` (radians, camera axes)."""
    cy, sy, cp, sp, cr, sr = (
        np.cos(yaw),
        np.sin(yaw),
        np.cos(pitch),
        np.sin(pitch),
        np.cos(roll),
        np.sin(roll),
    )
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return rz @ ry @ rx


def _kitti_drive(i: int) -> str:
    return f"{KITTI_DATE}_drive_{i + 1:04d}_sync"


class _KittiRig:
    """Calibration of the miniature KITTI rig (cameras 0..3, Velodyne) around the world camera,
    which is the rectified left colour camera image_02."""

    def __init__(self, K: np.ndarray) -> None:
        self.K = np.asarray(K, np.float64)
        # rectified camera i = rectified camera 0 + t_i (K^-1 P_rect_0i[:, 3]), as in KITTI
        self.t = {
            0: np.zeros(3),
            1: np.array([-0.537150, 0.0, 0.0]),
            2: np.array([0.059900, 0.000300, 0.002700]),
            3: np.array([0.059900 - KITTI_BASELINE, 0.000300, 0.002700]),
        }
        self.P = {i: self.K @ np.hstack([np.eye(3), t[:, None]]) for i, t in self.t.items()}
        self.R_rect = _rot(0.0074, 0.0043, -0.0099)
        axes = np.array([[0.0, -1, 0], [0, 0, -1], [1, 0, 0]])  # x fwd, y left, z up -> camera
        self.R_velo = _rot(-0.0006, 0.0148, 0.0075) @ axes
        self.T_velo = np.array([-4.069766e-03, -7.631618e-02, -2.717806e-01])
        self.T_cam0_velo = _pad4(self.R_velo, self.T_velo)

    def T_cam_velo(self, cam: int) -> np.ndarray:
        """``(4, 4)`` Velodyne -> rectified camera ``cam``."""
        return _pad4(np.eye(3), self.t[cam]) @ _pad4(self.R_rect) @ self.T_cam0_velo

    def velo_to_image(self, cam: int) -> np.ndarray:
        """``(3, 4)`` Velodyne -> pixels of camera ``cam``."""
        return self.K @ self.T_cam_velo(cam)[:3]

    def cam_to_cam(self, size: tuple[int, int]) -> list[str]:
        h, w = size
        lines = ["calib_time: 09-Jan-2012 13:57:47", "corner_dist: 9.950000e-02"]
        for i in range(4):
            lines += [
                f"S_0{i}: {_nums([w, h])}",
                f"K_0{i}: {_nums(self.K)}",
                f"D_0{i}: {_nums(np.zeros(5))}",
                f"R_0{i}: {_nums(self.R_rect.T)}",
                f"T_0{i}: {_nums(self.t[i])}",
                f"S_rect_0{i}: {_nums([w, h])}",
                f"R_rect_0{i}: {_nums(self.R_rect if i == 0 else np.eye(3))}",
                f"P_rect_0{i}: {_nums(self.P[i])}",
            ]
        return lines

    def velo_to_cam(self) -> list[str]:
        return [
            "calib_time: 15-Mar-2012 11:37:16",
            f"R: {_nums(self.R_velo)}",
            f"T: {_nums(self.T_velo)}",
            "delta_f: 0.000000e+00 0.000000e+00",
            "delta_c: 0.000000e+00 0.000000e+00",
        ]

    @staticmethod
    def imu_to_velo() -> list[str]:
        R = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        return [
            "calib_time: 25-May-2012 16:47:16",
            f"R: {_nums(R)}",
            f"T: {_nums([-0.8086759, 0.3195559, -0.7997231])}",
        ]


def _near_view(M: np.ndarray, pts: np.ndarray, h: int, w: int, margin: float = 3.0) -> np.ndarray:
    """Which of ``(N, 3)`` points land in front of camera ``M`` (3x4) within ``margin`` pixels of
    the ``h x w`` image (so that no pixel convention puts them inside). Returns ``(N,)`` bool."""
    proj = pts @ M[:, :3].T + M[:, 3]
    z = proj[:, 2]
    front = z > 0
    u = np.full(len(pts), -np.inf)
    v = np.full(len(pts), -np.inf)
    u[front] = proj[front, 0] / z[front]
    v[front] = proj[front, 1] / z[front]
    return (
        front
        & (np.abs(u - (w - 1) / 2) < w / 2 + margin)
        & (np.abs(v - (h - 1) / 2) < h / 2 + margin)
    )


def _velodyne_scan(
    rig: _KittiRig, lidar: np.ndarray, image: np.ndarray, size: tuple[int, int]
) -> np.ndarray:
    """A Velodyne scan whose points in view are the rendered LiDAR returns.

    Args:
        rig: the calibration.
        lidar: ``(H, W)`` rendered LiDAR depth of camera 2 (metres, 0 = no return).
        image: ``(H, W, 3)`` the camera-2 image (reflectance = its grey value).
        size: ``(H, W)``.

    Returns:
        ``(N, 4)`` float32 x, y, z (metres, LiDAR frame), reflectance in [0, 1]: the returns
        back-projected from their pixel centres, then the same points turned by 90, 180 and
        270 degrees about the LiDAR's vertical axis, kept where they fall well outside the
        views of cameras 2 and 3 (the rest of a 360-degree scan).
    """
    h, w = size
    v, u = np.nonzero(lidar > 0)
    z = lidar[v, u].astype(np.float64)
    rays = np.linalg.solve(rig.K, np.stack([u, v, np.ones_like(u)]).astype(np.float64))
    cam2 = (rays * z).T
    velo = (np.linalg.inv(rig.T_cam_velo(2)) @ np.hstack([cam2, np.ones((len(z), 1))]).T).T[:, :3]
    grey = image[v, u] @ np.array([0.299, 0.587, 0.114])
    refl = np.round(grey, 2)
    parts = [np.hstack([velo, refl[:, None]])]
    for quarter in (1, 2, 3):
        c, s = np.cos(quarter * np.pi / 2), np.sin(quarter * np.pi / 2)
        R = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])
        turned = velo @ R.T
        inside = np.zeros(len(turned), bool)
        for cam in (2, 3):
            inside |= _near_view(rig.velo_to_image(cam), turned, h, w)
        parts.append(np.hstack([turned, refl[:, None]])[~inside])
    return np.concatenate(parts).astype(np.float32)


def _kitti_render(i: int, seed: int, size: tuple[int, int], frames: int) -> dict[str, Any]:
    from depthduet.data.world import WorldConfig, render_sequence

    cfg = WorldConfig(height=size[0], width=size[1], frames=frames, stereo=True, lidar_beams=64)
    return render_sequence("driving", seed + i, cfg)


def _timestamps(frames: int) -> list[str]:
    return [f"2011-09-26 13:02:{25 + 0.1036 * k:012.9f}" for k in range(frames)]


def _split_drives(n: int) -> tuple[list[int], list[int]]:
    k = _n_heldout(n)
    return list(range(n - k)), list(range(n - k, n))


def write_kitti_raw(
    out: PathLike,
    n: int = 4,
    size: tuple[int, int] = DEFAULT_SIZES["kitti-raw"],
    seed: int = 0,
    *,
    frames: int = 3,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write ``n`` KITTI raw drives (scene seeds ``seed .. seed + n - 1``) and their split files.

    See the module docstring for the layout. Read it with
    :class:`depthduet.data.kitti.KittiRawDataset` (``root = out``, a split file from
    ``paths``).

    Args:
        out: output folder (created; must be absent or empty unless ``overwrite``).
        n: number of drives (>= 2: the last ``max(1, n // 4)`` are held out).
        size: image size ``(H, W)``.
        seed: first scene seed.
        frames: frames per drive (the split files list frame ``frames // 2``).
        overwrite: replace an existing miniature at ``out``.

    Returns:
        ``{"layout": "kitti-raw", "root", "n", "size", "seed", "frames", "files", "paths":
        {"root", "calib", "train_split", "val_split", "test_split", "benchmark_split"},
        "splits": {"train": [drive folders], "test": [drive folders]}}``.
    """
    h, w = _check(n, size, seed, frames)

    def fill(root: Path) -> dict[str, Any]:
        date = root / KITTI_DATE
        rig = None
        train, test = _split_drives(n)
        tgt = frames // 2
        for i in range(n):
            r = _kitti_render(i, seed, (h, w), frames)
            if rig is None:
                rig = _KittiRig(np.round(r["K"], 6))
                _text(date / "calib_cam_to_cam.txt", rig.cam_to_cam((h, w)))
                _text(date / "calib_velo_to_cam.txt", rig.velo_to_cam())
                _text(date / "calib_imu_to_velo.txt", rig.imu_to_velo())
            drive = date / _kitti_drive(i)
            for k in range(frames):
                _png(drive / "image_02" / "data" / f"{k:010d}.png", r["images"][k])
                _png(drive / "image_03" / "data" / f"{k:010d}.png", r["right"][k])
                scan = _velodyne_scan(rig, r["lidar"][k], r["images"][k], (h, w))
                p = drive / "velodyne_points" / "data" / f"{k:010d}.bin"
                p.parent.mkdir(parents=True, exist_ok=True)
                dio.write_velodyne(p, scan)
            for sub in ("image_02", "image_03", "velodyne_points"):
                _text(drive / sub / "timestamps.txt", _timestamps(frames))
        rel = {i: f"{KITTI_DATE}/{_kitti_drive(i)}" for i in range(n)}
        splits = root / "splits"
        _text(
            splits / "eigen_zhou" / "train_files.txt",
            [f"{rel[i]} {tgt} {side}" for i in train for side in ("l", "r")],
        )
        _text(splits / "eigen_zhou" / "val_files.txt", [f"{rel[i]} {tgt} l" for i in test])
        eigen = [f"{rel[i]} {k:010d} l" for i in test for k in range(frames)]
        _text(splits / "eigen" / "test_files.txt", eigen)
        _text(splits / "eigen_benchmark" / "test_files.txt", eigen)
        return {
            "paths": {
                "root": ".",
                "calib": KITTI_DATE,
                "train_split": "splits/eigen_zhou/train_files.txt",
                "val_split": "splits/eigen_zhou/val_files.txt",
                "test_split": "splits/eigen/test_files.txt",
                "benchmark_split": "splits/eigen_benchmark/test_files.txt",
            },
            "splits": {"train": [rel[i] for i in train], "test": [rel[i] for i in test]},
        }

    args = {"n": int(n), "size": [h, w], "seed": int(seed), "frames": int(frames)}
    return _publish(out, overwrite, "kitti-raw", args, fill)


def write_kitti_depth(
    out: PathLike,
    n: int = 4,
    size: tuple[int, int] = DEFAULT_SIZES["kitti-depth"],
    seed: int = 0,
    *,
    frames: int = 3,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write the KITTI depth benchmark maps (``data_depth_annotated`` + ``data_depth_velodyne``)
    of the drives :func:`write_kitti_raw` writes with the same ``n``, ``size``, ``seed`` and
    ``frames``; training drives under ``train/``, held-out drives under ``val/``.

    Read it with :class:`depthduet.data.kitti.KittiRawDataset` (``gt="annotated"``,
    ``annotated_root = out``) or :func:`depthduet.data.kitti.read_kitti_depth_png`.

    Returns:
        ``{"layout": "kitti-depth", "root", "n", "size", "seed", "frames", "files", "paths":
        {"root"}, "splits": {"train": [drive names], "val": [drive names]}}``.
    """
    h, w = _check(n, size, seed, frames)

    def fill(root: Path) -> dict[str, Any]:
        from depthduet.data.kitti_lidar import project_velodyne, sparse_depth

        train, test = _split_drives(n)
        rig = None
        rows = np.arange(h)[:, None]
        for i in range(n):
            r = _kitti_render(i, seed, (h, w), frames)
            if rig is None:
                rig = _KittiRig(np.round(r["K"], 6))
            split = "train" if i in train else "val"
            base = root / split / _kitti_drive(i) / "proj_depth"
            for k in range(frames):
                lid = r["lidar"][k]
                top = int(np.nonzero((lid > 0).any(1))[0].min()) if (lid > 0).any() else h
                scan = _velodyne_scan(rig, lid, r["images"][k], (h, w))
                for cam, depth in ((2, r["depths"][k]), (3, r["right_depths"][k])):
                    ok = (depth > 0) & (depth < KITTI_MAX_GT) & (rows >= top)
                    stored = np.where(ok, np.round(depth.astype(np.float64) * 256.0), 0)
                    name = f"{k:010d}.png"
                    _png16(base / "groundtruth" / f"image_0{cam}" / name, stored)
                    lp = project_velodyne(scan, rig.velo_to_image(cam), h, w)
                    raw = sparse_depth(lp.u, lp.v, lp.depth, h, w).astype(np.float64)
                    raw = np.where(raw > 0, np.maximum(np.round(raw * 256.0), 1), 0)
                    _png16(base / "velodyne_raw" / f"image_0{cam}" / name, raw)
        return {
            "paths": {"root": "."},
            "splits": {
                "train": [_kitti_drive(i) for i in train],
                "val": [_kitti_drive(i) for i in test],
            },
        }

    args = {"n": int(n), "size": [h, w], "seed": int(seed), "frames": int(frames)}
    return _publish(out, overwrite, "kitti-depth", args, fill)
