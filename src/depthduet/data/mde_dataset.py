"""The datasets of METHOD B's ``mutual`` recipe, chosen by their ``data.dataset`` name.

Each entry of :data:`~depthduet.data.registry.MDE_DATASETS` is a :class:`MDESource`: called
as ``source(data, split, sequence=..., stereo=...)`` it builds the ``train`` or ``val`` dataset
(``None`` when the configuration asks for no validation), and ``source.size(data)`` gives the
training resolution ``(H, W)``. ``data`` is the recipe's ``MDEDataConfig``
(:mod:`depthduet.recipes.mutual`), read by attribute:

* ``world`` (the procedural driving world): ``kind``, ``world`` (renderer settings, whose
  height / width are the resolution), ``train_size``, ``val_size``, ``cache``;
* ``kitti`` (KITTI raw): ``root``, ``train_split``, ``val_split``, ``annotated_root`` (improved
  ground truth for validation), ``height``, ``width``;
* ``cityscapes``: ``root``, ``train_split``, ``val_split``, ``val_size``, ``height``, ``width``.

``sequence`` asks for the previous / next frames (``image_prev``, ``image_next``: monocular
view synthesis), ``stereo`` for the other camera (``image_stereo``, ``T_stereo_tgt``).

>>> from depthduet.data.registry import MDE_DATASETS
>>> MDE_DATASETS.names()
['cityscapes', 'kitti', 'world']
"""

from __future__ import annotations

from typing import Any

import torch

from depthduet.data.cached_dataset import CachedDataset
from depthduet.data.registry import MDE_DATASETS
from depthduet.errors import UserError

__all__ = ["CachedDataset", "MDESource"]

SPLITS = ("train", "val")


class MDESource:
    """One ``data.dataset`` of METHOD B: its training resolution and its two splits."""

    def size(self, data: Any) -> tuple[int, int]:
        """Training resolution ``(H, W)``: ``data.height`` x ``data.width``."""
        return int(data.height), int(data.width)

    def __call__(
        self, data: Any, split: str, *, sequence: bool = False, stereo: bool = False
    ) -> torch.utils.data.Dataset | None:
        """The ``split`` (``train`` / ``val``) dataset, or ``None`` for no validation."""
        raise NotImplementedError(type(self).__name__)


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"split: expected one of {SPLITS}, got {split!r}")


def _checked_size(source: MDESource, data: Any, split: str) -> tuple[int, int]:
    """The training resolution ``(H, W)`` of a dataset read from ``data.root``, once the split
    is known and the root given."""
    _check_split(split)
    if not data.root:
        raise UserError(f"data.root: required for dataset {data.dataset!r}")
    return source.size(data)


class _World(MDESource):
    """The procedural driving world; samples are cached in memory with ``data.cache``."""

    def size(self, data: Any) -> tuple[int, int]:
        """Training resolution ``(H, W)``: the renderer's, with the kind's defaults filled in."""
        r = data.world.resolved(data.kind)
        return int(r.height), int(r.width)

    def __call__(
        self, data: Any, split: str, *, sequence: bool = False, stereo: bool = False
    ) -> torch.utils.data.Dataset | None:
        """``data.train_size`` / ``data.val_size`` rendered samples (every frame and sensor of
        the world's configuration, whatever ``sequence`` and ``stereo`` ask)."""
        from depthduet.data.world import WorldDataset

        _check_split(split)
        n = data.train_size if split == "train" else data.val_size
        if split == "val" and not n:
            return None
        ds = WorldDataset(data.kind, split, n=n, cfg=data.world)
        return CachedDataset(ds) if data.cache else ds


class _Kitti(MDESource):
    """KITTI raw: LiDAR supervision; validation on the improved ground truth when given."""

    def __call__(
        self, data: Any, split: str, *, sequence: bool = False, stereo: bool = False
    ) -> torch.utils.data.Dataset | None:
        """Training frames of ``data.train_split`` (all when empty) with the neighbours asked
        for; validation frames of ``data.val_split`` (``None`` when empty), target view only."""
        from depthduet.data.kitti import KittiRawDataset

        size = _checked_size(self, data, split)
        if split == "train":
            return KittiRawDataset(
                data.root,
                split=data.train_split or None,
                offsets=(-1, 1) if sequence else (),
                stereo=stereo,
                lidar=True,
                gt="lidar",
                size=size,
            )
        if not data.val_split:
            return None
        return KittiRawDataset(
            data.root,
            split=data.val_split,
            offsets=(),
            stereo=False,
            lidar=True,
            gt="annotated" if data.annotated_root else "lidar",
            annotated_root=data.annotated_root or None,
            size=size,
        )


class _Cityscapes(MDESource):
    """Cityscapes: depth from SGM disparity (no LiDAR; ``data.sup_key: depth``)."""

    def __call__(
        self, data: Any, split: str, *, sequence: bool = False, stereo: bool = False
    ) -> torch.utils.data.Dataset | None:
        """Frames of ``data.train_split`` (default ``train``) with the neighbours asked for;
        validation frames of ``data.val_split`` (default ``val``; ``None`` when
        ``data.val_size`` is 0), target view only."""
        from depthduet.data.cityscapes import CityscapesDataset

        size = _checked_size(self, data, split)
        if split == "train":
            return CityscapesDataset(
                data.root,
                split=data.train_split or "train",
                offsets=(-1, 1) if sequence else (),
                stereo=stereo,
                size=size,
            )
        if not data.val_size:
            return None
        return CityscapesDataset(data.root, split=data.val_split or "val", size=size)


MDE_DATASETS.register("world")(_World())
MDE_DATASETS.register("kitti")(_Kitti())
MDE_DATASETS.register("cityscapes")(_Cityscapes())
