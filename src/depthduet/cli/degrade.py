"""``depthduet degrade``: make a low-resolution test input from a high-resolution depth map."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "make a low-resolution depth map from a high-resolution one (any named degradation)"

DESCRIPTION = """\
Make a low-resolution (LR) depth map from a high-resolution (HR) one, the way a sensor, a
benchmark or a decimation script would, to test super-resolution on your own data.

--degradation is a chain KERNEL[:p][+STEP:VALUE...] (depthduet.data.degradation):
  kernels  bicubic_aa (antialiased; 'bicubic' is the same), bicubic_plain (no antialiasing,
           as depth-SR benchmarks ship LR maps), bilinear, area (block mean), nearest[:o]
           (point samples hr[o::s], default o = s//2: upsample it with --lr-grid point;
           nearest:0 is hr[::s], the corner grid: --lr-grid corner), gaussian[:sigma]
  noise    gaussian_noise:STD (fraction of the valid range), proportional_noise:K (std = K d),
           disparity_quantize:REL (Kinect-like), quantize:BITS
  holes    drop_random:P, drop_blobs:FRACTION, drop_edges:P, flying_pixels:P
or 'random' for one draw of the training mix (the chain drawn is printed and saved).

The HR map is cropped at the bottom / right to a multiple of --scale; --hr-out writes that
crop (the ground truth that matches the LR map). Values keep the input's unit and format
(an integer file stores rounded values). Holes are written the way the input marks them.
Files are written atomically; an existing output is refused unless --overwrite. The chain,
seed and sizes are saved next to the output as LR.degrade.yaml.

Examples:
  depthduet degrade hr.png --scale 4 --degradation bicubic_plain -o lr.png
  depthduet degrade hr.png --scale 8 --degradation "area+gaussian_noise:0.01+drop_random:0.01" \\
      --seed 3 -o lr.png --hr-out gt.png
  depthduet degrade hr.npy --scale 4 --degradation random --seed 7 -o lr.npy
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", metavar="HR", help="high-resolution depth file")
    p.add_argument("--scale", type=int, required=True, choices=(2, 4, 8, 16), help="factor")
    p.add_argument("-o", "--output", required=True, metavar="LR", help="low-resolution output")
    p.add_argument(
        "--degradation",
        default="bicubic_aa",
        metavar="CHAIN",
        help="kernel and steps (see above) or 'random' (default bicubic_aa)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the noise, holes and draws")
    p.add_argument("--hr-out", metavar="FILE", help="also write the HR crop matching the output")
    p.add_argument("--key", default=None, help="array name in .npz/.mat input (and output)")
    p.add_argument("--index", type=int, default=None, help="which map of a stacked input")
    p.add_argument(
        "--invalid", type=float, default=None, metavar="V", help="stored value meaning 'no data'"
    )
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")


def run(args: argparse.Namespace) -> int:
    from depthduet.apps.degrade import degrade_file

    result = degrade_file(
        Path(args.input),
        Path(args.output),
        scale=args.scale,
        degradation=args.degradation,
        seed=args.seed,
        hr_out=Path(args.hr_out) if args.hr_out else None,
        key=args.key,
        index=args.index,
        invalid=args.invalid,
        overwrite=args.overwrite,
    )
    print(result)
    return 0
