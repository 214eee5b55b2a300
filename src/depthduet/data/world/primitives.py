"""Analytic primitives and vectorised ray casting.

World frame: metres, ``y`` points down (gravity along +y), the floor / road is the plane ``y = 0``
and heights are negative ``y``. Cameras use OpenCV axes (x right, y down, z forward).

A :class:`RayGrid` holds one origin and a 2-D array of ray directions (a pinhole image or a
LiDAR's elevation x azimuth lattice). :func:`cast` finds, for every ray, the nearest hit ``t``
(``point = origin + t * direction``) and the index of the primitive hit. Each primitive first
projects its corners into the grid to get the rectangle of rays that can hit it (screen-space
culling), so small or distant objects cost little.

The code is split by subject: :mod:`.primitives_rays` (:class:`RayGrid`),
:mod:`.primitives_shapes` (the primitives, :func:`hull_table`), :mod:`.primitives_table`
(:class:`PrimTable`) and :mod:`.primitives_cast` (:func:`cast`); this module gathers them.
"""

from __future__ import annotations

# (tests compare the batched round-primitive hits with each primitive's own ``intersect``)
from depthduet.data.world.primitives_cast import _small_round_hits as _small_round_hits
from depthduet.data.world.primitives_cast import cast
from depthduet.data.world.primitives_rays import RayGrid
from depthduet.data.world.primitives_shapes import (
    Box,
    Cylinder,
    Primitive,
    Room,
    Sphere,
    hull_table,
    yaw_matrix,
)
from depthduet.data.world.primitives_table import PrimTable

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
