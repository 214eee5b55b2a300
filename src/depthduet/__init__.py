"""depthduet: depth learning with two networks that teach each other.

Two published methods, implemented from ``METHOD.md`` (see ``docs/METHOD.md``):

* **A** - single depth super-resolution with cross-task knowledge transfer
  (Sun et al., CVPR 2021): ``depthduet.recipes.ctkt``.
* **B** - semi-supervised monocular depth with mutual distillation
  (Baek et al., ICRA 2022): ``depthduet.recipes.mutual``.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
