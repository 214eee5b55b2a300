"""Pictures of depth: colour maps with a robust range, error maps, LiDAR overlays, panels.

All functions work on numpy arrays (torch tensors are accepted and moved to the CPU) and
return ``uint8`` RGB images ``(H, W, 3)``; :func:`save_panel` lays several of them side by side
with titles and writes a PNG. Invalid pixels are drawn in a flat colour (black for depth) so
that holes are never confused with near or far values.

**One colour convention: near = warm.** The previews of ``depthduet show``, ``upsample`` and
``predict`` colour near surfaces red and far ones blue (``turbo``): depth (a distance) with the
colour map reversed, disparity (an inverse distance, large = near) as it is
(:func:`depth_colors`). Each picture has a colour bar with the values and their unit
(:func:`colorbar`, :func:`with_colorbar`); :func:`depth_panel` draws input | output | ground
truth | error with one colour range for all depth tiles.

* :mod:`.colors` - robust ranges, depth / error / mask colouring, any image as uint8 RGB;
* :mod:`.points` - points drawn on an image (projected LiDAR), point clouds (``.ply``);
* :mod:`.panels` - titled tiles laid out on a grid, saved as PNG;
* :mod:`.previews` - the near = warm previews, colour bars and :func:`depth_panel`.
"""

from __future__ import annotations

from depthduet.viz.colors import RGB as RGB  # the type of colour arguments
from depthduet.viz.colors import (
    colorize,
    colorize_depth,
    colorize_error,
    colorize_mask,
    robust_range,
    to_uint8_rgb,
)
from depthduet.viz.panels import make_panel, save_panel
from depthduet.viz.points import depth_to_points, overlay_points, save_depth_ply
from depthduet.viz.previews import KINDS as KINDS  # "depth", "disparity"
from depthduet.viz.previews import (
    NEAR_WARM_CMAP,
    colorbar,
    depth_colors,
    depth_panel,
    with_colorbar,
)

__all__ = [
    "robust_range",
    "colorize",
    "colorize_depth",
    "colorize_error",
    "colorize_mask",
    "to_uint8_rgb",
    "overlay_points",
    "make_panel",
    "save_panel",
    "depth_to_points",
    "save_depth_ply",
    "NEAR_WARM_CMAP",
    "depth_colors",
    "colorbar",
    "with_colorbar",
    "depth_panel",
]
