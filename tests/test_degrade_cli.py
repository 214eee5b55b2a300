"""``depthduet degrade``: LR test inputs from HR files, and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from depthduet.apps.degrade import degrade_map
from depthduet.cli import main
from depthduet.io import read_depth, write_depth


def hr_png(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    d = (rng.random((40, 52)) * 3000 + 500).astype(np.float32)
    d[5:9, 5:9] = 0  # a hole
    p = tmp_path / "hr.png"
    write_depth(p, d, d > 0)
    return p


def test_area_chain_writes_lr_gt_and_record(tmp_path: Path) -> None:
    src = hr_png(tmp_path)
    lr, gt = tmp_path / "lr.pfm", tmp_path / "gt.png"
    argv = ["degrade", str(src), "--scale", "4", "--degradation", "area", "-o", str(lr)]
    assert main([*argv, "--hr-out", str(gt)]) == 0
    hr = read_depth(src)
    got = read_depth(lr)
    assert got.values.shape == (10, 13)
    gtm = read_depth(gt)
    assert gtm.values.shape == (40, 52)
    # block (0, 3) has no hole: its LR value is the block mean
    blk = hr.values[0:4, 12:16]
    assert got.values[0, 3] == pytest.approx(blk.mean(), rel=1e-6)
    # block (1, 1) is all hole -> hole
    assert not got.valid[1, 1]
    rec = yaml.safe_load((tmp_path / "lr.degrade.yaml").read_text())
    assert rec["degradation"]["chain"] == "area" and rec["scale"] == 4 and rec["seed"] == 0
    assert rec["lr_size"] == [10, 13]


def test_seed_makes_noise_reproducible(tmp_path: Path) -> None:
    src = hr_png(tmp_path)
    chain = "bicubic_plain+gaussian_noise:0.01+drop_random:0.05"
    outs = []
    for name, seed in (("a.npy", 3), ("b.npy", 3), ("c.npy", 4)):
        argv = ["degrade", str(src), "--scale", "2", "--degradation", chain, "--seed", str(seed)]
        assert main([*argv, "-o", str(tmp_path / name)]) == 0
        outs.append(np.load(tmp_path / name))
    assert np.array_equal(outs[0], outs[1]) and not np.array_equal(outs[0], outs[2])


def test_random_records_the_drawn_chain(tmp_path: Path, capsys) -> None:
    src = hr_png(tmp_path)
    out = tmp_path / "r.npy"
    argv = ["degrade", str(src), "--scale", "4", "--degradation", "random", "--seed", "7"]
    assert main([*argv, "-o", str(out)]) == 0
    rec = yaml.safe_load((tmp_path / "r.degrade.yaml").read_text())
    assert rec["asked"] == "random" and rec["degradation"]["chain"] in capsys.readouterr().out


def test_degrade_map_matches_nearest_slicing() -> None:
    hr = np.arange(1.0, 1 + 12 * 16).reshape(12, 16)
    lr, lv, gt, gv, rec = degrade_map(hr, None, 4, "nearest:0")
    np.testing.assert_array_equal(lr, hr[::4, ::4])
    lr, *_ = degrade_map(hr, None, 4, "nearest")
    np.testing.assert_array_equal(lr, hr[2::4, 2::4])


@pytest.mark.parametrize(
    "case",
    ["missing", "folder", "bad-chain", "exists", "suffix", "same", "truncated", "empty", "tiny"],
)
def test_bad_input_is_one_line_exit_2_nothing_written(tmp_path: Path, case: str, capsys) -> None:
    src = hr_png(tmp_path)
    out = tmp_path / "out" / "lr.png"
    chain = "area"
    extra: list[str] = []
    want = str(src)
    if case == "missing":
        src = tmp_path / "nope.png"
        want = str(src)
    elif case == "folder":
        src = tmp_path
        want = str(src)
    elif case == "bad-chain":
        chain, want = "area+speckle:0.1", "speckle"
    elif case == "exists":
        out.parent.mkdir()
        out.write_bytes(b"keep")
        want = str(out)
    elif case == "suffix":
        out, want = tmp_path / "lr.jpg", "lr.jpg"
    elif case == "same":
        out, want = src, str(src)
        extra = ["--overwrite"]
    elif case == "truncated":
        src.write_bytes(src.read_bytes()[:60])
    elif case == "empty":
        write_depth(src, np.zeros((8, 8), np.float32), np.zeros((8, 8), bool))
    elif case == "tiny":
        write_depth(src, np.ones((3, 3), np.float32))
        want = "smaller"
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    argv = ["degrade", str(src), "--scale", "4", "--degradation", chain, "-o", str(out), *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and want in err[0], err
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before  # nothing written, nothing changed, no .tmp left
