"""``depthduet example NAME -o DIR``: copy a shipped example input to a folder."""

from __future__ import annotations

import argparse

HELP = "copy an example input (depth, low-resolution depth, RGB, intrinsics) to a folder"

DESCRIPTION = """\
Copy one of the small example inputs shipped in the package (rendered by the procedural world,
free to use) into DIR, and print commands to try on it. Without NAME, or with an unknown one,
the examples are listed (exit status 2).

  indoor   depth_mm.png (16-bit mm), lr_x4_mm.png (its x4 block means), rgb.png, camera.json
  driving  frame.png (street, RGB), camera.json, depth.png (metres x 256)

Examples:
  depthduet example indoor -o ex/
  depthduet upsample ex/lr_x4_mm.png --scale 4 -o ex/hr_mm.png --preview ex/p.png \
      --gt ex/depth_mm.png --unit mm
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", metavar="NAME", help="example to copy (indoor, driving)")
    p.add_argument("-o", "--output", metavar="DIR", help="folder to copy the files into")
    p.add_argument("--overwrite", action="store_true", help="replace files that differ")


def run(args: argparse.Namespace) -> int:
    import filecmp
    import shutil
    from pathlib import Path

    from depthduet.api import example_path, list_examples
    from depthduet.errors import UserError

    known = list_examples()
    names = ", ".join(f"{k} ({v['description']})" for k, v in known.items())
    if not args.name:
        raise UserError(f"name an example: {names}")
    if args.name not in known:
        raise UserError(f"example {args.name!r}: unknown; examples: {names}")
    if not args.output:
        raise UserError("-o DIR: the folder to copy the example into is needed")
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is not a folder")
    files = list(known[args.name]["files"])
    src = {f: example_path(args.name, f) for f in files}
    clash = [
        f
        for f in files
        if (out / f).exists() and not ((out / f).is_file() and filecmp.cmp(src[f], out / f, False))
    ]
    if clash and not args.overwrite:
        raise UserError(
            f"{out / clash[0]}: exists and differs from the example; pass --overwrite to replace"
        )
    out.mkdir(parents=True, exist_ok=True)
    for f in files:
        shutil.copyfile(src[f], out / f)
        print(f"{out / f}: {known[args.name]['files'][f]}")
    for cmd in known[args.name].get("try", []):
        print(f"try: {cmd.format(dir=out.as_posix().rstrip('/'))}")
    return 0
