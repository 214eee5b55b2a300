"""Miniature datasets in the official directory layouts, rendered from the procedural world.

Each writer renders a few scenes of :mod:`depthduet.data.world` and stores them exactly as the
public dataset stores its files (names, folders, encodings, units), so that the loaders of
:mod:`depthduet.data` and the shipped configs read them as they would read the real data.
Everything is deterministic: the same arguments give the same files, byte for byte.

Layouts (``n`` samples of ``size = (H, W)``; the last ``max(1, n // 4)`` samples form the
held-out split):

``kitti-raw`` (:func:`write_kitti_raw`): KITTI raw, synced + rectified::

    2011_09_26/calib_cam_to_cam.txt      P_rect_0i, R_rect_00, S_rect_0i, ... (cameras 0..3)
    2011_09_26/calib_velo_to_cam.txt     R, T (Velodyne -> unrectified camera 0)
    2011_09_26/calib_imu_to_velo.txt
    2011_09_26/2011_09_26_drive_0001_sync/
        image_02/data/0000000000.png     left colour (8-bit RGB), timestamps.txt
        image_03/data/0000000000.png     right colour
        velodyne_points/data/0000000000.bin   float32 x, y, z, reflectance (LiDAR frame: x
                                         forward, y left, z up); the points in view project
                                         (centre convention) onto the rendered LiDAR pixels
                                         with their depth; copies turned about the vertical
                                         axis, outside the camera views, complete the sweep
    splits/eigen_zhou/train_files.txt    monodepth2 format, target frames, sides l and r
    splits/eigen_zhou/val_files.txt      held-out drives, target frames, side l
    splits/eigen/test_files.txt          held-out drives, every frame, side l (10-digit frames)
    splits/eigen_benchmark/test_files.txt  the same frames (all have annotated depth)

  One drive per sample, ``frames`` frames each (target ``frames // 2``, which has both
  neighbours), one calibration date folder shared by all drives.

``kitti-depth`` (:func:`write_kitti_depth`): the KITTI depth benchmark for the same drives
(same ``n``, ``size``, ``seed`` and ``frames`` as ``kitti-raw``)::

    train/2011_09_26_drive_0001_sync/proj_depth/groundtruth/image_02/0000000000.png
    train/.../proj_depth/velodyne_raw/image_02/0000000000.png      (data_depth_velodyne)
    val/...                                                        (held-out drives)

  16-bit PNG, value / 256 = metres, 0 = no depth. Ground truth: the rendered depth of the
  camera (image_03: of the right view) below the highest LiDAR row and under 80 m, like the
  semi-dense accumulated maps; ``velodyne_raw``: the Velodyne scan projected into the camera.

``nyu-v2-mat`` (:func:`write_nyu_v2_mat`): the labelled NYU Depth v2 file::

    nyu_depth_v2_labeled.mat   MATLAB v7.3 (HDF5 with the 512-byte MATLAB header):
                               images  uint8  MATLAB H x W x 3 x N (HDF5 N x 3 x W x H)
                               depths  single MATLAB H x W x N, metres, no holes
                               rawDepths single, metres, 0 = hole (depth-camera capture)
    splits.mat                 MATLAB v5: trainNdxs, testNdxs (1-based column vectors)

``middlebury`` (:func:`write_middlebury`): Middlebury 2014 scenes (the release with per-scene
calibration, which a miniature image needs: the 2005 / 2006 releases fix the focal length of
their full-size images)::

    Scene01-perfect/im0.png im1.png     left / right view (8-bit RGB)
    Scene01-perfect/disp0.pfm disp1.pfm GT disparity of each view, float pixels, inf = unknown
                                        (occluded in the other view)
    Scene01-perfect/calib.txt           cam0, cam1, doffs, baseline (mm), width, height, ndisp,
                                        isint, vmin, vmax, dyavg, dymax

  ``depth_mm = baseline * f / (d + doffs)``; the right camera's principal point is ``doffs``
  pixels right of the left one, as in the real rig. Scene widths differ (``W``, ``W + 6``,
  ``W + 12``), as the real scenes' sizes do.

``cityscapes`` (:func:`write_cityscapes`): Cityscapes packages unpacked into one root::

    leftImg8bit/<split>/<city>/<city>_<seq>_000019_leftImg8bit.png
    rightImg8bit/<split>/<city>/<city>_<seq>_000019_rightImg8bit.png
    disparity/<split>/<city>/<city>_<seq>_000019_disparity.png   uint16, p = 256 d + 1, 0 = none
    camera/<split>/<city>/<city>_<seq>_000019_camera.json        intrinsic fx fy u0 v0 (pixels),
                                                                 extrinsic baseline (m), ...
    leftImg8bit_sequence/<split>/<city>/<city>_<seq>_0000{18,19,20}_leftImg8bit.png

  Splits ``train`` and ``val``; disparity is invalid where the right view does not see the
  pixel (occlusions, the left border), in the sky, below 1/256 pixel and from 255 pixels on.

Every miniature root also holds ``miniature.yaml`` (layout, arguments, the files a config
needs); ``--overwrite`` replaces only folders holding one. Folders are written under a temporary
name and renamed when complete, so a failed or interrupted run leaves nothing half-written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from depthduet import io as dio  # noqa: F401  (the writers' file functions; tests patch them)
from depthduet.data.miniatures.cityscapes import write_cityscapes
from depthduet.data.miniatures.common import DEFAULT_SIZES, LAYOUTS, MARKER_FILE, PathLike
from depthduet.data.miniatures.kitti import KITTI_DATE, write_kitti_depth, write_kitti_raw
from depthduet.data.miniatures.middlebury import write_middlebury
from depthduet.data.miniatures.nyu import write_nyu_v2_mat
from depthduet.errors import UserError

__all__ = [
    "LAYOUTS",
    "DEFAULT_SIZES",
    "MARKER_FILE",
    "KITTI_DATE",
    "write_miniature",
    "write_kitti_raw",
    "write_kitti_depth",
    "write_nyu_v2_mat",
    "write_middlebury",
    "write_cityscapes",
]


_WRITERS: dict[str, Callable[..., dict[str, Any]]] = {
    "kitti-raw": write_kitti_raw,
    "kitti-depth": write_kitti_depth,
    "nyu-v2-mat": write_nyu_v2_mat,
    "middlebury": write_middlebury,
    "cityscapes": write_cityscapes,
}


def write_miniature(
    layout: str,
    out: PathLike,
    n: int = 4,
    size: tuple[int, int] | None = None,
    seed: int = 0,
    *,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write the miniature ``layout`` (one of :data:`LAYOUTS`) into ``out``.

    Args:
        layout: ``kitti-raw``, ``kitti-depth``, ``nyu-v2-mat``, ``middlebury`` or
            ``cityscapes``.
        out: output folder; must be absent or empty, or a miniature when ``overwrite``.
        n: number of samples (drives, frames, scenes), 2..200.
        size: image size ``(H, W)``; ``None`` takes :data:`DEFAULT_SIZES`.
        seed: first scene seed (>= 0).
        overwrite: replace an existing miniature.

    Returns:
        The writer's record (see each ``write_*``): ``layout``, ``root``, ``n``, ``size``,
        ``seed``, ``files`` (number written), ``paths`` (files a config needs), ``splits``.

    Raises:
        UserError: unknown layout, bad numbers, an output folder that holds other files.
    """
    if layout not in _WRITERS:
        raise UserError(f"--layout {layout!r}: unknown; expected one of {', '.join(LAYOUTS)}")
    return _WRITERS[layout](
        out, n, DEFAULT_SIZES[layout] if size is None else size, seed, overwrite=overwrite
    )
