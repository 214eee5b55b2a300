"""METHOD B runs scored on the driving world's held-out ``test`` split (scenes never used for
training, for validation or for choosing loss weights).

The loss weights of ``configs/mde/world_semi.yaml`` were chosen on the ``val`` split (the one
``val.csv`` reports), so the tables of docs/results/mde.md are scored here instead. Each run's
last checkpoint, each of its depth branches, through the recipe's own
:meth:`~depthduet.recipes.mutual.MutualRecipe.evaluate_branch` (same protocol, clamping and
median scaling rule as validation), batches of 4 images, metrics averaged over images.

Usage: ``python experiments/tools/mde_world_test.py [--n 32] [--means] RUN [RUN ...]``; prints a
markdown table of every run (``--means``: of the mean over the seeds of each configuration
instead, runs ``NAME``, ``NAME_seed1``, ... pooled) and ``--json PATH`` writes the numbers.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import torch

from depthduet.config import load_config
from depthduet.engine.checkpoint import load_checkpoint
from depthduet.recipes.mutual import MutualConfig, MutualRecipe, is_scale_ambiguous

METRICS = ("abs_rel", "sq_rel", "rmse", "rmse_log", "a1", "a2", "a3", "conf_ratio")


def score(run: Path, n: int, cache: dict) -> dict[str, dict[str, float]]:
    """``{branch: metrics}`` of ``run``'s last checkpoint on the first ``n`` test scenes."""
    from depthduet.data.world import WorldDataset

    cfg_dict, weights = load_checkpoint(run, prefer="last")
    cfg = load_config(MutualConfig, data=cfg_dict)
    cfg.model.encoder_weights = ""
    recipe = MutualRecipe(cfg)
    for name, sd in weights.items():
        if name in recipe.networks:
            recipe.networks[name].load_state_dict(sd)
    recipe.train(False)
    key = (cfg.data.kind, cfg.data.world.height, cfg.data.world.width, n)
    if key not in cache:
        ds = WorldDataset(cfg.data.kind, "test", n=n, cfg=cfg.data.world)
        cache[key] = [ds[i] for i in range(len(ds))]
    samples = cache[key]
    out: dict[str, dict[str, float]] = {}
    for branch in recipe.branches:
        sums: dict[str, float] = {}
        count = 0
        for i in range(0, len(samples), 4):
            batch = recipe.collate(samples[i : i + 4])
            m = recipe.evaluate_branch(branch, batch)
            k = len(samples[i : i + 4])
            for name in METRICS:
                sums[name] = sums.get(name, 0.0) + m[name] * k
            count += k
        out[branch] = {name: v / count for name, v in sums.items()}
        out[branch]["median_scaling"] = float(is_scale_ambiguous(cfg, branch))
    return out


HEADER = "| {} | branch | median scaling | AbsRel | SqRel | RMSE (m) | RMSElog | a1 | a2 | a3 | conf ratio |"


def table_row(name: str, branch: str, m: dict[str, float]) -> str:
    """One markdown row: RMSE and the confidence ratio with 2 decimals, the rest with 3."""
    cells = [f"{m[k]:.2f}" if k in ("rmse", "conf_ratio") else f"{m[k]:.3f}" for k in METRICS]
    med = "yes" if m["median_scaling"] else "no"
    return f"| {name} | N_{branch} | {med} | " + " | ".join(cells) + " |"


def seed_means(report: dict[str, dict[str, dict[str, float]]]) -> dict[str, dict]:
    """``{configuration (seeds): {branch: mean metrics}}``: runs ``NAME`` and ``NAME_seedK``
    pooled (equal weight per run)."""
    groups: dict[str, list[str]] = {}
    for run in report:
        groups.setdefault(re.sub(r"_seed\d+$", "", run), []).append(run)
    out: dict[str, dict] = {}
    for name, runs in groups.items():
        branches = report[runs[0]]
        out[f"{name} (n={len(runs)})"] = {
            b: {k: sum(report[r][b][k] for r in runs) / len(runs) for k in branches[b]}
            for b in branches
        }
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--n", type=int, default=32, help="test scenes (default 32)")
    ap.add_argument("--means", action="store_true", help="one row per configuration: seed means")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    cache: dict = {}
    report: dict[str, dict[str, dict[str, float]]] = {}
    for run in args.runs:
        if (run / "checkpoints").is_dir():
            report[run.name] = score(run, args.n, cache)
    shown = seed_means(report) if args.means else report
    print(f"driving world `test` split, first {args.n} scenes, last checkpoints")
    print(HEADER.format("configuration" if args.means else "run"))
    print("|---|---|---|" + "---:|" * 8)
    for name, res in shown.items():
        for branch, m in res.items():
            print(table_row(name, branch, m))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
