"""RMSE of depth super-resolution on a fixed world test split (METHOD A results table).

Scores the bicubic baseline and any number of trained DSRNet checkpoints on the same maps:
the first ``--n`` scenes of the procedural world's ``test`` split (seeds 200000, 200001, ...;
never used by training, which draws seeds 0.. and validates on 100000..), whole 128x160 maps
(cropped at the bottom/right to a multiple of the scale), LR made from the HR map by
:func:`depthduet.evaluation.baselines.downsample_depth` (``--degradation bicubic``: antialiased
bicubic, or ``nearest``; as ``depthduet evaluate --lr-from``). Every method goes through
:class:`depthduet.inference.dsr.DepthUpsampler`, the code path of ``depthduet upsample`` /
``depthduet evaluate --checkpoint``, so the baseline and the networks share normalisation, hole
filling, tiling and the output clamp. With ``--merge`` the ``--json`` report accumulates: rows
already there are kept while the report is newer than their checkpoint, and only the other
checkpoints are scored (the table scripts of ``experiments/`` share one report per scale).

Metrics per map on the valid HR pixels (metres), then the mean over maps:
``rmse = sqrt(mean((pred - gt)^2))`` and ``mae = mean(|pred - gt|)``.

Example::

    python experiments/tools/dsr_world_test.py --scale 4 --n 32 \\
        --ckpt wo_ct_320=runs/exp_dsr/x4_wo_ct_320 --ckpt full_320=runs/exp_dsr/x4_full_320 \\
        --json runs/exp_dsr/eval/world_test_x4.json --merge
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from _common import newer_than_checkpoint


def world_test_maps(n: int, kind: str = "indoor") -> list[tuple[str, np.ndarray, np.ndarray]]:
    """The first ``n`` scenes of the world ``test`` split: ``(name, depth (H, W), valid (H, W))``
    with depth in metres."""
    from depthduet.data.world import WorldConfig, WorldDataset

    ds = WorldDataset(
        kind, split="test", n=n, cfg=WorldConfig(frames=1, stereo=False, lidar_beams=0)
    )
    out = []
    for i in range(n):
        s = ds[i]
        d = torch.as_tensor(s["depth"]).float().reshape(s["depth"].shape[-2:])
        v = (
            torch.as_tensor(s["valid"]).bool().reshape(d.shape)
            if s.get("valid") is not None
            else torch.isfinite(d) & (d > 0)
        )
        out.append((str(s.get("name", f"test{i}")), d.numpy(), v.numpy()))
    return out


def score_map(
    upsampler: object, values: np.ndarray, valid: np.ndarray, scale: int, degradation: str
) -> dict[str, float]:
    """RMSE / MAE of one method on one ground-truth map ``values (H, W)`` (0 where ``valid`` is
    False), in the map's units: crop at the bottom / right to a multiple of ``scale``, LR by
    :func:`depthduet.evaluation.baselines.downsample_depth`, upsample, then score the pixels
    valid in the ground truth and in the output (an output pixel is invalid exactly where its
    LR pixel is, so every method is scored on the same pixels). Also ``pixels``: their count."""
    from depthduet.evaluation.baselines import downsample_depth

    h, w = (values.shape[0] // scale) * scale, (values.shape[1] // scale) * scale
    gt = np.asarray(values[:h, :w], dtype=np.float64)
    gv = np.asarray(valid[:h, :w], dtype=bool)
    lr, lv = downsample_depth(gt, gv, scale, degradation)
    out = upsampler.upsample(lr, lv)  # type: ignore[attr-defined]
    pred = np.asarray(out.values, dtype=np.float64)
    sel = gv & np.asarray(out.valid, bool)
    err = pred[sel] - gt[sel]
    return {
        "rmse": float(np.sqrt(np.mean(err**2))),
        "mae": float(np.mean(np.abs(err))),
        "pixels": int(sel.sum()),
    }


def score(
    upsampler: object,
    maps: list[tuple[str, np.ndarray, np.ndarray]],
    scale: int,
    degradation: str,
) -> dict[str, float]:
    """Mean over maps of per-map RMSE / MAE (metres) of ``upsampler`` on ``maps``
    (:func:`score_map` each)."""
    rows = [score_map(upsampler, np.where(v, d, 0.0), v, scale, degradation) for _, d, v in maps]
    return {
        "rmse": float(np.mean([r["rmse"] for r in rows])),
        "mae": float(np.mean([r["mae"] for r in rows])),
        "maps": len(maps),
    }


def reusable_rows(path: Path, meta: dict[str, object]) -> tuple[dict, dict[str, str]]:
    """The rows of an earlier report at ``path`` that ``--merge`` keeps: same ``meta`` (scale,
    maps, kind, LR), and per checkpoint row the report newer than every checkpoint file.
    Returns ``(rows, {label: run folder})``."""
    if not path.is_file():
        return {}, {}
    old = json.loads(path.read_text())
    if any(old.get(k) != v for k, v in meta.items()):
        return {}, {}
    specs = dict(spec.partition("=")[::2] for spec in old.get("checkpoints", []))
    rows = {
        k: r
        for k, r in old["rows"].items()
        if k == "bicubic" or (k in specs and newer_than_checkpoint(path, specs[k]))
    }
    return rows, {k: specs[k] for k in rows if k != "bicubic"}


def main() -> int:
    """Parse the options, score the baseline and each checkpoint, print and write JSON."""
    from depthduet.inference.dsr import DepthUpsampler

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", type=int, required=True)
    p.add_argument("--n", type=int, default=32, help="number of test-split scenes")
    p.add_argument("--kind", default="indoor")
    p.add_argument("--degradation", default="bicubic", choices=["bicubic", "nearest"])
    p.add_argument("--ckpt", action="append", default=[], help="LABEL=RUN_FOLDER (best checkpoint)")
    p.add_argument("--json", help="write the results here")
    p.add_argument(
        "--merge",
        action="store_true",
        help="keep the rows of the --json report already there (same scale, n, kind, LR; report "
        "newer than the checkpoint), score only the other checkpoints, write the union",
    )
    a = p.parse_args()
    torch.set_num_threads(1)
    t0 = time.time()
    meta = {"scale": a.scale, "n": a.n, "kind": a.kind, "degradation": a.degradation}
    kept, specs = reusable_rows(Path(a.json), meta) if a.merge and a.json else ({}, {})
    wanted = dict(spec.partition("=")[::2] for spec in a.ckpt)
    todo = {k: v for k, v in wanted.items() if k not in kept or specs[k] != v}
    rows = {"bicubic": kept.pop("bicubic", None)} if "bicubic" in kept else {}
    if todo or not rows:
        maps = world_test_maps(a.n, a.kind)
        up = DepthUpsampler.bicubic(a.scale, device="cpu")
        rows = {"bicubic": score(up, maps, a.scale, a.degradation)}
        for label, path in todo.items():
            up = DepthUpsampler.from_checkpoint(path, device="cpu")
            kept[label] = score(up, maps, a.scale, a.degradation)
            specs[label] = path
    rows.update(kept)
    bic = rows["bicubic"]["rmse"]
    print(
        f"world {a.kind} test split, first {a.n} scenes (seeds 200000..), x{a.scale}, "
        f"LR: {a.degradation}; {len(todo)} checkpoint(s) scored, {len(wanted) - len(todo)} kept"
    )
    print(f"{'method':40s} {'RMSE (m)':>9s} {'MAE (m)':>9s} {'/bicubic':>9s}")
    for k in ["bicubic", *wanted]:
        r = rows[k]
        print(f"{k:40s} {r['rmse']:9.4f} {r['mae']:9.4f} {r['rmse'] / bic:9.3f}")
    print(f"wall time {time.time() - t0:.1f} s")
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        rec = {
            **meta,
            "split": "test",
            "rows": rows,
            "checkpoints": [f"{k}={v}" for k, v in specs.items()],
        }
        Path(a.json).write_text(json.dumps(rec, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
