"""Pictures of depth: colour maps with a robust range, error maps, LiDAR overlays, panels.

All functions work on numpy arrays (torch tensors are accepted and moved to the CPU) and
return ``uint8`` RGB images ``(H, W, 3)``; :func:`save_panel` lays several of them side by side
with titles and writes a PNG. Invalid pixels are drawn in a flat colour (black for depth) so
that holes are never confused with near or far values.

**One colour convention: near = warm.** The previews of ``depthduet show``, ``upsample`` and
``predict`` colour near surfaces red and far ones blue (``turbo``): depth (a distance) with the
colour map reversed, disparity (an inverse distance, large = near) as it is
(:func:`depth_colors`). Each picture has a colour bar with the values and their unit
(:func:`colorbar`, :func:`with_colorbar`); :func:`depth_panel` draws input | output | ground
truth | error with one colour range for all depth tiles.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "robust_range",
    "colorize",
    "colorize_depth",
    "colorize_error",
    "colorize_mask",
    "to_uint8_rgb",
    "overlay_points",
    "make_panel",
    "save_panel",
    "depth_to_points",
    "save_depth_ply",
    "NEAR_WARM_CMAP",
    "depth_colors",
    "colorbar",
    "with_colorbar",
    "depth_panel",
]

RGB = tuple[int, int, int]


def _np(x: Any) -> np.ndarray:
    """numpy view of an array or a (possibly CUDA / grad-tracking) torch tensor."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _squeeze_map(x: Any, name: str) -> np.ndarray:
    a = _np(x)
    while a.ndim > 2 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 2:
        raise ValueError(f"{name} must be (H, W) or (1, H, W), got shape {a.shape}")
    return a


def _cmap_lut(cmap: str) -> np.ndarray:
    """256-entry uint8 RGB lookup table ``(256, 3)`` of a matplotlib colour map (a copy)."""
    return _cached_lut(cmap).copy()


@lru_cache(maxsize=16)
def _cached_lut(cmap: str) -> np.ndarray:
    import matplotlib

    try:
        cm = matplotlib.colormaps[cmap]
    except KeyError as e:
        raise ValueError(f"unknown colour map {cmap!r}") from e
    return np.round(cm(np.linspace(0.0, 1.0, 256))[:, :3] * 255).astype(np.uint8)


def robust_range(
    values: Any, valid: Any | None = None, lo_pct: float = 2.0, hi_pct: float = 98.0
) -> tuple[float, float]:
    """Percentile range ``(lo, hi)`` of the valid, finite values (``lo < hi`` guaranteed).

    Args:
        values: ``(H, W)`` array.
        valid: optional ``(H, W)`` bool mask.
        lo_pct, hi_pct: percentiles in [0, 100].

    Returns:
        ``(lo, hi)``; ``(0, 1)`` when nothing is valid; widened by 1e-6 (relative) when flat.
    """
    v = _np(values).astype(np.float64)
    m = np.isfinite(v)
    if valid is not None:
        m &= _np(valid).astype(bool).reshape(v.shape)
    if not m.any():
        return 0.0, 1.0
    lo, hi = np.percentile(v[m], [lo_pct, hi_pct])
    if hi <= lo:
        eps = max(abs(lo), 1.0) * 1e-6
        lo, hi = lo - eps, hi + eps
    return float(lo), float(hi)


def colorize(
    values: Any,
    valid: Any | None = None,
    *,
    vmin: float,
    vmax: float,
    cmap: str = "turbo",
    invalid_color: RGB = (0, 0, 0),
) -> np.ndarray:
    """Map ``(H, W)`` values linearly from ``[vmin, vmax]`` (clipped) through ``cmap``.

    Returns:
        ``(H, W, 3)`` uint8; pixels that are invalid or non-finite get ``invalid_color``.
    """
    v = _squeeze_map(values, "values").astype(np.float64)
    m = np.isfinite(v)
    if valid is not None:
        m &= _squeeze_map(valid, "valid").astype(bool)
    span = vmax - vmin if vmax != vmin else 1.0
    t = np.zeros(v.shape)
    t[m] = np.clip((v[m] - vmin) / span, 0.0, 1.0)
    idx = np.round(t * 255).astype(np.int64)
    out = _cmap_lut(cmap)[idx]
    out[~m] = np.asarray(invalid_color, np.uint8)
    return out


