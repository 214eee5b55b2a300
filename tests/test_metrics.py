"""depth_errors / dsr_errors / median scaling against hand-computed values and the formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import depthduet.metrics as dm
from depthduet.evaluation.metrics import (
    DEPTH_METRICS,
    as_float64,
    depth_errors,
    dsr_errors,
    median_scale_ratio,
)


def paper_formulas(gt: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """The definitions as written in monodepth2 (Godard et al. 2019) / BTS (Lee et al. 2019),
    written out term by term with Python floats (no shared code with the library)."""
    n = len(gt)
    abs_rel = sum(abs(g - p) / g for g, p in zip(gt, pred)) / n
    sq_rel = sum((g - p) ** 2 / g for g, p in zip(gt, pred)) / n
    rmse = math.sqrt(sum((g - p) ** 2 for g, p in zip(gt, pred)) / n)
    rmse_log = math.sqrt(sum((math.log(g) - math.log(p)) ** 2 for g, p in zip(gt, pred)) / n)
    ratio = [max(g / p, p / g) for g, p in zip(gt, pred)]
    a = [sum(r < 1.25**k for r in ratio) / n for k in (1, 2, 3)]
    return {
        "abs_rel": abs_rel,
        "sq_rel": sq_rel,
        "rmse": rmse,
        "rmse_log": rmse_log,
        "a1": a[0],
        "a2": a[1],
        "a3": a[2],
    }


def test_hand_computed_small_example() -> None:
    # gt = [1, 2, 4], pred = [2, 2, 2]: |d| = [1, 0, 2], d^2 = [1, 0, 4], ratios = [2, 1, 2]
    e = depth_errors(np.array([1.0, 2.0, 4.0]), np.array([2.0, 2.0, 2.0]))
    assert e["abs_rel"] == pytest.approx((1 / 1 + 0 + 2 / 4) / 3)
    assert e["sq_rel"] == pytest.approx((1 / 1 + 0 + 4 / 4) / 3)
    assert e["rmse"] == pytest.approx(math.sqrt(5 / 3))
    assert e["rmse_log"] == pytest.approx(math.log(2) * math.sqrt(2 / 3))
    # 2 < 1.25^3 = 1.953125 is false: only the middle pixel counts for every threshold
    assert (e["a1"], e["a2"], e["a3"]) == pytest.approx((1 / 3, 1 / 3, 1 / 3))
    assert list(e) == list(DEPTH_METRICS)


def test_thresholds_are_strict_and_separate() -> None:
    gt = np.ones(4)
    # ratios 1.25 (not < 1.25), 1.5 (< 1.5625), 1.9 (< 1.953125), 3 (none): cumulative counts
    pred = np.array([1.25, 1.5, 1 / 1.9, 3.0])
    e = depth_errors(gt, pred)
    assert (e["a1"], e["a2"], e["a3"]) == (0.0, 0.5, 0.75)


@pytest.mark.parametrize("seed", [0, 1])
def test_matches_paper_formulas_on_random_arrays(seed: int) -> None:
    rng = np.random.default_rng(seed)
    gt = rng.uniform(0.5, 80.0, 500)
    pred = gt * rng.lognormal(0.0, 0.3, 500)
    ours = depth_errors(gt, pred)
    ref = paper_formulas(gt.tolist(), pred.tolist())
    for k in DEPTH_METRICS:
        assert ours[k] == pytest.approx(ref[k], rel=1e-12, abs=1e-15), k


def test_torch_and_numpy_inputs_agree_and_use_float64() -> None:
    rng = np.random.default_rng(3)
    gt32 = rng.uniform(1.0, 10.0, (7, 9)).astype(np.float32)
    pred32 = (gt32 * rng.uniform(0.8, 1.2, gt32.shape)).astype(np.float32)
    a = depth_errors(gt32, pred32)
    b = depth_errors(torch.from_numpy(gt32), torch.from_numpy(pred32).requires_grad_())
    c = paper_formulas(gt32.astype(np.float64).ravel().tolist(), pred32.astype(float).ravel())
    for k in DEPTH_METRICS:
        assert a[k] == b[k]
        assert a[k] == pytest.approx(c[k], rel=1e-12)
        assert isinstance(a[k], float)
    assert as_float64(torch.ones(2, 3, dtype=torch.float16)).dtype == np.float64


def test_perfect_prediction_and_scale_behaviour() -> None:
    gt = np.linspace(1, 5, 20)
    e = depth_errors(gt, gt)
    assert e == {
        "abs_rel": 0.0,
        "sq_rel": 0.0,
        "rmse": 0.0,
        "rmse_log": 0.0,
        "a1": 1.0,
        "a2": 1.0,
        "a3": 1.0,
    }
    pred = gt * 1.1
    e1, e2 = depth_errors(gt, pred), depth_errors(10 * gt, 10 * pred)
    # relative errors and log errors are unit-free; rmse and sq_rel scale with the unit
    for k in ("abs_rel", "rmse_log", "a1", "a2", "a3"):
        assert e2[k] == pytest.approx(e1[k])
    assert e2["rmse"] == pytest.approx(10 * e1["rmse"])
    assert e2["sq_rel"] == pytest.approx(10 * e1["sq_rel"])


@pytest.mark.parametrize(
    ("gt", "pred", "msg"),
    [
        ([], [], "no valid pixels"),
        ([1.0, 2.0], [1.0], "2 values but pred has 1"),
        ([1.0, 0.0], [1.0, 1.0], "gt > 0"),
        ([1.0, 2.0], [1.0, -1.0], "pred > 0"),
        ([1.0, np.nan], [1.0, 1.0], "finite"),
    ],
)
def test_bad_input(gt: list, pred: list, msg: str) -> None:
    with pytest.raises(ValueError, match=msg):
        depth_errors(np.array(gt), np.array(pred))


def test_dsr_errors_hand_values() -> None:
    # differences [-1, 0, 2, 0]: rmse = sqrt(5/4), mad = 3/4; zero and negative values allowed
    e = dsr_errors(np.array([0.0, 1.0, 2.0, -3.0]), torch.tensor([1.0, 1.0, 0.0, -3.0]))
    assert e["rmse"] == pytest.approx(math.sqrt(5 / 4))
    assert e["mad"] == pytest.approx(0.75)
    with pytest.raises(ValueError, match="no valid pixels"):
        dsr_errors(np.zeros(0), np.zeros(0))


def test_median_scale_ratio() -> None:
    assert median_scale_ratio([1.0, 2.0, 30.0], [2.0, 4.0, 5.0]) == pytest.approx(0.5)
    # even count: numpy median averages the middle two: (2+3)/2 / ((4+6)/2)
    assert median_scale_ratio([1, 2, 3, 4], [2, 4, 6, 8]) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="median of the prediction"):
        median_scale_ratio([1.0, 2.0, 3.0], [0.0, 0.0, 1.0])


def test_public_alias_module() -> None:
    assert dm.depth_errors is depth_errors
    assert dm.dsr_errors is dsr_errors
    assert "kitti-eigen" in dm.PROTOCOLS
