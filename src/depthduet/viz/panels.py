"""Panels: images, masks and maps laid out on a grid, each with an optional title above it."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from depthduet.viz.colors import (
    RGB,
    as_numpy,
    colorize_depth,
    colorize_mask,
    to_uint8_rgb,
)

__all__ = ["load_font", "make_panel", "save_panel"]


def _as_tile(item: Any) -> np.ndarray:
    """Panel entries: uint8 / (H, W, 3) images as they are; 2-D floats as depth; bool as mask."""
    a = as_numpy(item)
    while a.ndim == 3 and a.shape[0] == 1 and a.shape[2] not in (1, 3, 4):
        a = a[0]
    if a.ndim == 2 and a.dtype == np.bool_:
        return colorize_mask(a)
    if a.ndim == 2 and a.dtype.kind in "fiu" and a.dtype not in (np.uint8,):
        return colorize_depth(a)
    return to_uint8_rgb(a)


def load_font(size: int):
    """Pillow's default font at ``size`` pixels (its fixed bitmap font on Pillow < 10.1)."""
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: fixed bitmap font
        return ImageFont.load_default()


def make_panel(
    items: Sequence[Any],
    ncols: int | None = None,
    *,
    gap: int = 4,
    background: RGB = (255, 255, 255),
    title_size: int = 14,
) -> np.ndarray:
    """Lay images out on a grid, each with an optional title above it.

    Args:
        items: entries ``array`` or ``(title, array)``. Arrays may be ``(H, W, 3)`` images
            (float [0, 1] or uint8), bool masks (white = True), or 2-D numeric maps, which are
            colour-mapped with :func:`colorize_depth` (0 / non-finite = invalid, black).
            Tiles of different sizes are top-left aligned in cells of the largest size.
        ncols: columns (default: all in one row).
        gap: pixels between tiles.
        background: RGB of the gaps.
        title_size: title font size in pixels (0: no title bars).

    Returns:
        ``(H_panel, W_panel, 3)`` uint8.
    """
    from PIL import Image, ImageDraw

    if len(items) == 0:
        raise ValueError("save_panel needs at least one image")
    titles: list[str | None] = []
    tiles: list[np.ndarray] = []
    for it in items:
        if isinstance(it, tuple) and len(it) == 2 and isinstance(it[0], str):
            titles.append(it[0])
            tiles.append(_as_tile(it[1]))
        else:
            titles.append(None)
            tiles.append(_as_tile(it))
    n = len(tiles)
    ncols = n if ncols is None else max(1, min(int(ncols), n))
    nrows = (n + ncols - 1) // ncols
    ch = max(t.shape[0] for t in tiles)
    cw = max(t.shape[1] for t in tiles)
    bar = title_size + 6 if title_size > 0 and any(titles) else 0
    H = nrows * (ch + bar) + (nrows - 1) * gap
    W = ncols * cw + (ncols - 1) * gap
    canvas = Image.new("RGB", (W, H), tuple(background))
    draw = ImageDraw.Draw(canvas)
    font = load_font(title_size) if bar else None
    for i, (title, tile) in enumerate(zip(titles, tiles)):
        r, c = divmod(i, ncols)
        x0 = c * (cw + gap)
        y0 = r * (ch + bar + gap)
        if bar and title:
            draw.text((x0 + 2, y0 + 2), title, fill=(0, 0, 0), font=font)
        canvas.paste(Image.fromarray(tile), (x0, y0 + bar))
    return np.asarray(canvas)


def save_panel(
    path: str | os.PathLike[str],
    items: Sequence[Any],
    ncols: int | None = None,
    **kwargs: Any,
) -> Path:
    """Save :func:`make_panel` ``(items, ncols, **kwargs)`` as a PNG (atomically).

    Returns:
        The written path.
    """
    from depthduet.io import write_image

    return write_image(path, make_panel(items, ncols, **kwargs))
