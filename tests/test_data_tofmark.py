"""ToFMark loaders: the sparse-projected sample (shared data) and synthetic benchmark .mat files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch

from depthduet import io as dio
from depthduet.data import tofmark
from depthduet.errors import UserError


def test_sparse_sample(data_root: Path) -> None:
    ds = tofmark.ToFMarkSparseDataset(data_root / "tofmark")
    assert [s["name"] for s in ds] == ["books", "devil", "shark"]
    for s in ds:
        assert s["image"].shape == (3, 610, 810) and s["unit"] == "normalised"
        frac = s["valid"].float().mean().item()
        assert 0.02 < frac < 0.03  # README: ~12.3k of 494k pixels (~2.5 %)
        assert s["depth"][~s["valid"]].abs().max() == 0
        assert torch.equal(s["image"][0], s["image"][1])  # grey intensity


def test_sparse_layout_errors(tmp_path: Path) -> None:
    dio.write_image(tmp_path / "a.bmp", np.zeros((3, 4), np.uint8))
    dio.write_image(tmp_path / "a_depth.bmp", np.zeros((3, 5), np.uint8))
    with pytest.raises(UserError, match="a_depth.bmp: size"):
        tofmark.ToFMarkSparseDataset(tmp_path)[0]
    with pytest.raises(UserError, match="no ToFMark pair b.bmp"):
        tofmark.ToFMarkSparseDataset(tmp_path, names=["b"])


def test_benchmark_mat(tmp_path: Path) -> None:
    inten = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    gt = np.full((3, 4), 900.0)
    gt[0, 0] = 0
    lr = np.array([[800.0, 950.0]])
    scipy.io.savemat(tmp_path / "books.mat", {"intensity": inten, "gt_depth": gt, "tof": lr})
    s = tofmark.ToFMarkDataset(tmp_path)[0]
    assert s["name"] == "books" and s["unit"] == "mm"
    np.testing.assert_allclose(s["image"][0].numpy(), inten / 255.0, atol=1e-6)
    assert s["depth"][0, 1, 1].item() == 900.0 and not s["valid"][0, 0, 0]
    assert s["lr"].tolist() == [[[800.0, 950.0]]] and s["lr_valid"].all()
    same = tofmark.ToFMarkDataset(
        tmp_path, keys={"image": "intensity", "gt": "gt_depth", "lr": "tof"}
    )[0]
    assert torch.equal(same["depth"], s["depth"])
    scipy.io.savemat(tmp_path / "books.mat", {"a": inten, "b": gt, "c": lr})
    with pytest.raises(
        UserError, match=r"books.mat: cannot tell the gt variable among \['a', 'b', 'c'\]"
    ):
        tofmark.ToFMarkDataset(tmp_path)
    with pytest.raises(UserError, match="no variable 'x'"):
        tofmark.ToFMarkDataset(tmp_path, keys={"image": "a", "gt": "x", "lr": "c"})
    assert tofmark.mat_variables(tmp_path / "books.mat") == {"a": (3, 4), "b": (3, 4), "c": (1, 2)}
