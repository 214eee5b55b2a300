"""Pin-hole intrinsics of users' data: :class:`CameraInfo` and the files :func:`read_camera`
reads (see :mod:`depthduet.data.folder` for the accepted contents).

Re-exported by :mod:`depthduet.data.folder`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from depthduet.data.folder_files import PathLike, require_file
from depthduet.errors import UserError

__all__ = ["CameraInfo", "check_intrinsics", "intrinsics_matrix", "read_camera"]


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
