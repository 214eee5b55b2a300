"""The ``cityscapes`` miniature: Cityscapes packages (left / right images, disparity, camera
files, sequence frames) unpacked into one root.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from depthduet.data.miniatures.common import (
    DEFAULT_SIZES,
    PathLike,
    _check,
    _n_heldout,
    _png,
    _png16,
    _publish,
    _stereo_gt,
)

CITYSCAPES_BASELINE = 0.22  # m
CITYSCAPES_HFOV = 48.7  # deg: fx 2262 px on 2048 px
CITYSCAPES_FRAME = 19  # annotated frame of each 30-frame snippet
_CITIES = {"train": ("aachen", "bochum", "bremen"), "val": ("frankfurt", "lindau", "munster")}


def _cityscapes_disparity(
    depth: np.ndarray, right: np.ndarray, fx: float, baseline: float
) -> np.ndarray:
    """Cityscapes-encoded disparity of the left view: uint16 ``(H, W)``, ``p = round(256 d) + 1``,
    0 where the right view does not see the pixel or ``d`` is below 1/256 or above 255 px."""
    d = _stereo_gt(depth, right, fx * baseline, 0.0, -1.0).astype(np.float64)
    ok = np.isfinite(d) & (d >= 1.0 / 256.0) & (d < 255.0)
    return np.where(ok, np.round(np.where(ok, d, 0) * 256.0) + 1, 0).astype(np.uint16)


def _cs_path(root: Path, kind: str, split: str, city: str, name: str, suffix: str) -> Path:
    """``root/<kind>/<split>/<city>/<name>_<suffix>``."""
    return root / kind / split / city / f"{name}_{suffix}"


def _camera_record(K: np.ndarray) -> dict[str, Any]:
    """``camera.json`` of a frame with the ``(3, 3)`` intrinsics ``K``: the rig's extrinsics
    (baseline, mounting position) and ``fx fy u0 v0`` in pixels."""
    return {
        "extrinsic": {
            "baseline": CITYSCAPES_BASELINE,
            "pitch": 0.0,
            "roll": 0.0,
            "x": 1.7,
            "y": 0.0,
            "yaw": 0.0,
            "z": 1.2,
        },
        "intrinsic": {
            "fx": float(K[0, 0]),
            "fy": float(K[1, 1]),
            "u0": float(K[0, 2]),
            "v0": float(K[1, 2]),
        },
    }


def write_cityscapes(
    out: PathLike,
    n: int = 4,
    size: tuple[int, int] = DEFAULT_SIZES["cityscapes"],
    seed: int = 0,
    *,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write ``n`` Cityscapes frames (split ``train``, the last ``max(1, n // 4)`` ``val``).

    Each frame is the annotated frame 19 of a snippet, with frames 18 and 20 in
    ``leftImg8bit_sequence``. Read it with :class:`depthduet.data.cityscapes.CityscapesDataset`.

    Returns:
        ``{"layout": "cityscapes", "root", "n", "size", "seed", "files", "paths": {"root"},
        "splits": {"train": [frame names], "val": [frame names]}}``.
    """
    h, w = _check(n, size, seed)

    def fill(root: Path) -> dict[str, Any]:
        from depthduet.data.world import WorldConfig, render_sequence

        k = _n_heldout(n)
        names: dict[str, list[str]] = {"train": [], "val": []}
        cfg = WorldConfig(
            height=h,
            width=w,
            hfov_deg=CITYSCAPES_HFOV,
            frames=3,
            stereo=True,
            baseline=CITYSCAPES_BASELINE,
            lidar_beams=0,
            speed_scale=0.5,
        )
        for i in range(n):
            split = "train" if i < n - k else "val"
            j = i if split == "train" else i - (n - k)
            city = _CITIES[split][j % 3]
            r = render_sequence("driving", seed + i, cfg, stereo_frames=[1], lidar_frames=[])
            K = np.round(r["K"], 6)
            stem = f"{city}_{i:06d}_{CITYSCAPES_FRAME:06d}"

            _png(
                _cs_path(root, "leftImg8bit", split, city, stem, "leftImg8bit.png"), r["images"][1]
            )
            _png(
                _cs_path(root, "rightImg8bit", split, city, stem, "rightImg8bit.png"), r["right"][0]
            )
            for f in range(3):
                seq = f"{city}_{i:06d}_{CITYSCAPES_FRAME - 1 + f:06d}"
                _png(
                    _cs_path(root, "leftImg8bit_sequence", split, city, seq, "leftImg8bit.png"),
                    r["images"][f],
                )
            disp = _cityscapes_disparity(
                r["depths"][1], r["right_depths"][0], float(K[0, 0]), CITYSCAPES_BASELINE
            )
            _png16(_cs_path(root, "disparity", split, city, stem, "disparity.png"), disp)
            p = _cs_path(root, "camera", split, city, stem, "camera.json")
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(json.dumps(_camera_record(K), indent=4) + "\n")
            names[split].append(stem)
        return {"paths": {"root": "."}, "splits": names}

    return _publish(
        out, overwrite, "cityscapes", {"n": int(n), "size": [h, w], "seed": int(seed)}, fill
    )
