"""Where do the METHOD B branches err? AbsRel / RMSE per image region on the world ``val`` split.

For each run folder (last checkpoint) and each depth branch, predictions on the run's own
validation scenes (procedural driving world, as in training) are compared with the dense
rendered depth (``1e-3 < gt < 80`` m, prediction clamped to that range, no median scaling
except for the scale-ambiguous ``N_s`` of ``mode: self, self_sup: M``), pooled over all pixels
of all scenes, in regions:

* ``LiDAR rows``: image rows that hold at least one LiDAR return in that scene (where ``N_u``
  is supervised), ``above``: the rows above them (no LiDAR ever, only view synthesis / distillation);
* ground-truth depth bins ``< 20 m``, ``20-40 m``, ``>= 40 m``.

Usage: ``python experiments/tools/mde_regions.py RUN [RUN ...]`` (folders without checkpoints are skipped).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from depthduet.config import load_config
from depthduet.engine.checkpoint import read_model_info, resolve_checkpoint
from depthduet.inference.mde import DepthPredictor
from depthduet.recipes.mutual import MutualConfig


def predict(predictor: DepthPredictor, images: torch.Tensor) -> np.ndarray:
    """``(N, H, W)`` depth of ``images (N, 3, H, W)``, one image at a time."""
    return np.stack([predictor.predict_tensor(img[None])[0][0, 0].numpy() for img in images])


def lidar_rows(lidar: np.ndarray) -> np.ndarray:
    """``(N, H, 1)``: rows holding at least one LiDAR return in each scene."""
    return (lidar > 0).any(axis=2, keepdims=True)


def region_rows(pred: np.ndarray, gt: np.ndarray, lidar: np.ndarray, median: bool) -> list[str]:
    """``region: AbsRel / RMSE`` cells for ``(N, H, W)`` arrays."""
    valid = (gt > 1e-3) & (gt < 80)
    if median:
        for i in range(len(pred)):
            m = valid[i]
            pred[i] *= np.median(gt[i][m]) / np.median(pred[i][m])
    pred = np.clip(pred, 1e-3, 80)
    rows_lidar = lidar_rows(lidar) & np.ones_like(valid)
    regions = {
        "all": valid,
        "LiDAR rows": valid & rows_lidar,
        "above": valid & ~rows_lidar,
        "< 20 m": valid & (gt < 20),
        "20-40 m": valid & (gt >= 20) & (gt < 40),
        ">= 40 m": valid & (gt >= 40),
    }
    cells = []
    for m in regions.values():
        if not m.any():
            cells.append("-")
            continue
        absrel = np.mean(np.abs(pred[m] - gt[m]) / gt[m])
        rmse = np.sqrt(np.mean((pred[m] - gt[m]) ** 2))
        cells.append(f"{absrel:.3f} / {rmse:.2f}")
    return cells


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    torch.set_num_threads(1)
    from depthduet.data.world import WorldDataset

    cache: dict[tuple, tuple[torch.Tensor, np.ndarray, np.ndarray]] = {}
    print("AbsRel / RMSE (m) per region, pixels pooled over the validation scenes:")
    print("| run | branch | all | LiDAR rows | above | < 20 m | 20-40 m | >= 40 m |")
    print("|---|---|" + "---:|" * 6)
    shares = None
    for arg in argv:
        run = Path(arg)
        if not (run / "checkpoints").is_dir():
            continue
        info = read_model_info(resolve_checkpoint(run, "last"))
        cfg = load_config(MutualConfig, data=dict(info.get("config") or {}))
        if cfg.data.dataset != "world":
            print(f"{run.name}: dataset {cfg.data.dataset!r}, skipped (world only)")
            continue
        key = (cfg.data.kind, cfg.data.val_size, cfg.data.world.height, cfg.data.world.width)
        if key not in cache:
            ds = WorldDataset(cfg.data.kind, "val", n=cfg.data.val_size, cfg=cfg.data.world)
            samples = [ds[i] for i in range(len(ds))]
            cache[key] = (
                torch.stack([s["image"] for s in samples]),
                np.stack([s["depth"][0].numpy() for s in samples]).astype(np.float64),
                np.stack([s["lidar"][0].numpy() for s in samples]),
            )
        images, gt, lidar = cache[key]
        if shares is None:
            valid = (gt > 1e-3) & (gt < 80)
            shares = (valid & lidar_rows(lidar)).sum() / valid.sum()
        for name in sorted(n for n in info.get("networks") or {} if n.startswith("depth_")):
            branch = name.split("_", 1)[1]
            predictor = DepthPredictor.from_checkpoint(run, branch, prefer="last")
            pred = predict(predictor, images).astype(np.float64)
            cells = region_rows(pred, gt, lidar, predictor.scale_ambiguous)
            print(f"| {run.name} | N_{branch} | " + " | ".join(cells) + " |")
    if shares is not None:
        print(f"\nLiDAR rows hold {shares:.0%} of the evaluated pixels, `above` the rest.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
