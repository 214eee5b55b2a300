"""Robustness matrix of depth super-resolution: every LR kernel x scale, clean and noisy.

Scores shipped models (``--model``) and checkpoints (``--ckpt LABEL=RUN``, last checkpoint)
against bicubic and nearest-neighbour upsampling of the *same* LR map, on the held-out real maps
of the sample data (none of them was trained on by the shipped models or by
``configs/dsr/blind_x*.yaml``):

* ``middlebury-2003``: cones, teddy (x4-scaled disparity);
* ``sintel``: the held-out frames Df_1, Df_20, Df_28, Df_58;
* ``middlebury-2014``: motorcycle (float disparity);
* ``kinect``: rgbd_open3d frames 0-4 (mm), its NYU / TUM / SUN maps, nyu_sample 1025.

How every LR map is made (``depthduet.data.degradation``; the map is first cropped at the
bottom / right to a multiple of the scale):

* ``bicubic_aa``: antialiased bicubic resize; ``bicubic_plain``: bicubic without antialiasing
  (how depth-SR benchmarks distribute LR maps); ``area``: block means; ``nearest``: point
  samples ``hr[s//2::s]``, upsampled with ``lr_grid="point"``; ``nearest:0``: point samples on
  the corner grid ``hr[::s]``, upsampled with ``lr_grid="corner"`` (every method, bicubic
  included, is placed on that grid: the corner grid by the integer shift of ``s//2`` pixels);
  ``nearest (no hint)`` and ``nearest:0 (no hint)``: the same LR maps upsampled as if
  block-centred, ``lr_grid="center"`` (reported, not bounded);
* conditions: ``clean``, and ``noisy`` = the kernel, then Gaussian noise of 1% of the map's
  valid range, then 1% of the LR pixels dropped (``+gaussian_noise:0.01+drop_random:0.01``),
  seeded by ``--seed``, the map and the kernel.

Every method runs through :class:`depthduet.inference.dsr.DepthUpsampler` (the code path of
``depthduet upsample``). RMSE over the pixels valid in the ground truth and in the output (the
same pixels for every method). A cell is the geometric mean over maps of
``RMSE / RMSE_bicubic``; the worst group's geometric mean is given beside it. Two references
are printed under the table: nearest-neighbour upsampling, and bicubic run through the same
grid alignment as the models (on the point and corner grids: the dihedral self-ensemble
aligned on the point grid, :mod:`depthduet.inference.self_ensemble`; on the centre grid it
equals bicubic).

Bounds (``--check``): at most 0.85 at x4, 0.92 at x8, 0.97 at x16 (x2: 0.85) in every bounded
cell, and no group above 1.0; exit status 1 when a cell fails.

Examples::

    python benchmarks/dsr_robustness.py --model dsr-x4 --model dsr-x8 --model dsr-x16 \\
        --json runs/robustness.json --md runs/robustness.md --check
    python benchmarks/dsr_robustness.py --ckpt mine=runs/dsr_blind_x4 --kernels area nearest
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

# the map catalogue of the 77-map results table (experiments/tools/dsr_real_heldout.py)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "experiments" / "tools"))
from dsr_real_heldout import RealMap, real_maps  # noqa: E402

#: the held-out Sintel frames (the rest train the real-data models)
SINTEL_HELD_OUT = ("Df_1", "Df_20", "Df_28", "Df_58")
GROUPS = ("middlebury-2003", "sintel", "middlebury-2014", "kinect")
KERNELS = (
    "bicubic_aa",
    "bicubic_plain",
    "area",
    "nearest",
    "nearest:0",
    "nearest:0 (no hint)",
    "nearest (no hint)",
)
#: the grid each kernel's LR map is upsampled on when it is stated
GRIDS = {"nearest": "point", "nearest:0": "corner"}
CONDITIONS = {"clean": "", "noisy": "+gaussian_noise:0.01+drop_random:0.01"}
BOUNDS = {2: 0.85, 4: 0.85, 8: 0.92, 16: 0.97}


def held_out_maps(root: Path) -> list[RealMap]:
    """The held-out maps of :data:`GROUPS` (Sintel: :data:`SINTEL_HELD_OUT` only)."""
    out = []
    for m in real_maps(root, GROUPS):
        if m.group == "sintel" and Path(m.name).stem not in SINTEL_HELD_OUT:
            continue
        out.append(m)
    return out


def make_lr(
    m: RealMap, scale: int, kernel: str, condition: str, seed: int, index: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
    """``(gt, gt_valid, lr, lr_valid, lr_grid)`` for one map, kernel and condition."""
    import torch

    from depthduet.data.degradation import parse_degradation

    s = scale
    H, W = (m.values.shape[0] // s) * s, (m.values.shape[1] // s) * s
    gt, gv = m.values[:H, :W], m.valid[:H, :W]
    name = kernel.split(" ")[0]
    deg = parse_degradation(name + CONDITIONS[condition])
    k = KERNELS.index(kernel.replace(" (no hint)", ""))
    gen = torch.Generator().manual_seed(seed * 1_000_003 + index * 101 + k * 7 + len(condition))
    lr, lv = deg.apply(
        torch.from_numpy(gt.astype(np.float32))[None], torch.from_numpy(gv)[None], s, gen
    )
    grid = GRIDS.get(kernel, "center")
    return gt, gv, lr[0].double().numpy(), lv[0].numpy(), grid


def nearest_up(
    lr: np.ndarray, lv: np.ndarray, scale: int, grid: str
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest-neighbour upsampling on the stated grid (invalid LR pixels stay invalid)."""
    s = scale
    if grid == "corner":
        o = s // 2
        h, w = lr.shape
        lr = np.pad(lr, ((0, 1), (0, 1)), mode="edge")
        lv = np.pad(lv, ((0, 1), (0, 1)), mode="edge")
        up = np.repeat(np.repeat(lr, s, 0), s, 1)[o : o + s * h, o : o + s * w]
        uv = np.repeat(np.repeat(lv, s, 0), s, 1)[o : o + s * h, o : o + s * w]
        return up, uv
    return np.repeat(np.repeat(lr, s, 0), s, 1), np.repeat(np.repeat(lv, s, 0), s, 1)


