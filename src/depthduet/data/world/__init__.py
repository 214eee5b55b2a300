"""The procedural RGB-D world: the embedded default data of both methods.

Ray casting of analytic primitives (boxes, vertical cylinders, spheres, a room interior),
vectorised with numpy over all pixels, renders two kinds of static scene seen by a moving camera:

* ``indoor`` (NYU-like): a room with floor, walls, ceiling, furniture with thin legs, lamps,
  pictures and doors; small translation + rotation between frames;
* ``driving`` (KITTI-like): road with lane markings, sidewalks, facades, parked cars, poles,
  trees, sky (no depth); forward motion of about 1 m per frame.

For every frame: RGB (band-limited procedural textures, Lambertian shading), metric z-depth
(0 = none), intrinsics ``K``, the camera-to-world pose; plus a stereo right view, LiDAR-like
sparse depth from a scanner above the camera, and optional depth-sensor effects.

Public API::

    from depthduet.data.world import WorldConfig, WorldDataset, render_sequence
    seq = render_sequence("driving", seed=3, cfg=WorldConfig(frames=3))   # numpy dict
    ds = WorldDataset("indoor", split="train", n=1000)                    # torch Dataset
"""

from depthduet.data.world.config import (
    KINDS,
    SPLIT_SEED_BASE,
    SPLIT_SIZE,
    WorldConfig,
    split_seed,
)
from depthduet.data.world.dataset import DEFAULT_SIZES, WorldDataset, relative_pose
from depthduet.data.world.render import intrinsics, render_sequence, render_view

__all__ = [
    "DEFAULT_SIZES",
    "KINDS",
    "SPLIT_SEED_BASE",
    "SPLIT_SIZE",
    "WorldConfig",
    "WorldDataset",
    "intrinsics",
    "relative_pose",
    "render_sequence",
    "render_view",
    "split_seed",
]
