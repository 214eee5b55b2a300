"""MPI Sintel: rendered frames with exact depth and cameras, and depth-only map folders.

:class:`SintelDataset` reads the official release (``MPI-Sintel-complete`` for the frames,
``MPI-Sintel-depth-training`` for ``.dpt`` depth and ``.cam`` cameras). A ``.cam`` file is the
float32 tag ``202021.25`` followed by two float64 row-major matrices: the intrinsics ``M``
(3x3) and the extrinsics ``N`` (3x4, world -> camera), :func:`read_sintel_cam`.

:class:`SintelMatDataset` reads the hole-filled depth-like maps distributed with MSG-Net
(``Df_<i>.mat``, variable ``Df``, 436x1024, no RGB).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from depthduet import io as dio
from depthduet.data.folder import (
    DepthFolderDataset,
    check_offsets,
    depth_tensors,
    frames_with_neighbours,
    load_rgb,
    neighbour_keys,
    require_dir,
    require_file,
)
from depthduet.errors import UserError
from depthduet.paths import PathLike

__all__ = ["read_sintel_cam", "write_sintel_cam", "SintelDataset", "SintelMatDataset"]


_TAG = np.float32(202021.25)


def read_sintel_cam(path: PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read a Sintel ``.cam`` file.

    Returns:
        ``(K, T_cam_world)``: ``(3, 3)`` intrinsics and ``(4, 4)`` world -> camera transform,
        float64.
    """
    p = require_file(path, "Sintel camera file")
    data = p.read_bytes()
    if len(data) < 4 + 8 * 21:
        raise UserError(f"{p}: truncated .cam file ({len(data)} bytes, expected {4 + 8 * 21})")
    tag = np.frombuffer(data[:4], "<f4")[0]
    if tag != _TAG:
        raise UserError(f"{p}: bad .cam tag {tag!r} (expected 202021.25)")
    vals = np.frombuffer(data[4 : 4 + 8 * 21], "<f8")
    T = np.eye(4)
    T[:3, :] = vals[9:].reshape(3, 4)
    return vals[:9].reshape(3, 3).copy(), T


def write_sintel_cam(path: PathLike, K: np.ndarray, T_cam_world: np.ndarray) -> Path:
    """Write a Sintel ``.cam`` file (``K`` (3, 3), ``T_cam_world`` (3, 4) or (4, 4))."""
    K = np.asarray(K, np.float64).reshape(3, 3)
    N = np.asarray(T_cam_world, np.float64)[:3, :4]
    payload = _TAG.astype("<f4").tobytes() + K.astype("<f8").tobytes() + N.astype("<f8").tobytes()
    return dio.atomic_write(path, lambda f: f.write(payload))


class SintelDataset(Dataset):
    """MPI Sintel frames with depth, intrinsics and (optionally) neighbour frames and poses.

    Layout (the two official archives unpacked into one root)::

        root/training/clean/<scene>/frame_0001.png        (or final/)
        root/training/depth/<scene>/frame_0001.dpt        (float32 depth)
        root/training/camdata_left/<scene>/frame_0001.cam (intrinsics + extrinsics)

    Samples: ``image``, ``depth`` (``unit="world_units"``: Sintel's scene units), ``valid``, ``K``,
    ``name`` (``<scene>/frame_0001``) and, for each offset, ``image_prev`` / ``image_next`` with
    ``T_prev_tgt`` / ``T_next_tgt`` (target camera -> neighbour camera, from the ``.cam`` files).

    Args:
        root: Sintel root.
        split: ``"training"`` (the only split with depth).
        pass_name: ``"clean"`` or ``"final"``.
        scenes: scene names to keep (default all).
        offsets: neighbour offsets, ``()`` or e.g. ``(-1, 1)``; frames without them are skipped.
    """

    def __init__(
        self,
        root: PathLike,
        split: str = "training",
        pass_name: str = "clean",
        scenes: Sequence[str] | None = None,
        offsets: Sequence[int] = (),
    ) -> None:
        self.root = require_dir(Path(root) / split, "Sintel split folder")
        if pass_name not in ("clean", "final"):
            raise UserError(f"pass_name must be 'clean' or 'final', got {pass_name!r}")
        self.pass_name = pass_name
        depth_root = require_dir(self.root / "depth", "Sintel depth folder")
        all_scenes = sorted(p.name for p in depth_root.iterdir() if p.is_dir())
        if scenes is not None:
            missing = [s for s in scenes if s not in all_scenes]
            if missing:
                raise UserError(f"{depth_root / missing[0]}: Sintel scene not found")
            all_scenes = list(scenes)
        self.offsets = check_offsets(offsets)
        self.items: list[tuple[str, int]] = []
        for s in all_scenes:
            nums = {int(p.stem.split("_")[-1]) for p in (depth_root / s).glob("frame_*.dpt")}
            self.items += [(s, n) for n in frames_with_neighbours(nums, self.offsets)]
        if not self.items:
            raise UserError(f"{depth_root}: no Sintel frames (frame_XXXX.dpt) found")

    def __len__(self) -> int:
        return len(self.items)

    def _path(self, kind: str, scene: str, n: int, ext: str) -> Path:
        return self.root / kind / scene / f"frame_{n:04d}{ext}"

    def __getitem__(self, index: int) -> dict[str, Any]:
        scene, n = self.items[index]
        dm = dio.read_depth(self._path("depth", scene, n, ".dpt"))
        depth, valid = depth_tensors(dm.values, dm.valid)
        K, T_tgt = read_sintel_cam(self._path("camdata_left", scene, n, ".cam"))
        sample: dict[str, Any] = {
            "image": load_rgb(self._path(self.pass_name, scene, n, ".png")),
            "depth": depth,
            "valid": valid,
            "K": torch.as_tensor(K, dtype=torch.float32),
            "name": f"{scene}/frame_{n:04d}",
            "unit": "world_units",
        }
        for o, tag in neighbour_keys(self.offsets).items():
            sample[f"image_{tag}"] = load_rgb(self._path(self.pass_name, scene, n + o, ".png"))
            _, T_o = read_sintel_cam(self._path("camdata_left", scene, n + o, ".cam"))
            sample[f"T_{tag}_tgt"] = torch.as_tensor(
                T_o @ np.linalg.inv(T_tgt), dtype=torch.float32
            )
        return sample


class SintelMatDataset(DepthFolderDataset):
    """Depth-only Sintel maps stored as ``.mat`` (MSG-Net ``Depth_filled``).

    Layout::

        root/Df_1.mat Df_2.mat ... Df_58.mat     (variable 'Df', float, 436x1024)

    The values are an inverse-depth-like quantity of unstated scale (near objects larger), so
    ``unit="disparity_like"``. Samples hold ``depth``, ``valid``, ``name``, ``unit``.

    Args:
        root: the folder.
        names: stems to keep (``["Df_1", "Df_20"]``) or a split file; default all ``*.mat``.
        key: variable name (``"Df"``).
    """

    def __init__(
        self, root: PathLike, names: Sequence[str] | PathLike | None = None, key: str = "Df"
    ) -> None:
        super().__init__(root, pattern="*.mat", key=key, unit="disparity_like", names=names)
