"""ToFMark (Ferstl et al., ICCV 2013): real time-of-flight depth + high-resolution intensity.

Two layouts:

* :class:`ToFMarkDataset`: the benchmark ``.mat`` files (one per scene: books, devil, shark)
  holding the intensity image, the low-resolution ToF depth and the ground truth. The variable
  names are chosen with ``keys=``; by default they are recognised by name (``gt`` / ``ground``
  -> ground truth, ``tof`` / ``lr`` / ``low`` / ``depth`` -> ToF input, ``int`` / ``gray`` /
  ``image`` -> intensity). A file where that is ambiguous raises, listing its variables.
* :class:`ToFMarkSparseDataset`: the "sparse-projected" variant used by SDFilter and others:
  ``<scene>.bmp`` (8-bit intensity) and ``<scene>_depth.bmp`` (the low-resolution ToF samples
  projected into the intensity camera; 0 = no sample; values a normalised depth).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import Dataset

from depthduet import io as dio
from depthduet.data.folder import (
    depth_tensors,
    image_tensor,
    load_rgb,
    natural_key,
    require_dir,
)
from depthduet.data.folder_files import pick_named, select_files
from depthduet.errors import UserError
from depthduet.paths import PathLike

__all__ = ["mat_variables", "ToFMarkDataset", "ToFMarkSparseDataset"]


_ROLE_HINTS = {
    "gt": ("gt", "ground", "truth"),
    "lr": ("tof", "lr", "low", "depth"),
    "image": ("int", "gray", "grey", "image", "img", "rgb"),
}


def mat_variables(path: PathLike) -> dict[str, tuple[int, ...]]:
    """Numeric variables of a ``.mat`` file (v5 or v7.3) -> their MATLAB shapes."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: .mat file not found")
    with open(p, "rb") as f:
        head = f.read(520)
    if head[:8] == b"\x89HDF\r\n\x1a\n" or head[512:520] == b"\x89HDF\r\n\x1a\n":
        import h5py

        out: dict[str, tuple[int, ...]] = {}
        with h5py.File(p, "r") as h:
            for k, v in h.items():
                if isinstance(v, h5py.Dataset) and v.dtype.kind in "biuf":
                    out[k] = tuple(reversed(v.shape))
        return out
    import scipy.io

    try:
        return {
            n: tuple(s)
            for n, s, cls in scipy.io.whosmat(p)
            if cls not in ("char", "cell", "struct")
        }
    except Exception as e:  # scipy raises several types on junk
        raise UserError(f"{p}: not a readable MATLAB file ({type(e).__name__})") from None


def _assign_roles(path: Path, names: dict[str, tuple[int, ...]]) -> dict[str, str]:
    roles: dict[str, str] = {}
    for role in ("gt", "image", "lr"):  # gt first: "gt_depth" must not become the ToF input
        hits = [
            n
            for n in names
            if n not in roles.values() and any(h in n.lower() for h in _ROLE_HINTS[role])
        ]
        if len(hits) != 1:
            raise UserError(
                f"{path}: cannot tell the {role} variable among {sorted(names)}; pass keys="
                "{'image': ..., 'lr': ..., 'gt': ...}"
            )
        roles[role] = hits[0]
    return roles


def _as_2d(a: np.ndarray) -> np.ndarray:
    """Drop singleton axes beyond the first two (``(H, W, 1)`` -> ``(H, W)``)."""
    a = np.asarray(a)
    while a.ndim > 2 and 1 in a.shape:
        a = np.squeeze(a, axis=a.shape.index(1))
    return a


def _to_unit_image(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float32)
    if a.ndim == 3 and a.shape[0] in (1, 3) and a.shape[-1] not in (1, 3):
        a = a.transpose(1, 2, 0)
    top = float(np.nanmax(a)) if a.size else 1.0
    if top > 1.0:
        a = a / (255.0 if top <= 255.0 else 65535.0 if top <= 65535.0 else top)
    return np.clip(np.nan_to_num(a), 0.0, 1.0)


