"""Named protocols: crop boxes, caps, clamping, median scaling, units, resizing, aggregation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from depthduet.errors import UserError
from depthduet.evaluation.metrics import depth_errors
from depthduet.evaluation.protocols import (
    PROTOCOLS,
    border_crop_box,
    eigen_nyu_crop_box,
    evaluate_image,
    garg_crop_box,
    get_protocol,
    resize_bilinear,
    summarize,
)

# ----------------------------------------------------------------------------- crop boxes


def test_garg_crop_hand_values() -> None:
    # 0.40810811*375 = 153.04, 0.99189189*375 = 371.96, 0.03594771*1242 = 44.65,
    # 0.96405229*1242 = 1197.35 -> truncated
    assert garg_crop_box(375, 1242) == (153, 371, 44, 1197)
    # 352 x 1216: 143.65, 349.15, 43.71, 1172.29
    assert garg_crop_box(352, 1216) == (143, 349, 43, 1172)


def test_eigen_nyu_crop_hand_values() -> None:
    assert eigen_nyu_crop_box(480, 640) == (45, 471, 41, 601)
    # half size: 22.5 -> 23, 235.5 -> 236, 20.5 -> 21, 300.5 -> 301 (halves round up)
    assert eigen_nyu_crop_box(240, 320) == (23, 236, 21, 301)
    assert eigen_nyu_crop_box(960, 1280) == (90, 942, 82, 1202)


def test_border_crop() -> None:
    assert border_crop_box(20, 30, 6) == (6, 14, 6, 24)
    with pytest.raises(UserError, match="too small"):
        border_crop_box(12, 30, 6)


def test_protocol_table_is_as_documented() -> None:
    k = PROTOCOLS["kitti-eigen"]
    assert (k.crop, k.min_depth, k.max_depth, k.clamp_pred, k.task) == (
        "garg",
        1e-3,
        80.0,
        True,
        "depth",
    )
    kb = PROTOCOLS["kitti-eigen-benchmark"]
    assert (kb.crop, kb.min_depth, kb.max_depth, kb.clamp_pred) == ("none", 1e-3, 80.0, True)
    kg = PROTOCOLS["kitti-eigen-benchmark-garg"]  # METHOD.md B.6: Garg crop on improved GT too
    assert (kg.crop, kg.min_depth, kg.max_depth, kg.clamp_pred) == ("garg", 1e-3, 80.0, True)
    n = PROTOCOLS["nyu-eigen"]
    assert (n.crop, n.min_depth, n.max_depth, n.clamp_pred) == ("eigen-nyu", 1e-3, 10.0, True)
    nd = PROTOCOLS["nyu-dsr"]
    assert (nd.crop, nd.border, nd.report_unit, nd.metrics) == ("border", 6, "cm", ("rmse", "mad"))
    for name in ("middlebury-dsr", "sintel-dsr"):
        p = PROTOCOLS[name]
        assert (p.crop, p.min_depth, p.max_depth, p.clamp_pred) == ("none", None, None, False)
    with pytest.raises(UserError, match="unknown protocol 'kitti'.*kitti-eigen"):
        get_protocol("kitti")


def test_kitti_mask_counts_crop_and_caps() -> None:
    gt = np.full((375, 1242), 10.0)
    gt[160, 100] = 0.0005  # below the 1e-3 cap
    gt[161, 100] = 80.0  # the cap is exclusive
    gt[162, 100] = 90.0
    gt[10, 10] = 5.0  # outside the crop: irrelevant anyway
    valid = gt > 0
    valid[163, 100] = False
    m = get_protocol("kitti-eigen").mask(gt, valid)
    assert m.sum() == (371 - 153) * (1197 - 44) - 4
    assert not m[152].any() and m[153, 44] and not m[153, 43] and not m[371 - 1 + 1 :].any()
    mb = get_protocol("kitti-eigen-benchmark").mask(gt, valid)
    assert mb.sum() == 375 * 1242 - 4  # no crop, same caps


# ----------------------------------------------------------------------------- evaluate_image


def monodepth2_reference(gt, pred, median_scaling):
    """monodepth2's evaluate_depth.py loop for one image, written from its description."""
    H, W = gt.shape
    mask = (gt > 1e-3) & (gt < 80)
    t, b, l, r = (
        np.array([0.40810811 * H, 0.99189189 * H, 0.03594771 * W, 0.96405229 * W])
    ).astype(np.int32)
    crop = np.zeros_like(mask)
    crop[t:b, l:r] = True
    mask &= crop
    g, p = gt[mask], pred[mask]
    ratio = np.median(g) / np.median(p) if median_scaling else 1.0
    p = np.clip(p * ratio, 1e-3, 80)
    return depth_errors(g, p), ratio


