"""Summarise the world test and real-scene reports of the METHOD A table scripts
(``experiments/dsr_*.sh``) into the numbers of docs/results/dsr.md.

Reads ``<eval>/world_test_x{s}.json`` (``experiments/tools/dsr_world_test.py``) and
``<eval>/x{s}_{run}_{scene}.json`` (``depthduet evaluate --json``). Without ``--family`` it prints,
per scale, every run's world test RMSE / MAE and its mean RMSE over Middlebury cones / teddy and
over Sintel Df_1/20/28/58, each with the ratio to bicubic. With ``--family TEMPLATE@SEEDS``
(repeatable; ``_common.parse_family``) it prints one row per family at ``--scale``: the mean over
the family's runs present of the same numbers (the rows of the tables), and how many runs
were found.

Usage::

    python experiments/tools/dsr_table_summary.py runs/exp_dsr/eval
    python experiments/tools/dsr_table_summary.py runs/exp_dsr/eval --scale 4 \\
        --family "wo_ct_320{_seed}@0,1,2" --family wo_ct_640
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from pathlib import Path

from _common import MIDDLEBURY, SINTEL, parse_family, real_scene_mean

__all__ = ["MIDDLEBURY", "SINTEL", "family_row", "real_degradation", "real_rows"]


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


def _mean(xs: list[float]) -> float:
    ok = [x for x in xs if not math.isnan(x)]
    return sum(ok) / len(ok) if ok else math.nan


def family_row(folder: Path, world: dict, scale: int, runs: list[str]) -> dict[str, float]:
    """Means over the runs of one family that were scored: ``world_rmse``, ``world_mae``
    (metres; runs in the world report), ``middlebury``, ``sintel`` (mean RMSE over the scenes;
    runs with real-scene reports), and ``runs``: how many runs were found."""
    in_world = [r for r in runs if r in world["rows"]]
    mb = [real_scene_mean(folder, scale, r, MIDDLEBURY) for r in runs]
    si = [real_scene_mean(folder, scale, r, SINTEL) for r in runs]
    real = sum(not (math.isnan(a) and math.isnan(b)) for a, b in zip(mb, si))
    return {
        "world_rmse": _mean([world["rows"][r]["rmse"] for r in in_world]),
        "world_mae": _mean([world["rows"][r]["mae"] for r in in_world]),
        "middlebury": _mean(mb),
        "sintel": _mean(si),
        "runs": max(len(in_world), real),
    }


def bicubic_row(folder: Path, world: dict, scale: int) -> dict[str, float]:
    """The bicubic baseline's numbers in the layout of :func:`family_row`."""
    bic = real_rows(folder, scale).get("bicubic", {})

    def scenes(group: str, names: tuple[str, ...]) -> float:
        vals = [bic.get(group, {}).get(s, math.nan) for s in names]
        return sum(vals) / len(vals)

    return {
        "world_rmse": world["rows"]["bicubic"]["rmse"],
        "world_mae": world["rows"]["bicubic"]["mae"],
        "middlebury": scenes("middlebury", MIDDLEBURY),
        "sintel": scenes("sintel", SINTEL),
        "runs": 1,
    }


def print_families(folder: Path, scale: int, specs: list[str]) -> None:
    """One line per family (and bicubic first): means and ratios to bicubic."""
    wpath = folder / f"world_test_x{scale}.json"
    if not wpath.is_file():
        raise SystemExit(f"{wpath}: missing (experiments/tools/dsr_world_test.py writes it)")
    world = json.loads(wpath.read_text())
    bic = bicubic_row(folder, world, scale)
    print(
        f"x{scale}: world test split ({world['n']} maps, LR {world['degradation']}) and the six "
        "real held-out scenes, means over the runs found (n)"
    )
    head = "world RMSE  /bic  world MAE  Middlebury  /bic   Sintel  /bic"
    print(f"{'family':34s} {'n':>2s}  {head}")
    rows = [("bicubic", bic)]
    rows += [(t, family_row(folder, world, scale, runs)) for t, runs in map(parse_family, specs)]
    for name, r in rows:
        print(
            f"{name:34s} {r['runs']:2d}  {r['world_rmse']:10.4f} {r['world_rmse'] / bic['world_rmse']:5.3f}"
            f" {r['world_mae']:10.4f} {r['middlebury']:11.3f} {r['middlebury'] / bic['middlebury']:5.3f}"
            f" {r['sintel']:8.3f} {r['sintel'] / bic['sintel']:5.3f}"
        )


def print_all(folder: Path, scale: int) -> None:
    """Every run of the world report and of the real-scene reports at ``scale``."""
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
        return
    print(f"x{scale} real held-out scenes, LR from the GT by: {real_degradation(folder, scale)}")
    bic_real = rows.get("bicubic", {})
    for k, g in rows.items():
        parts = []
        for group in ("middlebury", "sintel"):
            vals = list(g.get(group, {}).values())
            if not vals:
                continue
            mean = sum(vals) / len(vals)
            b = list(bic_real.get(group, {}).values())
            ratio = mean / (sum(b) / len(b)) if b else float("nan")
            parts.append(f"{group} RMSE {mean:.4f} (n={len(vals)}, ratio {ratio:.3f})")
        print(f"  {k:24s} " + "  ".join(parts))


def main(argv: list[str] | None = None) -> int:
    """Print every run (default) or the family rows (``--family``)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("eval", nargs="?", type=Path, default=Path("runs/exp_dsr/eval"))
    p.add_argument("--scale", type=int, help="only this scale (needed with --family)")
    p.add_argument("--family", action="append", default=[], help="TEMPLATE@SEEDS, repeatable")
    a = p.parse_args(argv)
    if a.family:
        if a.scale is None:
            p.error("--family needs --scale")
        print_families(a.eval, a.scale, a.family)
        return 0
    for scale in [a.scale] if a.scale else [4, 8, 16]:
        print_all(a.eval, scale)
    return 0


if __name__ == "__main__":
    sys.exit(main())
