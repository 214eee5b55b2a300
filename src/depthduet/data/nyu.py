"""NYU Depth v2: the labelled ``.mat`` (MATLAB v7.3) and folder-of-PNG exports.

The labelled set ``nyu_depth_v2_labeled.mat`` holds 1449 aligned RGB-D frames (480x640):
``images`` (MATLAB size 480x640x3x1449, uint8), ``depths`` (480x640x1449, metres, holes
filled by colourisation) and ``rawDepths`` (same, with holes = 0). In HDF5 the axes come
reversed (``images`` is ``(1449, 3, 640, 480)``), so a frame is transposed back here.

Intrinsics are those of the NYU toolbox (``camera_params.m``, RGB camera): fx 518.858,
fy 519.470, cx 325.582, cy 253.736 in MATLAB's 1-based pixel coordinates, i.e. cx 324.582,
cy 252.736 in the 0-based convention of :mod:`depthduet.geometry` (:data:`NYU_K`).

Splits (:mod:`depthduet.data.splits`): ``"dsr"`` = first 1000 train / last 449 test (depth
super-resolution papers), ``"official"`` = the 795 / 654 ``splits.mat`` lists (the 654 test
images are the "Eigen" NYU test set; pass ``splits_mat=``), or any index list / split file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from depthduet.data.folder import (
    CameraInfo,
    RGBDFolderDataset,
    depth_tensors,
    image_tensor,
    require_file,
)
from depthduet.data.splits import (
    NYU_LABELLED_COUNT,
    nyu_dsr_split,
    read_index_split,
    read_nyu_splits_mat,
)
from depthduet.errors import UserError
from depthduet.paths import PathLike

__all__ = ["NYU_K", "NYUv2MatDataset", "NYUv2FolderDataset", "resolve_nyu_indices"]


#: NYU v2 RGB-camera intrinsics at 640x480, 0-based pixel centres.
NYU_K = np.array(
    [
        [5.1885790117450188e02, 0.0, 3.2558244941119034e02 - 1.0],
        [0.0, 5.1946961112127485e02, 2.5373616633400465e02 - 1.0],
        [0.0, 0.0, 1.0],
    ]
)


def resolve_nyu_indices(
    split: str | Sequence[int] | PathLike | None,
    scheme: str = "dsr",
    splits_mat: PathLike | None = None,
    count: int = NYU_LABELLED_COUNT,
) -> list[int]:
    """0-based frame indices for a split.

    Args:
        split: ``None`` (all ``count`` frames), ``"train"`` / ``"test"`` (with ``scheme``), a
            sequence of 0-based indices, or a path to a 1-based index file.
        scheme: ``"dsr"`` (1000 / 449) or ``"official"`` (``splits.mat``).
        splits_mat: path of the official ``splits.mat`` (for ``scheme="official"``).
        count: number of frames in the file (indices must be below it).
    """
    if split is None:
        idx = list(range(count))
    elif isinstance(split, str) and split in ("train", "test"):
        if scheme == "dsr":
            idx = nyu_dsr_split(split)
        elif scheme == "official":
            if splits_mat is None:
                raise UserError(
                    "the official NYU split needs splits_mat= (splits.mat from the NYU site)"
                )
            idx = read_nyu_splits_mat(splits_mat)[split]
        else:
            raise UserError(f"unknown NYU split scheme {scheme!r}; use 'dsr' or 'official'")
    elif isinstance(split, (str, os.PathLike)):
        idx = read_index_split(split, base=1)
    else:
        idx = [int(i) for i in split]
    bad = [i for i in idx if not 0 <= i < count]
    if bad:
        raise UserError(f"NYU index {bad[0]} out of range: the file holds {count} frames")
    return idx


class NYUv2MatDataset(Dataset):
    """NYU v2 labelled frames read straight from ``nyu_depth_v2_labeled.mat``.

    Layout::

        nyu_depth_v2_labeled.mat   (MATLAB v7.3 / HDF5: images, depths, rawDepths, ...)
        splits.mat                 (optional, official train/test indices)

    Samples: ``image`` (3, H, W) in [0, 1], ``depth`` (1, H, W) metres, ``valid``, ``K``
    (:data:`NYU_K`, shifted by the crop), ``name`` (``"nyu_0001"``, the 1-based index as in
    MATLAB), ``unit="m"``.

    Args:
        path: the labelled ``.mat``.
        split: see :func:`resolve_nyu_indices`.
        scheme: ``"dsr"`` or ``"official"``.
        splits_mat: official ``splits.mat`` path.
        raw: use ``rawDepths`` (holes = 0) instead of the filled ``depths``.
        crop: pixels removed from every side (the labelled frames have an invalid border of
            about 8 px after registration; DSR works often crop 6).
    """

    def __init__(
        self,
        path: PathLike,
        split: str | Sequence[int] | PathLike | None = None,
        scheme: str = "dsr",
        splits_mat: PathLike | None = None,
        raw: bool = False,
        crop: int = 0,
    ) -> None:
        import h5py

        self.path = require_file(path, "NYU v2 labelled .mat")
        try:
            with h5py.File(self.path, "r") as f:
                for key in ("images", "rawDepths" if raw else "depths"):
                    if key not in f:
                        raise UserError(
                            f"{self.path}: no variable {key!r} (not the NYU v2 labelled file?)"
                        )
                n_img, n_dep = f["images"].shape[0], f["rawDepths" if raw else "depths"].shape[0]
                if f["images"].ndim != 4 or f["images"].shape[1] != 3:
                    raise UserError(
                        f"{self.path}: 'images' must be MATLAB HxWx3xN, got {f['images'].shape[::-1]}"
                    )
        except OSError:
            raise UserError(f"{self.path}: not a MATLAB v7.3 (HDF5) file") from None
        if n_img != n_dep:
            raise UserError(f"{self.path}: {n_img} images but {n_dep} depth maps")
        self.indices = resolve_nyu_indices(split, scheme, splits_mat, count=n_img)
        self.depth_key = "rawDepths" if raw else "depths"
        if crop < 0:
            raise UserError(f"crop must be >= 0, got {crop}")
        self.crop = int(crop)
        self._h5: Any = None
        self._pid: int | None = None

    def _file(self) -> Any:
        import h5py

        if self._h5 is None or self._pid != os.getpid():  # one handle per worker process
            self._h5 = h5py.File(self.path, "r")
            self._pid = os.getpid()
        return self._h5

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_h5"] = None
        return state

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> dict[str, Any]:
        i = self.indices[index]
        f = self._file()
        rgb = np.asarray(f["images"][i]).transpose(2, 1, 0).astype(np.float32) / 255.0
        depth_np = np.asarray(f[self.depth_key][i]).T
        c = self.crop
        if c:
            if 2 * c >= min(depth_np.shape):
                raise UserError(f"crop {c} removes the whole {depth_np.shape} frame")
            rgb, depth_np = rgb[c:-c, c:-c], depth_np[c:-c, c:-c]
        depth, valid = depth_tensors(depth_np)
        K = NYU_K.copy()
        K[0, 2] -= c
        K[1, 2] -= c
        return {
            "image": image_tensor(rgb),
            "depth": depth,
            "valid": valid,
            "K": torch.as_tensor(K, dtype=torch.float32),
            "name": f"nyu_{i + 1:04d}",
            "unit": "m",
        }


class NYUv2FolderDataset(RGBDFolderDataset):
    """NYU v2 frames exported to a folder of images (e.g. by DSR code bases).

    Layout::

        root/
          rgb/    0001.png 0002.png ...       (any image format)
          depth/  0001.png 0002.png ...       (16-bit PNG in mm, or .npy / .pfm in metres)

    With ``depth_scale=1000`` (default) 16-bit millimetre PNGs become metres; use
    ``depth_scale=1`` for maps already in metres. ``K`` is :data:`NYU_K` unless ``intrinsics``
    says otherwise. ``names`` selects stems (a list or split file).
    """

    def __init__(
        self,
        root: PathLike,
        image_dir: str = "rgb",
        depth_dir: str = "depth",
        depth_scale: float = 1000.0,
        names: Sequence[str] | PathLike | None = None,
        intrinsics: PathLike | np.ndarray | CameraInfo | None = None,
    ) -> None:
        super().__init__(
            root,
            image_dir=image_dir,
            depth_dir=depth_dir,
            depth_scale=depth_scale,
            unit="m",
            intrinsics=CameraInfo(NYU_K) if intrinsics is None else intrinsics,
            names=names,
        )
