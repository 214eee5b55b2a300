"""ResNet-18 (METHOD.md B encoder): torchvision state-dict layout, parameter count, loading."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from depthduet.errors import UserError
from depthduet.models.decoder import DepthDecoder
from depthduet.models.mde import DepthNet
from depthduet.models.pose import PoseNet
from depthduet.models.resnet import ResNet18, ResNetEncoder, load_torchvision_weights


def _bn(prefix: str, c: int, g: torch.Generator) -> dict[str, torch.Tensor]:
    return {
        f"{prefix}.weight": torch.rand(c, generator=g) + 0.5,
        f"{prefix}.bias": torch.randn(c, generator=g),
        f"{prefix}.running_mean": torch.randn(c, generator=g),
        f"{prefix}.running_var": torch.rand(c, generator=g) + 0.5,
        f"{prefix}.num_batches_tracked": torch.tensor(7),
    }


def torchvision_layout_resnet18(seed: int = 1) -> dict[str, torch.Tensor]:
    """A random state dict written from torchvision's ResNet-18 layout (not from our model)."""
    g = torch.Generator().manual_seed(seed)
    sd = {"conv1.weight": torch.randn(64, 3, 7, 7, generator=g)}
    sd.update(_bn("bn1", 64, g))
    cin = 64
    for li, cout in enumerate((64, 128, 256, 512), start=1):
        for b in range(2):
            p = f"layer{li}.{b}"
            c_in = cin if b == 0 else cout
            sd[f"{p}.conv1.weight"] = torch.randn(cout, c_in, 3, 3, generator=g)
            sd.update(_bn(f"{p}.bn1", cout, g))
            sd[f"{p}.conv2.weight"] = torch.randn(cout, cout, 3, 3, generator=g)
            sd.update(_bn(f"{p}.bn2", cout, g))
            if b == 0 and li > 1:
                sd[f"{p}.downsample.0.weight"] = torch.randn(cout, cin, 1, 1, generator=g)
                sd.update(_bn(f"{p}.downsample.1", cout, g))
        cin = cout
    sd["fc.weight"] = torch.randn(1000, 512, generator=g)
    sd["fc.bias"] = torch.randn(1000, generator=g)
    return sd


def test_parameter_count_with_fc():
    m = ResNet18()
    assert sum(p.numel() for p in m.parameters()) == 11_689_512
    ref = torchvision_layout_resnet18()
    learnable = sum(
        v.numel()
        for k, v in ref.items()
        if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))
    )
    assert learnable == 11_689_512


def test_loads_generated_torchvision_file_strictly(tmp_path):
    ref = torchvision_layout_resnet18()
    assert set(ResNet18().state_dict()) == set(ref)  # same key set, exactly
    path = tmp_path / "resnet18.pth"
    torch.save(ref, path)
    m = ResNet18()
    load_torchvision_weights(m, path)
    m.load_state_dict(ref, strict=True)  # torch's own strict check also passes
    for k, v in m.state_dict().items():
        assert torch.equal(v, ref[k]), k
    # the same from safetensors
    st = tmp_path / "resnet18.safetensors"
    save_file(ref, str(st))
    m2 = ResNet18()
    load_torchvision_weights(m2, st)
    assert torch.equal(m2.layer3[1].conv2.weight, ref["layer3.1.conv2.weight"])


def test_encoder_drops_fc_and_pose_encoder_widens_conv1(tmp_path):
    ref = torchvision_layout_resnet18()
    path = tmp_path / "w.pth"
    torch.save({"state_dict": ref}, path)  # wrapped checkpoints are unwrapped
    enc = ResNetEncoder(1, weights=path)
    assert enc.net.fc is None
    assert torch.equal(enc.net.layer4[0].downsample[0].weight, ref["layer4.0.downsample.0.weight"])
    pose = PoseNet(encoder_weights=path)
    w = pose.encoder.net.conv1.weight
    assert w.shape == (64, 6, 7, 7)
    assert torch.allclose(w[:, :3], ref["conv1.weight"] / 2)
    assert torch.allclose(w[:, 3:], ref["conv1.weight"] / 2)
    # same response to (x, x) as the 3-channel net to x, before normalisation offsets
    x = torch.rand(1, 3, 8, 8)
    a = torch.nn.functional.conv2d(torch.cat([x, x], 1), w, stride=2, padding=3)
    b = torch.nn.functional.conv2d(x, ref["conv1.weight"], stride=2, padding=3)
    assert torch.allclose(a, b, atol=1e-5)


def test_bad_weight_files(tmp_path):
    ref = torchvision_layout_resnet18()
    missing = dict(ref)
    del missing["layer2.0.downsample.0.weight"]
    with pytest.raises(UserError, match="missing"):
        load_torchvision_weights(ResNet18(), missing)
    bad = dict(ref)
    bad["layer1.0.conv1.weight"] = torch.zeros(64, 64, 5, 5)
    with pytest.raises(UserError, match="layer1.0.conv1.weight"):
        load_torchvision_weights(ResNet18(), bad)
    extra = dict(ref)
    extra["layer5.0.conv1.weight"] = torch.zeros(1)
    with pytest.raises(UserError, match="unexpected"):
        load_torchvision_weights(ResNet18(), extra)
    with pytest.raises(UserError, match="not found"):
        ResNetEncoder(1, weights=tmp_path / "nope.pth")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a pickle")
    with pytest.raises(UserError, match="cannot read"):
        ResNetEncoder(1, weights=junk)


def test_pyramid_shapes_and_heads():
    enc = ResNetEncoder()
    feats = enc(torch.rand(1, 3, 64, 96))
    assert [tuple(f.shape[1:]) for f in feats] == [
        (64, 32, 48),
        (64, 16, 24),
        (128, 8, 12),
        (256, 4, 6),
        (512, 2, 3),
    ]
    out = DepthDecoder()(feats)
    assert [tuple(d.shape[-2:]) for d in out["disp"]] == [(64, 96), (32, 48), (16, 24), (8, 12)]
    for t in out["disp"] + out["conf"]:
        assert t.min() > 0 and t.max() < 1
    with pytest.raises(ValueError, match="multiples of 32"):
        DepthNet()(torch.rand(1, 3, 60, 96))
    with pytest.raises(ValueError, match="at least 64"):
        DepthNet()(torch.rand(1, 3, 32, 96))
    with pytest.raises(ValueError, match="expected"):
        enc(torch.rand(1, 4, 64, 64))


def test_recipe_loads_encoder_weights_into_every_encoder(tmp_path):
    from depthduet.config import load_config
    from depthduet.recipes.mutual import MutualConfig, MutualRecipe

    ref = torchvision_layout_resnet18()
    path = tmp_path / "imagenet_resnet18.pth"
    torch.save(ref, path)
    cfg = load_config(MutualConfig, overrides=[f"model.encoder_weights={path}"])
    r = MutualRecipe(cfg)
    for name in ("depth_u", "depth_s"):
        enc = r.networks[name].encoder.net
        assert torch.equal(
            enc.layer2[0].downsample[1].running_var, ref["layer2.0.downsample.1.running_var"]
        )
    assert torch.allclose(
        r.networks["pose"].encoder.net.conv1.weight[:, 3:], ref["conv1.weight"] / 2
    )
    bad = load_config(MutualConfig, overrides=[f"model.encoder_weights={tmp_path / 'missing.pth'}"])
    with pytest.raises(UserError, match="missing.pth"):
        MutualRecipe(bad)
