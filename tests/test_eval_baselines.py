"""LR degradation from the ground truth and the bicubic / nearest upsampling baselines."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from depthduet.errors import UserError
from depthduet.evaluation.baselines import (
    degradation_record,
    downsample_depth,
    fit_to_size,
    lr_size_mismatch,
    upsample_depth,
)


def test_nearest_is_fixed_offset_sampling() -> None:
    hr = np.arange(1, 1 + 8 * 12, dtype=np.float64).reshape(8, 12)
    lr, lv = downsample_depth(hr, None, 4, "nearest")
    np.testing.assert_array_equal(lr, hr[2::4, 2::4])
    assert lv.all() and lr.shape == (2, 3)
    lr3, _ = downsample_depth(hr[:6, :9], None, 3, "nearest")  # odd scale: block centre
    np.testing.assert_array_equal(lr3, hr[1:6:3, 1:9:3])


def test_bicubic_is_antialiased_bicubic_and_mod_crops() -> None:
    rng = np.random.default_rng(0)
    hr = rng.uniform(1.0, 5.0, (19, 22))  # not multiples of 4: the top-left 16x20 is used
    lr, lv = downsample_depth(hr, None, 4, "bicubic")
    ref = F.interpolate(
        torch.from_numpy(hr[:16, :20])[None, None],
        size=(4, 5),
        mode="bicubic",
        antialias=True,
        align_corners=False,
    )[0, 0].numpy()
    assert lr.shape == (4, 5) and lv.all()
    np.testing.assert_allclose(lr, ref, rtol=1e-5)  # float32 inside


def test_bicubic_degradation_keeps_holes_out() -> None:
    hr = np.full((16, 16), 3.0)
    valid = np.ones((16, 16), bool)
    valid[:8, :8] = False
    hr[~valid] = 0.0
    lr, lv = downsample_depth(hr, valid, 4, "bicubic")
    assert not lv[0, 0] and lv[3, 3]
    np.testing.assert_allclose(lr[lv], 3.0, rtol=1e-6)  # normalised: no pull towards 0
    assert (lr[~lv] == 0).all()


def test_upsample_nearest_inverts_nearest_on_block_constant_maps() -> None:
    rng = np.random.default_rng(1)
    blocks = rng.uniform(1, 9, (3, 4))
    hr = np.repeat(np.repeat(blocks, 4, axis=0), 4, axis=1)  # 12 x 16, constant per block
    lr, lv = downsample_depth(hr, None, 4, "nearest")
    up, uv = upsample_depth(lr, lv, 4, hr.shape, "nearest")
    np.testing.assert_array_equal(up, hr)
    assert uv.all()


def test_upsample_bicubic_constant_and_size_fit() -> None:
    lr = np.full((3, 4), 2.5)
    up, uv = upsample_depth(lr, None, 4, (14, 17), "bicubic")  # 12x16 then 2 rows / 1 col more
    assert up.shape == (14, 17) and uv.all()
    np.testing.assert_allclose(up, 2.5)
    ramp = np.arange(4, dtype=np.float64)[None].repeat(2, 0)
    up, _ = upsample_depth(ramp, None, 2, (4, 9), "bicubic")
    np.testing.assert_array_equal(up[:, 8], up[:, 7])  # the extra column repeats the last
    with pytest.raises(UserError, match="does not match 20x17"):
        upsample_depth(lr, None, 4, (20, 17), "bicubic")
    # the rule: |H - h s| < s and |W - w s| < s
    assert lr_size_mismatch((3, 4), (15, 19), 4) == ""
    assert lr_size_mismatch((3, 4), (16, 16), 4) != ""  # 4 rows more than 3 * 4
    assert lr_size_mismatch((3, 4), (12, 12), 4) != ""  # 4 columns fewer than 4 * 4
    with pytest.raises(UserError, match="unknown upsampling 'lanczos'"):
        upsample_depth(lr, None, 4, (12, 16), "lanczos")


def test_upsample_with_lr_holes() -> None:
    lr = np.full((4, 4), 7.0)
    lv = np.ones((4, 4), bool)
    lv[0, 0] = False
    lr[0, 0] = 0.0
    up, uv = upsample_depth(lr, lv, 2, (8, 8), "bicubic")
    assert not uv[:2, :2].any() and uv[2:, 2:].all()
    np.testing.assert_allclose(up[uv], 7.0)


def test_bad_arguments() -> None:
    with pytest.raises(UserError, match="scale must be a positive integer"):
        downsample_depth(np.ones((8, 8)), None, 0, "bicubic")
    with pytest.raises(UserError, match="unknown degradation 'box'"):
        downsample_depth(np.ones((8, 8)), None, 2, "box")
    with pytest.raises(UserError, match="smaller than one 16x16 block"):
        downsample_depth(np.ones((8, 8)), None, 16, "nearest")


def test_fit_and_record() -> None:
    a = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(fit_to_size(a, (3, 2)), [[0, 1], [3, 4], [3, 4]])
    rec = degradation_record("nearest", 8, "bicubic")
    assert rec["lr_from"] == "nearest" and rec["scale"] == 8
    assert "s//2::s" in rec["definition"] and rec["upsample"].startswith("bicubic")


def test_same_definition_as_training_degradation() -> None:
    from depthduet.data.degrade import downsample

    rng = np.random.default_rng(2)
    hr = rng.uniform(1.0, 4.0, (16, 24)).astype(np.float32)
    valid = rng.random((16, 24)) > 0.2
    for method in ("bicubic", "nearest"):
        ours, ours_v = downsample_depth(hr, valid, 4, method)
        ref, ref_v = downsample(
            torch.from_numpy(hr)[None], torch.from_numpy(valid)[None], 4, method
        )
        np.testing.assert_array_equal(ours_v, ref_v[0].numpy())
        np.testing.assert_allclose(ours, ref[0].numpy(), rtol=1e-6)