@pytest.mark.parametrize("median_scaling", [False, True])
def test_kitti_eigen_matches_reference_pipeline(median_scaling: bool) -> None:
    rng = np.random.default_rng(0)
    H, W = 60, 200
    gt = np.where(rng.random((H, W)) < 0.3, rng.uniform(0.0, 100.0, (H, W)), 0.0)
    pred = rng.uniform(0.0, 120.0, (H, W)) * 0.4  # scale-off, some > 80 and tiny values
    res = evaluate_image("kitti-eigen", gt, pred, median_scaling=median_scaling)
    ref, ratio = monodepth2_reference(gt, pred, median_scaling)
    for k, v in ref.items():
        assert res.metrics[k] == pytest.approx(v, rel=1e-12), k
    assert res.ratio == (pytest.approx(ratio) if median_scaling else None)
    assert res.crop_box == garg_crop_box(H, W)


def test_median_scaling_before_clamping_and_off_by_default() -> None:
    gt = np.full((40, 40), 70.0)
    pred = np.full((40, 40), 100.0)  # above the 80 m cap
    r = evaluate_image("kitti-eigen-benchmark", gt, pred, median_scaling=True)
    assert r.ratio == pytest.approx(0.7)
    assert r.metrics["abs_rel"] == pytest.approx(0.0, abs=1e-12)  # 100*0.7 = 70, then clamp
    r0 = evaluate_image("kitti-eigen-benchmark", gt, pred)
    assert r0.ratio is None
    assert r0.metrics["abs_rel"] == pytest.approx(10 / 70)  # clamped to 80


def test_prediction_clamped_and_invalid_predictions_counted() -> None:
    gt = np.full((20, 20), 5.0)
    pred = np.full((20, 20), 5.0)
    pred[0, 0] = np.nan  # invalid: counts as 0 -> clamped to 1e-3
    pred[0, 1] = 50.0  # inside the 80 m cap: kept as is
    r = evaluate_image("kitti-eigen-benchmark", gt, pred)
    assert r.n_pred_invalid == 1 and r.n_pixels == 400
    g = np.full(400, 5.0)
    p = np.full(400, 5.0)
    p[0], p[1] = 1e-3, 50.0
    ref = depth_errors(g, p)
    assert r.metrics == pytest.approx(ref)
    # nyu-eigen clamps at 10 m; crop on a 480x640 map
    gt = np.full((480, 640), 5.0)
    pred = np.full((480, 640), 20.0)
    r = evaluate_image("nyu-eigen", gt, pred)
    assert r.n_pixels == (471 - 45) * (601 - 41)
    assert r.metrics["rmse"] == pytest.approx(5.0)  # |10 - 5|


def test_nyu_dsr_border_and_centimetres() -> None:
    gt = np.full((30, 40), 2.0)
    pred = gt + 0.01  # 1 cm everywhere inside
    pred[:6] = 100.0  # border rows are not evaluated
    pred[:, -6:] = -5.0
    r = evaluate_image("nyu-dsr", gt, pred)
    assert r.n_pixels == (30 - 12) * (40 - 12)
    assert r.metrics["rmse"] == pytest.approx(1.0)
    assert r.metrics["mad"] == pytest.approx(1.0)
    # the same maps in millimetres give the same centimetres
    r_mm = evaluate_image("nyu-dsr", gt * 1000, pred * 1000, unit="mm")
    assert r_mm.metrics["rmse"] == pytest.approx(1.0)
    with pytest.raises(UserError, match="unknown unit 'inch'"):
        evaluate_image("nyu-dsr", gt, pred, unit="inch")