class BicubicNet:
    """Bicubic interpolation as a network, so that :class:`DepthUpsampler` runs it through the
    same grid alignment as a model (the reference ``bicubic_aligned``)."""

    def __init__(self, scale: int) -> None:
        self.scale = scale

    def to(self, *args: Any, **kwargs: Any) -> BicubicNet:
        return self

    def eval(self) -> BicubicNet:
        return self

    def __call__(self, x: Any) -> Any:
        import torch.nn.functional as F

        return F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)


def _rmse(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray) -> float:
    return float(np.sqrt(np.mean((pred[mask].astype(np.float64) - gt[mask]) ** 2)))


def _geo(xs: list[float]) -> float:
    return float(math.exp(sum(math.log(x) for x in xs) / len(xs))) if xs else math.nan


def score(
    methods: dict[str, Any],
    maps: list[RealMap],
    kernels: list[str],
    conditions: list[str],
    seed: int,
) -> list[dict[str, Any]]:
    """One row per (method, map, kernel, condition): RMSE of the method, bicubic and nearest."""
    from depthduet.inference.dsr import DepthUpsampler

    rows: list[dict[str, Any]] = []
    bicubic: dict[int, Any] = {}
    aligned: dict[int, Any] = {}
    for label, up in methods.items():
        s = up.scale
        bic = bicubic.setdefault(s, DepthUpsampler.bicubic(s, device="cpu"))
        bal = aligned.setdefault(
            s, DepthUpsampler(BicubicNet(s), s, device="cpu", fast=False, name="bicubic_aligned")
        )
        t0 = time.perf_counter()
        for cond in conditions:
            for kernel in kernels:
                for i, m in enumerate(maps):
                    gt, gv, lr, lv, grid = make_lr(m, s, kernel, cond, seed, i)
                    b = bic.upsample(lr, lv, lr_grid=grid)
                    ba = bal.upsample(lr, lv, lr_grid=grid)
                    o = up.upsample(lr, lv, lr_grid=grid)
                    n, nv = nearest_up(lr, lv, s, grid)
                    mask = gv & b.valid & o.valid & nv & ba.valid
                    if not mask.any():
                        continue
                    rows.append(
                        {
                            "method": label,
                            "scale": s,
                            "group": m.group,
                            "map": m.name,
                            "kernel": kernel,
                            "condition": cond,
                            "lr_grid": grid,
                            "rmse": _rmse(o.values, gt, mask),
                            "rmse_bicubic": _rmse(b.values, gt, mask),
                            "rmse_nearest": _rmse(n, gt, mask),
                            "rmse_bicubic_aligned": _rmse(ba.values, gt, mask),
                        }
                    )
        print(f"{label}: x{s} scored in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return rows


def matrix(rows: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """``{method: {"kernel|condition": {"ratio", "worst_group", "worst", "groups", "nearest"}}}``."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for r in rows:
        cell = out.setdefault(r["method"], {}).setdefault(f"{r['kernel']}|{r['condition']}", {})
        cell.setdefault("_r", []).append(r)
    for cells in out.values():
        for key, cell in cells.items():
            rs = cell.pop("_r")
            ratio = _geo([r["rmse"] / r["rmse_bicubic"] for r in rs])
            groups = {}
            for g in GROUPS:
                sel = [r["rmse"] / r["rmse_bicubic"] for r in rs if r["group"] == g]
                if sel:
                    groups[g] = _geo(sel)
            worst = max(groups, key=groups.get)
            cells[key] = {
                "ratio": ratio,
                "nearest": _geo([r["rmse_nearest"] / r["rmse_bicubic"] for r in rs]),
                "bicubic_aligned": _geo(
                    [
                        r.get("rmse_bicubic_aligned", r["rmse_bicubic"]) / r["rmse_bicubic"]
                        for r in rs
                    ]
                ),
                "groups": groups,
                "worst_group": worst,
                "worst": groups[worst],
                "maps": len(rs),
                "scale": rs[0]["scale"],
            }
    return out


def bounded(kernel: str) -> bool:
    return "no hint" not in kernel


def markdown(
    mat: dict[str, dict[str, dict[str, Any]]], kernels: list[str], conds: list[str]
) -> str:
    """The matrix as a Markdown table (cells: ratio, worst group in brackets)."""
    cols = [(k, c) for c in conds for k in kernels]
    head = "| model | " + " | ".join(f"{k} {c}" for k, c in cols) + " |"
    lines = [head, "|" + "---|" * (len(cols) + 1)]
    for method, cells in mat.items():
        vals = []
        for k, c in cols:
            cell = cells.get(f"{k}|{c}")
            vals.append("" if cell is None else f"{cell['ratio']:.2f} ({cell['worst']:.2f})")
        lines.append(f"| {method} | " + " | ".join(vals) + " |")
    lines.append("")
    lines.append(
        "Cells: geometric mean over the held-out maps of RMSE / RMSE of bicubic upsampling of the "
        "same LR map (in brackets: the worst map group's geometric mean). Below 1 beats bicubic."
    )
    for method, cells in mat.items():
        near, aligned = [], []
        for k, c in cols:
            cell = cells.get(f"{k}|{c}")
            if cell is None:
                continue
            near.append(f"{k} {c}: {cell['nearest']:.2f}")
            if "bicubic_aligned" in cell and GRIDS.get(k):
                aligned.append(f"{k} {c}: {cell['bicubic_aligned']:.2f}")
        lines.append(f"{method}, nearest-neighbour upsampling for reference: " + "; ".join(near))
        if aligned:
            lines.append(
                f"{method}, bicubic through the models' grid alignment (the dihedral "
                "self-ensemble aligned on the point grid) for reference: " + "; ".join(aligned)
            )
    return "\n".join(lines) + "\n"


def check(mat: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    """The bounded cells that miss their bound (module docstring)."""
    bad = []
    for method, cells in mat.items():
        for key, cell in cells.items():
            if not bounded(key.split("|")[0]):
                continue
            bound = BOUNDS[cell["scale"]]
            if cell["ratio"] > bound:
                bad.append(f"{method} {key}: {cell['ratio']:.3f} > {bound}")
            if cell["worst"] > 1.0:
                bad.append(f"{method} {key}: group {cell['worst_group']} {cell['worst']:.3f} > 1")
    return bad


def write_card(
    name: str, cells: dict[str, dict[str, Any]], maps: list[str], seed: int, argv: Any
) -> None:
    """Record a shipped model's row of the matrix in its card (``metrics.robustness``)."""
    from depthduet.inference.pretrained import find_model_card

    card = find_model_card(name)
    assert card.path is not None
    raw = json.loads(card.path.read_text(encoding="utf-8"))
    args = sys.argv[1:] if argv is None else list(argv)
    raw.setdefault("metrics", {})["robustness"] = {
        "command": "python benchmarks/dsr_robustness.py " + " ".join(args),
        "maps": maps,
        "seed": seed,
        "lr": "kernel (+gaussian_noise:0.01+drop_random:0.01 when noisy); nearest is upsampled "
        "with lr_grid=point, nearest:0 (the corner grid) with lr_grid=corner; the no-hint "
        "rows with lr_grid=center",
        "ratio_to_bicubic": {k: round(c["ratio"], 4) for k, c in cells.items()},
        "worst_group": {k: [c["worst_group"], round(c["worst"], 4)] for k, c in cells.items()},
    }
    tmp = card.path.with_name(f".{card.path.name}.tmp")
    tmp.write_text(json.dumps(raw, indent=2) + "\n", encoding="utf-8")
    tmp.replace(card.path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, help="the shared data folder (default: ../shared/data)")
    p.add_argument("--model", action="append", default=[], help="shipped model name, repeatable")
    p.add_argument("--ckpt", action="append", default=[], help="LABEL=RUN (last checkpoint)")
    p.add_argument("--kernels", nargs="+", default=list(KERNELS), choices=KERNELS)
    p.add_argument("--conditions", nargs="+", default=list(CONDITIONS), choices=list(CONDITIONS))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, default=0, help="score only the first N maps (tests)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    p.add_argument(
        "--self-ensemble",
        choices=("none", "transpose", "dihedral"),
        help="centre-grid self-ensemble of every scored model (default none); the point and "
        "corner grids always run the aligned dihedral one",
    )
    p.add_argument("--json", type=Path, help="write the rows and the matrix here")
    p.add_argument("--md", type=Path, help="write the Markdown table here")
    p.add_argument("--check", action="store_true", help="exit 1 when a bounded cell fails")
    p.add_argument(
        "--card",
        action="store_true",
        help="write each --model's cells into its model card (metrics.robustness)",
    )
    a = p.parse_args(argv)
    import torch

    from depthduet.inference.dsr import DepthUpsampler
    from depthduet.paths import data_root

    if a.threads:
        torch.set_num_threads(a.threads)
    root = a.data or data_root()
    if root is None:
        raise SystemExit("the shared data folder was not found; pass --data")
    methods: dict[str, Any] = {}
    opts = {"device": "cpu"}
    if a.self_ensemble:
        opts["self_ensemble"] = a.self_ensemble
    for name in a.model:
        methods[name] = DepthUpsampler.from_pretrained(name, **opts)
    for item in a.ckpt:
        label, _, path = item.partition("=")
        if not path:
            raise SystemExit(f"--ckpt {item!r}: expected LABEL=RUN")
        methods[label] = DepthUpsampler.from_checkpoint(path, prefer="last", **opts)
    if not methods:
        raise SystemExit("nothing to score: pass --model or --ckpt")
    maps = held_out_maps(Path(root))
    if a.limit:
        maps = maps[: a.limit]
    rows = score(methods, maps, a.kernels, a.conditions, a.seed)
    mat = matrix(rows)
    table = markdown(mat, a.kernels, a.conditions)
    print(table)
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        info = {"maps": [m.name for m in maps], "seed": a.seed, "conditions": CONDITIONS}
        a.json.write_text(json.dumps({"setup": info, "rows": rows, "matrix": mat}, indent=1))
    if a.md:
        a.md.parent.mkdir(parents=True, exist_ok=True)
        a.md.write_text(table)
    if a.card:
        for name in a.model:
            write_card(name, mat[name], [m.name for m in maps], a.seed, argv)
    if a.check:
        bad = check(mat)
        for b in bad:
            print(f"FAIL {b}")
        print(f"bounds: {'all met' if not bad else f'{len(bad)} failed'}")
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
