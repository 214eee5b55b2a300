"""``depthduet predict``: monocular depth + confidence of images with a METHOD B network."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from depthduet.errors import UserError
from depthduet.paths import (
    PREDICT_DEPTH_SUFFIX,
    PREDICT_RECORD,
    first_missing_parent,
    remove_empty_folders,
)

if TYPE_CHECKING:
    import numpy as np

HELP = "predict depth and confidence maps (and a point cloud) from RGB images (METHOD B)"

DESCRIPTION = """\
Predict metric depth and a confidence map for one RGB image or every image of a folder with a
trained branch of the mutual-distillation method (N_u: LiDAR-supervised, N_s: self-supervised).

Outputs in the folder OUT, per image STEM:
  STEM_depth.npy         float32 depth in metres (relative units for an M-only model)
  STEM_depth.png         16-bit PNG, value = round(depth * 256) (KITTI convention)
  STEM_depth_color.png   preview: image | depth (turbo, near = warm) | confidence, colour bars
  STEM_conf.npy          float32 confidence in (0, 1)
  STEM_conf.png          16-bit PNG, value = round(confidence * 65535)
  STEM_conf_color.png    confidence preview (viridis, with colour bar)
  STEM.ply               coloured point cloud, with intrinsics (--K or --camera)
and predict.yaml with the settings. Intrinsics are those of the input image (pixels, 0-based
pixel centres); a folder may hold intrinsics.txt/.yaml/.json or camera.json (Cityscapes).
In a folder, a file named as predict's output for another image there (a_depth.png beside
a.png) is skipped with a note; inputs sharing a stem (a.png and a.jpg) are refused. A bad image
in a folder is reported and skipped, the others are predicted, and the exit status is 1; a
single bad image is one error line and exit status 2, with nothing written.

Examples:
  depthduet predict frame.png --checkpoint runs/mde_world_semi -o out/
  depthduet predict frames/ --checkpoint runs/mde_world_semi --branch s -o out/ --K 721.5,721.5,609.6,172.9
  depthduet predict img.png --model mde-driving -o out/ --camera camera.json
