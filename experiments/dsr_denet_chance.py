"""Chance level of DENet's target (docs/results/dsr.md): the normalised L1 error of constant
predictions on random world training crops, normalised as the ``ctkt`` recipe does.

128 random 64x64 HR crops (4 per scene, 32 indoor ``train`` scenes, generator seed 0), LR by
antialiased bicubic x4 downsampling, ``lo``/``hi`` = min/max of the LR crop, target
``(hr - lo) / (hi - lo)``. Prints the mean error of predicting 0.5, of the per-crop median
(an oracle), and of the median pooled over all crops.

Usage: ``python experiments/dsr_denet_chance.py`` (no training; about 15 s on a 2-core CPU
shared with two training runs, most of it rendering the 32 scenes).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from depthduet.data.world import WorldDataset


def main() -> int:
    ds = WorldDataset("indoor", "train", n=32)
    g = torch.Generator().manual_seed(0)
    crops = []
    for i in range(len(ds)):
        d = ds[i]["depth"][None]
        h, w = d.shape[-2:]
        for _ in range(4):
            y = int(torch.randint(0, h - 64 + 1, (1,), generator=g))
            x = int(torch.randint(0, w - 64 + 1, (1,), generator=g))
            c = d[..., y : y + 64, x : x + 64]
            lr = F.interpolate(c, scale_factor=0.25, mode="bicubic", antialias=True)
            lo, hi = lr.min(), lr.max()
            crops.append(((c - lo) / (hi - lo).clamp_min(1e-6)).flatten())
    pooled = torch.cat(crops).median()
    half = np.mean([(n - 0.5).abs().mean().item() for n in crops])
    oracle = np.mean([(n - n.median()).abs().mean().item() for n in crops])
    glob = np.mean([(n - pooled).abs().mean().item() for n in crops])
    print(
        f"{len(crops)} crops: constant 0.5 -> {half:.3f}, per-crop median (oracle) -> "
        f"{oracle:.3f}, pooled median {pooled:.3f} -> {glob:.3f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
