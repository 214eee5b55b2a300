"""Rendering of the procedural world: camera views, stereo, LiDAR and sensor effects.

:func:`render_sequence` is the entry point: one seed gives one static scene, a smooth camera
trajectory of ``cfg.frames`` frames, the stereo right view and the LiDAR scan of each frame.
"""

from __future__ import annotations

import ctypes
import math
import os
import sys

import numpy as np

from depthduet.data.world.config import WorldConfig, check_kind
from depthduet.data.world.primitives import RayGrid, cast
from depthduet.data.world.scenes import Scene, build_driving, build_indoor
from depthduet.data.world.textures import (
    albedo_planar,
    at_least,
    shade_planar,
    sky_colour_cols,
)
from depthduet.errors import UserError

__all__ = [
    "build_scene",
    "intrinsics",
    "lidar_scan",
    "render_sequence",
    "render_view",
    "sensor_depth",
    "tof_capture",
]


#: surfaces covering at least this many pixels are shaded on their own (scalar parameters).
_BIG = 1024
#: footprints are stretched by at most 1 / _MIN_COS at grazing angles
_MIN_COS = 0.25
#: scenes with at least this many primitives shade the views of a sequence together
_MERGE_PRIMS = 48


#: process in which :func:`_tune_allocator` last ran
_TUNED_PID: int | None = None


def _tune_allocator() -> None:
    """Let glibc keep freed array memory for reuse (once per process; a no-op elsewhere).

    Rendering a view allocates and frees a few dozen temporaries of 0.1-1 MB. With glibc's
    default (dynamic) thresholds many of them come from fresh ``mmap`` pages or from heap space
    that was just trimmed, and the page faults cost a third or more of the CPU time (measured:
    1.5-1.9x fewer samples per CPU-second without this; README, world section). Fixing the mmap
    threshold at 32 MiB and the trim threshold at 64 MiB keeps them in the heap (at most 64 MiB
    of freed memory stays with the process). Rendered values are unaffected. Set the environment
    variable ``DEPTHDUET_WORLD_MALLOC=0`` to leave the allocator alone.
    """
    global _TUNED_PID
    if _TUNED_PID == os.getpid():
        return
    _TUNED_PID = os.getpid()
    if os.environ.get("DEPTHDUET_WORLD_MALLOC", "1") == "0" or not sys.platform.startswith("linux"):
        return
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc
        return
    m_trim_threshold, m_mmap_threshold = -1, -3  # <malloc.h>
    mallopt(m_mmap_threshold, 32 << 20)
    mallopt(m_trim_threshold, 64 << 20)


def intrinsics(cfg: WorldConfig) -> np.ndarray:
    """Pinhole ``K`` ``(3, 3)`` float64 of a resolved config (square pixels, centred)."""
    f = cfg.focal()
    assert cfg.width is not None and cfg.height is not None
    return np.array(
        [[f, 0.0, (cfg.width - 1) / 2.0], [0.0, f, (cfg.height - 1) / 2.0], [0.0, 0.0, 1.0]]
    )


def build_scene(kind: str, seed: int, cfg: WorldConfig) -> Scene:
    """The scene and camera trajectory of ``(kind, seed)`` (deterministic)."""
    check_kind(kind)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0 if kind == "indoor" else 1]))
    build = build_indoor if kind == "indoor" else build_driving
    return build(rng, frames=cfg.frames, speed=cfg.speed_scale)


def render_view(
    scene: Scene, K: np.ndarray, T_world_cam: np.ndarray, height: int, width: int
) -> dict[str, np.ndarray]:
    """Ray-cast one pinhole view.

    Args:
        scene: the world.
        K: ``(3, 3)`` intrinsics in pixels.
        T_world_cam: ``(4, 4)`` camera-to-world pose (OpenCV camera axes).
        height, width: image size.

    Returns:
        ``image`` ``(H, W, 3)`` float32 in [0, 1]; ``depth`` ``(H, W)`` float32 z-depth in metres
        (0 where no surface, e.g. sky); ``ids`` ``(H, W)`` int32 primitive index (-1 = none);
        ``cos`` ``(H, W)`` float32 ``|cos|`` of the angle between view ray and surface normal.
    """
    _tune_allocator()
    return _render_grid(scene, RayGrid.pinhole(K, T_world_cam, height, width), K)


