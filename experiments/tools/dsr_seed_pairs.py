"""Paired comparison of two METHOD A run families over seeds (docs/results/dsr.md).

Two runs with the same seed share DSRNet's initial weights and the training crops (the engine
seeds torch after building the networks; the DSR training step draws no random numbers), so the
per-seed difference is the effect of the method, and its spread over seeds is the noise.

Reads the world test report of ``experiments/tools/dsr_world_test.py`` (its row labels must be
the run names) and the real-scene reports ``<eval>/x{s}_{run}_{scene}.json`` of ``depthduet
evaluate`` (``real_scenes`` of ``experiments/_lib.sh``), and prints, per seed and on average,
world test RMSE / MAE and the mean RMSE over Middlebury cones/teddy and Sintel Df_1/20/28/58 for
both families, the relative difference B vs A, how many seeds B wins, and the mean paired
difference with its standard error. Run names: ``{seed}`` is the seed, ``{_seed}`` is empty for
seed 0 and ``_seedN`` otherwise.

Example::

    python experiments/tools/dsr_seed_pairs.py --eval runs/exp_dsr/eval --scale 4 \\
        --world runs/exp_dsr/eval/world_test_x4.json --seeds 0 1 2 3 4 5 \\
        --a "small_wo_ct_320_seed{seed}" --b "small_full_headsup_320_seed{seed}"
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from _common import MIDDLEBURY, SINTEL, real_scene_mean, run_name

METRICS = ("world_rmse", "world_mae", "middlebury", "sintel")


def scores(folder: Path, world: dict, scale: int, run: str) -> dict[str, float]:
    """World test RMSE / MAE (metres) and mean real-scene RMSE of one run (NaN when missing)."""
    w = world["rows"].get(run, {})
    return {
        "world_rmse": float(w.get("rmse", math.nan)),
        "world_mae": float(w.get("mae", math.nan)),
        "middlebury": real_scene_mean(folder, scale, run, MIDDLEBURY),
        "sintel": real_scene_mean(folder, scale, run, SINTEL),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--eval", type=Path, default=Path("runs/exp_dsr/eval"))
    ap.add_argument("--world", type=Path, required=True, help="dsr_world_test.py --json report")
    ap.add_argument("--scale", type=int, default=4)
    ap.add_argument("--seeds", type=int, nargs="+", required=True)
    ap.add_argument(
        "--a",
        required=True,
        help="run name of the baseline, with {seed} or {_seed} ('' for seed 0, else _seedN)",
    )
    ap.add_argument("--b", required=True, help="run name of the compared method, as --a")
    args = ap.parse_args(argv)
    world = json.loads(args.world.read_text())
    a = {s: scores(args.eval, world, args.scale, run_name(args.a, s)) for s in args.seeds}
    b = {s: scores(args.eval, world, args.scale, run_name(args.b, s)) for s in args.seeds}
    print(f"A = {args.a}   B = {args.b}   x{args.scale}, seeds {args.seeds}")
    print("seed  " + "  ".join(f"{m:>26s}" for m in METRICS))
    for s in args.seeds:
        cells = [
            f"{a[s][m]:.4f} {b[s][m]:.4f} {100 * (b[s][m] / a[s][m] - 1):+5.1f}%" for m in METRICS
        ]
        print(f"{s:4d}  " + "  ".join(f"{c:>26s}" for c in cells))
    print("mean  ", end="")
    summary = {}
    for m in METRICS:
        ok = [s for s in args.seeds if not (math.isnan(a[s][m]) or math.isnan(b[s][m]))]
        if not ok:
            print(f"{'n/a':>26s}  ", end="")
            continue
        ma = sum(a[s][m] for s in ok) / len(ok)
        mb = sum(b[s][m] for s in ok) / len(ok)
        d = [b[s][m] - a[s][m] for s in ok]
        md = sum(d) / len(d)
        se = (
            math.sqrt(sum((x - md) ** 2 for x in d) / (len(d) - 1) / len(d))
            if len(d) > 1
            else math.nan
        )
        wins = sum(x < 0 for x in d)
        summary[m] = {
            "a": ma,
            "b": mb,
            "rel": mb / ma - 1,
            "diff": md,
            "se": se,
            "b_wins": wins,
            "n": len(ok),
        }
        print(f"{f'{ma:.4f} {mb:.4f} {100 * (mb / ma - 1):+5.1f}%':>26s}  ", end="")
    print()
    for m, r in summary.items():
        t = r["diff"] / r["se"] if r["se"] and r["se"] > 0 else math.nan
        print(
            f"{m:11s} B-A mean {r['diff']:+.5f} (SE {r['se']:.5f}, t {t:+.2f}); "
            f"B better on {r['b_wins']} of {r['n']} seeds"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
