"""NYU v2 loaders on a tiny labelled .mat (MATLAB v7.3 = HDF5, written with h5py) and folders."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io
import torch

from depthduet import io as dio
from depthduet.data import nyu
from depthduet.data.splits import NYU_LABELLED_COUNT
from depthduet.errors import UserError

N, H, W = 4, 6, 8


def _frames() -> tuple[np.ndarray, np.ndarray]:
    """MATLAB-layout arrays: images H x W x 3 x N (uint8), depths H x W x N (metres)."""
    r = np.random.default_rng(1)
    images = r.integers(0, 256, size=(H, W, 3, N), dtype=np.uint8)
    depths = r.uniform(0.5, 9.0, size=(H, W, N)).astype(np.float32)
    return images, depths


def _write_v73(path: Path, images: np.ndarray, depths: np.ndarray) -> None:
    """Store like MATLAB -v7.3: HDF5 datasets hold the column-major arrays, i.e. axes reversed."""
    raw = depths.copy()
    raw[0, 0, :] = 0  # holes in the raw maps
    with h5py.File(path, "w", userblock_size=512) as f:
        f["images"] = images.transpose(3, 2, 1, 0)
        f["depths"] = depths.transpose(2, 1, 0)
        f["rawDepths"] = raw.transpose(2, 1, 0)


def test_labelled_mat(tmp_path: Path) -> None:
    images, depths = _frames()
    p = tmp_path / "nyu_depth_v2_labeled.mat"
    _write_v73(p, images, depths)
    ds = nyu.NYUv2MatDataset(p)
    assert len(ds) == N
    s = ds[2]
    assert s["name"] == "nyu_0003" and s["unit"] == "m"
    np.testing.assert_allclose(
        s["image"].numpy(), images[..., 2].transpose(2, 0, 1) / 255.0, atol=1e-6
    )
    np.testing.assert_array_equal(s["depth"][0].numpy(), depths[..., 2])
    assert s["valid"].all()
    torch.testing.assert_close(s["K"], torch.tensor(nyu.NYU_K, dtype=torch.float32))
    raw = nyu.NYUv2MatDataset(p, raw=True)[2]
    assert (
        not raw["valid"][0, 0, 0] and raw["depth"][0, 0, 0] == 0 and raw["valid"].sum() == H * W - 1
    )
    c = nyu.NYUv2MatDataset(p, split=[1, 3], crop=1)
    s = c[1]
    assert len(c) == 2 and s["name"] == "nyu_0004" and s["depth"].shape == (1, H - 2, W - 2)
    np.testing.assert_array_equal(s["depth"][0].numpy(), depths[1:-1, 1:-1, 3])
    assert s["K"][0, 2].item() == pytest.approx(nyu.NYU_K[0, 2] - 1)
    # picklable for DataLoader workers after a read (the open HDF5 handle is not carried over)
    import pickle

    again = pickle.loads(pickle.dumps(c))
    torch.testing.assert_close(again[1]["depth"], s["depth"])
    # the io helper reads the same frame (transposed back to MATLAB orientation)
    np.testing.assert_array_equal(dio.read_mat(p, key="depths", index=3), depths[..., 3])


def test_labelled_mat_errors(tmp_path: Path) -> None:
    images, depths = _frames()
    p = tmp_path / "x.mat"
    with h5py.File(p, "w") as f:
        f["depths"] = depths.transpose(2, 1, 0)
    with pytest.raises(UserError, match="x.mat: no variable 'images'"):
        nyu.NYUv2MatDataset(p)
    v5 = tmp_path / "v5.mat"
    scipy.io.savemat(v5, {"depths": depths})
    with pytest.raises(UserError, match="v5.mat: not a MATLAB v7.3"):
        nyu.NYUv2MatDataset(v5)
    p2 = tmp_path / "ok.mat"
    _write_v73(p2, images, depths)
    with pytest.raises(UserError, match="index 4 out of range"):
        nyu.NYUv2MatDataset(p2, split=[4])
    with pytest.raises(UserError, match="missing.mat: NYU v2 labelled .mat not found"):
        nyu.NYUv2MatDataset(tmp_path / "missing.mat")
    with pytest.raises(UserError, match="crop 3 removes"):
        nyu.NYUv2MatDataset(p2, crop=3)[0]


def test_split_resolution(tmp_path: Path) -> None:
    assert nyu.resolve_nyu_indices("train") == list(range(1000))
    test = nyu.resolve_nyu_indices("test")
    assert len(test) == 449 and test[0] == 1000 and test[-1] == NYU_LABELLED_COUNT - 1
    splits = tmp_path / "splits.mat"
    train = np.array([[1], [3], [1449]], dtype=np.float64)
    scipy.io.savemat(
        splits, {"trainNdxs": train, "testNdxs": np.array([[2], [4]], dtype=np.float64)}
    )
    assert nyu.resolve_nyu_indices("train", "official", splits) == [0, 2, 1448]
    assert nyu.resolve_nyu_indices("test", "official", splits) == [1, 3]
    with pytest.raises(UserError, match="needs splits_mat"):
        nyu.resolve_nyu_indices("test", "official")
    idx = tmp_path / "idx.txt"
    idx.write_text("# 1-based\n5\n7\n")
    assert nyu.resolve_nyu_indices(idx) == [4, 6]
    with pytest.raises(UserError, match="unknown NYU split scheme"):
        nyu.resolve_nyu_indices("train", "eigen")


def test_folder_layout(tmp_path: Path) -> None:
    depth_mm = np.array([[1000, 0], [2500, 65535]], dtype=np.uint16)
    dio.write_image(tmp_path / "rgb" / "0001.png", np.zeros((2, 2, 3), np.uint8))
    dio.write_image(tmp_path / "depth" / "0001.png", depth_mm)
    s = nyu.NYUv2FolderDataset(tmp_path)[0]
    np.testing.assert_allclose(s["depth"][0].numpy(), [[1.0, 0], [2.5, 65.535]])
    assert s["valid"].tolist() == [[[True, False], [True, True]]]
    torch.testing.assert_close(s["K"], torch.tensor(nyu.NYU_K, dtype=torch.float32))


def test_nyu_sample_is_normalised(data_root: Path) -> None:
    """The shared NYU sample has min-max stretched 8-bit depth (not metric): a folder dataset with
    unit 'normalised' reads it, and its values span the full 1/255..1 range."""
    from depthduet.data.folder import RGBDFolderDataset

    d = data_root / "nyu_sample"
    ds = RGBDFolderDataset(
        d,
        ".",
        ".",
        image_glob="*_color.png",
        depth_stem=("_color$", "_big"),
        depth_scale=255,
        unit="normalised",
    )
    s = ds[0]
    assert s["image"].shape == (3, 480, 640) and s["name"] == "1025_color"
    assert s["depth"].max().item() == pytest.approx(1.0)
