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
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch.utils.data import Dataset

from depthduet import io as dio
from depthduet.errors import UserError

__all__ = [
    "CameraInfo",
    "read_camera",
    "intrinsics_matrix",
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

PathLike = str | os.PathLike[str]

#: suffixes :func:`depthduet.io.read_depth` understands.
DEPTH_SUFFIXES: tuple[str, ...] = dio.DEPTH_SUFFIXES
#: colour image suffixes.
IMAGE_SUFFIXES: tuple[str, ...] = dio.IMAGE_SUFFIXES


# ----------------------------------------------------------------------------------------------
# small shared helpers
# ----------------------------------------------------------------------------------------------
def require_file(path: PathLike, what: str = "file") -> Path:
    """Return ``Path(path)`` or raise :class:`UserError` naming the missing ``what``."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: {what} not found")
    return p


def require_dir(path: PathLike, what: str = "folder") -> Path:
    """Return ``Path(path)`` or raise :class:`UserError` naming the missing folder."""
    p = Path(path)
    if not p.is_dir():
        raise UserError(f"{p}: {what} not found (expected a directory)")
    return p


def list_files(
    folder: PathLike, suffixes: Sequence[str], *, broken_links: bool = False
) -> list[Path]:
    """Files directly in ``folder`` whose suffix (case-insensitive) is in ``suffixes``, sorted
    in natural order (``f2`` before ``f10``).

    ``broken_links=True`` also lists links that point nowhere (dangling or looping), so that a
    command processing the folder file by file reports them instead of skipping them silently.
    """
    folder = require_dir(folder)
    files = [
        p
        for p in folder.iterdir()
        if (p.is_file() or (broken_links and p.is_symlink() and not p.exists()))
        and p.suffix.lower() in suffixes
    ]
    return sorted(files, key=natural_key)


def natural_key(p: PathLike) -> list[Any]:
    """Sort key treating digit runs as numbers: ``Df_2`` < ``Df_10``."""
    name = Path(p).name
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def pick_named(
    available: dict[str, Any], names: Sequence[str], error: Callable[[str], str]
) -> list[Any]:
    """``[available[n] for n in names]``; the first missing name raises ``UserError(error(name))``
    (each loader words the message for its own layout)."""
    missing = [n for n in names if n not in available]
    if missing:
        raise UserError(error(missing[0]))
    return [available[n] for n in names]


def neighbour_keys(offsets: Sequence[int]) -> dict[int, str]:
    """Sample-dict tags of temporal neighbours: the nearest earlier frame is ``prev``, the nearest
    later frame ``next``, any further one ``+2``, ``-3``... (keys ``image_<tag>``, ``T_<tag>_tgt``).

    >>> neighbour_keys((-2, -1, 1))
    {-2: '-2', -1: 'prev', 1: 'next'}
    """
    prev = max((o for o in offsets if o < 0), default=None)
    nxt = min((o for o in offsets if o > 0), default=None)
    return {o: "prev" if o == prev else "next" if o == nxt else f"{o:+d}" for o in offsets}


def image_tensor(img: np.ndarray) -> torch.Tensor:
    """``(H, W, 3)`` or ``(H, W)`` float array in [0, 1] -> float32 tensor (grey images are
    repeated over the three channels).

    Returns:
        ``(3, H, W)`` float32 tensor.
    """
    a = np.asarray(img, dtype=np.float32)
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise ValueError(f"expected an (H, W, 3) image, got shape {a.shape}")
    return torch.from_numpy(np.ascontiguousarray(a[:, :, :3].transpose(2, 0, 1)))


def depth_tensors(
    values: np.ndarray, valid: np.ndarray | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(H, W)`` depth values (+ optional validity) -> depth and validity tensors.

    Non-finite values and values <= 0 are invalid.

    Returns:
        ``(depth, valid)``: ``depth`` ``(1, H, W)`` float32 with 0 where invalid, ``valid``
        ``(1, H, W)`` bool.
    """
    v = np.asarray(values, dtype=np.float32)
    ok = np.isfinite(v) & (v > 0)
    if valid is not None:
        ok &= np.asarray(valid, dtype=bool)
    v = np.where(ok, v, np.float32(0)).astype(np.float32)
    return torch.from_numpy(v[None].copy()), torch.from_numpy(ok[None].copy())


def load_rgb(path: PathLike) -> torch.Tensor:
    """Read a colour (or grey) image file as a tensor in [0, 1].

    Returns:
        ``(3, H, W)`` float32 tensor.
    """
    p = require_file(path, "image")
    return image_tensor(dio.read_image(p))


def crop_to(t: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Crop the bottom rows / right columns of ``t`` ``(..., H, W)`` so it is
    ``height x width``.

    Raises ``UserError`` if ``t`` is smaller than the requested size.

    Returns:
        ``(..., height, width)`` view of ``t``.
    """
    h, w = t.shape[-2:]
    if h < height or w < width:
        raise UserError(f"cannot crop a {h}x{w} array to {height}x{width}")
    return t[..., :height, :width]


def resize_image(img: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize ``img`` ``(C, H, W)`` to ``size = (h, w)`` (bilinear, antialiased when shrinking,
    pixel-centre aligned), clamped to [0, 1].

    Returns:
        ``(C, h, w)`` image; the input itself when the size already matches.
    """
    if tuple(img.shape[-2:]) == tuple(size):
        return img
    out = torch.nn.functional.interpolate(
        img[None], size=tuple(size), mode="bilinear", align_corners=False, antialias=True
    )
    return out[0].clamp_(0, 1)


def resize_intrinsics(K: np.ndarray, src: tuple[int, int], dst: tuple[int, int]) -> np.ndarray:
    """Intrinsics ``(3, 3)`` of an image resized from ``src = (H, W)`` to ``dst = (h, w)``:
    ``u' + 0.5 = (w / W) (u + 0.5)`` (pixel centres, as :func:`depthduet.geometry.scale_intrinsics`)."""
    sx, sy = dst[1] / src[1], dst[0] / src[0]
    S = np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1.0]])
    return S @ np.asarray(K, dtype=np.float64)


