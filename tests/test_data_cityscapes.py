"""Cityscapes loader on a tiny folder in the official layout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from depthduet import io as dio
from depthduet.data import cityscapes
from depthduet.errors import UserError

FX, B = 2000.0, 0.2


def _make(root: Path, split: str = "val", city: str = "lindau") -> None:
    stem = f"{city}_000000_000019"
    d = root / "{}" / split / city
    dio.write_image(
        Path(str(d).format("leftImg8bit")) / f"{stem}_leftImg8bit.png",
        np.full((2, 3, 3), 9, np.uint8),
    )
    dio.write_image(
        Path(str(d).format("rightImg8bit")) / f"{stem}_rightImg8bit.png",
        np.full((2, 3, 3), 99, np.uint8),
    )
    for f in (18, 20):
        p = Path(str(d).format("leftImg8bit_sequence")) / f"{city}_000000_{f:06d}_leftImg8bit.png"
        dio.write_image(p, np.full((2, 3, 3), f, np.uint8))
    # stored p = 256 d + 1; 0 = invalid; 1 = zero disparity (also invalid)
    stored = np.array([[0, 1, 257], [2561, 12801, 65535]], np.uint16)
    dio.write_image(Path(str(d).format("disparity")) / f"{stem}_disparity.png", stored)
    cam = {"extrinsic": {"baseline": B}, "intrinsic": {"fx": FX, "fy": FX, "u0": 1.0, "v0": 0.5}}
    p = Path(str(d).format("camera")) / f"{stem}_camera.json"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(cam))


def test_depth_from_disparity(tmp_path: Path) -> None:
    _make(tmp_path)
    ds = cityscapes.CityscapesDataset(tmp_path, split="val")
    s = ds[0]
    assert s["name"] == "lindau_000000_000019" and s["unit"] == "m"
    disp = np.array([[0, 0, 1.0], [10.0, 50.0, 65534 / 256]])
    expect = np.where(disp > 0, B * FX / np.where(disp > 0, disp, 1), 0)
    np.testing.assert_allclose(s["depth"][0].numpy(), expect, rtol=1e-6)
    assert s["valid"][0].tolist() == [[False, False, True], [True, True, True]]
    assert s["depth"][0, 0, 2].item() == pytest.approx(400.0)
    torch.testing.assert_close(s["K"], torch.tensor([[FX, 0, 1.0], [0, FX, 0.5], [0, 0, 1]]))
    d = cityscapes.CityscapesDataset(tmp_path, split="val", to_depth=False)[0]
    assert d["unit"] == "disparity_px" and d["depth"][0, 1, 0].item() == 10.0


def test_neighbours_and_stereo(tmp_path: Path) -> None:
    _make(tmp_path)
    s = cityscapes.CityscapesDataset(tmp_path, split="val", offsets=(-1, 1), stereo=True)[0]
    assert s["image_prev"][0, 0, 0].item() == pytest.approx(18 / 255)
    assert s["image_next"][0, 0, 0].item() == pytest.approx(20 / 255)
    assert s["image_stereo"][0, 0, 0].item() == pytest.approx(99 / 255)
    assert s["T_stereo_tgt"][0, 3].item() == pytest.approx(-B)


def test_errors(tmp_path: Path) -> None:
    _make(tmp_path)
    with pytest.raises(
        UserError, match="leftImg8bit/train: Cityscapes leftImg8bit split not found"
    ):
        cityscapes.CityscapesDataset(tmp_path, split="train")
    with pytest.raises(UserError, match="bonn: Cityscapes city not found"):
        cityscapes.CityscapesDataset(tmp_path, split="val", cities=["bonn"])
    with pytest.raises(UserError, match="_leftImg8bit.png: Cityscapes sequence frame not found"):
        cityscapes.CityscapesDataset(tmp_path, split="val", offsets=(2,))[0]
    (tmp_path / "camera" / "val" / "lindau" / "lindau_000000_000019_camera.json").write_text(
        '{"intrinsic": {"fx": 1}}'
    )
    with pytest.raises(UserError, match="'intrinsic' lacks key 'fy'"):
        cityscapes.CityscapesDataset(tmp_path, split="val")[0]


def test_resize(tmp_path: Path) -> None:
    _make(tmp_path)
    s = cityscapes.CityscapesDataset(
        tmp_path, split="val", size=(4, 6), offsets=(-1,), stereo=True
    )[0]
    assert s["image"].shape == s["image_prev"].shape == s["image_stereo"].shape == (3, 4, 6)
    # K about pixel centres: fx' = 2 fx, cx' = 2 (cx + 0.5) - 0.5
    torch.testing.assert_close(
        s["K"], torch.tensor([[2 * FX, 0, 2.5], [0, 2 * FX, 1.5], [0, 0, 1]])
    )
    # nearest-pixel upsampling: every 2x2 block copies one source pixel, validity included
    full = cityscapes.CityscapesDataset(tmp_path, split="val")[0]
    torch.testing.assert_close(s["depth"][0, ::2, ::2], full["depth"][0])
    torch.testing.assert_close(s["depth"][0, 1::2, 1::2], full["depth"][0])
    assert torch.equal(s["valid"][0, ::2, ::2], full["valid"][0])
