"""The high-resolution depth sources of METHOD A's recipe (``data.source``), registered in
:data:`~depthduet.data.registry.DSR_DATASETS` by their YAML name.

Every builder is called as ``builder(data, split)`` with the recipe's ``data:`` section
(:class:`depthduet.recipes.ctkt.CTKTData`) and ``split`` = ``"train"`` or ``"val"``; it returns
the base dataset of that source for the split (samples ``depth (1,H,W)``, ``valid``, ``image
(3,H,W)`` when RGB exists, ``name``, ``unit``), or ``None`` when the source adds nothing to it.
The sources:

* ``world``: procedural RGB-D scenes (:mod:`depthduet.data.world`), ``data.train_size`` /
  ``data.val_size`` samples of ``data.world_kind``;
* ``middlebury``, ``middlebury_depth``, ``sintel``: the real maps of ``../shared/data``
  (:class:`RealDepthDataset`), ``data.val_scenes`` held out for validation;
* ``folder``, ``rgbd_folder``, ``depth_folder``: users' folders ``data.folder`` (training) and
  ``data.val_folder`` (validation; none when empty).

:class:`CachedDataset` keeps decoded base samples in memory (``data.cache``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from depthduet.data.cached_dataset import CachedDataset
from depthduet.data.registry import DSR_DATASETS
from depthduet.errors import UserError
from depthduet.io.naming import natural_key

__all__ = ["CachedDataset", "RealDepthDataset"]


class RealDepthDataset(Dataset):
    """The real sample maps of ``../shared/data`` used by ``configs/dsr/real_x4.yaml``.

    ``kind``:

    * ``middlebury``: ``middlebury_2001_2003/Depth/<scene>_2.mat`` (``img_double``, scaled
      disparity) + ``RGB/<scene>.bmp`` (cropped to the depth's size); unit ``disparity_scaled``;
    * ``middlebury_depth``: ``middlebury_2001_depth/Df_*.mat`` (``Df``, x8 disparity), no RGB;
    * ``sintel``: ``sintel_depth/Df_*.mat`` (``Df``, depth-like), no RGB.

    ``names`` keeps (``include=True``) or drops (``include=False``) the samples whose stem (scene
    or file name) is listed. Samples: ``depth (1,H,W)``, ``valid`` (finite and > 0), ``image``
    when RGB exists, ``name``, ``unit``.
    """

    _LAYOUT = {
        "middlebury": ("middlebury_2001_2003/Depth", "*_2.mat"),
        "middlebury_depth": ("middlebury_2001_depth", "Df_*.mat"),
        "sintel": ("sintel_depth", "Df_*.mat"),
    }

    def __init__(
        self, kind: str, root: str | Path | None = None, names: list[str] = (), include=False
    ) -> None:
        from depthduet.paths import data_root

        if kind not in self._LAYOUT:
            raise UserError(f"data.source: unknown real source {kind!r}")
        base = Path(root) if root else data_root()
        if base is None:
            raise UserError("data.root: sample data folder ../shared/data not found")
        if not Path(base).is_dir():
            raise UserError(f"{base}: data.root folder not found")
        sub, pattern = self._LAYOUT[kind]
        folder = Path(base) / sub
        if not folder.is_dir():
            raise UserError(f"{folder}: folder not found (data.source {kind} reads {sub}/)")
        files = sorted(
            folder.glob(pattern), key=lambda p: natural_key(p.stem, whole=True, fold_case=False)
        )
        if not files:
            raise UserError(f"{folder}: no {pattern} files (data.source {kind})")
        wanted = set(names)
        self.kind = kind
        self.files = [f for f in files if (self._stem(f) in wanted) == include]

    def _stem(self, p: Path) -> str:
        """Scene name: ``cones`` for ``cones_2.mat`` (Middlebury), the file stem otherwise."""
        if self.kind == "middlebury" and p.stem.endswith("_2"):
            return p.stem[:-2]
        return p.stem

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> dict[str, Any]:
        """Sample ``i``: ``depth (1,H,W)`` float32 (0 where invalid), ``valid (1,H,W)`` bool,
        ``name``, ``unit`` and, for ``middlebury``, ``image (3,H,W)`` uint8."""
        from depthduet.io import read_image, read_mat

        path = self.files[i]
        depth = np.asarray(read_mat(path), dtype=np.float32)
        valid = np.isfinite(depth) & (depth > 0)
        depth = np.where(valid, depth, 0.0).astype(np.float32)
        out: dict[str, Any] = {
            "depth": torch.from_numpy(depth)[None],
            "valid": torch.from_numpy(valid)[None],
            "name": f"{self.kind}/{self._stem(path)}",
            "unit": "disparity_scaled" if self.kind != "sintel" else "sintel_df",
        }
        if self.kind == "middlebury":
            rgb_path = path.parent.parent / "RGB" / f"{self._stem(path)}.bmp"
            img = read_image(rgb_path, grey=False)
            h, w = depth.shape
            if img.shape[0] < h or img.shape[1] < w:
                raise UserError(f"{rgb_path}: image smaller than its depth map {h}x{w}")
            out["image"] = torch.from_numpy(np.ascontiguousarray(img[:h, :w])).permute(2, 0, 1)
        return out


# ------------------------------------------------------------------------- registered sources
def _real(kind: str, data: Any, split: str) -> Dataset | None:
    """The ``kind`` maps of ``data.root``: ``data.val_scenes`` for validation, the rest for
    training; ``None`` when the split is empty."""
    ds = RealDepthDataset(kind, data.root or None, data.val_scenes, include=split != "train")
    return ds if len(ds) > 0 else None


@DSR_DATASETS.register("middlebury")
def middlebury(data: Any, split: str) -> Dataset | None:
    """Middlebury 2001/2003 RGB-D disparity pairs (:class:`RealDepthDataset`)."""
    return _real("middlebury", data, split)


@DSR_DATASETS.register("middlebury_depth")
def middlebury_depth(data: Any, split: str) -> Dataset | None:
    """Middlebury 2001 disparity maps, no RGB (:class:`RealDepthDataset`)."""
    return _real("middlebury_depth", data, split)


@DSR_DATASETS.register("sintel")
def sintel(data: Any, split: str) -> Dataset | None:
    """Sintel depth-like maps, no RGB (:class:`RealDepthDataset`)."""
    return _real("sintel", data, split)


@DSR_DATASETS.register("world")
def world(data: Any, split: str) -> Dataset | None:
    """``data.train_size`` / ``data.val_size`` procedural scenes of ``data.world_kind``, one
    frame each, rendered at ``data.world_height x data.world_width`` (0: the kind's default);
    ``None`` for a size of 0."""
    n = data.train_size if split == "train" else data.val_size
    if n <= 0:
        return None
    try:
        from depthduet.data.world import WorldConfig, WorldDataset
    except ImportError as e:  # pragma: no cover - the world package ships with depthduet
        raise UserError(f"data.source world: depthduet.data.world unavailable ({e})") from None
    kwargs: dict[str, Any] = {"frames": 1, "stereo": False, "lidar_beams": 0}
    if data.world_height:
        kwargs["height"] = data.world_height
    if data.world_width:
        kwargs["width"] = data.world_width
    try:
        wcfg = WorldConfig(**kwargs)
        wcfg.resolved(data.world_kind)
    except (TypeError, ValueError, UserError):
        kwargs = {k: v for k, v in kwargs.items() if k in ("height", "width")}
        wcfg = WorldConfig(**kwargs)
    return WorldDataset(data.world_kind, split=split, n=n, cfg=wcfg)


def _folder_root(source: str, data: Any, split: str) -> str:
    """``data.folder`` (training) or ``data.val_folder`` (validation; "" = none)."""
    if not data.folder:
        raise UserError(f"data.folder: required for data.source [{source}]")
    return data.folder if split == "train" else data.val_folder


@DSR_DATASETS.register("folder")
def synth_folder(data: Any, split: str) -> Dataset | None:
    """A ``depthduet synth`` output folder (:class:`~depthduet.data.synth_folder.SynthFolderDataset`)."""
    root = _folder_root("folder", data, split)
    if not root:
        return None
    from depthduet.data.synth_folder import SynthFolderDataset

    return SynthFolderDataset(root)


@DSR_DATASETS.register("rgbd_folder")
def rgbd_folder(data: Any, split: str) -> Dataset | None:
    """``color/`` + ``depth/`` (:class:`~depthduet.data.folder.RGBDFolderDataset`), depth in
    stored units / ``data.depth_scale``."""
    root = _folder_root("rgbd_folder", data, split)
    if not root:
        return None
    from depthduet.data.folder import RGBDFolderDataset

    return RGBDFolderDataset(root, depth_scale=data.depth_scale)


@DSR_DATASETS.register("depth_folder")
def depth_folder(data: Any, split: str) -> Dataset | None:
    """Depth maps only (:class:`~depthduet.data.folder.DepthFolderDataset`), stored units /
    ``data.depth_scale``."""
    root = _folder_root("depth_folder", data, split)
    if not root:
        return None
    from depthduet.data.folder import DepthFolderDataset

    return DepthFolderDataset(root, scale=data.depth_scale)
