"""The fast CPU path of DSRNet (depthduet.inference.fast): exact rewrites, same outputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from depthduet.inference.dsr import DepthUpsampler
from depthduet.inference.fast import FAST_PLAN, FastDSRNet, ShuffleDeconv, deconv_phase_taps
from depthduet.inference.pretrained import DSR_KIND, available_models
from depthduet.models.blocks import PROJECTION_SETTINGS
from depthduet.models.dbpn import DSRNet


def _smooth(h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return (2.0 + np.sin(yy / 3.0) + 0.5 * np.cos(xx / 4.0)).astype(np.float32)


def test_phase_taps_cover_every_kernel_index_once() -> None:
    for k, s, p in PROJECTION_SETTINGS.values():
        taps, lo, hi = deconv_phase_taps(k, s, p)
        assert (lo, hi) == (1, 1) and all(len(row) == 3 for row in taps)  # a 3x3 conv
        used = sorted(t for row in taps for t in row if t >= 0)
        assert used == list(range(k))  # each tap of the transposed kernel used exactly once
    with pytest.raises(ValueError, match="k - 2p == s"):
        deconv_phase_taps(7, 2, 2)


@pytest.mark.parametrize("scale", sorted(PROJECTION_SETTINGS))
@pytest.mark.parametrize("mode", ["dense", "grouped"])
def test_shuffle_deconv_equals_conv_transpose(scale: int, mode: str) -> None:
    k, s, p = PROJECTION_SETTINGS[scale]
    torch.manual_seed(scale)
    deconv = nn.ConvTranspose2d(5, 3, k, s, p).double()
    rewrite = ShuffleDeconv(deconv, mode).double()
    for shape in [(2, 5, 7, 9), (1, 5, 1, 1), (1, 5, 4, 13)]:
        x = torch.randn(*shape, dtype=torch.float64)
        ref = deconv(x)
        out = rewrite(x)
        assert out.shape == ref.shape == (shape[0], 3, s * shape[2], s * shape[3])
        torch.testing.assert_close(out, ref, rtol=0, atol=1e-12)
    no_bias = nn.ConvTranspose2d(4, 2, k, s, p, bias=False).double()
    x = torch.randn(1, 4, 5, 6, dtype=torch.float64)
    torch.testing.assert_close(
        ShuffleDeconv(no_bias, mode).double()(x), no_bias(x), atol=1e-12, rtol=0
    )


def test_shuffle_deconv_refuses_other_settings() -> None:
    with pytest.raises(ValueError, match="k - 2p == s"):
        ShuffleDeconv(nn.ConvTranspose2d(2, 2, 4, 2, 0))
    with pytest.raises(ValueError, match="ungrouped"):
        ShuffleDeconv(nn.ConvTranspose2d(2, 2, 6, 2, 2, groups=2))


@pytest.mark.parametrize("scale", [2, 4, 8, 16])
@pytest.mark.parametrize("deconv", ["native", "dense", "grouped"])
@pytest.mark.parametrize("stages", [1, 3])
def test_fast_dsrnet_equals_dsrnet(scale: int, deconv: str, stages: int) -> None:
    torch.manual_seed(0)
    net = DSRNet(scale, n_feats=8, n_base=4, n_stages=stages).eval()
    with torch.no_grad():  # non-trivial PReLU slopes and recon bias
        for m in net.modules():
            if isinstance(m, nn.PReLU):
                m.weight.uniform_(-0.3, 0.6)
        net.recon.bias.fill_(0.05)
    fast = FastDSRNet.from_dsrnet(net, deconv)
    for shape in [(1, 1, 9, 7), (2, 1, 5, 12)]:
        x = torch.rand(*shape)
        with torch.no_grad():
            ref = net(x)
        out = fast(x)
        assert out.shape == ref.shape and out.dtype == torch.float32
        span = float(ref.max() - ref.min())
        assert float((out - ref).abs().max()) <= 1e-5 * span


def test_fast_dsrnet_leaves_the_original_alone() -> None:
    net = DSRNet(4, n_feats=8, n_base=4, n_stages=2)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    FastDSRNet.from_dsrnet(net)
    w = net.ups[0].up0[0].weight
    assert w.is_contiguous() and w.requires_grad
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k])


def test_upsampler_uses_fast_path_on_cpu_with_same_outputs() -> None:
    torch.manual_seed(0)
    net = DSRNet(4, n_feats=8, n_base=4, n_stages=2).eval()
    fast = DepthUpsampler(net, 4, device="cpu", tile=0)
    eager = DepthUpsampler(net, 4, device="cpu", tile=0, fast=False)
    assert fast.fast and isinstance(fast.network, FastDSRNet) and fast.module is net
    assert not eager.fast and eager.network is net and eager.module is net
    assert fast.describe()["fast_path"] and not eager.describe()["fast_path"]
    x = _smooth(30, 41)
    x[3:6, 10:14] = 0  # a hole
    a, b = fast.upsample(x), eager.upsample(x)
    np.testing.assert_array_equal(a.valid, b.valid)
    span = float(b.values[b.valid].max() - b.values[b.valid].min())
    assert np.abs(a.values - b.values).max() <= 1e-5 * span
    # default tiles of the fast path come from FAST_PLAN; given ones are kept
    assert (DepthUpsampler(net, 4, device="cpu").tile, DepthUpsampler(net, 4).overlap) == (
        FAST_PLAN[4][1],
        FAST_PLAN[4][2],
    )
    assert DepthUpsampler(net, 4, device="cpu", tile=40, overlap=8).tile == 40
    # the plain layout and the bicubic baseline keep the eager path
    assert not DepthUpsampler(net, 4, device="cpu", channels_last=False).fast
    assert not DepthUpsampler.bicubic(4, device="cpu").fast


@pytest.mark.parametrize("name", available_models(kind=DSR_KIND))
def test_shipped_models_fast_equals_eager(name: str) -> None:
    fast = DepthUpsampler.from_pretrained(name, device="cpu")
    eager = DepthUpsampler.from_pretrained(name, device="cpu", fast=False, tile=fast.tile)
    assert fast.fast and not eager.fast
    x = _smooth(70, 90) * 1000.0
    a, b = fast.upsample(x).values, eager.upsample(x).values
    assert np.abs(a - b).max() <= 1e-5 * float(b.max() - b.min())


def test_docstring_examples_run() -> None:
    import doctest

    from depthduet.inference import fast

    res = doctest.testmod(fast)
    assert res.attempted >= 1 and res.failed == 0
