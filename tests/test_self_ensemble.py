"""Self-ensembles (depthduet.inference.self_ensemble) and the point / corner sampling grids of
DepthUpsampler: hand-computed ramps, shapes, gradients and bad input."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from depthduet.errors import UserError
from depthduet.inference import self_ensemble as se
from depthduet.inference.dsr import DepthUpsampler


def _interp_matrix(n: int, s: int, offset: float) -> torch.Tensor:
    """``(s*n, n)`` linear interpolation (extrapolating at the borders) that puts LR sample
    ``i`` at HR pixel ``s*i + offset``: exact on linear ramps."""
    u = (torch.arange(s * n, dtype=torch.float64) - offset) / s
    lo = u.floor().clamp(0, n - 2).long()
    t = u - lo
    a = torch.zeros(s * n, n, dtype=torch.float64)
    a[torch.arange(s * n), lo] = 1 - t
    a[torch.arange(s * n), lo + 1] = t
    return a


def _placing_net(s: int, offset: float):
    """A separable linear upsampler placing LR samples at HR offset ``offset`` of each block;
    ``(s - 1) / 2`` is how the shipped models place every input (block centres)."""

    def net(x: torch.Tensor) -> torch.Tensor:
        ah = _interp_matrix(x.shape[-2], s, offset).to(x.dtype)
        aw = _interp_matrix(x.shape[-1], s, offset).to(x.dtype)
        return ah @ x @ aw.T

    return net


def _ramp(h: int, w: int) -> torch.Tensor:
    i = torch.arange(h, dtype=torch.float64)[:, None]
    j = torch.arange(w, dtype=torch.float64)[None, :]
    return (i + 10 * j)[None, None]


def _hr_ramp(h: int, w: int, s: int, offset: float) -> torch.Tensor:
    """The HR ramp whose samples at ``s*i + offset`` are :func:`_ramp`."""
    y = (torch.arange(s * h, dtype=torch.float64)[:, None] - offset) / s
    x = (torch.arange(s * w, dtype=torch.float64)[None, :] - offset) / s
    return (y + 10 * x)[None, None]


def test_docstring_examples():
    res = doctest.testmod(se)
    assert res.attempted >= 4 and res.failed == 0


@pytest.mark.parametrize("s", [2, 3, 4, 8])
def test_flip_grid_shift_hand_values(s):
    # samples at offset s//2 of a block move to s-1-s//2 under a flip
    assert se.flip_grid_shift(s) == (s - 1 - s // 2) - s // 2


def test_shift_replicate_hand_values_and_zero():
    x = torch.arange(12.0).reshape(3, 4)
    assert torch.equal(se.shift_replicate(x, -1, 0), x)
    assert se.shift_replicate(x, -1, 1).tolist() == [[0, 0, 1, 2], [4, 4, 5, 6], [8, 8, 9, 10]]
    assert se.shift_replicate(x, 0, -1).tolist() == [[4, 5, 6, 7], [8, 9, 10, 11], [8, 9, 10, 11]]


@pytest.mark.parametrize("s", [2, 4, 8])
def test_block_centred_network_is_reproduced_without_point_samples(s):
    net = _placing_net(s, (s - 1) / 2)
    x = torch.rand(2, 1, 7, 5, dtype=torch.float64)
    y = se.dihedral_ensemble(net, x, s)
    assert y.shape == (2, 1, 7 * s, 5 * s)
    torch.testing.assert_close(y, net(x))
    torch.testing.assert_close(se.transpose_ensemble(net, x), net(x))


@pytest.mark.parametrize("s", [2, 4, 8])
def test_point_samples_move_a_block_centred_ramp_onto_the_point_grid(s):
    # a block-centred model reads point samples of a ramp as the ramp shifted by half a pixel;
    # the aligned members average to the ramp on the s//2 grid (interior: no border shifts)
    net = _placing_net(s, (s - 1) / 2)
    x = _ramp(6, 9)
    y = se.dihedral_ensemble(net, x, s, point_samples=True)
    inner = (..., slice(s, -s), slice(s, -s))
    torch.testing.assert_close(y[inner], _hr_ramp(6, 9, s, s // 2)[inner])
    torch.testing.assert_close(net(x)[inner], _hr_ramp(6, 9, s, (s - 1) / 2)[inner])


@pytest.mark.parametrize("s", [2, 4, 8])
def test_point_samples_reproduce_a_network_that_places_them_itself(s):
    # a network trained on point samples puts them at s//2: every aligned member agrees
    net = _placing_net(s, s // 2)
    x = torch.rand(1, 1, 7, 9, dtype=torch.float64)
    inner = (..., slice(s, -s), slice(s, -s))
    y = se.dihedral_ensemble(net, x, s, point_samples=True)
    torch.testing.assert_close(y[inner], net(x)[inner])


def test_transpose_ensemble_keeps_every_grid_on_non_square_input():
    s = 4
    for offset in ((s - 1) / 2, s // 2, 0):
        net = _placing_net(s, offset)
        x = torch.rand(1, 1, 6, 11, dtype=torch.float64)
        torch.testing.assert_close(se.transpose_ensemble(net, x), net(x))


def _conv_net():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(1, 4, 3, padding=1).double()
    return lambda x: F.pixel_shuffle(conv(x), 2)


def test_dihedral_is_the_mean_of_the_eight_members():
    net = _conv_net()
    x = torch.rand(1, 1, 5, 6, dtype=torch.float64)
    members = se._dihedral_members(net, x)
    assert len(members) == 8 and sum(1 for _, f in members if not f) == 2
    torch.testing.assert_close(se.dihedral_ensemble(net, x, 2), sum(z for z, _ in members) / 8)
    # each flipped member moved back by one pixel along its flipped axes
    shifted = []
    for z, flips in members:
        for axis in flips:
            z = se.shift_replicate(z, axis, 1)
        shifted.append(z)
    torch.testing.assert_close(se.dihedral_ensemble(net, x, 2, True), sum(shifted) / 8)


@pytest.mark.parametrize(
    "kind, point", [("dihedral", True), ("dihedral", False), ("transpose", False)]
)
def test_gradcheck(kind, point):
    net = _conv_net()
    x = torch.rand(1, 1, 3, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: se.self_ensemble(net, t, 2, kind, point), (x,))


def test_bad_kinds_are_user_errors():
    x = torch.zeros(1, 1, 2, 2)
    with pytest.raises(UserError, match="self-ensemble: expected one of none, transpose"):
        se.self_ensemble(lambda t: t, x, 2, "flips")
    with pytest.raises(UserError, match="dihedral self-ensemble only"):
        se.self_ensemble(lambda t: t, x, 2, "transpose", point_samples=True)


class _Module(torch.nn.Module):
    """A block-centred linear upsampler as a module (what DepthUpsampler runs)."""

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.scale = scale
        self.fn = _placing_net(scale, (scale - 1) / 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x.double()).to(x.dtype)


@pytest.mark.parametrize("grid, offset", [("center", 1.5), ("point", 2.0), ("corner", 0.0)])
def test_upsampler_places_a_ramp_on_the_stated_grid(grid, offset):
    s = 4
    up = DepthUpsampler(_Module(s), s, device="cpu", tile=0, fast=False, clamp=False)
    lr = (_ramp(8, 7)[0, 0] + 1.0).numpy()  # positive: all valid
    out = up.upsample(lr, lr_grid=grid)
    want = _hr_ramp(8, 7, s, offset)[0, 0].numpy() + 1.0
    inner = (slice(2 * s, -2 * s), slice(2 * s, -2 * s))
    np.testing.assert_allclose(out.values[inner], want[inner], atol=1e-4)


def test_upsampler_self_ensemble_setting_and_validity():
    s = 4
    rng = np.random.default_rng(0)
    lr = rng.uniform(1.0, 3.0, (12, 10)).astype(np.float32)
    lr[3, 4] = 0.0  # a hole
    plain = DepthUpsampler(_Module(s), s, device="cpu", tile=0, fast=False)
    ens = DepthUpsampler(_Module(s), s, device="cpu", tile=0, fast=False, self_ensemble="dihedral")
    a, b = plain.upsample(lr), ens.upsample(lr)
    np.testing.assert_allclose(a.values, b.values, atol=1e-4)  # equivariant network
    np.testing.assert_array_equal(a.valid, b.valid)
    assert not b.valid[12:16, 16:20].any()
    assert ens.describe()["self_ensemble"] == "dihedral"
    assert plain.describe()["self_ensemble"] == "none"
    with pytest.raises(UserError, match="self-ensemble"):
        DepthUpsampler(_Module(s), s, device="cpu", self_ensemble="flips")


def test_bicubic_baseline_ignores_the_ensemble_setting():
    lr = np.random.default_rng(1).uniform(1.0, 2.0, (8, 8))
    a = DepthUpsampler.bicubic(2, device="cpu").upsample(lr)
    b = DepthUpsampler.bicubic(2, device="cpu", self_ensemble="dihedral").upsample(lr)
    np.testing.assert_array_equal(a.values, b.values)
    assert DepthUpsampler.bicubic(2, device="cpu").describe()["self_ensemble"] == "none"


def test_command_line_choices_match_the_library():
    from depthduet.apps import upsample as app
    from depthduet.inference.dsr import LR_GRIDS

    assert app.LR_GRIDS == LR_GRIDS
    assert app.SELF_ENSEMBLES == tuple(se.SELF_ENSEMBLES)
