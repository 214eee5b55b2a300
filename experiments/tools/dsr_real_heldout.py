"""DSR on every real depth map in ../shared/data with ground truth (METHOD A, held-out scenes).

``experiments/tools/dsr_world_test.py`` scores the procedural world's test split; the real-scene
columns of docs/results/dsr.md use six maps (Middlebury cones / teddy, Sintel Df_1/20/28/58).
This script scores bicubic and any number of DSRNet checkpoints on all the real maps the
sample data holds (77 maps in five groups), so that a difference between two methods can be
checked on far more than six maps. For runs trained on the procedural world every map here is
held out; for runs trained on the real data (``configs/dsr/real_x4.yaml``, sources ``sintel``,
``middlebury_depth``, ``middlebury``) only the ``middlebury-2014`` and ``kinect`` groups are.

Groups (values in each file's own units; README.txt of each folder):

* ``middlebury-2003``: cones, teddy (x4-scaled disparity, hole-filled).
* ``middlebury-2001``: tsukuba (x16), venus (x8), ``middlebury_2001_depth/Df_59..63`` (x8);
  ``Df_64`` is skipped: it is venus again (identical values).
* ``middlebury-2014``: motorcycle (x4-downsampled, float disparity, +inf = invalid).
* ``sintel``: the 58 hole-filled Sintel maps (``Df_1.mat`` ... ``Df_58.mat``).
* ``kinect``: ``rgbd_open3d`` frames 0-4 (uint16 mm, 0 = hole) and its NYU (raw Kinect), TUM
  (/5000) and SUN (bit-rotated mm) maps in metres, and ``nyu_sample/1025_big.png`` (8-bit,
  min-max stretched). Units differ inside this group, so only ratios are averaged there.

Protocol per map: crop at the bottom / right to a multiple of the scale; LR by
:func:`depthduet.evaluation.baselines.downsample_depth` (``--degradation bicubic``: antialiased
bicubic over valid pixels, as ``depthduet evaluate --lr-from bicubic``; or ``nearest``); every
method through :class:`depthduet.inference.dsr.DepthUpsampler` (the code path of
``depthduet upsample``); RMSE and MAE over the pixels valid in the ground truth and in the
output (the output is invalid exactly where the LR pixel under it is: the same pixels for every
method). Per group: the geometric mean over maps of ``RMSE / RMSE_bicubic`` (unit-free), and the
mean RMSE where the group shares one unit.

Pairing (``--from REPORT --seeds 0 1 2 --a TEMPLATE --b TEMPLATE``, no inference): for each
seed and group, ``exp(mean over maps of log(RMSE_b / RMSE_a))`` (the geometric-mean ratio B/A),
how many maps B wins, and over seeds the mean log ratio with its standard error.
``--from REPORT --family TEMPLATE@SEEDS`` (repeatable) prints each family's mean over seeds of
the per-group geometric-mean ratio to bicubic instead of every run.

``--merge`` lets several table scripts share one report per scale and budget: the scores of the
checkpoints already in the ``--json`` report are kept while the report is newer than the
checkpoint, and only the other checkpoints are scored.

Shipped models (``--model dsr-x4``) were trained on the Sintel and Middlebury maps except
cones, teddy and Sintel Df_1/20/28/58 (``src/depthduet/weights/dsr-x*.json``); score them on
``--groups middlebury-2014 kinect``, which none of them saw.

Examples::

    python experiments/tools/dsr_real_heldout.py --scale 4 \\
        --ckpt wo_ct_5120=runs/exp_dsr/x4_wo_ct_5120 \\
        --ckpt lam_S0.03_5120=runs/exp_dsr/x4_lam_S0.03_5120 \\
        --json runs/exp_dsr/eval/real_all_x4_5120.json --merge
    python experiments/tools/dsr_real_heldout.py --from runs/exp_dsr/eval/real_all_x4_5120.json \\
        --seeds 0 1 2 --a "wo_ct_5120{_seed}" --b "lam_S0.03_5120{_seed}"
    python experiments/tools/dsr_real_heldout.py --scale 8 --model dsr-x8 \\
        --groups middlebury-2014 kinect
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from _common import newer_than_checkpoint, parse_family
from _common import run_name as _name  # run names from {seed} / {_seed} templates
from dsr_world_test import score_map as world_score_map

GROUPS = ("middlebury-2003", "middlebury-2001", "middlebury-2014", "sintel", "kinect")
#: groups whose maps share one unit (their mean RMSE is printed; ``kinect`` mixes units)
SAME_UNIT = {"middlebury-2003": "x4 disp", "middlebury-2014": "px", "sintel": "as given"}


class RealMap(NamedTuple):
    """One ground-truth map: ``values (H, W) float64`` (0 where invalid), ``valid (H, W)``."""

    group: str
    name: str
    values: np.ndarray
    valid: np.ndarray


def _need(path: Path) -> Path:
    if not path.exists():
        raise SystemExit(f"{path}: missing (is --data the shared data folder?)")
    return path


def _catalogue(root: Path) -> list[tuple[str, str, dict[str, Any]]]:
    """``(group, path relative to root, read_depth keywords)`` of every map, in a fixed order."""
    cat: list[tuple[str, str, dict[str, Any]]] = []
    for s in ("cones", "teddy"):
        cat.append(
            ("middlebury-2003", f"middlebury_2001_2003/Depth/{s}_2.mat", {"key": "img_double"})
        )
    for s in ("tsukuba", "venus"):
        cat.append(
            ("middlebury-2001", f"middlebury_2001_2003/Depth/{s}_2.mat", {"key": "img_double"})
        )
    for k in range(59, 64):  # Df_64 is venus_2 again
        cat.append(("middlebury-2001", f"middlebury_2001_depth/Df_{k}.mat", {"key": "Df"}))
    cat.append(("middlebury-2014", "motorcycle/motorcycle_disp.npz", {"key": "arr_0"}))
    sintel = sorted((root / "sintel_depth").glob("Df_*.mat"), key=lambda p: int(p.stem[3:]))
    if not sintel:
        raise SystemExit(f"{root / 'sintel_depth'}: no Df_*.mat maps")
    cat += [("sintel", f"sintel_depth/{p.name}", {"key": "Df"}) for p in sintel]
    cat += [("kinect", f"rgbd_open3d/depth/{i:05d}.png", {"scale": 1000.0}) for i in range(5)]
    other = "rgbd_open3d/other_formats"
    cat.append(("kinect", f"{other}/NYU_depth.pgm", {"encoding": "kinect-raw"}))
    cat.append(("kinect", f"{other}/TUM_depth.png", {"scale": 5000.0}))
    cat.append(("kinect", f"{other}/SUN_depth.png", {"encoding": "sun-rotated"}))
    cat.append(("kinect", "nyu_sample/1025_big.png", {}))
    return cat


def real_maps(root: Path, groups: Sequence[str] | None = None) -> Iterator[RealMap]:
    """The maps of ``groups`` (default: every group above), read with
    :func:`depthduet.io.read_depth` in a fixed order (names ``folder/file``); maps of other
    groups are not read."""
    from depthduet.io import read_depth

    for group, rel, kw in _catalogue(root):
        if groups and group not in groups:
            continue
        d = read_depth(_need(root / rel), **kw)
        yield RealMap(group, rel, d.values.astype(np.float64), d.valid.astype(bool))


def score_map(upsampler: Any, m: RealMap, scale: int, degradation: str) -> dict[str, float]:
    """RMSE / MAE of one method on one map (``dsr_world_test.score_map``: the module docstring's
    protocol)."""
    return world_score_map(upsampler, m.values, m.valid, scale, degradation)


def _geo(xs: list[float]) -> float:
    return float(math.exp(sum(math.log(x) for x in xs) / len(xs))) if xs else math.nan


def summarise(report: dict[str, Any]) -> dict[str, dict[str, dict[str, float]]]:
    """``{method: {group: {"ratio": geometric-mean RMSE / bicubic, "rmse": mean RMSE,
    "maps": n}}}`` plus an ``"all"`` group (every map, equal weight)."""
    maps = report["maps"]
    out: dict[str, dict[str, dict[str, float]]] = {}
    for method in report["methods"]:
        rows: dict[str, dict[str, float]] = {}
        for g in (*GROUPS, "all"):
            sel = [m for m in maps if g == "all" or m["group"] == g]
            if not sel:
                continue
            ratios = [m["scores"][method]["rmse"] / m["scores"]["bicubic"]["rmse"] for m in sel]
            rows[g] = {
                "ratio": _geo(ratios),
                "rmse": float(np.mean([m["scores"][method]["rmse"] for m in sel])),
                "maps": len(sel),
            }
        out[method] = rows
    return out


def print_summary(report: dict[str, Any]) -> None:
    """The per-group table: geometric-mean ratio to bicubic (and mean RMSE where one unit)."""
    summ = summarise(report)
    groups = [g for g in (*GROUPS, "all") if g in summ["bicubic"]]
    print(
        f"real maps in {report['data']}, x{report['scale']}, LR: {report['degradation']}; "
        "geometric-mean RMSE / bicubic (mean RMSE where the group has one unit)"
    )
    head = "  ".join(f"{g + ' (' + str(summ['bicubic'][g]['maps']) + ')':>22s}" for g in groups)
    print(f"{'method':32s}  {head}")
    for method, rows in summ.items():
        cells = []
        for g in groups:
            r = rows[g]
            cells.append(
                f"{r['ratio']:.3f} ({r['rmse']:.3f})" if g in SAME_UNIT else f"{r['ratio']:.3f}"
            )
        print(f"{method:32s}  " + "  ".join(f"{c:>22s}" for c in cells))


def pair(report: dict[str, Any], seeds: list[int], ta: str, tb: str) -> dict[str, Any]:
    """Paired comparison B vs A per seed and group (module docstring); returns the numbers and
    prints them."""
    maps = report["maps"]
    for s in seeds:
        for t in (ta, tb):
            if _name(t, s) not in report["methods"]:
                raise SystemExit(f"{_name(t, s)!r} is not in the report ({report['methods']})")
    print(f"A = {ta}   B = {tb}   x{report['scale']}, seeds {seeds}")
    print("geometric-mean RMSE ratio B/A per group (maps B wins / maps)")
    groups = [g for g in (*GROUPS, "all") if g == "all" or any(m["group"] == g for m in maps)]
    print("seed  " + "  ".join(f"{g:>18s}" for g in groups))
    logs: dict[str, list[float]] = {g: [] for g in groups}
    for s in seeds:
        a, b = _name(ta, s), _name(tb, s)
        cells = []
        for g in groups:
            sel = [m for m in maps if g == "all" or m["group"] == g]
            lr = [math.log(m["scores"][b]["rmse"] / m["scores"][a]["rmse"]) for m in sel]
            wins = sum(x < 0 for x in lr)
            mean = sum(lr) / len(lr)
            logs[g].append(mean)
            cells.append(f"{100 * (math.exp(mean) - 1):+6.2f}% ({wins}/{len(lr)})")
        print(f"{s:4d}  " + "  ".join(f"{c:>18s}" for c in cells))
    result: dict[str, Any] = {}
    cells = []
    for g in groups:
        xs = logs[g]
        mean = sum(xs) / len(xs)
        se = (
            math.sqrt(sum((x - mean) ** 2 for x in xs) / (len(xs) - 1) / len(xs))
            if len(xs) > 1
            else math.nan
        )
        t = mean / se if se > 0 else math.nan
        result[g] = {
            "rel": math.exp(mean) - 1,
            "se_log": se,
            "t": t,
            "b_better_seeds": sum(x < 0 for x in xs),
            "n": len(xs),
        }
        cells.append(f"{100 * (math.exp(mean) - 1):+6.2f}% t {t:+5.1f}")
    print("mean  " + "  ".join(f"{c:>18s}" for c in cells))
    print(
        "B better on seeds: "
        + ", ".join(f"{g} {result[g]['b_better_seeds']}/{len(seeds)}" for g in groups)
    )
    return result


def print_families(report: dict[str, Any], specs: list[str]) -> None:
    """One line per family ``TEMPLATE@SEEDS``: the mean over its runs in the report of each
    group's geometric-mean RMSE / bicubic (the rows of the 77-map table)."""
    summ = summarise(report)
    groups = [g for g in (*GROUPS, "all") if g in summ["bicubic"]]
    print(f"x{report['scale']}: geometric-mean RMSE / bicubic, mean over the runs found (n)")
    print(f"{'family':34s} {'n':>2s}  " + "  ".join(f"{g:>15s}" for g in groups))
    for template, runs in map(parse_family, specs):
        found = [r for r in runs if r in summ]
        cells = [
            f"{sum(summ[r][g]['ratio'] for r in found) / len(found):.3f}" if found else "n/a"
            for g in groups
        ]
        print(f"{template:34s} {len(found):2d}  " + "  ".join(f"{c:>15s}" for c in cells))