class ToFMarkDataset(Dataset):
    """ToFMark benchmark scenes from their ``.mat`` files.

    Layout::

        root/
          books.mat  devil.mat  shark.mat        (any names; every *.mat is a scene)

    Samples: ``image`` (3, H, W) intensity in [0, 1], ``depth`` / ``valid`` the ground truth
    (``unit``, default ``"mm"``), ``lr`` / ``lr_valid`` (1, h, w) the real low-resolution ToF
    depth (same unit), ``name``.

    Args:
        root: folder of ``.mat`` files.
        keys: ``{"image": ..., "lr": ..., "gt": ...}`` variable names (default: by name).
        unit: unit of the stored depth values.
        names: stems to keep.
    """

    def __init__(
        self,
        root: PathLike,
        keys: dict[str, str] | None = None,
        unit: str = "mm",
        names: Sequence[str] | None = None,
    ) -> None:
        self.root = require_dir(root, "ToFMark folder")
        files = select_files(
            sorted(self.root.glob("*.mat"), key=natural_key),
            names,
            lambda n: f"{self.root / (n + '.mat')}: ToFMark scene not found",
            f"{self.root}: no .mat files",
        )
        self.items: list[tuple[Path, dict[str, str]]] = []
        for f in files:
            avail = mat_variables(f)
            if keys is not None:
                for role in ("image", "lr", "gt"):
                    if role not in keys:
                        raise UserError(f"keys must name 'image', 'lr' and 'gt'; missing {role!r}")
                    if keys[role] not in avail:
                        raise UserError(
                            f"{f}: no variable {keys[role]!r} (available: {sorted(avail)})"
                        )
                self.items.append((f, dict(keys)))
            else:
                self.items.append((f, _assign_roles(f, avail)))
        self.unit = unit

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, Any]:
        f, keys = self.items[index]
        image = _to_unit_image(dio.read_mat(f, key=keys["image"]))
        gt = dio.make_depth_map(_as_2d(dio.read_mat(f, key=keys["gt"])), path=f)
        lr = dio.make_depth_map(_as_2d(dio.read_mat(f, key=keys["lr"])), path=f)
        depth, valid = depth_tensors(gt.values, gt.valid)
        lr_d, lr_v = depth_tensors(lr.values, lr.valid)
        img = image_tensor(image)
        if img.shape[-2:] != depth.shape[-2:]:
            raise UserError(
                f"{f}: intensity {tuple(img.shape[-2:])} and ground truth "
                f"{tuple(depth.shape[-2:])} differ in size"
            )
        return {
            "image": img,
            "depth": depth,
            "valid": valid,
            "lr": lr_d,
            "lr_valid": lr_v,
            "name": f.stem,
            "unit": self.unit,
        }


class ToFMarkSparseDataset(Dataset):
    """ToFMark intensity + sparse ToF samples projected into the intensity camera (no GT).

    Layout (SDFilter ``imgs/depthSR``)::

        root/
          books.bmp  books_depth.bmp
          devil.bmp  devil_depth.bmp
          shark.bmp  shark_depth.bmp

    ``<scene>.bmp`` is the 8-bit intensity, ``<scene>_depth.bmp`` the ToF samples (8-bit, 0 =
    no sample, larger = farther, normalised: metric scale is not recoverable).

    Samples: ``image`` (3, H, W) (grey repeated), ``depth`` / ``valid`` the **sparse samples**
    (``valid`` marks the ~2.5 % sampled pixels; there is no dense ground truth),
    ``unit="normalised"`` (stored value / 255), ``name``.

    Args:
        root: the folder.
        names: scene names to keep (default every ``<scene>_depth.*`` with its intensity).
    """

    def __init__(self, root: PathLike, names: Sequence[str] | None = None) -> None:
        self.root = require_dir(root, "ToFMark sparse folder")
        pairs: dict[str, tuple[Path, Path]] = {}
        for d in sorted(self.root.iterdir(), key=natural_key):
            if not d.is_file() or not d.stem.endswith("_depth"):
                continue
            scene = d.stem[: -len("_depth")]
            imgs = [
                p for p in self.root.glob(scene + ".*") if p.suffix.lower() in dio.IMAGE_SUFFIXES
            ]
            if imgs:
                pairs[scene] = (imgs[0], d)
        if names is not None:
            found = pick_named(
                pairs, names, lambda n: f"{self.root}: no ToFMark pair {n}.bmp + {n}_depth.bmp"
            )
            self.pairs = [(n, *pair) for n, pair in zip(names, found)]
        else:
            self.pairs = [(n, *p) for n, p in pairs.items()]
        if not self.pairs:
            raise UserError(f"{self.root}: no <scene>.bmp + <scene>_depth.bmp pairs")

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> dict[str, Any]:
        name, ipath, dpath = self.pairs[index]
        dm = dio.read_depth(dpath, scale=255.0)
        depth, valid = depth_tensors(dm.values, dm.valid)
        image = load_rgb(ipath)
        if image.shape[-2:] != depth.shape[-2:]:
            raise UserError(f"{dpath}: size {tuple(depth.shape[-2:])} differs from {ipath.name}")
        return {"image": image, "depth": depth, "valid": valid, "name": name, "unit": "normalised"}