def _rows(a: np.ndarray) -> np.ndarray:
    """``(n, c)`` values as ``(n,)`` opaque float32 rows (fast row gathers / scatters)."""
    a = np.ascontiguousarray(a, np.float32)
    return a.view(np.dtype((np.void, a.shape[1] * a.itemsize))).reshape(len(a))


def _render_grid(scene: Scene, g: RayGrid, K: np.ndarray) -> dict[str, np.ndarray]:
    """:func:`render_view` of the pinhole rays ``g`` (``K`` gives the pixel footprint)."""
    return _render_grids(scene, [g], K)[0]


def _flat_stack(arrays: list[np.ndarray]) -> np.ndarray:
    """Arrays of one shape, one after the other, as one flat array (no copy for one array)."""
    if len(arrays) == 1:
        return arrays[0].reshape(-1)
    return np.concatenate([a.reshape(-1) for a in arrays])


def _render_grids(scene: Scene, grids: list[RayGrid], K: np.ndarray) -> list[dict[str, np.ndarray]]:
    """:func:`render_view` of several pinhole ray grids of one size (``K``: their intrinsics).

    Every value is computed exactly as view by view; the surfaces and albedos of all views are
    evaluated together (a surface that is large in several views is one call, the small ones
    of all views one group), which saves most of the per-call work of NumPy.
    """
    height, width = grids[0].shape
    hw = height * width
    nv = len(grids)
    prims, mats = scene.tables()
    n_prims = len(scene.prims)
    keymap_dtype = np.int16 if n_prims < 2**15 else np.int64
    ts, idss, hits, keys, pids = [], [], [], [], []
    for v, g in enumerate(grids):
        t, ids = cast(scene.prims, g, table=prims)
        ts.append(t)
        idss.append(ids)
        flat = ids.ravel()
        hit = np.flatnonzero(flat >= 0)
        pid = flat[hit]
        # large surfaces (per view) are shaded with scalar parameters, the small ones together
        # with per-point parameters; sort key: the primitive for large ones, n_prims otherwise
        big = np.bincount(pid, minlength=n_prims) >= _BIG
        keymap = np.where(big, np.arange(n_prims), n_prims).astype(keymap_dtype)
        hits.append(hit + v * hw)  # pixel index in the stack of views
        keys.append(keymap[pid])
        pids.append(pid)
    img = np.empty((nv * hw, 3), np.float32)
    cosang = np.zeros(nv * hw, np.float32)
    hit = np.concatenate(hits)
    dirs = [_flat_stack([getattr(g, a) for g in grids]) for a in ("dx", "dy", "dz")]
    if len(hit):
        # sorted by (key, view, pixel): each view's pixels stay in their view-by-view order
        key = np.concatenate(keys)
        order = np.argsort(key, kind="stable")  # 16-bit keys: a radix sort
        lens = np.bincount(key, minlength=n_prims + 1)  # pixels of each key
        hit, pid = hit[order], np.concatenate(pids)[order]
        view = hit // hw if nv > 1 else None  # the view of each pixel
        th = _flat_stack(ts)[hit]
        dx, dy, dz = (d[hit] for d in dirs)
        o = np.array([g.origin for g in grids]).astype(np.float32)
        if nv == 1:
            px, py, pz = o[0, 0] + th * dx, o[0, 1] + th * dy, o[0, 2] + th * dz
        else:  # the origin of each pixel's view
            ox, oy, oz = (np.ascontiguousarray(o[:, k]).take(view) for k in range(3))
            px, py, pz = ox + th * dx, oy + th * dy, oz + th * dz
        nx, ny, nz, u, v_ = (np.empty_like(th) for _ in range(5))
        segs = []
        start = 0
        for i in np.flatnonzero(lens[:n_prims]).tolist():
            segs.append((slice(start, start + int(lens[i])), i))
            start += int(lens[i])
        if start < len(pid):
            segs.append((slice(start, len(pid)), None))
        for sl, i in segs:
            res = prims.surface_cols(pid[sl] if i is None else i, px[sl], py[sl], pz[sl])
            nx[sl], ny[sl], nz[sl], u[sl], v_[sl] = res
        # |cos| of the incidence angle; the pixel footprint on the surface (metres) grows as
        # z / f / |cos| (isotropic approximation of the stretched footprint at grazing angles)
        cos = np.abs(nx * dx + ny * dy + nz * dz) / np.sqrt(dx * dx + dy * dy + dz * dz)
        foot = th / np.float32(K[0, 0]) / at_least(cos, np.float32(_MIN_COS))
        alb = np.empty((3, len(th)), np.float32)
        for sl, i in segs:
            m = prims.material[pid[sl]] if i is None else int(prims.material[i])
            albedo_planar(mats, m, u[sl], v_[sl], foot[sl], alb[:, sl])
        # n.sun is a BLAS product: formed view by view on the same rows as view by view
        normals = np.stack([nx, ny, nz], 1)
        sun = scene.sun.astype(np.float32)
        if nv == 1:
            ndl = normals @ sun
        else:
            ndl = np.empty_like(th)
            rows = _rows(normals)
            for w in range(nv):
                sel = np.flatnonzero(view == w)
                ndl[sel] = rows[sel].view(np.float32).reshape(-1, 3) @ sun
        _rows(img)[hit] = _rows(shade_planar(alb, ny, ndl, scene.ambient, scene.sun_gain))
        cosang[hit] = cos
    miss = np.flatnonzero(np.concatenate([ids.reshape(-1) for ids in idss]) < 0)
    if len(miss):
        sdx, sdy, sdz = (d[miss] for d in dirs)
        sky = np.empty((len(miss), 3), np.float32)
        sky_colour_cols(sdx, sdy, sdz, scene.horizon, scene.zenith, out=sky)
        _rows(img)[miss] = _rows(sky)
    np.clip(img, 0.0, 1.0, out=img)
    out = []
    for v in range(nv):
        depth = ts[v]  # cast() returned a new array: 0 where nothing was hit
        np.copyto(depth, np.float32(0.0), where=idss[v] < 0)
        out.append(
            {
                "image": img[v * hw : (v + 1) * hw].reshape(height, width, 3),
                "depth": depth,
                "ids": idss[v],
                "cos": cosang[v * hw : (v + 1) * hw].reshape(height, width),
            }
        )
    return out


