"""Random scenes (an NYU-like room, a KITTI-like street) and smooth camera trajectories.

Everything is drawn from one ``numpy.random.Generator`` so a seed fixes the scene and the motion.
World frame: metres, y down, ground at ``y = 0`` (see :mod:`.primitives`). Camera poses are
camera-to-world ``T_world_cam`` 4x4 matrices with OpenCV camera axes.

Features that matter for depth learning are placed on purpose:

* texture edges without depth edges: posters and window panes painted on walls, lane markings,
  floor tiles, brick joints;
* depth edges without colour edges: doors and cabinets painted like the wall behind them, cars
  the colour of the road, sidewalks of asphalt;
* thin structures: table and chair legs, lamp stands, poles, tree trunks, picture frames;
* large textureless areas: plain walls and ceilings, car bodies, the sky.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass, field

import numpy as np

from depthduet.data.world.primitives import (
    Box,
    Cylinder,
    Primitive,
    PrimTable,
    Room,
    Sphere,
    yaw_matrix,
)
from depthduet.data.world.textures import Material, MaterialTable

__all__ = ["Scene", "build_driving", "build_indoor", "camera_pose"]


@dataclass
class Scene:
    """Primitives with their materials and the lighting.

    Attributes:
        prims: the primitives; ``prims[i].material`` indexes ``mats``.
        mats: the materials.
        sun: ``(3,)`` unit direction towards the light (world, y down).
        ambient, sun_gain: light intensities.
        horizon, zenith: sky colours (rays that hit nothing; depth 0).
        poses: ``(F, 4, 4)`` camera-to-world poses of the sequence.
    """

    prims: list[Primitive] = field(default_factory=list)
    mats: list[Material] = field(default_factory=list)
    sun: np.ndarray = field(default_factory=lambda: np.array([0.3, -0.85, -0.4]))
    ambient: float = 0.45
    sun_gain: float = 0.6
    horizon: np.ndarray = field(default_factory=lambda: np.array([0.85, 0.88, 0.92]))
    zenith: np.ndarray = field(default_factory=lambda: np.array([0.35, 0.55, 0.85]))
    poses: np.ndarray = field(default_factory=lambda: np.eye(4)[None])

    def tables(self) -> tuple[PrimTable, MaterialTable]:
        """Array views of the primitives and materials (built once, after the scene is done)."""
        cached = getattr(self, "_tables", None)
        if cached is None or cached[0] != len(self.prims):
            cached = (len(self.prims), PrimTable(self.prims), MaterialTable(self.mats))
            self._tables = cached
        return cached[1], cached[2]

    def material(self, mat: Material) -> int:
        """Register a material, return its index."""
        self.mats.append(mat)
        return len(self.mats) - 1

    def add(self, prim: Primitive) -> Primitive:
        """Append a primitive and return it."""
        self.prims.append(prim)
        return prim


def camera_pose(pos: np.ndarray, yaw: float, pitch: float = 0.0, roll: float = 0.0) -> np.ndarray:
    """Camera-to-world ``(4, 4)``: heading ``yaw`` (to the right), ``pitch`` (down), ``roll``."""
    cp, sp = math.cos(pitch), math.sin(pitch)
    Rx = np.array([[1, 0, 0], [0, cp, sp], [0, -sp, cp]])  # z axis tilts towards +y (down)
    cr, sr = math.cos(roll), math.sin(roll)
    Rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    T = np.eye(4)
    T[:3, :3] = yaw_matrix(yaw) @ Rx @ Rz
    T[:3, 3] = pos
    return T


def _colour(rng: np.random.Generator, h=(0.0, 1.0), s=(0.1, 0.6), v=(0.35, 0.9)) -> np.ndarray:
    return np.array(colorsys.hsv_to_rgb(rng.uniform(*h), rng.uniform(*s), rng.uniform(*v)))


def _light(scene: Scene, rng: np.random.Generator, indoor: bool) -> None:
    az = rng.uniform(0, 2 * np.pi)
    el = rng.uniform(0.5, 1.2) if indoor else rng.uniform(0.35, 1.1)
    sun = np.array([math.cos(el) * math.sin(az), -math.sin(el), math.cos(el) * math.cos(az)])
    scene.sun = sun / np.linalg.norm(sun)
    scene.ambient = float(rng.uniform(0.45, 0.65) if indoor else rng.uniform(0.35, 0.5))
    scene.sun_gain = float(rng.uniform(0.25, 0.45) if indoor else rng.uniform(0.5, 0.75))
    scene.horizon = np.array([0.86, 0.88, 0.9]) + rng.uniform(-0.05, 0.05, 3)
    scene.zenith = np.array([0.3, 0.5, 0.85]) + rng.uniform(-0.08, 0.08, 3)


def _trajectory(
    pos: np.ndarray,
    yaw: float,
    pitch: float,
    roll: float,
    vel: np.ndarray,
    rates: tuple[float, float, float],
    frames: int,
) -> np.ndarray:
    """Poses ``(F, 4, 4)`` of a smooth motion centred on the target frame ``F // 2``.

    Constant velocity ``vel`` (world, metres / frame) plus constant yaw / pitch / roll rates
    (radians / frame), with a slight curvature so consecutive steps differ.
    """
    poses = []
    for k in range(frames):
        s = k - frames // 2
        p = pos + s * vel + 0.5 * s * s * np.array([vel[2], 0.0, -vel[0]]) * rates[0]
        poses.append(camera_pose(p, yaw + s * rates[0], pitch + s * rates[1], roll + s * rates[2]))
    return np.stack(poses)


#: objects keep clear of this many frames of the camera path, whatever the sequence length
_KEEP_OUT_FRAMES = 9


def _far_from(path: np.ndarray, x: float, z: float, r: float) -> bool:
    """Whether the point ``(x, z)`` is more than ``r`` from every camera position ``(F, 3)``."""
    return bool(np.all(np.hypot(path[:, 0] - x, path[:, 2] - z) > r))


# ----------------------------------------------------------------------------------- indoor
def _wall_distance(pos: np.ndarray, yaw: float, W: float, D: float) -> float:
    """Horizontal distance from ``pos`` along heading ``yaw`` to the walls of a W x D room."""
    dx, dz = math.sin(yaw), math.cos(yaw)
    tx = ((W / 2 if dx > 0 else -W / 2) - pos[0]) / dx if abs(dx) > 1e-9 else math.inf
    tz = ((D / 2 if dz > 0 else -D / 2) - pos[2]) / dz if abs(dz) > 1e-9 else math.inf
    return min(tx, tz)


def build_indoor(rng: np.random.Generator, frames: int = 3, speed: float = 1.0) -> Scene:
    """A furnished room (floor, walls, ceiling, furniture, lamps, pictures) and a camera path."""
    sc = Scene()
    _light(sc, rng, indoor=True)
    W, D, H = rng.uniform(3.2, 6.5), rng.uniform(3.5, 7.5), rng.uniform(2.4, 3.1)
    wall_c = _colour(rng, s=(0.03, 0.3), v=(0.65, 0.92))
    # room: walls plain (large textureless areas), floor tiles / planks; one material for all
    # faces would paint the floor like the walls, so the floor is a separate thin box on top.
    m_wall = sc.material(Material.random(rng, "plain", wall_c, grain=0.04))
    sc.add(Room(material=m_wall, c=np.array([0.0, -H / 2, 0.0]), h=np.array([W / 2, H / 2, D / 2])))
    floor_pat = ["checker", "stripes", "noise"][rng.integers(3)]
    fc = _colour(rng, h=(0.02, 0.12), s=(0.2, 0.6), v=(0.3, 0.75))
    m_floor = sc.material(
        Material.random(
            rng,
            floor_pat,
            fc,
            fc * rng.uniform(0.55, 0.85),
            period=rng.uniform(0.25, 0.7),
            angle=rng.uniform(0, np.pi),
            grain=0.08,
        )
    )
    sc.add(Box(material=m_floor, c=np.array([0.0, -0.001, 0.0]), h=np.array([W / 2, 0.001, D / 2])))

    # camera: inside the room, away from walls, looking roughly across it
    # camera: 0.7-1.4 m from one wall (as a person holding a Kinect), looking across the room
    hx, hz = W / 2 - 0.7, D / 2 - 0.7
    back = rng.uniform(0.0, 0.7)
    along = rng.uniform(-1.0, 1.0)
    side = int(rng.integers(4))
    x, z = [
        (along * hx, hz - back),
        (hx - back, along * hz),
        (along * hx, back - hz),
        (back - hx, along * hz),
    ][side]
    pos = np.array([x, -rng.uniform(1.1, 1.7), z])
    to_centre = math.atan2(-pos[0], -pos[2])
    # look roughly across the room: keep the first heading that sees at least 2 m (or 60 % of
    # the room's half diagonal) of floor before the wall
    need = min(2.0, 0.6 * math.hypot(W, D))
    for _ in range(8):
        yaw = to_centre + rng.uniform(-0.6, 0.6)
        if _wall_distance(pos, yaw, W, D) >= need:
            break
    pitch = rng.uniform(0.0, 0.35)
    roll = rng.uniform(-0.05, 0.05)
    heading = yaw + rng.uniform(-1.0, 1.0)
    step = rng.uniform(0.04, 0.12) * speed
    vel = step * np.array([math.sin(heading), rng.uniform(-0.1, 0.1), math.cos(heading)])
    rates = (
        rng.choice([-1, 1]) * rng.uniform(0.008, 0.05) * speed,
        rng.uniform(-0.01, 0.01) * speed,
        rng.uniform(-0.005, 0.005) * speed,
    )
    sc.poses = _trajectory(pos, yaw, pitch, roll, vel, rates, frames)
    # objects keep away from a fixed stretch of the path, so the scene does not depend on frames
    path = _trajectory(pos, yaw, pitch, roll, vel, rates, _KEEP_OUT_FRAMES)[:, :3, 3]

    def spot(r: float, wall: bool = False) -> tuple[float, float, float] | None:
        """Floor position (x, z) and yaw for an object of radius r, away from the camera."""
        for _ in range(12):
            if wall:
                side = rng.integers(4)
                yaw_o = side * np.pi / 2
                a = rng.uniform(-1, 1)
                if side % 2 == 0:  # against a wall z = +-D/2 (local z is the depth)
                    x, z = a * (W / 2 - r), (D / 2 - r) * (1 if side == 0 else -1)
                else:
                    x, z = (W / 2 - r) * (1 if side == 1 else -1), a * (D / 2 - r)
            else:
                x, z = rng.uniform(-W / 2 + r, W / 2 - r), rng.uniform(-D / 2 + r, D / 2 - r)
                yaw_o = rng.uniform(0, np.pi)
            if _far_from(path, x, z, r + 0.45):
                return x, z, yaw_o
        return None

    def part(base: np.ndarray, yaw_o: float, off, half, mat: int) -> None:
        c = base + yaw_matrix(yaw_o) @ np.asarray(off, np.float64)
        sc.add(Box(material=mat, c=c, h=np.asarray(half, np.float64), yaw=yaw_o))

    def furniture_mat(like_wall: bool = False) -> int:
        if like_wall:  # depth edge with (almost) no colour edge
            return sc.material(Material.random(rng, "plain", wall_c * rng.uniform(0.95, 1.03)))
        pat = ["plain", "noise", "stripes", "plain"][rng.integers(4)]
        c = _colour(rng)
        return sc.material(
            Material.random(rng, pat, c, c * rng.uniform(0.5, 0.8), period=rng.uniform(0.1, 0.5))
        )

    n_obj = int(rng.integers(5, 12))
    for _ in range(n_obj):
        kind = rng.choice(["table", "cabinet", "sofa", "chair", "ball", "bin", "lamp", "pillar"])
        if kind == "table":
            lx, lz, ht = rng.uniform(0.35, 0.8), rng.uniform(0.25, 0.5), rng.uniform(0.45, 0.8)
            s = spot(math.hypot(lx, lz))
            if s is None:
                continue
            base, m, leg = np.array([s[0], 0.0, s[1]]), furniture_mat(), rng.uniform(0.015, 0.03)
            part(base, s[2], [0, -ht, 0], [lx, 0.02, lz], m)
            for ix in (-1, 1):
                for iz in (-1, 1):
                    off = [ix * (lx - 2 * leg), -(ht - 0.02) / 2, iz * (lz - 2 * leg)]
                    part(base, s[2], off, [leg, (ht - 0.02) / 2, leg], m)
        elif kind == "chair":
            s = spot(0.35)
            if s is None:
                continue
            base, m, leg, seat = np.array([s[0], 0.0, s[1]]), furniture_mat(), 0.015, 0.45
            part(base, s[2], [0, -seat, 0], [0.22, 0.02, 0.22], m)
            part(base, s[2], [0, -seat - 0.22, 0.2], [0.22, 0.22, 0.015], m)
            for ix in (-1, 1):
                for iz in (-1, 1):
                    part(base, s[2], [ix * 0.19, -seat / 2, iz * 0.19], [leg, seat / 2, leg], m)
        elif kind in ("cabinet", "sofa"):
            if kind == "cabinet":
                lx, lz, ht = rng.uniform(0.3, 0.8), rng.uniform(0.15, 0.3), rng.uniform(0.7, 2.0)
            else:
                lx, lz, ht = rng.uniform(0.7, 1.1), rng.uniform(0.35, 0.5), rng.uniform(0.4, 0.6)
            s = spot(max(lx, lz), wall=True)
            if s is None:
                continue
            m = furniture_mat(like_wall=bool(rng.random() < 0.3))
            base = np.array([s[0], 0.0, s[1]])
            part(base, s[2], [0, -ht / 2, 0], [lx, ht / 2, lz], m)
            if kind == "sofa":
                part(base, s[2], [0, -ht - 0.2, lz - 0.08], [lx, 0.2, 0.08], m)
        elif kind == "ball":
            r = rng.uniform(0.08, 0.3)
            s = spot(r)
            if s is None:
                continue
            sc.add(Sphere(material=furniture_mat(), c=np.array([s[0], -r, s[1]]), r=r))
        elif kind == "bin":
            r = rng.uniform(0.1, 0.3)
            s = spot(r)
            if s is None:
                continue
            sc.add(
                Cylinder(material=furniture_mat(), x=s[0], z=s[1], r=r, y0=-rng.uniform(0.3, 0.9))
            )
        elif kind == "pillar":
            r = rng.uniform(0.1, 0.25)
            s = spot(r, wall=bool(rng.random() < 0.5))
            if s is None:
                continue
            sc.add(Cylinder(material=furniture_mat(like_wall=True), x=s[0], z=s[1], r=r, y0=-H))
        else:  # lamp: thin stand and a round shade
            s = spot(0.25)
            if s is None:
                continue
            ht = rng.uniform(1.1, 1.7)
            m = furniture_mat()
            sc.add(Cylinder(material=m, x=s[0], z=s[1], r=rng.uniform(0.008, 0.02), y0=-ht))
            sc.add(Cylinder(material=m, x=s[0], z=s[1], r=0.15, y0=-0.03, y1=0.0))
            shade_c = np.array([0.95, 0.9, 0.75]) * rng.uniform(0.8, 1.0)
            m2 = sc.material(Material.random(rng, "plain", shade_c, grain=0.02))
            sc.add(Sphere(material=m2, c=np.array([s[0], -ht - 0.12, s[1]]), r=0.15))

    # pictures, posters and doors on the walls: thin boxes (texture edges, small depth steps)
    for _ in range(int(rng.integers(1, 5))):
        side = int(rng.integers(4))
        w, h = rng.uniform(0.3, 1.0), rng.uniform(0.3, 0.9)
        door = rng.random() < 0.25
        if door:
            w, h = 0.45, 1.0
        y = -h - 0.001 if door else -rng.uniform(1.0, H - 0.3) + h / 2
        th = 0.02
        along = rng.uniform(-1, 1)
        if side % 2 == 0:
            x, z = along * (W / 2 - w - 0.05), (D / 2 - th) * (1 if side == 0 else -1)
            half = np.array([w, h, th])
        else:
            x, z = (W / 2 - th) * (1 if side == 1 else -1), along * (D / 2 - w - 0.05)
            half = np.array([th, h, w])
        if door:
            m = furniture_mat(like_wall=True)
        else:
            c = _colour(rng, s=(0.3, 0.9))
            pat = ["checker", "stripes", "noise", "bricks"][rng.integers(4)]
            m = sc.material(
                Material.random(
                    rng, pat, c, _colour(rng), period=rng.uniform(0.08, 0.3), grain=0.02
                )
            )
        sc.add(Box(material=m, c=np.array([x, y, z]), h=half))
    # ceiling light panel
    lc = sc.material(Material.random(rng, "plain", np.array([0.98, 0.97, 0.92]), grain=0.0))
    sc.add(
        Box(
            material=lc,
            c=np.array([rng.uniform(-1, 1), -H + 0.01, rng.uniform(-1, 1)]),
            h=np.array([0.3, 0.01, 0.3]),
        )
    )
    return sc


# ---------------------------------------------------------------------------------- driving
def build_driving(rng: np.random.Generator, frames: int = 3, speed: float = 1.0) -> Scene:
    """A street (road, sidewalks, facades, parked cars, poles, trees) and a forward drive."""
    sc = Scene()
    _light(sc, rng, indoor=False)
    lane = rng.uniform(3.2, 3.7)
    park = rng.uniform(2.0, 2.5)
    half_road = lane + park
    side = rng.uniform(2.0, 4.0)
    z_end = rng.uniform(80.0, 140.0)  # the street is closed by a building there
    z0 = -20.0
    asphalt = _colour(rng, h=(0.55, 0.65), s=(0.0, 0.08), v=(0.3, 0.45))
    m_road = sc.material(
        Material.random(
            rng,
            "road",
            asphalt,
            np.array([0.92, 0.92, 0.88]),
            period=1.0,
            grain=0.12,
            lines=((0.0, True), (half_road - park, False), (park - half_road, False)),
        )
    )
    zc, zh = (z_end + z0) / 2, (z_end - z0) / 2
    sc.add(Box(material=m_road, c=np.array([0.0, 0.5, zc]), h=np.array([80.0, 0.5, zh])))
    # sidewalks (a curb: depth edge; sometimes the same grey as the road)
    sw_c = asphalt * rng.uniform(1.0, 1.05) if rng.random() < 0.4 else _colour(rng, s=(0, 0.1))
    m_sw = sc.material(Material.random(rng, "checker", sw_c, sw_c * 0.85, period=0.6, grain=0.1))
    curb = rng.uniform(0.1, 0.18)
    for sgn in (-1, 1):
        sc.add(
            Box(
                material=m_sw,
                c=np.array([sgn * (half_road + side / 2), -curb / 2, zc]),
                h=np.array([side / 2, curb / 2, zh]),
            )
        )

    # camera: right driving lane, 1.5-1.8 m high, driving forward (+z) at ~1 m / frame
    start = rng.uniform(0.0, 25.0)
    pos = np.array([lane / 2 + rng.uniform(-0.4, 0.4), -rng.uniform(1.5, 1.8), start])
    yaw = rng.uniform(-0.05, 0.05)
    step = rng.uniform(0.6, 1.4) * speed
    vel = step * np.array([math.sin(yaw), 0.0, math.cos(yaw)])
    rates = (rng.uniform(-0.006, 0.006) * speed, rng.uniform(-0.002, 0.002) * speed, 0.0)
    pitch = rng.uniform(-0.02, 0.04)
    roll = rng.uniform(-0.01, 0.01)
    sc.poses = _trajectory(pos, yaw, pitch, roll, vel, rates, frames)
    path = _trajectory(pos, yaw, pitch, roll, vel, rates, _KEEP_OUT_FRAMES)[:, :3, 3]

    # buildings on both sides, in blocks along z, and one closing the street
    for sgn in (-1, 1):
        z = z0
        while z < z_end:
            length = rng.uniform(8.0, 28.0)
            gap = rng.uniform(0.0, 6.0) if rng.random() < 0.5 else 0.0
            setback = rng.uniform(0.0, 2.5)
            depth, height = rng.uniform(8.0, 15.0), rng.uniform(5.0, 22.0)
            c = _colour(rng, s=(0.05, 0.45), v=(0.35, 0.9))
            pat = ["windows", "bricks", "plain", "windows", "noise"][rng.integers(5)]
            period = {"windows": rng.uniform(2.5, 3.5), "bricks": rng.uniform(0.25, 0.4)}.get(
                pat, rng.uniform(0.5, 3.0)
            )
            c2 = (
                np.array([0.15, 0.18, 0.22]) * rng.uniform(0.7, 1.5)
                if pat == "windows"
                else c * 0.7
            )
            m = sc.material(Material.random(rng, pat, c, c2, period=period, grain=0.06))
            x_in = half_road + side + setback
            sc.add(
                Box(
                    material=m,
                    c=np.array([sgn * (x_in + depth / 2), -height / 2, z + length / 2]),
                    h=np.array([depth / 2, height / 2, length / 2]),
                )
            )
            z += length + gap
    c = _colour(rng, s=(0.05, 0.4))
    m = sc.material(Material.random(rng, "windows", c, c * 0.4, period=3.0, grain=0.05))
    hz = rng.uniform(12.0, 35.0)
    sc.add(
        Box(material=m, c=np.array([0.0, -hz / 2, z_end + 5.0]), h=np.array([60.0, hz / 2, 5.0]))
    )

    # parked cars along both parking lanes
    for sgn in (-1, 1):
        z = z0 + rng.uniform(0, 8)
        while z < z_end - 10:
            length, width = rng.uniform(3.8, 4.9), rng.uniform(1.65, 1.9)
            x = sgn * (half_road - park / 2 - rng.uniform(-0.15, 0.15))
            if rng.random() < 0.75 and _far_from(path, x, z, 3.0):
                yaw_c = rng.uniform(-0.04, 0.04) if rng.random() < 0.5 else 0.0
                _car(sc, rng, x, z, length, width, yaw_c, asphalt)
            z += length + rng.uniform(0.8, 6.0)
    # poles, signs and trees on the sidewalks
    for sgn in (-1, 1):
        z = z0 + rng.uniform(0, 10)
        while z < z_end - 5:
            x = sgn * (half_road + rng.uniform(0.4, 0.8))
            if rng.random() < 0.5:
                hp = rng.uniform(3.0, 7.0)
                pc = _colour(rng, s=(0, 0.2), v=(0.2, 0.6))
                mp = sc.material(Material.random(rng, "plain", pc))
                sc.add(
                    Cylinder(material=mp, x=x, z=z, r=rng.uniform(0.04, 0.1), y0=-hp - curb, y1=0.0)
                )
                if rng.random() < 0.4:
                    ms = sc.material(
                        Material.random(
                            rng,
                            "stripes",
                            _colour(rng, s=(0.6, 1)),
                            np.array([0.95, 0.95, 0.95]),
                            period=0.25,
                        )
                    )
                    sc.add(
                        Box(
                            material=ms, c=np.array([x, -hp + 0.3, z]), h=np.array([0.3, 0.3, 0.02])
                        )
                    )
            else:
                ht = rng.uniform(1.8, 3.0)
                mt = sc.material(
                    Material.random(
                        rng,
                        "noise",
                        np.array([0.35, 0.25, 0.15]),
                        np.array([0.2, 0.14, 0.08]),
                        period=0.3,
                    )
                )
                sc.add(
                    Cylinder(material=mt, x=x, z=z, r=rng.uniform(0.1, 0.2), y0=-ht - 0.3, y1=0.0)
                )
                gc = _colour(rng, h=(0.2, 0.38), s=(0.4, 0.8), v=(0.25, 0.55))
                ml = sc.material(
                    Material.random(rng, "leaves", gc, gc * 0.5, period=0.9, grain=0.1)
                )
                for _ in range(int(rng.integers(1, 3))):
                    r = rng.uniform(1.0, 2.2)
                    c = np.array(
                        [x + rng.uniform(-0.4, 0.4), -ht - r * 0.7, z + rng.uniform(-0.5, 0.5)]
                    )
                    sc.add(Sphere(material=ml, c=c, r=r))
            z += rng.uniform(8.0, 25.0)
    return sc


def _car(
    sc: Scene,
    rng: np.random.Generator,
    x: float,
    z: float,
    length: float,
    width: float,
    yaw: float,
    asphalt: np.ndarray,
) -> None:
    """A parked car: body, cabin with dark windows, two axles with wheels (all boxes)."""
    paint = asphalt * 1.1 if rng.random() < 0.15 else _colour(rng, s=(0.0, 0.9), v=(0.15, 0.95))
    mb = sc.material(Material.random(rng, "plain", paint, grain=0.02))
    glass = np.array([0.12, 0.14, 0.17]) * rng.uniform(0.8, 1.6)
    mg = sc.material(Material.random(rng, "plain", glass, grain=0.03))
    mw = sc.material(Material.random(rng, "plain", np.array([0.07, 0.07, 0.08]), grain=0.05))
    R = yaw_matrix(yaw)
    base = np.array([x, 0.0, z])
    body_h, clear = rng.uniform(0.55, 0.8), 0.3
    sc.add(
        Box(
            material=mb,
            c=base + R @ [0, -clear - body_h / 2, 0],
            h=np.array([width / 2, body_h / 2, length / 2]),
            yaw=yaw,
        )
    )
    cab_h, cab_l = rng.uniform(0.4, 0.6), length * rng.uniform(0.45, 0.6)
    sc.add(
        Box(
            material=mg,
            c=base + R @ [0, -clear - body_h - cab_h / 2, -0.1 * length],
            h=np.array([width / 2 * 0.88, cab_h / 2, cab_l / 2]),
            yaw=yaw,
        )
    )
    for iz in (-1, 1):  # one dark axle box per axle: the two wheels and what is between
        off = np.array([0.0, -0.32, iz * (length / 2 - 0.75)])
        sc.add(
            Box(material=mw, c=base + R @ off, h=np.array([width / 2 - 0.02, 0.32, 0.32]), yaw=yaw)
        )