def reusable_maps(path: Path, meta: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """What ``--merge`` keeps of an earlier report at ``path``: its maps (when ``meta`` matches:
    data, scale, LR, groups, limit) and ``{label: run}`` of the checkpoints it scored that are
    older than the report. Shipped models are always scored again."""
    if not path.is_file():
        return [], {}
    old = json.loads(path.read_text())
    if any(old.get(k) != v for k, v in meta.items()):
        return [], {}
    specs = dict(spec.partition("=")[::2] for spec in old.get("checkpoints", []))
    return old["maps"], {k: v for k, v in specs.items() if newer_than_checkpoint(path, v)}


def score_report(a: argparse.Namespace, root: Path) -> dict[str, Any]:
    """Score bicubic, ``--ckpt`` and ``--model`` on the maps (``--merge``: keep the scores of an
    earlier ``--json`` report where :func:`reusable_maps` allows); returns the report."""
    from depthduet.inference.dsr import DepthUpsampler

    meta = {
        "data": str(root),
        "scale": a.scale,
        "degradation": a.degradation,
        "groups": list(a.groups or GROUPS),
        "limit": a.limit,
    }
    old_maps, fresh = reusable_maps(a.json, meta) if a.merge and a.json else ([], {})
    wanted = dict(spec.partition("=")[::2] for spec in a.ckpt)
    kept = {k: v for k, v in fresh.items() if wanted.get(k, v) == v}
    todo = {k: v for k, v in wanted.items() if k not in kept}
    methods = {} if old_maps else {"bicubic": DepthUpsampler.bicubic(a.scale, device="cpu")}
    for label, path in todo.items():
        methods[label] = DepthUpsampler.from_checkpoint(path, device="cpu")
    for name in a.model:
        methods[name] = DepthUpsampler.from_pretrained(name, device="cpu")
    keep = ["bicubic", *kept] if old_maps else []
    maps = [{**m, "scores": {k: m["scores"][k] for k in keep}} for m in old_maps]
    if methods:
        for i, m in enumerate(real_maps(root, a.groups)):
            if a.limit and i >= a.limit:
                break
            scores = {k: score_map(u, m, a.scale, a.degradation) for k, u in methods.items()}
            if not old_maps:
                maps.append({"group": m.group, "name": m.name, "scores": scores})
            elif maps[i]["name"] != m.name:
                raise SystemExit(f"{a.json}: its maps differ from the data's; delete it")
            else:
                maps[i]["scores"].update(scores)
    if old_maps:
        print(f"{len(methods)} method(s) scored, {len(keep)} kept from {a.json}")
    return {
        **meta,
        "methods": [*keep, *methods],
        "checkpoints": [f"{k}={v}" for k, v in {**kept, **todo}.items()],
        "models": a.model,
        "maps": maps,
    }


def main(argv: list[str] | None = None) -> int:
    """Score (``--ckpt``, ``--model``) or summarise / pair (``--from``); see the module
    docstring."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, help="the shared data folder (default: ../shared/data)")
    p.add_argument("--scale", type=int, default=4)
    p.add_argument("--degradation", default="bicubic", choices=["bicubic", "nearest"])
    p.add_argument("--ckpt", action="append", default=[], help="LABEL=RUN_FOLDER (best checkpoint)")
    p.add_argument(
        "--model", action="append", default=[], help="a shipped model (dsr-x4, ...), repeatable"
    )
    p.add_argument(
        "--groups", nargs="+", choices=GROUPS, help="score only these groups (default: all)"
    )
    p.add_argument("--json", type=Path, help="write the per-map report here")
    p.add_argument(
        "--merge",
        action="store_true",
        help="keep the scores of the --json report already there (same data, scale, LR, groups; "
        "report newer than the checkpoint), score only the other checkpoints, write the union",
    )
    p.add_argument("--from", dest="src", type=Path, help="a report to summarise / pair instead")
    p.add_argument("--seeds", type=int, nargs="+")
    p.add_argument("--a", help="run label template of the baseline ({seed} / {_seed})")
    p.add_argument("--b", help="run label template of the compared method")
    p.add_argument(
        "--family", action="append", default=[], help="with --from: TEMPLATE@SEEDS, repeatable"
    )
    p.add_argument("--limit", type=int, default=0, help="score only the first N maps (tests)")
    a = p.parse_args(argv)
    if a.src is not None:
        report = json.loads(a.src.read_text())
        if a.family:
            print_families(report, a.family)
        else:
            print_summary(report)
        if a.a or a.b:
            if not (a.a and a.b and a.seeds):
                p.error("pairing needs --a, --b and --seeds")
            print()
            pair(report, a.seeds, a.a, a.b)
        return 0
    import torch

    from depthduet.paths import data_root

    root = a.data or data_root()
    if root is None or not Path(root).is_dir():
        p.error("no shared data folder: pass --data or set DEPTHDUET_DATA")
    torch.set_num_threads(1)
    t0 = time.time()
    report = score_report(a, Path(root))
    print_summary(report)
    print(f"wall time {time.time() - t0:.1f} s")
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
