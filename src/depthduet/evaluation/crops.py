"""Crop boxes of the evaluation protocols: which rows and columns of a map count.

A box is ``(top, bottom, left, right)`` with exclusive ends, for an ``(H, W)`` map.
"""

from __future__ import annotations

import math

import numpy as np

from depthduet.errors import UserError

__all__ = [
    "Box",
    "GARG_CROP",
    "EIGEN_NYU_CROP",
    "garg_crop_box",
    "eigen_nyu_crop_box",
    "border_crop_box",
]

#: Garg et al. (ECCV 2016) crop as fractions (top, bottom, left, right) of (H, H, W, W).
GARG_CROP: tuple[float, float, float, float] = (0.40810811, 0.99189189, 0.03594771, 0.96405229)
#: Eigen et al. NYU crop on the 480 x 640 frame, (top, bottom, left, right), end exclusive.
EIGEN_NYU_CROP: tuple[int, int, int, int] = (45, 471, 41, 601)

Box = tuple[int, int, int, int]


def garg_crop_box(height: int, width: int) -> Box:
    """The Garg crop used for the KITTI Eigen split (monodepth2, ``eigen``).

    Rows ``[int(0.40810811 H), int(0.99189189 H))`` and columns
    ``[int(0.03594771 W), int(0.96405229 W))``, truncation towards zero as ``np.int32`` does.
    On a 375 x 1242 KITTI frame this is rows 153:371, columns 44:1197.

    Returns:
        ``(top, bottom, left, right)`` with exclusive ends, for an ``(H, W) = (height, width)``
        map.
    """
    t, b, l, r = GARG_CROP
    box = np.array([t * height, b * height, l * width, r * width]).astype(np.int32)
    return int(box[0]), int(box[1]), int(box[2]), int(box[3])


def _round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def eigen_nyu_crop_box(height: int, width: int) -> Box:
    """The Eigen crop for NYU v2 (BTS / Eigen et al. NIPS 2014).

    On the native 480 x 640 frame: rows 45:471, columns 41:601 (end exclusive). For another size
    every bound is scaled proportionally and rounded half up: ``top = round(45 H / 480)``,
    ``bottom = round(471 H / 480)``, ``left = round(41 W / 640)``, ``right = round(601 W / 640)``
    (e.g. 240 x 320 -> rows 23:236, columns 21:301 - halves round up).

    Returns:
        ``(top, bottom, left, right)`` with exclusive ends.
    """
    t, b, l, r = EIGEN_NYU_CROP
    return (
        _round_half_up(t * height / 480),
        _round_half_up(b * height / 480),
        _round_half_up(l * width / 640),
        _round_half_up(r * width / 640),
    )


def border_crop_box(height: int, width: int, border: int) -> Box:
    """Drop ``border`` pixels on every side: rows ``border:H-border``, cols ``border:W-border``.

    Raises:
        UserError: the map is too small to keep any pixel.
    """
    if 2 * border >= height or 2 * border >= width:
        raise UserError(
            f"a {height}x{width} map is too small for a {border}-pixel border crop on each side"
        )
    return border, height - border, border, width - border
