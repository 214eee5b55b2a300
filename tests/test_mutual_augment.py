"""Separate augmentation and the shared flip (METHOD.md B.5)."""

from __future__ import annotations

import pytest
import torch

from depthduet.data.augment import (
    ColorAugment,
    ColorJitterConfig,
    adjust_hue,
    flip_intrinsics,
    flip_transform,
    hflip_batch,
)
from depthduet.geometry import pose_vec_to_matrix, warp


def _geom_batch(b: int = 2, h: int = 12, w: int = 20) -> dict[str, torch.Tensor]:
    K = torch.tensor([[18.0, 0, 8.3], [0, 17.0, 5.1], [0, 0, 1]]).repeat(b, 1, 1)
    T = pose_vec_to_matrix(torch.randn(b, 3) * 0.05, torch.randn(b, 3) * 0.2)
    Ts = torch.eye(4).repeat(b, 1, 1)
    Ts[:, 0, 3] = -0.54
    return {
        "image": torch.rand(b, 3, h, w),
        "image_next": torch.rand(b, 3, h, w),
        "image_stereo": torch.rand(b, 3, h, w),
        "depth": 2 + 8 * torch.rand(b, 1, h, w),
        "valid": torch.rand(b, 1, h, w) > 0.3,
        "lidar": torch.rand(b, 1, h, w),
        "K": K,
        "T_next_tgt": T,
        "T_stereo_tgt": Ts,
        "name": ["a", "b"],
    }


def test_flip_geometry_is_consistent_with_warping():
    # warping the flipped frames with the flipped K and transform = flipping the warped frame
    bt = _geom_batch()
    flags = torch.tensor([True, True])
    fb = hflip_batch(bt, flags)
    for src, T in (("image_next", "T_next_tgt"), ("image_stereo", "T_stereo_tgt")):
        ref = torch.flip(warp(bt[src], bt["depth"], bt["K"], bt[T]), dims=[-1])
        got = warp(fb[src], fb["depth"], fb["K"], fb[T])
        assert torch.allclose(ref, got, atol=1e-4), src
    # the stereo baseline changes sign, the principal point mirrors
    assert torch.allclose(fb["T_stereo_tgt"][:, 0, 3], torch.full((2,), 0.54))
    assert torch.allclose(fb["K"][:, 0, 2], torch.full((2,), 20 - 1 - 8.3))
    assert torch.allclose(fb["K"][:, 1, 2], bt["K"][:, 1, 2])


def test_flip_only_flagged_samples_and_input_untouched():
    bt = _geom_batch()
    orig = {k: v.clone() for k, v in bt.items() if isinstance(v, torch.Tensor)}
    fb = hflip_batch(bt, torch.tensor([False, True]))
    for k, v in orig.items():
        assert torch.equal(bt[k], v)  # input not modified
    assert torch.equal(fb["image"][0], bt["image"][0])
    assert torch.equal(fb["image"][1], torch.flip(bt["image"][1], dims=[-1]))
    assert torch.equal(fb["valid"][1], torch.flip(bt["valid"][1], dims=[-1]))
    assert torch.equal(fb["K"][0], bt["K"][0])
    assert fb["name"] == ["a", "b"]
    # flipping twice is the identity
    ff = hflip_batch(fb, torch.tensor([False, True]))
    for k in orig:
        assert torch.allclose(ff[k], orig[k]), k
    assert torch.allclose(flip_transform(flip_transform(bt["T_next_tgt"])), bt["T_next_tgt"])
    assert torch.allclose(flip_intrinsics(flip_intrinsics(bt["K"], 20), 20), bt["K"])


def test_hue_rotation_identities():
    x = torch.rand(3, 3, 5, 6)
    assert torch.allclose(adjust_hue(x, torch.zeros(3)), x, atol=1e-5)
    assert torch.allclose(adjust_hue(x, torch.ones(3)), x, atol=1e-5)
    # grey pixels have no chroma: unchanged by any hue shift
    g = torch.rand(1, 1, 4, 4).expand(1, 3, 4, 4)
    assert torch.allclose(adjust_hue(g, torch.tensor([0.3])), g, atol=1e-5)
    # half-turn twice = identity
    y = adjust_hue(adjust_hue(x, torch.full((3,), 0.25)), torch.full((3,), 0.25))
    assert torch.allclose(adjust_hue(y, torch.full((3,), 0.5)), x, atol=1e-4)


def test_color_augment_behaviour():
    x = torch.rand(4, 3, 8, 8)
    off = ColorAugment(ColorJitterConfig(prob=0.0, erase_prob=0.0))
    assert torch.equal(off([x])[0], x)
    g = torch.Generator().manual_seed(3)
    aug = ColorAugment(ColorJitterConfig(prob=1.0, brightness=0.4, contrast=0.4, hue=0.1))
    a, b = aug([x, x.clone()], generator=g)
    assert torch.equal(a, b)  # one draw per sample, shared by its frames
    assert not torch.allclose(a, x)
    assert a.min() >= 0 and a.max() <= 1
    grey = ColorAugment(
        ColorJitterConfig(
            prob=1.0, brightness=0.0, contrast=0.0, saturation=0.0, hue=0.0, grey_prob=1.0
        )
    )
    y = grey([x])[0]
    assert torch.allclose(y[:, 0], y[:, 1]) and torch.allclose(y[:, 1], y[:, 2])
    er = ColorAugment(ColorJitterConfig(prob=0.0, erase_prob=1.0, erase_area=(0.2, 0.3)))
    e0, e1 = er([x, x], generator=torch.Generator().manual_seed(0))
    changed = (e0 != x).any(1).float().mean(dim=(1, 2))
    assert ((changed > 0.05) & (changed < 0.6)).all()  # one rectangle per sample
    assert torch.equal(e1, x)  # erasing touches the target frame only


def test_color_config_validation():
    with pytest.raises(ValueError, match="prob"):
        ColorAugment(ColorJitterConfig(prob=1.5))
    with pytest.raises(ValueError, match="hue"):
        ColorAugment(ColorJitterConfig(hue=0.7))
    with pytest.raises(ValueError, match="erase_area"):
        ColorAugment(ColorJitterConfig(erase_area=(0.5, 0.2)))