"""

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".ppm")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    p.add_argument("input", metavar="IMAGE|DIR", help="RGB image or folder of images")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="output folder")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--model", metavar="NAME", help="shipped weights (default: mde-driving)")
    src.add_argument(
        "--checkpoint", metavar="PATH", help="run folder, checkpoint folder or .safetensors"
    )
    p.add_argument(
        "--branch", choices=("u", "s"), help="which network: u (LiDAR) or s (self-supervised)"
    )
    p.add_argument(
        "--prefer", choices=("best", "last"), default="best", help="checkpoint in a run folder"
    )
    cam = p.add_mutually_exclusive_group()
    cam.add_argument("--K", metavar="fx,fy,cx,cy", help="intrinsics of the input images")
    cam.add_argument("--camera", metavar="FILE", help="intrinsics file (txt/yaml/json)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1 ...")
    p.add_argument("--no-preview", action="store_true", help="skip the colour previews")


def _parse_K(text: str):
    from depthduet.data.folder import check_intrinsics, intrinsics_matrix

    try:
        vals = [float(v) for v in text.split(",")]
    except ValueError:
        raise UserError(f"--K {text!r}: expected four numbers fx,fy,cx,cy") from None
    if len(vals) != 4:
        raise UserError(f"--K {text!r}: expected four numbers fx,fy,cx,cy")
    return check_intrinsics(intrinsics_matrix(*vals), f"--K {text!r}")


#: what predict writes per input image STEM (``STEM + suffix``), in the output folder; the
#: depth map's name and the settings file (:mod:`depthduet.paths`) are shared with
#: ``depthduet evaluate``, which reads such a folder
_OUTPUT_SUFFIXES = (
    PREDICT_DEPTH_SUFFIX,
    "_depth.png",
    "_depth_color.png",
    "_conf.npy",
    "_conf.png",
    "_conf_color.png",
    ".ply",
)


def _output_names(stem: str) -> list[str]:
    return [stem + suffix for suffix in _OUTPUT_SUFFIXES]


def _inputs(path: Path) -> tuple[list[Path], dict[Path, Path]]:
    """The images to predict, and the skipped files (each mapped to the image it belongs to).

    In a folder, a file is skipped only when its name is one predict itself writes for another
    image of the same folder (``a_depth.png`` beside ``a.png``: an earlier run with ``-o`` equal
    to the input folder, or a ground-truth map named that way); nothing is skipped by its stem
    alone, so a photo such as ``1025_color.png`` is predicted. Each skip is printed.
    """
    from depthduet.data.folder import list_files

    if path.is_file():
        return [path], {}
    if not path.is_dir():
        raise UserError(f"{path}: no such file or folder")
    images = list_files(path, _IMAGE_SUFFIXES, broken_links=True)  # a broken link is reported
    owner = {name: f for f in images for name in _output_names(f.stem)}
    skipped = {f: owner[f.name] for f in images if owner.get(f.name, f) != f}
    for f, src in skipped.items():
        print(
            f"depthduet predict: skipping {f}: predict writes this name for {src.name} "
            "(give the file itself to predict it)",
            file=sys.stderr,
            flush=True,
        )
    files = [f for f in images if f not in skipped]
    if not files:
        raise UserError(f"{path}: no images ({', '.join(_IMAGE_SUFFIXES)})")
    return files, skipped


def _check_outputs(files: list[Path], out: Path) -> None:
    """Refuse, before any work, inputs whose outputs would overwrite one another, and outputs
    that would replace a file in an input folder which predict did not write."""
    by_stem: dict[str, list[Path]] = {}
    for f in files:
        by_stem.setdefault(f.stem, []).append(f)
    clashes = [fs for fs in by_stem.values() if len(fs) > 1]
    if clashes:
        text = "; ".join(
            f"{', '.join(f.name for f in fs)} -> {out / fs[0].stem}_depth.*" for fs in clashes
        )
        raise UserError(
            f"{files[0].parent}: several inputs would write the same outputs ({text}); "
            "rename them or predict them into separate -o folders"
        )
    # -o equal to an input folder: outputs land beside the inputs. Files of an earlier predict
    # run there (predict.yaml) are replaced; anything else (e.g. a ground-truth a_depth.png
    # beside a.png) is kept by refusing to run.
    if not out.is_dir() or (out / PREDICT_RECORD).is_file():
        return
    for f in files:
        if f.parent.resolve() != out.resolve():
            continue
        for name in _output_names(f.stem):
            if (out / name).exists():
                raise UserError(
                    f"{out / name}: would be overwritten by the output for {f.name} (-o is the "
                    f"input folder and holds no {PREDICT_RECORD} of an earlier run); choose another -o"
                )


def _intrinsics(args: argparse.Namespace, src: Path):
    from depthduet.data.folder import read_camera

    if args.K:
        return _parse_K(args.K), "--K"
    if args.camera:
        return read_camera(args.camera).K, str(args.camera)
    folder = src if src.is_dir() else src.parent
    for name in ("intrinsics.txt", "intrinsics.yaml", "intrinsics.json", "camera.json"):
        if (folder / name).is_file():
            return read_camera(folder / name).K, str(folder / name)
    return None, ""


def _read_colour(path: Path) -> np.ndarray:
    """An ``(H, W, 3)`` image in [0, 1]; a grey file is replicated to three channels with a
    warning (the networks were trained on colour), and a 16-bit grey file is flagged as a
    likely depth map."""
    import numpy as np

    from depthduet import io as dio

    image = dio.read_image(path, grey=None)
    if image.ndim == 2:
        from PIL import Image

        hint = ""
        try:
            with Image.open(path) as im:
                if im.mode.startswith("I"):
                    hint = " (16-bit single channel: is this a depth map rather than a photo?)"
        except OSError:
            pass
        print(
            f"depthduet predict: warning: {path}: grey image, replicated to RGB; the networks "
            f"were trained on colour images{hint}",
            file=sys.stderr,
            flush=True,
        )
        image = np.repeat(image[..., None], 3, axis=-1)
    return image


def _write_previews(
    out: Path, stem: str, image: np.ndarray, depth: np.ndarray, conf: np.ndarray, relative: bool
) -> None:
    """``STEM_depth_color.png`` (image | depth | confidence) and ``STEM_conf_color.png``."""
    from depthduet import io as dio
    from depthduet import viz

    c_rgb = viz.colorize_depth(conf, cmap="viridis", vmin=0.0, vmax=1.0)
    bar = {"lo": 0.0, "hi": 1.0, "cmap": "viridis", "label": "confidence"}
    unit = "" if relative else "m"
    titles = {"rgb": "image", "output": "relative depth" if relative else "depth"}
    extra = [("confidence", c_rgb, bar)]
    panel = viz.depth_panel(depth, rgb=image, unit=unit, titles=titles, extra=extra)
    dio.write_image(out / f"{stem}_depth_color.png", panel)
    dio.write_image(out / f"{stem}_conf_color.png", viz.with_colorbar(c_rgb, **bar))


def run(args: argparse.Namespace) -> int:
    """Predict every input image and write the maps. A single input that fails raises (exit
    status 2, nothing written); in a folder, failed images are reported and the exit status is
    1."""
    import numpy as np

    from depthduet import io as dio
    from depthduet import viz
    from depthduet.config import save_config
    from depthduet.inference.mde import DepthPredictor

    src = Path(args.input)
    files, skipped = _inputs(src)
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is not a folder (-o takes an output folder)")
    _check_outputs(files, out)
    K, k_source = _intrinsics(args, src)
    if args.checkpoint:
        predictor = DepthPredictor.from_checkpoint(
            args.checkpoint, args.branch, args.device, args.prefer
        )
    else:
        predictor = DepthPredictor.from_pretrained(
            args.model or "mde-driving", args.branch, args.device
        )
    single, created = not src.is_dir(), first_missing_parent(out)
    out.mkdir(parents=True, exist_ok=True)
    failed = 0
    t0 = time.time()
    for f in files:
        try:
            image = _read_colour(f)
            depth, conf = predictor.predict(image)
            stem = f.stem
            for name, arr in (("depth", depth), ("conf", conf)):
                a = np.ascontiguousarray(arr, np.float32)
                dio.atomic_write(
                    out / f"{stem}_{name}.npy", lambda fh, a=a: np.save(fh, a, allow_pickle=False)
                )
            dio.write_depth(out / f"{stem}_depth.png", depth, scale=256.0)
            dio.write_depth(
                out / f"{stem}_conf.png", np.clip(conf, 1.0 / 65535, 1.0), scale=65535.0
            )
            if not args.no_preview:
                _write_previews(out, stem, image, depth, conf, predictor.scale_ambiguous)
            if K is not None:
                viz.save_depth_ply(out / f"{stem}.ply", depth, K, rgb=image)
            print(f"{f} -> {out / (stem + '_depth.png')}")
        except KeyboardInterrupt:
            raise
        except Exception as e:  # keep going: report the file, fail at the end
            failed += 1
            text = str(e) if isinstance(e, UserError) else f"{type(e).__name__}: {e}"
            msg = text if str(f) in text else f"{f}: {text}"
            if single:  # one input: a plain error, and no output folder left behind
                if created is not None:
                    remove_empty_folders(created)
                raise UserError(msg) from e
            print(f"depthduet predict: error: {msg}", file=sys.stderr, flush=True)
    save_config(
        {
            "input": str(src),
            "images": len(files),
            "failed": failed,
            "skipped": {str(f): str(g) for f, g in skipped.items()},
            "source": predictor.info.get("source", args.model or "mde-driving"),
            "branch": predictor.branch,
            "scale_ambiguous": predictor.scale_ambiguous,
            "network_size": list(predictor.size),
            "intrinsics": None if K is None else np.asarray(K).tolist(),
            "intrinsics_from": k_source,
            "depth_png_scale": 256.0,
            "conf_png_scale": 65535.0,
            "device": str(predictor.device),
            "seconds": round(time.time() - t0, 3),
        },
        out / PREDICT_RECORD,
    )
    if predictor.scale_ambiguous:
        print("note: this network was trained on monocular video only; depth is up to scale")
    if failed:
        print(f"depthduet predict: {failed} of {len(files)} image(s) failed", file=sys.stderr)
        return 1
    return 0
