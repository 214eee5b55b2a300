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

__all__ = ["Box", "Cylinder", "Primitive", "RayGrid", "Room", "Sphere", "cast", "yaw_matrix"]

_EPS = 1e-4  # hits closer than this (metres along the ray) are ignored
_FULL = (slice(None), slice(None))


def yaw_matrix(yaw: float) -> np.ndarray:
    """Rotation about the world ``y`` axis by ``yaw`` radians, ``(3, 3)`` float64."""
    c, s = math.cos(yaw), math.sin(yaw)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _safe_inv(d: np.ndarray) -> np.ndarray:
    d = np.where(np.abs(d) < 1e-12, np.float32(1e-12), d)
    return (1.0 / d).astype(np.float32)


class RayGrid:
    """Rays from one origin arranged on a 2-D lattice.

    Args:
        origin: ``(3,)`` world position of all rays.
        R: ``(3, 3)`` rotation world <- grid frame (the grid frame has OpenCV axes).
        dirs: ``(R, C, 3)`` directions in the grid frame (need not be unit length).
        K: pinhole intrinsics if the lattice is an image (rows v, columns u), else ``None``.
        az, el: for a LiDAR lattice, the sorted azimuths (columns) and elevations (rows), radians;
            direction ``(cos el sin az, -sin el, cos el cos az)``.
    """

    def __init__(
        self,
        origin: np.ndarray,
        R: np.ndarray,
        dirs: np.ndarray,
        K: np.ndarray | None = None,
        az: np.ndarray | None = None,
        el: np.ndarray | None = None,
    ) -> None:
        self.origin = np.asarray(origin, dtype=np.float64)
        self.R = np.asarray(R, dtype=np.float64)
        self.K = K
        self.az = az
        self.el = el
        self.shape = dirs.shape[:2]
        w = (dirs.reshape(-1, 3) @ self.R.T.astype(np.float32)).astype(np.float32)
        self.dx, self.dy, self.dz = (w[:, i].reshape(self.shape) for i in range(3))
        self.ix, self.iy, self.iz = _safe_inv(self.dx), _safe_inv(self.dy), _safe_inv(self.dz)

    @classmethod
    def pinhole(cls, K: np.ndarray, T_world_cam: np.ndarray, height: int, width: int) -> RayGrid:
        """Image rays ``K^-1 [u, v, 1]`` (z-component 1, so ``t`` is the z-depth)."""
        u = np.arange(width, dtype=np.float64)
        v = np.arange(height, dtype=np.float64)
        x = (u - K[0, 2]) / K[0, 0]
        y = (v - K[1, 2]) / K[1, 1]
        dirs = np.empty((height, width, 3), np.float32)
        dirs[..., 0] = x[None, :]
        dirs[..., 1] = y[:, None]
        dirs[..., 2] = 1.0
        return cls(T_world_cam[:3, 3], T_world_cam[:3, :3], dirs, K=np.asarray(K, np.float64))

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
        q = (corners - self.origin) @ self.R  # grid-frame coordinates (rows of R^T q)
        z = q[:, 2]
        if np.all(z <= 1e-6):
            return None  # every ray has a positive z component
        if np.any(z <= 1e-3):
            return _FULL
        px, py = q[:, 0] / z, q[:, 1] / z
        h, w = self.shape
        if self.K is not None:
            K = self.K
            u = K[0, 0] * px + K[0, 2]
            v = K[1, 1] * py + K[1, 2]
            c0, c1 = max(0, math.floor(u.min())), min(w, math.ceil(u.max()) + 1)
            r0, r1 = max(0, math.floor(v.min())), min(h, math.ceil(v.max()) + 1)
        else:
            assert self.az is not None and self.el is not None
            a0, a1 = math.atan(px.min()), math.atan(px.max())
            c0 = max(0, int(np.searchsorted(self.az, a0)) - 1)
            c1 = min(w, int(np.searchsorted(self.az, a1)) + 1)
            # tan(el) = -(y/z) cos(az); bound it over the azimuth interval.
            cands = [math.cos(a0), math.cos(a1)] + ([1.0] if a0 <= 0.0 <= a1 else [])
            te = [-y * c for y in (py.min(), py.max()) for c in cands]
            e0, e1 = math.atan(min(te)), math.atan(max(te))
            r0 = max(0, int(np.searchsorted(self.el, e0)) - 1)
            r1 = min(h, int(np.searchsorted(self.el, e1)) + 1)
        if c0 >= c1 or r0 >= r1:
            return None
        return (slice(r0, r1), slice(c0, c1))


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
    rel = np.abs(q) / half
    axis = np.argmax(rel, axis=1)
    n = np.zeros_like(q)
    rows = np.arange(len(q))
    sign = np.sign(q[rows, axis])
    n[rows, axis] = -sign if inside else sign
    u = np.where(axis == 0, q[:, 2], q[:, 0])
    v = np.where(axis == 1, q[:, 2], q[:, 1])
    return n, np.stack([u, v], 1)


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
        s = np.array([[i, j, k] for i in (-1, 1) for j in (-1, 1) for k in (-1, 1)], np.float64)
        return self.c + (s * self.h) @ self.Ry.T

    def _slab(self, g: RayGrid, sl: tuple[slice, slice]) -> tuple[np.ndarray, np.ndarray]:
        o = self.Ry.T @ (g.origin - self.c)
        if self.yaw == 0.0:
            ix, iy, iz = g.ix[sl], g.iy[sl], g.iz[sl]
        else:
            cy, sy = math.cos(self.yaw), math.sin(self.yaw)
            dx, dz = g.dx[sl], g.dz[sl]
            ix = _safe_inv(cy * dx - sy * dz)
            iy = g.iy[sl]
            iz = _safe_inv(sy * dx + cy * dz)
        h = self.h
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
        return np.where((tmax >= tmin) & (tmin > _EPS), tmin, np.float32(np.inf))

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
        return np.where((tmax >= tmin) & (tmax > _EPS), tmax, np.float32(np.inf))

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
        ox, oy, oz = g.origin[0] - self.x, g.origin[1], g.origin[2] - self.z
        dx, dy, dz = g.dx[sl], g.dy[sl], g.dz[sl]
        a = dx * dx + dz * dz
        b = ox * dx + oz * dz  # half of the usual b
        c = ox * ox + oz * oz - self.r * self.r
        disc = b * b - a * c
        with np.errstate(invalid="ignore", divide="ignore"):
            t = (-b - np.sqrt(disc)) / a
        y = oy + t * dy
        ok = (disc >= 0) & (t > _EPS) & (y >= self.y0) & (y <= self.y1)
        t = np.where(ok, t, np.float32(np.inf))
        if oy < self.y0 or oy > self.y1:  # the cap facing the origin
            yc = self.y0 if oy < self.y0 else self.y1
            tc = (yc - oy) * g.iy[sl]
            px, pz = ox + tc * dx, oz + tc * dz
            okc = (tc > _EPS) & (px * px + pz * pz <= self.r * self.r)
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
        s = np.array([[i, j, k] for i in (-1, 1) for j in (-1, 1) for k in (-1, 1)], np.float64)
        return self.c + s * self.r

    def intersect(self, g: RayGrid, sl: tuple[slice, slice]) -> np.ndarray:
        o = g.origin - self.c
        dx, dy, dz = g.dx[sl], g.dy[sl], g.dz[sl]
        a = dx * dx + dy * dy + dz * dz
        b = o[0] * dx + o[1] * dy + o[2] * dz
        c = float(o @ o) - self.r * self.r
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


def cast(
    prims: list[Primitive], g: RayGrid
) -> tuple[np.ndarray, np.ndarray, list[tuple[slice, slice] | None]]:
    """Nearest hit of every ray of ``g``.

    Returns:
        ``(t, ids, rects)``: distances ``(R, C)`` float32 (``inf`` = no hit; for pinhole grids
        ``t`` is the z-depth), primitive indices ``(R, C)`` int32 (-1 = none), and the ray
        rectangle tested for each primitive (``None`` if culled).
    """
    t = np.full(g.shape, np.inf, np.float32)
    ids = np.full(g.shape, -1, np.int32)
    rects: list[tuple[slice, slice] | None] = []
    for i, p in enumerate(prims):
        sl = g.bounds(p.corners())
        rects.append(sl)
        if sl is None:
            continue
        tt = p.intersect(g, sl)
        sub = t[sl]
        closer = tt < sub
        sub[closer] = tt[closer]
        ids[sl][closer] = i
    return t, ids, rects
