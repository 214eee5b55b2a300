"""Loss functions of both methods (each module cites its METHOD.md section).

* :mod:`~depthduet.losses.photometric` - SSIM (monodepth2's 3x3 box filter), photometric error,
  per-pixel minimum reprojection and auto-masking (METHOD.md B.3).
* :mod:`~depthduet.losses.smoothness` - edge-aware smoothness on mean-normalised disparity (B.3).
* :mod:`~depthduet.losses.confidence` - confidence-weighted likelihood and point filtering (B.1, B.2).
* :mod:`~depthduet.losses.uncertainty_distill` - mutual distillation with uncertainty (B.4).
* :mod:`~depthduet.losses.distill` - output-space and affinity-space distillation, teacher
  selection (A.3).
* :mod:`~depthduet.losses.structure` - structure ground truth and loss (A.4).
"""

from depthduet.losses.photometric import photometric_error, ssim

__all__ = ["ssim", "photometric_error"]
