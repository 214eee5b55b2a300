"""The world renderer's fast paths agree with the direct ones, and renders stay what they were.

The performance work on :mod:`depthduet.data.world` (shared stereo rays, channel-plane colours,
allocator tuning) must not change a single rendered value. These tests compare each fast path
with the straightforward computation, and pin a fingerprint of two tiny renders (pixel counts
exactly, sums to a relative 1e-5 so that ulp-level differences of other NumPy / BLAS builds do
not fail them).
"""

from __future__ import annotations

import numpy as np
import pytest

from depthduet.data.world import WorldConfig, intrinsics, render_sequence, render_view
from depthduet.data.world import render as render_mod
from depthduet.data.world.primitives import RayGrid, cast
from depthduet.data.world.render import build_scene
from depthduet.data.world.textures import (
    Material,
    MaterialTable,
    albedo,
    albedo_planar,
    shade,
    shade_planar,
    sky_colour,
)


@pytest.mark.parametrize("kind", ["indoor", "driving"])
def test_stereo_view_with_shared_rays_equals_fresh_render(kind):
    """The right view reuses the target's ray directions and all views of a sequence are shaded
    together: the same arrays as fresh single-view renders."""
    cfg = WorldConfig(height=24, width=40)
    r = render_sequence(kind, 3, cfg, stereo_frames=[0, 1], lidar_frames=[])
    c = cfg.resolved(kind)
    scene, K = build_scene(kind, 3, c), intrinsics(c)
    shift = np.eye(4)
    shift[0, 3] = c.baseline
    for j, k in enumerate([0, 1]):
        v = render_view(scene, K, scene.poses[k] @ shift, 24, 40)
        np.testing.assert_array_equal(r["right"][j], v["image"])
        np.testing.assert_array_equal(r["right_depths"][j], v["depth"])
    # the frames, shaded together with the right views, equal views rendered one by one
    for k in range(len(scene.poses)):
        v = render_view(scene, K, scene.poses[k], 24, 40)
        np.testing.assert_array_equal(r["images"][k], v["image"])
        np.testing.assert_array_equal(r["depths"][k], v["depth"])
        np.testing.assert_array_equal(r["cos"][k], v["cos"])


def test_moved_grid_shares_directions_and_casts_like_a_new_grid():
    c = WorldConfig(height=16, width=24).resolved("indoor")
    scene, K = build_scene("indoor", 1, c), intrinsics(c)
    g = RayGrid.pinhole(K, scene.poses[1], 16, 24)
    T = scene.poses[1].copy()
    T[:3, 3] += np.array([0.1, -0.05, 0.02])
    moved, fresh = g.moved(T[:3, 3]), RayGrid.pinhole(K, T, 16, 24)
    assert moved.dx is g.dx and moved.ix is g.ix  # shared, not copied
    assert not np.array_equal(moved.origin, g.origin)
    for a in ("dx", "dy", "dz", "ix", "iy", "iz"):
        np.testing.assert_array_equal(getattr(moved, a), getattr(fresh, a))
    for x, y in zip(cast(scene.prims, moved), cast(scene.prims, fresh)):
        np.testing.assert_array_equal(x, y)


def _table() -> MaterialTable:
    rng = np.random.default_rng(0)
    mats = [
        Material.random(rng, "plain", [0.5, 0.4, 0.3], grain=0.0),
        Material.random(rng, "plain", [0.2, 0.6, 0.3], grain=0.05),
        Material.random(rng, "noise", [0.7, 0.2, 0.1], period=0.5, grain=0.03),
        Material.random(rng, "bricks", [0.6, 0.3, 0.2], [0.8, 0.8, 0.8], period=0.4),
        Material.random(rng, "leaves", [0.1, 0.5, 0.1], period=0.3, angle=0.4),
        Material.random(rng, "road", [0.2] * 3, [0.9] * 3, lines=((0.0, True), (2.0, False))),
    ]
    return MaterialTable(mats)


def test_planar_albedo_equals_row_albedo_and_per_material_calls():
    T = _table()
    rng = np.random.default_rng(1)
    n = 600
    uv = rng.uniform(-3, 3, (n, 2)).astype(np.float32)
    foot = rng.uniform(0, 0.05, n).astype(np.float32)
    mid = rng.integers(0, len(T.mats), n)
    rows = albedo(T, mid, uv, foot)
    assert rows.shape == (n, 3) and rows.dtype == np.float32 and rows.flags.c_contiguous
    planes = np.empty((3, n), np.float32)
    albedo_planar(T, mid, uv[:, 0].copy(), uv[:, 1].copy(), foot, planes)
    np.testing.assert_array_equal(planes.T, rows)
    # the per-point (mixed material) path agrees with one call per material
    for m in range(len(T.mats)):
        sel = mid == m
        one = albedo(T, m, uv[sel], foot[sel])
        np.testing.assert_allclose(rows[sel], one, rtol=2e-6, atol=2e-7)
    # a plain material without grain is its colour everywhere
    np.testing.assert_array_equal(albedo(T, 0, uv, foot), np.broadcast_to(T.c1[0], (n, 3)))


