"""Save a colour-mapped picture of a depth map, with its RGB image and validity
(``depthduet show``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from depthduet.errors import UserError

__all__ = ["ShowParams", "show"]


@dataclass
class ShowParams:
    """What ``depthduet show`` was asked to do; the command's options of the same names
    describe each field."""

    depth: str
    output: str
    rgb: str | None = None
    scale: float | None = None
    key: str | None = None
    index: int | None = None
    encoding: str = "plain"
    invalid: float | None = None
    cmap: str = "turbo"
    lo_pct: float = 2.0
    hi_pct: float = 98.0
    vmin: float | None = None
    vmax: float | None = None
    disparity: bool = False
    unit: str = ""
    invert: bool = False
    no_mask: bool = False
    ncols: int | None = None


def show(params: ShowParams) -> dict[str, Any]:
    """Build and save the panel, and beside it the record ``PNG.yaml``.

    Returns:
        The parameters, the colour range used (``colour_range``), the map's ``shape``,
        ``valid_pixels`` and ``min`` / ``max`` of its valid values.

    Raises:
        UserError: an output that is not a ``.png`` or would overwrite an input, an unknown
            colour map, bad percentiles, an empty colour range, an unreadable input.
    """
    from depthduet.config import save_config
    from depthduet.io import read_depth, read_image
    from depthduet.viz import depth_colors, robust_range, save_panel, with_colorbar

    out = Path(params.output)
    _check(params, out)
    dm = read_depth(
        params.depth,
        scale=params.scale,
        key=params.key,
        invalid=params.invalid,
        encoding=params.encoding,
        index=params.index,
    )
    lo, hi = robust_range(dm.values, dm.valid, params.lo_pct, params.hi_pct)
    lo = lo if params.vmin is None else params.vmin
    hi = hi if params.vmax is None else params.vmax
    if not lo < hi:
        raise UserError(f"empty colour range {lo}..{hi}: check --vmin/--vmax")
    tiles: list[tuple[str, Any]] = []
    if params.rgb:
        tiles.append((Path(params.rgb).name, read_image(params.rgb)))
    kind = "disparity" if params.disparity else "depth"
    colour, _ = depth_colors(
        dm.values, dm.valid, kind=kind, cmap=params.cmap, invert=params.invert, vmin=lo, vmax=hi
    )
    reverse = (kind == "depth") != bool(params.invert)
    label = f"{kind} [{params.unit}]" if params.unit else kind
    colour = with_colorbar(colour, lo, hi, cmap=params.cmap, reverse=reverse, label=label)
    n = int(dm.valid.sum())
    tiles.append((f"{Path(params.depth).name}  {lo:.4g}..{hi:.4g}", colour))
    if not params.no_mask:
        tiles.append((f"valid {100 * n / dm.valid.size:.1f}%", dm.valid))
    save_panel(out, tiles, ncols=params.ncols)
    record = _record(params, out, kind, lo, hi, dm)
    save_config(record, out.with_name(out.name + ".yaml"))
    return record


def _check(params: ShowParams, out: Path) -> None:
    """Refuse, before reading anything, a bad output name, colour map or percentiles."""
    if out.suffix.lower() != ".png":
        raise UserError(f"{out}: the picture is written as PNG; use a .png name")
    for src, what in ((params.depth, "the depth input"), (params.rgb, "the --rgb image")):
        if src and Path(src).resolve() == out.resolve():
            raise UserError(f"{out}: the picture would overwrite {what}; choose another -o")
    import matplotlib

    if params.cmap not in matplotlib.colormaps:
        raise UserError(
            f"--cmap {params.cmap!r}: unknown matplotlib colour map (e.g. turbo, viridis)"
        )
    if not 0 <= params.lo_pct < params.hi_pct <= 100:
        raise UserError(
            f"need 0 <= --lo-pct < --hi-pct <= 100, got {params.lo_pct}, {params.hi_pct}"
        )


def _record(
    params: ShowParams, out: Path, kind: str, lo: float, hi: float, dm: Any
) -> dict[str, Any]:
    """The parameters, the colour range and what the map holds (saved as ``PNG.yaml``)."""
    n = int(dm.valid.sum())
    return {
        "command": "show",
        "depth": str(params.depth),
        "rgb": params.rgb,
        "output": str(out),
        "scale": params.scale,
        "key": params.key,
        "index": params.index,
        "encoding": params.encoding,
        "invalid": params.invalid,
        "cmap": params.cmap,
        "lo_pct": params.lo_pct,
        "hi_pct": params.hi_pct,
        "invert": params.invert,
        "kind": kind,
        "unit": params.unit,
        "colours": "near = warm (turbo reversed for depth)" if not params.invert else "reversed",
        "colour_range": [float(lo), float(hi)],
        "shape": [int(dm.values.shape[0]), int(dm.values.shape[1])],
        "valid_pixels": n,
        "min": float(dm.values[dm.valid].min()) if n else None,
        "max": float(dm.values[dm.valid].max()) if n else None,
    }
