"""Geometric self-ensembles for super-resolution networks, aligned on the LR sampling grid.

A self-ensemble runs the network on transformed copies of its input, undoes each transform on
the output and averages (Lim et al., EDSR+, 2017). For depth maps the eight transforms of the
square (the dihedral group: transpositions and flips of either axis) are all plausible inputs,
but a flip does not always map the LR sampling grid onto itself:

* **block-centred LR** (block means, bicubic resizes with or without antialiasing): LR pixel
  ``i`` stands for the HR block centre ``s*i + (s-1)/2``; a flip reflects block centres onto
  block centres, so the flipped members need no correction;
* **point samples** at HR pixel ``s*i + o`` of each block (``o = s//2``: ``hr[s//2::s]``;
  ``o = 0``: ``hr[::s]``, handled by the caller's integer shift of ``s//2``): a flip moves the
  samples to offset ``s - 1 - o``, i.e. by :func:`flip_grid_shift` ``= s - 1 - 2*(s//2)`` HR
  pixels (``-1`` for every even ``s``).

Plain bicubic resizes and point samples look alike at low resolution (both are nearly
unfiltered samples) but sit half an HR pixel apart for even ``s``, and the shipped models
place every input on the block centres. With ``point_samples=True`` the flipped members are
moved back by ``-flip_grid_shift(s)`` pixels along their flipped axes after the flip is undone.
Whatever offset ``p`` a network places point samples at, an unflipped member then errs by
``p - s//2`` and a flipped one by ``s//2 - p``, so their mean is centred on the point grid: a
block-centred network (``p = (s-1)/2``, the shipped models) gets half a pixel on either side,
a network trained on point samples alone (``p = s//2``) is reproduced (``docs/degradations.md``
gives the measured effect on the held-out real maps). A transposition keeps every grid, so
``"transpose"`` (two members) needs no correction on any input.

Shifts repeat the last row / column at the border they open.

Example:
    >>> import torch, torch.nn.functional as F
    >>> up = lambda x: F.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False)
    >>> x = torch.rand(1, 1, 8, 6)
    >>> y = dihedral_ensemble(up, x, 4)     # bicubic is flip-equivariant on block centres
    >>> y.shape, torch.allclose(y, up(x), atol=1e-5)
    (torch.Size([1, 1, 32, 24]), True)
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from depthduet.errors import UserError

__all__ = [
    "SELF_ENSEMBLES",
    "check_self_ensemble",
    "dihedral_ensemble",
    "flip_grid_shift",
    "self_ensemble",
    "shift_replicate",
    "transpose_ensemble",
]

#: the self-ensembles :func:`self_ensemble` runs: one, two and eight network passes
SELF_ENSEMBLES = ("none", "transpose", "dihedral")

Network = Callable[[Tensor], Tensor]


def check_self_ensemble(kind: str) -> None:
    """Raise :class:`UserError` unless ``kind`` is one of :data:`SELF_ENSEMBLES`."""
    if kind not in SELF_ENSEMBLES:
        raise UserError(f"self-ensemble: expected one of {', '.join(SELF_ENSEMBLES)}, got {kind!r}")


def flip_grid_shift(scale: int) -> int:
    """HR pixels by which a flip moves centre-grid point samples: ``s - 1 - 2*(s//2)``.

    >>> [flip_grid_shift(s) for s in (2, 3, 4, 8, 16)]
    [-1, 0, -1, -1, -1]
    """
    s = int(scale)
    return s - 1 - 2 * (s // 2)


def shift_replicate(x: Tensor, dim: int, d: int) -> Tensor:
    """``out[..., i, ...] = x[..., i - d, ...]`` along ``dim``, repeating the border value.

    Args:
        x: a tensor of any shape.
        dim: the axis. d: the shift in pixels (positive: towards higher indices).

    Returns:
        a tensor of the same shape as ``x``.

    >>> shift_replicate(torch.tensor([1.0, 2.0, 3.0]), 0, 1)
    tensor([1., 1., 2.])
    >>> shift_replicate(torch.tensor([1.0, 2.0, 3.0]), 0, -1)
    tensor([2., 3., 3.])
    """
    if d == 0:
        return x
    n = x.shape[dim]
    idx = (torch.arange(n, device=x.device) - d).clamp(0, n - 1)
    return x.index_select(dim, idx)


def _transposed(x: Tensor) -> Tensor:
    return x.transpose(-1, -2)


def transpose_ensemble(net: Network, x: Tensor) -> Tensor:
    """Mean of ``net(x)`` and ``net(x^T)^T``: exact on every LR sampling grid.

    Args:
        net: maps ``(B, C, h, w)`` to ``(B, C', s*h, s*w)`` for any ``h, w``.
        x: ``(B, C, h, w)``.

    Returns:
        ``(B, C', s*h, s*w)``.
    """
    return 0.5 * (net(x) + _transposed(net(_transposed(x))))


def _dihedral_members(net: Network, x: Tensor) -> list[tuple[Tensor, tuple[int, ...]]]:
    """The eight outputs brought back to the input's orientation, each with the axes (``-2``,
    ``-1``, in output coordinates) along which its input was flipped."""
    out = []
    for transpose in (False, True):
        for flips in ((), (-2,), (-1,), (-2, -1)):
            y = _transposed(x) if transpose else x
            z = net(y.flip(flips) if flips else y)
            z = z.flip(flips) if flips else z
            if transpose:
                z = _transposed(z)
                flips = tuple(-3 - d for d in flips)  # -2 <-> -1
            out.append((z, flips))
    return out


def dihedral_ensemble(net: Network, x: Tensor, scale: int, point_samples: bool = False) -> Tensor:
    """Mean over the eight flips and transpositions of the input (module docstring).

    Args:
        net: maps ``(B, C, h, w)`` to ``(B, C', s*h, s*w)`` for any ``h, w``.
        x: ``(B, C, h, w)``.
        scale: ``s``.
        point_samples: the LR pixels are point samples on the ``s//2`` grid: move the flipped
            members back by ``-flip_grid_shift(scale)`` HR pixels along their flipped axes.

    Returns:
        ``(B, C', s*h, s*w)``.
    """
    d = -flip_grid_shift(scale) if point_samples else 0
    total: Tensor | None = None
    for z, flips in _dihedral_members(net, x):
        for axis in flips:
            z = shift_replicate(z, axis, d)
        total = z if total is None else total + z
    assert total is not None
    return total / 8


def self_ensemble(
    net: Network, x: Tensor, scale: int, kind: str = "none", point_samples: bool = False
) -> Tensor:
    """``net(x)`` through the self-ensemble ``kind`` (:data:`SELF_ENSEMBLES`).

    Args:
        net: maps ``(B, C, h, w)`` to ``(B, C', s*h, s*w)``.
        x: ``(B, C, h, w)``.
        scale: ``s``.
        kind: ``"none"`` (one pass), ``"transpose"`` (two) or ``"dihedral"`` (eight).
        point_samples: align the dihedral members on the point-sample grid
            (:func:`dihedral_ensemble`); needs ``kind="dihedral"``.

    Returns:
        ``(B, C', s*h, s*w)``.

    Raises:
        UserError: an unknown ``kind``, or ``point_samples`` with another kind.
    """
    check_self_ensemble(kind)
    if point_samples and kind != "dihedral":
        raise UserError(
            f"self-ensemble {kind!r}: point samples are aligned by the dihedral self-ensemble only"
        )
    if kind == "transpose":
        return transpose_ensemble(net, x)
    if kind == "dihedral":
        return dihedral_ensemble(net, x, scale, point_samples)
    return net(x)
