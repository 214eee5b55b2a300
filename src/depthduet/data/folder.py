"""Generic folder layouts for users' own data, and the helpers every dataset module shares.

Three datasets cover most home-made data:

* :class:`RGBDFolderDataset`: colour images + depth maps paired by file stem, with intrinsics;
* :class:`DepthFolderDataset`: depth-only maps (any format :func:`depthduet.io.read_depth`
  reads: PNG/PGM, PFM, NPY/NPZ, MAT, DPT);
* :class:`ImageSequenceDataset`: numbered frames of a video for monocular self-supervision
  (target + temporal neighbours, optionally a stereo partner), with intrinsics.

Every dataset returns the sample dictionary of ``docs/DEVELOPING.md``: ``image`` (3, H, W) in
[0, 1], ``depth`` (1, H, W) with 0 where unknown, ``valid`` (1, H, W) bool, ``K`` (3, 3) when the
intrinsics are known, ``name`` and ``unit``. Depth-only samples have no ``image`` (and no ``K``).

Intrinsics files (:func:`read_camera`) may be

* ``.txt``: nine numbers (a 3x3 ``K``, row-major) or four numbers ``fx fy cx cy``;
* ``.yaml`` / ``.yml`` / ``.json``: keys ``fx fy cx cy`` (optionally prefixed as in ORB-SLAM /
  pyslam settings, ``Camera.fx``), or ``K`` (3x3 or nine numbers); optional ``baseline`` (m) or
  ``bf`` / ``Camera.bf`` (baseline x fx, pixels x metres); Cityscapes ``camera.json`` files
  (``intrinsic: {fx, fy, u0, v0}``, ``extrinsic: {baseline}``) are read too.

Pixel coordinates follow :mod:`depthduet.geometry`: 0-based, pixel centres at integers.

The shared helpers live in :mod:`~depthduet.data.folder_files` (files, natural order, split
names), :mod:`~depthduet.data.folder_samples` (tensors, resizes, neighbour keys) and
:mod:`~depthduet.data.folder_camera` (intrinsics); this module holds the three datasets and
re-exports every helper.
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
from depthduet.data.folder_camera import (
    CameraInfo,
    _resolve_camera,
    check_intrinsics,
    intrinsics_matrix,
    read_camera,
)
from depthduet.data.folder_files import (
    DEPTH_SUFFIXES,
    IMAGE_SUFFIXES,
    PathLike,
    _read_names,
    list_files,
    natural_key,
    require_dir,
    require_file,
    select_files,
)
from depthduet.data.folder_samples import (
    check_offsets,
    crop_to,
    depth_tensors,
    frames_with_neighbours,
    image_tensor,
    load_rgb,
    neighbour_keys,
    resize_depth_nearest,
    resize_image,
    resize_intrinsics,
)
from depthduet.errors import UserError

__all__ = [
    "CameraInfo",
    "read_camera",
    "intrinsics_matrix",
    "check_intrinsics",
    "image_tensor",
    "depth_tensors",
    "load_rgb",
    "require_file",
    "require_dir",
    "crop_to",
    "resize_image",
    "resize_intrinsics",
    "resize_depth_nearest",
    "list_files",
    "DEPTH_SUFFIXES",
    "IMAGE_SUFFIXES",
    "RGBDFolderDataset",
    "DepthFolderDataset",
    "ImageSequenceDataset",
]


# ----------------------------------------------------------------------------------------------
# datasets
# ----------------------------------------------------------------------------------------------
class RGBDFolderDataset(Dataset):
    """Colour + depth pairs in two folders, matched by file stem.

    Layout::

        root/
          color/   0000.png 0001.png ...     (any of .png .jpg .bmp .ppm .tif)
          depth/   0000.png 0001.png ...     (16-bit PNG, .pfm, .npy, .npz, .mat, .dpt, ...)
          intrinsics.txt | intrinsics.yaml | intrinsics.json | camera.json   (optional)

    Depth is ``stored value / depth_scale`` (e.g. 16-bit PNG in millimetres with
    ``depth_scale=1000`` gives metres; TUM RGB-D uses 5000); 0 / NaN / inf / ``invalid`` are
    unknown. Pairs whose colour image is larger than the depth map are cropped (bottom rows,
    right columns) to the depth size; a smaller image is an error.

    Args:
        root: dataset folder.
        image_dir, depth_dir: sub-folder names.
        depth_scale: divisor applied to the stored depth values.
        unit: the unit of ``depth / depth_scale`` (``"m"``, ``"mm"``, ``"disparity_px"``...).
        intrinsics: a file, a 3x3 matrix, a :class:`CameraInfo`, or ``None`` to look for the
            files above (``K`` is omitted from samples when none is found).
        names: file stems to use, as a list or a split file (default: every colour image that
            has a depth map).
        key: variable name inside ``.mat`` / ``.npz`` depth files.
        invalid: an extra sentinel value marking unknown depth.
        image_glob: glob selecting the colour images in ``image_dir`` (default: every image).
        depth_stem: ``(pattern, replacement)`` regex turning an image stem into its depth
            map's stem, e.g. ``("_color$", "_depth")`` for ``TUM_color.png`` /
            ``TUM_depth.png`` (default: the same stem).
        encoding: ``"plain"``, or ``"kinect-raw"`` (NYU raw PGM) / ``"sun-rotated"`` (SUN
            RGB-D PNG), decoded to metres by :func:`depthduet.io.read_depth` (use
            ``depth_scale=None`` with them).
    """

    def __init__(
        self,
        root: PathLike,
        image_dir: str = "color",
        depth_dir: str = "depth",
        depth_scale: float | None = 1000.0,
        unit: str = "m",
        intrinsics: PathLike | np.ndarray | CameraInfo | None = None,
        names: PathLike | Sequence[str] | None = None,
        key: str | None = None,
        invalid: float | None = None,
        image_glob: str | None = None,
        depth_stem: tuple[str, str] | None = None,
        encoding: str = "plain",
    ) -> None:
        self.root = require_dir(root, "RGB-D folder")
        if image_glob is None:
            images = list_files(self.root / image_dir, IMAGE_SUFFIXES)
        else:
            images = sorted(
                (p for p in (self.root / image_dir).glob(image_glob) if p.is_file()),
                key=natural_key,
            )
        depth_files = list_files(self.root / depth_dir, DEPTH_SUFFIXES)
        if depth_dir == image_dir:  # one folder: a file is either a colour image or a depth map
            taken = {p.name for p in images}
            depth_files = [p for p in depth_files if p.name not in taken]
        depths = {p.stem: p for p in depth_files}

        def dstem(stem: str) -> str:
            return stem if depth_stem is None else re.sub(depth_stem[0], depth_stem[1], stem)

        wanted = _read_names(names)
        by_stem = {p.stem: p for p in images}
        stems = (
            wanted if wanted is not None else [p.stem for p in images if dstem(p.stem) in depths]
        )
        self.pairs: list[tuple[str, Path, Path]] = []
        for s in stems:
            if s not in by_stem:
                raise UserError(f"{self.root / image_dir}: no colour image named {s!r}")
            if dstem(s) not in depths:
                raise UserError(f"{self.root / depth_dir}: no depth map named {dstem(s)!r}")
            self.pairs.append((s, by_stem[s], depths[dstem(s)]))
        if not self.pairs:
            raise UserError(
                f"{self.root}: no colour/depth pairs found in {image_dir}/, {depth_dir}/"
            )
        if depth_scale is not None and depth_scale <= 0:
            raise UserError(f"depth_scale must be > 0, got {depth_scale}")
        if encoding != "plain" and depth_scale is not None:
            raise UserError(f"encoding {encoding!r} decodes to metres: use depth_scale=None")
        self.depth_scale = None if depth_scale is None else float(depth_scale)
        self.unit = unit
        self.key = key
        self.invalid = invalid
        self.encoding = encoding
        self.camera = _resolve_camera(intrinsics, self.root)

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> dict[str, Any]:
        stem, ipath, dpath = self.pairs[index]
        dm = dio.read_depth(
            dpath,
            scale=self.depth_scale,
            key=self.key,
            invalid=self.invalid,
            encoding=self.encoding,
        )
        depth, valid = depth_tensors(dm.values, dm.valid)
        h, w = depth.shape[-2:]
        image = load_rgb(ipath)
        ih, iw = image.shape[-2:]
        if ih < h or iw < w:
            raise UserError(
                f"{dpath}: depth map is {h}x{w}, larger than its colour image {ipath} "
                f"({ih}x{iw}); the pair must be aligned (same size, or a colour image cropped "
                "at the bottom / right to the depth map)"
            )
        sample: dict[str, Any] = {
            "image": crop_to(image, h, w),
            "depth": depth,
            "valid": valid,
            "name": stem,
            "unit": self.unit,
        }
        if self.camera is not None:
            sample["K"] = self.camera.K_tensor()
        return sample


class DepthFolderDataset(Dataset):
    """Depth-only maps (no colour), one file per sample.

    Layout::

        root/
          <name>.<ext>  ...   (every file matching ``pattern``; ext any depth format)

    Each value is ``stored / scale`` (``scale=None`` means 1); non-finite, zero and ``invalid``
    values are unknown. Samples hold ``depth``, ``valid``, ``name`` and ``unit`` only.

    Args:
        root: folder with the maps.
        pattern: glob pattern (``"*.mat"``, ``"Df_*.mat"``); default every depth suffix.
        scale: divisor for the stored values (e.g. 8 for Middlebury 2001 GT disparities).
        key: variable name inside ``.mat`` / ``.npz`` files.
        unit: unit of the scaled values.
        names: stems to keep (list or split file), default all.
        invalid: extra sentinel value for unknown depth.
    """

    def __init__(
        self,
        root: PathLike,
        pattern: str | None = None,
        scale: float | None = None,
        key: str | None = None,
        unit: str = "m",
        names: PathLike | Sequence[str] | None = None,
        invalid: float | None = None,
    ) -> None:
        self.root = require_dir(root, "depth folder")
        if pattern is None:
            files = list_files(self.root, DEPTH_SUFFIXES)
        else:
            files = sorted((p for p in self.root.glob(pattern) if p.is_file()), key=natural_key)
        files = select_files(
            files,
            _read_names(names),
            lambda n: f"{self.root}: no depth map named {n!r}",
            f"{self.root}: no depth maps matching {pattern or 'a depth suffix'}",
        )
        if scale is not None and scale <= 0:
            raise UserError(f"scale must be > 0, got {scale}")
        self.files = files
        self.scale = scale
        self.key = key
        self.unit = unit
        self.invalid = invalid

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> dict[str, Any]:
        p = self.files[index]
        dm = dio.read_depth(p, scale=self.scale, key=self.key, invalid=self.invalid)
        depth, valid = depth_tensors(dm.values, dm.valid)
        return {"depth": depth, "valid": valid, "name": p.stem, "unit": self.unit}


class ImageSequenceDataset(Dataset):
    """Numbered video frames for monocular (and optionally stereo) self-supervision.

    Frames are the files in ``root`` whose name matches ``regex``; its first group is the frame
    number (``r"(\\d+)\\.(?:png|jpg)$"`` by default). A sample exists for every frame ``t`` whose
    neighbours ``t + o`` (``o`` in ``offsets``) all exist; it holds ``image`` (frame t),
    ``image_prev`` / ``image_next`` (the negative / positive offsets nearest 0; any further offset
    ``o`` as ``image_{o:+d}``, e.g. ``image_-2``),
    ``K``, ``name``, and, when ``stereo_format`` is given, ``image_stereo`` and
    ``T_stereo_tgt`` (a translation of ``-baseline`` along x: the stereo view is to the right
    of the target). No depth: ``depth`` is all zero and ``valid`` all False, ``unit="m"``.

    Layout (example: KITTI odometry frames exported by name)::

        root/
          kitti06-12-color.png  kitti06-13-color.png  kitti06-14-color.png ...
          kitti06-12-R-color.png ...          (stereo partners, optional)
          KITTI04-12.yaml                     (intrinsics: fx fy cx cy [bf])

    Args:
        root: folder with the frames.
        intrinsics: a file (see :func:`read_camera`), a 3x3 matrix or a :class:`CameraInfo`.
        regex: regular expression matched against file names (``re.fullmatch``), group 1 = index.
        offsets: neighbour offsets, e.g. ``(-1, 1)``; ``()`` gives single frames.
        stereo_format: name of the stereo partner, ``{id}`` standing for the frame's digits as
            written in its name (``"kitti06-{id}-R-color.png"``). Frames without one are skipped.
        baseline: stereo baseline (m); default the intrinsics file's ``baseline`` / ``bf``.
    """

    def __init__(
        self,
        root: PathLike,
        intrinsics: PathLike | np.ndarray | CameraInfo,
        regex: str = r"(\d+)\.(?:png|jpg|jpeg)",
        offsets: Sequence[int] = (-1, 1),
        stereo_format: str | None = None,
        baseline: float | None = None,
    ) -> None:
        self.root = require_dir(root, "image sequence folder")
        try:
            pat = re.compile(regex)
        except re.error as e:
            raise UserError(f"bad frame regex {regex!r}: {e}") from None
        if pat.groups < 1:
            raise UserError(f"frame regex {regex!r} needs a group capturing the frame number")
        frames: dict[int, tuple[str, Path]] = {}
        for p in sorted(self.root.iterdir()):
            m = pat.fullmatch(p.name)
            if m and p.is_file():
                frames[int(m.group(1))] = (m.group(1), p)
        if not frames:
            raise UserError(f"{self.root}: no file name matches {regex!r}")
        cam = _resolve_camera(intrinsics, self.root)
        assert cam is not None
        self.camera = cam
        self.offsets = check_offsets(offsets)
        self.stereo_format = stereo_format
        self.baseline = baseline if baseline is not None else cam.baseline
        if stereo_format is not None and self.baseline is None:
            raise UserError("stereo_format given but no baseline (pass baseline= or bf/baseline)")
        self.frames = frames
        self.targets: list[int] = []
        for t in frames_with_neighbours(frames, self.offsets):
            if stereo_format is not None and not self._stereo_path(t).is_file():
                continue
            self.targets.append(t)
        if not self.targets:
            raise UserError(f"{self.root}: no frame has all neighbours {self.offsets}")

    def _stereo_path(self, t: int) -> Path:
        assert self.stereo_format is not None
        return self.root / self.stereo_format.format(id=self.frames[t][0])

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> dict[str, Any]:
        t = self.targets[index]
        image = load_rgb(self.frames[t][1])
        h, w = image.shape[-2:]
        sample: dict[str, Any] = {
            "image": image,
            "depth": torch.zeros(1, h, w),
            "valid": torch.zeros(1, h, w, dtype=torch.bool),
            "K": self.camera.K_tensor(),
            "name": self.frames[t][1].stem,
            "unit": "m",
        }
        for o, tag in neighbour_keys(self.offsets).items():
            sample[f"image_{tag}"] = load_rgb(self.frames[t + o][1])
        if self.stereo_format is not None:
            sample["image_stereo"] = load_rgb(self._stereo_path(t))
            T = torch.eye(4)
            T[0, 3] = -float(self.baseline)  # type: ignore[arg-type]
            sample["T_stereo_tgt"] = T
        return sample
