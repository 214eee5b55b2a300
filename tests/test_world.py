"""The procedural world: geometric consistency (warping, stereo, LiDAR), determinism, dataset."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from depthduet.data.world import (
    SPLIT_SEED_BASE,
    WorldConfig,
    WorldDataset,
    intrinsics,
    render_sequence,
)
from depthduet.data.world.primitives import Box, Cylinder, RayGrid, cast
from depthduet.data.world.render import tof_capture
from depthduet.errors import UserError
from depthduet.geometry import invert_pose, reproject_coords, warp

SIZES = {"indoor": (64, 80), "driving": (48, 160)}


def _render(kind: str, seed: int, **kw) -> dict:
    h, w = SIZES[kind]
    return render_sequence(kind, seed, WorldConfig(height=h, width=w, **kw))


def _visible_in(depth_tgt, depth_src, K, T_src_tgt, rel: float = 0.02) -> torch.Tensor:
    """Target pixels whose reprojection lands in the source, on the same surface, away from
    source depth edges (the 3x3 min and max of the source depth agree with the warped depth)."""
    h, w = depth_tgt.shape[-2:]
    uv, z = reproject_coords(depth_tgt, K, T_src_tgt)
    gx = 2 * uv[:, 0] / (w - 1) - 1
    gy = 2 * uv[:, 1] / (h - 1) - 1
    grid = torch.stack([gx, gy], -1)
    big = torch.where(depth_src > 0, depth_src, torch.full_like(depth_src, 1e6))
    mx = F.max_pool2d(big, 3, 1, 1)
    mn = -F.max_pool2d(-big, 3, 1, 1)
    dmx = F.grid_sample(mx, grid, mode="nearest", align_corners=True)[:, 0]
    dmn = F.grid_sample(mn, grid, mode="nearest", align_corners=True)[:, 0]
    z = z[:, 0]
    ok = (depth_tgt[:, 0] > 0) & (gx.abs() <= 1) & (gy.abs() <= 1)
    return ok & ((dmx - z).abs() < rel * z) & ((dmn - z).abs() < rel * z)


@pytest.mark.parametrize("kind", ["indoor", "driving"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_temporal_warp_is_photometrically_consistent(kind, seed):
    """Frame k+1 warped into frame k with the rendered depth and pose matches frame k."""
    r = _render(kind, seed, stereo=False, lidar_beams=0)
    img = torch.from_numpy(r["images"]).permute(0, 3, 1, 2)
    D = torch.from_numpy(r["depths"])[:, None]
    K = torch.from_numpy(r["K"]).float()
    P = torch.from_numpy(r["poses"]).float()
    for src in (0, 2):
        T = invert_pose(P[src : src + 1]) @ P[1:2]  # target camera -> source camera
        vis = _visible_in(D[1:2], D[src : src + 1], K, T)
        assert vis.float().mean() > 0.1  # enough overlap to measure
        err = (warp(img[src : src + 1], D[1:2], K, T) - img[1:2]).abs().mean(1)[vis]
        assert err.median() < 3e-3, (kind, seed, src, err.median())
        assert err.quantile(0.95) < 0.03, (kind, seed, src, err.quantile(0.95))
    # the wrong pose (that of the other neighbour) breaks the consistency: the test can fail
    T = invert_pose(P[2:3]) @ P[1:2]
    vis = _visible_in(D[1:2], D[2:3], K, T)
    bad = (warp(img[0:1], D[1:2], K, T) - img[1:2]).abs().mean(1)[vis]
    good = (warp(img[2:3], D[1:2], K, T) - img[1:2]).abs().mean(1)[vis]
    assert bad.mean() > 3 * good.mean()


@pytest.mark.parametrize("kind", ["indoor", "driving"])
def test_right_view_is_left_shifted_by_disparity(kind):
    """right(u - f B / z, v) == left(u, v) where the point is visible in both views."""
    r = _render(kind, 3, lidar_beams=0)
    h, w = SIZES[kind]
    K, B = r["K"], r["baseline"]
    k = int(r["right_frames"][1])
    left, right = r["images"][k], r["right"][1]
    z, z_r = r["depths"][k], r["right_depths"][1]
    f = K[0, 0]
    disp = np.where(z > 0, f * B / np.maximum(z, 1e-6), 0)
    u = np.arange(w)[None, :] - disp
    v = np.broadcast_to(np.arange(h)[:, None], (h, w))
    inside = (z > 0) & (u >= 0) & (u <= w - 1)
    u0 = np.clip(np.floor(u).astype(int), 0, w - 2)
    a = np.clip(u - u0, 0, 1)[..., None]
    sampled = right[v, u0] * (1 - a) + right[v, u0 + 1] * a
    # same surface in the right view at both neighbours (visible, away from right depth edges)
    zr0, zr1 = z_r[v, u0], z_r[v, u0 + 1]
    vis = inside & (np.abs(zr0 - z) < 0.02 * z) & (np.abs(zr1 - z) < 0.02 * z)
    assert vis.mean() > 0.3
    err = np.abs(sampled - left).mean(-1)[vis]
    assert np.median(err) < 3e-3
    assert np.quantile(err, 0.95) < 0.03
    # and the depth seen by the right camera is the same z (pure x translation)
    zr = zr0 * (1 - a[..., 0]) + zr1 * a[..., 0]
    assert np.median(np.abs(zr[vis] - z[vis]) / z[vis]) < 1e-3


@pytest.mark.parametrize("kind", ["indoor", "driving"])
def test_lidar_returns_equal_depth_and_are_seen_by_the_scanner(kind):
    r = _render(kind, 4, stereo=False)
    lid, depth = r["lidar"][1], r["depths"][int(r["lidar_frames"][1])]
    ret = lid > 0
    assert ret.sum() > 100
    np.testing.assert_array_equal(lid[ret], depth[ret])  # no noise: exactly the depth
    assert (depth[ret] > 0).all()
    # every return is a surface point that the scanner (above the camera) sees directly
    cfg = r["cfg"]
    T = r["poses"][1]
    v, u = np.nonzero(ret)
    Kinv = np.linalg.inv(r["K"])
    P_cam = (Kinv @ np.stack([u, v, np.ones_like(u)]).astype(float)) * depth[ret]
    X = (T[:3, :3] @ P_cam).T + T[:3, 3]
    o = T[:3, 3] + T[:3, :3] @ np.array([0.0, -cfg.lidar_height, 0.0])
    d = X - o
    dist = np.linalg.norm(d, axis=1)
    g = RayGrid(o, np.eye(3), (d / dist[:, None]).astype(np.float32)[None])
    t, _ = cast(r["scene"].prims, g)
    seen = np.abs(t[0] - dist) < 0.01 * dist + 0.01
    assert seen.mean() > 0.98, seen.mean()


def test_lidar_noise_and_beams():
    r0 = _render("driving", 5, stereo=False, lidar_noise=0.05)
    lid, depth = r0["lidar"][1], r0["depths"][1]
    ret = lid > 0
    diff = lid[ret] - depth[ret]
    assert 0.035 < diff.std() < 0.065
    assert np.abs(diff).max() < 6 * 0.05
    r1 = _render("driving", 5, stereo=False, lidar_beams=16)
    r2 = _render("driving", 5, stereo=False, lidar_beams=64)
    assert 0 < (r1["lidar"][1] > 0).sum() < 0.5 * (r2["lidar"][1] > 0).sum()
    r3 = _render("driving", 5, stereo=False, lidar_beams=0)
    assert len(r3["lidar"]) == 0 and len(r3["lidar_frames"]) == 0


def test_lidar_has_its_own_occlusions():
    """A wall between the scanner and the floor hides the floor from the scanner only."""
    cfg = WorldConfig(height=40, width=40, hfov_deg=60, lidar_height=0.5).resolved("indoor")
    from depthduet.data.world.render import lidar_scan, render_view
    from depthduet.data.world.scenes import Scene, camera_pose
    from depthduet.data.world.textures import Material

    sc = Scene(mats=[Material("plain")])
    sc.add(Box(c=np.array([0.0, 1.0, 5.0]), h=np.array([10.0, 1.0, 10.0])))  # floor y = 0
    # a thin horizontal plate just above the camera, 0.3 m ahead: shadows the floor for the
    # scanner (0.5 m above) but the camera looks under it
    sc.add(Box(c=np.array([0.0, -1.25, 1.3]), h=np.array([3.0, 0.02, 1.0])))
    T = camera_pose(np.array([0.0, -1.2, 0.0]), 0.0, pitch=0.5)
    K = intrinsics(cfg)
    view = render_view(sc, K, T, 40, 40)
    cfg_all = WorldConfig(
        height=40, width=40, hfov_deg=60, lidar_height=0.5, lidar_fov_deg=(-80.0, 20.0)
    ).resolved("indoor")
    lid = lidar_scan(sc, K, T, view, cfg_all)
    # floor pixels whose segment to the scanner crosses the plate (y = -1.23, its underside)
    h, w = view["depth"].shape
    v, u = np.mgrid[0:h, 0:w]
    rays_c = np.linalg.inv(K) @ np.stack([u.ravel(), v.ravel(), np.ones(h * w)])
    X = (T[:3, :3] @ (rays_c * view["depth"].ravel())).T + T[:3, 3]
    s_origin = T[:3, 3] + T[:3, :3] @ np.array([0.0, -0.5, 0.0])
    frac = (-1.23 - s_origin[1]) / (X[:, 1] - s_origin[1])
    cross = s_origin + frac[:, None] * (X - s_origin)
    shadow = ((np.abs(cross[:, 0]) < 3.0) & (cross[:, 2] > 0.3) & (cross[:, 2] < 2.3)).reshape(h, w)
    floor = view["ids"] == 0
    assert (floor & shadow).sum() > 100  # the camera sees floor that the scanner cannot
    assert (lid[floor & shadow] > 0).sum() == 0
    assert (lid[floor & ~shadow] > 0).sum() > 20
    no_plate = Scene(mats=sc.mats, prims=sc.prims[:1])
    lid2 = lidar_scan(no_plate, K, T, render_view(no_plate, K, T, 40, 40), cfg_all)
    assert (lid2 > 0).sum() > 50


def test_deterministic_and_seed_dependent():
    a = _render("indoor", 7)
    b = _render("indoor", 7)
    c = _render("indoor", 8)
    for key in ("images", "depths", "poses", "lidar", "right"):
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(a["images"], c["images"])


@pytest.mark.parametrize("kind", ["indoor", "driving"])
def test_intrinsics_and_shapes(kind):
    h, w = SIZES[kind]
    r = _render(kind, 0, frames=5)
    K = r["K"]
    hfov = {"indoor": 63.3, "driving": 81.5}[kind]
    assert K[0, 0] == pytest.approx((w / 2) / math.tan(math.radians(hfov) / 2))
    assert K[1, 1] == K[0, 0] and K[0, 2] == (w - 1) / 2 and K[1, 2] == (h - 1) / 2
    assert r["images"].shape == (5, h, w, 3) and r["images"].dtype == np.float32
    assert r["depths"].shape == (5, h, w) and r["depths"].dtype == np.float32
    assert 0 <= r["images"].min() and r["images"].max() <= 1
    assert r["poses"].shape == (5, 4, 4) and r["target"] == 2
    R = r["poses"][:, :3, :3]
    np.testing.assert_allclose(
        R @ R.transpose(0, 2, 1), np.broadcast_to(np.eye(3), R.shape), atol=1e-9
    )


def test_ego_motion_ranges():
    for seed in range(4):
        d = _render("driving", seed, stereo=False, lidar_beams=0)
        steps = np.linalg.norm(np.diff(d["poses"][:, :3, 3], axis=0), axis=1)
        assert ((steps > 0.5) & (steps < 1.6)).all()  # ~1 m per frame, forward
        fwd = d["poses"][:-1, :3, 2]  # camera z axes in the world
        assert (np.einsum("ij,ij->i", fwd, np.diff(d["poses"][:, :3, 3], axis=0)) > 0).all()
        i = _render("indoor", seed, stereo=False, lidar_beams=0)
        steps = np.linalg.norm(np.diff(i["poses"][:, :3, 3], axis=0), axis=1)
        assert ((steps > 0.03) & (steps < 0.16)).all()
        Rrel = i["poses"][0, :3, :3].T @ i["poses"][1, :3, :3]
        ang = math.degrees(math.acos(np.clip((np.trace(Rrel) - 1) / 2, -1, 1)))
        assert 0.3 < ang < 4.0


def test_sky_and_closed_rooms():
    d = _render("driving", 1, stereo=False, lidar_beams=0)
    assert (d["depths"][1][0] == 0).any()  # sky in the top row
    assert (d["depths"][1][-1] > 0).all()  # road in the bottom row
    i = _render("indoor", 1, stereo=False, lidar_beams=0)
    assert (i["depths"] > 0).all()  # a room is closed: every pixel has depth


def test_realism_features():
    """Texture edges without depth edges, depth edges without colour edges, thin structures,
    large textureless areas all occur."""
    tex_only = depth_only = flat = thin = 0.0
    n = 0
    for kind in ("indoor", "driving"):
        for seed in range(3):
            r = _render(kind, seed, stereo=False, lidar_beams=0)
            img, D = r["images"][1].mean(-1), r["depths"][1]
            gi = np.abs(np.diff(img, axis=1))
            Dl, Dr = D[:, :-1], D[:, 1:]
            both = (Dl > 0) & (Dr > 0)
            rel = np.where(both, np.abs(Dl - Dr) / np.maximum(np.minimum(Dl, Dr), 1e-6), 0)
            tex_only += ((gi > 0.08) & both & (rel < 0.01)).mean()
            depth_only += ((rel > 0.15) & both & (gi < 0.02)).mean()
            pad = np.pad(img, 1, mode="edge")
            win = np.stack(
                [
                    pad[a : a + img.shape[0], b : b + img.shape[1]]
                    for a in range(3)
                    for b in range(3)
                ]
            )
            flat += (win.std(0) < 0.005).mean()
            sc = r["scene"]
            ids = np.unique(_ids(r))
            thin += any(_is_thin(sc.prims[i]) for i in ids if i >= 0)
            n += 1
    assert tex_only / n > 0.005
    assert depth_only / n > 0.0005
    assert flat / n > 0.2
    assert thin >= 3  # a thin structure is in view in at least half of the scenes


def _ids(r: dict) -> np.ndarray:
    from depthduet.data.world.render import render_view

    cfg = r["cfg"]
    return render_view(r["scene"], r["K"], r["poses"][1], cfg.height, cfg.width)["ids"]


def _is_thin(p) -> bool:
    if isinstance(p, Box):
        return bool(np.sort(p.h)[:2].max() < 0.05)  # two thin dimensions: a leg, a frame edge
    if isinstance(p, Cylinder):
        return p.r < 0.11
    return False


def test_sensor_effects():
    r = _render(
        "indoor", 2, stereo=False, lidar_beams=0, depth_noise=0.01, grazing_cos=0.3, tof_scale=4
    )
    clean, sensor = r["depths"][1], r["sensor"][1]
    holes = sensor == 0
    np.testing.assert_array_equal(holes & (clean > 0), (r["cos"][1] < 0.3) & (clean > 0))
    ok = ~holes
    rel = (sensor[ok] - clean[ok]) / (0.01 * clean[ok] ** 2)  # standard normal if std = a z^2
    assert 0.8 < rel.std() < 1.2
    h, w = SIZES["indoor"]
    assert r["tof"].shape == (3, h // 4, w // 4)


def test_tof_capture_by_hand():
    d = np.array([[1, 1, 2, 0], [1, 1, 0, 0], [4, 4, 5, 5], [0, 4, 5, 5]], np.float32)
    np.testing.assert_allclose(tof_capture(d, 2), [[1.0, 0.0], [4.0, 5.0]])


# ------------------------------------------------------------------------------- dataset
def test_dataset_sample_contract():
    cfg = WorldConfig(height=48, width=64)
    ds = WorldDataset("indoor", "val", n=3, cfg=cfg)
    assert len(ds) == 3
    s = ds[1]
    assert s["image"].shape == (3, 48, 64) and s["image"].dtype == torch.float32
    assert s["depth"].shape == (1, 48, 64) and s["valid"].dtype == torch.bool
    assert torch.equal(s["valid"], s["depth"] > 0)
    for k in ("image_prev", "image_next", "image_stereo"):
        assert s[k].shape == (3, 48, 64)
    assert s["lidar"].shape == (1, 48, 64)
    assert s["unit"] == "m" and s["name"] == "indoor-val-000001"
    r = render_sequence("indoor", SPLIT_SEED_BASE["val"] + 1, cfg)
    np.testing.assert_allclose(s["depth"][0].numpy(), r["depths"][1])
    np.testing.assert_allclose(s["K"].numpy(), r["K"], rtol=1e-6)
    P = torch.from_numpy(r["poses"])
    np.testing.assert_allclose(s["T_prev_tgt"], (invert_pose(P[0]) @ P[1]).float(), atol=1e-5)
    np.testing.assert_allclose(s["T_next_tgt"], (invert_pose(P[2]) @ P[1]).float(), atol=1e-5)
    T = torch.eye(4)
    T[0, 3] = -0.10
    np.testing.assert_allclose(s["T_stereo_tgt"], T)
    np.testing.assert_allclose(s["image_stereo"].permute(1, 2, 0).numpy(), r["right"][1])


def test_dataset_options_and_splits():
    cfg = WorldConfig(height=32, width=48, frames=1, stereo=False, lidar_beams=0)
    s = WorldDataset("driving", "train", n=2, cfg=cfg)[0]
    for k in ("image_prev", "image_next", "T_prev_tgt", "image_stereo", "lidar"):
        assert k not in s
    tr = WorldDataset("driving", "train", n=2, cfg=cfg)
    te = WorldDataset("driving", "test", n=2, cfg=cfg)
    assert tr.seed(0) == 0 and te.seed(0) == 200_000
    assert not torch.equal(tr[0]["image"], te[0]["image"])
    assert torch.equal(tr[1]["image"], tr[-1]["image"])
    s = WorldDataset(
        "indoor", "train", n=1, cfg=WorldConfig(height=32, width=40, tof_scale=4, depth_noise=0.01)
    )[0]
    assert s["depth_tof"].shape == (1, 8, 10) and s["depth_sensor"].shape == (1, 32, 40)


@pytest.mark.parametrize(
    "args, match",
    [
        (("kitchen",), "kind"),
        (("indoor", "dev"), "split"),
        (("indoor", "train", 0), "n=0"),
        (("indoor", "train", 100_001), "n=100001"),
    ],
)
def test_dataset_bad_arguments(args, match):
    with pytest.raises(UserError, match=match):
        WorldDataset(*args)


def test_dataset_bad_config_and_index():
    with pytest.raises(UserError, match="frames=2"):
        WorldDataset("indoor", cfg=WorldConfig(frames=2))
    with pytest.raises(UserError, match="world.height"):
        WorldDataset("indoor", cfg=WorldConfig(height=4))
    with pytest.raises(UserError, match="lidar_fov_deg"):
        WorldDataset("indoor", cfg=WorldConfig(lidar_fov_deg=(5.0, -5.0)))
    ds = WorldDataset("indoor", n=2, cfg=WorldConfig(height=16, width=16))
    with pytest.raises(IndexError):
        ds[2]
    with pytest.raises(UserError, match="stereo_frames"):
        render_sequence("indoor", 0, WorldConfig(height=16, width=16), stereo_frames=[3])


@pytest.mark.slow
def test_dataloader_with_workers():
    ds = WorldDataset("driving", n=4, cfg=WorldConfig(height=32, width=96))
    dl = torch.utils.data.DataLoader(ds, batch_size=2, num_workers=2)
    batches = list(dl)
    assert len(batches) == 2 and batches[0]["image"].shape == (2, 3, 32, 96)
    torch.testing.assert_close(batches[1]["depth"][1], ds[3]["depth"])


def test_scene_does_not_depend_on_sequence_length():
    """The target frame of a seed is the same whether 1, 3 or 5 frames are rendered."""
    a = _render("indoor", 6, frames=1, stereo=False, lidar_beams=0)
    b = _render("indoor", 6, frames=3, stereo=False, lidar_beams=0)
    c = _render("indoor", 6, frames=5, stereo=False, lidar_beams=0)
    np.testing.assert_array_equal(a["depths"][0], b["depths"][1])
    np.testing.assert_array_equal(b["depths"][1], c["depths"][2])
    np.testing.assert_array_equal(b["images"][2], c["images"][3])
