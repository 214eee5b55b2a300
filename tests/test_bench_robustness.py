"""``benchmarks/dsr_robustness.py``: how LR maps are made, the matrix's geometric means and the
bound check (against hand-computed numbers)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "experiments" / "tools"))
import dsr_robustness as rb  # noqa: E402
from dsr_real_heldout import RealMap  # noqa: E402


def _map() -> RealMap:
    v = np.arange(1.0, 1 + 18 * 22).reshape(18, 22)
    return RealMap("sintel", "sintel_depth/Df_1.mat", v, np.ones_like(v, bool))


def test_make_lr_kernels_grids_and_seeds() -> None:
    m = _map()
    gt, gv, lr, lv, grid = rb.make_lr(m, 4, "nearest", "clean", 0, 0)
    assert gt.shape == (16, 20) and grid == "point"
    np.testing.assert_array_equal(lr, m.values[2:16:4, 2:20:4])
    _, _, lr_nh, _, grid_nh = rb.make_lr(m, 4, "nearest (no hint)", "clean", 0, 0)
    np.testing.assert_array_equal(lr_nh, lr)
    assert grid_nh == "center"
    _, _, lr0, _, grid0 = rb.make_lr(m, 4, "nearest:0", "clean", 0, 0)
    np.testing.assert_array_equal(lr0, m.values[0:16:4, 0:20:4])
    assert grid0 == "corner"
    *_, grid_nh = rb.make_lr(m, 4, "nearest:0 (no hint)", "clean", 0, 0)
    assert grid_nh == "center"
    a = rb.make_lr(m, 4, "area", "noisy", 3, 1)
    b = rb.make_lr(m, 4, "area", "noisy", 3, 1)
    c = rb.make_lr(m, 4, "area", "noisy", 4, 1)
    np.testing.assert_array_equal(a[2], b[2])
    assert not np.array_equal(a[2], c[2])


def test_nearest_up_on_both_grids() -> None:
    lr = np.array([[1.0, 2.0], [3.0, 4.0]])
    lv = np.ones_like(lr, bool)
    up, _ = rb.nearest_up(lr, lv, 2, "center")
    assert up.tolist() == [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]
    up, _ = rb.nearest_up(lr, lv, 2, "corner")  # HR pixel y takes sample (y + 1) // 2
    assert up.tolist() == [[1, 2, 2, 2], [3, 4, 4, 4], [3, 4, 4, 4], [3, 4, 4, 4]]


def _row(method: str, group: str, rmse: float, bic: float, kernel: str = "area") -> dict:
    return {
        "method": method,
        "scale": 4,
        "group": group,
        "map": f"{group}/m",
        "kernel": kernel,
        "condition": "clean",
        "lr_grid": "center",
        "rmse": rmse,
        "rmse_bicubic": bic,
        "rmse_nearest": 2 * bic,
    }


def test_matrix_geometric_means_and_check() -> None:
    rows = [
        _row("m", "sintel", 1.0, 4.0),  # 0.25
        _row("m", "sintel", 4.0, 4.0),  # 1.0
        _row("m", "kinect", 2.2, 2.0),  # 1.1
        _row("m", "kinect", 1.0, 2.0, kernel="nearest:0 (no hint)"),
    ]
    mat = rb.matrix(rows)
    cell = mat["m"]["area|clean"]
    assert cell["ratio"] == pytest.approx((0.25 * 1.0 * 1.1) ** (1 / 3))
    assert cell["groups"]["sintel"] == pytest.approx(0.5)
    assert cell["worst_group"] == "kinect" and cell["worst"] == pytest.approx(1.1)
    assert cell["nearest"] == pytest.approx(2.0)
    bad = rb.check(mat)
    # area: mean 0.65 <= 0.85 but kinect 1.1 > 1; the unhinted corner cell is not bounded
    assert len(bad) == 1 and "kinect" in bad[0]
    assert math.isclose(mat["m"]["nearest:0 (no hint)|clean"]["ratio"], 0.5)
