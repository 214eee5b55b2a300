"""METHOD A networks: projection units, DSRNet (x2..x16), DENet, SPNet, side heads,
normalisation and hole filling (METHOD.md A.1, A.2, A.4)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from depthduet.depth import denormalize_depth, fill_invalid, normalize_depth
from depthduet.errors import UserError
from depthduet.models.blocks import (
    PROJECTION_SETTINGS,
    DownProjection,
    ResBlock,
    SideHeads,
    UpProjection,
    kaiming_init,
    projection_setting,
)
from depthduet.models.dbpn import (
    PRESETS,
    DSRNet,
    get_preset,
    prepare_lr,
)
from depthduet.models.denet import DENet
from depthduet.models.spnet import SPNet


def _all_params_have_grad(module: torch.nn.Module) -> bool:
    """Every parameter received a gradient; every conv weight a non-zero one (a PReLU slope can
    get an exact 0 when its input happens to be positive everywhere)."""
    if any(p.grad is None for p in module.parameters()):
        return False
    convs = [
        m for m in module.modules() if isinstance(m, torch.nn.Conv2d | torch.nn.ConvTranspose2d)
    ]
    return all(bool(m.weight.grad.abs().sum() > 0) for m in convs)


@pytest.mark.parametrize("scale", [2, 4, 8, 16])
def test_projection_units_shapes_and_gradients(scale: int) -> None:
    assert projection_setting(scale) == PROJECTION_SETTINGS[scale]
    up = UpProjection(4, scale, c_in=8)
    down = DownProjection(4, scale, c_in=8)
    low = torch.randn(2, 8, 3, 5, requires_grad=True)
    high = up(low)
    assert high.shape == (2, 4, 3 * scale, 5 * scale)
    back = down(torch.cat([high, high], dim=1))
    assert back.shape == (2, 4, 3, 5)
    back.square().mean().backward()
    assert low.grad is not None and low.grad.abs().sum() > 0
    assert _all_params_have_grad(up) and _all_params_have_grad(down)


@pytest.mark.parametrize("scale", [2, 4])
def test_projection_units_follow_method_a1(scale: int) -> None:
    """METHOD.md A.1, rebuilt from each unit's own layers: up-projection
    ``H0 = deconv(L), L0 = conv(H0), out = H0 + deconv(L0 - L)``; down-projection
    ``L0 = conv(H), H0 = deconv(L0), out = L0 + conv(H0 - H)``."""
    up, down = UpProjection(3, scale), DownProjection(3, scale)
    low = torch.randn(1, 3, 4, 5)
    h0 = up.up0(low)
    torch.testing.assert_close(up(low), h0 + up.up1(up.down0(h0) - low))
    high = torch.randn(1, 3, 4 * scale, 5 * scale)
    l0 = down.down0(high)
    torch.testing.assert_close(down(high), l0 + down.down1(down.up0(l0) - high))


def test_kaiming_init_statistics() -> None:
    """Kaiming-normal with PReLU's initial slope: std = sqrt(2 / (1 + 0.25^2)) / sqrt(fan_in),
    fan_in = 64 * 3 * 3 (36864 weights: the sample std is within 2% of it); zero biases."""
    torch.manual_seed(0)
    conv, deconv = torch.nn.Conv2d(64, 64, 3), torch.nn.ConvTranspose2d(64, 64, 3)
    torch.nn.init.constant_(conv.bias, 1.0)
    kaiming_init(torch.nn.Sequential(conv, deconv))
    expected = (2.0 / (1 + 0.25**2)) ** 0.5 / (64 * 9) ** 0.5
    for m in (conv, deconv):
        assert m.weight.std().item() == pytest.approx(expected, rel=0.02)
        assert bool((m.bias == 0).all())


def test_projection_squeeze_only_for_dense_inputs() -> None:
    assert isinstance(UpProjection(4, 2).squeeze, torch.nn.Identity)
    sq = UpProjection(4, 2, c_in=12).squeeze
    assert isinstance(sq[0], torch.nn.Conv2d) and sq[0].kernel_size == (1, 1)
    assert sq[0].in_channels == 12 and sq[0].out_channels == 4


@pytest.mark.parametrize("bad", [3, 0, 32, "x"])
def test_bad_scale_is_a_user_error(bad) -> None:
    with pytest.raises(UserError, match="scale"):
        projection_setting(bad)
    if isinstance(bad, int):
        with pytest.raises(UserError):
            DSRNet(bad, 8, 4, 1)


@pytest.mark.parametrize("scale", [2, 4, 8, 16])
def test_dsrnet_shapes_features_and_gradients(scale: int) -> None:
    net = DSRNet(scale, n_feats=8, n_base=4, n_stages=3)
    lr = torch.rand(2, 1, 4, 3)
    out, feats = net.forward_features(lr)
    assert out.shape == (2, 1, 4 * scale, 3 * scale)
    assert len(feats) == 3 and all(f.shape == (2, 4, 4 * scale, 3 * scale) for f in feats)
    assert torch.equal(net(lr), out)
    out.square().mean().backward()
    assert _all_params_have_grad(net)
    # N stages: N up-projections, N-1 down-projections; dense inputs t*b channels
    assert len(net.ups) == 3 and len(net.downs) == 2
    assert net.recon.in_channels == 3 * 4


def test_dsrnet_global_residual_is_bicubic() -> None:
    net = DSRNet(4, n_feats=8, n_base=4, n_stages=2)
    torch.nn.init.zeros_(net.recon.weight)
    torch.nn.init.zeros_(net.recon.bias)
    lr = torch.rand(1, 1, 6, 7)
    expected = F.interpolate(lr, scale_factor=4, mode="bicubic", align_corners=False)
    torch.testing.assert_close(net(lr), expected)


def test_dsrnet_single_stage_and_presets() -> None:
    net = DSRNet(2, 4, 4, 1)
    assert len(net.downs) == 0 and net(torch.rand(1, 1, 3, 3)).shape == (1, 1, 6, 6)
    assert (get_preset("paper").n_feats, get_preset("paper").n_base) == (256, 64)
    assert get_preset("paper").n_stages == 7
    assert (PRESETS["tiny"].n_feats, PRESETS["tiny"].n_base, PRESETS["tiny"].n_stages) == (
        32,
        16,
        2,
    )
    tiny = DSRNet.from_preset(4, "tiny")
    assert (tiny.n_feats, tiny.n_base, tiny.n_stages) == (32, 16, 2)
    with pytest.raises(UserError, match="preset"):
        get_preset("huge")
    with pytest.raises(ValueError, match=r"\(B, 1, H, W\)"):
        net(torch.rand(1, 2, 3, 3))


def test_denet_and_resblock() -> None:
    net = DENet(n_feats=8, n_base=6, n_stages=3)
    img = torch.rand(2, 3, 10, 12)
    d, feats = net.forward_features(img)
    assert d.shape == (2, 1, 10, 12)
    assert len(feats) == 3 and all(f.shape == (2, 6, 10, 12) for f in feats)
    d.mean().backward()
    assert _all_params_have_grad(net)
    with pytest.raises(ValueError, match="DENet input"):
        net(torch.rand(2, 1, 10, 12))
    block = ResBlock(3)
    for p in block.body.parameters():
        torch.nn.init.zeros_(p)
    x = torch.randn(1, 3, 4, 4)
    torch.testing.assert_close(block(x), x)  # zero body: identity


def test_side_heads() -> None:
    heads = SideHeads(5, 2)
    feats = [torch.rand(1, 5, 6, 6, requires_grad=True) for _ in range(2)]
    outs = heads(feats)
    assert [o.shape for o in outs] == [(1, 1, 6, 6)] * 2
    sum(o.square().sum() for o in outs).backward()  # each head reaches its stage and its weights
    assert all(f.grad is not None and f.grad.abs().sum() > 0 for f in feats)
    assert _all_params_have_grad(heads)
    with pytest.raises(ValueError, match="expected 2"):
        heads([torch.rand(1, 5, 6, 6)])


def test_spnet_uncertainty_and_gradients_reach_both_networks() -> None:
    sp = SPNet(c_sr=4, c_de=6, width=4, n_layers=2)
    f_sr = torch.rand(2, 4, 8, 8, requires_grad=True)
    f_de = torch.rand(2, 6, 8, 8, requires_grad=True)
    d_sr = torch.rand(2, 1, 8, 8, requires_grad=True)
    d_de = torch.rand(2, 1, 8, 8, requires_grad=True)
    d_hr = torch.rand(2, 1, 8, 8)
    valid = torch.ones(2, 1, 8, 8, dtype=torch.bool)
    u_sr, u_de = sp.uncertainty(d_sr, d_de, d_hr, valid)
    assert u_sr.shape == (2, 4, 8, 8)
    torch.testing.assert_close(u_sr.sum(1), torch.ones(2, 8, 8))
    torch.testing.assert_close(u_de.sum(1), torch.ones(2, 8, 8))
    s = sp(f_sr, f_de, d_sr, d_de, d_hr, valid)
    assert s.shape == (2, 1, 8, 8) and bool((s > 0).all()) and bool((s < 1).all())
    s.mean().backward()
    for t in (f_sr, f_de, d_sr, d_de):
        assert t.grad is not None and t.grad.abs().sum() > 0
    assert isinstance(sp.proj_de, torch.nn.Conv2d) and isinstance(sp.proj_sr, torch.nn.Identity)
    with pytest.raises(ValueError, match="spatial sizes"):
        sp(f_sr, f_de[..., :4], d_sr, d_de, d_hr)


def test_spnet_invalid_pixels_give_zero_error() -> None:
    sp = SPNet(2, 2, 2, 0)
    d = torch.zeros(1, 1, 2, 2)
    hr = torch.full((1, 1, 2, 2), 5.0)
    valid = torch.zeros(1, 1, 2, 2, dtype=torch.bool)
    u_sr, _ = sp.uncertainty(d, d, hr, valid)
    u_ref, _ = sp.uncertainty(d, d, d, None)  # zero error everywhere
    torch.testing.assert_close(u_sr, u_ref)


def test_spnet_sigmoid_uncertainty_and_plain_fusion_switches() -> None:
    sp = SPNet(3, 3, 3, 1, uncertainty="sigmoid", fuse_act=False)
    assert isinstance(sp.fuse, torch.nn.Conv2d)  # METHOD.md A.4's plain conv3x3
    with torch.no_grad():
        sp.unc_sr.weight.fill_(2.0)
        sp.unc_sr.bias.zero_()
    d_hr = torch.zeros(1, 1, 2, 2)
    d_sr = torch.tensor([[[[0.0, 1.0], [-1.0, 0.5]]]])
    u_sr, u_de = sp.uncertainty(d_sr, d_hr, d_hr)
    expected = torch.sigmoid(2.0 * d_sr).expand(1, 3, 2, 2)  # element-wise, per channel
    torch.testing.assert_close(u_sr, expected)
    assert u_de.shape == (1, 3, 2, 2) and bool(((u_de > 0) & (u_de < 1)).all())
    f = torch.rand(1, 3, 2, 2, requires_grad=True)
    sp(f, torch.rand(1, 3, 2, 2), d_sr, d_hr, d_hr).sum().backward()
    assert f.grad is not None and f.grad.abs().sum() > 0
    assert isinstance(SPNet(3, 3).fuse, torch.nn.Sequential)  # default: conv + PReLU
    with pytest.raises(UserError, match="spnet_uncertainty"):
        SPNet(3, 3, uncertainty="softmax")


def test_normalize_depth_minmax_and_constant() -> None:
    depth = torch.tensor([[[[2.0, 4.0], [6.0, 100.0]]], [[[3.0, 3.0], [3.0, 3.0]]]])
    valid = torch.tensor([[[[True, True], [True, False]]], [[[True, True], [True, True]]]])
    x, lo, hi = normalize_depth(depth, valid)
    assert lo.flatten().tolist() == [2.0, 3.0] and hi.flatten().tolist() == [6.0, 4.0]
    torch.testing.assert_close(x[0, 0], torch.tensor([[0.0, 0.5], [1.0, 0.0]]))
    torch.testing.assert_close(x[1], torch.zeros(1, 2, 2))
    back = denormalize_depth(x, lo, hi)
    torch.testing.assert_close(back[valid], depth[valid])


def test_normalize_depth_percentile_and_empty() -> None:
    depth = torch.arange(101.0).view(1, 1, 1, 101)
    _, lo, hi = normalize_depth(depth, None, norm="percentile", pct=(10.0, 90.0))
    assert lo.item() == pytest.approx(10.0) and hi.item() == pytest.approx(90.0)
    x, lo, hi = normalize_depth(torch.ones(1, 1, 2, 2), torch.zeros(1, 1, 2, 2, dtype=torch.bool))
    assert lo.item() == 0.0 and hi.item() == 1.0 and bool((x == 0).all())
    with pytest.raises(UserError, match="norm"):
        normalize_depth(depth, None, norm="median")


def test_fill_invalid() -> None:
    x = torch.tensor([[[[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]]])
    v = torch.tensor([[[[True, False, False], [False, False, False]]]])
    torch.testing.assert_close(fill_invalid(x, v), torch.ones(1, 1, 2, 3))  # one valid pixel
    const = torch.full((2, 1, 9, 7), 4.0)
    holes = torch.rand(2, 1, 9, 7) > 0.6
    holes[:, :, 0, 0] = True
    garbage = torch.where(holes, const, torch.full_like(const, -50.0))
    torch.testing.assert_close(fill_invalid(garbage, holes), const)  # no bleeding of garbage
    y = torch.rand(1, 1, 5, 5)
    vv = torch.rand(1, 1, 5, 5) > 0.5
    vv[0, 0, 2, 2] = True
    out = fill_invalid(y, vv)
    assert torch.equal(out[vv], y[vv])  # valid pixels untouched
    torch.testing.assert_close(
        fill_invalid(torch.rand(1, 1, 3, 3), torch.zeros(1, 1, 3, 3)), torch.zeros(1, 1, 3, 3)
    )


def test_super_resolve_is_affine_equivariant() -> None:
    net = DSRNet(2, 8, 4, 2).eval()
    lr = torch.rand(1, 1, 6, 6) + 1.0
    valid = torch.ones_like(lr, dtype=torch.bool)
    valid[0, 0, 1, 1] = False
    a = net.super_resolve(lr, valid)
    b = net.super_resolve(lr * 250.0 + 7.0, valid)  # e.g. another unit
    torch.testing.assert_close(b, a * 250.0 + 7.0, rtol=1e-4, atol=1e-3)
    x, lo, hi = prepare_lr(lr, valid)
    assert bool(torch.isfinite(x).all()) and x.min() >= 0 and x.max() <= 1


def test_dbpn_does_not_import_training_networks() -> None:
    code = (
        "import sys, depthduet.models.dbpn; "
        "bad = [m for m in ('depthduet.models.denet', 'depthduet.models.spnet') if m in sys.modules]; "
        "sys.exit(1 if bad else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_models_package_lazy_names() -> None:
    import depthduet.models as m

    assert m.DSRNet is DSRNet and m.DENet is DENet and m.SPNet is SPNet
    with pytest.raises(AttributeError):
        m.NotANetwork  # noqa: B018
