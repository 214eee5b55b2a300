"""Miniature datasets in the official directory layouts, rendered from the procedural world.

Each writer renders a few scenes of :mod:`depthduet.data.world` and stores them exactly as the
public dataset stores its files (names, folders, encodings, units), so that the loaders of
:mod:`depthduet.data` and the shipped configs read them as they would read the real data.
Everything is deterministic: the same arguments give the same files, byte for byte.

Layouts (``n`` samples of ``size = (H, W)``; the last ``max(1, n // 4)`` samples form the
held-out split):

``kitti-raw`` (:func:`write_kitti_raw`): KITTI raw, synced + rectified::

    2011_09_26/calib_cam_to_cam.txt      P_rect_0i, R_rect_00, S_rect_0i, ... (cameras 0..3)
    2011_09_26/calib_velo_to_cam.txt     R, T (Velodyne -> unrectified camera 0)
    2011_09_26/calib_imu_to_velo.txt
    2011_09_26/2011_09_26_drive_0001_sync/
        image_02/data/0000000000.png     left colour (8-bit RGB), timestamps.txt
        image_03/data/0000000000.png     right colour
        velodyne_points/data/0000000000.bin   float32 x, y, z, reflectance (LiDAR frame: x
                                         forward, y left, z up); the points in view project
                                         (centre convention) onto the rendered LiDAR pixels
                                         with their depth; copies turned about the vertical
                                         axis, outside the camera views, complete the sweep
    splits/eigen_zhou/train_files.txt    monodepth2 format, target frames, sides l and r
    splits/eigen_zhou/val_files.txt      held-out drives, target frames, side l
    splits/eigen/test_files.txt          held-out drives, every frame, side l (10-digit frames)
    splits/eigen_benchmark/test_files.txt  the same frames (all have annotated depth)

  One drive per sample, ``frames`` frames each (target ``frames // 2``, which has both
  neighbours), one calibration date folder shared by all drives.

``kitti-depth`` (:func:`write_kitti_depth`): the KITTI depth benchmark for the same drives
(same ``n``, ``size``, ``seed`` and ``frames`` as ``kitti-raw``)::

    train/2011_09_26_drive_0001_sync/proj_depth/groundtruth/image_02/0000000000.png
    train/.../proj_depth/velodyne_raw/image_02/0000000000.png      (data_depth_velodyne)
    val/...                                                        (held-out drives)

  16-bit PNG, value / 256 = metres, 0 = no depth. Ground truth: the rendered depth of the
  camera (image_03: of the right view) below the highest LiDAR row and under 80 m, like the
  semi-dense accumulated maps; ``velodyne_raw``: the Velodyne scan projected into the camera.

``nyu-v2-mat`` (:func:`write_nyu_v2_mat`): the labelled NYU Depth v2 file::

    nyu_depth_v2_labeled.mat   MATLAB v7.3 (HDF5 with the 512-byte MATLAB header):
                               images  uint8  MATLAB H x W x 3 x N (HDF5 N x 3 x W x H)
                               depths  single MATLAB H x W x N, metres, no holes
                               rawDepths single, metres, 0 = hole (depth-camera capture)
    splits.mat                 MATLAB v5: trainNdxs, testNdxs (1-based column vectors)

``middlebury`` (:func:`write_middlebury`): Middlebury 2014 scenes (the release with per-scene
calibration, which a miniature image needs: the 2005 / 2006 releases fix the focal length of
their full-size images)::

    Scene01-perfect/im0.png im1.png     left / right view (8-bit RGB)
    Scene01-perfect/disp0.pfm disp1.pfm GT disparity of each view, float pixels, inf = unknown
                                        (occluded in the other view)
    Scene01-perfect/calib.txt           cam0, cam1, doffs, baseline (mm), width, height, ndisp,
                                        isint, vmin, vmax, dyavg, dymax

  ``depth_mm = baseline * f / (d + doffs)``; the right camera's principal point is ``doffs``
  pixels right of the left one, as in the real rig. Scene widths differ (``W``, ``W + 6``,
  ``W + 12``), as the real scenes' sizes do.

``cityscapes`` (:func:`write_cityscapes`): Cityscapes packages unpacked into one root::

    leftImg8bit/<split>/<city>/<city>_<seq>_000019_leftImg8bit.png
    rightImg8bit/<split>/<city>/<city>_<seq>_000019_rightImg8bit.png
    disparity/<split>/<city>/<city>_<seq>_000019_disparity.png   uint16, p = 256 d + 1, 0 = none
    camera/<split>/<city>/<city>_<seq>_000019_camera.json        intrinsic fx fy u0 v0 (pixels),
                                                                 extrinsic baseline (m), ...
    leftImg8bit_sequence/<split>/<city>/<city>_<seq>_0000{18,19,20}_leftImg8bit.png

  Splits ``train`` and ``val``; disparity is invalid where the right view does not see the
  pixel (occlusions, the left border), in the sky, below 1/256 pixel and from 255 pixels on.

Every miniature root also holds ``miniature.yaml`` (layout, arguments, the files a config
needs); ``--overwrite`` replaces only folders holding one. Folders are written under a temporary
name and renamed when complete, so a failed or interrupted run leaves nothing half-written.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from depthduet import io as dio
from depthduet.data.kitti import _pad4
from depthduet.errors import UserError

__all__ = [
    "LAYOUTS",
    "DEFAULT_SIZES",
    "MARKER_FILE",
    "KITTI_DATE",
    "write_miniature",
    "write_kitti_raw",
    "write_kitti_depth",
    "write_nyu_v2_mat",
    "write_middlebury",
    "write_cityscapes",
]

PathLike = str | os.PathLike[str]

#: layout names accepted by :func:`write_miniature` (and ``depthduet synth --layout``).
LAYOUTS: tuple[str, ...] = ("kitti-raw", "kitti-depth", "nyu-v2-mat", "middlebury", "cityscapes")
#: default image size ``(H, W)`` of each layout.
DEFAULT_SIZES: dict[str, tuple[int, int]] = {
    "kitti-raw": (64, 208),
    "kitti-depth": (64, 208),
    "nyu-v2-mat": (60, 80),
    "middlebury": (64, 96),
    "cityscapes": (80, 160),
}
#: file at the root of every miniature.
MARKER_FILE = "miniature.yaml"
#: the KITTI raw calibration date folder of the miniature drives.
KITTI_DATE = "2011_09_26"

MAX_SAMPLES = 200
MIN_SIDE, MAX_SIDE = 16, 1024
KITTI_BASELINE = 0.54  # m, image_02 -> image_03
KITTI_MAX_GT = 80.0  # m, the annotated maps' range
CITYSCAPES_BASELINE = 0.22  # m
CITYSCAPES_HFOV = 48.7  # deg: fx 2262 px on 2048 px
CITYSCAPES_FRAME = 19  # annotated frame of each 30-frame snippet
MIDDLEBURY_BASELINE_MM = 193.001
MIDDLEBURY_HFOV = 40.8  # deg: f 3980 px on 2964 px
NYU_HFOV = 63.3  # deg: fx 518.9 px on 640 px
_CITIES = {"train": ("aachen", "bochum", "bremen"), "val": ("frankfurt", "lindau", "munster")}
_MAT_HEADER = "MATLAB {v} MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024"


# ----------------------------------------------------------------------------------------------
# arguments, atomic folders
# ----------------------------------------------------------------------------------------------
def _check(n: int, size: tuple[int, int], seed: int, frames: int = 3) -> tuple[int, int]:
    """Validate the common arguments; returns ``size`` as two ints."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 2 <= n <= MAX_SAMPLES:
        raise UserError(f"--n {n}: need 2..{MAX_SAMPLES} samples (training and held-out samples)")
    try:
        h, w = (int(v) for v in size)
    except (TypeError, ValueError):
        raise UserError(f"--size {size!r}: expected two integers H x W") from None
    if not (MIN_SIDE <= h <= MAX_SIDE and MIN_SIDE <= w <= MAX_SIDE):
        raise UserError(f"--size {h}x{w}: each side must be {MIN_SIDE}..{MAX_SIDE} pixels")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise UserError(f"--seed {seed}: must be an integer >= 0")
    if not 1 <= frames <= 64:
        raise UserError(f"frames {frames}: must be 1..64")
    return h, w


