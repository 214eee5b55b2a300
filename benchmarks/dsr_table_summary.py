"""Summarise the JSON reports of benchmarks/dsr_table.sh into the tables of docs/results/dsr.md.

Reads ``<eval>/world_test_x{s}.json`` (benchmarks/dsr_world_test.py) and
``<eval>/x{s}_{run}_{scene}.json`` (``depthduet evaluate --json``) and prints, per scale, the
mean RMSE over Middlebury cones/teddy and over Sintel Df_1/20/28/58 for bicubic and each run,
with the ratio to bicubic.

Usage: ``python benchmarks/dsr_table_summary.py runs/exp_dsr/eval``
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

MIDDLEBURY = ("cones", "teddy")
SINTEL = ("Df_1", "Df_20", "Df_28", "Df_58")


def real_degradation(folder: Path, scale: int) -> str:
    """The ``lr_from`` recorded in the reports at ``scale`` (comma-joined when they differ)."""
    seen = set()
    for path in folder.glob(f"x{scale}_*.json"):
        for res in json.loads(path.read_text())["results"]:
            seen.add(str(res.get("degradation", {}).get("lr_from", "unstated")))
    return ",".join(sorted(seen))


def real_rows(folder: Path, scale: int) -> dict[str, dict[str, dict[str, float]]]:
    """``{method: {"middlebury": {scene: rmse}, "sintel": {...}}}`` at ``scale`` (the bicubic
    baseline, repeated in every report, is kept once per scene)."""
    rows: dict[str, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for path in sorted(folder.glob(f"x{scale}_*.json")):
        stem = path.stem[len(f"x{scale}_") :]
        scene = next((s for s in (*MIDDLEBURY, *SINTEL) if stem.endswith("_" + s)), None)
        if scene is None:
            continue
        run = stem[: -len(scene) - 1]
        group = "middlebury" if scene in MIDDLEBURY else "sintel"
        rep = json.loads(path.read_text())
        for res in rep["results"]:
            label = "bicubic" if res["method"].startswith("bicubic") else run
            rows[label][group][scene] = float(res["metrics"]["rmse"])
    return rows


def main() -> int:
    """Print the world test and real-scene tables."""
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/exp_dsr/eval")
    for scale in (4, 8, 16):
        wpath = folder / f"world_test_x{scale}.json"
        if wpath.exists():
            w = json.loads(wpath.read_text())
            bic = w["rows"]["bicubic"]["rmse"]
            print(f"\nx{scale} world {w['kind']} test split ({w['n']} maps), LR {w['degradation']}")
            for k, r in w["rows"].items():
                print(
                    f"  {k:24s} RMSE {r['rmse']:.4f} m  MAE {r['mae']:.4f} m  ratio {r['rmse'] / bic:.3f}"
                )
        rows = real_rows(folder, scale)
        if not rows:
            continue
        deg = real_degradation(folder, scale)
        print(f"x{scale} real held-out scenes, LR from the GT by: {deg}")
        bic = rows.get("bicubic", {})
        for k, g in rows.items():
            parts = []
            for group in ("middlebury", "sintel"):
                vals = list(g.get(group, {}).values())
                if not vals:
                    continue
                mean = sum(vals) / len(vals)
                b = list(bic.get(group, {}).values())
                ratio = mean / (sum(b) / len(b)) if b else float("nan")
                parts.append(f"{group} RMSE {mean:.4f} (n={len(vals)}, ratio {ratio:.3f})")
            print(f"  {k:24s} " + "  ".join(parts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
