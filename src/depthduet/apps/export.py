"""Export a model to one ONNX or TorchScript file and check it (``depthduet export``).

The file is written next to the output under a temporary name, run against the eager
pipeline on a real-looking input (the package's example maps: for DSR the indoor depth map
reduced by block means, with two holes; for monocular depth the street frame), and renamed to
the output only when every output is within :data:`~depthduet.inference.export.TOLERANCE` of
the eager one (relative to its range) and the validity masks agree. The graphs themselves are
:mod:`depthduet.inference.export`'s.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from depthduet.errors import UserError
from depthduet.inference.export import (
    FORMATS,
    TOLERANCE,
    Loaded,
    compare_with_eager,
    load_for_export,
    write_graph,
)
from depthduet.paths import example_path

__all__ = [
    "TOLERANCE",
    "ExportReport",
    "check_export",
    "example_input",
    "export_model",
    "load_for_export",
]


def example_input(kind: str, scale: int = 4) -> np.ndarray:
    """A real-looking input from the shipped examples.

    Returns:
        ``kind`` ``"dsr"``: the indoor depth map (mm) reduced by ``scale`` (block means) with
        two holes, ``(h, w)`` float32; ``"mde"``: the street frame, ``(H, W, 3)`` in [0, 1].
    """
    from depthduet.io import read_depth, read_image

    if kind == "mde":
        return read_image(example_path("driving", "frame.png"), grey=False)
    from depthduet.apps.degrade import degrade_map

    hr = read_depth(example_path("indoor", "depth_mm.png")).values
    lr = degrade_map(hr, None, scale, "area")[0].astype(np.float32)
    h, w = lr.shape
    lr[h // 3 : h // 3 + max(1, h // 8), w // 4 : w // 4 + max(1, w // 8)] = 0.0
    lr[-1, -1] = 0.0
    return lr


def check_export(
    loaded: Loaded, path: str | os.PathLike[str], fmt: str, x: np.ndarray | None = None
) -> dict[str, float]:
    """Largest difference between the exported file and the eager pipeline on ``x`` (default:
    :func:`example_input`), relative to the range of the eager output
    (:func:`depthduet.inference.export.compare_with_eager`).

    Args:
        loaded: from :func:`~depthduet.inference.export.load_for_export`. path, fmt: the
            exported file and its format.
        x: DSR: an ``(h, w)`` depth map (any unit, 0 = hole); MDE: an ``(H, W, 3)`` image in
            [0, 1].

    Returns:
        DSR: ``{"depth": rel_diff, "valid_mismatch": n}``; MDE: ``{"depth": rel_diff,
        "confidence": rel_diff}``.
    """
    if x is None:
        x = (
            example_input("dsr", loaded.eager.scale)
            if loaded.kind == "dsr"
            else example_input("mde")
        )
    return compare_with_eager(loaded, path, fmt, x)


@dataclass
class ExportReport:
    """What :func:`export_model` wrote and measured."""

    path: Path
    format: str
    kind: str
    name: str
    differences: dict[str, float]
    meta: dict[str, Any]

    @property
    def max_difference(self) -> float:
        """The largest relative difference of any output."""
        return max(v for k, v in self.differences.items() if k != "valid_mismatch")


def export_model(
    output: str | os.PathLike[str],
    fmt: str,
    *,
    model: str | None = None,
    checkpoint: str | None = None,
    tolerance: float = TOLERANCE,
) -> ExportReport:
    """Export a model to ``output`` and check it (see the module docstring).

    Args:
        output: the file to write (``.onnx`` / ``.pt`` by convention).
        fmt: ``"onnx"`` or ``"torchscript"``.
        model / checkpoint: a shipped model name, or a training run / checkpoint (one of them).
        tolerance: largest accepted relative difference.

    Returns:
        An :class:`ExportReport`.

    Raises:
        UserError: bad arguments, missing ``onnx`` / ``onnxruntime``, or an export that does
            not reproduce the eager model (nothing is written then).
    """
    if fmt not in FORMATS:
        raise UserError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if fmt == "onnx":
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            raise UserError(
                "ONNX export is checked with onnxruntime, which is not installed: "
                "pip install 'depthduet[export]'"
            ) from None
    out = Path(output)
    if out.is_dir():
        raise UserError(f"{out}: is a folder; -o takes a file name")
    loaded = load_for_export(model, checkpoint)
    meta = {**loaded.meta, "source": loaded.name, "format": fmt}
    meta["inputs"] = ["lr_depth"] if loaded.kind == "dsr" else ["image"]
    meta["outputs"] = ["hr_depth", "hr_valid"] if loaded.kind == "dsr" else ["depth", "confidence"]
    diffs = _write_checked(loaded, out, fmt, meta, tolerance)
    return ExportReport(out, fmt, loaded.kind, loaded.name, diffs, meta)


def _write_checked(
    loaded: Loaded, out: Path, fmt: str, meta: dict[str, Any], tolerance: float
) -> dict[str, float]:
    """Write the graph under a temporary name beside ``out``, check it, and rename it to
    ``out`` when it passes; returns the differences (:func:`check_export`)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write_graph(loaded.graph, fmt, tmp, loaded.kind, meta)
        diffs = check_export(loaded, tmp, fmt)
        worst = max(v for k, v in diffs.items() if k != "valid_mismatch")
        if worst > tolerance or diffs.get("valid_mismatch", 0.0) > 0:
            mismatch = diffs.get("valid_mismatch")
            raise UserError(
                f"{out}: the exported {fmt} model differs from the eager one by {worst:.2e} of "
                f"the output's range (limit {tolerance:g}"
                + (f"; {mismatch:.0f} validity pixels differ" if mismatch else "")
                + "); not written"
            )
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return diffs
