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

Calibration lives in :mod:`~depthduet.data.kitti_calib`, LiDAR projection in
:mod:`~depthduet.data.kitti_lidar`, the odometry / object / depth-selection datasets in
:mod:`~depthduet.data.kitti_benchmarks`; this module holds the raw drives and re-exports every
name.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from depthduet import io as dio
from depthduet.data.folder_files import PathLike, require_dir, require_file
from depthduet.data.folder_samples import (
    check_offsets,
    depth_tensors,
    frames_with_neighbours,
    load_rgb,
    neighbour_keys,
    resize_image,
)
from depthduet.data.kitti_benchmarks import (
    KittiDepthSelectionDataset,
    KittiObjectDataset,
    KittiOdometryDataset,
)
from depthduet.data.kitti_calib import (
    SIDE_TO_CAM,
    KittiCalib,
    read_kitti_poses,
    read_object_calib,
    read_odometry_calib,
    read_raw_calib,
)
from depthduet.data.kitti_lidar import (
    LidarPoints,
    _resample_sparse,
    _scale_matrix,
    project_velodyne,
    read_kitti_depth_png,
    sparse_depth,
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
        self.offsets = check_offsets(offsets)
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
                frames = [int(p.stem) for p in folder.iterdir() if p.stem.isdigit()]
                for f in frames_with_neighbours(frames, self.offsets):
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
    return dio.atomic_write(out, lambda f: np.savez_compressed(f, **maps))
