"""Where do the METHOD B branches err? AbsRel / RMSE per image region on the world ``val`` split.

For each run folder (last checkpoint) and each depth branch, predictions on the run's own
validation scenes (procedural driving world, as in training) are compared with the dense
rendered depth (``1e-3 < gt < 80`` m, prediction clamped to that range, no median scaling
except for the scale-ambiguous ``N_s`` of ``mode: self, self_sup: M``), pooled over all pixels
of all scenes, in regions:

* ``LiDAR rows``: image rows that hold at least one LiDAR return in that scene (where ``N_u``
  is supervised), ``above``: the rows above them (no LiDAR ever, only view synthesis / distillation);
* ground-truth depth bins ``< 20 m``, ``20-40 m``, ``>= 40 m``.

Usage: ``python benchmarks/mde_regions.py RUN [RUN ...]`` (folders without checkpoints are skipped).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from depthduet.config import load_config
from depthduet.engine.checkpoint import load_checkpoint
from depthduet.models.mde import disp_to_depth
from depthduet.recipes.mutual import MutualConfig, build_depth_net, is_scale_ambiguous


def predict(net: torch.nn.Module, images: torch.Tensor, d_min: float, d_max: float) -> np.ndarray:
    """``(N, H, W)`` depth of ``images (N, 3, H, W)``, one image at a time."""
    out = []
    with torch.no_grad():
        for img in images:
            o = net(img[None])
            out.append(disp_to_depth(o["disp"][0], d_min, d_max)[0, 0].numpy())
    return np.stack(out)


def region_rows(pred: np.ndarray, gt: np.ndarray, lidar: np.ndarray, median: bool) -> list[str]:
    """``region: AbsRel / RMSE`` cells for ``(N, H, W)`` arrays."""
    valid = (gt > 1e-3) & (gt < 80)
    if median:
        for i in range(len(pred)):
            m = valid[i]
            pred[i] *= np.median(gt[i][m]) / np.median(pred[i][m])
    pred = np.clip(pred, 1e-3, 80)
    rows_lidar = (lidar > 0).any(axis=2, keepdims=True) & np.ones_like(valid)
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
        cfg_dict, weights = load_checkpoint(run, prefer="last")
        cfg = load_config(MutualConfig, data=cfg_dict)
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
            rows_lidar = (lidar > 0).any(axis=2, keepdims=True) & np.ones_like(valid)
            shares = (valid & rows_lidar).sum() / valid.sum()
        for name in sorted(weights):
            if not name.startswith("depth_"):
                continue
            branch = name.split("_", 1)[1]
            net = build_depth_net(cfg.model, load_imagenet=False)
            net.load_state_dict(weights[name])
            net.eval()
            pred = predict(net, images, cfg.model.d_min, cfg.model.d_max).astype(np.float64)
            cells = region_rows(pred, gt, lidar, is_scale_ambiguous(cfg, branch))
            print(f"| {run.name} | N_{branch} | " + " | ".join(cells) + " |")
    if shares is not None:
        print(f"\nLiDAR rows hold {shares:.0%} of the evaluated pixels, `above` the rest.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