def resize_depth_nearest(
    depth: torch.Tensor, valid: torch.Tensor, size: tuple[int, int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Resize ``depth (1, H, W)`` / ``valid (1, H, W)`` to ``size`` by nearest-pixel sampling
    (no interpolation across depth edges or into holes).

    Returns:
        ``(depth, valid)``, each ``(1, h, w)`` with ``size = (h, w)``.
    """
    if tuple(depth.shape[-2:]) == tuple(size):
        return depth, valid
    d = torch.nn.functional.interpolate(depth[None], size=tuple(size), mode="nearest-exact")[0]
    v = torch.nn.functional.interpolate(
        valid[None].float(), size=tuple(size), mode="nearest-exact"
    )[0]
    v = v > 0.5
    return torch.where(v, d, torch.zeros_like(d)), v


# ----------------------------------------------------------------------------------------------
# intrinsics
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CameraInfo:
    """Pin-hole intrinsics of a camera, with the stereo baseline when known.

    Attributes:
        K: ``(3, 3)`` float64 intrinsics in pixels (0-based pixel centres).
        baseline: stereo baseline in metres, or ``None``.
    """

    K: np.ndarray
    baseline: float | None = None

    def K_tensor(self) -> torch.Tensor:
        """``K`` as a float32 tensor.

        Returns:
            ``(3, 3)`` intrinsics.
        """

        return torch.as_tensor(self.K, dtype=torch.float32)


def check_intrinsics(K: np.ndarray, source: str) -> np.ndarray:
    """Validate a pin-hole matrix: ``(3, 3)``, finite, focal lengths ``fx, fy > 0`` (a negative
    one mirrors the point cloud, NaN spoils it) and a last row ``[0, 0, 1]``.

    Args:
        K: the matrix. source: what to name in the error (a file, ``--K``).

    Returns:
        ``K`` as ``(3, 3)`` float64.

    Raises:
        UserError: naming ``source`` and the problem.
    """
    K = np.asarray(K, dtype=np.float64)
    if K.shape != (3, 3):
        raise UserError(f"{source}: intrinsics must be a 3x3 matrix, got shape {K.shape}")
    if not np.isfinite(K).all():
        raise UserError(f"{source}: intrinsics hold NaN or infinity")
    if not (K[0, 0] > 0 and K[1, 1] > 0):
        raise UserError(
            f"{source}: focal lengths must be > 0 (fx={K[0, 0]:g}, fy={K[1, 1]:g}); a negative "
            "one would mirror the point cloud"
        )
    if not np.allclose(K[2], [0.0, 0.0, 1.0]) or K[1, 0] != 0:
        raise UserError(
            f"{source}: not a pin-hole matrix (last row {K[2].tolist()}, expected [0, 0, 1])"
        )
    return K


def intrinsics_matrix(fx: float, fy: float, cx: float, cy: float) -> np.ndarray:
    """``(3, 3)`` float64 ``[[fx, 0, cx], [0, fy, cy], [0, 0, 1]]``."""
    return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]], dtype=np.float64)


def _lookup(d: dict[str, Any], names: Sequence[str]) -> Any:
    for n in names:
        for prefix in ("", "Camera.", "camera.", "Camera1.", "cam0."):
            if prefix + n in d:
                return d[prefix + n]
    return None


def _camera_from_mapping(d: dict[str, Any], path: Path) -> CameraInfo:
    if "intrinsic" in d and isinstance(d["intrinsic"], dict):  # Cityscapes camera.json
        intr = d["intrinsic"]
        try:
            K = intrinsics_matrix(intr["fx"], intr["fy"], intr["u0"], intr["v0"])
        except KeyError as e:
            raise UserError(f"{path}: 'intrinsic' lacks key {e.args[0]!r}") from None
        base = (
            d.get("extrinsic", {}).get("baseline") if isinstance(d.get("extrinsic"), dict) else None
        )
        return CameraInfo(K, None if base is None else float(base))
    kval = _lookup(d, ["K", "intrinsics", "camera_matrix"])
    if kval is not None:
        if isinstance(kval, dict) and "data" in kval:  # OpenCV FileStorage matrix
            kval = kval["data"]
        K = np.asarray(kval, dtype=np.float64).reshape(-1)
        if K.size != 9:
            raise UserError(f"{path}: 'K' must hold 9 numbers, got {K.size}")
        K = K.reshape(3, 3)
    else:
        vals = [_lookup(d, [n]) for n in ("fx", "fy", "cx", "cy")]
        if any(v is None for v in vals):
            missing = [n for n, v in zip(("fx", "fy", "cx", "cy"), vals) if v is None]
            raise UserError(f"{path}: no intrinsics: missing {', '.join(missing)} (or 'K')")
        K = intrinsics_matrix(*(float(v) for v in vals))
    baseline = _lookup(d, ["baseline"])
    if baseline is None:
        bf = _lookup(d, ["bf"])
        if bf is not None:
            baseline = float(bf) / float(check_intrinsics(K, str(path))[0, 0])  # fx > 0
    return CameraInfo(K, None if baseline is None else float(baseline))


def read_camera(path: PathLike) -> CameraInfo:
    """Read intrinsics (and a stereo baseline when present) from a text, YAML or JSON file.

    See the module docstring for the accepted contents. Raises ``UserError`` naming the file
    when it is missing or holds no intrinsics.
    """
    p = require_file(path, "intrinsics file")
    suffix = p.suffix.lower()
    try:
        text = p.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"{p}: cannot read intrinsics: {e}") from None
    if suffix in (".yaml", ".yml", ".json"):
        try:
            if suffix == ".json":
                d = json.loads(text)
            else:  # OpenCV FileStorage YAML starts with a %YAML directive yaml cannot parse
                d = yaml.safe_load(re.sub(r"^%YAML.*\n", "", text).replace("!!opencv-matrix", ""))
        except (json.JSONDecodeError, yaml.YAMLError) as e:
            raise UserError(
                f"{p}: not valid {suffix[1:].upper()}: {str(e).splitlines()[0]}"
            ) from None
        if not isinstance(d, dict):
            raise UserError(f"{p}: expected a mapping of intrinsics")
        try:
            cam = _camera_from_mapping(d, p)
        except (TypeError, ValueError, OverflowError) as e:  # a list, text or 1e400 for a number
            msg = (str(e).splitlines() or [""])[0] or type(e).__name__
            raise UserError(f"{p}: intrinsics must be numbers: {msg}") from None
        check_intrinsics(cam.K, str(p))
        return cam
    try:
        nums = np.array([float(t) for t in re.split(r"[\s,;\[\]]+", text) if t], dtype=np.float64)
    except ValueError:
        raise UserError(f"{p}: expected 9 numbers (K) or 4 numbers (fx fy cx cy)") from None
    if nums.size == 9:
        return CameraInfo(check_intrinsics(nums.reshape(3, 3), str(p)))
    if nums.size == 4:
        return CameraInfo(check_intrinsics(intrinsics_matrix(*nums), str(p)))
    raise UserError(f"{p}: expected 9 numbers (K) or 4 numbers (fx fy cx cy), got {nums.size}")


def _resolve_camera(
    intrinsics: PathLike | np.ndarray | CameraInfo | None, root: Path
) -> CameraInfo | None:
    if intrinsics is None:
        for name in ("intrinsics.txt", "intrinsics.yaml", "intrinsics.json", "camera.json"):
            if (root / name).is_file():
                return read_camera(root / name)
        return None
    if isinstance(intrinsics, CameraInfo):
        return intrinsics
    if isinstance(intrinsics, (str, os.PathLike)):
        p = Path(intrinsics)
        return read_camera(p if p.is_absolute() or p.exists() else root / p)
    return CameraInfo(check_intrinsics(intrinsics, "intrinsics"))


def _read_names(names: PathLike | Sequence[str] | None) -> list[str] | None:
    if names is None:
        return None
    if isinstance(names, (str, os.PathLike)):
        from depthduet.data.splits import read_split

        return read_split(names)
    return [str(n) for n in names]


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
        wanted = _read_names(names)
        if wanted is not None:
            files = pick_named(
                {p.stem: p for p in files},
                wanted,
                lambda n: f"{self.root}: no depth map named {n!r}",
            )
        if not files:
            raise UserError(f"{self.root}: no depth maps matching {pattern or 'a depth suffix'}")
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
        self.offsets = tuple(int(o) for o in offsets)
        if 0 in self.offsets:
            raise UserError("offsets must not contain 0 (the target frame)")
        self.stereo_format = stereo_format
        self.baseline = baseline if baseline is not None else cam.baseline
        if stereo_format is not None and self.baseline is None:
            raise UserError("stereo_format given but no baseline (pass baseline= or bf/baseline)")
        self.frames = frames
        self.targets: list[int] = []
        for t in sorted(frames):
            if not all(t + o in frames for o in self.offsets):
                continue
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
