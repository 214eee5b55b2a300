"""Loss functions of both methods (each module cites its METHOD.md section).

* :mod:`~depthduet.losses.photometric` - SSIM index and loss (monodepth2's 3x3 box filter),
  photometric error, per-pixel minimum reprojection and auto-masking (METHOD.md B.3).
* :mod:`~depthduet.losses.smoothness` - edge-aware smoothness on mean-normalised disparity (B.3).
* :mod:`~depthduet.losses.confidence` - confidence-weighted likelihood and point filtering (B.1, B.2).
* :mod:`~depthduet.losses.uncertainty_distill` - mutual distillation with uncertainty (B.4).
* :mod:`~depthduet.losses.distill` - output-space and affinity-space distillation (A.3; the
  teacher choice is a training schedule: :mod:`depthduet.recipes.ctkt.teacher`).
* :mod:`~depthduet.losses.structure` - structure ground truth and loss (A.4).
"""

from depthduet.losses.photometric import photometric_error, ssim, ssim_index, ssim_loss

# ``ssim`` is the deprecated old name of ``ssim_loss`` (it warns when called)
__all__ = ["ssim_index", "ssim_loss", "ssim", "photometric_error"]