def _map_and_range(
    values: Any, valid: Any, lo_pct: float, hi_pct: float, vmin: float | None, vmax: float | None
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """``(values (H, W) float64, valid (H, W) bool, lo, hi)``: validity (finite and > 0 when
    ``valid`` is None) and the colour range (robust percentiles unless ``vmin``/``vmax``)."""
    v = _squeeze_map(values, "values").astype(np.float64)
    if valid is None:
        with np.errstate(invalid="ignore"):
            m = np.isfinite(v) & (v > 0)
    else:
        m = _squeeze_map(valid, "valid").astype(bool) & np.isfinite(v)
    lo, hi = robust_range(v, m, lo_pct, hi_pct)
    lo = lo if vmin is None else float(vmin)
    hi = hi if vmax is None else float(vmax)
    return v, m, lo, hi


def colorize_depth(
    values: Any,
    valid: Any | None = None,
    cmap: str = "turbo",
    lo_pct: float = 2.0,
    hi_pct: float = 98.0,
    invert: bool = False,
    *,
    vmin: float | None = None,
    vmax: float | None = None,
    invalid_color: RGB = (0, 0, 0),
) -> np.ndarray:
    """Colour-map a depth (or disparity) map with a robust range.

    The range is the ``[lo_pct, hi_pct]`` percentile range of the valid pixels (outliers are
    clipped), unless ``vmin`` / ``vmax`` fix it (e.g. to compare several maps on one scale).

    Args:
        values: ``(H, W)`` or ``(1, H, W)`` depth.
        valid: ``(H, W)`` bool; default: finite and ``> 0``.
        cmap: matplotlib colour map name.
        lo_pct, hi_pct: percentiles of the robust range.
        invert: reverse the map (near = high end), handy for depth vs disparity.
        vmin, vmax: fixed range overriding the percentiles.
        invalid_color: RGB of invalid pixels (black).

    Returns:
        ``(H, W, 3)`` uint8.
    """
    v, m, lo, hi = _map_and_range(values, valid, lo_pct, hi_pct, vmin, vmax)
    if invert:
        v = np.where(m, lo + hi - v, v)
    return colorize(v, m, vmin=lo, vmax=hi, cmap=cmap, invalid_color=invalid_color)


def colorize_error(
    err: Any,
    valid: Any | None = None,
    vmax: float | None = None,
    *,
    signed: bool = False,
    cmap: str | None = None,
    pct: float = 98.0,
    invalid_color: RGB = (128, 128, 128),
) -> np.ndarray:
    """Colour-map an error map.

    Unsigned (default): ``|err|`` on ``[0, vmax]`` with ``inferno`` (black = no error).
    Signed: ``err`` on ``[-vmax, vmax]`` with ``RdBu_r`` (white = 0, red = positive).
    ``vmax`` defaults to the ``pct`` percentile of ``|err|`` over valid pixels.

    Args:
        err: ``(H, W)`` error, e.g. ``pred - gt``.
        valid: ``(H, W)`` bool where the error is defined; default: finite.
        vmax: top of the range.
        signed: keep the sign.
        cmap: override the colour map.
        pct: percentile used when ``vmax`` is None.
        invalid_color: RGB of pixels without an error (grey).

    Returns:
        ``(H, W, 3)`` uint8.
    """
    e = _squeeze_map(err, "err").astype(np.float64)
    m = np.isfinite(e)
    if valid is not None:
        m &= _squeeze_map(valid, "valid").astype(bool)
    if vmax is None:
        vmax = float(np.percentile(np.abs(e[m]), pct)) if m.any() else 1.0
    vmax = float(vmax) if vmax and vmax > 0 else 1.0
    if signed:
        return colorize(
            e, m, vmin=-vmax, vmax=vmax, cmap=cmap or "RdBu_r", invalid_color=invalid_color
        )
    return colorize(
        np.abs(e), m, vmin=0.0, vmax=vmax, cmap=cmap or "inferno", invalid_color=invalid_color
    )


def colorize_mask(mask: Any, on: RGB = (255, 255, 255), off: RGB = (0, 0, 0)) -> np.ndarray:
    """``(H, W)`` bool mask -> ``(H, W, 3)`` uint8 (``on`` where True)."""
    m = _squeeze_map(mask, "mask").astype(bool)
    out = np.empty((*m.shape, 3), np.uint8)
    out[m] = on
    out[~m] = off
    return out


def to_uint8_rgb(image: Any) -> np.ndarray:
    """Any displayable image -> ``(H, W, 3)`` uint8.

    Accepts ``(H, W)`` / ``(H, W, 1)`` / ``(H, W, 3)`` / ``(H, W, 4)`` and channel-first
    ``(1|3, H, W)`` tensors; floats are taken as [0, 1] (clipped), bool as a mask, uint16 as
    16-bit grey.
    """
    a = _np(image)
    if a.ndim == 3 and a.shape[0] in (1, 3) and a.shape[2] not in (1, 3, 4):
        a = np.moveaxis(a, 0, -1)
    if a.ndim == 3 and a.shape[2] == 4:
        a = a[..., :3]
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] != 3):
        raise ValueError(f"cannot display an array of shape {a.shape} as an image")
    if a.dtype == np.bool_:
        a = a.astype(np.uint8) * 255
    elif a.dtype == np.uint16:
        a = (a.astype(np.uint32) * 255 // 65535).astype(np.uint8)
    elif a.dtype.kind == "f":
        a = np.round(np.clip(np.nan_to_num(a.astype(np.float64)), 0, 1) * 255).astype(np.uint8)
    elif a.dtype != np.uint8:
        a = np.clip(a, 0, 255).astype(np.uint8)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    return np.ascontiguousarray(a)


def overlay_points(
    rgb: Any,
    uv: Any,
    values: Any,
    *,
    radius: int = 1,
    cmap: str = "turbo",
    lo_pct: float = 2.0,
    hi_pct: float = 98.0,
    vmin: float | None = None,
    vmax: float | None = None,
    invert: bool = False,
    dim: float = 1.0,
) -> np.ndarray:
    """Draw coloured points (e.g. projected LiDAR) on an image.

    Points are squares of side ``2 * radius + 1``; where points overlap the nearest one wins
    (a z-buffer). Points outside the image or with non-finite coordinates / values are
    skipped.

    Args:
        rgb: ``(H, W, 3)`` image (float [0, 1] or uint8), or ``(H, W)`` grey.
        uv: ``(N, 2)`` pixel coordinates (u = column, v = row; pixel centres at integers).
        values: ``(N,)`` depth of each point (sets the colour).
        radius: half size of the drawn squares in pixels.
        cmap, lo_pct, hi_pct, vmin, vmax, invert: as in :func:`colorize_depth`.
        dim: factor applied to the background image (e.g. 0.6 to make points stand out).

    Returns:
        ``(H, W, 3)`` uint8.
    """
    base = to_uint8_rgb(rgb)
    out = np.round(base.astype(np.float64) * float(dim)).clip(0, 255).astype(np.uint8)
    h, w = out.shape[:2]
    pts = _np(uv).astype(np.float64).reshape(-1, 2)
    z = _np(values).astype(np.float64).reshape(-1)
    if pts.shape[0] != z.shape[0]:
        raise ValueError(f"uv has {pts.shape[0]} points but values has {z.shape[0]}")
    u = np.round(pts[:, 0])
    v = np.round(pts[:, 1])
    keep = np.isfinite(u) & np.isfinite(v) & np.isfinite(z) & (u >= 0) & (u < w) & (v >= 0)
    keep &= v < h
    u, v, z = u[keep].astype(np.int64), v[keep].astype(np.int64), z[keep]
    if z.size == 0:
        return out
    lo, hi = robust_range(z, None, lo_pct, hi_pct)
    lo = lo if vmin is None else float(vmin)
    hi = hi if vmax is None else float(vmax)
    zz = lo + hi - z if invert else z
    t = np.clip((zz - lo) / (hi - lo if hi != lo else 1.0), 0, 1)
    colours = _cmap_lut(cmap)[np.round(t * 255).astype(np.int64)]
    r = int(radius)
    offs = [(du, dv) for dv in range(-r, r + 1) for du in range(-r, r + 1)]
    lin = np.concatenate(
        [np.clip(v + dv, 0, h - 1) * w + np.clip(u + du, 0, w - 1) for du, dv in offs]
    )
    depth_all = np.tile(z, len(offs))
    point = np.tile(np.arange(z.size), len(offs))
    # z-buffer: per pixel keep the nearest point (first after a stable sort by depth)
    order = np.argsort(depth_all, kind="stable")
    pix, first = np.unique(lin[order], return_index=True)
    out.reshape(-1, 3)[pix] = colours[point[order][first]]
    return out


def _as_tile(item: Any) -> np.ndarray:
    """Panel entries: uint8 / (H, W, 3) images as they are; 2-D floats as depth; bool as mask."""
    a = _np(item)
    while a.ndim == 3 and a.shape[0] == 1 and a.shape[2] not in (1, 3, 4):
        a = a[0]
    if a.ndim == 2 and a.dtype == np.bool_:
        return colorize_mask(a)
    if a.ndim == 2 and a.dtype.kind in "fiu" and a.dtype not in (np.uint8,):
        return colorize_depth(a)
    return to_uint8_rgb(a)


def _font(size: int):
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
    font = _font(title_size) if bar else None
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


def depth_to_points(
    depth: Any, K: Any, valid: Any | None = None, rgb: Any | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Back-project a depth map into camera-frame points (OpenCV axes, see geometry.py).

    ``X = depth * K^-1 [u, v, 1]^T`` for every valid pixel.

    Args:
        depth: ``(H, W)`` z-depth.
        K: ``(3, 3)`` intrinsics in pixels.
        valid: ``(H, W)`` bool; default: finite and ``> 0``.
        rgb: optional ``(H, W, 3)`` image giving point colours.

    Returns:
        ``points (N, 3)`` float32 and ``colors (N, 3)`` uint8 (or None).
    """
    d = _squeeze_map(depth, "depth").astype(np.float64)
    if valid is None:
        with np.errstate(invalid="ignore"):
            m = np.isfinite(d) & (d > 0)
    else:
        m = _squeeze_map(valid, "valid").astype(bool) & np.isfinite(d)
    k = _np(K).astype(np.float64).reshape(3, 3)
    v, u = np.nonzero(m)
    pix = np.stack([u, v, np.ones_like(u)], 0).astype(np.float64)
    pts = (np.linalg.inv(k) @ pix) * d[v, u]
    colors = to_uint8_rgb(rgb)[v, u] if rgb is not None else None
    return pts.T.astype(np.float32), colors


def save_depth_ply(
    path: str | os.PathLike[str],
    depth: Any,
    K: Any,
    valid: Any | None = None,
    rgb: Any | None = None,
) -> Path:
    """Back-project a depth map (:func:`depth_to_points`) and write it as a PLY point cloud."""
    from depthduet.io import write_ply

    pts, colors = depth_to_points(depth, K, valid, rgb)
    return write_ply(path, pts, colors)


# ----------------------------------------------------------------------------- previews
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
    v, m, lo, hi = _map_and_range(values, valid, lo_pct, hi_pct, vmin, vmax)
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
    lut = _cmap_lut(cmap)
    bar = np.repeat(lut[np.round(t * 255).astype(np.int64)][None], height, axis=0)
    text_h = text_size + 6
    canvas = Image.new("RGB", (width, height + text_h), (255, 255, 255))
    canvas.paste(Image.fromarray(bar), (0, 0))
    draw = ImageDraw.Draw(canvas)
    font = _font(text_size)
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
    out = _squeeze_map(output, "output").astype(np.float64)
    # small maps are drawn bigger (pixels as blocks) so that titles and bars stay readable
    k = max(1, -(-int(min_width) // max(out.shape[1], 1)))

    def big(a: np.ndarray) -> np.ndarray:
        return a if k == 1 else np.repeat(np.repeat(a, k, axis=0), k, axis=1)

    t = {"rgb": "colour", "input": "input", "output": "output", "gt": "ground truth"}
    t["error"] = "|output - ground truth|"
    t.update(titles or {})
    ov = _valid_of(out, output_valid)
    rev = _check_kind(kind)
    _, (lo, hi) = depth_colors(out, ov, kind=kind)
    name = "depth" if kind == "depth" else "disparity"

    def tile(v: np.ndarray, m: np.ndarray) -> np.ndarray:
        rgb_, _ = depth_colors(v, m, kind=kind, vmin=lo, vmax=hi)
        return with_colorbar(big(rgb_), lo, hi, reverse=rev, label=_label(name, unit))

    items: list[tuple[str, np.ndarray]] = []
    if rgb is not None:
        items.append((t["rgb"], big(to_uint8_rgb(rgb))))
    if input is not None:
        iv = _squeeze_map(input, "input").astype(np.float64)
        im = _valid_of(iv, input_valid)
        size = f" {iv.shape[0]}x{iv.shape[1]}"
        items.append(
            (t["input"] + size, tile(_nearest_to(iv, out.shape), _nearest_to(im, out.shape)))
        )
    items.append((t["output"] + f" {out.shape[0]}x{out.shape[1]}", tile(out, ov)))
    if gt is not None:
        g = _squeeze_map(gt, "gt").astype(np.float64)
        if g.shape != out.shape:
            raise ValueError(f"gt: shape {g.shape} differs from the output's {out.shape}")
        gm = _valid_of(g, gt_valid)
        items.append((t["gt"], tile(g, gm)))
        both = gm & ov
        err = np.where(both, np.abs(out - g), 0.0)
        emax = float(np.percentile(err[both], 98)) if both.any() else 1.0
        emax = emax if emax > 0 else 1.0
        e_rgb = colorize_error(err, both, vmax=emax)
        rmse = float(np.sqrt(np.mean(err[both] ** 2))) if both.any() else float("nan")
        e_tile = with_colorbar(big(e_rgb), 0.0, emax, cmap="inferno", label=_label("error", unit))
        items.append((f"{t['error']}  RMSE {_fmt(rmse)}{(' ' + unit) if unit else ''}", e_tile))
    for title, img, *bar in extra:
        tile_img = big(to_uint8_rgb(img))
        if bar and bar[0]:
            tile_img = with_colorbar(tile_img, **bar[0])
        items.append((title, tile_img))
    return make_panel(items)


def _valid_of(v: np.ndarray, valid: Any | None) -> np.ndarray:
    if valid is None:
        with np.errstate(invalid="ignore"):
            return np.isfinite(v) & (v > 0)
    return _squeeze_map(valid, "valid").astype(bool) & np.isfinite(v)
