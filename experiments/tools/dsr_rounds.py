"""Who taught, and how well each network validates, in METHOD A runs (docs/results/dsr.md).

Per run folder:

* from ``rounds.csv``: the rounds logged and in how many of them DSRNet was chosen as the next
  teacher (``next_teacher_dsr``; METHOD.md A.3), and the last round's errors ``round_e_dsr`` /
  ``round_e_de`` (normalised L1 over the round);
* from the best checkpoint's ``model.json`` (the checkpoint every table scores): DSRNet's
  validation RMSE in metres (``rmse``), and the validation RMSE of DSRNet (``rmse_norm``) and of
  DENet (``rmse_de_norm``) in the normalised units that decide the teacher.

Runs without cross-task transfer (DSRNet alone) log no rounds and no DENet error: ``-``.

Usage: ``python experiments/tools/dsr_rounds.py RUN [RUN ...]``
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path


def rounds(run: Path) -> dict[str, float]:
    """``rounds``, ``dsr_taught`` and the last round's ``e_dsr`` / ``e_de`` (empty without
    ``rounds.csv`` or without teacher records)."""
    path = run / "rounds.csv"
    if not path.is_file():
        return {}
    with path.open() as f:
        rows = [r for r in csv.DictReader(f) if r.get("next_teacher_dsr", "") != ""]
    if not rows:
        return {}
    return {
        "rounds": len(rows),
        "dsr_taught": sum(float(r["next_teacher_dsr"]) == 1.0 for r in rows),
        "e_dsr": float(rows[-1]["round_e_dsr"]),
        "e_de": float(rows[-1]["round_e_de"]),
    }


def best_metrics(run: Path) -> dict[str, float]:
    """Validation metrics stored with the best checkpoint (``{}`` when there is none)."""
    path = run / "checkpoints" / "best" / "model.json"
    if not path.is_file():
        return {}
    return dict(json.loads(path.read_text()).get("metrics") or {})


def main(argv: list[str]) -> int:
    """Print one line per run."""
    if not argv:
        print(__doc__)
        return 2
    cols = ("DSRNet taught", "last round e_dsr / e_de", "val RMSE (m)", "val DSRNet", "val DENet")
    print(f"{'run':34s} {cols[0]:>14s} {cols[1]:>24s} {cols[2]:>12s} {cols[3]:>10s} {cols[4]:>10s}")
    for arg in argv:
        run = Path(arg)
        if not run.is_dir():
            continue
        r, m = rounds(run), best_metrics(run)
        taught = f"{r['dsr_taught']} of {r['rounds']}" if r else "-"
        errs = f"{r['e_dsr']:.3f} / {r['e_de']:.3f}" if r else "-"
        rmse = f"{m['rmse']:.4f}" if "rmse" in m else "-"
        sr = f"{m['rmse_norm']:.4f}" if "rmse_norm" in m else "-"
        de = f"{m['rmse_de_norm']:.3f}" if "rmse_de_norm" in m else "-"
        print(f"{run.name:34s} {taught:>14s} {errs:>24s} {rmse:>12s} {sr:>10s} {de:>10s}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
