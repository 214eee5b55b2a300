"""Camera geometry: back-projection, projection, rigid transforms, view synthesis by warping.

Conventions (OpenCV): x right, y down, z forward; pixel centres at integer coordinates
(pixel (u, v) covers [u - 0.5, u + 0.5]); intrinsics ``K`` are 3x3 in pixels; poses are 4x4
matrices. ``T_a_b`` maps points from frame b to frame a (``X_a = T_a_b @ X_b``), so a
camera-to-world pose is ``T_world_cam``.

These are the operations of METHOD.md B.3 ("back-project with K^-1, transform, project with K,
bilinear sampling, border padding"), written on top of kornia's conversions.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from kornia.geometry.conversions import axis_angle_to_rotation_matrix

__all__ = [
    "pixel_grid",
    "backproject",
    "project",
    "transform_points",
    "pose_vec_to_matrix",
    "invert_pose",
    "scale_intrinsics",
    "warp",
    "reproject_coords",
    "disparity_to_depth",
    "depth_to_disparity",
]


def pixel_grid(height: int, width: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """Homogeneous pixel coordinates: rows u (column index), v (row index), 1.

    Returns:
        ``(3, H*W)`` with ``H = height``, ``W = width``.
    """
    v, u = torch.meshgrid(
        torch.arange(height, device=device, dtype=dtype),
        torch.arange(width, device=device, dtype=dtype),
        indexing="ij",
    )
    return torch.stack([u.reshape(-1), v.reshape(-1), torch.ones_like(u).reshape(-1)], 0)


def backproject(depth: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Lift a depth map to camera-frame 3-D points.

    Args:
        depth: ``(B, 1, H, W)`` z-depth.
        K: ``(B, 3, 3)`` or ``(3, 3)`` intrinsics.

    Returns:
        ``(B, 3, H*W)`` points ``X = depth * K^-1 [u, v, 1]^T``.
    """
    b, _, h, w = depth.shape
    K = K.expand(b, 3, 3) if K.dim() == 2 else K
    rays = torch.linalg.inv(K.to(depth.dtype)) @ pixel_grid(h, w, depth.device, depth.dtype)
    return rays * depth.reshape(b, 1, h * w)


def project(
    points: torch.Tensor, K: torch.Tensor, eps: float = 1e-7
) -> tuple[torch.Tensor, torch.Tensor]:
    """Project camera-frame points to pixels.

    Args:
        points: ``(B, 3, N)``.
        K: ``(B, 3, 3)`` or ``(3, 3)``.

    Returns:
        ``(uv, z)``: pixel coordinates ``(B, 2, N)`` and depths ``(B, 1, N)``.
    """
    b = points.shape[0]
    K = K.expand(b, 3, 3) if K.dim() == 2 else K
    p = K.to(points.dtype) @ points
    z = p[:, 2:3]
    return p[:, :2] / z.clamp(min=eps), z


