"""Write the example inputs shipped in ``src/depthduet/examples/`` (``depthduet example NAME``).

Everything comes from the package's procedural world (``depthduet.data.world``, test-split
seeds, never used in training), so the files are free to ship and regenerate exactly:

* ``indoor/``: ``depth_mm.png`` (192x256 z-depth, 16-bit PNG, millimetres, 0 = no depth),
  ``lr_x4_mm.png`` (48x64, its 4x4 block means made by
  ``depthduet.apps.degrade.degrade_map(..., "area")``, rounded to whole millimetres),
  ``rgb.png`` (the colour image, 8-bit) and ``camera.json`` (its intrinsics ``K`` in pixels);
* ``driving/``: ``frame.png`` (96x320 colour frame of a street), ``camera.json`` and
  ``depth.png`` (its z-depth, 16-bit, value = metres x 256 as in KITTI: the street reaches
  past the 65.5 m that millimetres allow).

``examples.json`` lists the sets and files with one line about each. Usage::

    python benchmarks/make_examples.py            # rewrite src/depthduet/examples/
    python benchmarks/make_examples.py --out /tmp/ex
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

#: (kind, seed, height, width) of each set; test-split seeds (``depthduet.data.world``)
SETS = {"indoor": ("indoor", 200_007, 192, 256), "driving": ("driving", 200_003, 96, 320)}
DSR_SCALE = 4
#: commands to run on a copied set (``{dir}``: where ``depthduet example`` put it)
TRY = {
    "indoor": [
        "depthduet upsample {dir}/lr_x4_mm.png --scale 4 -o {dir}/hr_mm.png "
        "--preview {dir}/hr_preview.png --gt {dir}/depth_mm.png --unit mm",
        "depthduet show {dir}/depth_mm.png --rgb {dir}/rgb.png --unit mm -o {dir}/depth.png",
    ],
    "driving": [
        "depthduet predict {dir}/frame.png --model mde-driving -o {dir}/predicted "
        "--camera {dir}/camera.json",
        "depthduet show {dir}/depth.png --scale 256 --unit m --rgb {dir}/frame.png "
        "-o {dir}/depth_preview.png",
    ],
}


def _png16(path: Path, metres: np.ndarray, per_metre: float) -> np.ndarray:
    from PIL import Image

    v = np.round(np.where(np.isfinite(metres), metres, 0.0) * per_metre)
    if v.max() > 65535:
        raise ValueError(f"{path}: depth up to {metres.max():.1f} m does not fit 16 bits")
    v = v.astype(np.uint16)
    Image.fromarray(v).save(path, optimize=True)
    return v


def _png8(path: Path, rgb: np.ndarray) -> None:
    from PIL import Image

    Image.fromarray(np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8)).save(path, optimize=True)


def _camera(path: Path, K: np.ndarray, kind: str, seed: int, size: tuple[int, int]) -> None:
    rec = {
        "K": np.asarray(K, np.float64).round(6).tolist(),
        "unit": "pixels, 0-based pixel centres",
        "size": list(size),
        "source": f"depthduet.data.world {kind} seed {seed}",
    }
    path.write_text(json.dumps(rec, indent=2) + "\n", encoding="utf-8")


def make_examples(out: str | Path) -> dict[str, Any]:
    """Render and write every example set into ``out``; returns the manifest written as
    ``out/examples.json``."""
    from depthduet.apps.degrade import degrade_map
    from depthduet.data.world import WorldConfig, render_sequence

    out = Path(out)
    manifest: dict[str, Any] = {}
    for name, (kind, seed, h, w) in SETS.items():
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        cfg = WorldConfig(height=h, width=w, frames=1, stereo=False, lidar_beams=0)
        seq = render_sequence(kind, seed, cfg)
        depth, rgb, K = seq["depths"][0], seq["images"][0], seq["K"]
        files: dict[str, str] = {}
        if kind == "indoor":
            mm = _png16(folder / "depth_mm.png", depth, 1000.0)
            files["depth_mm.png"] = f"{h}x{w} z-depth, 16-bit PNG in millimetres, 0 = no depth"
        else:  # street depth reaches past 65.5 m: KITTI's 1/256 m steps instead
            _png16(folder / "depth.png", depth, 256.0)
            files["depth.png"] = (
                f"{h}x{w} z-depth, 16-bit PNG, value = metres x 256 (KITTI convention: read "
                "with --scale 256), 0 = no depth"
            )
        if kind == "indoor":
            lr, lr_valid, *_ = degrade_map(mm.astype(np.float64), mm > 0, DSR_SCALE, "area")
            lr_mm = np.where(lr_valid, np.round(lr), 0).astype(np.uint16)
            from PIL import Image

            Image.fromarray(lr_mm).save(folder / f"lr_x{DSR_SCALE}_mm.png", optimize=True)
            files[f"lr_x{DSR_SCALE}_mm.png"] = (
                f"{h // DSR_SCALE}x{w // DSR_SCALE} low-resolution depth: {DSR_SCALE}x"
                f"{DSR_SCALE} block means of depth_mm.png (degrade_map 'area'), 16-bit mm"
            )
            _png8(folder / "rgb.png", rgb)
            files["rgb.png"] = f"{h}x{w} colour image of the same view (8-bit RGB)"
        else:
            _png8(folder / "frame.png", rgb)
            files["frame.png"] = f"{h}x{w} colour frame of a street (8-bit RGB)"
        _camera(folder / "camera.json", K, kind, seed, (h, w))
        files["camera.json"] = "intrinsics K (pixels) of the colour image"
        manifest[name] = {
            "try": TRY[name],
            "description": (
                "an indoor room: depth, a x4 low-resolution version, colour and intrinsics "
                "(depth super-resolution)"
                if kind == "indoor"
                else "a street: colour frame, intrinsics and depth (monocular depth)"
            ),
            "source": f"depthduet.data.world {kind}, seed {seed}, {h}x{w}",
            "files": files,
        }
    (out / "examples.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default = Path(__file__).resolve().parent.parent / "src" / "depthduet" / "examples"
    ap.add_argument("--out", default=str(default), help=f"folder (default {default})")
    args = ap.parse_args(argv)
    manifest = make_examples(args.out)
    total = sum(p.stat().st_size for p in Path(args.out).rglob("*") if p.is_file())
    for name, m in manifest.items():
        print(f"{name}: {', '.join(m['files'])}")
    print(f"{args.out}: {total / 1024:.0f} KiB in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
