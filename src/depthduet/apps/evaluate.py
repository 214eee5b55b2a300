"""Evaluate predictions, baselines and models under a named protocol (``depthduet evaluate``).

:func:`run_evaluation` is :func:`depthduet.evaluation.runner.run_evaluation` with the rows of a
model: a trained run or shipped model (``checkpoint`` / ``model``) is loaded and run here, a
DSR model on the LR of each ground-truth map, a monocular model on the RGB image of the same
name. :func:`evaluate` adds the files: it refuses outputs that would overwrite an input,
writes the report as JSON and the settings as YAML beside it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from depthduet.apps.messages import Messages, console
from depthduet.errors import UserError
from depthduet.evaluation.predictions import MapSet, natural_key
from depthduet.evaluation.protocols import Protocol
from depthduet.evaluation.runner import (
    EvaluateSettings,
    Row,
    format_table,
    lr_provider,
    resolve_settings,
)
from depthduet.evaluation.runner import run_evaluation as _run_rows

__all__ = [
    "EvaluateResult",
    "check_outputs",
    "evaluate",
    "input_files",
    "model_rows",
    "run_evaluation",
]

#: files of a checkpoint / run folder that inference reads (``depthduet.engine.checkpoint``).
_CHECKPOINT_NAMES = ("model.json", "state.pt", "config.yaml")


@dataclass
class EvaluateResult:
    """What :func:`evaluate` did: the report, and the files written (``None`` without JSON)."""

    report: dict[str, Any]
    json_path: Path | None = None
    settings_path: Path | None = None


def evaluate(
    cfg: EvaluateSettings,
    json_path: str | os.PathLike[str] | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    messages: Messages | None = None,
) -> EvaluateResult:
    """Evaluate, report the table (``messages.out``) and the warnings (``messages.err``), and
    with ``json_path`` write the report there and the settings beside it
    (``NAME.settings.yaml``).

    Raises:
        UserError: ``json_path`` is a folder, an output would overwrite an input, or any error
            of :func:`run_evaluation`.
    """
    from depthduet.config import save_config

    messages = console("evaluate") if messages is None else messages
    out = Path(json_path) if json_path is not None else None
    settings_path = Path()
    if out is not None:
        if out.is_dir():
            raise UserError(f"{out}: --json must be a file name, not a folder")
        settings_path = out.with_suffix(".settings.yaml")
        check_outputs(  # refuse before evaluating: never write over an input file
            cfg,
            {
                out: "--json",
                settings_path: "the settings file written beside --json",
            },
        )
    report = run_evaluation(cfg, progress)
    messages.out(format_table(report))
    for warning in report.get("warnings", []):
        messages.err(f"warning: {warning}")
    if out is None:
        return EvaluateResult(report)
    _write_json(report, out)
    cfg_path = save_config(resolve_settings(cfg), settings_path, extra={"command": "evaluate"})
    messages.out(f"wrote {out} and {cfg_path}")
    return EvaluateResult(report, out, Path(cfg_path))


def _write_json(report: dict[str, Any], out: Path) -> None:
    from depthduet.io import atomic_write

    text = json.dumps(report, indent=2) + "\n"
    atomic_write(out, lambda f: f.write(text.encode("utf-8")))


def run_evaluation(
    cfg: EvaluateSettings, progress: Callable[[int, int, str], None] | None = None
) -> dict[str, Any]:
    """:func:`depthduet.evaluation.runner.run_evaluation`, with the models of
    ``cfg.checkpoint`` / ``cfg.model`` run by :func:`model_rows`."""
    return _run_rows(cfg, progress, model_rows=model_rows)


# ----------------------------------------------------------------------------- model rows
def model_rows(cfg: EvaluateSettings, proto: Protocol, gt_set: MapSet) -> list[Row]:
    """The row of ``cfg.checkpoint`` / ``cfg.model``: a DSR model under a DSR protocol (on the
    LR made from, or given for, each ground-truth map), else a monocular model (on the RGB
    images of ``cfg.images``); no row without either."""
    if not (cfg.checkpoint or cfg.model):
        return []
    if proto.is_dsr:
        return [_dsr_row(cfg, gt_set)]
    return [_mde_row(cfg, gt_set)]


@contextmanager
def _inference_import(what: str, module: str) -> Iterator[None]:
    """Turn an ``ImportError`` of the inference ``module`` into a :class:`UserError`."""
    try:
        yield
    except ImportError as e:
        raise UserError(
            f"--checkpoint/--model: {what} ({module}) is not available in this build ({e})"
        ) from None


def _load_model(cls: Any, cfg: EvaluateSettings) -> Any:
    """``cls`` (an inference class) loaded from ``cfg.checkpoint``, else the shipped
    ``cfg.model``, on ``cfg.device``."""
    if cfg.checkpoint:
        return cls.from_checkpoint(cfg.checkpoint, device=_device(cfg.device))
    return cls.from_pretrained(cfg.model, device=_device(cfg.device))


def _dsr_row(cfg: EvaluateSettings, gt_set: MapSet) -> Row:
    source = cfg.checkpoint or cfg.model
    with _inference_import("DSR inference", "depthduet.inference.dsr"):
        from depthduet.inference.dsr import DepthUpsampler
    up = _load_model(DepthUpsampler, cfg)
    if cfg.scale is not None and int(cfg.scale) != up.scale:
        raise UserError(f"{source}: the model upsamples x{up.scale}, --scale is {cfg.scale}")
    lr_of, rec = lr_provider(cfg, gt_set, up.scale)
    grid = resolve_settings(cfg).lr_grid  # one default rule: point for nearest LR
    rec = {**rec, "lr_grid": grid}

    def run_dsr(gi: int, name: str, gt: Any) -> tuple[np.ndarray, np.ndarray]:
        lr, lr_valid = lr_of(gi, gt)
        out = up.upsample(lr, lr_valid, lr_grid=grid)
        return _fit_hr(out.values, out.valid, gt.values.shape, up.scale)

    return Row(Path(source).name, run_dsr, rec, describe=up.describe())  # type: ignore[arg-type]


def _fit_hr(
    values: np.ndarray, valid: np.ndarray, size: tuple[int, int], scale: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(H', W')`` values and mask cropped or padded to ``size`` when they differ by less
    than one LR pixel (a ground truth whose size is not a multiple of ``scale``)."""
    from depthduet.evaluation.baselines import fit_to_size

    if abs(values.shape[0] - size[0]) < scale and abs(values.shape[1] - size[1]) < scale:
        return fit_to_size(values, size), fit_to_size(valid, size)
    return values, valid


