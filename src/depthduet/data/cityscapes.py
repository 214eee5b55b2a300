"""Cityscapes: left images, SGM disparity and camera files -> metric depth.

Disparity PNGs store ``p = d * 256 + 1`` (uint16) for valid pixels and ``p = 0`` where the
disparity is unknown, so ``d = (p - 1) / 256`` for ``p > 0``. With the ``camera.json`` of the
frame (``intrinsic: fx fy u0 v0`` in pixels, ``extrinsic: baseline`` in metres) the depth is
``Z = baseline * fx / d`` (metres); pixels with ``p = 0`` or ``d = 0`` are invalid.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from depthduet import io as dio
from depthduet.data.folder import (
    check_offsets,
    depth_tensors,
    load_rgb,
    neighbour_keys,
    read_camera,
    require_dir,
    require_file,
    resize_depth_nearest,
    resize_image,
    resize_intrinsics,
)
from depthduet.errors import UserError
from depthduet.paths import PathLike

__all__ = ["cityscapes_disparity", "CityscapesDataset"]


_NAME = re.compile(r"(?P<city>.+)_(?P<seq>\d{6})_(?P<frame>\d{6})_leftImg8bit\.png")


def cityscapes_disparity(path: PathLike) -> dio.DepthMap:
    """Read a Cityscapes ``*_disparity.png``: ``d = (p - 1) / 256`` pixels for ``p > 0``;
    ``p = 0`` (and ``p = 1``, zero disparity) are invalid."""
    p = require_file(path, "Cityscapes disparity")
    dm = dio.read_depth(p)  # stored values, 0 invalid
    stored = dm.values.astype(np.float64)
    d = np.where(dm.valid, (stored - 1.0) / 256.0, 0.0)
    return dio.make_depth_map(d, path=p)


class CityscapesDataset(Dataset):
    """Cityscapes frames with depth from disparity.

    Layout (the official packages unpacked into one root)::

        root/leftImg8bit/<split>/<city>/<city>_<seq>_<frame>_leftImg8bit.png
        root/disparity/<split>/<city>/<city>_<seq>_<frame>_disparity.png
        root/camera/<split>/<city>/<city>_<seq>_<frame>_camera.json
        root/rightImg8bit/<split>/<city>/<city>_<seq>_<frame>_rightImg8bit.png    (stereo)
        root/leftImg8bit_sequence/<split>/<city>/<city>_<seq>_<frame>_leftImg8bit.png
                                                    (30-frame snippets, for neighbours)

    Samples: ``image``, ``depth`` (metres; or disparity in pixels with ``to_depth=False``,
    ``unit="disparity_px"``), ``valid`` (False where the disparity is 0), ``K``, ``name``,
    and optionally ``image_prev`` / ``image_next`` (``offsets``, from the sequence package) and
    ``image_stereo`` + ``T_stereo_tgt`` (x translation ``-baseline``).

    Args:
        root: Cityscapes root.
        split: ``"train"``, ``"val"``, ``"test"`` (or ``"train_extra"``).
        cities: cities to keep (default all).
        to_depth: convert disparity to metric depth.
        offsets: neighbour frame offsets (``(-1, 1)``) read from ``leftImg8bit_sequence``.
        stereo: load the right image.
        size: ``(H, W)`` to resize to (images bilinear, ``K`` scaled about pixel centres, depth
            nearest-pixel so that no value is interpolated); ``None`` keeps 1024x2048.
    """

    def __init__(
        self,
        root: PathLike,
        split: str = "train",
        cities: Sequence[str] | None = None,
        to_depth: bool = True,
        offsets: Sequence[int] = (),
        stereo: bool = False,
        size: tuple[int, int] | None = None,
    ) -> None:
        self.root = require_dir(root, "Cityscapes root")
        left = require_dir(self.root / "leftImg8bit" / split, "Cityscapes leftImg8bit split")
        self.split = split
        city_dirs = sorted(p for p in left.iterdir() if p.is_dir())
        if cities is not None:
            names = {p.name for p in city_dirs}
            missing = [c for c in cities if c not in names]
            if missing:
                raise UserError(f"{left / missing[0]}: Cityscapes city not found")
            city_dirs = [left / c for c in cities]
        self.items: list[tuple[str, str, int]] = []
        for cdir in city_dirs:
            for p in sorted(cdir.glob("*_leftImg8bit.png")):
                m = _NAME.fullmatch(p.name)
                if m:
                    self.items.append((m["city"], m["seq"], int(m["frame"])))
        if not self.items:
            raise UserError(f"{left}: no *_leftImg8bit.png frames")
        self.to_depth = to_depth
        self.offsets = check_offsets(offsets)
        self.stereo = stereo
        self.size = None if size is None else (int(size[0]), int(size[1]))

    def _path(self, kind: str, suffix: str, city: str, seq: str, frame: int) -> Path:
        return self.root / kind / self.split / city / f"{city}_{seq}_{frame:06d}_{suffix}"

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, Any]:
        city, seq, frame = self.items[index]
        cam = read_camera(self._path("camera", "camera.json", city, seq, frame))
        disp = cityscapes_disparity(self._path("disparity", "disparity.png", city, seq, frame))
        if self.to_depth:
            if cam.baseline is None:
                raise UserError(
                    f"{self._path('camera', 'camera.json', city, seq, frame)}: no extrinsic baseline"
                )
            values = dio.disparity_to_depth(
                disp.values, float(cam.K[0, 0]), cam.baseline, 0.0, disp.valid
            )
        else:
            values = disp.values
        depth, valid = depth_tensors(values)
        image = load_rgb(self._path("leftImg8bit", "leftImg8bit.png", city, seq, frame))
        if image.shape[-2:] != depth.shape[-2:]:
            raise UserError(
                f"{self._path('disparity', 'disparity.png', city, seq, frame)}: size "
                f"{tuple(depth.shape[-2:])} differs from the image {tuple(image.shape[-2:])}"
            )
        h0, w0 = image.shape[-2:]
        size = self.size or (h0, w0)
        depth, valid = resize_depth_nearest(depth, valid, size)
        sample: dict[str, Any] = {
            "image": resize_image(image, size),
            "depth": depth,
            "valid": valid,
            "K": torch.as_tensor(resize_intrinsics(cam.K, (h0, w0), size), dtype=torch.float32),
            "name": f"{city}_{seq}_{frame:06d}",
            "unit": "m" if self.to_depth else "disparity_px",
        }
        for o, tag in neighbour_keys(self.offsets).items():
            p = self._path("leftImg8bit_sequence", "leftImg8bit.png", city, seq, frame + o)
            sample[f"image_{tag}"] = resize_image(
                load_rgb(require_file(p, "Cityscapes sequence frame")), size
            )
        if self.stereo:
            if cam.baseline is None:
                raise UserError(f"{city}_{seq}_{frame:06d}: no baseline for the stereo transform")
            right = self._path("rightImg8bit", "rightImg8bit.png", city, seq, frame)
            sample["image_stereo"] = resize_image(load_rgb(right), size)
            T = torch.eye(4)
            T[0, 3] = -float(cam.baseline)
            sample["T_stereo_tgt"] = T
        return sample
