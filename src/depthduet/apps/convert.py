"""Convert a depth or disparity map between file formats and units (``depthduet convert``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from depthduet.apps.messages import Messages, console
from depthduet.errors import UserError

__all__ = ["ConvertParams", "convert"]


@dataclass
class ConvertParams:
    """What ``depthduet convert`` was asked to do; the command's options of the same names
    describe each field."""

    input: str
    output: str
    in_scale: float | None = None
    out_scale: float | None = None
    in_encoding: str = "plain"
    focal: float | None = None
    baseline: float | None = None
    doffs: float | None = None
    calib: str | None = None
    key: str | None = None
    index: int | None = None
    invalid: float | None = None
    out_key: str = "depth"
    bits: int = 16


def convert(params: ConvertParams, messages: Messages | None = None) -> dict[str, Any]:
    """Read, decode and write ``params.input`` to ``params.output``; the parameters and a
    summary are saved beside the output as ``OUT.yaml`` and returned.

    Returns:
        The parameters and ``summary``: ``shape``, ``valid_pixels``, ``valid_fraction``,
        ``min`` / ``max`` of the valid values (``None`` without any).

    Raises:
        UserError: an output over the input, stereo settings without ``disparity``, missing or
            bad stereo calibration, values an integer output cannot hold.
    """
    from depthduet.config import save_config
    from depthduet.io import check_integer_storable, disparity_to_depth, read_depth, write_depth

    messages = console("convert") if messages is None else messages
    src, dst = Path(params.input), Path(params.output)
    if src.resolve() == dst.resolve():
        raise UserError(f"{dst}: output would overwrite the input")
    disparity = params.in_encoding == "disparity"
    if not disparity and any(
        x is not None for x in (params.focal, params.baseline, params.doffs, params.calib)
    ):
        raise UserError("--calib/--focal/--baseline/--doffs only apply to --in-encoding disparity")
    stereo = _stereo(params) if disparity else None
    dm = read_depth(
        src,
        scale=params.in_scale,
        key=params.key,
        invalid=params.invalid,
        encoding="plain" if disparity else params.in_encoding,
        index=params.index,
    )
    values, valid = dm.values, dm.valid
    if stereo is not None:
        values = disparity_to_depth(values, *stereo, valid=valid)
        valid = values > 0
    if params.out_scale is None:
        check_integer_storable(dst.suffix, values, valid, dst)
    write_depth(dst, values, valid, scale=params.out_scale, bits=params.bits, key=params.out_key)
    n = int(valid.sum())
    if n == 0:
        messages.err(f"warning: {src}: no valid pixel; {dst} is all invalid")
    summary = {
        "shape": [int(values.shape[0]), int(values.shape[1])],
        "valid_pixels": n,
        "valid_fraction": round(n / values.size, 6),
        "min": float(values[valid].min()) if n else None,
        "max": float(values[valid].max()) if n else None,
    }
    record: dict[str, Any] = {
        "command": "convert",
        "input": str(src),
        "output": str(dst),
        "in_scale": params.in_scale,
        "out_scale": params.out_scale,
        "in_encoding": params.in_encoding,
        "key": params.key,
        "index": params.index,
        "invalid": params.invalid,
        "out_key": params.out_key,
        "bits": params.bits,
    }
    if stereo is not None:
        record.update(focal=stereo[0], baseline=stereo[1], doffs=stereo[2], calib=params.calib)
    record = {**record, "summary": summary}
    save_config(record, dst.with_name(dst.name + ".yaml"))
    return record


def _stereo(params: ConvertParams) -> tuple[float, float, float]:
    """Focal length, baseline and disparity offset: the options, completed from the calib
    file."""
    from depthduet.io import read_calib_txt

    f, b, doffs = params.focal, params.baseline, params.doffs
    if params.calib:
        cal = read_calib_txt(params.calib)
        if f is None and "cam0" in cal:
            f = float(np.ravel(cal["cam0"])[0])
        if b is None and "baseline" in cal:
            b = float(cal["baseline"][0])
        if doffs is None and "doffs" in cal:
            doffs = float(cal["doffs"][0])
    if f is None or b is None:
        if params.calib:
            missing = [k for k, v in (("cam0 (focal length)", f), ("baseline", b)) if v is None]
            raise UserError(
                f"{params.calib}: no numeric {' or '.join(missing)} entry for --in-encoding "
                "disparity (Middlebury calib.txt style: cam0=[f 0 cx; ...], baseline=...); "
                "or pass --focal / --baseline"
            )
        raise UserError("--in-encoding disparity needs --focal and --baseline (or --calib)")
    if f <= 0 or b <= 0 or not np.isfinite([f, b]).all():
        from_file = params.calib and (params.focal is None or params.baseline is None)
        where = (
            f"{params.calib}: focal (cam0) and baseline" if from_file else "--focal and --baseline"
        )
        raise UserError(f"{where} must be positive, got {f} and {b}")
    return f, b, 0.0 if doffs is None else doffs
