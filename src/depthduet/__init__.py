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

#: public names -> the module defining them (imported by :func:`__getattr__` on first use)
_LAZY = {
    "load_upsampler": "depthduet.api",
    "load_predictor": "depthduet.api",
    "list_models": "depthduet.api",
    "list_examples": "depthduet.api",
    "example_path": "depthduet.api",
    "Upsampler": "depthduet.api",
    "Predictor": "depthduet.api",
    "Prediction": "depthduet.api",
}

__all__ = ["__version__", *sorted(_LAZY)]


def __getattr__(name: str) -> object:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'depthduet' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(mod), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
