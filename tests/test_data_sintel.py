"""MPI Sintel loaders: official .dpt/.cam/.png layout (synthetic) and the depth-only .mat maps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from depthduet import io as dio
from depthduet.data import sintel
from depthduet.errors import UserError

H, W = 4, 5


def _make(root: Path, scene: str = "alley_1", frames: int = 3) -> None:
    tr = root / "training"
    K = np.array([[20.0, 0, 2], [0, 20, 1.5], [0, 0, 1]])
    for n in range(1, frames + 1):
        d = np.full((H, W), float(n), np.float32)
        d[0, 0] = np.inf  # sky / unknown
        (tr / "depth" / scene).mkdir(parents=True, exist_ok=True)
        dio.write_dpt(tr / "depth" / scene / f"frame_{n:04d}.dpt", d)
        T = np.eye(4)
        T[0, 3] = -0.5 * n  # camera moves +0.5 along x per frame (world -> camera translation)
        (tr / "camdata_left" / scene).mkdir(parents=True, exist_ok=True)
        sintel.write_sintel_cam(tr / "camdata_left" / scene / f"frame_{n:04d}.cam", K, T)
        dio.write_image(
            tr / "clean" / scene / f"frame_{n:04d}.png", np.full((H, W, 3), 30 * n, np.uint8)
        )


def test_cam_round_trip_and_errors(tmp_path: Path) -> None:
    K = np.array([[1.0, 0, 2], [0, 3, 4], [0, 0, 1]])
    T = np.arange(12, dtype=float).reshape(3, 4)
    p = sintel.write_sintel_cam(tmp_path / "a.cam", K, T)
    assert p.stat().st_size == 4 + 8 * 21
    K2, T2 = sintel.read_sintel_cam(p)
    np.testing.assert_array_equal(K2, K)
    np.testing.assert_array_equal(T2[:3], T)
    np.testing.assert_array_equal(T2[3], [0, 0, 0, 1])
    (tmp_path / "short.cam").write_bytes(p.read_bytes()[:50])
    with pytest.raises(UserError, match="short.cam: truncated"):
        sintel.read_sintel_cam(tmp_path / "short.cam")
    (tmp_path / "tag.cam").write_bytes(b"\0\0\0\0" + p.read_bytes()[4:])
    with pytest.raises(UserError, match="tag.cam: bad .cam tag"):
        sintel.read_sintel_cam(tmp_path / "tag.cam")


def test_official_layout(tmp_path: Path) -> None:
    _make(tmp_path)
    ds = sintel.SintelDataset(tmp_path)
    assert len(ds) == 3
    s = ds[1]
    assert s["name"] == "alley_1/frame_0002" and s["unit"] == "world_units"
    assert (
        s["depth"][0, 1, 1].item() == 2.0 and not s["valid"][0, 0, 0] and s["depth"][0, 0, 0] == 0
    )
    assert s["image"][0, 0, 0].item() == pytest.approx(60 / 255)
    torch.testing.assert_close(s["K"], torch.tensor([[20.0, 0, 2], [0, 20, 1.5], [0, 0, 1]]))
    nb = sintel.SintelDataset(tmp_path, offsets=(-1, 1))
    assert len(nb) == 1
    s = nb[0]
    assert s["image_next"][0, 0, 0].item() == pytest.approx(90 / 255)
    # the next camera is 0.5 m further along +x: a target-frame point appears 0.5 m to the left
    expect = torch.eye(4)
    expect[0, 3] = -0.5
    torch.testing.assert_close(s["T_next_tgt"], expect)
    expect[0, 3] = 0.5
    torch.testing.assert_close(s["T_prev_tgt"], expect)
    with pytest.raises(UserError, match="pass_name"):
        sintel.SintelDataset(tmp_path, pass_name="albedo")
    with pytest.raises(UserError, match="cave_2: Sintel scene not found"):
        sintel.SintelDataset(tmp_path, scenes=["cave_2"])
    (tmp_path / "training" / "clean" / "alley_1" / "frame_0003.png").unlink()
    with pytest.raises(UserError, match="frame_0003.png: image not found"):
        ds[2]


def test_sintel_mat_depth_only(data_root: Path) -> None:
    ds = sintel.SintelMatDataset(data_root / "sintel_depth")
    assert len(ds) == 58
    assert [p.stem for p in ds.files[:3]] == ["Df_1", "Df_2", "Df_3"]
    s = ds[0]
    assert "image" not in s and s["unit"] == "disparity_like"
    assert s["depth"].shape == (1, 436, 1024) and s["valid"].all()
    v = s["depth"][0]
    assert torch.all(v * 64 == (v * 64).round())  # quantised to 1/64 (README)
    val = sintel.SintelMatDataset(
        data_root / "sintel_depth", names=["Df_1", "Df_20", "Df_28", "Df_58"]
    )
    assert [x["name"] for x in val] == ["Df_1", "Df_20", "Df_28", "Df_58"]


def test_depth_only_dpt_folder(tmp_path: Path) -> None:
    """A folder of .dpt maps (no frames / cameras) through the generic depth-only dataset."""
    from depthduet.data.folder import DepthFolderDataset

    _make(tmp_path)
    ds = DepthFolderDataset(
        tmp_path / "training" / "depth" / "alley_1", pattern="*.dpt", unit="world_units"
    )
    assert len(ds) == 3
    s = ds[2]
    assert s["name"] == "frame_0003" and s["depth"][0, 3, 4].item() == 3.0
    assert not s["valid"][0, 0, 0] and s["valid"].sum().item() == H * W - 1  # inf -> invalid
