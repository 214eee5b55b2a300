"""Summarise METHOD B runs (the table scripts ``experiments/mde_*.sh``) into the markdown tables
of docs/results/mde.md: one row per run and branch, from the last line of each run's ``val.csv``.

Columns: AbsRel, SqRel, RMSE (m), RMSElog, a1..a3 (protocol ``eval.protocol`` of the run), the
confidence ratio (error of the 20 % least / 20 % most confident pixels), the step, the wall time
(``summary.json``), and whether the branch was median-scaled (only ``N_s`` of ``mode: self,
self_sup: M``; :func:`depthduet.recipes.mutual.is_scale_ambiguous`).

Usage: ``python experiments/tools/mde_table_summary.py PATH [PATH ...]``: a PATH holding a
``val.csv`` is one run, any other folder stands for its sub-folders (sorted by name).
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from depthduet.config import load_config
from depthduet.recipes.mutual import MutualConfig, is_scale_ambiguous

METRICS = ("abs_rel", "sq_rel", "rmse", "rmse_log", "a1", "a2", "a3", "conf_ratio")
HEADER = "| run | branch | median scaling | AbsRel | SqRel | RMSE (m) | RMSElog | a1 | a2 | a3 | conf ratio | step | wall time |"


def branches(cfg: MutualConfig) -> list[str]:
    """Evaluated branch first, then the other one (the column order of ``val.csv``)."""
    first = cfg.resolved_eval_branch()
    return [first] + [b for b in cfg.branches() if b != first]


def rows_of(run: Path) -> list[str]:
    """Markdown rows of one run folder (empty when it has no validation yet)."""
    val = run / "val.csv"
    if not val.is_file():
        return []
    with val.open() as f:
        lines = list(csv.DictReader(f))
    if not lines:
        return []
    last = lines[-1]
    cfg = load_config(MutualConfig, run / "config.yaml")
    summary_file = run / "summary.json"
    wall = "running"
    if summary_file.is_file():
        wall = f"{json.loads(summary_file.read_text())['wall_time_s'] / 60:.1f} min"
    out = []
    for i, b in enumerate(branches(cfg)):
        suffix = "" if i == 0 else f"_{b}"

        def fmt(key: str, suffix: str = suffix) -> str:
            v = last.get(key + suffix, "")
            if v in ("", None):
                return "n/a"
            x = float(v)
            return f"{x:.2f}" if key in ("rmse", "conf_ratio") else f"{x:.3f}"

        med = "yes" if is_scale_ambiguous(cfg, b) else "no"
        cells = [run.name, f"N_{b}", med, *(fmt(k) for k in METRICS), last["step"], wall]
        out.append("| " + " | ".join(cells) + " |")
    return out


def run_folders(paths: list[Path]) -> list[Path]:
    """The run folders meant by ``paths`` (usage line of the module docstring)."""
    out: list[Path] = []
    for path in paths:
        if (path / "val.csv").is_file():
            out.append(path)
        elif path.is_dir():
            out += sorted(p for p in path.iterdir() if p.is_dir())
    return out


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    print(HEADER)
    print("|---|---|---|" + "---:|" * 10)
    for run in run_folders([Path(a) for a in argv]):
        for row in rows_of(run):
            print(row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
