"""Analytic primitives and vectorised ray casting.

World frame: metres, ``y`` points down (gravity along +y), the floor / road is the plane ``y = 0``
and heights are negative ``y``. Cameras use OpenCV axes (x right, y down, z forward).

A :class:`RayGrid` holds one origin and a 2-D array of ray directions (a pinhole image or a
LiDAR's elevation x azimuth lattice). :func:`cast` finds, for every ray, the nearest hit ``t``
(``point = origin + t * direction``) and the index of the primitive hit. Each primitive first
projects its corners into the grid to get the rectangle of rays that can hit it (screen-space
culling), so small or distant objects cost little.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "Box",
    "Cylinder",
    "PrimTable",
    "Primitive",
    "RayGrid",
    "Room",
    "Sphere",
    "cast",
    "hull_table",
    "yaw_matrix",
]

_EPS = 1e-4  # hits closer than this (metres along the ray) are ignored
_FULL = (slice(None), slice(None))
#: hulls are clipped to ``z >= NEAR`` (metres, grid frame) before projection.
NEAR = 0.05
# all 28 pairs of the 8 hull corners (edges and diagonals; their crossings with z = NEAR
# contain the vertices of the clipped hull)
_SIGNS = np.array([[i, j, k] for i in (-1, 1) for j in (-1, 1) for k in (-1, 1)], np.float64)
_PAIRS = np.array([(i, j) for i in range(8) for j in range(i + 1, 8)]).T


def yaw_matrix(yaw: float) -> np.ndarray:
    """Rotation about the world ``y`` axis by ``yaw`` radians, ``(3, 3)`` float64."""
    c, s = math.cos(yaw), math.sin(yaw)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _safe_inv(d: np.ndarray) -> np.ndarray:
    """``1 / d`` in float32 (``inf`` where ``d == 0``; the slab test handles it)."""
    with np.errstate(divide="ignore"):
        return np.float32(1.0) / d.astype(np.float32, copy=False)


class RayGrid:
    """Rays from one origin arranged on a 2-D lattice.

    Args:
        origin: ``(3,)`` world position of all rays.
        R: ``(3, 3)`` rotation world <- grid frame (the grid frame has OpenCV axes).
        dirs: directions in the grid frame (need not be unit length): an ``(R, C, 3)`` array or
            a tuple of three arrays broadcastable to ``(R, C)`` (x, y, z components).
        K: pinhole intrinsics if the lattice is an image (rows v, columns u), else ``None``.
        az, el: for a LiDAR lattice, the sorted azimuths (columns) and elevations (rows), radians;
            direction ``(cos el sin az, -sin el, cos el cos az)``. With neither ``K`` nor
            ``az`` the rays are unstructured and every primitive is tested against all of them.
    """

    def __init__(
        self,
        origin: np.ndarray,
        R: np.ndarray,
        dirs: np.ndarray | tuple[np.ndarray, np.ndarray, np.ndarray],
        K: np.ndarray | None = None,
        az: np.ndarray | None = None,
        el: np.ndarray | None = None,
    ) -> None:
        self.origin = np.asarray(origin, dtype=np.float64)
        self.R = np.asarray(R, dtype=np.float64)
        self.K = K
        self.az = az
        self.el = el
        if isinstance(dirs, tuple):
            x, y, z = dirs
            self.shape = np.broadcast_shapes(x.shape, y.shape, z.shape)
        else:
            x, y, z = dirs[..., 0], dirs[..., 1], dirs[..., 2]
            self.shape = dirs.shape[:2]
        Rf = self.R.astype(np.float32)
        self.dx, self.dy, self.dz = (
            np.ascontiguousarray(
                np.broadcast_to(Rf[i, 0] * x + Rf[i, 1] * y + Rf[i, 2] * z, self.shape),
                np.float32,
            )
            for i in range(3)
        )
        self.ix, self.iy, self.iz = _safe_inv(self.dx), _safe_inv(self.dy), _safe_inv(self.dz)

    @classmethod
    def pinhole(cls, K: np.ndarray, T_world_cam: np.ndarray, height: int, width: int) -> RayGrid:
        """Image rays ``K^-1 [u, v, 1]`` (z-component 1, so ``t`` is the z-depth)."""
        x = ((np.arange(width) - K[0, 2]) / K[0, 0]).astype(np.float32)[None, :]
        y = ((np.arange(height) - K[1, 2]) / K[1, 1]).astype(np.float32)[:, None]
        # row / column vectors: the products are formed once per column / row, not per pixel
        dirs = (x, y, np.ones((1, 1), np.float32))
        return cls(T_world_cam[:3, 3], T_world_cam[:3, :3], dirs, K=np.asarray(K, np.float64))

    def moved(self, origin: np.ndarray) -> RayGrid:
        """The same rays (directions shared, not copied) from another ``origin`` ``(3,)``."""
        g = object.__new__(RayGrid)
        g.__dict__.update(self.__dict__)
        g.origin = np.asarray(origin, dtype=np.float64)
        return g

    @classmethod
    def spherical(
        cls, origin: np.ndarray, R: np.ndarray, el: np.ndarray, az: np.ndarray
    ) -> RayGrid:
        """Unit rays of a scanner: rows = elevations ``el`` (ascending), columns = azimuths ``az``."""
        ce = np.cos(el)[:, None]
        dirs = np.empty((len(el), len(az), 3), np.float32)
        dirs[..., 0] = ce * np.sin(az)[None, :]
        dirs[..., 1] = -np.sin(el)[:, None]
        dirs[..., 2] = ce * np.cos(az)[None, :]
        return cls(origin, R, dirs, az=np.asarray(az), el=np.asarray(el))

    def point_dirs(self, sl: tuple[slice, slice] = _FULL) -> np.ndarray:
        """World directions of the rays in ``sl`` as ``(n, 3)`` float32."""
        return np.stack([self.dx[sl].ravel(), self.dy[sl].ravel(), self.dz[sl].ravel()], 1)

    def bounds(self, corners: np.ndarray | None) -> tuple[slice, slice] | None:
        """Rectangle of rays that can hit the convex hull of ``corners`` ``(8, 3)``.

        Returns ``None`` if no ray can hit it, the full grid if the hull reaches behind the origin.
        """
        if corners is None:
            return _FULL
        rects, _ = self.bounds_all(corners[None])
        return rects[0]

    def bounds_all(
        self, corners: np.ndarray
    ) -> tuple[list[tuple[slice, slice] | None], np.ndarray]:
        """:meth:`bounds` of many hulls ``(N, 8, 3)`` (NaN rows = unbounded) at once.

        Each hull is clipped to the half-space ``z >= NEAR`` (0.05 m) of the grid frame before it
        is projected, so a long box passing beside the origin (a sidewalk, a facade) gets a tight
        rectangle. Surfaces closer than ``NEAR`` to the origin are not seen (the scenes keep
        cameras and scanners farther than that from everything).

        Returns the rectangles and ``(N,)`` lower bounds of the grid-frame ``z`` of each hull
        (``t`` along any ray that hits it is at least that, for pinhole and unit rays alike).
        The rectangles are also left in ``self.last_bounds`` as ``(N, 4)`` ``[r0, r1, c0, c1]``.
        """
        n = len(corners)
        if self.K is None and self.az is None:  # unstructured rays: test everything
            self.last_bounds = np.tile([0, self.shape[0], 0, self.shape[1]], (n, 1))
            return [_FULL] * n, np.zeros(n)
        q = (corners - self.origin) @ self.R  # grid-frame coordinates (N, 8, 3)
        unbounded = np.isnan(q).any((1, 2))
        q = np.where(unbounded[:, None, None], 1.0, q)
        big = np.float64(1e30)

        def extent(p: np.ndarray, keep: np.ndarray) -> list[np.ndarray]:
            # projected extent and nearest z over the kept points (+-1e30, inf where none)
            zs = np.where(keep, p[..., 2], 1.0)
            px, py = p[..., 0] / zs, p[..., 1] / zs
            return [
                np.where(keep, px, big).min(1),
                np.where(keep, px, -big).max(1),
                np.where(keep, py, big).min(1),
                np.where(keep, py, -big).max(1),
                np.where(keep, p[..., 2], np.inf).min(1),
            ]

        # clip: keep corners in front, add crossings of every corner pair with z = NEAR; only
        # hulls with corners on both sides of the plane have crossings
        front = q[..., 2] >= NEAR
        pxl, pxh, pyl, pyh, zmin = extent(q, front)
        anyok = front.any(1)
        mixed = np.flatnonzero(anyok & ~front.all(1))
        if len(mixed):
            qm = q[mixed]
            qa, qb = qm[:, _PAIRS[0]], qm[:, _PAIRS[1]]
            za, zb = qa[..., 2] - NEAR, qb[..., 2] - NEAR
            cross = za * zb < 0
            with np.errstate(divide="ignore", invalid="ignore"):
                s = np.where(cross, za / (za - zb), 0.0)[..., None]
            x = qa + s * (qb - qa)
            ex = extent(x, cross)
            pxl[mixed] = np.minimum(pxl[mixed], ex[0])
            pxh[mixed] = np.maximum(pxh[mixed], ex[1])
            pyl[mixed] = np.minimum(pyl[mixed], ex[2])
            pyh[mixed] = np.maximum(pyh[mixed], ex[3])
            zmin[mixed] = np.minimum(zmin[mixed], ex[4])
        behind = ~anyok & ~unbounded
        zmin = np.where(unbounded | behind, 0.0, zmin)
        h, w = self.shape
        if self.K is not None:
            K = self.K
            c0 = np.floor(np.clip(K[0, 0] * pxl + K[0, 2], -1, w + 1))
            c1 = np.ceil(np.clip(K[0, 0] * pxh + K[0, 2], -1, w + 1)) + 1
            r0 = np.floor(np.clip(K[1, 1] * pyl + K[1, 2], -1, h + 1))
            r1 = np.ceil(np.clip(K[1, 1] * pyh + K[1, 2], -1, h + 1)) + 1
        else:
            assert self.az is not None and self.el is not None
            a0, a1 = np.arctan(pxl), np.arctan(pxh)
            c0 = np.searchsorted(self.az, a0) - 1.0
            c1 = np.searchsorted(self.az, a1) + 1.0
            # tan(el) = -(y/z) cos(az); bound it over the azimuth interval.
            ca, cb = np.cos(a0), np.cos(a1)
            cm = np.where((a0 <= 0) & (a1 >= 0), 1.0, np.maximum(ca, cb))
            te = np.stack([-y * c for y in (pyl, pyh) for c in (ca, cb, cm)], 1)
            r0 = np.searchsorted(self.el, np.arctan(te.min(1))) - 1.0
            r1 = np.searchsorted(self.el, np.arctan(te.max(1))) + 1.0
        c0, c1 = np.clip(c0, 0, w).astype(int), np.clip(c1, 0, w).astype(int)
        r0, r1 = np.clip(r0, 0, h).astype(int), np.clip(r1, 0, h).astype(int)
        r0, r1 = np.where(unbounded, 0, r0), np.where(unbounded, h, r1)
        c0, c1 = np.where(unbounded, 0, c0), np.where(unbounded, w, c1)
        empty = ~unbounded & (behind | (c0 >= c1) | (r0 >= r1))
        rects: list[tuple[slice, slice] | None] = [
            None if e else (slice(a, b), slice(c, d))
            for e, a, b, c, d in zip(
                empty.tolist(), r0.tolist(), r1.tolist(), c0.tolist(), c1.tolist()
            )
        ]
        self.last_bounds = np.stack([r0, r1, c0, c1], 1)  # row / column ranges of ``rects``
        return rects, zmin


@dataclass
class Primitive:
    """Base class: a surface with a material index (see :mod:`.textures`)."""

    material: int = 0

    def corners(self) -> np.ndarray | None:
        """``(8, 3)`` corners of a convex hull of the primitive, or ``None`` (always test)."""
        return None

    def intersect(self, g: RayGrid, sl: tuple[slice, slice]) -> np.ndarray:
        """Distance ``t`` along each ray of ``g[sl]`` to the nearest hit (``inf`` for none)."""
        raise NotImplementedError

    def surface(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Normals ``(n, 3)`` and texture coordinates ``(n, 2)`` (metres) at hit points ``(n, 3)``."""
        raise NotImplementedError


