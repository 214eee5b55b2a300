"""``depthduet synth``: write a procedural-world RGB-D dataset to disk."""

from __future__ import annotations

import argparse
import sys

HELP = "render a procedural RGB-D dataset (indoor or driving) to a folder"
DESCRIPTION = """\
Render N sequences of the procedural world (seeds S .. S+N-1) into OUT, one folder per sample:
frame_{k}.png (RGB), depth_{k}.npy (float32 metres, 0 = none), lidar_{k}.npy (float32 metres,
0 = no return), right_{k}.png (stereo right view) and camera.json (K in pixels, baseline in
metres, camera-to-world 4x4 poses, OpenCV axes). The settings are saved as OUT/synth.yaml.
Existing complete sample folders are kept (re-run to resume) unless --overwrite.
Read it back with depthduet.data.synth_folder.SynthFolderDataset(OUT).

Split seed ranges used by the recipes: train 0.., val 100000.., test 200000...

examples:
  depthduet synth --kind driving --n 100 --frames 3 --size 96x320 --seed 0 --out data/drv
  depthduet synth --kind indoor --n 20 --out data/tof --config world/indoor_tof
  depthduet synth --kind driving --n 8 --out data/x --set lidar_beams=32 lidar_noise=0.02
  depthduet synth --kind indoor --n 1 --out /tmp/w --preview world_indoor.png
"""


def _size(text: str) -> tuple[int, int]:
    parts = text.lower().replace("×", "x").split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"size {text!r}: expected HxW, e.g. 96x320")
    return int(parts[0]), int(parts[1])


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kind", choices=("indoor", "driving"), required=True, help="scene kind")
    p.add_argument("--n", type=int, required=True, help="number of sequences")
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
    p.add_argument("--workers", type=int, default=0, help="render in this many processes")
    p.add_argument("--overwrite", action="store_true", help="re-render existing samples")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument(
        "--preview",
        default=None,
        metavar="PNG",
        help="also save a picture (colour, depth, LiDAR, right view) of the first sample",
    )


def run(args: argparse.Namespace) -> int:
    from depthduet.config import load_config
    from depthduet.data.synth_folder import write_synth_dataset
    from depthduet.data.world import WorldConfig
    from depthduet.errors import UserError

    overrides = list(args.set)
    if args.frames is not None:
        overrides.append(f"frames={args.frames}")
    if args.size is not None:
        overrides += [f"height={args.size[0]}", f"width={args.size[1]}"]
    if args.no_stereo:
        overrides.append("stereo=false")
    if args.lidar_beams is not None:
        overrides.append(f"lidar_beams={args.lidar_beams}")
    if args.workers < 0:
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
        workers=args.workers,
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