def test_middlebury_disparity_values_full_image() -> None:
    gt = np.arange(1, 13, dtype=np.float64).reshape(3, 4)
    pred = gt.copy()
    pred[0, 0] += 2.0
    pred[2, 3] -= 1.0
    r = evaluate_image("middlebury-dsr", gt, torch.from_numpy(pred)[None])
    assert r.metrics["rmse"] == pytest.approx(math.sqrt(5 / 12))
    assert r.metrics["mad"] == pytest.approx(3 / 12)
    assert r.crop_box is None
    with pytest.raises(UserError, match="not accepted"):
        evaluate_image("middlebury-dsr", gt, pred, unit="m")


def test_resize_to_gt_or_refuse() -> None:
    gt = np.full((8, 12), 3.0)
    pred = np.full((4, 6), 3.3)
    r = evaluate_image("sintel-dsr", gt, pred)
    assert r.resized and r.metrics["rmse"] == pytest.approx(0.3)
    with pytest.raises(UserError, match=r"pred\.png: prediction is 4x6 but ground truth is 8x12"):
        evaluate_image("sintel-dsr", gt, pred, allow_resize=False, name="pred.png")


def test_resize_bilinear_half_pixel_centres() -> None:
    # 1-D ramp 0, 1 upsampled x2 with half-pixel centres: 0, 0.25, 0.75, 1 (edges replicate)
    out = resize_bilinear(np.array([[0.0, 1.0]]), (1, 4))
    np.testing.assert_allclose(out, [[0.0, 0.25, 0.75, 1.0]])


def test_errors_name_the_image() -> None:
    with pytest.raises(UserError, match="img7: no ground-truth pixel left"):
        evaluate_image("kitti-eigen", np.full((50, 50), 90.0), np.ones((50, 50)), name="img7")
    with pytest.raises(UserError, match="img8: median of the prediction"):
        evaluate_image(
            "middlebury-dsr", np.ones((4, 4)), np.zeros((4, 4)), median_scaling=True, name="img8"
        )
    with pytest.raises(UserError, match="img9: ground truth must be a 2-D map"):
        evaluate_image("middlebury-dsr", np.ones(4), np.ones(4), name="img9")
    with pytest.raises(UserError, match="gt validity"):
        evaluate_image("middlebury-dsr", np.ones((4, 4)), np.ones((4, 4)), gt_valid=np.ones((2, 2)))


# ----------------------------------------------------------------------------- summarize


def test_summary_is_mean_of_per_image_and_records_everything() -> None:
    g1, p1 = np.full((10, 10), 4.0), np.full((10, 10), 5.0)  # rmse 1 on 100 px
    g2, p2 = np.full((10, 10), 4.0), np.full((10, 10), 4.0)
    g2[:9] = 0.0  # 10 valid px, rmse 0
    rs = [
        evaluate_image("middlebury-dsr", g1, p1, name="a"),
        evaluate_image("middlebury-dsr", g2, p2, name="b"),
    ]
    rec = summarize("middlebury-dsr", rs, median_scaling=False, degradation={"lr_from": "nearest"})
    assert rec["metrics"]["rmse"] == pytest.approx(0.5)  # pooled would be sqrt(100/110)
    for key in ("protocol", "crop", "caps", "median_scaling", "n_images", "degradation"):
        assert key in rec
    assert rec["protocol"] == "middlebury-dsr" and rec["n_images"] == 2
    assert rec["n_pixels"] == 110
    assert [d["name"] for d in rec["per_image"]] == ["a", "b"]
    with pytest.raises(UserError, match="0 images"):
        summarize("middlebury-dsr", [], median_scaling=False)


def test_summary_median_ratios() -> None:
    gt = np.full((20, 20), 10.0)
    rs = [
        evaluate_image("kitti-eigen-benchmark", gt, gt / s, median_scaling=True, name=str(s))
        for s in (1.0, 2.0, 3.0)
    ]
    rec = summarize("kitti-eigen-benchmark", rs, median_scaling=True)
    assert rec["median_ratios"]["mean"] == pytest.approx(2.0)
    assert rec["median_ratios"]["std"] == pytest.approx(math.sqrt(2 / 3))
    assert rec["median_scaling"] is True
    assert "degradation" not in rec  # depth protocols have no LR
    assert rec["crop"]["boxes"] == {"20x20": None}


