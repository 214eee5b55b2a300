"""``WorldDataset``: a torch Dataset that renders world samples on the fly."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from depthduet.data.world.config import (
    SPLIT_SEED_BASE,
    SPLIT_SIZE,
    WorldConfig,
    check_kind,
    split_seed,
)
from depthduet.data.world.render import render_sequence
from depthduet.errors import UserError

__all__ = ["DEFAULT_SIZES", "WorldDataset", "relative_pose"]

#: default number of samples of each split (override with ``n``).
DEFAULT_SIZES: dict[str, int] = {"train": 4000, "val": 200, "test": 200}


def relative_pose(T_world_a: np.ndarray, T_world_b: np.ndarray) -> np.ndarray:
    """``T_a_b = T_world_a^-1 T_world_b`` ``(4, 4)``: maps camera-b points into camera a."""
    R, t = T_world_a[:3, :3], T_world_a[:3, 3]
    inv = np.eye(4)
    inv[:3, :3] = R.T
    inv[:3, 3] = -R.T @ t
    return inv @ T_world_b


def _img(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1), dtype=np.float32))


def _map(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))[None]


class WorldDataset(Dataset):
    """Procedural RGB-D sequences rendered on the fly (deterministic per index).

    Sample ``i`` of ``split`` is the scene of seed ``SPLIT_SEED_BASE[split] + i`` (train 0..,
    val 100000.., test 200000..), so the splits never share a scene. Rendering happens in
    ``__getitem__`` and needs no state, so ``DataLoader(num_workers=k)`` parallelises it.

    Args:
        kind: ``"indoor"`` (NYU-like) or ``"driving"`` (KITTI-like).
        split: ``"train"``, ``"val"`` or ``"test"``.
        n: number of samples (default :data:`DEFAULT_SIZES` of the split), at most 100000.
        cfg: world settings; ``cfg.frames`` must be 1 or 3.

    Each sample (``docs/DEVELOPING.md``): ``image`` ``(3, H, W)``, ``depth`` ``(1, H, W)`` metres
    (0 = sky / none), ``valid`` ``(1, H, W)`` bool, ``K`` ``(3, 3)``, ``name``, ``unit = "m"``;
    with ``frames = 3``: ``image_prev``, ``image_next`` ``(3, H, W)`` and ``T_prev_tgt``,
    ``T_next_tgt`` ``(4, 4)`` (target-camera points into that camera); with ``stereo``:
    ``image_stereo`` ``(3, H, W)`` right view and ``T_stereo_tgt`` ``(4, 4)`` (x-translation
    ``-baseline``); with ``lidar_beams > 0``: ``lidar`` ``(1, H, W)`` metres (0 = no return).
    Sensor effects add ``depth_sensor`` ``(1, H, W)`` (noise / holes) and ``depth_tof``
    ``(1, H/s, W/s)`` (``tof_scale = s > 1``).
    """

    def __init__(
        self,
        kind: str,
        split: str = "train",
        n: int | None = None,
        cfg: WorldConfig | None = None,
    ) -> None:
        self.kind = check_kind(kind)
        if split not in SPLIT_SEED_BASE:
            raise UserError(
                f"WorldDataset split {split!r}: unknown, expected one of {', '.join(SPLIT_SEED_BASE)}"
            )
        self.split = split
        self.n = DEFAULT_SIZES[split] if n is None else int(n)
        if not 1 <= self.n <= SPLIT_SIZE:
            raise UserError(f"WorldDataset n={self.n}: must be in 1..{SPLIT_SIZE}")
        self.cfg = (cfg or WorldConfig()).resolved(kind)
        if self.cfg.frames not in (1, 3):
            raise UserError(f"WorldDataset frames={self.cfg.frames}: must be 1 or 3")

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        c = self.cfg
        return f"WorldDataset({self.kind!r}, {self.split!r}, n={self.n}, size={c.height}x{c.width})"

    def seed(self, index: int) -> int:
        """Scene seed of sample ``index``."""
        return split_seed(self.split, index)

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not -self.n <= index < self.n:
            raise IndexError(f"WorldDataset index {index} out of range 0..{self.n - 1}")
        index %= self.n
        seed = self.seed(index)
        cfg = self.cfg
        tgt = cfg.frames // 2
        r = render_sequence(
            self.kind,
            seed,
            cfg,
            stereo_frames=[tgt] if cfg.stereo else [],
            lidar_frames=[tgt] if cfg.lidar_beams > 0 else [],
        )
        depth = r["depths"][tgt]
        poses = r["poses"]
        s: dict[str, Any] = {
            "image": _img(r["images"][tgt]),
            "depth": _map(depth),
            "valid": torch.from_numpy(depth > 0)[None],
            "K": torch.from_numpy(r["K"].astype(np.float32)),
            "name": f"{self.kind}-{self.split}-{index:06d}",
            "unit": "m",
        }
        if cfg.frames == 3:
            s["image_prev"] = _img(r["images"][0])
            s["image_next"] = _img(r["images"][2])
            s["T_prev_tgt"] = torch.from_numpy(relative_pose(poses[0], poses[1]).astype(np.float32))
            s["T_next_tgt"] = torch.from_numpy(relative_pose(poses[2], poses[1]).astype(np.float32))
        if cfg.stereo:
            s["image_stereo"] = _img(r["right"][0])
            T = np.eye(4, dtype=np.float32)
            T[0, 3] = -r["baseline"]
            s["T_stereo_tgt"] = torch.from_numpy(T)
        if cfg.lidar_beams > 0:
            s["lidar"] = _map(r["lidar"][0])
        if "sensor" in r:
            s["depth_sensor"] = _map(r["sensor"][tgt])
        if "tof" in r:
            s["depth_tof"] = _map(r["tof"][tgt])
        return s

    def replace(self, **changes: Any) -> WorldDataset:
        """A copy with some :class:`WorldConfig` fields changed."""
        return WorldDataset(self.kind, self.split, self.n, dataclasses.replace(self.cfg, **changes))