def test_shade_by_hand():
    rng = np.random.default_rng(2)
    n = 50
    nrm = rng.normal(size=(n, 3)).astype(np.float32)
    nrm /= np.linalg.norm(nrm, axis=1, keepdims=True)
    alb = rng.uniform(0, 1, (n, 3)).astype(np.float32)
    sun = np.array([0.3, -0.8, 0.52])
    sun /= np.linalg.norm(sun)
    out = shade(alb, nrm, sun, 0.5, 0.4)
    ref = alb * (0.5 * (0.8 - 0.2 * nrm[:, 1:2]) + 0.4 * np.maximum(nrm @ sun, 0)[:, None])
    assert out.shape == (n, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)
    planes = np.ascontiguousarray(alb.T)
    ndl = nrm @ sun.astype(np.float32)
    np.testing.assert_array_equal(shade_planar(planes, nrm[:, 1].copy(), ndl, 0.5, 0.4), out)


def test_sky_colour_by_hand():
    hz, zn = np.array([0.9, 0.9, 0.9]), np.array([0.2, 0.4, 0.8])
    dirs = np.array([[0, 0, 1], [0, -1, 0], [0, -1, 1], [0, 1, 0]], np.float32)
    out = sky_colour(dirs, hz, zn)
    e = min(1.0, np.sqrt(0.5) / 0.45)
    e = e * e * (3 - 2 * e)
    np.testing.assert_allclose(out[0], hz, atol=1e-7)  # horizon
    np.testing.assert_allclose(out[1], zn, atol=1e-7)  # zenith
    np.testing.assert_allclose(out[2], hz * (1 - e) + zn * e, atol=1e-6)
    np.testing.assert_allclose(out[3], hz, atol=1e-7)  # below the horizon: clipped


def test_allocator_tuning_once_per_process_and_opt_out(monkeypatch):
    monkeypatch.setattr(render_mod, "_TUNED_PID", None)
    monkeypatch.setenv("DEPTHDUET_WORLD_MALLOC", "0")
    calls = []
    monkeypatch.setattr(render_mod.ctypes, "CDLL", lambda *a: calls.append(a))
    render_mod._tune_allocator()
    assert calls == [] and render_mod._TUNED_PID is not None  # opted out: libc untouched
    monkeypatch.setattr(render_mod, "_TUNED_PID", None)
    monkeypatch.setenv("DEPTHDUET_WORLD_MALLOC", "1")
    render_mod._tune_allocator()  # the stub CDLL returns None: no mallopt, no crash
    render_mod._tune_allocator()  # second call in the same process does nothing
    assert len(calls) <= 1


# (kind, seed, HxW): valid depth pixels, depth sum (m), image channel means, LiDAR returns,
# LiDAR depth sum (m), right-view channel means; from the renderer before any speed-up.
_FINGERPRINTS = [
    (
        ("indoor", 4, (24, 32)),
        (2304, 9113.309791207314, (0.452125, 0.334759, 0.416787)),
        (1344, 4948.58417236805, (0.451805, 0.335471, 0.41746)),
    ),
    (
        ("driving", 4, (20, 64)),
        (3770, 82925.31894016266, (0.232249, 0.237238, 0.235085)),
        (2281, 29119.909616470337, (0.233346, 0.237286, 0.235353)),
    ),
]


@pytest.mark.parametrize("case", _FINGERPRINTS, ids=lambda c: c[0][0])
def test_render_fingerprint_unchanged(case):
    (kind, seed, (h, w)), (n_valid, dsum, means), (n_lidar, lsum, rmeans) = case
    r = render_sequence(kind, seed, WorldConfig(height=h, width=w))
    d = r["depths"]
    assert int((d > 0).sum()) == n_valid
    assert float(d.astype(np.float64).sum()) == pytest.approx(dsum, rel=1e-5)
    np.testing.assert_allclose(r["images"].astype(np.float64).mean((0, 1, 2)), means, atol=2e-6)
    assert int((r["lidar"] > 0).sum()) == n_lidar
    assert float(r["lidar"].astype(np.float64).sum()) == pytest.approx(lsum, rel=1e-5)
    np.testing.assert_allclose(r["right"].astype(np.float64).mean((0, 1, 2)), rmeans, atol=2e-6)


