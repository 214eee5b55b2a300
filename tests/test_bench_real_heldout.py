"""``experiments/tools/dsr_real_heldout.py``: the map catalogue, the per-map protocol and the paired
statistics (checked against hand-computed numbers)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "experiments" / "tools"))
import dsr_real_heldout as rh  # noqa: E402
from depthduet.inference.dsr import DepthUpsampler  # noqa: E402


def _report() -> dict:
    """Two maps in two groups; method a: RMSE 2 and 4; b: 1 and 8; bicubic 4 and 4."""

    def s(r: float) -> dict:
        return {"rmse": r, "mae": r / 2, "pixels": 10}

    maps = [
        {"group": "sintel", "name": "m1", "scores": {"bicubic": s(4), "a": s(2), "b": s(1)}},
        {"group": "kinect", "name": "m2", "scores": {"bicubic": s(4), "a": s(4), "b": s(8)}},
    ]
    return {
        "data": "x",
        "scale": 4,
        "degradation": "bicubic",
        "methods": ["bicubic", "a", "b"],
        "maps": maps,
    }


def test_summary_is_the_geometric_mean_of_ratios() -> None:
    summ = rh.summarise(_report())
    assert summ["bicubic"]["all"]["ratio"] == pytest.approx(1.0)
    assert summ["a"]["sintel"]["ratio"] == pytest.approx(0.5)
    assert summ["a"]["all"]["ratio"] == pytest.approx(math.sqrt(0.5 * 1.0))
    assert summ["b"]["all"]["ratio"] == pytest.approx(math.sqrt(0.25 * 2.0))
    assert summ["b"]["all"]["rmse"] == pytest.approx(4.5)
    assert summ["a"]["kinect"]["maps"] == 1


def test_pair_statistics_by_hand(capsys: pytest.CaptureFixture[str]) -> None:
    rep = _report()
    # seed 1: b/a = 1/2 and 8/4 on the two maps -> geometric mean 1 ("all"), wins 1 of 2
    for m in rep["maps"]:
        m["scores"]["a_seed1"] = m["scores"]["a"]
        m["scores"]["b_seed1"] = {**m["scores"]["a"], "rmse": m["scores"]["a"]["rmse"] * 0.9}
    rep["methods"] += ["a_seed1", "b_seed1"]
    res = rh.pair(rep, [0, 1], "a{_seed}", "b{_seed}")
    # log ratios per seed ("all"): seed 0: (log .5 + log 2)/2 = 0; seed 1: log .9
    mean = (0.0 + math.log(0.9)) / 2
    assert res["all"]["rel"] == pytest.approx(math.exp(mean) - 1)
    se = math.sqrt(((0 - mean) ** 2 + (math.log(0.9) - mean) ** 2) / 1 / 2)
    assert res["all"]["se_log"] == pytest.approx(se)
    assert res["all"]["b_better_seeds"] == 1
    assert res["sintel"]["rel"] == pytest.approx(math.exp((math.log(0.5) + math.log(0.9)) / 2) - 1)
    assert "seed" in capsys.readouterr().out


def test_pair_names_a_missing_run() -> None:
    with pytest.raises(SystemExit, match="b_seed3"):
        rh.pair(_report(), [3], "a", "b{_seed}")


def test_score_map_bicubic_on_a_linear_ramp_with_a_hole() -> None:
    """A horizontal ramp is reproduced by bicubic away from the border; only pixels valid in the
    ground truth and in the output are scored (a hole off the LR grid leaves output holes over
    valid ground-truth pixels)."""
    from depthduet.evaluation.baselines import downsample_depth

    h, w = 48, 64
    values = np.tile(np.linspace(1.0, 3.0, w), (h, 1))
    valid = np.ones((h, w), bool)
    valid[6:34, 10:38] = False
    m = rh.RealMap("kinect", "ramp", np.where(valid, values, 0.0), valid)
    up = DepthUpsampler.bicubic(4, device="cpu")
    r = rh.score_map(up, m, 4, "bicubic")
    out = up.upsample(*downsample_depth(m.values, valid, 4, "bicubic"))
    sel = valid & out.valid
    assert (valid & ~out.valid).any()
    assert r["pixels"] == sel.sum() < valid.sum()
    err = out.values[sel] - values[sel]
    assert r["rmse"] == pytest.approx(float(np.sqrt(np.mean(err.astype(np.float64) ** 2))))
    assert 0 < r["rmse"] < 0.05
    assert r["mae"] <= r["rmse"]


@pytest.mark.realdata
def test_catalogue_and_a_short_run(data_root: Path, tmp_path: Path) -> None:
    maps = list(rh.real_maps(data_root))
    groups = {g: sum(m.group == g for m in maps) for g in rh.GROUPS}
    assert groups == {
        "middlebury-2003": 2,
        "middlebury-2001": 7,
        "middlebury-2014": 1,
        "sintel": 58,
        "kinect": 9,
    }
    assert all(m.valid.any() and np.all(m.values[~m.valid] == 0) for m in maps)
    out = tmp_path / "r.json"
    assert (
        rh.main(["--data", str(data_root), "--scale", "4", "--limit", "2", "--json", str(out)]) == 0
    )
    rep = json.loads(out.read_text())
    assert [m["name"] for m in rep["maps"]] == [
        "middlebury_2001_2003/Depth/cones_2.mat",
        "middlebury_2001_2003/Depth/teddy_2.mat",
    ]
    assert rep["maps"][0]["scores"]["bicubic"]["rmse"] > 0


@pytest.mark.realdata
def test_groups_filter_and_a_shipped_model(data_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "s.json"
    argv = ["--data", str(data_root), "--scale", "4", "--model", "dsr-x4", "--groups",
            "middlebury-2014", "--json", str(out)]  # fmt: skip
    assert rh.main(argv) == 0
    rep = json.loads(out.read_text())
    assert [m["group"] for m in rep["maps"]] == ["middlebury-2014"]
    scores = rep["maps"][0]["scores"]
    assert scores["dsr-x4"]["rmse"] < scores["bicubic"]["rmse"]  # a map it never saw
