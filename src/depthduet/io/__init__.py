"""Depth, image and LiDAR file formats (numpy level).

Every depth reader returns a :class:`DepthMap`: ``values`` float32 ``(H, W)`` and ``valid`` bool
``(H, W)``. A pixel is invalid when its stored value is 0, negative, NaN, +-inf or equal to the
``invalid`` sentinel; invalid pixels have ``values == 0`` (the convention of DEVELOPING.md).
Stored values are divided by ``scale`` (``None`` means 1), so that ``scale`` names the unit:

=====================  ================  ===============================
data                   ``scale``         unit of ``values``
=====================  ================  ===============================
KITTI depth PNG        256               metres
TUM RGB-D PNG          5000              metres
millimetre PNG         1000              metres
Middlebury 2001 GT     8 (16 tsukuba)    disparity in pixels
=====================  ================  ===============================

Special encodings (``encoding=``) decode raw sensor values straight to metres:
``"kinect-raw"`` (NYU v2 raw Kinect, :func:`kinect_raw_to_metres`) and ``"sun-rotated"``
(SUN RGB-D bit-rotated millimetres, :func:`sun_depth_to_metres`).

Formats by suffix: ``.png .pgm .bmp .tif .tiff`` (8/16-bit integers), ``.pfm`` (both byte
orders, rows stored bottom-to-top), ``.npy``, ``.npz``, ``.mat`` (MATLAB v5 via scipy, v7.3 via
h5py, transposed back to row-major), ``.dpt`` (MPI Sintel). Writers write to a temporary file in
the target folder and rename it, so an interrupted write never leaves a half-written file.

Every problem with a file raises :class:`DepthIOError` (a :class:`~depthduet.errors.UserError`)
whose one-line message names the file and the problem.

The modules, by kind (everything below is importable from ``depthduet.io`` itself):

=========================================  =====================================================
:mod:`~depthduet.io.depth_files`           :func:`read_depth` / :func:`write_depth` over every
                                           depth format, :func:`make_depth_map`, invalid markers
:mod:`~depthduet.io.netpbm`                PGM / PPM, raw Kinect PGM
:mod:`~depthduet.io.floatmaps`             PFM, Sintel ``.dpt``
:mod:`~depthduet.io.numpy_files`           ``.npy`` / ``.npz`` with checked headers
:mod:`~depthduet.io.matlab`                ``.mat`` v5 (scipy) and v7.3 (h5py)
:mod:`~depthduet.io.images`                RGB / grey images through Pillow
:mod:`~depthduet.io.lidar`                 Velodyne scans, PLY point clouds
:mod:`~depthduet.io.calibration`           KITTI / Middlebury calibration text files
:mod:`~depthduet.io.units`                 raw sensor units and disparity to metres
:mod:`~depthduet.io.atomic`                atomic writes, fsync of files and folders
:mod:`~depthduet.io.common`                :class:`DepthIOError`, :class:`DepthMap`, checks
=========================================  =====================================================
"""

from __future__ import annotations

from depthduet.io.atomic import atomic_write, fsync_path
from depthduet.io.calibration import read_calib_txt
from depthduet.io.common import MAX_ELEMENTS, DepthIOError, DepthMap, PathLike
from depthduet.io.depth_files import (
    DEPTH_SUFFIXES,
    ENCODINGS,
    INTEGER_DEPTH_SUFFIXES,
    MAX_ROUNDING,
    check_integer_storable,
    fill_fits,
    integer_rounding_error,
    invalid_marker,
    make_depth_map,
    read_depth,
    read_depth_stored,
    write_depth,
)
from depthduet.io.floatmaps import read_dpt, read_pfm, write_dpt, write_pfm
from depthduet.io.images import IMAGE_SUFFIXES, read_image, write_image
from depthduet.io.lidar import read_velodyne, write_ply, write_velodyne
from depthduet.io.matlab import read_mat
from depthduet.io.netpbm import read_pgm_raw, read_pnm, write_pnm
from depthduet.io.numpy_files import check_numpy_magic
from depthduet.io.units import (
    disparity_to_depth,
    kinect_raw_to_metres,
    sun_depth_to_metres,
    sun_metres_to_depth,
)

__all__ = [
    "DepthIOError",
    "DepthMap",
    "DEPTH_SUFFIXES",
    "IMAGE_SUFFIXES",
    "ENCODINGS",
    "read_depth",
    "read_depth_stored",
    "invalid_marker",
    "fill_fits",
    "write_depth",
    "make_depth_map",
    "read_image",
    "write_image",
    "read_pnm",
    "write_pnm",
    "read_pgm_raw",
    "read_pfm",
    "write_pfm",
    "read_dpt",
    "write_dpt",
    "read_mat",
    "read_velodyne",
    "write_velodyne",
    "read_calib_txt",
    "write_ply",
    "kinect_raw_to_metres",
    "sun_depth_to_metres",
    "sun_metres_to_depth",
    "disparity_to_depth",
    "atomic_write",
    # also imported by name elsewhere in the package
    "fsync_path",
    "check_numpy_magic",
    "check_integer_storable",
    "integer_rounding_error",
    "INTEGER_DEPTH_SUFFIXES",
    "MAX_ROUNDING",
    "MAX_ELEMENTS",
    "PathLike",
]