@pytest.mark.parametrize("kind", ["indoor", "driving"])
def test_cast_with_prim_table_equals_plain_cast(kind):
    """The table's float64 box parameters give the same hits as reading them off the boxes."""
    c = WorldConfig(height=32, width=48).resolved(kind)
    scene, K = build_scene(kind, 2, c), intrinsics(c)
    table = scene.tables()[0]
    assert table.box64[0].shape == (len(scene.prims), 3)
    for T in scene.poses:
        g = RayGrid.pinhole(K, T, 32, 48)
        for x, y in zip(cast(scene.prims, g, table=table), cast(scene.prims, g)):
            np.testing.assert_array_equal(x, y)


def test_sky_colour_columns_equal_the_norm_formula_exactly():
    """The column form sums the squared length in np.linalg.norm's order: identical colours."""
    rng = np.random.default_rng(5)
    dirs = (rng.normal(size=(5000, 3)) * rng.uniform(0.2, 3, (5000, 1))).astype(np.float32)
    hz, zn = np.array([0.86, 0.9, 0.91]), np.array([0.3, 0.52, 0.83])
    d = dirs / np.linalg.norm(dirs, axis=1, keepdims=True)
    e = np.clip(-d[:, 1] / 0.45, 0.0, 1.0)[:, None]
    e = e * e * (3 - 2 * e)
    ref = hz[None] * (1 - e) + zn[None] * e
    np.testing.assert_array_equal(sky_colour(dirs, hz, zn), ref)


@pytest.mark.parametrize("n", [7, 5000, 70000])
def test_at_least_at_most_equal_numpy_maximum_minimum(n):
    """Both branches (small: np.maximum, large: np.clip) give numpy's values, NaN and inf too."""
    from depthduet.data.world.textures import at_least, at_most

    rng = np.random.default_rng(n)
    x = rng.normal(0, 1, n).astype(np.float32)
    x[:3] = [np.nan, np.inf, -np.inf]
    for b in (np.float32(0.25), np.float32(0.0), np.float32(-1.5)):
        lo, hi = at_least(x, b), at_most(x, b)
        assert lo.dtype == hi.dtype == np.float32
        np.testing.assert_array_equal(lo, np.maximum(x, b))
        np.testing.assert_array_equal(hi, np.minimum(x, b))


@pytest.mark.parametrize("kind", ["indoor", "driving"])
def test_batched_round_hits_equal_intersect(kind):
    """Small cylinders and spheres tested together give bit for bit their own intersect()."""
    from depthduet.data.world.primitives import Cylinder, Sphere, _small_round_hits

    c = WorldConfig(height=48, width=64).resolved(kind)
    scene, K = build_scene(kind, 6, c), intrinsics(c)
    checked = 0
    for T in scene.poses:
        g = RayGrid.pinhole(K, T, 48, 64)
        rects, _ = g.bounds_all(scene.tables()[0].hulls)
        b = g.last_bounds
        area = ((b[:, 1] - b[:, 0]) * (b[:, 3] - b[:, 2])).tolist()
        pre = _small_round_hits(scene.prims, rects, area, b, g)
        for i, tt in pre.items():
            assert type(scene.prims[i]) in (Cylinder, Sphere)
            ref = scene.prims[i].intersect(g, rects[i])
            assert tt.dtype == ref.dtype == np.float32
            np.testing.assert_array_equal(tt, ref)
            checked += 1
    assert checked > 0


@pytest.mark.parametrize("kind", ["indoor", "driving"])
def test_views_shaded_together_equal_views_shaded_alone(kind):
    c = WorldConfig(height=20, width=28).resolved(kind)
    scene, K = build_scene(kind, 8, c), intrinsics(c)
    grids = [RayGrid.pinhole(K, T, 20, 28) for T in scene.poses]
    grids.append(grids[1].moved(scene.poses[1][:3, 3] + 0.1 * scene.poses[1][:3, 0]))
    together = render_mod._render_grids(scene, grids, K)
    for g, v in zip(grids, together):
        alone = render_mod._render_grids(scene, [g], K)[0]
        for key in ("image", "depth", "ids", "cos"):
            np.testing.assert_array_equal(v[key], alone[key])


@pytest.mark.parametrize("kind", ["indoor", "driving"])
def test_hull_table_equals_per_primitive_corners(kind):
    """Unrotated boxes take a vectorised path: the same corners, bit for bit, as corners()."""
    from depthduet.data.world.primitives import hull_table

    for seed in range(4):
        scene = build_scene(kind, seed, WorldConfig().resolved(kind))
        ref = np.array(
            [np.full((8, 3), np.nan) if p.corners() is None else p.corners() for p in scene.prims]
        )
        got = hull_table(scene.prims)
        np.testing.assert_array_equal(got, ref)
        assert np.isnan(got).any(axis=(1, 2)).sum() == sum(p.corners() is None for p in scene.prims)