def lidar_scan(
    scene: Scene,
    K: np.ndarray,
    T_world_cam: np.ndarray,
    view: dict[str, np.ndarray],
    cfg: WorldConfig,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Sparse LiDAR depth in the camera image, ``(H, W)`` float32 metres (0 = no return).

    A scanner ``cfg.lidar_height`` metres above the camera (same orientation) fires
    ``cfg.lidar_beams`` elevations (``cfg.lidar_fov_deg``) x azimuth steps
    (``cfg.lidar_az_res_deg``) over the camera's field of view and ray-casts the world from its
    own origin, so it has its own occlusions (surfaces the camera sees but the scanner does not
    get no return). Each hit is projected into the camera; it is kept only if the camera's pixel
    there shows the same primitive at a consistent depth (so returns hidden from the camera are
    dropped). The stored value is the camera's depth at that pixel centre, i.e. the beam is
    snapped to the pixel grid by at most half a pixel, plus Gaussian noise ``cfg.lidar_noise``.

    Args:
        scene: the world.
        K, T_world_cam: the camera.
        view: :func:`render_view` output of that camera (``depth`` and ``ids`` are used).
        cfg: resolved world config.
        rng: noise generator (needed when ``cfg.lidar_noise > 0``).
    """
    depth, ids = view["depth"], view["ids"]
    h, w = depth.shape
    out = np.zeros((h, w), np.float32)
    if cfg.lidar_beams <= 0:
        return out
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    # angular extent of the camera; the scanner sits lidar_height above it, so a surface at
    # distance z is seen lidar_height / z radians lower: allow for surfaces down to 0.5 m
    az_half = math.atan(max(cx + 0.5, w - 0.5 - cx) / fx) + math.radians(1.0)
    margin = math.atan(cfg.lidar_height / 0.5) + math.radians(1.0)
    el_lo_cam = -math.atan((h - 0.5 - cy) / fy) - margin
    el_hi_cam = math.atan((cy + 0.5) / fy) + math.radians(1.0)
    lo, hi = (math.radians(a) for a in cfg.lidar_fov_deg)
    el = np.linspace(lo, hi, cfg.lidar_beams) if cfg.lidar_beams > 1 else np.array([lo])
    el = el[(el >= el_lo_cam) & (el <= el_hi_cam)]
    if len(el) == 0:
        return out
    step = math.radians(cfg.lidar_az_res_deg)
    n_az = int(az_half // step)
    az = np.arange(-n_az, n_az + 1) * step
    R = T_world_cam[:3, :3]
    offset = np.array([0.0, -cfg.lidar_height, 0.0])  # scanner position in the camera frame
    g = RayGrid.spherical(T_world_cam[:3, 3] + R @ offset, R, el, az)
    t, hid = cast(scene.prims, g, table=scene.tables()[0])
    ok = np.isfinite(t) & (t <= cfg.lidar_max_range)
    r, c = np.nonzero(ok)
    ce, tk = np.cos(el)[r], t[r, c]
    # camera-frame points of the returns: t * direction + scanner offset
    X0 = tk * (ce * np.sin(az)[c]) + offset[0]
    X1 = tk * (-np.sin(el))[r] + offset[1]
    Z = tk * (ce * np.cos(az)[c]) + offset[2]
    front = Z > 1e-3
    X0, X1, Z, pid = X0[front], X1[front], Z[front], hid[r[front], c[front]]
    u = np.rint(fx * X0 / Z + cx).astype(np.int64)
    v = np.rint(fy * X1 / Z + cy).astype(np.int64)
    inside = (u >= 0) & (u < w) & (v >= 0) & (v < h)
    u, v, Z, pid = u[inside], v[inside], Z[inside], pid[inside]
    D = depth[v, u]
    same = (ids[v, u] == pid) & (np.abs(Z - D) <= 0.05 + 0.05 * D)
    u, v, D = u[same], v[same], D[same]
    if cfg.lidar_noise > 0:
        if rng is None:
            raise UserError("lidar_scan: lidar_noise > 0 needs a random generator")
        D = D + rng.normal(0.0, cfg.lidar_noise, D.shape).astype(np.float32)
        D = np.maximum(D, 1e-3)
    out[v, u] = D
    return out


def sensor_depth(
    view: dict[str, np.ndarray], cfg: WorldConfig, rng: np.random.Generator
) -> np.ndarray:
    """A depth-camera capture of a view, ``(H, W)`` float32 metres (0 = hole).

    Noise with std ``cfg.depth_noise * z**2`` (Kinect-like growth with distance) and holes where
    the surface is seen at a grazing angle (``|cos| < cfg.grazing_cos``) and where there is no
    surface.
    """
    d = view["depth"].copy()
    if cfg.depth_noise > 0:
        d = d + rng.normal(0.0, 1.0, d.shape).astype(np.float32) * cfg.depth_noise * d * d
    hole = view["depth"] <= 0
    if cfg.grazing_cos > 0:
        hole |= view["cos"] < cfg.grazing_cos
    d[hole] = 0.0
    return np.maximum(d, 0.0).astype(np.float32)


def tof_capture(depth: np.ndarray, scale: int) -> np.ndarray:
    """ToF-like low-resolution capture: mean of each ``scale x scale`` block of valid depth.

    Blocks with fewer than half valid pixels are holes (0). Returns ``(H // s, W // s)`` float32.
    """
    h, w = depth.shape
    hs, ws = h // scale, w // scale
    b = depth[: hs * scale, : ws * scale].reshape(hs, scale, ws, scale)
    valid = b > 0
    cnt = valid.sum((1, 3))
    mean = np.where(cnt > 0, b.sum((1, 3)) / np.maximum(cnt, 1), 0.0)
    return np.where(cnt * 2 >= scale * scale, mean, 0.0).astype(np.float32)


def render_sequence(
    kind: str,
    seed: int,
    cfg: WorldConfig | None = None,
    *,
    stereo_frames: list[int] | None = None,
    lidar_frames: list[int] | None = None,
) -> dict:
    """Render a sequence of a static world seen by a moving camera.

    Args:
        kind: ``"indoor"`` or ``"driving"``.
        seed: scene seed (the same seed always gives the same arrays).
        cfg: world settings (``None``: defaults); ``None`` fields take the kind's defaults.
        stereo_frames: frames whose right view is rendered (default: all if ``cfg.stereo``).
        lidar_frames: frames with a LiDAR scan (default: all if ``cfg.lidar_beams > 0``).

    Returns:
        A dict of numpy arrays (F = ``cfg.frames``, target frame ``F // 2``):
        ``images`` ``(F, H, W, 3)`` float32 [0, 1]; ``depths`` ``(F, H, W)`` float32 metres,
        0 = none; ``K`` ``(3, 3)``; ``poses`` ``(F, 4, 4)`` camera-to-world; ``baseline``
        (metres); ``right`` ``(S, H, W, 3)`` and ``right_depths`` ``(S, H, W)`` for
        ``stereo_frames`` (indices in ``right_frames``); ``lidar`` ``(L, H, W)`` for
        ``lidar_frames`` (``lidar_frames``); ``sensor`` ``(F, H, W)`` when sensor effects are on;
        ``tof`` ``(F, H//s, W//s)`` when ``cfg.tof_scale > 1``; ``cos`` ``(F, H, W)`` (|cos| of
        the incidence angle); ``target`` (int); ``scene`` (the :class:`Scene`); ``cfg`` (resolved).
    """
    cfg = (cfg or WorldConfig()).resolved(kind)
    _tune_allocator()
    scene = build_scene(kind, seed, cfg)
    K = intrinsics(cfg)
    F = cfg.frames
    h, w = int(cfg.height or 0), int(cfg.width or 0)
    assert cfg.baseline is not None
    if stereo_frames is None:
        stereo_frames = list(range(F)) if cfg.stereo else []
    if lidar_frames is None:
        lidar_frames = list(range(F)) if cfg.lidar_beams > 0 else []
    for name, fr in (("stereo_frames", stereo_frames), ("lidar_frames", lidar_frames)):
        if any(not 0 <= k < F for k in fr):
            raise UserError(f"render_sequence: {name} {fr} outside 0..{F - 1}")
    noise_rng = np.random.default_rng(np.random.SeedSequence([int(seed), 7]))
    grids = [RayGrid.pinhole(K, scene.poses[k], h, w) for k in range(F)]
    right_shift = np.eye(4)
    right_shift[0, 3] = cfg.baseline
    for k in stereo_frames:
        T = scene.poses[k] @ right_shift
        if np.array_equal(T[:3, :3], scene.poses[k][:3, :3]):  # same rays from another origin
            grids.append(grids[k].moved(T[:3, 3]))
        else:  # pragma: no cover - only if the rotation product were not exact
            grids.append(RayGrid.pinhole(K, T, h, w))
    if len(scene.prims) >= _MERGE_PRIMS:  # all views together: fewer, larger array calls
        rendered = _render_grids(scene, grids, K)
    else:  # few surfaces: the per-call savings do not pay for merging the views
        rendered = [_render_grids(scene, [g], K)[0] for g in grids]
    views, rights = rendered[:F], rendered[F:]
    out: dict = {
        "images": np.stack([v["image"] for v in views]),
        "depths": np.stack([v["depth"] for v in views]),
        "cos": np.stack([v["cos"] for v in views]),
        "K": K,
        "poses": scene.poses.copy(),
        "baseline": float(cfg.baseline),
        "target": F // 2,
        "kind": kind,
        "seed": int(seed),
        "scene": scene,
        "cfg": cfg,
    }
    out["right"] = (
        np.stack([r["image"] for r in rights]) if rights else np.zeros((0, h, w, 3), np.float32)
    )
    out["right_depths"] = (
        np.stack([r["depth"] for r in rights]) if rights else np.zeros((0, h, w), np.float32)
    )
    out["right_frames"] = np.asarray(stereo_frames, np.int64)
    lid = [lidar_scan(scene, K, scene.poses[k], views[k], cfg, noise_rng) for k in lidar_frames]
    out["lidar"] = np.stack(lid) if lid else np.zeros((0, h, w), np.float32)
    out["lidar_frames"] = np.asarray(lidar_frames, np.int64)
    if cfg.depth_noise > 0 or cfg.grazing_cos > 0:
        out["sensor"] = np.stack([sensor_depth(v, cfg, noise_rng) for v in views])
    if cfg.tof_scale > 1:
        src = out.get("sensor", out["depths"])
        out["tof"] = np.stack([tof_capture(d, cfg.tof_scale) for d in src])
    return out
