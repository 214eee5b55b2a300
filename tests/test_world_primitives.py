"""Ray casting of the world's primitives: hand-computed hits, normals, culling vs brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest

from depthduet.data.world import WorldConfig
from depthduet.data.world.primitives import (
    Box,
    Cylinder,
    PrimTable,
    RayGrid,
    Room,
    Sphere,
    cast,
)
from depthduet.data.world.render import build_scene, intrinsics
from depthduet.data.world.textures import Material, MaterialTable, _damp, _square, albedo


def rays(origin, dirs) -> RayGrid:
    """Unstructured rays ``(n, 3)`` from one origin (identity orientation)."""
    d = np.asarray(dirs, np.float32).reshape(1, -1, 3)
    return RayGrid(np.asarray(origin, float), np.eye(3), d)


FULL = (slice(None), slice(None))


def test_box_hit_distance_and_normal():
    b = Box(c=np.array([0.0, 0.0, 5.0]), h=np.array([1.0, 1.0, 1.0]))
    g = rays([0, 0, 0], [[0, 0, 1], [0, 0, 2], [0, 0, -1], [0.2, 0, 1], [0.3, 0, 1]])
    t = b.intersect(g, FULL)[0]
    # along +z: front face z = 4 -> t = 4; direction (0,0,2) -> t = 2; behind -> miss
    assert t[0] == pytest.approx(4.0)
    assert t[1] == pytest.approx(2.0)
    assert np.isinf(t[2])
    assert t[3] == pytest.approx(4.0)  # x = 0.8 at z = 4: front face
    assert np.isinf(t[4])  # x = 1.2 at z = 4 and larger behind: passes beside the box
    n, uv = b.surface(np.array([[0.2, -0.3, 4.0]]))
    np.testing.assert_allclose(n, [[0, 0, -1]])
    np.testing.assert_allclose(uv, [[0.2, -0.3]])


def test_box_side_entry():
    b = Box(c=np.array([0.0, 0.0, 5.0]), h=np.array([1.0, 1.0, 1.0]))
    # from (3, 0, 5) towards -x: hits x = 1 at t = 2, normal +x, face coords (z - 5, y)
    g = rays([3, 0, 5], [[-1, 0, 0]])
    assert b.intersect(g, FULL)[0, 0] == pytest.approx(2.0)
    n, uv = b.surface(np.array([[1.0, 0.4, 5.5]]))
    np.testing.assert_allclose(n, [[1, 0, 0]])
    np.testing.assert_allclose(uv, [[0.5, 0.4]])


def test_yawed_box_corner_distance():
    # a unit cube turned 45 deg presents an edge at distance sqrt(2) from its centre
    b = Box(c=np.array([0.0, 0.0, 5.0]), h=np.array([1.0, 1.0, 1.0]), yaw=math.pi / 4)
    g = rays([0, 0, 0], [[0, 0, 1]])
    assert b.intersect(g, FULL)[0, 0] == pytest.approx(5 - math.sqrt(2), abs=1e-5)


def test_room_from_inside():
    r = Room(c=np.array([0.0, 0.0, 0.0]), h=np.array([2.0, 1.5, 3.0]))
    g = rays([0, 0, 0], [[0, 0, 1], [1, 0, 0], [0, -1, 0], [0, 0, -2]])
    np.testing.assert_allclose(r.intersect(g, FULL)[0], [3.0, 2.0, 1.5, 1.5], rtol=1e-6)
    n, _ = r.surface(np.array([[0.0, 0.0, 3.0], [0.0, -1.5, 0.0]]))
    np.testing.assert_allclose(n, [[0, 0, -1], [0, 1, 0]])  # normals point into the room


def test_sphere():
    s = Sphere(c=np.array([0.0, 0.0, 5.0]), r=1.0)
    g = rays([0, 0, 0], [[0, 0, 1], [0, 0, 3], [0.5, 0, 1], [0, 1, 0]])
    t = s.intersect(g, FULL)[0]
    assert t[0] == pytest.approx(4.0)
    assert t[1] == pytest.approx(4.0 / 3.0)
    assert np.isinf(t[2])  # passes x = 2.5 at z = 5
    assert np.isinf(t[3])
    n, _ = s.surface(np.array([[0.0, 0.0, 4.0], [1.0, 0.0, 5.0]]))
    np.testing.assert_allclose(n, [[0, 0, -1], [1, 0, 0]], atol=1e-12)


def test_cylinder_side_and_cap():
    c = Cylinder(x=0.0, z=5.0, r=0.5, y0=-1.0, y1=1.0)
    g = rays([0, 0, 0], [[0, 0, 1], [0, -0.3, 1], [0, 0.21, 1]])
    t = c.intersect(g, FULL)[0]
    assert t[0] == pytest.approx(4.5)
    # at t = 4.5 the ray (0, -0.3, 1) is at y = -1.35 < y0: it misses the side and the top cap
    assert np.isinf(t[1])
    assert t[2] == pytest.approx(4.5)  # y = 0.945 < 1: still the side
    top = c.intersect(rays([0, -5, 5], [[0, 1, 0]]), FULL)[0, 0]
    assert top == pytest.approx(4.0)  # the top cap y = -1 from 5 m above the origin plane
    n, _ = c.surface(np.array([[0.0, -1.0, 5.1], [0.5, 0.0, 5.0]]))
    np.testing.assert_allclose(n, [[0, -1, 0], [1, 0, 0]], atol=1e-9)


def test_nearest_hit_wins_and_ids():
    prims = [
        Box(c=np.array([0.0, 0.0, 10.0]), h=np.array([1.0, 1.0, 1.0]), material=0),
        Sphere(c=np.array([0.0, 0.0, 5.0]), r=0.5, material=0),
    ]
    g = rays([0, 0, 0], [[0, 0, 1], [0.08, 0, 1]])
    t, ids = cast(prims, g)
    assert t[0, 0] == pytest.approx(4.5) and ids[0, 0] == 1
    # (0.08, 0, 1) passes the sphere at x = 0.4 < 0.5 too, hits it slightly later than 4.5
    assert ids[0, 1] == 1 and t[0, 1] > 4.5


@pytest.mark.parametrize("kind", ["indoor", "driving"])
def test_culled_cast_equals_brute_force(kind):
    """Screen-space culling and the occlusion skip never change the nearest hit."""
    cfg = WorldConfig(height=40, width=56).resolved(kind)
    scene = build_scene(kind, 11, cfg)
    K = intrinsics(cfg)
    grids = [RayGrid.pinhole(K, scene.poses[k], 40, 56) for k in range(len(scene.poses))]
    el = np.radians(np.linspace(-24.8, 2.0, 16))
    az = np.radians(np.arange(-40, 41, 1.5))
    grids.append(
        RayGrid.spherical(scene.poses[1][:3, 3] + [0, -0.08, 0], scene.poses[1][:3, :3], el, az)
    )
    for g in grids:
        t, ids = cast(scene.prims, g)
        brute = np.full(g.shape, np.inf, np.float32)
        for p in scene.prims:
            brute = np.minimum(brute, p.intersect(g, FULL))
        np.testing.assert_array_equal(t, brute)
        assert ((ids >= 0) == np.isfinite(t)).all()
        for i in np.unique(ids[ids >= 0]):  # each id names a primitive hit at that distance
            m = ids == i
            np.testing.assert_array_equal(scene.prims[i].intersect(g, FULL)[m], t[m])


def test_prim_table_matches_per_primitive_surface():
    rng = np.random.default_rng(0)
    prims = [
        Box(c=np.array([1.0, -0.5, 4.0]), h=np.array([0.5, 0.5, 0.3]), yaw=0.4),
        Room(c=np.array([0.0, -1.0, 0.0]), h=np.array([3.0, 1.0, 4.0])),
        Cylinder(x=-1.0, z=3.0, r=0.2, y0=-1.0, y1=0.0),
        Sphere(c=np.array([0.5, -1.0, 2.0]), r=0.3),
    ]
    table = PrimTable(prims)
    origin = np.array([0.1, -0.9, 0.2])
    d = rng.normal(size=(500, 3)).astype(np.float32)
    g = rays(origin, d)
    t, ids = cast(prims, g)
    ok = np.isfinite(t[0])
    p = (origin[None] + t[0][ok, None] * d[ok]).astype(np.float32)
    pid = ids[0][ok]
    n, uv = table.surface(pid, p)
    for i, prim in enumerate(prims):
        sel = pid == i
        if not sel.any():
            continue
        n_ref, uv_ref = prim.surface(p[sel].astype(np.float64))
        np.testing.assert_allclose(n[sel], n_ref, atol=2e-3)
        np.testing.assert_allclose(uv[sel], uv_ref, atol=2e-3)
    # unit normals
    np.testing.assert_allclose(np.linalg.norm(n, axis=1), 1.0, atol=1e-3)


def test_square_wave_mean_and_fade():
    x = np.linspace(0, 10, 100001, dtype=np.float32)
    s = _square(x, 1.0, np.zeros_like(x), duty=0.3)
    assert s.min() >= 0 and s.max() <= 1
    assert s.mean() == pytest.approx(0.3, abs=0.01)
    # footprint far larger than the period: the wave fades to its mean
    s = _square(x, 0.1, np.full_like(x, 5.0), duty=0.3)
    np.testing.assert_allclose(s, 0.3, atol=1e-6)


def test_prefilter_gain():
    f = np.array([0.0, 0.01, 0.1], np.float32)
    g = _damp(np.float32(10.0), f)
    assert g[0] == 1.0 and 1 > g[1] > g[2] > 0
    # Gaussian of sigma 0.7 footprints: gain exp(-2 pi^2 k^2 (0.7 f)^2)
    assert g[2] == pytest.approx(math.exp(-2 * math.pi**2 * 100 * (0.07) ** 2), rel=1e-4)


def test_albedo_plain_and_range():
    m = Material("plain", np.array([0.5, 0.4, 0.3]), grain=0.0)
    stripes = Material.random(np.random.default_rng(1), "stripes", [1, 1, 1], [0, 0, 0], period=0.5)
    table = MaterialTable([m, stripes])
    uv = np.random.default_rng(2).uniform(-3, 3, (200, 2)).astype(np.float32)
    foot = np.full(200, 0.01, np.float32)
    a = albedo(table, np.zeros(200, np.int64), uv, foot)
    np.testing.assert_allclose(a, np.tile([0.5, 0.4, 0.3], (200, 1)), rtol=1e-6)
    b = albedo(table, np.ones(200, np.int64), uv, foot)
    assert b.min() >= -0.06 and b.max() <= 1.06  # grain modulates by at most 5 %
    # the scalar-material path gives the same colours as the per-point path
    np.testing.assert_allclose(albedo(table, 1, uv, foot), b, rtol=1e-6)


def test_bad_pattern_rejected():
    with pytest.raises(ValueError, match="pattern"):
        Material("marble")
