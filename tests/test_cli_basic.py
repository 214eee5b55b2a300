"""The `info`, `convert` and `show` commands: outputs, help texts, exit status 2 on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from depthduet import io
from depthduet.cli import main


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main(argv)
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def _stderr_one_line(err: str, *needles: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for n in needles:
        assert n in lines[0], lines[0]


# ------------------------------------------------------------------ help


def test_top_level_help_lists_commands() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "depthduet", "--help"], capture_output=True, text=True, check=True
    )
    for cmd in ("info", "convert", "show"):
        assert cmd in r.stdout


@pytest.mark.parametrize("cmd", ["info", "convert", "show"])
def test_command_help(cmd: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main([cmd, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: depthduet {cmd}")
    assert "examples:" in out


# ------------------------------------------------------------------ info


def test_info_json_reports_datasets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "motorcycle").mkdir()
    (tmp_path / "motorcycle" / "a.npz").write_bytes(b"x")
    (tmp_path / "kitti" / "odometry06").mkdir(parents=True)
    monkeypatch.setenv("DEPTHDUET_DATA", str(tmp_path))
    rc, out, _ = _run(["info", "--json"], capsys)
    assert rc == 0
    info = json.loads(out)
    assert info["data_root"] == str(tmp_path)
    assert info["datasets"]["motorcycle"] == {
        "present": True,
        "files": 1,
        "what": info["datasets"]["motorcycle"]["what"],
    }
    assert info["datasets"]["kitti/odometry06"]["present"] is True
    assert info["datasets"]["sintel_depth"]["present"] is False
    assert isinstance(info["device"]["cuda_available"], bool)
    assert info["threads"]["torch_intra_op"] >= 1
    assert info["packages"]["torch"] and info["packages"]["numpy"]
    rc, out, _ = _run(["info"], capsys)
    assert rc == 0 and "device:" in out and "motorcycle" in out and "missing" in out


# ------------------------------------------------------------------ convert


def test_convert_tum_png_to_pfm_and_back_to_mm(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stored = np.array([[0, 5000, 7500], [10000, 46655, 5]], np.uint16)  # TUM: /5000 = metres
    Image.fromarray(stored).save(tmp_path / "tum.png")
    rc, out, err = _run(
        ["convert", str(tmp_path / "tum.png"), str(tmp_path / "m.pfm"), "--in-scale", "5000"],
        capsys,
    )
    assert rc == 0, err
    assert "5 valid" in out
    np.testing.assert_allclose(
        io.read_pfm(tmp_path / "m.pfm"), stored / 5000.0, rtol=1e-6
    )  # invalid stays 0
    params = yaml.safe_load((tmp_path / "m.pfm.yaml").read_text())
    assert params["in_scale"] == 5000 and params["summary"]["valid_pixels"] == 5
    rc, _, err = _run(
        ["convert", str(tmp_path / "m.pfm"), str(tmp_path / "mm.png"), "--out-scale", "1000"],
        capsys,
    )
    assert rc == 0, err
    with Image.open(tmp_path / "mm.png") as im:
        mm = np.asarray(im)
    np.testing.assert_array_equal(mm, np.round(stored / 5.0).astype(np.uint16))


def test_convert_refuses_lossy_integer_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    io.write_depth(tmp_path / "m.npy", np.array([[1.25, 2.5]]))
    rc, _, err = _run(["convert", str(tmp_path / "m.npy"), str(tmp_path / "o.png")], capsys)
    assert rc == 2
    _stderr_one_line(err, "o.png", "--out-scale")
    assert not (tmp_path / "o.png").exists()


def test_convert_disparity_to_depth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = np.array([[10.0, np.inf], [30.0, 0.0]], np.float32)
    np.savez(tmp_path / "d.npz", arr_0=d)
    args = ["convert", str(tmp_path / "d.npz"), str(tmp_path / "z.npy")]
    stereo = ["--in-encoding", "disparity", "--focal", "100", "--baseline", "200", "--doffs", "10"]
    rc, _, err = _run(args + stereo, capsys)
    assert rc == 0, err
    np.testing.assert_allclose(np.load(tmp_path / "z.npy"), [[1000.0, 0.0], [500.0, 0.0]])
    # the same from a Middlebury calib.txt
    (tmp_path / "calib.txt").write_text("cam0=[100 0 5; 0 100 5; 0 0 1]\ndoffs=10\nbaseline=200\n")
    rc, _, err = _run(
        args + ["--in-encoding", "disparity", "--calib", str(tmp_path / "calib.txt")], capsys
    )
    assert rc == 0, err
    np.testing.assert_allclose(np.load(tmp_path / "z.npy"), [[1000.0, 0.0], [500.0, 0.0]])
    rc, _, err = _run(args + ["--in-encoding", "disparity", "--focal", "100"], capsys)
    assert rc == 2
    _stderr_one_line(err, "--baseline")
    rc, _, err = _run(args + ["--focal", "100"], capsys)
    assert rc == 2
    _stderr_one_line(err, "--in-encoding disparity")
    # --calib without --in-encoding disparity is refused, not silently ignored
    rc, _, err = _run(args + ["--calib", str(tmp_path / "calib.txt")], capsys)
    assert rc == 2
    _stderr_one_line(err, "--in-encoding disparity")
    # a calib file without a baseline names the file and the missing entry
    (tmp_path / "nob.txt").write_text("cam0=[100 0 5; 0 100 5; 0 0 1]\nbaseline=abc\n")
    rc, _, err = _run(
        args + ["--in-encoding", "disparity", "--calib", str(tmp_path / "nob.txt")], capsys
    )
    assert rc == 2
    _stderr_one_line(err, "nob.txt", "baseline")
    assert "no numeric baseline entry" in err  # the focal length was found
    # a negative baseline read from the file is blamed on the file, not on --baseline
    (tmp_path / "neg.txt").write_text("cam0=[100 0 5; 0 100 5; 0 0 1]\nbaseline=-5\n")
    rc, _, err = _run(
        args + ["--in-encoding", "disparity", "--calib", str(tmp_path / "neg.txt")], capsys
    )
    assert rc == 2
    _stderr_one_line(err, "neg.txt: focal (cam0) and baseline must be positive")


def test_convert_npz_key_and_mat_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    np.savez(tmp_path / "two.npz", a=np.ones((2, 2)), b=np.full((2, 2), 3.0))
    out = tmp_path / "o.mat"
    rc, _, err = _run(["convert", str(tmp_path / "two.npz"), str(out)], capsys)
    assert rc == 2
    _stderr_one_line(err, "two.npz", "several arrays")
    rc, _, err = _run(
        ["convert", str(tmp_path / "two.npz"), str(out), "--key", "b", "--out-key", "D"], capsys
    )
    assert rc == 0, err
    np.testing.assert_array_equal(io.read_mat(out, "D"), np.full((2, 2), 3.0))


@pytest.mark.parametrize(
    "name,content,needle",
    [
        ("missing.png", None, "no such file"),
        ("empty.png", b"", "empty file"),
        ("trunc.png", "TRUNC", "cannot decode"),
        ("bad.pfm", b"P7\n2 2\n-1\n" + b"\x00" * 16, "bad PFM header"),
        ("short.pgm", b"P5\n2 2\n65535\n\x00\x01\x00", "needs 8 bytes, found 3"),
        ("adir.png", "DIR", "is a directory"),
    ],
)
def test_convert_bad_inputs_exit_2_with_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    content: bytes | str | None,
    needle: str,
) -> None:
    src = tmp_path / name
    if content == "DIR":
        src.mkdir()
    elif content == "TRUNC":
        Image.fromarray(np.arange(4096, dtype=np.uint16).reshape(64, 64)).save(tmp_path / "f.png")
        raw = (tmp_path / "f.png").read_bytes()
        src.write_bytes(raw[: len(raw) // 2])
    elif content is not None:
        assert isinstance(content, bytes)
        src.write_bytes(content)
    rc, _, err = _run(["convert", str(src), str(tmp_path / "out.npy")], capsys)
    assert rc == 2
    _stderr_one_line(err, "depthduet convert: error:", name, needle)
    assert not (tmp_path / "out.npy").exists()


def test_convert_via_subprocess_exit_status(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "depthduet", "convert", str(tmp_path / "no.png"), "x.png"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "no such file" in r.stderr


# ------------------------------------------------------------------ show


def test_show_never_overwrites_its_inputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    io.write_depth(tmp_path / "d.png", np.full((4, 4), 1.5), scale=1000)
    io.write_image(tmp_path / "rgb.png", np.full((4, 4, 3), 0.5, np.float32))
    before = {n: (tmp_path / n).read_bytes() for n in ("d.png", "rgb.png")}
    for out, needle in (("d.png", "depth input"), ("rgb.png", "--rgb image")):
        argv = ["show", str(tmp_path / "d.png"), "--rgb", str(tmp_path / "rgb.png")]
        rc, _, err = _run([*argv, "-o", str(tmp_path / out)], capsys)
        assert rc == 2
        _stderr_one_line(err, "depthduet show: error:", needle)
    assert {n: (tmp_path / n).read_bytes() for n in before} == before


def test_show_writes_panel(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    depth = np.zeros((6, 8), np.float32)
    depth[:, 4:] = np.linspace(1, 2, 24).reshape(6, 4)
    io.write_depth(tmp_path / "d.pfm", depth)
    io.write_image(tmp_path / "rgb.png", np.full((6, 8, 3), 0.5, np.float32))
    out = tmp_path / "panel.png"
    rc, text, err = _run(
        ["show", str(tmp_path / "d.pfm"), "--rgb", str(tmp_path / "rgb.png"), "-o", str(out)],
        capsys,
    )
    assert rc == 0, err
    assert "24 valid" in text
    with Image.open(out) as im:
        panel = np.asarray(im)
    assert panel.shape[1] == 3 * 8 + 2 * 4  # three tiles in a row, 4-pixel gaps
    params = yaml.safe_load((tmp_path / "panel.png.yaml").read_text())
    assert params["valid_pixels"] == 24 and params["min"] == 1.0 and params["max"] == 2.0
    rc, _, err = _run(["show", str(tmp_path / "d.pfm"), "-o", str(tmp_path / "p.jpg")], capsys)
    assert rc == 2
    _stderr_one_line(err, "p.jpg", "PNG")
    rc, _, err = _run(["show", str(tmp_path / "d.pfm"), "-o", str(out), "--cmap", "nah"], capsys)
    assert rc == 2
    _stderr_one_line(err, "--cmap 'nah'")
    rc, _, err = _run(["show", str(tmp_path / "nope.pfm"), "-o", str(out)], capsys)
    assert rc == 2
    _stderr_one_line(err, "nope.pfm", "no such file")


def test_os_errors_are_one_line_naming_the_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "afile").write_text("x")
    bad = tmp_path / "afile" / "sub"  # a folder cannot be made under a file
    rc, _, err = _run(["synth", "--kind", "indoor", "--n", "1", "--out", str(bad)], capsys)
    assert rc == 2
    _stderr_one_line(err, "depthduet synth: error:", "afile", "Not a directory")


def test_convert_warns_on_all_invalid_output_and_refuses_bad_array_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    np.save(tmp_path / "nan.npy", np.full((3, 4), np.nan, np.float32))
    rc, _, err = _run(["convert", str(tmp_path / "nan.npy"), str(tmp_path / "o.pfm")], capsys)
    assert rc == 0 and "warning" in err and "no valid pixel" in err
    np.save(tmp_path / "d.npy", np.ones((3, 4), np.float32))
    for key in ("_x", "", "a b"):
        out = tmp_path / "o.mat"
        argv = ["convert", str(tmp_path / "d.npy"), str(out), "--out-key", key]
        rc, _, err = _run(argv, capsys)
        assert rc == 2 and not out.exists()
        _stderr_one_line(err, "depthduet convert: error:", "o.mat", "cannot be stored")


@pytest.mark.parametrize(
    "argv, pattern",
    [
        (["evaluate", "--protocol", "sintel-dsr", "--gt", "a", "--gt", "b"], "--gt given 2 times"),
        (["upsample", "x.png", "--scale", "4", "--scale=8", "-o", "y.png"], "--scale given 2"),
        (["convert", "a.png", "b.npy", "--in-scale", "1", "--in-scale", "2"], "--in-scale given"),
    ],
)
def test_repeated_single_value_option_is_refused(argv, pattern, capsys) -> None:
    """argparse would keep the last value silently (evaluating one file of two): refused with
    a usage error, exit status 2, before any work."""
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert pattern in err and "takes one value" in err
    assert ("give a folder" in err) == (argv[0] == "evaluate")


def test_every_command_parameter_is_an_option_of_the_same_name() -> None:
    """The commands build their parameter records from the options by field name
    (``options_as``): each field is an option's destination, or passed explicitly."""
    from depthduet.apps.convert import ConvertParams
    from depthduet.apps.download import DownloadRequest
    from depthduet.apps.predict import PredictParams
    from depthduet.apps.show import ShowParams
    from depthduet.apps.upsample import UpsampleParams
    from depthduet.cli import build_parser, options_as
    from depthduet.evaluation.runner import EvaluateSettings

    parser = build_parser()
    commands = {
        "convert": (ConvertParams, ["a.png", "b.png"]),
        "show": (ShowParams, ["a.png", "-o", "b.png"]),
        "predict": (PredictParams, ["a.png", "-o", "out"]),
        "upsample": (UpsampleParams, ["a.png", "-o", "b.png", "--scale", "4"]),
        "evaluate": (EvaluateSettings, ["--protocol", "nyu-dsr", "--gt", "gt"]),
        "download": (DownloadRequest, ["middlebury_2005", "--no-resume", "--max-unzipped-size", "2G"]),
    }
    built = {}
    for command, (cls, argv) in commands.items():
        given = {"baselines": []} if command == "evaluate" else {}
        built[command] = options_as(cls, parser.parse_args([command, *argv]), **given)
        assert isinstance(built[command], cls)
    req = built["download"]
    assert (req.name, req.resume, req.max_total, req.max_ratio) == ("middlebury_2005", False, "2G", "100")
    with pytest.raises(AttributeError):
        options_as(EvaluateSettings, parser.parse_args(["show", "a.png", "-o", "b.png"]))
