"""depthduet: depth learning with two networks that teach each other.

Two published methods, implemented from ``METHOD.md`` (see ``docs/METHOD.md``):

* **A** - single depth super-resolution with cross-task knowledge transfer
  (Sun et al., CVPR 2021): ``depthduet.recipes.ctkt``.
* **B** - semi-supervised monocular depth with mutual distillation
  (Baek et al., ICRA 2022): ``depthduet.recipes.mutual``.

Use from Python (imported on first use, so ``import depthduet`` stays fast)::

    up = depthduet.load_upsampler("dsr-x4")       # depth super-resolution, any unit
    hr = up(lr)                                    # (h, w) -> (4h, 4w), numpy or torch
    mde = depthduet.load_predictor("mde-driving")  # monocular depth + confidence
    pred = mde("frame.png", K="camera.json")       # .depth, .confidence, .points
    depthduet.list_models()                        # shipped models and their cards

See :mod:`depthduet.api`.
"""

from __future__ import annotations

__version__ = "0.1.0"

from depthduet.lazy import lazy_exports

_names, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "depthduet.api": [
            "load_upsampler",
            "load_predictor",
            "list_models",
            "list_examples",
            "example_path",
            "Upsampler",
            "Predictor",
            "Prediction",
        ]
    },
)
__all__ = ["__version__", *_names]
