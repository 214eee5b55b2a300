"""``depthduet synth`` and SynthFolderDataset: files, camera.json, reading back, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import yaml

from depthduet.cli import main
from depthduet.data.synth_folder import SynthFolderDataset, read_camera
from depthduet.data.world import WorldConfig, WorldDataset, render_sequence
from depthduet.errors import UserError
from depthduet.io import read_image


def _synth(tmp_path, *extra: str, n: int = 2, name: str = "out") -> tuple[int, object]:
    out = tmp_path / name
    argv = ["synth", "--kind", "driving", "--n", str(n), "--size", "32x96"]
    if "--frames" not in extra:  # options take one value: the default only when not given
        argv += ["--frames", "3"]
    rc = main([*argv, "--seed", "10", "--out", str(out), "--quiet", *extra])
    return rc, out


def test_synth_writes_the_documented_layout(tmp_path, capsys):
    rc, out = _synth(tmp_path)
    assert rc == 0
    assert "2 samples written" in capsys.readouterr().out
    folders = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert folders == ["driving-000010", "driving-000011"]
    f = out / "driving-000011"
    for k in range(3):
        for name in (f"frame_{k}.png", f"depth_{k}.npy", f"lidar_{k}.npy", f"right_{k}.png"):
            assert (f / name).is_file(), name
    cam = json.loads((f / "camera.json").read_text())
    r = render_sequence("driving", 11, WorldConfig(height=32, width=96))
    np.testing.assert_allclose(cam["K"], r["K"])
    np.testing.assert_allclose(cam["poses"], r["poses"])
    assert cam["baseline"] == pytest.approx(0.54) and cam["frames"] == 3 and cam["target"] == 1
    assert cam["size"] == [32, 96] and cam["unit"] == "m"
    d = np.load(f / "depth_2.npy")
    assert d.dtype == np.float32 and d.shape == (32, 96)
    np.testing.assert_array_equal(d, r["depths"][2])
    np.testing.assert_array_equal(np.load(f / "lidar_0.npy"), r["lidar"][0])
    img = read_image(f / "right_1.png")
    assert np.abs(img - r["right"][1]).max() <= 0.5 / 255 + 1e-6  # 8-bit rounding only
    settings = yaml.safe_load((out / "synth.yaml").read_text())
    assert settings["kind"] == "driving" and settings["height"] == 32 and settings["seed"] == 10


def test_folder_dataset_matches_world_dataset(tmp_path):
    _, out = _synth(tmp_path)
    ds = SynthFolderDataset(out)
    assert len(ds) == 2
    s = ds[1]
    ref = render_sequence("driving", 11, WorldConfig(height=32, width=96))
    torch.testing.assert_close(s["depth"][0], torch.from_numpy(ref["depths"][1]))
    torch.testing.assert_close(s["lidar"][0], torch.from_numpy(ref["lidar"][1]))
    assert torch.equal(s["valid"], s["depth"] > 0)
    assert (s["image"] - torch.from_numpy(ref["images"][1]).permute(2, 0, 1)).abs().max() < 0.003
    w = WorldDataset("driving", "train", n=12, cfg=WorldConfig(height=32, width=96))[11]
    for key in ("K", "T_prev_tgt", "T_next_tgt", "T_stereo_tgt"):
        torch.testing.assert_close(s[key], w[key], atol=1e-5, rtol=1e-5)
    assert s["name"] == "driving-000011/1" and s["unit"] == "m"
    # one sample folder can be opened directly; every_frame gives the frames with neighbours
    assert len(SynthFolderDataset(out / "driving-000010")) == 1
    assert len(SynthFolderDataset(out, every_frame=True)) == 2


def test_synth_every_frame_and_options(tmp_path):
    rc, out = _synth(tmp_path, "--frames", "5", "--no-stereo", "--lidar-beams", "0", n=1)
    assert rc == 0
    f = out / "driving-000010"
    assert not list(f.glob("right_*")) and not list(f.glob("lidar_*"))
    ds = SynthFolderDataset(out, every_frame=True)
    assert [ds.items[i][1] for i in range(len(ds))] == [1, 2, 3]
    s = ds[0]
    assert "image_stereo" not in s and "lidar" not in s and "image_prev" in s


def test_synth_resume_and_settings_guard(tmp_path, capsys):
    _synth(tmp_path, n=1)
    capsys.readouterr()
    rc, out = _synth(tmp_path, n=2)
    assert rc == 0 and "1 samples written, 1 already there and kept" in capsys.readouterr().out
    first = sorted(p for p in out.iterdir() if p.is_dir())[0]
    (first / "depth_0.npy").unlink()  # a damaged sample is rendered again, not kept
    rc, _ = _synth(tmp_path, n=2)
    assert rc == 0 and "1 samples written, 1 already there and kept" in capsys.readouterr().out
    assert (first / "depth_0.npy").is_file()
    rc, _ = _synth(tmp_path, "--set", "lidar_noise=0.02", n=2)  # other settings: refused
    assert rc == 2
    assert "other settings" in capsys.readouterr().err
    rc, _ = _synth(tmp_path, "--set", "lidar_noise=0.02", "--overwrite", n=2)
    assert rc == 0
    assert not list(out.glob("*.tmp"))


def test_synth_sensor_config(tmp_path):
    out = tmp_path / "tof"
    argv = ["synth", "--kind", "indoor", "--n", "1", "--size", "32x40", "--out", str(out)]
    assert main([*argv, "--config", "world/indoor_tof", "--quiet"]) == 0
    f = out / "indoor-000000"
    assert np.load(f / "tof_1.npy").shape == (8, 10)
    s = SynthFolderDataset(out)[0]
    assert s["depth_tof"].shape == (1, 8, 10) and s["depth_sensor"].shape == (1, 32, 40)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--size", "32"], None),  # argparse error (exit 2 via SystemExit)
        (["--set", "frames=0"], "world.frames"),
        (["--set", "colour=red"], "colour"),
        (["--workers", "-1"], "--workers"),
    ],
)
def test_synth_bad_arguments(tmp_path, capsys, extra, message):
    argv = ["synth", "--kind", "indoor", "--n", "1", "--out", str(tmp_path / "x"), *extra]
    if message is None:
        with pytest.raises(SystemExit):
            main(argv)
        return
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_synth_n_must_be_positive(tmp_path, capsys):
    argv = ["synth", "--kind", "indoor", "--n", "0", "--out", str(tmp_path / "x")]
    assert main(argv) == 2
    assert "--n 0" in capsys.readouterr().err


def test_reader_errors(tmp_path):
    with pytest.raises(UserError, match="not found"):
        SynthFolderDataset(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no sample folders"):
        SynthFolderDataset(tmp_path / "empty")
    _, out = _synth(tmp_path, n=1)
    f = out / "driving-000010"
    cam = json.loads((f / "camera.json").read_text())
    bad = dict(cam, K=[[1, 0], [0, 1]])
    (f / "camera.json").write_text(json.dumps(bad))
    with pytest.raises(UserError, match="'K' must be 3x3"):
        read_camera(f)
    (f / "camera.json").write_text("{not json")
    with pytest.raises(UserError, match="camera.json: cannot read"):
        read_camera(f)
    (f / "camera.json").write_text(json.dumps(dict(cam, target=7)))
    with pytest.raises(UserError, match="target"):
        read_camera(f)
    (f / "camera.json").write_text(json.dumps(cam))
    np.save(f / "depth_1.npy", np.zeros((5, 5), np.float32))
    with pytest.raises(UserError, match="depth_1.npy: depth map has shape"):
        SynthFolderDataset(out)[0]
    (f / "depth_1.npy").unlink()
    with pytest.raises(UserError, match="depth_1.npy: not found"):
        SynthFolderDataset(out)[0]


def test_preview_picture(tmp_path):
    png = tmp_path / "p.png"
    argv = [
        "synth",
        "--kind",
        "indoor",
        "--n",
        "1",
        "--size",
        "24x32",
        "--out",
        str(tmp_path / "o"),
    ]
    assert main([*argv, "--preview", str(png), "--quiet"]) == 0
    img = read_image(png)
    # four 24x32 tiles in one row (colour, depth, LiDAR, right view) with title bars and gaps
    assert img.shape[1] == 4 * 32 + 3 * 4 and img.shape[0] > 24
    assert main([*argv, "--preview", str(tmp_path / "p.jpg"), "--quiet"]) == 2
    bad = [a if a != str(tmp_path / "o") else str(tmp_path / "o2") for a in argv]
    assert main([*bad, "--preview", str(tmp_path / "p.jpg"), "--quiet"]) == 2
    assert not (tmp_path / "o2").exists()  # refused before rendering anything
