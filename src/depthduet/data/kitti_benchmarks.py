"""KITTI benchmarks other than the raw drives: odometry sequences, 3-D object frames and the
depth benchmark's ``depth_selection`` crops.

Re-exported by :mod:`depthduet.data.kitti`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from depthduet import io as dio
from depthduet.data.folder_camera import read_camera
from depthduet.data.folder_files import PathLike, require_dir, require_file
from depthduet.data.folder_samples import (
    check_offsets,
    depth_tensors,
    frames_with_neighbours,
    load_rgb,
    neighbour_keys,
)
from depthduet.data.kitti_calib import (
    SIDE_TO_CAM,
    KittiCalib,
    read_kitti_poses,
    read_object_calib,
    read_odometry_calib,
)
from depthduet.data.kitti_lidar import project_velodyne, read_kitti_depth_png, sparse_depth
from depthduet.errors import UserError

__all__ = ["KittiOdometryDataset", "KittiObjectDataset", "KittiDepthSelectionDataset"]


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
        self.offsets = check_offsets(offsets)
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
            self.items += [(seq, f) for f in frames_with_neighbours(have, self.offsets)]
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
