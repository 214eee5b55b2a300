"""Throughput of the procedural world on one CPU core; prints JSON.

A sample is what ``WorldDataset`` returns by default: three frames (prev, target, next), the
stereo right view of the target and its LiDAR scan (64 beams), rendered from scratch (scene
generation included). The process is pinned to one core and numpy / torch use one thread.

    python benchmarks/world_throughput.py                      # 256x256, both kinds
    python benchmarks/world_throughput.py --size 96x320 --kinds driving --samples 40
    python benchmarks/world_throughput.py --repeat 3           # best of 3 passes (busy hosts)

``samples_per_cpu_s`` uses the process CPU time (user + system), which on a host shared with
other jobs is far more stable than wall time; ``--repeat`` keeps the best pass of each kind.
The renderer tunes glibc's allocator once per process (``DEPTHDUET_WORLD_MALLOC=0`` to compare
without it; see ``depthduet.data.world.render``).
"""

from __future__ import annotations

import os

# one thread everywhere, before numpy / torch are imported
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", default="256x256", help="HxW (default 256x256)")
    p.add_argument("--kinds", nargs="+", default=["indoor", "driving"])
    p.add_argument("--samples", type=int, default=24, help="timed samples per kind")
    p.add_argument("--core", type=int, default=None, help="CPU core to pin to (default: first)")
    p.add_argument("--repeat", type=int, default=1, help="timed passes per kind; the best is kept")
    p.add_argument(
        "--depth-only",
        action="store_true",
        help="one frame, no stereo view, no LiDAR (what depth-SR training reads)",
    )
    args = p.parse_args()

    import torch

    from depthduet.data.world import WorldConfig, WorldDataset

    torch.set_num_threads(1)
    if hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cores[0] if args.core is None else args.core})
    h, w = (int(x) for x in args.size.lower().split("x"))
    results = []
    for kind in args.kinds:
        extra = {"frames": 1, "stereo": False, "lidar_beams": 0} if args.depth_only else {}
        cfg = WorldConfig(height=h, width=w, **extra)
        ds = WorldDataset(kind, "train", n=args.samples + 1, cfg=cfg)
        ds[args.samples]  # warm-up (imports, caches)
        wall = cpu = float("inf")
        for _ in range(max(1, args.repeat)):
            t0, c0 = time.perf_counter(), time.process_time()
            lidar = 0.0
            for i in range(args.samples):
                s = ds[i]
                lidar += float((s["lidar"] > 0).float().mean()) if "lidar" in s else 0.0
            wall = min(wall, time.perf_counter() - t0)
            cpu = min(cpu, time.process_time() - c0)
        results.append(
            {
                "kind": kind,
                "size": [h, w],
                "samples": args.samples,
                "repeat": max(1, args.repeat),
                "frames": cfg.frames,
                "stereo": cfg.stereo,
                "lidar_beams": cfg.lidar_beams,
                "samples_per_s": round(args.samples / wall, 2),
                "samples_per_cpu_s": round(args.samples / cpu, 2),
                "ms_per_sample": round(1000 * wall / args.samples, 1),
                "lidar_density": round(lidar / args.samples, 4),
            }
        )
    out = {
        "benchmark": "world_throughput",
        "cores": 1,
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "results": results,
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
