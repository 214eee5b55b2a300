"""depthduet.inference: run trained networks on user data.

* :mod:`depthduet.inference.dsr` - :class:`DepthUpsampler`, depth super-resolution with DSRNet
  (METHOD A) or the bicubic baseline, any unit, any size (tiled), invalid pixels preserved.
* :mod:`depthduet.inference.tiling` - overlapping tiles with context margins and smooth blending.
* :mod:`depthduet.inference.pretrained` - the shipped weights and their model cards.

Names are imported lazily so that importing one task's inference loads nothing of the other.
"""

from __future__ import annotations

from depthduet.lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "depthduet.inference.dsr": ["DepthUpsampler"],
        "depthduet.inference.tiling": ["tiled_upsample"],
        "depthduet.inference.pretrained": ["available_models"],
        "depthduet.inference.mde": ["DepthPredictor"],
    },
)