def _mde_row(cfg: EvaluateSettings, gt_set: MapSet) -> Row:
    source = cfg.checkpoint or cfg.model
    with _inference_import("monocular inference", "depthduet.inference.mde"):
        from depthduet.inference.mde import DepthPredictor
    if not cfg.images:
        raise UserError("--checkpoint/--model with a monocular protocol needs --images DIR")
    from depthduet.io import read_image

    pred = _load_model(DepthPredictor, cfg)
    images = _image_set(cfg.images, gt_set, cfg.recursive)
    notes = []
    if getattr(pred, "scale_ambiguous", False) and not cfg.median_scaling:
        notes.append(
            "the model is scale-ambiguous (monocular self-supervision) and was evaluated "
            "WITHOUT median scaling, as asked; pass --median-scaling for the usual protocol"
        )

    def run_mde(gi: int, name: str, gt: Any) -> tuple[np.ndarray, None]:
        depth, _conf = pred.predict(read_image(images[gi], grey=False))
        return np.asarray(depth, np.float64), None

    describe = {
        "model": str(source),
        "branch": getattr(pred, "branch", None),
        "scale_ambiguous": bool(getattr(pred, "scale_ambiguous", False)),
        "input_size": list(getattr(pred, "size", ()) or ()),
        "info": dict(getattr(pred, "info", {}) or {}),
    }
    return Row(Path(source).name, run_mde, None, notes, describe)  # type: ignore[arg-type]


