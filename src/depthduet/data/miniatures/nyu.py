"""The ``nyu-v2-mat`` miniature: the labelled NYU Depth v2 file and its ``splits.mat``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from depthduet.data.miniatures.common import (
    DEFAULT_SIZES,
    PathLike,
    _check,
    _n_heldout,
    _publish,
)

NYU_HFOV = 63.3  # deg: fx 518.9 px on 640 px
_MAT_HEADER = "MATLAB {v} MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024"


def _mat_header(path: Path, version: str) -> None:
    """Overwrite the first 116 bytes (the text of a MATLAB header) with a fixed text, so that
    the file does not depend on the time it was written."""
    text = _MAT_HEADER.format(v=version)
    if version == "7.3":
        text += " HDF5 schema 1.00 ."
    raw = text.encode("ascii").ljust(116, b" ")
    with open(path, "r+b") as f:
        if version == "7.3":
            f.write(raw + b"\x00" * 8 + b"\x00\x02" + b"IM")
        else:
            f.write(raw)


def write_nyu_v2_mat(
    out: PathLike,
    n: int = 4,
    size: tuple[int, int] = DEFAULT_SIZES["nyu-v2-mat"],
    seed: int = 0,
    *,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write a labelled NYU Depth v2 file of ``n`` indoor frames and its ``splits.mat``.

    The first ``n - max(1, n // 4)`` frames are ``trainNdxs``, the others ``testNdxs``. Read it
    with :class:`depthduet.data.nyu.NYUv2MatDataset` (``split="train"``, ``scheme="official"``,
    ``splits_mat=`` the ``splits`` path).

    Returns:
        ``{"layout": "nyu-v2-mat", "root", "n", "size", "seed", "files", "paths": {"mat",
        "splits"}, "splits": {"train": [1-based indices], "test": [...]}}``.
    """
    h, w = _check(n, size, seed)

    def fill(root: Path) -> dict[str, Any]:
        import h5py
        import scipy.io

        from depthduet.data.world import WorldConfig, render_sequence

        cfg = WorldConfig(
            height=h,
            width=w,
            hfov_deg=NYU_HFOV,
            frames=1,
            stereo=False,
            lidar_beams=0,
            depth_noise=0.004,
            grazing_cos=0.12,
        )
        images = np.zeros((n, 3, w, h), np.uint8)
        depths = np.zeros((n, w, h), np.float32)
        raw = np.zeros((n, w, h), np.float32)
        for i in range(n):
            r = render_sequence("indoor", seed + i, cfg)
            rgb = np.round(np.clip(r["images"][0], 0, 1) * 255).astype(np.uint8)
            images[i] = rgb.transpose(2, 1, 0)  # MATLAB H x W x 3 -> HDF5 3 x W x H
            depths[i] = r["depths"][0].T
            raw[i] = r["sensor"][0].T
        mat = root / "nyu_depth_v2_labeled.mat"
        with h5py.File(mat, "w", userblock_size=512, track_order=True) as f:
            for key, arr, cls in (
                ("images", images, "uint8"),
                ("depths", depths, "single"),
                ("rawDepths", raw, "single"),
            ):
                ds = f.create_dataset(key, data=arr, track_times=False)
                ds.attrs["MATLAB_class"] = np.bytes_(cls)
        _mat_header(mat, "7.3")
        k = _n_heldout(n)
        train = list(range(1, n - k + 1))
        test = list(range(n - k + 1, n + 1))
        splits = root / "splits.mat"
        scipy.io.savemat(
            splits,
            {
                "trainNdxs": np.array(train, np.float64)[:, None],
                "testNdxs": np.array(test, np.float64)[:, None],
            },
        )
        _mat_header(splits, "5.0")
        return {
            "paths": {"mat": mat.name, "splits": splits.name},
            "splits": {"train": train, "test": test},
        }

    return _publish(
        out, overwrite, "nyu-v2-mat", {"n": int(n), "size": [h, w], "seed": int(seed)}, fill
    )
