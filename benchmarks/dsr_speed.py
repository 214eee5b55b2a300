"""Speed and memory of depth super-resolution (METHOD A): training and tiled inference.

Measures, per DSRNet preset (tiny / small / paper) and scale:

* ``train``: DSRNet forward + backward + Adam step, samples per second (random smooth maps,
  ``--batch`` patches of ``--crop-lr`` LR pixels), and the full METHOD A recipe step
  (``depthduet.recipes.ctkt``: DSRNet + DENet + distillation + SPNet) when it is importable;
* ``inference``: :class:`depthduet.inference.dsr.DepthUpsampler` on a ``--infer-lr`` square LR
  map, seconds per output megapixel (tiling with ``--tile`` / ``--overlap``);
* ``big`` (``--big``): a 4096 x 4096 output at x4 (LR 1024 x 1024) through tiling, with the
  peak resident memory of that process, checked against ``--big-limit-gib`` (3 GiB).

Every measurement runs in its own subprocess, so ``peak_rss_mib`` (``resource.getrusage``
``ru_maxrss``) is the peak of that measurement alone (torch's CPU allocator is invisible to
``tracemalloc``, so resident memory is the number that matters). Prints one JSON document.

Examples (the CPU is small; limit what runs)::

    python benchmarks/dsr_speed.py --presets tiny --scales 4
    python benchmarks/dsr_speed.py --presets tiny small --scales 4 8 --recipe --big
    python benchmarks/dsr_speed.py --presets tiny --no-train --compare-layout --infer-lr 128
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
from typing import Any


def _peak_rss_mib() -> float:
    # ru_maxrss is in KiB on Linux, bytes on macOS
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / (1024 * 1024) if sys.platform == "darwin" else r / 1024


def _smooth(h: int, w: int, seed: int = 0) -> Any:
    import numpy as np

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    f = rng.uniform(0.01, 0.1, size=4)
    return (
        2.0
        + np.sin(yy * f[0]) * np.cos(xx * f[1])
        + 0.5 * np.sin((xx + yy) * f[2])
        + 0.2 * np.cos(xx * f[3])
    ).astype(np.float32)


# ----------------------------------------------------------------------------- workers
def _work_train(p: dict[str, Any]) -> dict[str, Any]:
    import torch

    from depthduet.models.dbpn import DSRNet

    s, b, h = p["scale"], p["batch"], p["crop_lr"]
    net = DSRNet.from_preset(s, p["preset"])
    if p.get("train_channels_last"):
        net = net.to(memory_format=torch.channels_last)  # as engine.channels_last=true
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    lr = torch.rand(b, 1, h, h)
    hr = torch.rand(b, 1, s * h, s * h)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        loss = (net(lr) - hr).abs().mean()
        loss.backward()
        opt.step()

    step()  # warm-up (allocations, kernel selection)
    t0 = time.perf_counter()
    for _ in range(p["steps"]):
        step()
    dt = time.perf_counter() - t0
    return {
        "what": "train_dsrnet",
        "channels_last": bool(p.get("train_channels_last")),
        "params": sum(x.numel() for x in net.parameters()),
        "samples_per_s": b * p["steps"] / dt,
        "s_per_step": dt / p["steps"],
    }


def _work_recipe(p: dict[str, Any]) -> dict[str, Any]:
    import torch

    try:
        from depthduet.config import load_config
        from depthduet.recipes.ctkt import CTKTConfig, CTKTRecipe
    except ImportError as e:
        return {"what": "train_recipe", "skipped": f"recipe not importable: {e}"}
    s, b, h = p["scale"], p["batch"], p["crop_lr"]
    cfg = load_config(
        CTKTConfig,
        None,
        [f"model.preset={p['preset']}", f"data.scale={s}", f"data.crop={s * h}"],
    )
    recipe = CTKTRecipe.from_config(cfg)
    cl = bool(p.get("train_channels_last"))
    if cl:  # as the engine does with engine.channels_last=true
        for n in recipe.networks.values():
            n.to(memory_format=torch.channels_last)
    hr = torch.rand(b, 1, s * h, s * h) + 0.5
    batch = {
        "lr": torch.nn.functional.avg_pool2d(hr, s),
        "lr_valid": torch.ones(b, 1, h, h, dtype=torch.bool),
        "hr": hr,
        "hr_valid": torch.ones(b, 1, s * h, s * h, dtype=torch.bool),
        "image": torch.rand(b, 3, s * h, s * h),
        "scale": torch.full((b,), s),
    }
    if cl:
        batch = {
            k: v.contiguous(memory_format=torch.channels_last)
            if v.ndim == 4 and v.is_floating_point()
            else v
            for k, v in batch.items()
        }
    state: dict[str, Any] = {"epoch": 0, "step": 0, "round": 1}
    recipe.on_round_start(state)
    for n in recipe.networks.values():
        n.train()

    def step() -> None:
        for o in recipe.optimizers.values():
            o.zero_grad(set_to_none=True)
        out = recipe.training_step(batch, state)
        out["loss"].backward()
        for o in recipe.optimizers.values():
            o.step()
        state["step"] += 1

    step()  # warm-up round (METHOD.md A.3: no distillation yet) ...
    recipe.on_round_end(state)  # ... ends here, so the timed steps distil
    state["round"] += 1
    recipe.on_round_start(state)
    distilling = bool(getattr(getattr(recipe, "selector", None), "distill", False))
    t0 = time.perf_counter()
    for _ in range(p["steps"]):
        step()
    dt = time.perf_counter() - t0
    return {
        "what": "train_recipe",
        "channels_last": cl,
        "distilling": distilling,
        "networks": sorted(recipe.networks),
        "params": sum(x.numel() for n in recipe.networks.values() for x in n.parameters()),
        "samples_per_s": b * p["steps"] / dt,
        "s_per_step": dt / p["steps"],
    }


def _work_infer(p: dict[str, Any]) -> dict[str, Any]:
    from depthduet.inference.dsr import DepthUpsampler
    from depthduet.models.dbpn import DSRNet

    s, n = p["scale"], p["lr_size"]
    if p["preset"] == "bicubic":
        up = DepthUpsampler.bicubic(s, tile=p["tile"], overlap=p["overlap"], device="cpu")
    else:
        net = DSRNet.from_preset(s, p["preset"])
        cl = p.get("channels_last", True)
        up = DepthUpsampler(
            net, s, tile=p["tile"], overlap=p["overlap"], device="cpu", channels_last=cl
        )
    x = _smooth(n, n)
    up.upsample(x[: min(n, 24), : min(n, 24)])  # warm-up
    t0 = time.perf_counter()
    out = up.upsample(x)
    dt = time.perf_counter() - t0
    mp = out.values.size / 1e6
    return {
        "what": "inference",
        "lr_size": [n, n],
        "out_size": list(out.values.shape),
        "seconds": dt,
        "s_per_out_mp": dt / mp,
        "channels_last": getattr(up, "channels_last", None),
    }


WORKERS = {"train": _work_train, "recipe": _work_recipe, "infer": _work_infer}


def _worker_main(spec: str) -> None:
    import torch

    p = json.loads(spec)
    torch.set_num_threads(p["threads"])
    torch.manual_seed(0)
    res = WORKERS[p["kind"]](p)
    res.update({k: p[k] for k in ("preset", "scale") if k in p})
    res["peak_rss_mib"] = round(_peak_rss_mib(), 1)
    print("RESULT " + json.dumps(res))


def _spawn(p: dict[str, Any], timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", json.dumps(p)]
    t0 = time.perf_counter()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {
            "kind": p["kind"],
            "preset": p.get("preset"),
            "scale": p.get("scale"),
            "error": f"timed out after {timeout:.0f} s",
        }
    for line in r.stdout.splitlines():
        if line.startswith("RESULT "):
            res = json.loads(line[7:])
            res["wall_s"] = round(time.perf_counter() - t0, 2)
            return res
    tail = (r.stderr.strip().splitlines() or ["no output"])[-1]
    return {"kind": p["kind"], "preset": p.get("preset"), "scale": p.get("scale"), "error": tail}


def _round(d: Any) -> Any:
    if isinstance(d, float):
        return float(f"{d:.4g}") if math.isfinite(d) else d
    if isinstance(d, dict):
        return {k: _round(v) for k, v in d.items()}
    if isinstance(d, list):
        return [_round(v) for v in d]
    return d


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--presets",
        nargs="+",
        default=["tiny", "small", "paper"],
        choices=["tiny", "small", "paper"],
    )
    ap.add_argument("--scales", nargs="+", type=int, default=[2, 4, 8, 16], choices=[2, 4, 8, 16])
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = all cores)")
    ap.add_argument("--batch", type=int, default=4, help="training batch")
    ap.add_argument("--crop-lr", type=int, default=16, help="training LR patch size")
    ap.add_argument("--steps", type=int, default=3, help="timed training steps")
    ap.add_argument("--recipe", action="store_true", help="also time the full ctkt recipe step")
    ap.add_argument("--no-train", action="store_true")
    ap.add_argument("--no-infer", action="store_true")
    ap.add_argument("--infer-lr", type=int, default=64, help="inference LR map side")
    ap.add_argument(
        "--train-channels-last",
        action="store_true",
        help="train in channels-last layout (engine.channels_last=true); default: plain layout",
    )
    ap.add_argument(
        "--compare-layout",
        action="store_true",
        help="time inference in both memory layouts (channels-last, the default, and contiguous)",
    )
    ap.add_argument("--tile", type=int, default=None, help="LR tile (default: per scale)")
    ap.add_argument("--overlap", type=int, default=None, help="LR overlap (default: per scale)")
    ap.add_argument("--big", action="store_true", help="4096x4096 output at x4 through tiling")
    ap.add_argument("--big-preset", default="tiny", choices=["tiny", "small", "paper", "bicubic"])
    ap.add_argument("--big-limit-gib", type=float, default=3.0)
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per measurement")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        _worker_main(args.worker)
        return 0

    import torch

    threads = args.threads or os.cpu_count() or 1
    base = {"threads": threads}
    results: dict[str, Any] = {
        "command": " ".join([os.path.basename(sys.executable), *sys.argv]),
        "env": {
            "torch": torch.__version__,
            "threads": threads,
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "load_avg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        },
        "train": [],
        "train_recipe": [],
        "inference": [],
    }
    for preset in args.presets:
        for scale in args.scales:
            common = {**base, "preset": preset, "scale": scale}
            if not args.no_train:
                tp = {
                    **common,
                    "batch": args.batch,
                    "crop_lr": args.crop_lr,
                    "steps": args.steps,
                    "train_channels_last": args.train_channels_last,
                }
                results["train"].append(_spawn({**tp, "kind": "train"}, args.timeout))
                if args.recipe:
                    results["train_recipe"].append(_spawn({**tp, "kind": "recipe"}, args.timeout))
            if not args.no_infer:
                ip = {
                    **common,
                    "kind": "infer",
                    "lr_size": args.infer_lr,
                    "tile": args.tile,
                    "overlap": args.overlap,
                }
                layouts = [True, False] if args.compare_layout else [True]
                for cl in layouts:
                    results["inference"].append(_spawn({**ip, "channels_last": cl}, args.timeout))
            print(f"done {preset} x{scale}", file=sys.stderr, flush=True)
    if args.big:
        bp = {
            **base,
            "kind": "infer",
            "preset": args.big_preset,
            "scale": 4,
            "lr_size": 1024,
            "tile": args.tile,
            "overlap": args.overlap,
        }
        big = _spawn(bp, args.timeout)
        if "peak_rss_mib" in big:
            big["limit_gib"] = args.big_limit_gib
            big["under_limit"] = big["peak_rss_mib"] / 1024 < args.big_limit_gib
        results["big"] = big
    print(json.dumps(_round(results), indent=2))
    big_ok = results.get("big", {}).get("under_limit", True)
    return 0 if big_ok else 1


if __name__ == "__main__":
    sys.exit(main())