def _n_heldout(n: int) -> int:
    """Samples of the held-out split: the last ``max(1, n // 4)``."""
    return max(1, n // 4)


def _prepare(out: PathLike, overwrite: bool) -> Path:
    """Refuse an output that exists and is not an empty folder, unless it is a miniature and
    ``overwrite``; returns the path."""
    p = Path(out)
    if p.exists() and not p.is_dir():
        raise UserError(f"{p}: exists and is not a folder")
    if p.is_dir() and any(p.iterdir()):
        if not overwrite:
            raise UserError(
                f"{p}: folder exists and is not empty; choose another output folder or pass "
                "--overwrite"
            )
        if not (p / MARKER_FILE).is_file():
            raise UserError(
                f"{p}: holds no {MARKER_FILE}; --overwrite replaces only a miniature dataset"
            )
    return p


def _publish(
    out: PathLike,
    overwrite: bool,
    layout: str,
    args: dict[str, Any],
    fill: Callable[[Path], dict[str, Any]],
) -> dict[str, Any]:
    """Write a miniature into a temporary sibling of ``out`` with ``fill(tmp)`` and rename it to
    ``out`` when complete (replacing an old miniature when ``overwrite``).

    ``fill`` returns ``{"paths": {key: path relative to the root}, "splits": {...}}``.

    Returns:
        ``{"layout", "root", "n", "size", "seed", ..., "files", "paths", "splits"}`` with
        ``paths`` as absolute-or-given paths under ``out`` and ``files`` the number of files.
    """
    from depthduet import __version__
    from depthduet.config import save_config

    target = _prepare(out, overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    old: Path | None = None
    try:
        made = fill(tmp)
        record = {
            "layout": layout,
            **args,
            "depthduet_version": __version__,
            "paths": made.get("paths", {}),
            "splits": made.get("splits", {}),
        }
        save_config(record, tmp / MARKER_FILE)
        n_files = sum(1 for f in tmp.rglob("*") if f.is_file())
        if target.exists():
            if any(target.iterdir()):
                old = Path(
                    tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent)
                )
                os.replace(target, old / "data")
            else:
                target.rmdir()
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not target.exists():
            os.replace(old / "data", target)
            shutil.rmtree(old, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    info = dict(record)
    info["root"] = str(target)
    info["files"] = n_files
    info["paths"] = {k: str(target / v) for k, v in record["paths"].items()}
    return info


def _png(path: Path, img: np.ndarray) -> None:
    """``(H, W, 3)`` float image in [0, 1] as 8-bit RGB PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    dio.write_image(path, np.round(np.clip(img, 0.0, 1.0) * 255.0).astype(np.uint8))


def _png16(path: Path, stored: np.ndarray) -> None:
    """``(H, W)`` uint16 array as a 16-bit grey PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    dio.write_image(path, np.ascontiguousarray(stored, np.uint16))


def _text(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines))


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


# ----------------------------------------------------------------------------------------------
# KITTI
# ----------------------------------------------------------------------------------------------
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
        from depthduet.data.kitti import project_velodyne, sparse_depth

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


# ----------------------------------------------------------------------------------------------
# NYU Depth v2
# ----------------------------------------------------------------------------------------------
def _mat_header(path: Path, version: str) -> None:
    """Overwrite the first 116 bytes (the text of a MATLAB header) with a fixed text, so that
    the file does not depend on the time it was written."""
    text = _MAT_HEADER.format(v=version)
    if version == "7.3":
        text += " HDF5 schema 1.00 ."
    raw = text.encode("ascii").ljust(116, b" ")
    with open(path, "r+b") as f:
        if version == "7.3":
            f.write(raw + b"\x00" * 8 + b"\x00\x02" + b"IM")
        else:
            f.write(raw)


def write_nyu_v2_mat(
    out: PathLike,
    n: int = 4,
    size: tuple[int, int] = DEFAULT_SIZES["nyu-v2-mat"],
    seed: int = 0,
    *,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write a labelled NYU Depth v2 file of ``n`` indoor frames and its ``splits.mat``.

    The first ``n - max(1, n // 4)`` frames are ``trainNdxs``, the others ``testNdxs``. Read it
    with :class:`depthduet.data.nyu.NYUv2MatDataset` (``split="train"``, ``scheme="official"``,
    ``splits_mat=`` the ``splits`` path).

    Returns:
        ``{"layout": "nyu-v2-mat", "root", "n", "size", "seed", "files", "paths": {"mat",
        "splits"}, "splits": {"train": [1-based indices], "test": [...]}}``.
    """
    h, w = _check(n, size, seed)

    def fill(root: Path) -> dict[str, Any]:
        import h5py
        import scipy.io

        from depthduet.data.world import WorldConfig, render_sequence

        cfg = WorldConfig(
            height=h,
            width=w,
            hfov_deg=NYU_HFOV,
            frames=1,
            stereo=False,
            lidar_beams=0,
            depth_noise=0.004,
            grazing_cos=0.12,
        )
        images = np.zeros((n, 3, w, h), np.uint8)
        depths = np.zeros((n, w, h), np.float32)
        raw = np.zeros((n, w, h), np.float32)
        for i in range(n):
            r = render_sequence("indoor", seed + i, cfg)
            rgb = np.round(np.clip(r["images"][0], 0, 1) * 255).astype(np.uint8)
            images[i] = rgb.transpose(2, 1, 0)  # MATLAB H x W x 3 -> HDF5 3 x W x H
            depths[i] = r["depths"][0].T
            raw[i] = r["sensor"][0].T
        mat = root / "nyu_depth_v2_labeled.mat"
        with h5py.File(mat, "w", userblock_size=512, track_order=True) as f:
            for key, arr, cls in (
                ("images", images, "uint8"),
                ("depths", depths, "single"),
                ("rawDepths", raw, "single"),
            ):
                ds = f.create_dataset(key, data=arr, track_times=False)
                ds.attrs["MATLAB_class"] = np.bytes_(cls)
        _mat_header(mat, "7.3")
        k = _n_heldout(n)
        train = list(range(1, n - k + 1))
        test = list(range(n - k + 1, n + 1))
        splits = root / "splits.mat"
        scipy.io.savemat(
            splits,
            {
                "trainNdxs": np.array(train, np.float64)[:, None],
                "testNdxs": np.array(test, np.float64)[:, None],
            },
        )
        _mat_header(splits, "5.0")
        return {
            "paths": {"mat": mat.name, "splits": splits.name},
            "splits": {"train": train, "test": test},
        }

    return _publish(
        out, overwrite, "nyu-v2-mat", {"n": int(n), "size": [h, w], "seed": int(seed)}, fill
    )


# ----------------------------------------------------------------------------------------------
# Middlebury 2014
# ----------------------------------------------------------------------------------------------
def _stereo_gt(
    depth: np.ndarray, other: np.ndarray, fB: float, doffs: float, sign: float
) -> np.ndarray:
    """GT disparity ``fB / Z - doffs`` of a view where the other view sees the same surface.

    Args:
        depth: ``(H, W)`` depth of this view (metres, 0 = none).
        other: ``(H, W)`` depth of the other view.
        fB: focal length (px) x baseline (m).
        doffs: principal-point offset (px).
        sign: ``-1`` for the left view (its pixel ``u`` is at ``u - d`` in the right view),
            ``+1`` for the right view.

    Returns:
        ``(H, W)`` float32 disparity in pixels, ``inf`` where unknown.
    """
    h, w = depth.shape
    out = np.full((h, w), np.inf, np.float32)
    v, u = np.nonzero(depth > 0)
    z = depth[v, u].astype(np.float64)
    d = fB / z - doffs
    j = np.floor(u + sign * d + 0.5).astype(np.int64)
    inside = (j >= 0) & (j < w) & (d > 0)
    zo = np.zeros_like(z)
    zo[inside] = other[v[inside], j[inside]]
    seen = inside & (zo > 0) & (np.abs(zo - z) <= 0.01 * z)
    out[v[seen], u[seen]] = d[seen]
    return out


def write_middlebury(
    out: PathLike,
    n: int = 4,
    size: tuple[int, int] = DEFAULT_SIZES["middlebury"],
    seed: int = 0,
    *,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write ``n`` Middlebury 2014 scenes (``Scene01-perfect`` ...) of the indoor world.

    Scene ``i`` is ``H x (W + 6 (i mod 3))``. Read it with
    :class:`depthduet.data.middlebury.MiddleburyDataset` (disparity in pixels, or depth in mm
    with ``to_depth=True``). The last ``max(1, n // 4)`` scenes are listed as held out.

    Returns:
        ``{"layout": "middlebury", "root", "n", "size", "seed", "files", "paths": {"root"},
        "splits": {"train": [scene folders], "test": [scene folders]}}``.
    """
    h, w = _check(n, size, seed)

    def fill(root: Path) -> dict[str, Any]:
        from depthduet.data.world import WorldConfig, render_sequence, render_view

        names = []
        B = MIDDLEBURY_BASELINE_MM / 1000.0
        for i in range(n):
            wi = w + 6 * (i % 3)
            cfg = WorldConfig(
                height=h, width=wi, hfov_deg=MIDDLEBURY_HFOV, frames=1, stereo=False, lidar_beams=0
            )
            r = render_sequence("indoor", seed + i, cfg)
            K0 = np.round(r["K"], 6)
            depth = r["depths"][0]
            f = float(K0[0, 0])
            zmax = float(depth[depth > 0].max())
            doffs = round(0.5 * f * B / zmax, 3)
            K1 = K0.copy()
            K1[0, 2] += doffs
            T_right = r["poses"][0] @ _pad4(np.eye(3), np.array([B, 0.0, 0.0]))
            right = render_view(r["scene"], K1, T_right, h, wi)
            disp0 = _stereo_gt(depth, right["depth"], f * B, doffs, -1.0)
            disp1 = _stereo_gt(right["depth"], depth, f * B, doffs, 1.0)
            name = f"Scene{i + 1:02d}-perfect"
            scene = root / name
            _png(scene / "im0.png", r["images"][0])
            _png(scene / "im1.png", right["image"])
            dio.write_pfm(scene / "disp0.pfm", disp0)
            dio.write_pfm(scene / "disp1.pfm", disp1)
            known = disp0[np.isfinite(disp0)]
            vmin, vmax = int(np.floor(known.min())), int(np.ceil(known.max()))

            def mat(K: np.ndarray) -> str:
                return f"[{K[0, 0]:.6f} 0 {K[0, 2]:.6f}; 0 {K[1, 1]:.6f} {K[1, 2]:.6f}; 0 0 1]"

            _text(
                scene / "calib.txt",
                [
                    f"cam0={mat(K0)}",
                    f"cam1={mat(K1)}",
                    f"doffs={doffs:.3f}",
                    f"baseline={MIDDLEBURY_BASELINE_MM:.3f}",
                    f"width={wi}",
                    f"height={h}",
                    f"ndisp={int(np.ceil((vmax + 1) / 16) * 16)}",
                    "isint=0",
                    f"vmin={vmin}",
                    f"vmax={vmax}",
                    "dyavg=0",
                    "dymax=0",
                ],
            )
            names.append(name)
        k = _n_heldout(n)
        return {"paths": {"root": "."}, "splits": {"train": names[: n - k], "test": names[n - k :]}}

    return _publish(
        out, overwrite, "middlebury", {"n": int(n), "size": [h, w], "seed": int(seed)}, fill
    )


# ----------------------------------------------------------------------------------------------
# Cityscapes
# ----------------------------------------------------------------------------------------------
def _cityscapes_disparity(
    depth: np.ndarray, right: np.ndarray, fx: float, baseline: float
) -> np.ndarray:
    """Cityscapes-encoded disparity of the left view: uint16 ``(H, W)``, ``p = round(256 d) + 1``,
    0 where the right view does not see the pixel or ``d`` is below 1/256 or above 255 px."""
    d = _stereo_gt(depth, right, fx * baseline, 0.0, -1.0).astype(np.float64)
    ok = np.isfinite(d) & (d >= 1.0 / 256.0) & (d < 255.0)
    return np.where(ok, np.round(np.where(ok, d, 0) * 256.0) + 1, 0).astype(np.uint16)


def _cs_path(root: Path, kind: str, split: str, city: str, name: str, suffix: str) -> Path:
    """``root/<kind>/<split>/<city>/<name>_<suffix>``."""
    return root / kind / split / city / f"{name}_{suffix}"


def write_cityscapes(
    out: PathLike,
    n: int = 4,
    size: tuple[int, int] = DEFAULT_SIZES["cityscapes"],
    seed: int = 0,
    *,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write ``n`` Cityscapes frames (split ``train``, the last ``max(1, n // 4)`` ``val``).

    Each frame is the annotated frame 19 of a snippet, with frames 18 and 20 in
    ``leftImg8bit_sequence``. Read it with :class:`depthduet.data.cityscapes.CityscapesDataset`.

    Returns:
        ``{"layout": "cityscapes", "root", "n", "size", "seed", "files", "paths": {"root"},
        "splits": {"train": [frame names], "val": [frame names]}}``.
    """
    h, w = _check(n, size, seed)

    def fill(root: Path) -> dict[str, Any]:
        from depthduet.data.world import WorldConfig, render_sequence

        k = _n_heldout(n)
        names: dict[str, list[str]] = {"train": [], "val": []}
        cfg = WorldConfig(
            height=h,
            width=w,
            hfov_deg=CITYSCAPES_HFOV,
            frames=3,
            stereo=True,
            baseline=CITYSCAPES_BASELINE,
            lidar_beams=0,
            speed_scale=0.5,
        )
        for i in range(n):
            split = "train" if i < n - k else "val"
            j = i if split == "train" else i - (n - k)
            city = _CITIES[split][j % 3]
            r = render_sequence("driving", seed + i, cfg, stereo_frames=[1], lidar_frames=[])
            K = np.round(r["K"], 6)
            stem = f"{city}_{i:06d}_{CITYSCAPES_FRAME:06d}"

            _png(
                _cs_path(root, "leftImg8bit", split, city, stem, "leftImg8bit.png"), r["images"][1]
            )
            _png(
                _cs_path(root, "rightImg8bit", split, city, stem, "rightImg8bit.png"), r["right"][0]
            )
            for f in range(3):
                seq = f"{city}_{i:06d}_{CITYSCAPES_FRAME - 1 + f:06d}"
                _png(
                    _cs_path(root, "leftImg8bit_sequence", split, city, seq, "leftImg8bit.png"),
                    r["images"][f],
                )
            disp = _cityscapes_disparity(
                r["depths"][1], r["right_depths"][0], float(K[0, 0]), CITYSCAPES_BASELINE
            )
            _png16(_cs_path(root, "disparity", split, city, stem, "disparity.png"), disp)
            cam = {
                "extrinsic": {
                    "baseline": CITYSCAPES_BASELINE,
                    "pitch": 0.0,
                    "roll": 0.0,
                    "x": 1.7,
                    "y": 0.0,
                    "yaw": 0.0,
                    "z": 1.2,
                },
                "intrinsic": {
                    "fx": float(K[0, 0]),
                    "fy": float(K[1, 1]),
                    "u0": float(K[0, 2]),
                    "v0": float(K[1, 2]),
                },
            }
            p = _cs_path(root, "camera", split, city, stem, "camera.json")
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(json.dumps(cam, indent=4) + "\n")
            names[split].append(stem)
        return {"paths": {"root": "."}, "splits": names}

    return _publish(
        out, overwrite, "cityscapes", {"n": int(n), "size": [h, w], "seed": int(seed)}, fill
    )


# ----------------------------------------------------------------------------------------------
# dispatch
# ----------------------------------------------------------------------------------------------
_WRITERS: dict[str, Callable[..., dict[str, Any]]] = {
    "kitti-raw": write_kitti_raw,
    "kitti-depth": write_kitti_depth,
    "nyu-v2-mat": write_nyu_v2_mat,
    "middlebury": write_middlebury,
    "cityscapes": write_cityscapes,
}


def write_miniature(
    layout: str,
    out: PathLike,
    n: int = 4,
    size: tuple[int, int] | None = None,
    seed: int = 0,
    *,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write the miniature ``layout`` (one of :data:`LAYOUTS`) into ``out``.

    Args:
        layout: ``kitti-raw``, ``kitti-depth``, ``nyu-v2-mat``, ``middlebury`` or
            ``cityscapes``.
        out: output folder; must be absent or empty, or a miniature when ``overwrite``.
        n: number of samples (drives, frames, scenes), 2..200.
        size: image size ``(H, W)``; ``None`` takes :data:`DEFAULT_SIZES`.
        seed: first scene seed (>= 0).
        overwrite: replace an existing miniature.

    Returns:
        The writer's record (see each ``write_*``): ``layout``, ``root``, ``n``, ``size``,
        ``seed``, ``files`` (number written), ``paths`` (files a config needs), ``splits``.

    Raises:
        UserError: unknown layout, bad numbers, an output folder that holds other files.
    """
    if layout not in _WRITERS:
        raise UserError(f"--layout {layout!r}: unknown; expected one of {', '.join(LAYOUTS)}")
    return _WRITERS[layout](
        out, n, DEFAULT_SIZES[layout] if size is None else size, seed, overwrite=overwrite
    )