def transform_points(T: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """Apply 4x4 rigid transforms ``T`` ``(B, 4, 4)`` to ``points`` ``(B, 3, N)``.

    Returns:
        ``(B, 3, N)`` transformed points.
    """
    return T[:, :3, :3] @ points + T[:, :3, 3:4]


def pose_vec_to_matrix(
    axis_angle: torch.Tensor, translation: torch.Tensor, invert: bool = False
) -> torch.Tensor:
    """6-DoF vector (``axis_angle`` ``(B, 3)``, ``translation`` ``(B, 3)``) -> 4x4 transform.

    With ``invert=True`` returns the inverse transform (monodepth2 predicts the pose of the
    source relative to the target and inverts it for frames before the target).

    Returns:
        ``(B, 4, 4)`` rigid transforms.
    """
    R = axis_angle_to_rotation_matrix(axis_angle)
    t = translation.unsqueeze(-1)
    if invert:
        R = R.transpose(1, 2)
        t = -R @ t
    T = torch.eye(4, device=R.device, dtype=R.dtype).repeat(R.shape[0], 1, 1)
    T[:, :3, :3] = R
    T[:, :3, 3:] = t
    return T


def invert_pose(T: torch.Tensor) -> torch.Tensor:
    """Inverse of rigid transforms ``T`` ``(..., 4, 4)``.

    Returns:
        ``(..., 4, 4)``, same shape as ``T``.
    """
    R = T[..., :3, :3]
    t = T[..., :3, 3:]
    out = torch.zeros_like(T)
    out[..., :3, :3] = R.transpose(-1, -2)
    out[..., :3, 3:] = -R.transpose(-1, -2) @ t
    out[..., 3, 3] = 1
    return out


def scale_intrinsics(K: torch.Tensor, sx: float, sy: float | None = None) -> torch.Tensor:
    """Intrinsics of an image resized by ``(sx, sy)`` (pixel-centre convention).

    ``u' + 0.5 = sx (u + 0.5)``, so ``fx' = sx fx`` and ``cx' = sx (cx + 0.5) - 0.5``.

    Args:
        K: ``(..., 3, 3)`` (or ``(..., 4, 4)``) intrinsics; not modified.
        sx: horizontal scale factor.
        sy: vertical scale factor (default ``sx``).

    Returns:
        ``(..., 3, 3)`` (same shape as ``K``) scaled intrinsics.
    """
    sy = sx if sy is None else sy
    K = K.clone()
    K[..., 0, 0] *= sx
    K[..., 0, 1] *= sx
    K[..., 0, 2] = sx * (K[..., 0, 2] + 0.5) - 0.5
    K[..., 1, 1] *= sy
    K[..., 1, 2] = sy * (K[..., 1, 2] + 0.5) - 0.5
    return K


def reproject_coords(
    depth: torch.Tensor, K: torch.Tensor, T_src_tgt: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Where each target pixel lands in the source view.

    Args:
        depth: ``(B, 1, H, W)`` target-view depth.
        K: intrinsics ``(B, 3, 3)`` or ``(3, 3)`` (same camera model for both views).
        T_src_tgt: ``(B, 4, 4)`` maps target-camera points into the source camera.

    Returns:
        ``(uv, z)``: source pixel coordinates ``(B, 2, H, W)`` and source-frame depth ``(B, 1, H, W)``.
    """
    b, _, h, w = depth.shape
    pts = transform_points(T_src_tgt.to(depth.dtype), backproject(depth, K))
    uv, z = project(pts, K)
    return uv.reshape(b, 2, h, w), z.reshape(b, 1, h, w)


def warp(
    source: torch.Tensor,
    depth: torch.Tensor,
    K: torch.Tensor,
    T_src_tgt: torch.Tensor,
    padding_mode: str = "border",
) -> torch.Tensor:
    """Synthesise the target view from a source image (METHOD.md B.3).

    Back-projects target pixels with ``depth`` and ``K^-1``, moves them into the source camera
    with ``T_src_tgt``, projects with ``K`` and samples ``source`` bilinearly.

    Args:
        source: ``(B, C, H, W)`` source image.
        depth: ``(B, 1, H, W)`` target depth.
        K: ``(B, 3, 3)`` or ``(3, 3)`` intrinsics at this resolution.
        T_src_tgt: ``(B, 4, 4)``.
        padding_mode: ``grid_sample`` padding (monodepth2 uses ``"border"``).

    Returns:
        ``(B, C, H, W)`` the source resampled into the target view.
    """
    _, _, h, w = source.shape
    uv, _ = reproject_coords(depth, K, T_src_tgt)
    gx = 2.0 * uv[:, 0] / max(w - 1, 1) - 1.0
    gy = 2.0 * uv[:, 1] / max(h - 1, 1) - 1.0
    grid = torch.stack([gx, gy], dim=-1)
    return F.grid_sample(
        source, grid, mode="bilinear", padding_mode=padding_mode, align_corners=True
    )


def disparity_to_depth(
    disparity: torch.Tensor, focal: float, baseline: float, doffs: float = 0.0
) -> torch.Tensor:
    """``depth = focal * baseline / (disparity + doffs)``; non-positive disparity -> 0 (invalid).

    Args:
        disparity: disparity map of any shape, in pixels.
        focal: focal length in pixels.
        baseline: stereo baseline (sets the depth unit).
        doffs: disparity offset added to ``disparity``.

    Returns:
        Depth, same shape as ``disparity``.
    """
    d = disparity + doffs
    return torch.where(d > 0, focal * baseline / d.clamp(min=1e-12), torch.zeros_like(d))


def depth_to_disparity(
    depth: torch.Tensor, focal: float, baseline: float, doffs: float = 0.0
) -> torch.Tensor:
    """``disparity = focal * baseline / depth - doffs``; non-positive depth -> 0 (invalid).

    Args:
        depth: depth map of any shape.
        focal: focal length in pixels.
        baseline: stereo baseline (same unit as ``depth``).
        doffs: disparity offset subtracted from the result.

    Returns:
        Disparity in pixels, same shape as ``depth``.
    """

    return torch.where(
        depth > 0, focal * baseline / depth.clamp(min=1e-12) - doffs, torch.zeros_like(depth)
    )
