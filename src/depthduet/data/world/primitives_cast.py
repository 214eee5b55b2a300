"""Nearest hit of every ray among many primitives: :func:`cast`, front to back with culling, and
the batched intersections of small boxes, cylinders and spheres it uses (exactly the values of
their own ``intersect``).

Re-exported by :mod:`depthduet.data.world.primitives`.
"""

from __future__ import annotations

import math

import numpy as np

from depthduet.data.world.primitives_rays import _EPS, RayGrid, _safe_inv
from depthduet.data.world.primitives_shapes import Box, Cylinder, Primitive, Sphere, hull_table
from depthduet.data.world.primitives_table import PrimTable

__all__ = ["cast"]


def cast(
    prims: list[Primitive],
    g: RayGrid,
    hulls: np.ndarray | None = None,
    table: PrimTable | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest hit of every ray of ``g``.

    Primitives are visited front to back (by the nearest corner of their hull) and skipped when
    everything in their ray rectangle is already nearer than their hull.

    Args:
        prims: the primitives.
        g: the rays.
        hulls: :func:`hull_table` of ``prims`` (computed if ``None``).
        table: the :class:`PrimTable` of ``prims`` if there is one (saves per-call work).

    Returns:
        ``(t, ids)``: distances ``(R, C)`` float32 (``inf`` = no hit; for pinhole grids ``t`` is
        the z-depth) and primitive indices ``(R, C)`` int32 (-1 = none).
    """
    t = np.full(g.shape, np.inf, np.float32)
    ids = np.full(g.shape, -1, np.int32)
    if not prims:
        return t, ids
    if hulls is None:
        hulls = hull_table(prims) if table is None else table.hulls
    rects, zmin = g.bounds_all(hulls)
    bounds = g.last_bounds
    area = (bounds[:, 1] - bounds[:, 0]) * (bounds[:, 3] - bounds[:, 2])
    small: list[int] = []
    zl, al = zmin.tolist(), area.tolist()  # Python scalars: cheaper in the loop below
    # hits of the small cylinders and spheres, computed together up front (exactly what their
    # intersect() gives) and merged below in the same front-to-back order
    pre = _small_round_hits(prims, rects, al, bounds, g)
    for i in np.argsort(zmin, kind="stable").tolist():
        sl = rects[i]
        if sl is None:
            continue
        if al[i] <= _SMALL and type(prims[i]) is Box:
            small.append(i)  # many small boxes are tested together below
            continue
        sub = t[sl]
        if zl[i] > 0 and zl[i] >= sub.max():
            continue  # fully hidden behind what is already drawn
        tt = pre[i] if i in pre else prims[i].intersect(g, sl)
        closer = tt < sub
        np.copyto(sub, tt, where=closer)
        np.copyto(ids[sl], i, where=closer, casting="unsafe")
    if small:
        _cast_small_boxes(prims, small, bounds, zmin, g, t, ids, table)
    return t, ids


#: boxes whose ray rectangle has at most this many rays are intersected in one batch
_SMALL = 2048


def _rect_pairs(bounds: np.ndarray, w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ray, rectangle) pairs of rectangles ``(n, 4)`` ``[r0, r1, c0, c1]`` on a grid ``w`` wide.

    Returns the rectangle of each pair, its flat ray index (row by row within each rectangle,
    rectangles one after the other) and the first pair of each rectangle ``(n,)``.
    """
    rw = bounds[:, 3] - bounds[:, 2]
    nrows = bounds[:, 1] - bounds[:, 0]
    area = nrows * rw
    starts = np.cumsum(area) - area
    rect = np.repeat(np.arange(len(bounds)), area)
    # a ragged arange: consecutive rays along each row of each rectangle
    rowbox = np.repeat(np.arange(len(bounds)), nrows)
    row = bounds[rowbox, 0] + np.arange(len(rowbox)) - np.repeat(np.cumsum(nrows) - nrows, nrows)
    seg = rw[rowbox]
    first = row * w + bounds[rowbox, 2] - (np.cumsum(seg) - seg)
    return rect, np.arange(len(rect)) + np.repeat(first, seg), starts


def _small_round_hits(
    prims: list[Primitive],
    rects: list[tuple[slice, slice] | None],
    area: list[int],
    bounds: np.ndarray,
    g: RayGrid,
) -> dict[int, np.ndarray]:
    """:meth:`Cylinder.intersect` / :meth:`Sphere.intersect` of every cylinder and sphere whose
    ray rectangle has at most ``_SMALL`` rays, batched over (ray, primitive) pairs.

    The per-primitive scalars are formed exactly as ``intersect`` forms them (Python floats,
    rounded to float32 where they meet the float32 rays), so every value is identical.
    Returns ``{primitive index: t of its rectangle}``.
    """
    out: dict[int, np.ndarray] = {}
    w = g.shape[1]
    f32 = np.float32
    eps = f32(_EPS)
    for cls in (Cylinder, Sphere):
        idx = [
            i
            for i, p in enumerate(prims)
            if type(p) is cls and rects[i] is not None and area[i] <= _SMALL
        ]
        if not idx:
            continue
        b = bounds[idx]
        rect, pix, starts = _rect_pairs(b, w)
        dx, dy, dz = g.dx.reshape(-1)[pix], g.dy.reshape(-1)[pix], g.dz.reshape(-1)[pix]
        ps = [prims[i] for i in idx]
        with np.errstate(invalid="ignore", divide="ignore"):
            if cls is Cylinder:
                oy = float(g.origin[1])
                ox = [float(g.origin[0] - p.x) for p in ps]
                oz = [float(g.origin[2] - p.z) for p in ps]
                r2 = [float(p.r) ** 2 for p in ps]
                c = [x * x + z * z - r for x, z, r in zip(ox, oz, r2)]
                OX, OZ, C = (np.array(v, f32)[rect] for v in (ox, oz, c))
                Y0, Y1, R2 = (
                    np.array(v, f32)[rect] for v in ([p.y0 for p in ps], [p.y1 for p in ps], r2)
                )
                a = dx * dx + dz * dz
                bb = OX * dx + OZ * dz
                disc = bb * bb - a * C
                t = (-bb - np.sqrt(disc)) / a
                y = f32(oy) + t * dy
                ok = (disc >= 0) & (t > eps) & (y >= Y0) & (y <= Y1)
                t = np.where(ok, t, f32(np.inf))
                # the cap facing the origin, for cylinders seen from above or below
                ycap = [
                    (float(p.y0) if oy < float(p.y0) else float(p.y1)) - oy
                    if oy < float(p.y0) or oy > float(p.y1)
                    else np.nan
                    for p in ps
                ]
                capped = np.isfinite(np.array(ycap))[rect]
                if capped.any():
                    q = np.flatnonzero(capped)
                    tc = np.array(ycap, f32)[rect[q]] * g.iy.reshape(-1)[pix[q]]
                    px, pz = OX[q] + tc * dx[q], OZ[q] + tc * dz[q]
                    okc = (tc > eps) & (px * px + pz * pz <= R2[q])
                    tq = t[q]
                    t[q] = np.where(okc & (tc < tq), tc, tq)
            else:
                o = [[float(v) for v in g.origin - p.c] for p in ps]
                c = [v[0] ** 2 + v[1] ** 2 + v[2] ** 2 - float(p.r) ** 2 for v, p in zip(o, ps)]
                O = np.array(o, f32)[rect]
                C = np.array(c, f32)[rect]
                a = dx * dx + dy * dy + dz * dz
                bb = O[:, 0] * dx + O[:, 1] * dy + O[:, 2] * dz
                disc = bb * bb - a * C
                t = (-bb - np.sqrt(disc)) / a
                t = np.where((disc >= 0) & (t > eps), t, f32(np.inf))
        t = t.astype(f32, copy=False)
        ends = (starts + (b[:, 1] - b[:, 0]) * (b[:, 3] - b[:, 2])).tolist()
        shapes = np.stack([b[:, 1] - b[:, 0], b[:, 3] - b[:, 2]], 1).tolist()
        for k, i in enumerate(idx):
            out[i] = t[int(starts[k]) : ends[k]].reshape(shapes[k])
    return out


def _cast_small_boxes(
    prims: list[Primitive],
    idx: list[int],
    all_bounds: np.ndarray,
    zmin: np.ndarray,
    g: RayGrid,
    t: np.ndarray,
    ids: np.ndarray,
    table: PrimTable | None = None,
) -> None:
    """Slab test of many boxes at once over (ray, box) pairs; updates ``t`` / ``ids`` in place.

    Gives exactly the result of testing the boxes one by one (same float32 arithmetic).
    """
    h, w = g.shape
    bounds = all_bounds[idx]
    box, pix, starts = _rect_pairs(bounds, w)
    tf, idf = t.reshape(-1), ids.reshape(-1)
    # boxes entirely behind what is already drawn are dropped
    hidden = (zmin[idx] > 0) & (zmin[idx] >= np.maximum.reduceat(tf[pix], starts))
    if hidden.any():
        keep = ~hidden[box]
        box, pix = box[keep], pix[keep]
    if len(box) == 0:
        return
    if table is not None:
        c, half, cy, sy = (a[idx] for a in table.box64)
    else:
        bs = [prims[i] for i in idx]
        c = np.array([b.c for b in bs])
        half = np.array([b.h for b in bs])
        cy = np.array([math.cos(b.yaw) for b in bs])
        sy = np.array([math.sin(b.yaw) for b in bs])
    o = g.origin[None] - c  # origin in each box frame: R_yaw^T (o - c), in float64
    ol = np.stack([cy * o[:, 0] - sy * o[:, 2], o[:, 1], sy * o[:, 0] + cy * o[:, 2]], 1)
    lo = (-half - ol).astype(np.float32)  # slab planes relative to the origin, as one by one
    hi = (half - ol).astype(np.float32)
    ix, iy, iz = g.ix.reshape(-1)[pix], g.iy.reshape(-1)[pix], g.iz.reshape(-1)[pix]
    turned = np.flatnonzero((sy != 0)[box])  # pairs of yawed boxes: rotated inverse directions
    if len(turned):
        tp, tb = pix[turned], box[turned]
        dx, dz = g.dx.reshape(-1)[tp], g.dz.reshape(-1)[tp]
        cb, sb = cy.astype(np.float32)[tb], sy.astype(np.float32)[tb]
        ix[turned] = _safe_inv(cb * dx - sb * dz)
        iz[turned] = _safe_inv(sb * dx + cb * dz)
    tmin = np.full(len(box), -np.inf, np.float32)
    tmax = np.full(len(box), np.inf, np.float32)
    for k, ik in enumerate((ix, iy, iz)):
        t1 = lo[box, k] * ik
        t2 = hi[box, k] * ik
        np.maximum(tmin, np.minimum(t1, t2), out=tmin)
        np.minimum(tmax, np.maximum(t1, t2), out=tmax)
    hit = (tmax >= tmin) & (tmin > _EPS)
    box, pix, tt = box[hit], pix[hit], tmin[hit]
    np.minimum.at(tf, pix, tt)
    won = tf[pix] == tt
    idf[pix[won]] = np.asarray(idx, np.int32)[box[won]]
