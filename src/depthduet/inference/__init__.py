"""depthduet.inference: run trained networks on user data.

* :mod:`depthduet.inference.dsr` - :class:`DepthUpsampler`, depth super-resolution with DSRNet
  (METHOD A) or the bicubic baseline, any unit, any size (tiled), invalid pixels preserved.
* :mod:`depthduet.inference.tiling` - overlapping tiles with context margins and smooth blending.
* :mod:`depthduet.inference.pretrained` - the shipped weights and their model cards.

Names are imported lazily so that importing one task's inference loads nothing of the other.
"""

from __future__ import annotations

from depthduet.registry import lazy_exports

_LAZY = {
    "DepthUpsampler": "depthduet.inference.dsr",
    "tiled_upsample": "depthduet.inference.tiling",
    "available_models": "depthduet.inference.pretrained",
    "DepthPredictor": "depthduet.inference.mde",
}

__all__ = sorted(_LAZY)

__getattr__ = lazy_exports("depthduet.inference", _LAZY)