def _box_uv(q: np.ndarray, half: np.ndarray, inside: bool) -> tuple[np.ndarray, np.ndarray]:
    """Face normal (box frame) and face coordinates of points ``q`` ``(n, 3)`` on a box.

    The face is the axis with the largest ``|q| / half``; its coordinates are the other two
    (``(z, y)`` on x faces, ``(x, z)`` on y faces, ``(x, y)`` on z faces).
    """
    qx, qy, qz = q[:, 0], q[:, 1], q[:, 2]
    half = np.broadcast_to(half, q.shape)
    ax, ay, az = np.abs(qx) / half[:, 0], np.abs(qy) / half[:, 1], np.abs(qz) / half[:, 2]
    isx = (ax >= ay) & (ax >= az)
    isy = ~isx & (ay >= az)
    isz = ~isx & ~isy
    s = np.float32(-1.0 if inside else 1.0)
    n = np.stack([isx * np.sign(qx) * s, isy * np.sign(qy) * s, isz * np.sign(qz) * s], 1)
    u = np.where(isx, qz, qx)
    v = np.where(isy, qz, qy)
    return n.astype(q.dtype, copy=False), np.stack([u, v], 1)


@dataclass
class Box(Primitive):
    """Box with centre ``c``, half extents ``h`` and a rotation ``yaw`` about the vertical axis."""

    c: np.ndarray = field(default_factory=lambda: np.zeros(3))
    h: np.ndarray = field(default_factory=lambda: np.ones(3))
    yaw: float = 0.0

    def __post_init__(self) -> None:
        self.c = np.asarray(self.c, np.float64)
        self.h = np.asarray(self.h, np.float64)
        self.Ry = yaw_matrix(self.yaw)

    def corners(self) -> np.ndarray:
        return self.c + (_SIGNS * self.h) @ self.Ry.T

    def _slab(self, g: RayGrid, sl: tuple[slice, slice]) -> tuple[np.ndarray, np.ndarray]:
        # Python floats keep the arithmetic in float32 (NumPy 2 promotion rules)
        o = [float(v) for v in self.Ry.T @ (g.origin - self.c)]
        if self.yaw == 0.0:
            ix, iy, iz = g.ix[sl], g.iy[sl], g.iz[sl]
        else:
            cy, sy = math.cos(self.yaw), math.sin(self.yaw)
            dx, dz = g.dx[sl], g.dz[sl]
            ix = _safe_inv(cy * dx - sy * dz)
            iy = g.iy[sl]
            iz = _safe_inv(sy * dx + cy * dz)
        h = [float(v) for v in self.h]
        t1, t2 = (-h[0] - o[0]) * ix, (h[0] - o[0]) * ix
        tmin, tmax = np.minimum(t1, t2), np.maximum(t1, t2)
        t1, t2 = (-h[1] - o[1]) * iy, (h[1] - o[1]) * iy
        np.maximum(tmin, np.minimum(t1, t2), out=tmin)
        np.minimum(tmax, np.maximum(t1, t2), out=tmax)
        t1, t2 = (-h[2] - o[2]) * iz, (h[2] - o[2]) * iz
        np.maximum(tmin, np.minimum(t1, t2), out=tmin)
        np.minimum(tmax, np.maximum(t1, t2), out=tmax)
        return tmin, tmax

    def intersect(self, g: RayGrid, sl: tuple[slice, slice]) -> np.ndarray:
        tmin, tmax = self._slab(g, sl)
        # tmin where the slabs overlap in front of the origin, else inf (in place: np.where is
        # several times slower than a masked copy)
        np.copyto(tmin, np.float32(np.inf), where=~((tmax >= tmin) & (tmin > _EPS)))
        return tmin

    def surface(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        q = (p - self.c) @ self.Ry
        n, uv = _box_uv(q, self.h, inside=False)
        return n @ self.Ry.T, uv


@dataclass
class Room(Box):
    """The inside of a box (floor, walls, ceiling); rays leave it where they exit."""

    def corners(self) -> None:  # type: ignore[override]
        return None

    def intersect(self, g: RayGrid, sl: tuple[slice, slice]) -> np.ndarray:
        tmin, tmax = self._slab(g, sl)
        np.copyto(tmax, np.float32(np.inf), where=~((tmax >= tmin) & (tmax > _EPS)))
        return tmax

    def surface(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        q = (p - self.c) @ self.Ry
        n, uv = _box_uv(q, self.h, inside=True)
        return n @ self.Ry.T, uv


@dataclass
class Cylinder(Primitive):
    """Vertical cylinder: axis through ``(x, z)``, radius ``r``, from ``y0`` (top) to ``y1``."""

    x: float = 0.0
    z: float = 0.0
    r: float = 0.1
    y0: float = -1.0
    y1: float = 0.0

    def corners(self) -> np.ndarray:
        return np.array(
            [
                [self.x + i * self.r, y, self.z + k * self.r]
                for i in (-1, 1)
                for y in (self.y0, self.y1)
                for k in (-1, 1)
            ]
        )

    def intersect(self, g: RayGrid, sl: tuple[slice, slice]) -> np.ndarray:
        ox, oy, oz = float(g.origin[0] - self.x), float(g.origin[1]), float(g.origin[2] - self.z)
        r2, y0, y1 = float(self.r) ** 2, float(self.y0), float(self.y1)
        dx, dy, dz = g.dx[sl], g.dy[sl], g.dz[sl]
        a = dx * dx + dz * dz
        b = ox * dx + oz * dz  # half of the usual b
        c = ox * ox + oz * oz - r2
        disc = b * b - a * c
        with np.errstate(invalid="ignore", divide="ignore"):
            t = (-b - np.sqrt(disc)) / a
        y = oy + t * dy
        ok = (disc >= 0) & (t > _EPS) & (y >= y0) & (y <= y1)
        t = np.where(ok, t, np.float32(np.inf))
        if oy < y0 or oy > y1:  # the cap facing the origin
            yc = y0 if oy < y0 else y1
            tc = (yc - oy) * g.iy[sl]
            px, pz = ox + tc * dx, oz + tc * dz
            okc = (tc > _EPS) & (px * px + pz * pz <= r2)
            t = np.where(okc & (tc < t), tc, t)
        return t.astype(np.float32, copy=False)

    def surface(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        qx, qz = p[:, 0] - self.x, p[:, 2] - self.z
        rr = np.sqrt(qx * qx + qz * qz)
        side = rr >= self.r * (1 - 1e-3)
        cap_top = np.abs(p[:, 1] - self.y0) < np.abs(p[:, 1] - self.y1)
        n = np.zeros_like(p)
        rs = np.maximum(rr, 1e-9)
        n[:, 0] = np.where(side, qx / rs, 0.0)
        n[:, 2] = np.where(side, qz / rs, 0.0)
        n[:, 1] = np.where(side, 0.0, np.where(cap_top, -1.0, 1.0))
        ang = np.arctan2(qx, qz) * self.r
        u = np.where(side, ang, qx)
        v = np.where(side, p[:, 1], qz)
        return n, np.stack([u, v], 1)


@dataclass
class Sphere(Primitive):
    """Sphere with centre ``c`` and radius ``r``."""

    c: np.ndarray = field(default_factory=lambda: np.zeros(3))
    r: float = 0.5

    def __post_init__(self) -> None:
        self.c = np.asarray(self.c, np.float64)

    def corners(self) -> np.ndarray:
        return self.c + _SIGNS * self.r

    def intersect(self, g: RayGrid, sl: tuple[slice, slice]) -> np.ndarray:
        o = [float(v) for v in g.origin - self.c]
        dx, dy, dz = g.dx[sl], g.dy[sl], g.dz[sl]
        a = dx * dx + dy * dy + dz * dz
        b = o[0] * dx + o[1] * dy + o[2] * dz
        c = o[0] ** 2 + o[1] ** 2 + o[2] ** 2 - float(self.r) ** 2
        disc = b * b - a * c
        with np.errstate(invalid="ignore"):
            t = (-b - np.sqrt(disc)) / a
        return np.where((disc >= 0) & (t > _EPS), t, np.float32(np.inf)).astype(np.float32)

    def surface(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        q = p - self.c
        n = q / self.r
        u = np.arctan2(q[:, 0], q[:, 2]) * self.r
        v = np.arcsin(np.clip(n[:, 1], -1, 1)) * self.r
        return n, np.stack([u, v], 1)


def hull_table(prims: list[Primitive]) -> np.ndarray:
    """Corners ``(N, 8, 3)`` of every primitive's hull (NaN for unbounded ones)."""
    out = np.full((len(prims), 8, 3), np.nan)
    # unrotated boxes at once: their rotation is the identity (zeros and ones), so the corners
    # are exactly c + signs * h
    plain = [i for i, p in enumerate(prims) if type(p) is Box and p.yaw == 0.0]
    if plain:
        c = np.array([prims[i].c for i in plain])  # type: ignore[attr-defined]
        h = np.array([prims[i].h for i in plain])  # type: ignore[attr-defined]
        out[plain] = c[:, None, :] + _SIGNS[None] * h[:, None, :]
    done = set(plain)
    for i, p in enumerate(prims):
        if i not in done:
            c = p.corners()
            if c is not None:
                out[i] = c
    return out


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


class PrimTable:
    """Primitive parameters as 1-D arrays, for shading many hit points at once.

    Attributes:
        kind: ``(N,)`` 0 box, 1 room (inside of a box), 2 vertical cylinder, 3 sphere.
        cx, cy, cz: centres (cylinders: axis ``(x, z)``); hx, hy, hz: box half extents;
        cos, sin: of the box yaw; r, y0, y1: radius and cylinder extent (top, bottom);
        material: material index; hulls: ``(N, 8, 3)`` (:func:`hull_table`).
    """

    def __init__(self, prims: list[Primitive]) -> None:
        # one row per primitive: kind, cx, cy, cz, hx, hy, hz, cos, sin, r, y0, y1 (Python
        # floats, rounded to float32 once at the end)
        rows = []
        for p in prims:
            if isinstance(p, Box):
                c, h = p.c.tolist(), p.h.tolist()
                rows.append(
                    (1 if isinstance(p, Room) else 0, *c, *h, math.cos(p.yaw), math.sin(p.yaw))
                    + (1.0, 0.0, 0.0)
                )
            elif isinstance(p, Cylinder):
                rows.append((2, p.x, 0.0, p.z, 1.0, 1.0, 1.0, 1.0, 0.0, p.r, p.y0, p.y1))
            elif isinstance(p, Sphere):
                rows.append((3, *p.c.tolist(), 1.0, 1.0, 1.0, 1.0, 0.0, p.r, 0.0, 0.0))
            else:
                raise TypeError(f"unknown primitive {type(p).__name__}")
        cols = list(zip(*rows)) if rows else [()] * 12
        self.kind = np.array(cols[0], np.int64)
        self.cx, self.cy, self.cz, self.hx, self.hy, self.hz = (
            np.array(c, np.float32) for c in cols[1:7]
        )
        self.cos, self.sin, self.r, self.y0, self.y1 = (np.array(c, np.float32) for c in cols[7:])
        # float64 box centres, half extents, yaw cosines / sines ((N, 3), (N, 3), (N,), (N,))
        self.box64 = (
            np.array(cols[1:4], np.float64).reshape(3, -1).T,
            np.array(cols[4:7], np.float64).reshape(3, -1).T,
            np.array(cols[7], np.float64),
            np.array(cols[8], np.float64),
        )
        self.material = np.array([p.material for p in prims], np.int64)
        self.hulls = hull_table(prims)

    def surface(self, pid: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Normals ``(n, 3)`` and texture coordinates ``(n, 2)`` of hit points ``p`` ``(n, 3)``.

        ``pid`` is the primitive of each point, ``(n,)``, or one ``int`` for all of them. Same
        result as each primitive's ``surface``, computed per primitive kind.
        """
        cols = self.surface_cols(pid, p[:, 0], p[:, 1], p[:, 2])
        n = np.stack(cols[:3], 1).astype(p.dtype, copy=False)
        return n, np.stack(cols[3:], 1).astype(p.dtype, copy=False)

    def surface_cols(
        self, pid, px: np.ndarray, py: np.ndarray, pz: np.ndarray
    ) -> tuple[np.ndarray, ...]:
        """:meth:`surface` on coordinate columns: ``(nx, ny, nz, u, v)``, each ``(n,)``."""
        if np.ndim(pid) == 0:
            return self._surface(int(self.kind[pid]), int(pid), px, py, pz)
        out = tuple(np.empty_like(px) for _ in range(5))
        kinds = self.kind[pid]
        for k in np.unique(kinds):
            sel = np.flatnonzero(kinds == k)
            res = self._surface(int(k), pid[sel], px[sel], py[sel], pz[sel])
            for o, r in zip(out, res):
                o[sel] = r
        return out

    def _surface(self, k: int, ids, px, py, pz) -> tuple[np.ndarray, ...]:
        qx, qy, qz = px - self.cx[ids], py - self.cy[ids], pz - self.cz[ids]
        if k <= 1:  # boxes: rotate into the box frame; the face is the largest |q| / h
            c, s = self.cos[ids], self.sin[ids]
            turned = np.ndim(ids) > 0 or s != 0
            lx, lz = (c * qx - s * qz, s * qx + c * qz) if turned else (qx, qz)
            ax, ay = np.abs(lx) / self.hx[ids], np.abs(qy) / self.hy[ids]
            az = np.abs(lz) / self.hz[ids]
            isx = (ax >= ay) & (ax >= az)
            isy = ~isx & (ay >= az)
            isz = ~(isx | isy)
            nlx, nly, nlz = isx * np.sign(lx), isy * np.sign(qy), isz * np.sign(lz)
            if k == 1:  # inside of a room: normals point inwards (x * -1 is exact, x * 1 skipped)
                sg = np.float32(-1.0)
                nlx, nly, nlz = nlx * sg, nly * sg, nlz * sg
            if turned:
                nlx, nlz = c * nlx + s * nlz, c * nlz - s * nlx
            # face coordinates; lx and qy (new arrays) are not needed any more: filled in place
            np.copyto(lx, lz, where=isx)
            np.copyto(qy, lz, where=isy)
            res = (nlx, nly, nlz, lx, qy)
        elif k == 2:  # vertical cylinders: side or cap
            r = self.r[ids]
            rr = np.sqrt(qx * qx + qz * qz)
            side = rr >= r * np.float32(1 - 1e-3)
            top = np.abs(py - self.y0[ids]) < np.abs(py - self.y1[ids])
            rs = np.maximum(rr, np.float32(1e-9))
            cap_n = np.where(top, np.float32(-1.0), np.float32(1.0))
            u = np.where(side, np.arctan2(qx, qz) * r, qx)
            res = (
                side * qx / rs,
                np.where(side, 0, cap_n),
                side * qz / rs,
                u,
                np.where(side, py, qz),
            )
        else:  # spheres
            r = self.r[ids]
            u = np.arctan2(qx, qz) * r
            res = (qx / r, qy / r, qz / r, u, np.arcsin(np.clip(qy / r, -1, 1)) * r)
        return tuple(np.asarray(a, px.dtype) for a in res)
