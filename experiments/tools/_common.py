"""Code shared by the scoring tools of ``experiments/tools`` (METHOD A tables).

* run names from templates: ``{seed}`` is the seed number, ``{_seed}`` is empty for seed 0 and
  ``_seedN`` otherwise (runs whose seed-0 folder carries no suffix);
* families ``TEMPLATE@SEEDS`` (``wo_ct_320{_seed}@0,1,2``; a template without ``@`` names one run);
* the six real held-out scenes of docs/results/dsr.md and the mean RMSE of one run over them,
  read from the reports ``<eval>/x{scale}_{run}_{scene}.json`` of ``depthduet evaluate --json``;
* whether a report is newer than every file of a checkpoint (so it can be reused).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

MIDDLEBURY = ("cones", "teddy")
SINTEL = ("Df_1", "Df_20", "Df_28", "Df_58")


def run_name(template: str, seed: int) -> str:
    """The run name of ``template`` for ``seed`` (module docstring)."""
    return template.format(seed=seed, _seed="" if seed == 0 else f"_seed{seed}")


def parse_family(spec: str) -> tuple[str, list[str]]:
    """``(template, run names)`` of a family ``TEMPLATE@S1,S2,...`` (or one run ``NAME``)."""
    template, _, seeds = spec.partition("@")
    if not seeds:
        return template, [template]
    return template, [run_name(template, int(s)) for s in seeds.split(",")]


def real_scene_mean(folder: Path, scale: int, run: str, scenes: tuple[str, ...]) -> float:
    """Mean RMSE of ``run`` (not the bicubic row) over ``scenes``; NaN when a report is missing."""
    vals = []
    for scene in scenes:
        path = folder / f"x{scale}_{run}_{scene}.json"
        if not path.exists():
            return math.nan
        rep = json.loads(path.read_text())
        rows = [r for r in rep["results"] if not r["method"].startswith("bicubic")]
        vals.append(float(rows[0]["metrics"]["rmse"]))
    return sum(vals) / len(vals)


def newer_than_checkpoint(report: Path, run: str | Path) -> bool:
    """True when ``report`` exists and is newer than every file under ``run``'s
    ``checkpoints/`` folder (or under ``run`` itself when it is a checkpoint folder)."""
    if not report.is_file():
        return False
    base = Path(run)
    if (base / "checkpoints").is_dir():
        base = base / "checkpoints"
    if not base.exists():
        return False
    files = [base] if base.is_file() else [p for p in base.rglob("*") if p.is_file()]
    newest = max((p.stat().st_mtime for p in files), default=math.inf)
    return report.stat().st_mtime > newest
