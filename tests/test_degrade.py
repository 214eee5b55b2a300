"""LR depth making and depth-SR pairs (depthduet.data.degrade)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from depthduet.data.degrade import DepthSRPairs, downsample
from depthduet.errors import UserError


def test_bicubic_without_holes_is_antialiased_bicubic() -> None:
    d = torch.rand(1, 16, 12) + 1.0
    lr, lv = downsample(d, None, 4)
    ref = F.interpolate(d[None], size=(4, 3), mode="bicubic", antialias=True, align_corners=False)
    torch.testing.assert_close(lr, ref[0])
    assert lv.dtype == torch.bool and bool(lv.all())


def test_bicubic_holes_do_not_bleed() -> None:
    d = torch.full((1, 16, 16), 7.0)
    valid = torch.rand(1, 16, 16) > 0.3
    valid[:, :4, :4] = False  # one whole LR cell (and its neighbourhood) empty
    stored = torch.where(valid, d, torch.zeros_like(d))
    lr, lv = downsample(stored, valid, 4)
    assert not bool(lv[0, 0, 0])
    torch.testing.assert_close(lr[lv], torch.full_like(lr[lv], 7.0))
    assert bool((lr[~lv] == 0).all())


def test_nearest_is_fixed_offset() -> None:
    d = torch.arange(64.0).view(1, 8, 8)
    valid = d % 3 != 0
    lr, lv = downsample(d, valid, 4, "nearest")
    # hr[2::4, 2::4] = 18 22 50 54; multiples of 3 (18, 54) are invalid
    assert lr.tolist() == [[[0.0, 22.0], [50.0, 0.0]]]
    assert lv.tolist() == [[[False, True], [True, False]]]
    lr2, _ = downsample(d, None, 2, "nearest")
    assert torch.equal(lr2, d[:, 1::2, 1::2])


def test_downsample_batched_equals_unbatched_and_errors() -> None:
    d = torch.rand(3, 1, 8, 8)
    v = torch.rand(3, 1, 8, 8) > 0.2
    lb, vb = downsample(d, v, 2)
    for i in range(3):
        li, vi = downsample(d[i], v[i], 2)
        torch.testing.assert_close(lb[i], li)
        assert torch.equal(vb[i], vi)
    with pytest.raises(UserError, match="multiple"):
        downsample(torch.rand(1, 9, 8), None, 2)
    with pytest.raises(UserError, match="degradation"):
        downsample(d, v, 2, "box")
    with pytest.raises(UserError, match="scale"):
        downsample(d, v, 0)


class _Base(Dataset):
    """Depth = a ramp; image channel 0 = depth / 10 (to check crops/flips stay aligned)."""

    def __init__(self, n: int = 3, rgb: bool = True, given: bool = False) -> None:
        self.n, self.rgb, self.given = n, rgb, given

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        yy, xx = torch.meshgrid(torch.arange(24.0), torch.arange(32.0), indexing="ij")
        depth = (1.0 + xx + 0.1 * yy + i)[None]
        s = {"depth": depth, "valid": depth > 0, "name": f"s{i}", "unit": "m"}
        if self.rgb:
            s["image"] = torch.cat([depth / 10.0, torch.zeros(2, 24, 32)])
        if self.given:
            s["depth_lr"] = depth[:, 1::4, 1::4] * 0.0 + 42.0
        return s


def test_pairs_keys_shapes_and_alignment() -> None:
    ds = DepthSRPairs(_Base(), scale=4, crop=16, train=True, seed=3)
    for i in range(len(ds)):
        s = ds[i]
        assert s["lr"].shape == (1, 4, 4) and s["hr"].shape == (1, 16, 16)
        assert s["image"].shape == (3, 16, 16) and s["lr_valid"].dtype == torch.bool
        assert (s["scale"], s["degradation"], s["name"], s["unit"]) == (4, "bicubic", f"s{i}", "m")
        torch.testing.assert_close(s["image"][:1] * 10.0, s["hr"])  # crop + flip aligned
        lr, _ = downsample(s["hr"], s["hr_valid"], 4)
        torch.testing.assert_close(s["lr"], lr)  # LR made from the (flipped) HR patch
    eval_ds = DepthSRPairs(_Base(), scale=4, crop=16, train=False)
    a, b = eval_ds[1], eval_ds[1]
    assert torch.equal(a["hr"], b["hr"])
    assert torch.equal(a["hr"], _Base()[1]["depth"][:, 4:20, 8:24])  # centred, LR-aligned


def test_pairs_training_randomness_follows_torch_seed() -> None:
    ds = DepthSRPairs(_Base(n=1), scale=2, crop=8, train=True)
    torch.manual_seed(5)
    first = [ds[0]["hr"] for _ in range(6)]
    torch.manual_seed(5)
    again = [ds[0]["hr"] for _ in range(6)]
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert any(not torch.equal(first[0], x) for x in first[1:])  # crops/flips vary


def test_pairs_whole_map_given_and_depth_only() -> None:
    s = DepthSRPairs(_Base(rgb=False), scale=8, crop=None, train=False)[0]
    assert s["hr"].shape == (1, 24, 32) and s["lr"].shape == (1, 3, 4) and "image" not in s
    g = DepthSRPairs(_Base(given=True), scale=4, degradation="given", crop=8, train=True)[2]
    assert bool((g["lr"] == 42.0).all()) and g["lr"].shape == (1, 2, 2)
    with pytest.raises(UserError, match="depth_lr"):
        DepthSRPairs(_Base(), scale=4, degradation="given")[0]


def test_pairs_noise_and_holes() -> None:
    clean = DepthSRPairs(_Base(), scale=2, crop=None, train=False)[0]
    noisy_ds = DepthSRPairs(_Base(), scale=2, crop=None, train=False, noise_std=0.01, seed=1)
    n1, n2 = noisy_ds[0], noisy_ds[0]
    assert torch.equal(n1["lr"], n2["lr"])  # evaluation noise is fixed per sample
    diff = (n1["lr"] - clean["lr"]).std().item()
    depth_range = float(clean["hr"].max() - clean["hr"].min())
    assert diff == pytest.approx(0.01 * depth_range, rel=0.25)
    holes = DepthSRPairs(_Base(), scale=2, crop=None, train=False, hole_prob=0.5)[0]
    frac = holes["lr_valid"].float().mean().item()
    assert 0.3 < frac < 0.7 and bool((holes["lr"][~holes["lr_valid"]] == 0).all())


def test_pairs_bad_settings() -> None:
    with pytest.raises(UserError, match="crop"):
        DepthSRPairs(_Base(), scale=4, crop=18)
    with pytest.raises(UserError, match="degradation"):
        DepthSRPairs(_Base(), scale=4, degradation="blur")
    with pytest.raises(UserError, match="hole_prob"):
        DepthSRPairs(_Base(), scale=4, hole_prob=1.0)
    with pytest.raises(UserError, match="smaller than data.crop"):
        DepthSRPairs(_Base(), scale=4, crop=64)[0]
