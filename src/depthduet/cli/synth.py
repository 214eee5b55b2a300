"""``depthduet synth``: write a procedural-world RGB-D dataset to disk."""

from __future__ import annotations

import argparse
import sys

HELP = "render a procedural RGB-D dataset (indoor or driving, or a public dataset's layout)"
DESCRIPTION = """\
--kind: render N sequences of the procedural world (seeds S .. S+N-1) into OUT, one folder per
sample: frame_{k}.png (RGB), depth_{k}.npy (float32 metres, 0 = none), lidar_{k}.npy (float32
metres, 0 = no return), right_{k}.png (stereo right view) and camera.json (K in pixels, baseline
in metres, camera-to-world 4x4 poses, OpenCV axes). The settings are saved as OUT/synth.yaml.
Existing complete sample folders are kept (re-run to resume) unless --overwrite.
Read it back with depthduet.data.synth_folder.SynthFolderDataset(OUT).

Split seed ranges used by the recipes: train 0.., val 100000.., test 200000...

--layout: write a miniature of a public dataset in its official layout and file formats
(depthduet.data.miniatures): kitti-raw (raw drives, calibration, Velodyne .bin, monodepth2
split files), kitti-depth (depth benchmark 16-bit PNGs of the same drives), nyu-v2-mat
(labelled .mat, MATLAB v7.3, + splits.mat), middlebury (2014 scenes: im0/im1, disp0/disp1
.pfm, calib.txt), cityscapes (leftImg8bit, rightImg8bit, disparity, camera, sequence frames).
--n samples (default 4; the last max(1, n // 4) are held out), --size HxW, --seed. OUT must be
absent or empty (--overwrite replaces an earlier miniature); it is written under a temporary
name and renamed when complete.

examples:
  depthduet synth --kind driving --n 100 --frames 3 --size 96x320 --seed 0 --out data/drv
  depthduet synth --kind indoor --n 20 --out data/tof --config world/indoor_tof
  depthduet synth --kind driving --n 8 --out data/x --set lidar_beams=32 lidar_noise=0.02
  depthduet synth --kind indoor --n 1 --out /tmp/w --preview world_indoor.png
  depthduet synth --layout kitti-raw --out data/kitti_raw
  depthduet synth --layout cityscapes --n 8 --size 128x256 --out data/cityscapes
"""

#: options of --kind that a --layout miniature does not take (dest -> option name).
KIND_ONLY = {
    "frames": "--frames",
    "config": "--config",
    "set": "--set",
    "no_stereo": "--no-stereo",
    "lidar_beams": "--lidar-beams",
    "workers": "--workers",
    "preview": "--preview",
}


def _size(text: str) -> tuple[int, int]:
    parts = text.lower().replace("×", "x").split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"size {text!r}: expected HxW, e.g. 96x320")
    return int(parts[0]), int(parts[1])


def add_arguments(p: argparse.ArgumentParser) -> None:
    from depthduet.data.miniatures import LAYOUTS

    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--kind", choices=("indoor", "driving"), help="scene kind")
    what.add_argument(
        "--layout", choices=LAYOUTS, help="write a miniature of this dataset in its own layout"
    )
    p.add_argument(
        "--n", type=int, default=None, help="number of sequences (--layout: samples, default 4)"
    )
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--frames", type=int, default=None, help="frames per sequence (default 3)")
    p.add_argument("--size", type=_size, default=None, metavar="HxW", help="image size")
    p.add_argument("--seed", type=int, default=0, help="first scene seed (default 0)")
    p.add_argument(
        "--config", default=None, metavar="YAML", help="WorldConfig file (e.g. world/indoor_tof)"
    )
    p.add_argument(
        "--set", nargs="*", default=[], metavar="KEY=VALUE", help="WorldConfig overrides"
    )
    p.add_argument("--no-stereo", action="store_true", help="skip the right views")
    p.add_argument("--lidar-beams", type=int, default=None, help="LiDAR rows (0 = no LiDAR)")
    p.add_argument("--workers", type=int, default=None, help="render in this many processes")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="re-render existing samples (--layout: replace an earlier miniature)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument(
        "--preview",
        default=None,
        metavar="PNG",
        help="also save a picture (colour, depth, LiDAR, right view) of the first sample",
    )


def _run_layout(args: argparse.Namespace) -> int:
    from depthduet.data.miniatures import write_miniature
    from depthduet.errors import UserError

    for dest, option in KIND_ONLY.items():
        if getattr(args, dest) not in (None, False, []):
            raise UserError(f"{option}: applies to --kind, not to --layout {args.layout}")
    res = write_miniature(
        args.layout,
        args.out,
        4 if args.n is None else args.n,
        args.size,
        args.seed,
        overwrite=args.overwrite,
    )
    h, w = res["size"]
    print(
        f"{res['root']}: {args.layout} miniature, {res['n']} samples of {h}x{w} "
        f"(seed {res['seed']}), {res['files']} files"
    )
    for key, path in res["paths"].items():
        print(f"  {key}: {path}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.layout is not None:
        return _run_layout(args)
    from depthduet.config import load_config
    from depthduet.data.synth_folder import write_synth_dataset
    from depthduet.data.world import WorldConfig
    from depthduet.errors import UserError

    if args.n is None:
        raise UserError("--n: required with --kind (number of sequences)")
    overrides = list(args.set)
    if args.frames is not None:
        overrides.append(f"frames={args.frames}")
    if args.size is not None:
        overrides += [f"height={args.size[0]}", f"width={args.size[1]}"]
    if args.no_stereo:
        overrides.append("stereo=false")
    if args.lidar_beams is not None:
        overrides.append(f"lidar_beams={args.lidar_beams}")
    workers = 0 if args.workers is None else args.workers
    if workers < 0:
        raise UserError(f"--workers {args.workers}: must be >= 0")
    cfg = load_config(WorldConfig, args.config, overrides).resolved(args.kind)
    if args.preview and not args.preview.lower().endswith(".png"):  # before any rendering
        raise UserError(f"--preview {args.preview}: the picture is written as PNG")

    def progress(done: int, total: int) -> None:
        if not args.quiet:
            print(f"\rrendered {done}/{total}", end="" if done < total else "\n", file=sys.stderr)

    res = write_synth_dataset(
        args.out,
        args.kind,
        args.n,
        args.seed,
        cfg,
        overwrite=args.overwrite,
        workers=workers,
        progress=progress,
    )
    if args.preview:
        from depthduet.data.synth_folder import preview_panel
        from depthduet.data.world import render_sequence
        from depthduet.io import write_image

        write_image(args.preview, preview_panel(render_sequence(args.kind, args.seed, cfg)))
        print(f"{args.preview}: preview of {args.kind} seed {args.seed}")
    print(
        f"{args.out}: {res['written']} samples written, {res['skipped']} already there and kept "
        f"({args.kind}, {cfg.height}x{cfg.width}, {cfg.frames} frames, seeds "
        f"{args.seed}..{args.seed + args.n - 1})"
    )
    return 0
