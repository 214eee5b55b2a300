"""Previews with one colour convention, near = warm: depth (a distance) with the colour map
reversed, disparity (large = near) as it is; colour bars with the values and their unit; and
:func:`depth_panel`, input | output | ground truth | error with one colour range for all depth
tiles (the previews of ``depthduet show``, ``upsample`` and ``predict``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from depthduet.viz.colors import (
    cmap_lut,
    colorize_depth,
    colorize_error,
    map_and_range,
    squeeze_map,
    to_uint8_rgb,
    valid_pixels,
)
from depthduet.viz.panels import load_font, make_panel

__all__ = [
    "NEAR_WARM_CMAP",
    "KINDS",
    "depth_colors",
    "colorbar",
    "with_colorbar",
    "depth_panel",
]

#: colour map of the depth previews (reversed for depth so that near = warm)
NEAR_WARM_CMAP = "turbo"
#: map kinds: which end of the values is near
KINDS = ("depth", "disparity")


def _check_kind(kind: str) -> bool:
    """True when values must be reversed to put near at the warm end (depth)."""
    if kind not in KINDS:
        raise ValueError(f"kind: expected 'depth' or 'disparity', got {kind!r}")
    return kind == "depth"


def depth_colors(
    values: Any,
    valid: Any | None = None,
    *,
    kind: str = "depth",
    vmin: float | None = None,
    vmax: float | None = None,
    cmap: str = NEAR_WARM_CMAP,
    lo_pct: float = 2.0,
    hi_pct: float = 98.0,
    invert: bool = False,
) -> tuple[np.ndarray, tuple[float, float]]:
    """Colour a depth or disparity map with near = warm.

    Args:
        values: ``(H, W)`` map. valid: ``(H, W)`` bool; default: finite and > 0.
        kind: ``"depth"`` (small = near: the colour map is reversed) or ``"disparity"``
            (large = near).
        vmin, vmax: fixed range (default: the ``lo_pct``..``hi_pct`` percentiles of the valid
            pixels).
        cmap: matplotlib colour map, ordered cold -> warm.
        invert: reverse once more (a map whose kind is unknown).

    Returns:
        ``(rgb (H, W, 3) uint8, (lo, hi))``: the picture and the value range it spans.
    """
    v, m, lo, hi = map_and_range(values, valid, lo_pct, hi_pct, vmin, vmax)
    rev = _check_kind(kind) != bool(invert)
    rgb = colorize_depth(v, m, cmap=cmap, invert=rev, vmin=lo, vmax=hi)
    return rgb, (lo, hi)


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def colorbar(
    width: int,
    lo: float,
    hi: float,
    *,
    cmap: str = NEAR_WARM_CMAP,
    reverse: bool = False,
    label: str = "",
    height: int = 12,
    text_size: int = 11,
) -> np.ndarray:
    """A horizontal colour bar from ``lo`` (left) to ``hi`` (right) with its values.

    Args:
        width: pixels. lo, hi: the values at both ends.
        cmap, reverse: the colour map, reversed (as :func:`depth_colors` does for depth).
        label: text under the bar, e.g. ``"depth [m]"``; the end values (and the middle one
            when there is room) are written below the bar.
        height: bar height in pixels. text_size: font size.

    Returns:
        ``(height + text_size + 6, width, 3)`` uint8, white background.
    """
    from PIL import Image, ImageDraw

    width = max(int(width), 1)
    t = np.linspace(0.0, 1.0, width)
    if reverse:
        t = 1.0 - t
    lut = cmap_lut(cmap)
    bar = np.repeat(lut[np.round(t * 255).astype(np.int64)][None], height, axis=0)
    text_h = text_size + 6
    canvas = Image.new("RGB", (width, height + text_h), (255, 255, 255))
    canvas.paste(Image.fromarray(bar), (0, 0))
    draw = ImageDraw.Draw(canvas)
    font = load_font(text_size)
    y = height + 2
    left, right = _fmt(lo), _fmt(hi)
    mid = f"{label}" if label else _fmt(0.5 * (lo + hi))

    def text_w(text: str) -> float:
        try:
            return float(draw.textlength(text, font=font))
        except AttributeError:  # Pillow < 8
            return 6.0 * len(text)

    draw.text((1, y), left, fill=(0, 0, 0), font=font)
    wr = text_w(right)
    draw.text((max(width - wr - 1, 0), y), right, fill=(0, 0, 0), font=font)
    wm = text_w(mid)
    room = width - text_w(left) - wr - 8
    if wm <= room:
        draw.text(((width - wm) / 2, y), mid, fill=(0, 0, 0), font=font)
    return np.asarray(canvas)


def with_colorbar(
    image: Any,
    lo: float,
    hi: float,
    *,
    cmap: str = NEAR_WARM_CMAP,
    reverse: bool = False,
    label: str = "",
) -> np.ndarray:
    """``image`` ``(H, W, 3)`` with a :func:`colorbar` of its width underneath."""
    img = to_uint8_rgb(image)
    bar = colorbar(img.shape[1], lo, hi, cmap=cmap, reverse=reverse, label=label)
    gap = np.full((3, img.shape[1], 3), 255, np.uint8)
    return np.concatenate([img, gap, bar], axis=0)


#: default tile titles of :func:`depth_panel` (its ``titles`` argument overrides them)
TILE_TITLES = {
    "rgb": "colour",
    "input": "input",
    "output": "output",
    "gt": "ground truth",
    "error": "|output - ground truth|",
}


def _label(what: str, unit: str) -> str:
    return f"{what} [{unit}]" if unit else what


def _nearest_to(a: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Repeat a small map's pixels to ``shape`` (each pixel a block; a remainder is cropped)."""
    if a.shape == shape:
        return a
    ry = max(1, -(-shape[0] // a.shape[0]))
    rx = max(1, -(-shape[1] // a.shape[1]))
    return np.repeat(np.repeat(a, ry, axis=0), rx, axis=1)[: shape[0], : shape[1]]


def depth_panel(
    output: Any,
    output_valid: Any | None = None,
    *,
    input: Any | None = None,
    input_valid: Any | None = None,
    gt: Any | None = None,
    gt_valid: Any | None = None,
    rgb: Any | None = None,
    kind: str = "depth",
    unit: str = "",
    titles: dict[str, str] | None = None,
    extra: Sequence[tuple[Any, ...]] = (),
    min_width: int = 256,
) -> np.ndarray:
    """A preview panel: [rgb |] input | output [| ground truth | error], with colour bars.

    Depth tiles share one colour range (the output's robust range) and the near = warm
    convention (:func:`depth_colors`); the error tile shows ``|output - gt|`` on valid pixels
    of both (``inferno``, black = 0) with its own bar in the same unit. An input smaller than
    the output is drawn with its pixels as blocks, at the output's size.

    Args:
        output: ``(H, W)`` map. output_valid: its validity (default: finite and > 0).
        input, input_valid: the map that was processed (e.g. the LR map), optional.
        gt, gt_valid: ground truth at the output's size, optional.
        rgb: a colour image shown first, optional.
        kind: ``"depth"`` or ``"disparity"``. unit: e.g. ``"m"``, ``"mm"`` (bar labels).
        titles: override tile titles (keys ``rgb``, ``input``, ``output``, ``gt``, ``error``).
        extra: more tiles appended at the end, ``(title, image)`` or ``(title, image, bar)``:
            an image already coloured, at the output's size, and the keyword arguments of
            :func:`with_colorbar` (``lo``, ``hi``, ``cmap``, ``label``...) for its bar.
        min_width: tiles of narrower maps are enlarged by a whole factor (pixels as blocks)
            to at least this width, so that titles and colour bars stay readable.

    Returns:
        ``(H', W', 3)`` uint8.
    """
    out = squeeze_map(output, "output").astype(np.float64)
    # small maps are drawn bigger (pixels as blocks) so that titles and bars stay readable
    k = max(1, -(-int(min_width) // max(out.shape[1], 1)))
    t = {**TILE_TITLES, **(titles or {})}
    ov = valid_pixels(out, output_valid)
    rev = _check_kind(kind)
    _, (lo, hi) = depth_colors(out, ov, kind=kind)
    name = "depth" if kind == "depth" else "disparity"

    def tile(v: np.ndarray, m: np.ndarray) -> np.ndarray:
        rgb_, _ = depth_colors(v, m, kind=kind, vmin=lo, vmax=hi)
        return with_colorbar(_blocks(rgb_, k), lo, hi, reverse=rev, label=_label(name, unit))

    items: list[tuple[str, np.ndarray]] = []
    if rgb is not None:
        items.append((t["rgb"], _blocks(to_uint8_rgb(rgb), k)))
    if input is not None:
        iv = squeeze_map(input, "input").astype(np.float64)
        im = valid_pixels(iv, input_valid)
        size = f" {iv.shape[0]}x{iv.shape[1]}"
        items.append(
            (
                t["input"] + size,
                tile(_nearest_to(iv, out.shape), _nearest_to(im, out.shape)),
            )
        )
    items.append((t["output"] + f" {out.shape[0]}x{out.shape[1]}", tile(out, ov)))
    if gt is not None:
        g = squeeze_map(gt, "gt").astype(np.float64)
        if g.shape != out.shape:
            raise ValueError(f"gt: shape {g.shape} differs from the output's {out.shape}")
        gm = valid_pixels(g, gt_valid)
        items.append((t["gt"], tile(g, gm)))
        items.append(_error_tile(out, g, gm & ov, title=t["error"], unit=unit, k=k))
    for title, img, *bar in extra:
        tile_img = _blocks(to_uint8_rgb(img), k)
        if bar and bar[0]:
            tile_img = with_colorbar(tile_img, **bar[0])
        items.append((title, tile_img))
    return make_panel(items)


def _blocks(a: np.ndarray, k: int) -> np.ndarray:
    """``a`` ``(H, W[, C])`` enlarged ``k`` times, each pixel a ``k x k`` block."""
    return a if k == 1 else np.repeat(np.repeat(a, k, axis=0), k, axis=1)


def _error_tile(
    out: np.ndarray, gt: np.ndarray, both: np.ndarray, *, title: str, unit: str, k: int
) -> tuple[str, np.ndarray]:
    """``(title with the RMSE, tile)``: ``|out - gt|`` of two ``(H, W)`` maps where ``both`` is
    True, on ``[0, 98th percentile]`` (``inferno``, black = 0), with its colour bar."""
    err = np.where(both, np.abs(out - gt), 0.0)
    emax = float(np.percentile(err[both], 98)) if both.any() else 1.0
    emax = emax if emax > 0 else 1.0
    e_rgb = colorize_error(err, both, vmax=emax)
    rmse = float(np.sqrt(np.mean(err[both] ** 2))) if both.any() else float("nan")
    e_tile = with_colorbar(
        _blocks(e_rgb, k), 0.0, emax, cmap="inferno", label=_label("error", unit)
    )
    return f"{title}  RMSE {_fmt(rmse)}{(' ' + unit) if unit else ''}", e_tile
