"""Primitive parameters as arrays (:class:`PrimTable`), for shading many hit points at once.

Re-exported by :mod:`depthduet.data.world.primitives`.
"""

from __future__ import annotations

import math

import numpy as np

from depthduet.data.world.primitives_shapes import (
    Box,
    Cylinder,
    Primitive,
    Room,
    Sphere,
    hull_table,
)

__all__ = ["PrimTable"]


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
