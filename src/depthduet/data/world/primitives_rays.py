"""Ray lattices: :class:`RayGrid` (a pinhole image or a LiDAR's elevation x azimuth grid from one
origin) and its screen-space culling of convex hulls (:meth:`RayGrid.bounds_all`).

Frames and conventions: :mod:`depthduet.data.world.primitives`, which re-exports everything here.
"""

from __future__ import annotations

import numpy as np

__all__ = ["NEAR", "RayGrid"]

_EPS = 1e-4  # hits closer than this (metres along the ray) are ignored
_FULL = (slice(None), slice(None))
#: hulls are clipped to ``z >= NEAR`` (metres, grid frame) before projection.
NEAR = 0.05
# all 28 pairs of the 8 hull corners (edges and diagonals; their crossings with z = NEAR
# contain the vertices of the clipped hull)
_PAIRS = np.array([(i, j) for i in range(8) for j in range(i + 1, 8)]).T


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
