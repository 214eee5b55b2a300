"""Peak memory per output pixel of depth super-resolution (``DepthUpsampler.upsample``).

Runs one upsampling per size in a fresh process and reads its peak resident memory
(``ru_maxrss``); the difference between two output sizes, divided by the difference in output
pixels, is the memory per output pixel of the whole pipeline (input handling, tiling buffer,
back to units, validity), free of the interpreter's and the model's fixed cost. The target is
at most 12 bytes per output pixel; ``depthduet.inference.dsr.BYTES_PER_OUTPUT_PIXEL`` is the
value the size check uses for its estimate.

    python benchmarks/dsr_memory.py --model bicubic --scale 4 --sizes 1024 2048
    python benchmarks/dsr_memory.py --model dsr-x4 --scale 4 --sizes 512 1024
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys
import numpy as np, torch
torch.set_num_threads(1)
from depthduet.inference.dsr import DepthUpsampler
name, scale, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
kw = dict(device="cpu", max_output_pixels=0)
up = DepthUpsampler.bicubic(scale, **kw) if name == "bicubic" else DepthUpsampler.from_pretrained(name, **kw)
lr = np.random.default_rng(0).random((n // scale, n // scale)) + 1.0
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
out = up.upsample(lr)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"out_pixels": out.values.size, "peak_kib": peak, "before_kib": base}))
"""


def measure(model: str, scale: int, size: int) -> dict:
    res = subprocess.run(
        [sys.executable, "-c", CHILD, model, str(scale), str(size)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="bicubic", help="bicubic or a shipped model name")
    p.add_argument("--scale", type=int, default=4)
    p.add_argument("--sizes", type=int, nargs=2, default=[1024, 2048], help="two output sizes")
    a = p.parse_args(argv)
    small, big = (measure(a.model, a.scale, n) for n in a.sizes)
    per_px = (
        (big["peak_kib"] - small["peak_kib"]) * 1024 / (big["out_pixels"] - small["out_pixels"])
    )
    for n, r in zip(a.sizes, (small, big)):
        print(f"{a.model} x{a.scale}, output {n}x{n}: peak {r['peak_kib'] / 1024:.0f} MiB")
    print(f"memory per output pixel: {per_px:.1f} bytes (target <= 12)")
    return 0 if per_px <= 12 else 1


if __name__ == "__main__":
    sys.exit(main())
