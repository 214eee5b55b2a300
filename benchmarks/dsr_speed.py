"""Speed and memory of depth super-resolution (METHOD A): training and tiled inference.

Measures, per DSRNet preset (tiny / small / paper) and scale:

* ``train``: DSRNet forward + backward + Adam step, samples per second (random smooth maps,
  ``--batch`` patches of ``--crop-lr`` LR pixels), and the full METHOD A recipe step
  (``depthduet.recipes.ctkt``: DSRNet + DENet + distillation + SPNet) when it is importable;
* ``inference``: :class:`depthduet.inference.dsr.DepthUpsampler` on a ``--infer-lr`` square LR
  map, seconds per output megapixel (tiling with ``--tile`` / ``--overlap``);
* ``big`` (``--big``): a 4096 x 4096 output at x4 (LR 1024 x 1024) through tiling, with the
  peak resident memory of that process, checked against ``--big-limit-gib`` (3 GiB);
* ``shipped`` (``--shipped``): every shipped DSR model (``dsr-x2`` ... ``dsr-x16``) at 480x640
  and 1024x1024 outputs on one thread: seconds of the plain network (``.module``, eager fp32,
  contiguous layout, whole map), of the same network in channels-last, of the fast network
  (:class:`depthduet.inference.fast.FastDSRNet`) and of the whole
  :class:`~depthduet.inference.dsr.DepthUpsampler` (fast path, its tiles, normalisation,
  filling); the network's GFLOP (2 x multiply-adds of its convolutions on the whole map),
  GFLOP/s and percent of the core's fp32 peak for the fast upsampler, its speed-up over
  ``.module``, and the largest difference of its output from ``.module``'s, relative to the
  output's range (must stay <= 1e-4). With ``--self-ensembles``, also the upsampler with
  ``self_ensemble="transpose"`` / ``"dihedral"`` and with ``lr_grid="point"``. Runs are interleaved and the minimum of ``--repeat`` is
  kept (other processes on the CPU slow single runs down, never speed them up);
* ``tune`` (``--tune``): per scale, the fast network with each transposed-convolution form
  (``native``, ``dense``, ``grouped``) and the fast upsampler with several LR tile sizes: the
  measurements behind :data:`depthduet.inference.fast.FAST_PLAN`.

**fp32 peak of one core** = fp32 FLOP per cycle x clock. FLOP per cycle follows from the CPU's
flags in ``/proc/cpuinfo``: with ``avx512f``, 16 lanes x 2 (FMA) x the number of 512-bit FMA
issues per cycle (Intel server cores: 2; AMD Zen 4, which runs AVX-512 on 256-bit units: 1;
AMD Zen 5, recognised by ``avx_vnni`` / ``avx512_vp2intersect``: 2); with ``avx2`` + ``fma``:
8 lanes x 2 x 2 pipes = 32; with ``avx`` only: 16. The clock is ``cpu MHz`` of
``/proc/cpuinfo`` (the reported, not the boost clock). ``--fma-per-cycle`` and ``--ghz``
override either.

Every measurement runs in its own subprocess, so ``peak_rss_mib`` (``resource.getrusage``
``ru_maxrss``) is the peak of that measurement alone (torch's CPU allocator is invisible to
``tracemalloc``, so resident memory is the number that matters). Prints one JSON document.

Examples (the CPU is small; limit what runs)::

    python benchmarks/dsr_speed.py --presets tiny --scales 4
    python benchmarks/dsr_speed.py --presets tiny small --scales 4 8 --recipe --big
    python benchmarks/dsr_speed.py --presets tiny --no-train --compare-layout --infer-lr 128
    python benchmarks/dsr_speed.py --shipped --repeat 5
    python benchmarks/dsr_speed.py --tune --scales 4 8 16
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
        "fast_path": getattr(up, "fast", False),
    }


# ----------------------------------------------------------------------------- fast path
def cpu_peak(fma_per_cycle: float | None = None, ghz: float | None = None) -> dict[str, Any]:
    """fp32 peak of one core from ``/proc/cpuinfo`` (see the module docstring)."""
    info: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if ":" in line:
                    k, v = line.split(":", 1)
                    info.setdefault(k.strip(), v.strip())
    except OSError:
        pass
    flags = set(info.get("flags", "").split())
    vendor = info.get("vendor_id", "")
    if "avx512f" in flags:
        zen5 = bool({"avx_vnni", "avx512_vp2intersect"} & flags)
        units = 1 if vendor == "AuthenticAMD" and not zen5 else 2
        per_cycle, how = 16 * 2 * units, f"AVX-512: 16 fp32 lanes x 2 (FMA) x {units} FMA/cycle"
        if vendor == "AuthenticAMD":
            how += " (AMD Zen 5)" if zen5 else " (AMD Zen 4: 512-bit ops on 256-bit units)"
    elif "avx2" in flags and "fma" in flags:
        per_cycle, how = 32, "AVX2: 8 fp32 lanes x 2 (FMA) x 2 FMA pipes"
    elif "avx" in flags:
        per_cycle, how = 16, "AVX: 8 fp32 lanes x (1 add + 1 mul)"
    else:
        per_cycle, how = 8, "SSE: 4 fp32 lanes x (1 add + 1 mul)"
    if fma_per_cycle is not None:
        per_cycle, how = fma_per_cycle, "given by --fma-per-cycle"
    mhz = float(info.get("cpu MHz", "0") or 0)
    clock = ghz if ghz is not None else mhz / 1000.0
    return {
        "cpu": info.get("model name", platform.processor()),
        "vendor": vendor,
        "flop_per_cycle": per_cycle,
        "flop_per_cycle_from": how,
        "ghz": clock,
        "ghz_from": "--ghz" if ghz is not None else "cpu MHz of /proc/cpuinfo",
        "peak_gflops": per_cycle * clock,
    }


def network_flops(net: Any, x: Any) -> float:
    """2 x the multiply-adds of every (transposed) convolution of ``net`` on input ``x``."""
    import torch

    macs = [0.0]

    def hook(m: Any, inp: Any, out: Any) -> None:
        if isinstance(m, torch.nn.ConvTranspose2d):  # every input pixel meets the whole kernel
            n = inp[0].numel() // inp[0].shape[1]
            macs[0] += n * m.in_channels * m.out_channels * m.weight[0, 0].numel()
        else:
            n = out.numel() // out.shape[1]
            macs[0] += n * m.out_channels * m.in_channels // m.groups * m.weight[0, 0].numel()

    hooks = [
        m.register_forward_hook(hook)
        for m in net.modules()
        if isinstance(m, torch.nn.Conv2d | torch.nn.ConvTranspose2d)
    ]
    with torch.no_grad():
        net(x)
    for h in hooks:
        h.remove()
    return 2.0 * macs[0]


def _interleaved(fns: dict[str, Any], repeat: int) -> dict[str, float]:
    """Minimum seconds of each function over ``repeat`` interleaved rounds (after a warm-up)."""
    for f in fns.values():
        f()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeat):
        for k, f in fns.items():
            t0 = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t0)
    return {k: min(v) for k, v in times.items()}


def _shipped_net(p: dict[str, Any]) -> Any:
    import torch

    from depthduet.inference.dsr import DepthUpsampler
    from depthduet.models.dbpn import DSRNet

    if p.get("model"):  # the plain module: the fast path leaves its layout alone
        net = DepthUpsampler.from_pretrained(p["model"], device="cpu").module
        assert all(w.is_contiguous() for w in net.parameters())
        return net
    torch.manual_seed(0)  # a scale without shipped weights: random tiny DSRNet
    return DSRNet.from_preset(p["scale"], "tiny").eval()


def _work_shipped(p: dict[str, Any]) -> dict[str, Any]:
    import copy

    import numpy as np
    import torch

    from depthduet.inference.dsr import DepthUpsampler
    from depthduet.inference.fast import FAST_PLAN, FastDSRNet
    from depthduet.models.dbpn import prepare_lr

    net = _shipped_net(p)
    s = int(net.scale)
    H, W = p["out"]
    lr = _smooth(H // s, W // s, seed=1) * 1000.0  # a millimetre-like map
    mask = torch.ones(1, 1, H // s, W // s, dtype=torch.bool)
    x_n, lo, hi = prepare_lr(torch.from_numpy(lr)[None, None].double(), mask)
    x = x_n.float().contiguous()
    cl = copy.deepcopy(net).to(memory_format=torch.channels_last)
    xc = x.contiguous(memory_format=torch.channels_last)
    fastnet = FastDSRNet.from_dsrnet(net)
    up = DepthUpsampler(copy.deepcopy(net), s, device="cpu")  # the default (fast) path
    assert up.fast
    fns = {
        "module": lambda: net(x),
        "channels_last": lambda: cl(xc),
        "fast_net": lambda: fastnet(x),
        "fast_upsampler": lambda: up.upsample(lr),
    }
    if p.get("ensembles"):  # the self-ensembles and the point grid, same fast path
        up_t = DepthUpsampler(copy.deepcopy(net), s, device="cpu", self_ensemble="transpose")
        up_d = DepthUpsampler(copy.deepcopy(net), s, device="cpu", self_ensemble="dihedral")
        fns["transpose_upsampler"] = lambda: up_t.upsample(lr)
        fns["dihedral_upsampler"] = lambda: up_d.upsample(lr)
        fns["point_grid_upsampler"] = lambda: up.upsample(lr, lr_grid="point")
    t = _interleaved(fns, p["repeat"])
    with torch.no_grad():
        ref = (net(x).double() * (hi - lo) + lo)[0, 0].numpy()
    ref = np.clip(ref, lr.min(), lr.max())  # the upsampler clamps to the LR range
    out = up.upsample(lr).values
    span = float(ref.max() - ref.min())
    gflop = network_flops(net, x) / 1e9
    peak = cpu_peak(p.get("fma_per_cycle"), p.get("ghz"))["peak_gflops"]
    gflops = gflop / t["fast_upsampler"]
    return {
        "what": "shipped",
        "model": p.get("model") or f"random tiny x{s} (no shipped weights)",
        "out_size": [H, W],
        "lr_size": [H // s, W // s],
        "fast_plan": {"deconv": fastnet.deconv, "tile": up.tile, "overlap": up.overlap},
        "seconds": t,
        "gflop": gflop,
        "gflops_fast_upsampler": gflops,
        "gflops_module": gflop / t["module"],
        "percent_of_peak": 100.0 * gflops / peak if peak else None,
        "speedup_vs_module": t["module"] / t["fast_upsampler"],
        "speedup_net_vs_module": t["module"] / t["fast_net"],
        "speedup_vs_channels_last": t["channels_last"] / t["fast_upsampler"],
        "max_rel_diff": float(np.abs(out.astype(np.float64) - ref).max() / span),
        "plan_scale": FAST_PLAN[s][0],
    }


def _work_tune(p: dict[str, Any]) -> dict[str, Any]:
    import copy

    import torch

    from depthduet.inference.dsr import DepthUpsampler
    from depthduet.inference.fast import DECONV_MODES, FAST_PLAN, FastDSRNet

    net = _shipped_net(p)
    s = int(net.scale)
    H, W = p["out"]
    x = torch.rand(1, 1, H // s, W // s)
    lr = _smooth(H // s, W // s, seed=1) * 1000.0
    nets = {m: FastDSRNet.from_dsrnet(net, m) for m in DECONV_MODES}
    deconv = _interleaved({m: (lambda f=f: f(x)) for m, f in nets.items()}, p["repeat"])
    best = min(deconv, key=deconv.get)
    overlap = FAST_PLAN[s][2]
    tiles = {}
    for tile in p["tiles"]:
        if tile and tile <= 3 * overlap:
            continue
        up = DepthUpsampler(copy.deepcopy(net), s, device="cpu", tile=tile, overlap=overlap)
        up.network = FastDSRNet.from_dsrnet(net, best)
        tiles[str(tile)] = lambda up=up: up.upsample(lr)
    tile_t = _interleaved(tiles, p["repeat"])
    return {
        "what": "tune",
        "model": p.get("model") or f"random tiny x{s}",
        "out_size": [H, W],
        "deconv_seconds": deconv,
        "best_deconv": best,
        "tile_seconds": tile_t,
        "best_tile": int(min(tile_t, key=tile_t.get)),
    }


WORKERS = {
    "train": _work_train,
    "recipe": _work_recipe,
    "infer": _work_infer,
    "shipped": _work_shipped,
    "tune": _work_tune,
}


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
    ap.add_argument(
        "--shipped",
        action="store_true",
        help="fast path vs .module for every shipped DSR model (one thread; only this table)",
    )
    ap.add_argument(
        "--tune",
        action="store_true",
        help="measure the fast path's transposed-convolution forms and tile sizes (--scales)",
    )
    ap.add_argument(
        "--sizes",
        nargs="+",
        default=["480x640", "1024x1024"],
        metavar="HxW",
        help="output sizes of --shipped / --tune",
    )
    ap.add_argument("--repeat", type=int, default=5, help="timed rounds of --shipped / --tune")
    ap.add_argument(
        "--self-ensembles",
        action="store_true",
        help="with --shipped: also time --self-ensemble transpose / dihedral and --lr-grid point",
    )
    ap.add_argument(
        "--tiles", nargs="+", type=int, default=None, help="LR tiles tried by --tune (0 = none)"
    )
    ap.add_argument("--fma-per-cycle", type=float, default=None, help="override fp32 FLOP/cycle")
    ap.add_argument("--ghz", type=float, default=None, help="override the clock (GHz)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        _worker_main(args.worker)
        return 0

    if args.shipped or args.tune:
        return _fast_main(args)

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


def _fast_main(args: argparse.Namespace) -> int:
    """``--shipped`` / ``--tune``: one thread, one subprocess per model and size."""
    import torch

    from depthduet.inference.pretrained import list_model_cards

    sizes = [tuple(int(v) for v in t.lower().split("x")) for t in args.sizes]
    cards = {c.scale: c.name for c in list_model_cards() if c.weights_path().is_file()}
    peak = cpu_peak(args.fma_per_cycle, args.ghz)
    results: dict[str, Any] = {
        "command": " ".join([os.path.basename(sys.executable), *sys.argv]),
        "env": {
            "torch": torch.__version__,
            "threads": 1,
            "platform": platform.platform(),
            "load_avg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        },
        "cpu_peak": peak,
        "rows": [],
    }
    base = {"threads": 1, "repeat": args.repeat, "ensembles": args.self_ensembles}
    base.update({"fma_per_cycle": args.fma_per_cycle, "ghz": args.ghz})
    scales = sorted(cards) if args.shipped else args.scales
    for scale in scales:
        for out in sizes:
            p = {**base, "scale": scale, "model": cards.get(scale), "out": list(out)}
            if args.tune:
                default = {2: [128, 256, 512, 0], 4: [128, 192, 256, 0], 8: [64, 96, 128, 0]}
                p["tiles"] = args.tiles or default.get(scale, [32, 48, 64, 0])
                p["kind"] = "tune"
            else:
                p["kind"] = "shipped"
            results["rows"].append(_spawn(p, args.timeout))
            print(f"done x{scale} {out[0]}x{out[1]}", file=sys.stderr, flush=True)
    print(json.dumps(_round(results), indent=2))
    if args.shipped:
        print(_table(results), file=sys.stderr)
        bad = [r for r in results["rows"] if r.get("max_rel_diff", 1.0) > 1e-4]
        return 1 if bad else 0
    return 0


def _table(results: dict[str, Any]) -> str:
    """The ``--shipped`` rows as a Markdown table."""
    peak = results["cpu_peak"]
    lines = [
        f"CPU: {peak['cpu']}; fp32 peak of one core {peak['peak_gflops']:.1f} GFLOP/s = "
        f"{peak['flop_per_cycle']:g} FLOP/cycle ({peak['flop_per_cycle_from']}) x "
        f"{peak['ghz']:.3f} GHz ({peak['ghz_from']}); torch {results['env']['torch']}, 1 thread",
        "",
        "| model | output | .module s | channels-last s | fast net s | fast upsampler s | GFLOP "
        "| GFLOP/s | % peak | x vs .module | max rel diff |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["rows"]:
        if "error" in r:
            lines.append(f"| x{r.get('scale')} | | error: {r['error']} |")
            continue
        t = r["seconds"]
        lines.append(
            f"| {r['model']} | {r['out_size'][0]}x{r['out_size'][1]} | {t['module']:.3f} "
            f"| {t['channels_last']:.3f} | {t['fast_net']:.3f} | {t['fast_upsampler']:.3f} "
            f"| {r['gflop']:.2f} | {r['gflops_fast_upsampler']:.1f} "
            f"| {r['percent_of_peak']:.0f} | {r['speedup_vs_module']:.2f} "
            f"| {r['max_rel_diff']:.1e} |"
        )
    rows = [r for r in results["rows"] if "dihedral_upsampler" in r.get("seconds", {})]
    if rows:
        lines += [
            "",
            "| model | output | fast upsampler s | transpose s | dihedral s | --lr-grid point s |",
            "|---|---|---|---|---|---|",
        ]
        for r in rows:
            t = r["seconds"]
            lines.append(
                f"| {r['model']} | {r['out_size'][0]}x{r['out_size'][1]} "
                f"| {t['fast_upsampler']:.3f} | {t['transpose_upsampler']:.3f} "
                f"| {t['dihedral_upsampler']:.3f} | {t['point_grid_upsampler']:.3f} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
