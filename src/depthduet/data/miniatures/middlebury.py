"""The ``middlebury`` miniature: Middlebury 2014 scenes with per-scene calibration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from depthduet import io as dio
from depthduet.data.kitti_calib import _pad4
from depthduet.data.miniatures.common import (
    DEFAULT_SIZES,
    PathLike,
    _check,
    _n_heldout,
    _png,
    _publish,
    _stereo_gt,
    _text,
)

MIDDLEBURY_BASELINE_MM = 193.001
MIDDLEBURY_HFOV = 40.8  # deg: f 3980 px on 2964 px


def write_middlebury(
    out: PathLike,
    n: int = 4,
    size: tuple[int, int] = DEFAULT_SIZES["middlebury"],
    seed: int = 0,
    *,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write ``n`` Middlebury 2014 scenes (``Scene01-perfect`` ...) of the indoor world.

    Scene ``i`` is ``H x (W + 6 (i mod 3))``. Read it with
    :class:`depthduet.data.middlebury.MiddleburyDataset` (disparity in pixels, or depth in mm
    with ``to_depth=True``). The last ``max(1, n // 4)`` scenes are listed as held out.

    Returns:
        ``{"layout": "middlebury", "root", "n", "size", "seed", "files", "paths": {"root"},
        "splits": {"train": [scene folders], "test": [scene folders]}}``.
    """
    h, w = _check(n, size, seed)

    def fill(root: Path) -> dict[str, Any]:
        from depthduet.data.world import WorldConfig, render_sequence, render_view

        names = []
        B = MIDDLEBURY_BASELINE_MM / 1000.0
        for i in range(n):
            wi = w + 6 * (i % 3)
            cfg = WorldConfig(
                height=h, width=wi, hfov_deg=MIDDLEBURY_HFOV, frames=1, stereo=False, lidar_beams=0
            )
            r = render_sequence("indoor", seed + i, cfg)
            K0 = np.round(r["K"], 6)
            depth = r["depths"][0]
            f = float(K0[0, 0])
            zmax = float(depth[depth > 0].max())
            doffs = round(0.5 * f * B / zmax, 3)
            K1 = K0.copy()
            K1[0, 2] += doffs
            T_right = r["poses"][0] @ _pad4(np.eye(3), np.array([B, 0.0, 0.0]))
            right = render_view(r["scene"], K1, T_right, h, wi)
            disp0 = _stereo_gt(depth, right["depth"], f * B, doffs, -1.0)
            disp1 = _stereo_gt(right["depth"], depth, f * B, doffs, 1.0)
            name = f"Scene{i + 1:02d}-perfect"
            scene = root / name
            _png(scene / "im0.png", r["images"][0])
            _png(scene / "im1.png", right["image"])
            dio.write_pfm(scene / "disp0.pfm", disp0)
            dio.write_pfm(scene / "disp1.pfm", disp1)
            known = disp0[np.isfinite(disp0)]
            vmin, vmax = int(np.floor(known.min())), int(np.ceil(known.max()))

            def mat(K: np.ndarray) -> str:
                return f"[{K[0, 0]:.6f} 0 {K[0, 2]:.6f}; 0 {K[1, 1]:.6f} {K[1, 2]:.6f}; 0 0 1]"

            _text(
                scene / "calib.txt",
                [
                    f"cam0={mat(K0)}",
                    f"cam1={mat(K1)}",
                    f"doffs={doffs:.3f}",
                    f"baseline={MIDDLEBURY_BASELINE_MM:.3f}",
                    f"width={wi}",
                    f"height={h}",
                    f"ndisp={int(np.ceil((vmax + 1) / 16) * 16)}",
                    "isint=0",
                    f"vmin={vmin}",
                    f"vmax={vmax}",
                    "dyavg=0",
                    "dymax=0",
                ],
            )
            names.append(name)
        k = _n_heldout(n)
        return {"paths": {"root": "."}, "splits": {"train": names[: n - k], "test": names[n - k :]}}

    return _publish(
        out, overwrite, "middlebury", {"n": int(n), "size": [h, w], "seed": int(seed)}, fill
    )
