"""Depth vocabulary: the small tensor operations every layer above shares.

One place for what models, losses and inference all do to depth maps:

* :func:`normalize_depth` / :func:`denormalize_depth`: per-sample affine normalisation of depth
  to about ``[0, 1]`` from its valid pixels, and back (METHOD.md A.1);
* :func:`fill_invalid`: hole filling by normalised convolution on an image pyramid, so that
  invalid pixels never leak zeros into a network;
* :func:`masked_mean`: the mean over a mask (bool or weights), with the smallest denominator
  given by the caller;
* :func:`check_depth_batch`: the shape check of a ``(B, 1, H, W)`` depth batch;
* :func:`default_device`: the device a setting of ``auto`` means (CUDA when available).

Shapes follow the package: ``(B, 1, H, W)`` depth, ``(B, 1, H, W)`` or ``(B, C, H, W)`` masks
(bool or {0, 1}); a pixel is *valid* where its mask is set. This module imports only torch and
:mod:`depthduet.errors`, so anything above the file formats may use it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from depthduet.errors import UserError

__all__ = [
    "normalize_depth",
    "denormalize_depth",
    "fill_invalid",
    "masked_mean",
    "check_depth_batch",
    "default_device",
    "NORMS",
]

#: values of ``norm`` in :func:`normalize_depth`
NORMS = ("minmax", "percentile")


def check_depth_batch(x: Tensor, what: str) -> None:
    """Raise ``ValueError`` naming ``what`` unless ``x`` is a ``(B, 1, H, W)`` tensor."""
    if x.dim() != 4 or x.shape[1] != 1:
        raise ValueError(f"{what}: expected a (B, 1, H, W) tensor, got {tuple(x.shape)}")


def fill_invalid(x: Tensor, valid: Tensor) -> Tensor:
    """Fill invalid pixels from their valid surroundings (normalised convolution on a pyramid).

    At each level ``x*valid`` and ``valid`` are 2x2 average-pooled and divided, which gives the
    mean of the valid pixels under each coarse cell; coarser levels fill what finer ones cannot.
    Each invalid pixel takes the (bilinearly upsampled) value of the finest level that covers it.
    Valid pixels are returned unchanged; a sample with no valid pixel becomes all zeros. What
    invalid pixels hold never matters, NaN and inf included; valid pixels must be finite.

    Args:
        x: ``(B, C, H, W)`` values (anything at invalid pixels).
        valid: ``(B, 1, H, W)`` or ``(B, C, H, W)`` bool / {0, 1}.

    Returns:
        ``(B, C, H, W)`` in the dtype of ``x``, every pixel finite when the valid ones are.

    Example:
        >>> x = torch.tensor([[[[1.0, 0.0], [3.0, float("nan")]]]])
        >>> valid = torch.tensor([[[[True, False], [True, False]]]])
        >>> fill_invalid(x, valid)  # the 2x2 mean of the valid pixels fills the holes
        tensor([[[[1., 2.],
                  [3., 2.]]]])
    """
    v = valid.to(x.dtype).expand_as(x)
    x = torch.where(v > 0, x, torch.zeros_like(x))
    if bool((v > 0).all()):
        return x
    return _fill_rec(x, v)


def _fill_rec(x: Tensor, v: Tensor) -> Tensor:
    """One pyramid level of :func:`fill_invalid`: ``x (B, C, h, w)`` (0 where ``v`` is 0) and
    its validity ``v (B, C, h, w)`` in {0, 1} -> ``(B, C, h, w)`` filled."""
    h, w = x.shape[-2:]
    if h == 1 and w == 1:
        return x  # v == 0 here means a sample without any valid pixel: zeros
    num = F.avg_pool2d(x * v, 2, 2, ceil_mode=True)
    den = F.avg_pool2d(v, 2, 2, ceil_mode=True)
    coarse_valid = (den > 0).to(x.dtype)
    coarse = num / den.clamp_min(1e-12)
    if not bool((coarse_valid > 0).all()):
        coarse = _fill_rec(coarse, coarse_valid)
    up = F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)
    return torch.where(v > 0, x, up)


def _percentile_range(
    flat: Tensor, vflat: Tensor, pct: tuple[float, float]
) -> tuple[Tensor, Tensor]:
    """Per row of ``flat (B, N)``, the ``pct`` percentiles of the entries where ``vflat (B, N)``
    is set: ``(lo (B,), hi (B,))``; a row without any gets ``(inf, -inf)``."""
    q = torch.tensor([pct[0] / 100.0, pct[1] / 100.0], dtype=flat.dtype, device=flat.device)
    los, his = [], []
    for i in range(flat.shape[0]):
        vals = flat[i][vflat[i]]
        if vals.numel() == 0:
            los.append(flat.new_tensor(float("inf")))
            his.append(flat.new_tensor(float("-inf")))
        else:
            lh = torch.quantile(vals, q)
            los.append(lh[0])
            his.append(lh[1])
    return torch.stack(los), torch.stack(his)


def normalize_depth(
    depth: Tensor,
    valid: Tensor | None = None,
    norm: str = "minmax",
    pct: tuple[float, float] = (1.0, 99.0),
) -> tuple[Tensor, Tensor, Tensor]:
    """Per-sample affine normalisation of depth to about ``[0, 1]`` from its valid pixels.

    Invalid pixels are ignored (NaN and inf included) and come out as 0; valid pixels must be
    finite.

    Args:
        depth: ``(B, 1, H, W)`` in any unit.
        valid: ``(B, 1, H, W)`` bool, or ``None`` for all valid.
        norm: ``"minmax"`` (``lo, hi`` = min, max of the valid pixels) or ``"percentile"``
            (``lo, hi`` = the ``pct`` percentiles; values outside map outside ``[0, 1]``).
        pct: lower and upper percentiles for ``norm="percentile"``.

    Returns:
        ``(x_n, lo, hi)``: ``x_n = (depth - lo) / (hi - lo)`` with 0 at invalid pixels, shape
        ``(B, 1, H, W)``; ``lo`` and ``hi`` of shape ``(B, 1, 1, 1)``. A sample whose valid pixels
        are constant (or absent) gets ``hi = lo + 1`` (``lo = 0`` when absent; ``hi = 2 lo``
        when ``lo`` is so large that ``lo + 1 == lo``).

    Raises:
        UserError: ``norm`` is not one of :data:`NORMS`.
        ValueError: ``depth`` is not ``(B, 1, H, W)``.

    Example:
        >>> depth = torch.tensor([[[[2.0, 4.0], [6.0, 100.0]]]])
        >>> valid = torch.tensor([[[[True, True], [True, False]]]])
        >>> x_n, lo, hi = normalize_depth(depth, valid)
        >>> x_n
        tensor([[[[0.0000, 0.5000],
                  [1.0000, 0.0000]]]])
        >>> lo.flatten().tolist(), hi.flatten().tolist()
        ([2.0], [6.0])
    """
    check_depth_batch(depth, "normalize_depth depth")
    if valid is None:
        valid = torch.ones_like(depth, dtype=torch.bool)
    valid = valid.bool()
    if norm not in NORMS:
        raise UserError(f"norm: expected 'minmax' or 'percentile', got {norm!r}")
    b = depth.shape[0]
    flat = depth.reshape(b, -1)
    vflat = valid.reshape(b, -1)
    if norm == "minmax":
        inf = torch.tensor(float("inf"), dtype=depth.dtype, device=depth.device)
        lo = torch.where(vflat, flat, inf).amin(dim=1)
        hi = torch.where(vflat, flat, -inf).amax(dim=1)
    else:
        lo, hi = _percentile_range(flat, vflat, pct)
    empty = ~vflat.any(dim=1)
    lo = torch.where(empty, torch.zeros_like(lo), lo)
    hi = torch.where(empty, torch.zeros_like(hi), hi)
    flat_range = (hi - lo) <= 1e-12 * torch.clamp(lo.abs(), min=1.0)
    # a span of 1, or |lo| where lo + 1 == lo in this precision (constant maps near 1e20)
    span = torch.where(lo + 1.0 == lo, lo.abs(), torch.ones_like(lo))
    hi = torch.where(flat_range, lo + span, hi)
    lo = lo.view(b, 1, 1, 1)
    hi = hi.view(b, 1, 1, 1)
    x_n = torch.where(valid, (depth - lo) / (hi - lo), torch.zeros_like(depth))
    return x_n, lo, hi


def denormalize_depth(x_n: Tensor, lo: Tensor, hi: Tensor) -> Tensor:
    """Inverse of :func:`normalize_depth`: ``x_n * (hi - lo) + lo`` (shapes broadcast).

    Args:
        x_n: ``(B, 1, H, W)`` normalised depth.
        lo: ``(B, 1, 1, 1)`` per-sample offset.
        hi: ``(B, 1, 1, 1)`` per-sample upper value.

    Returns:
        ``(B, 1, H, W)`` depth in the original unit.

    Example:
        >>> x_n = torch.tensor([[[[0.0, 0.5], [1.0, 0.25]]]])
        >>> denormalize_depth(x_n, torch.full((1, 1, 1, 1), 2.0), torch.full((1, 1, 1, 1), 6.0))
        tensor([[[[2., 4.],
                  [6., 3.]]]])
    """
    return x_n * (hi - lo) + lo


def masked_mean(x: Tensor, mask: Tensor | None = None, *, min_weight: float) -> Tensor:
    """Mean of ``x`` over the elements where ``mask`` is set; all channels count.

    ``sum(x * w) / max(sum(w), min_weight)`` with ``w`` the mask as weights. The caller names the
    smallest denominator, because the two habits of the package give different numbers:

    * ``min_weight=1e-12``: a weighted mean (soft weights in [0, 1] are normalised by their
      sum); an empty mask gives 0;
    * ``min_weight=1.0``: never divide by less than one element (a mask whose weights sum to
      less than 1 gives a smaller value than the weighted mean); an empty mask gives 0.

    Either way the result stays attached to the graph of ``x``. Masked-out elements are
    multiplied by 0, which does not hide NaN or inf: zero or fill them first.

    Args:
        x: values of any shape, e.g. ``(B, C, H, W)``.
        mask: bool or weights, broadcastable to the shape of ``x`` (e.g. ``(B, 1, H, W)``);
            ``None`` means every element (``x.mean()``, ``min_weight`` unused).
        min_weight: the denominator, the total weight of the mask, is clamped to at least this.

    Returns:
        ``()`` scalar tensor.

    Example:
        >>> x = torch.tensor([[[[1.0, 2.0], [3.0, 10.0]]]])
        >>> m = torch.tensor([[[[True, True], [True, False]]]])
        >>> masked_mean(x, m, min_weight=1e-12)
        tensor(2.)
        >>> half = torch.tensor([[[[0.25, 0.25], [0.0, 0.0]]]])
        >>> masked_mean(x, half, min_weight=1e-12), masked_mean(x, half, min_weight=1.0)
        (tensor(1.5000), tensor(0.7500))
    """
    if mask is None:
        return x.mean()
    w = mask.to(x.dtype).expand_as(x)
    return (x * w).sum() / w.sum().clamp_min(min_weight)


def default_device() -> str:
    """What a device setting of ``auto`` means: ``"cuda"`` when CUDA is available, else
    ``"cpu"``."""
    return "cuda" if torch.cuda.is_available() else "cpu"
