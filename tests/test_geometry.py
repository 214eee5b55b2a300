import math

import torch

from depthduet import geometry as G


def _K():
    return torch.tensor([[50.0, 0, 31.5], [0, 50.0, 23.5], [0, 0, 1]])


def test_backproject_project_roundtrip():
    depth = torch.rand(2, 1, 12, 16) * 5 + 1
    pts = G.backproject(depth, _K())
    uv, z = G.project(pts, _K())
    grid = G.pixel_grid(12, 16)[:2]
    assert torch.allclose(uv, grid.expand(2, 2, -1), atol=1e-4)
    assert torch.allclose(z.reshape(2, 1, 12, 16), depth, atol=1e-5)


def test_identity_warp_reproduces_source():
    img = torch.rand(1, 3, 10, 14)
    depth = torch.full((1, 1, 10, 14), 3.0)
    out = G.warp(img, depth, _K(), torch.eye(4)[None])
    assert torch.allclose(out, img, atol=1e-5)


def test_pose_vec_inverse():
    aa = torch.tensor([[0.1, -0.2, 0.05]])
    t = torch.tensor([[0.3, 0.0, -1.0]])
    T = G.pose_vec_to_matrix(aa, t)
    Ti = G.pose_vec_to_matrix(aa, t, invert=True)
    assert torch.allclose(T @ Ti, torch.eye(4)[None], atol=1e-6)
    assert torch.allclose(G.invert_pose(T), Ti, atol=1e-6)
    # rotation angle equals the axis-angle norm
    R = T[0, :3, :3]
    ang = math.acos((R.trace().item() - 1) / 2)
    assert abs(ang - aa.norm().item()) < 1e-5


def test_translation_shifts_by_disparity():
    # pure x-translation of the camera by b: a point at depth z moves f*b/z pixels
    f, b, z = 50.0, 0.2, 4.0
    depth = torch.full((1, 1, 10, 14), z)
    T = torch.eye(4)[None].clone()
    T[0, 0, 3] = -b  # source camera sits at +b in target coordinates
    uv, _ = G.reproject_coords(depth, _K(), T)
    assert torch.allclose(
        uv[0, 0] - G.pixel_grid(10, 14)[0].reshape(10, 14), torch.full((10, 14), -f * b / z)
    )


def test_scale_intrinsics_pixel_centres():
    K = _K()
    K2 = G.scale_intrinsics(K, 0.5)
    assert K2[0, 0] == 25 and K2[0, 2] == 0.5 * 32 - 0.5


def test_disparity_depth_inverse():
    d = torch.tensor([0.0, 1.0, 10.0])
    z = G.disparity_to_depth(d, 100.0, 0.5)
    assert z[0] == 0 and torch.allclose(G.depth_to_disparity(z, 100.0, 0.5)[1:], d[1:])


def test_warp_gradient_flows_to_depth():
    img = torch.rand(1, 3, 8, 8)
    depth = torch.full((1, 1, 8, 8), 2.0, requires_grad=True)
    T = torch.eye(4)[None].clone()
    T[0, 0, 3] = 0.1
    G.warp(img, depth, _K(), T).sum().backward()
    assert depth.grad is not None and torch.isfinite(depth.grad).all()


def test_transform_points_is_the_homogeneous_product():
    """X_a = R X_b + t, i.e. (T @ [X; 1])[:3], for a transform with a rotation."""
    T = G.pose_vec_to_matrix(torch.tensor([[0.2, -0.4, 0.3]]), torch.tensor([[1.0, -2.0, 0.5]]))
    X = torch.rand(1, 3, 5) * 4
    Xh = torch.cat([X, torch.ones(1, 1, 5)], 1)
    assert torch.allclose(G.transform_points(T, X), (T @ Xh)[:, :3], atol=1e-5)


def test_reproject_coords_with_rotation_and_translation_by_hand():
    """One pixel worked through by hand: back-project with K^-1, apply R X + t, project with K."""
    K = torch.tensor([[40.0, 0, 7.5], [0, 42.0, 5.5], [0, 0, 1]])
    T = G.pose_vec_to_matrix(torch.tensor([[0.05, -0.1, 0.02]]), torch.tensor([[0.3, 0.1, -0.2]]))
    depth = torch.full((1, 1, 12, 16), 4.0)
    depth[0, 0, 3, 9] = 7.0
    uv, z = G.reproject_coords(depth, K, T)
    u, v, d = 9.0, 3.0, 7.0
    X = torch.tensor([d * (u - 7.5) / 40.0, d * (v - 5.5) / 42.0, d])
    Xs = T[0, :3, :3] @ X + T[0, :3, 3]
    assert math.isclose(
        uv[0, 0, 3, 9].item(), 40.0 * Xs[0].item() / Xs[2].item() + 7.5, abs_tol=1e-4
    )
    assert math.isclose(
        uv[0, 1, 3, 9].item(), 42.0 * Xs[1].item() / Xs[2].item() + 5.5, abs_tol=1e-4
    )
    assert math.isclose(z[0, 0, 3, 9].item(), Xs[2].item(), abs_tol=1e-5)