def _device(device: str) -> str:
    if device == "auto":
        from depthduet.depth import default_device

        return default_device()
    return device


def _image_set(folder: str, gt_set: MapSet, recursive: bool) -> dict[int, Path]:
    """RGB image per ground-truth index: by name for named ground truth, else by position."""
    from depthduet.io import IMAGE_SUFFIXES

    p = Path(folder)
    if not p.is_dir():
        raise UserError(f"{p}: --images must be a folder of RGB images")
    by_name: dict[str, Path] = {}
    for f in p.rglob("*") if recursive else p.iterdir():
        if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES:
            name = f.relative_to(p).with_suffix("").as_posix()
            if name in by_name:
                raise UserError(f"{f}: two images named {name!r} (also {by_name[name].name})")
            by_name[name] = f
    if not gt_set.named:
        if len(by_name) != len(gt_set):
            raise UserError(
                f"{p}: holds {len(by_name)} images but {gt_set.path} holds {len(gt_set)} "
                "ground-truth maps (matched by position)"
            )
        return dict(enumerate(by_name[n] for n in sorted(by_name, key=natural_key)))
    out = {}
    for gi, name in enumerate(gt_set.names):
        if name not in by_name:
            raise UserError(f"{gt_set.sources[gi]}: no image named {name!r} in {p}")
        out[gi] = by_name[name]
    return out


# ----------------------------------------------------------------------------- outputs
def _files_in(path: Path, suffixes: tuple[str, ...] | None, recursive: bool) -> list[Path]:
    """``path`` itself, or the files under the folder ``path`` that an input set would read
    (by suffix; ``None``: by the checkpoint file names)."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        return []
    found = path.rglob("*") if recursive else path.iterdir()
    if suffixes is None:
        return [
            f
            for f in found
            if f.is_file() and (f.suffix == ".safetensors" or f.name in _CHECKPOINT_NAMES)
        ]
    return [f for f in found if f.is_file() and f.suffix.lower() in suffixes]


def input_files(cfg: EvaluateSettings) -> list[Path]:
    """Every existing file the evaluation reads: ground truth, predictions, LR maps, images and
    checkpoint files (files of the folders given, by the suffixes the readers accept)."""
    from depthduet.io import DEPTH_SUFFIXES, IMAGE_SUFFIXES

    depth = (*DEPTH_SUFFIXES, ".npy", ".npz", ".mat")
    files: list[Path] = []
    for path in (cfg.gt, cfg.pred, cfg.lr):
        if path:
            files += _files_in(Path(path), depth, cfg.recursive)
    if cfg.images:
        files += _files_in(Path(cfg.images), IMAGE_SUFFIXES, cfg.recursive)
    for path in (cfg.checkpoint, cfg.model):
        if path:
            p = Path(path)
            if p.is_file() and p.name in _CHECKPOINT_NAMES:  # a file of a checkpoint folder
                files += _files_in(p.parent, None, False)
            files += _files_in(p, None, True)
    return files


def check_outputs(cfg: EvaluateSettings, outputs: dict[Path, str]) -> None:
    """Refuse to write over an input file.

    Args:
        cfg: the settings (their input paths).
        outputs: each path about to be written -> what it is, for the message (``"--json"``).

    Raises:
        UserError: an output resolves to (is, or links to) a file the evaluation reads.
    """
    written = {}
    for out, what in outputs.items():
        try:
            st = os.stat(out)
        except OSError:
            continue  # not there yet: not an input
        written[(st.st_dev, st.st_ino)] = (out, what)
    if not written:
        return
    for f in input_files(cfg):
        try:
            st = os.stat(f)
        except OSError:
            continue
        hit = written.get((st.st_dev, st.st_ino))
        if hit is not None:
            out, what = hit
            raise UserError(
                f"{out}: {what} would overwrite the input file {f}; choose another --json path"
            )
