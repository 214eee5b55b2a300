"""Monocular depth and confidence of an image or a folder of images (``depthduet predict``).

Per input image STEM, in the output folder: ``STEM_depth.npy`` / ``STEM_conf.npy`` (float32),
``STEM_depth.png`` (value x 256) / ``STEM_conf.png`` (value x 65535), the colour previews and,
with intrinsics, ``STEM.ply``; and the settings as ``predict.yaml``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from depthduet.apps.folders import FileResults, process_files
from depthduet.apps.messages import Messages, console
from depthduet.errors import UserError
from depthduet.paths import (
    PREDICT_DEPTH_SUFFIX,
    PREDICT_RECORD,
    first_missing_parent,
    remove_empty_folders,
)

if TYPE_CHECKING:
    import numpy as np

__all__ = ["IMAGE_SUFFIXES", "OUTPUT_SUFFIXES", "PredictParams", "predict"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".ppm")

#: what predict writes per input image STEM (``STEM + suffix``), in the output folder; the
#: depth map's name and the settings file (:mod:`depthduet.paths`) are shared with
#: ``depthduet evaluate``, which reads such a folder
OUTPUT_SUFFIXES = (
    PREDICT_DEPTH_SUFFIX,
    "_depth.png",
    "_depth_color.png",
    "_conf.npy",
    "_conf.png",
    "_conf_color.png",
    ".ply",
)


@dataclass
class PredictParams:
    """What ``depthduet predict`` was asked to do; the command's options of the same names
    describe each field (``K``: ``"fx,fy,cx,cy"``)."""

    input: str
    output: str
    model: str | None = None
    checkpoint: str | None = None
    branch: str | None = None
    prefer: str = "best"
    K: str | None = None
    camera: str | None = None
    device: str = "cpu"
    no_preview: bool = False


def predict(params: PredictParams, messages: Messages | None = None) -> FileResults:
    """Predict every input image and write the maps (see the module docstring).

    In a folder, an image that fails is reported on ``messages.err`` and skipped; a single
    input that fails raises, and leaves no output folder behind.

    Returns:
        The :class:`~depthduet.apps.folders.FileResults` (image -> its ``_depth.png``).

    Raises:
        UserError: no input image, outputs that would overwrite inputs or one another, bad
            intrinsics, an unknown model, and for a single image any failure.
    """
    messages = console("predict") if messages is None else messages
    src, out = Path(params.input), Path(params.output)
    files, skipped = _inputs(src, messages)
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is not a folder (-o takes an output folder)")
    _check_outputs(files, out)
    K, k_source = _intrinsics(params, src)
    predictor = _load_predictor(params)
    single, created = not src.is_dir(), first_missing_parent(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    job = _image_job(predictor, out, K, not params.no_preview, messages)
    try:
        results = process_files(files, job, messages, stop_at_first=single)
    except UserError:
        if single and created is not None:  # no output folder left behind
            remove_empty_folders(created)
        raise
    record = _record(params, files, results, skipped, predictor, K, k_source)
    record["seconds"] = round(time.time() - t0, 3)
    from depthduet.config import save_config

    save_config(record, out / PREDICT_RECORD)
    if predictor.scale_ambiguous:
        messages.out("note: this network was trained on monocular video only; depth is up to scale")
    if results.failed:
        messages.err(f"{len(results.failed)} of {len(files)} image(s) failed")
    return results


def _load_predictor(params: PredictParams) -> Any:  # -> DepthPredictor
    from depthduet.inference.mde import DepthPredictor

    if params.checkpoint:
        return DepthPredictor.from_checkpoint(
            params.checkpoint, params.branch, params.device, params.prefer
        )
    return DepthPredictor.from_pretrained(
        params.model or "mde-driving", params.branch, params.device
    )


def _image_job(predictor: Any, out: Path, K: Any, previews: bool, messages: Messages):
    """The work for one image: predict, write the maps (and previews, point cloud)."""
    import numpy as np

    from depthduet import io as dio
    from depthduet import viz

    def job(f: Path) -> tuple[str, str]:
        image = _read_colour(f, messages)
        depth, conf = predictor.predict(image)
        stem = f.stem
        for name, arr in (("depth", depth), ("conf", conf)):
            a = np.ascontiguousarray(arr, np.float32)
            dio.atomic_write(
                out / f"{stem}_{name}.npy", lambda fh, a=a: np.save(fh, a, allow_pickle=False)
            )
        dio.write_depth(out / f"{stem}_depth.png", depth, scale=256.0)
        dio.write_depth(out / f"{stem}_conf.png", np.clip(conf, 1.0 / 65535, 1.0), scale=65535.0)
        if previews:
            write_previews(out, stem, image, depth, conf, predictor.scale_ambiguous)
        if K is not None:
            viz.save_depth_ply(out / f"{stem}.ply", depth, K, rgb=image)
        written = out / (stem + "_depth.png")
        return str(written), f"{f} -> {written}"

    return job


def _record(
    params: PredictParams,
    files: list[Path],
    results: FileResults,
    skipped: dict[Path, Path],
    predictor: Any,
    K: Any,
    k_source: str,
) -> dict[str, Any]:
    """The settings saved as ``predict.yaml`` (without the time taken)."""
    import numpy as np

    return {
        "input": str(params.input),
        "images": len(files),
        "failed": len(results.failed),
        "skipped": {str(f): str(g) for f, g in skipped.items()},
        "source": predictor.info.get("source", params.model or "mde-driving"),
        "branch": predictor.branch,
        "scale_ambiguous": predictor.scale_ambiguous,
        "network_size": list(predictor.size),
        "intrinsics": None if K is None else np.asarray(K).tolist(),
        "intrinsics_from": k_source,
        "depth_png_scale": 256.0,
        "conf_png_scale": 65535.0,
        "device": str(predictor.device),
    }


# ----------------------------------------------------------------------------- inputs
def _output_names(stem: str) -> list[str]:
    return [stem + suffix for suffix in OUTPUT_SUFFIXES]


def _inputs(path: Path, messages: Messages) -> tuple[list[Path], dict[Path, Path]]:
    """The images to predict, and the skipped files (each mapped to the image it belongs to).

    In a folder, a file is skipped only when its name is one predict itself writes for another
    image of the same folder (``a_depth.png`` beside ``a.png``: an earlier run with ``-o`` equal
    to the input folder, or a ground-truth map named that way); nothing is skipped by its stem
    alone, so a photo such as ``1025_color.png`` is predicted. Each skip is reported.
    """
    from depthduet.data.folder import list_files

    if path.is_file():
        return [path], {}
    if not path.is_dir():
        raise UserError(f"{path}: no such file or folder")
    images = list_files(path, IMAGE_SUFFIXES, broken_links=True)  # a broken link is reported
    owner = {name: f for f in images for name in _output_names(f.stem)}
    skipped = {f: owner[f.name] for f in images if owner.get(f.name, f) != f}
    for f, src in skipped.items():
        messages.err(
            f"skipping {f}: predict writes this name for {src.name} (give the file itself to "
            "predict it)"
        )
    files = [f for f in images if f not in skipped]
    if not files:
        raise UserError(f"{path}: no images ({', '.join(IMAGE_SUFFIXES)})")
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


def _parse_K(text: str) -> np.ndarray:
    """The ``(3, 3)`` intrinsics of ``"fx,fy,cx,cy"``."""
    from depthduet.data.folder import check_intrinsics, intrinsics_matrix

    try:
        vals = [float(v) for v in text.split(",")]
    except ValueError:
        raise UserError(f"--K {text!r}: expected four numbers fx,fy,cx,cy") from None
    if len(vals) != 4:
        raise UserError(f"--K {text!r}: expected four numbers fx,fy,cx,cy")
    return check_intrinsics(intrinsics_matrix(*vals), f"--K {text!r}")


def _intrinsics(params: PredictParams, src: Path) -> tuple[np.ndarray | None, str]:
    """The ``(3, 3)`` intrinsics of the inputs and where they come from: ``K``, ``camera`` or
    an intrinsics file of the input folder; ``(None, "")`` without any."""
    from depthduet.data.folder import read_camera

    if params.K:
        return _parse_K(params.K), "--K"
    if params.camera:
        return read_camera(params.camera).K, str(params.camera)
    folder = src if src.is_dir() else src.parent
    for name in ("intrinsics.txt", "intrinsics.yaml", "intrinsics.json", "camera.json"):
        if (folder / name).is_file():
            return read_camera(folder / name).K, str(folder / name)
    return None, ""


# ----------------------------------------------------------------------------- one image
def _read_colour(path: Path, messages: Messages) -> np.ndarray:
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
        messages.err(
            f"warning: {path}: grey image, replicated to RGB; the networks were trained on "
            f"colour images{hint}"
        )
        image = np.repeat(image[..., None], 3, axis=-1)
    return image


def write_previews(
    out: Path, stem: str, image: np.ndarray, depth: np.ndarray, conf: np.ndarray, relative: bool
) -> None:
    """``STEM_depth_color.png`` (image | depth | confidence) and ``STEM_conf_color.png``.

    Args:
        image: ``(H, W, 3)`` in [0, 1]. depth, conf: ``(H, W)``.
        relative: the depth is up to scale (no unit on its colour bar).
    """
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