def test_inverse_depth_predictions() -> None:
    gt = np.full((10, 10), 2.0)
    disp = np.full((10, 10), 0.5)  # 1 / 0.5 = 2 m
    disp[0, 0] = 0.0  # no depth: invalid, counted, clamped to 1e-3
    r = evaluate_image("kitti-eigen-benchmark", gt, disp, pred_inverse=True)
    assert r.n_pred_invalid == 1
    assert r.metrics["rmse"] == pytest.approx(math.sqrt((2 - 1e-3) ** 2 / 100))
    # inverse depth is resized first, then inverted (monodepth2 order): constant stays exact
    r = evaluate_image("kitti-eigen-benchmark", gt * 2, np.full((5, 5), 0.25), pred_inverse=True)
    assert r.resized and r.metrics["rmse"] == 0.0


def test_resize_keeps_invalid_predictions_from_bleeding() -> None:
    gt = np.full((8, 8), 3.0)
    pred = np.full((4, 4), 3.0)
    pred[0, 0] = np.nan  # invalid: its 2x2 HR block is invalid, its neighbours stay 3
    r = evaluate_image("sintel-dsr", gt, pred)
    assert r.n_pred_invalid == 4
    assert r.metrics["rmse"] == pytest.approx(math.sqrt(4 * 9 / 64))  # only the 4 zeros


def test_missing_predictions_count_as_zero_or_are_left_out() -> None:
    """``missing="zero"`` (default): a hole in the prediction is an error of the full depth;
    ``exclude``: it leaves the metrics, ``n_pixels`` shrinks, ``n_pred_invalid`` still counts
    it; the caps/crop mask is applied first (a capped GT pixel is not a missing prediction)."""
    gt = np.array([[1.0, 2.0], [3.0, 4.0]])
    pred = np.array([[1.0, 2.5], [np.nan, 4.0]])
    zero = evaluate_image("sintel-dsr", gt, pred)
    assert zero.n_pixels == 4 and zero.n_pred_invalid == 1
    assert zero.metrics["rmse"] == pytest.approx(math.sqrt((0.25 + 9.0) / 4))
    left = evaluate_image("sintel-dsr", gt, pred, missing="exclude")
    assert left.n_pixels == 3 and left.n_pred_invalid == 1
    assert left.metrics["rmse"] == pytest.approx(math.sqrt(0.25 / 3))
    gt_hole = gt.copy()
    gt_hole[1, 0] = 0.0  # no ground truth there: nothing missing
    assert evaluate_image("sintel-dsr", gt_hole, pred, missing="exclude").n_pred_invalid == 0
    with pytest.raises(UserError, match="with a valid prediction"):
        evaluate_image("sintel-dsr", gt, np.full((2, 2), np.nan), missing="exclude")
    with pytest.raises(UserError, match="missing='skip'"):
        evaluate_image("sintel-dsr", gt, pred, missing="skip")
    rec = summarize("sintel-dsr", [left], median_scaling=False)
    assert rec["missing_predictions"] == "exclude" and rec["n_pred_invalid"] == 1
    assert rec["pred_invalid_fraction"] == 0.25  # of the 4 ground-truth pixels
    with pytest.raises(UserError, match="different missing rules"):
        summarize("sintel-dsr", [left, zero], median_scaling=False)


def test_evaluate_arrays_in_memory() -> None:
    from depthduet.metrics import evaluate_arrays

    gts = [np.full((6, 6), 2.0), torch.full((1, 4, 4), 4.0)]
    preds = [np.full((6, 6), 3.0), np.full((4, 4), 4.0)]
    rec = evaluate_arrays("sintel-dsr", gts, preds, names=["x", "y"], per_image=True)
    assert rec["metrics"] == {"rmse": 0.5, "mad": 0.5}  # mean of 1 and 0
    assert [d["name"] for d in rec["per_image"]] == ["x", "y"]
    with pytest.raises(UserError, match="2 ground-truth maps but 1 predictions"):
        evaluate_arrays("sintel-dsr", gts, preds[:1])
