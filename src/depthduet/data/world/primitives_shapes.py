"""The analytic primitives: boxes, a room interior, vertical cylinders, spheres; each intersects
a :class:`~depthduet.data.world.primitives_rays.RayGrid` and shades its hit points.

Frames and conventions: :mod:`depthduet.data.world.primitives`, which re-exports everything here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from depthduet.data.world.primitives_rays import _EPS, RayGrid, _safe_inv

__all__ = ["Box", "Cylinder", "Primitive", "Room", "Sphere", "hull_table", "yaw_matrix"]

# the 8 corners of a box as signs of its half extents, (8, 3)
_SIGNS = np.array([[i, j, k] for i in (-1, 1) for j in (-1, 1) for k in (-1, 1)], np.float64)


def yaw_matrix(yaw: float) -> np.ndarray:
    """Rotation about the world ``y`` axis by ``yaw`` radians, ``(3, 3)`` float64."""
    c, s = math.cos(yaw), math.sin(yaw)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


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
    #: the normals point inwards (a room seen from inside) rather than outwards
    seen_from_inside: ClassVar[bool] = False

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
        n, uv = _box_uv(q, self.h, inside=self.seen_from_inside)
        return n @ self.Ry.T, uv


@dataclass
class Room(Box):
    """The inside of a box (floor, walls, ceiling); rays leave it where they exit."""

    seen_from_inside: ClassVar[bool] = True

    def corners(self) -> None:  # type: ignore[override]
        return None

    def intersect(self, g: RayGrid, sl: tuple[slice, slice]) -> np.ndarray:
        tmin, tmax = self._slab(g, sl)
        np.copyto(tmax, np.float32(np.inf), where=~((tmax >= tmin) & (tmax > _EPS)))
        return tmax


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
