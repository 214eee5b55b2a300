"""Settings of the procedural world: :class:`WorldConfig`, per-kind defaults and split seeds."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from depthduet.errors import UserError

__all__ = ["KINDS", "SPLIT_SEED_BASE", "SPLIT_SIZE", "WorldConfig", "check_kind", "split_seed"]

#: scene kinds the renderer knows.
KINDS: tuple[str, ...] = ("indoor", "driving")

#: first scene seed of each split; sample ``i`` of a split is rendered from seed ``base + i``.
SPLIT_SEED_BASE: dict[str, int] = {"train": 0, "val": 100_000, "test": 200_000}

#: number of distinct seeds in each split (the seed ranges do not overlap).
SPLIT_SIZE: int = 100_000

# Per-kind values used where a WorldConfig field is left at None.
_KIND_DEFAULTS: dict[str, dict[str, float | int]] = {
    # NYU-like: 640x480 Kinect with fx = 518.9 -> 63.3 deg horizontal field of view.
    "indoor": {"height": 128, "width": 160, "hfov_deg": 63.3, "baseline": 0.10},
    # KITTI-like: 1242x375 with fx = 721.5 -> 81.5 deg horizontal, 0.54 m stereo baseline.
    "driving": {"height": 96, "width": 320, "hfov_deg": 81.5, "baseline": 0.54},
}


def check_kind(kind: str) -> str:
    """Return ``kind`` if it is a known scene kind, else raise :class:`UserError`."""
    if kind not in KINDS:
        raise UserError(f"world kind {kind!r}: unknown, expected one of {', '.join(KINDS)}")
    return kind


def split_seed(split: str, index: int) -> int:
    """Scene seed of sample ``index`` of ``split`` (``train`` 0.., ``val`` 100000.., ``test`` 200000..)."""
    if split not in SPLIT_SEED_BASE:
        raise UserError(
            f"world split {split!r}: unknown, expected one of {', '.join(SPLIT_SEED_BASE)}"
        )
    if not 0 <= index < SPLIT_SIZE:
        raise UserError(f"world split {split!r}: index {index} outside 0..{SPLIT_SIZE - 1}")
    return SPLIT_SEED_BASE[split] + index


@dataclass
class WorldConfig:
    """What the renderer produces for each sample.

    Fields left at ``None`` take the kind's default (:meth:`resolved`): indoor 128x160,
    63.3 deg horizontal field of view, 0.10 m baseline; driving 96x320, 81.5 deg, 0.54 m.

    Attributes:
        height, width: image size in pixels.
        hfov_deg: horizontal field of view; ``fx = fy = (width / 2) / tan(hfov / 2)``,
            principal point at the image centre ``((width - 1) / 2, (height - 1) / 2)``.
        frames: frames per sequence; the target is frame ``frames // 2`` (3 = prev, target, next).
        stereo: also render the right view of the target (``baseline`` metres along camera +x).
        baseline: stereo baseline in metres.
        speed_scale: multiplies the ego-motion per frame (driving ~1 m, indoor ~0.1 m and ~2 deg).
        lidar_beams: rows of the rotating scanner (0 disables LiDAR).
        lidar_fov_deg: elevation range ``(lowest, highest)`` of the beams, degrees (up positive).
        lidar_az_res_deg: azimuth step of the scanner, degrees.
        lidar_height: scanner origin above the camera centre, metres.
        lidar_max_range: returns farther than this (metres) are dropped.
        lidar_noise: standard deviation (metres) of the Gaussian noise added to each return.
        depth_noise: sensor depth noise std at 1 m; grows as ``depth_noise * z**2`` (Kinect-like).
        grazing_cos: sensor holes where ``|cos(angle between ray and normal)|`` is below this.
        tof_scale: if > 1, also produce a ToF-like capture averaged down by this factor.
    """

    height: int | None = None
    width: int | None = None
    hfov_deg: float | None = None
    frames: int = 3
    stereo: bool = True
    baseline: float | None = None
    speed_scale: float = 1.0
    lidar_beams: int = 64
    lidar_fov_deg: tuple[float, float] = (-24.8, 2.0)
    lidar_az_res_deg: float = 0.16
    lidar_height: float = 0.08
    lidar_max_range: float = 120.0
    lidar_noise: float = 0.0
    depth_noise: float = 0.0
    grazing_cos: float = 0.0
    tof_scale: int = 1

    def validate(self) -> None:
        """Raise ``ValueError`` naming the field if a value is out of range."""
        for name in ("height", "width"):
            v = getattr(self, name)
            if v is not None and not 8 <= v <= 8192:
                raise ValueError(f"world.{name}: {v} outside 8..8192 pixels")
        if self.hfov_deg is not None and not 1.0 <= self.hfov_deg <= 170.0:
            raise ValueError(f"world.hfov_deg: {self.hfov_deg} outside 1..170 degrees")
        if not 1 <= self.frames <= 64:
            raise ValueError(f"world.frames: {self.frames} outside 1..64")
        if self.baseline is not None and not 0.0 < self.baseline <= 10.0:
            raise ValueError(f"world.baseline: {self.baseline} outside (0, 10] metres")
        if not 0.0 <= self.speed_scale <= 10.0:
            raise ValueError(f"world.speed_scale: {self.speed_scale} outside 0..10")
        if not 0 <= self.lidar_beams <= 1024:
            raise ValueError(f"world.lidar_beams: {self.lidar_beams} outside 0..1024")
        lo, hi = (float(x) for x in self.lidar_fov_deg)
        if not -89.0 <= lo < hi <= 89.0:
            raise ValueError(
                f"world.lidar_fov_deg: {tuple(self.lidar_fov_deg)} needs -89<=lo<hi<=89"
            )
        if not 0.005 <= self.lidar_az_res_deg <= 10.0:
            raise ValueError(f"world.lidar_az_res_deg: {self.lidar_az_res_deg} outside 0.005..10")
        if not 0.0 <= self.lidar_height <= 2.0:
            raise ValueError(f"world.lidar_height: {self.lidar_height} outside 0..2 metres")
        if self.lidar_max_range <= 0:
            raise ValueError(f"world.lidar_max_range: {self.lidar_max_range} must be > 0")
        for name in ("lidar_noise", "depth_noise"):
            if not 0.0 <= getattr(self, name) <= 10.0:
                raise ValueError(f"world.{name}: {getattr(self, name)} outside 0..10 metres")
        if not 0.0 <= self.grazing_cos < 1.0:
            raise ValueError(f"world.grazing_cos: {self.grazing_cos} outside [0, 1)")
        if not 1 <= self.tof_scale <= 32:
            raise ValueError(f"world.tof_scale: {self.tof_scale} outside 1..32")

    def resolved(self, kind: str) -> WorldConfig:
        """A copy with every ``None`` replaced by the default of ``kind``; validated.

        Raises:
            UserError: unknown kind or a field out of range.
        """
        check_kind(kind)
        values = {
            k: (v if getattr(self, k) is None else getattr(self, k))
            for k, v in _KIND_DEFAULTS[kind].items()
        }
        out = dataclasses.replace(self, **values)  # type: ignore[arg-type]
        out.lidar_fov_deg = (float(out.lidar_fov_deg[0]), float(out.lidar_fov_deg[1]))
        try:
            out.validate()
        except ValueError as e:
            raise UserError(str(e)) from None
        return out

    def focal(self) -> float:
        """Focal length in pixels of a resolved config: ``(width / 2) / tan(hfov / 2)``."""
        if self.width is None or self.hfov_deg is None:
            raise UserError("world config: focal() needs a resolved config (call resolved(kind))")
        return (self.width / 2.0) / math.tan(math.radians(self.hfov_deg) / 2.0)
