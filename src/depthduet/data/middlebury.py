"""Middlebury stereo datasets (2001, 2003, 2005, 2006, 2014/2021) as RGB-D pairs.

The ground truth is a disparity map of the left view. Integer PNG / PGM maps store
``disparity * s``, with ``s`` fixed per dataset (0 = unknown):

=====================  ===================================  ======================
year                   files                                stored scale ``s``
=====================  ===================================  ======================
2001 Tsukuba           scene1.row3.col3.ppm, truedisp.row3.col3.pgm   16
2001 others            im2.ppm, disp2.pgm                   8
2003 (quarter size)    im2.ppm, disp2.pgm                   4
2005 / 2006            view1.png (or Illum*/Exp*/view1.png), disp1.png, dmin.txt   1
2014 / 2021            im0.png, disp0.pfm (disp0GT.pfm), calib.txt   float PFM, inf = unknown
=====================  ===================================  ======================

With a ``calib.txt`` (2014: ``cam0=[f 0 cx; 0 f cy; 0 0 1]``, ``cam1``, ``doffs``, ``baseline`` in
mm) disparity becomes depth ``Z = baseline * f / (d + doffs)`` (millimetres). The 2005 / 2006
sets state ``f = 3740`` px and a 160 mm baseline for the full-size images, with ``doffs = dmin``
from ``dmin.txt``; half / third size divide ``f`` and ``dmin`` by 2 / 3.

:class:`MiddleburyMatDataset` reads the hole-filled ``.mat`` maps distributed with depth
super-resolution code (MSG-Net): ``RGB/<scene>.bmp`` + ``Depth/<scene>_2.mat``
(``img_double``), or depth-only folders of ``Df_*.mat`` (``Df``).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from depthduet import io as dio
from depthduet.data.folder import (
    IMAGE_SUFFIXES,
    crop_to,
    depth_tensors,
    load_rgb,
    natural_key,
    require_dir,
    require_file,
)
from depthduet.data.folder_files import select_files
from depthduet.errors import UserError
from depthduet.paths import PathLike

__all__ = [
    "MiddleburyCalib",
    "read_middlebury_calib",
    "KNOWN_DISPARITY_SCALES",
    "MIDDLEBURY_2005_FOCAL",
    "MIDDLEBURY_2005_BASELINE_MM",
    "MiddleburyDataset",
    "MiddleburyMatDataset",
]


#: stored-value scale of the integer GT maps of the 2001 / 2003 scenes (lower-case names).
KNOWN_DISPARITY_SCALES: dict[str, float] = {
    "tsukuba": 16.0,
    "venus": 8.0,
    "sawtooth": 8.0,
    "barn1": 8.0,
    "barn2": 8.0,
    "bull": 8.0,
    "poster": 8.0,
    "map": 8.0,
    "cones": 4.0,
    "teddy": 4.0,
}
#: 2005 / 2006 full-size focal length (pixels) and baseline (mm), per the dataset pages.
MIDDLEBURY_2005_FOCAL = 3740.0
MIDDLEBURY_2005_BASELINE_MM = 160.0


@dataclass(frozen=True)
class MiddleburyCalib:
    """Middlebury ``calib.txt`` contents.

    Attributes:
        K0: ``(3, 3)`` left camera intrinsics (``cam0``), pixels.
        doffs: x-difference of the principal points ``cx1 - cx0`` (pixels).
        baseline: camera baseline (mm).
        width, height: image size, or 0 when not stated.
    """

    K0: np.ndarray
    doffs: float
    baseline: float
    width: int = 0
    height: int = 0

    def depth_from_disparity(
        self, disparity: np.ndarray, valid: np.ndarray | None = None
    ) -> np.ndarray:
        """``(H, W)`` disparity (pixels) -> ``(H, W)`` float32 depth in mm,
        ``Z = baseline * f / (d + doffs)``, 0 where invalid."""
        return dio.disparity_to_depth(
            disparity, float(self.K0[0, 0]), self.baseline, self.doffs, valid
        )


def read_middlebury_calib(path: PathLike) -> MiddleburyCalib:
    """Parse a Middlebury 2014-style ``calib.txt`` (``cam0``, ``cam1``, ``doffs``, ``baseline``,
    ``width``, ``height``); ``doffs`` defaults to ``cam1[0, 2] - cam0[0, 2]`` when absent."""
    p = require_file(path, "Middlebury calib.txt")
    cal = dio.read_calib_txt(p)
    if "cam0" not in cal:
        raise UserError(f"{p}: missing key 'cam0'")
    K0 = np.asarray(cal["cam0"], dtype=np.float64).reshape(-1)
    if K0.size != 9:
        raise UserError(f"{p}: 'cam0' must be a 3x3 matrix, got {K0.size} numbers")
    K0 = K0.reshape(3, 3)
    if "baseline" not in cal:
        raise UserError(f"{p}: missing key 'baseline'")
    if "doffs" in cal:
        doffs = float(cal["doffs"].reshape(-1)[0])
    elif "cam1" in cal and cal["cam1"].size == 9:
        doffs = float(cal["cam1"].reshape(3, 3)[0, 2] - K0[0, 2])
    else:
        raise UserError(f"{p}: missing key 'doffs' (and no 'cam1' to derive it)")
    w = int(cal["width"].reshape(-1)[0]) if "width" in cal else 0
    h = int(cal["height"].reshape(-1)[0]) if "height" in cal else 0
    return MiddleburyCalib(K0, doffs, float(cal["baseline"].reshape(-1)[0]), w, h)


@dataclass(frozen=True)
class _Scene:
    name: str
    image: Path
    gt: Path
    scale: float
    calib: MiddleburyCalib | None


def _first(folder: Path, names: Sequence[str]) -> Path | None:
    for n in names:
        if (folder / n).is_file():
            return folder / n
    return None


def _size_factor(folder: Path) -> float:
    for part in folder.parts:
        low = part.lower()
        if low.startswith("half"):
            return 2.0
        if low.startswith("third"):
            return 3.0
    return 1.0


def _detect(folder: Path, scale_override: dict[str, float], to_depth: bool) -> _Scene | None:
    """Recognise one scene folder (see the module table); ``None`` if it is not a scene."""
    name = folder.name
    key = name.lower()
    # 2014 / 2021
    gt = _first(folder, ["disp0.pfm", "disp0GT.pfm"])
    img = _first(folder, ["im0.png"])
    if gt is not None and img is not None:
        calib = (
            read_middlebury_calib(folder / "calib.txt")
            if (folder / "calib.txt").is_file()
            else None
        )
        return _Scene(name, img, gt, 1.0, calib)
    # 2005 / 2006
    gt = _first(folder, ["disp1.png"])
    if gt is not None:
        img = _first(folder, ["view1.png"])
        if img is None:
            views = sorted(folder.glob("Illum*/Exp*/view1.png"), key=natural_key)
            img = views[len(views) // 2] if views else None
        if img is None:
            raise UserError(
                f"{folder}: disp1.png found but no view1.png (or Illum*/Exp*/view1.png)"
            )
        calib = None
        if to_depth:
            dmin_file = require_file(folder / "dmin.txt", "Middlebury dmin.txt")
            try:
                dmin = float(dmin_file.read_text().split()[0])
            except (ValueError, IndexError):
                raise UserError(f"{dmin_file}: expected a number") from None
            fac = _size_factor(folder)
            f = MIDDLEBURY_2005_FOCAL / fac
            K0 = np.array([[f, 0, np.nan], [0, f, np.nan], [0, 0, 1.0]])
            calib = MiddleburyCalib(K0, dmin / fac, MIDDLEBURY_2005_BASELINE_MM)
        return _Scene(name, img, gt, scale_override.get(key, 1.0), calib)
    # 2001 Tsukuba
    gt = _first(folder, ["truedisp.row3.col3.pgm"])
    if gt is not None:
        img = require_file(folder / "scene1.row3.col3.ppm", "Tsukuba left view")
        return _Scene(name, img, gt, scale_override.get(key, 16.0), None)
    # 2001 / 2003
    gt = _first(folder, ["disp2.pgm", "disp2.png"])
    if gt is not None:
        img = _first(folder, ["im2.ppm", "im2.png"])
        if img is None:
            raise UserError(f"{folder}: {gt.name} found but no im2.ppm / im2.png")
        if key in scale_override:
            s = scale_override[key]
        elif key in KNOWN_DISPARITY_SCALES:
            s = KNOWN_DISPARITY_SCALES[key]
        else:
            raise UserError(
                f"{gt}: unknown stored scale for scene {name!r}; pass disparity_scale={{'{key}': s}}"
            )
        return _Scene(name, img, gt, s, None)
    return None


class MiddleburyDataset(Dataset):
    """Middlebury scenes in their official folder layouts (any year, mixed).

    Layout (one folder per scene, found directly under ``root`` or one level deeper; a scene
    name seen twice, e.g. ``FullSize/Art`` and ``HalfSize/Art``, is named by its relative path
    the second time)::

        root/
          tsukuba/  scene1.row3.col3.ppm  truedisp.row3.col3.pgm            (2001, /16)
          venus/    im2.ppm  disp2.pgm                                      (2001, /8)
          cones/    im2.ppm  disp2.pgm                                      (2003, /4)
          Art/      Illum2/Exp1/view1.png  disp1.png  dmin.txt              (2005/2006, /1)
          Motorcycle-perfect/  im0.png  disp0.pfm  calib.txt                (2014)

    Samples: ``image`` (3, H, W) (cropped to the GT size when larger), ``depth``, ``valid``,
    ``name``, ``unit``, and ``K`` when a 2014 ``calib.txt`` gives it. With ``to_depth=True``
    scenes with a calibration (2014 ``calib.txt``; 2005/2006 ``dmin.txt`` + the published f,
    baseline) give depth in mm (``unit="mm"``); the others, and ``to_depth=False``, give
    disparity in pixels (``unit="disparity_px"``). Mixing units in one dataset raises.

    Args:
        root: folder holding scene folders.
        scenes: scene folder names to keep (default all recognised, sorted).
        to_depth: convert disparity to depth when a calibration exists.
        disparity_scale: per-scene stored scale overrides, ``{"cones": 4}`` (lower-case keys).
    """

    def __init__(
        self,
        root: PathLike,
        scenes: Sequence[str] | None = None,
        to_depth: bool = False,
        disparity_scale: dict[str, float] | None = None,
    ) -> None:
        self.root = require_dir(root, "Middlebury root")
        override = {k.lower(): float(v) for k, v in (disparity_scale or {}).items()}
        cands = [self.root] + sorted(
            (p for p in self.root.iterdir() if p.is_dir()), key=natural_key
        )
        cands += sorted((q for p in cands[1:] for q in p.iterdir() if q.is_dir()), key=natural_key)
        found: dict[str, _Scene] = {}
        for c in cands:
            sc = _detect(c, override, to_depth)
            if sc is None:
                continue
            if sc.name in found:  # e.g. FullSize/Art and HalfSize/Art: name by relative path
                sc = dataclasses.replace(sc, name=c.relative_to(self.root).as_posix())
            found[sc.name] = sc
        if scenes is not None:
            missing = [s for s in scenes if s not in found]
            if missing:
                raise UserError(f"{self.root}: no Middlebury scene folder {missing[0]!r}")
            self.scenes = [found[s] for s in scenes]
        else:
            self.scenes = list(found.values())
        if not self.scenes:
            raise UserError(f"{self.root}: no Middlebury scene found (see the layout table)")
        self.to_depth = to_depth
        units = {self._unit(s) for s in self.scenes}
        if len(units) > 1:
            raise UserError(
                f"{self.root}: scenes mix units {sorted(units)}; select scenes or to_depth=False"
            )

    def _unit(self, s: _Scene) -> str:
        return "mm" if self.to_depth and s.calib is not None else "disparity_px"

    def __len__(self) -> int:
        return len(self.scenes)

    def __getitem__(self, index: int) -> dict[str, Any]:
        s = self.scenes[index]
        dm = dio.read_depth(s.gt, scale=s.scale)
        values, valid = dm.values, dm.valid
        if self.to_depth and s.calib is not None:
            values = s.calib.depth_from_disparity(values, valid)
            valid = values > 0
        depth, valid_t = depth_tensors(values, valid)
        h, w = depth.shape[-2:]
        sample: dict[str, Any] = {
            "image": crop_to(load_rgb(s.image), h, w),
            "depth": depth,
            "valid": valid_t,
            "name": s.name,
            "unit": self._unit(s),
        }
        if s.calib is not None and np.all(np.isfinite(s.calib.K0)):
            sample["K"] = torch.as_tensor(s.calib.K0, dtype=torch.float32)
        return sample


class MiddleburyMatDataset(Dataset):
    """Hole-filled Middlebury GT disparity stored as MATLAB ``.mat`` files.

    Two layouts::

        root/                              (RGB-D, e.g. MSG-Net "testing sets")
          RGB/<scene>.bmp                  left view (may be 1 row / column larger)
          Depth/<scene>_2.mat              variable 'img_double', GT disparity x scale

        root/                              (depth only, e.g. MSG-Net "Depth_filled")
          Df_59.mat Df_60.mat ...          variable 'Df', GT disparity x scale

    The stored maps are scaled like the original GT: scenes named in
    :data:`KNOWN_DISPARITY_SCALES` (tsukuba 16, venus 8, cones / teddy 4) use that scale,
    other files ``default_scale`` (8: Middlebury 2001). Values become disparity in pixels
    (``unit="disparity_px"``). RGB images are cropped to the depth's size. Depth-only samples
    have no ``image``.

    Args:
        root: dataset folder.
        names: stems to keep (``"cones"`` or ``"Df_59"``); default all.
        default_scale: stored scale for files whose scene is not recognised.
        key: ``.mat`` variable name (default ``img_double`` for RGB-D, ``Df`` depth-only; the
            single 2-D array is used when that name is absent).
    """

    def __init__(
        self,
        root: PathLike,
        names: Sequence[str] | None = None,
        default_scale: float = 8.0,
        key: str | None = None,
    ) -> None:
        self.root = require_dir(root, "Middlebury .mat folder")
        self.rgbd = (self.root / "Depth").is_dir()
        depth_dir = self.root / "Depth" if self.rgbd else self.root
        files = sorted(depth_dir.glob("*.mat"), key=natural_key)
        by_name = {f.stem: f for f in files} | {self._scene(f): f for f in files}
        files = select_files(
            files,
            names,
            lambda n: f"{depth_dir}: no .mat file for {n!r}",
            f"{depth_dir}: no .mat files",
            index=by_name,
        )
        self.files = files
        self.default_scale = float(default_scale)
        self.key = key
        if self.rgbd:
            self.images: dict[Path, Path] = {}
            rgb_dir = require_dir(self.root / "RGB", "Middlebury RGB folder")
            for f in files:
                scene = self._scene(f)
                cands = [
                    p
                    for p in rgb_dir.iterdir()
                    if p.stem == scene and p.suffix.lower() in IMAGE_SUFFIXES
                ]
                if not cands:
                    raise UserError(
                        f"{rgb_dir / (scene + '.bmp')}: RGB image for {f.name} not found"
                    )
                self.images[f] = cands[0]

    @staticmethod
    def _scene(f: Path) -> str:
        return re.sub(r"_\d+$", "", f.stem)

    def scale_of(self, f: Path) -> float:
        """Stored scale of a file: known scene scale, else ``default_scale``."""
        return KNOWN_DISPARITY_SCALES.get(self._scene(f).lower(), self.default_scale)

    def __len__(self) -> int:
        return len(self.files)

    def _read(self, f: Path) -> dio.DepthMap:
        key = self.key
        if key is None:
            want = "img_double" if self.rgbd else "Df"
            try:
                return dio.read_depth(f, scale=self.scale_of(f), key=want)
            except dio.DepthIOError as e:
                if f"no variable {want!r}" not in str(e):
                    raise
        return dio.read_depth(f, scale=self.scale_of(f), key=key)

    def __getitem__(self, index: int) -> dict[str, Any]:
        f = self.files[index]
        dm = self._read(f)
        depth, valid = depth_tensors(dm.values, dm.valid)
        sample: dict[str, Any] = {
            "depth": depth,
            "valid": valid,
            "name": self._scene(f) if self.rgbd else f.stem,
            "unit": "disparity_px",
        }
        if self.rgbd:
            h, w = depth.shape[-2:]
            sample["image"] = crop_to(load_rgb(self.images[f]), h, w)
        return sample
