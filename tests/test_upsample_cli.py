"""``depthduet upsample``: files, folders, formats, units, bad files and user errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from depthduet.cli import main
from depthduet.inference.dsr import DepthUpsampler
from depthduet.io import read_depth, read_image, write_depth
from depthduet.models.dbpn import DSRNet


def depth_map(h: int = 14, w: int = 11, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    return (1.5 + 0.1 * yy + 0.05 * xx + 0.01 * rng.random((h, w))).astype(np.float32)


def bicubic(src: Path, out: Path, *extra: str, scale: int = 2) -> int:
    """``depthduet upsample SRC --scale SCALE --baseline bicubic -o OUT [extra]``."""
    argv = ["upsample", str(src), "--scale", str(scale), "--baseline", "bicubic", "-o", str(out)]
    return main([*argv, *extra])


def test_help_lists_options(capsys) -> None:
    with pytest.raises(SystemExit) as e:
        main(["upsample", "--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    for opt in (
        "--scale",
        "--model",
        "--checkpoint",
        "--baseline",
        "--tile",
        "--overlap",
        "--preview",
        "--in-scale",
        "--out-scale",
        "--key",
        "--device",
    ):
        assert opt in text


def test_file_to_file_bicubic_with_preview(tmp_path: Path) -> None:
    x = depth_map()
    x[4:6, 3:5] = 0.0  # a hole
    src = write_depth(tmp_path / "in.npy", x)
    out = tmp_path / "res" / "out.pfm"
    prev = tmp_path / "prev.png"
    extra = ("--preview", str(prev), "--tile", "8", "--overlap", "2", "--device", "cpu")
    rc = bicubic(src, out, *extra, scale=4)
    assert rc == 0
    got = read_depth(out)
    ref = DepthUpsampler.bicubic(4, tile=8, overlap=2, device="cpu").upsample(x)
    np.testing.assert_allclose(got.values, ref.values, rtol=1e-6)
    np.testing.assert_array_equal(got.valid, np.kron(x > 0, np.ones((4, 4), bool)))
    # a panel (input | output) with colour bars, larger than the output itself
    panel = read_image(prev)
    assert panel.ndim == 3 and panel.shape[0] >= 56 and panel.shape[1] > 2 * 44
    params = yaml.safe_load((tmp_path / "res" / "out.upsample.yaml").read_text())
    assert params["scale"] == 4 and params["upsampler"]["tile"] == 8


def test_millimetre_png_keeps_units_and_scales(tmp_path: Path) -> None:
    mm = np.round(depth_map(12, 12) * 1000).astype(np.float32)
    mm[0, 0] = 0.0
    src = write_depth(tmp_path / "mm.png", mm)
    rc = bicubic(src, tmp_path / "o1", "--device", "cpu")
    assert rc == 0
    a = read_depth(tmp_path / "o1" / "mm.png")  # default: input's name and format, same units
    assert a.values.shape == (24, 24)
    assert 1400 < a.values[a.valid].min() and a.values.max() < 3500
    assert not a.valid[:2, :2].any() and a.valid[2:, 2:].all()
    # read in metres, written back in millimetres: the same file up to integer rounding
    rc = bicubic(src, tmp_path / "o2.png", "--in-scale", "1000", "--device", "cpu")
    assert rc == 0
    b = read_depth(tmp_path / "o2.png")
    np.testing.assert_array_equal(a.valid, b.valid)
    assert np.abs(a.values - b.values).max() <= 1.0
    # --out-scale 10 stores tenths of a millimetre: finer rounding, same values
    rc = bicubic(src, tmp_path / "o3.png", "--out-scale", "10", "--device", "cpu")
    c = read_depth(tmp_path / "o3.png", scale=10)
    assert rc == 0 and np.abs(c.values - a.values).max() <= 0.5 + 1e-3


def test_checkpoint_route(tmp_path: Path) -> None:
    from depthduet.engine.checkpoint import save_checkpoint

    torch.manual_seed(0)
    net = DSRNet(2, n_feats=8, n_base=4, n_stages=2)
    run = tmp_path / "run"
    save_checkpoint(
        run / "checkpoints" / "best",
        {"dsr": net.state_dict()},
        None,
        {"recipe": "ctkt", "config": {}, "inference_networks": ["dsr"]},
    )
    src = write_depth(tmp_path / "d.npz", depth_map(), key="depth")
    out = tmp_path / "d_x2.npz"
    rc = main(
        [
            "upsample",
            str(src),
            "--scale",
            "2",
            "--checkpoint",
            str(run),
            "-o",
            str(out),
            "--key",
            "depth",
            "--tile",
            "0",
            "--device",
            "cpu",
        ]
    )
    assert rc == 0
    ref = DepthUpsampler(net, 2, tile=0, device="cpu").upsample(depth_map())
    np.testing.assert_allclose(read_depth(out, key="depth").values, ref.values, rtol=1e-6)
    # asking a x2 checkpoint for x4
    assert (
        main(["upsample", str(src), "--scale", "4", "--checkpoint", str(run), "-o", str(out)]) == 2
    )


def test_folder_with_corrupt_file(tmp_path: Path, capsys) -> None:
    src = tmp_path / "in"
    src.mkdir()
    write_depth(src / "a.npy", depth_map(9, 7))
    write_depth(src / "b.png", np.round(depth_map(8, 8) * 100))
    (src / "c.pfm").write_bytes(b"PF\n3 3\n-1.0\n" + b"\x00" * 5)  # truncated
    (src / "notes.txt").write_text("not a depth map")
    out = tmp_path / "out"
    prev = tmp_path / "prev"
    rc = bicubic(src, out, "--preview", str(prev), "--device", "cpu")
    assert rc == 1
    err = capsys.readouterr().err
    assert "c.pfm" in err and "1 file(s) failed" in err
    names = sorted(p.name for p in out.iterdir())
    assert names == ["a.npy", "b.png", "upsample.yaml"]  # nothing half-written, no temp files
    assert read_depth(out / "a.npy").values.shape == (18, 14)
    assert sorted(p.name for p in prev.iterdir()) == ["a.png", "b.png"]
    params = yaml.safe_load((out / "upsample.yaml").read_text())
    assert list(params["failed"]) == [str(src / "c.pfm")]
    # --format converts the whole folder
    rc = bicubic(src, tmp_path / "pfm", "--format", "pfm", "--device", "cpu")
    assert rc == 1 and (tmp_path / "pfm" / "b.pfm").is_file()
    # two inputs that would land on the same output: the second is reported, not overwritten
    write_depth(src / "a.pfm", depth_map(5, 5))
    capsys.readouterr()
    rc = bicubic(src, tmp_path / "npy", "--format", "npy", "--device", "cpu")
    assert rc == 1 and "already written" in capsys.readouterr().err
    assert read_depth(tmp_path / "npy" / "a.npy").values.shape == (18, 14)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["missing.png", "--scale", "2", "-o", "o.png"], "no such file"),
        (["IN", "--scale", "4", "--model", "dsr-x3", "-o", "o.npy"], "available"),
        (["IN", "--scale", "2", "--model", "dsr-x4", "-o", "o.npy"], "x4 model"),
        (["IN", "--scale", "2", "--checkpoint", "nowhere", "-o", "o.npy"], "not found"),
        (["IN", "--scale", "2", "--baseline", "bicubic", "-o", "o.bmp"], "cannot write"),
        (["IN", "--scale", "2", "--baseline", "bicubic", "-o", "IN"], "overwrite"),
        (["IN", "--scale", "2", "--baseline", "bicubic", "-o", "o.npy", "--tile", "10"], "tile"),
        (["IN", "--scale", "2", "--baseline", "bicubic", "-o", "x/", "--format", "jpg"], "format"),
        (
            ["IN", "--scale", "2", "--baseline", "bicubic", "-o", "o.npy", "--preview", "IN"],
            "input",
        ),
        (
            ["IN", "--scale", "2", "--baseline", "bicubic", "-o", "o.npy", "--preview", "o.npy"],
            "depth output",
        ),
        (
            ["IN", "--scale", "2", "--baseline", "bicubic", "-o", "o.npy", "--preview", "o_p.npy"],
            "picture name",
        ),
        # metres in a float file written as integer PNG unscaled: refused, not rounded
        (["IN", "--scale", "2", "--baseline", "bicubic", "-o", "o.png"], "--out-scale"),
    ],
)
def test_user_errors(tmp_path: Path, capsys, argv: list[str], message: str) -> None:
    src = write_depth(tmp_path / "in.npy", depth_map())
    argv = [
        str(src) if a == "IN" else (str(tmp_path / a) if a.startswith("o") else a) for a in argv
    ]
    assert main(["upsample", *argv]) == 2
    err = capsys.readouterr().err
    assert "depthduet upsample: error:" in err and message in err
    assert len(err.strip().splitlines()) == 1


def test_integer_output_of_float_map_with_out_scale_and_stack_index(tmp_path: Path) -> None:
    stack = np.stack([depth_map(6, 5, seed=i) + i for i in range(3)])  # (3, 6, 5) metres
    np.save(tmp_path / "stack.npy", stack)
    out = tmp_path / "mm.png"
    argv = ["upsample", str(tmp_path / "stack.npy"), "--scale", "2", "--baseline", "bicubic"]
    assert main([*argv, "--index", "2", "-o", str(out), "--out-scale", "1000"]) == 0
    mm = read_depth(out, scale=1000).values  # millimetre PNG read back in metres
    ref = DepthUpsampler.bicubic(2).upsample(stack[2]).values
    np.testing.assert_allclose(mm, ref, atol=6e-4)
    assert main([*argv, "-o", str(tmp_path / "x.npy")]) == 2  # a stack needs --index


def test_folder_reports_link_loops_and_refuses_a_file_name_as_output(
    tmp_path: Path, capsys
) -> None:
    src = tmp_path / "in"
    src.mkdir()
    write_depth(src / "a.npy", depth_map(9, 7))
    (src / "loop.npy").symlink_to("loop2.npy")
    (src / "loop2.npy").symlink_to("loop.npy")
    rc = bicubic(src, tmp_path / "out", "--device", "cpu")
    err = capsys.readouterr().err
    assert rc == 1 and "2 file(s) failed" in err  # reported, not silently skipped
    assert "loop.npy: broken or looping symbolic link" in err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.npy", "upsample.yaml"]
    # a folder INPUT with -o that looks like a file name: refused before anything is written
    assert bicubic(src, tmp_path / "o.npy", "--device", "cpu") == 2
    assert "looks like a file name" in capsys.readouterr().err
    assert not (tmp_path / "o.npy").exists()


def test_folder_output_never_overwrites_another_input(tmp_path: Path, capsys) -> None:
    src = tmp_path / "in"
    src.mkdir()
    write_depth(src / "a.pfm", depth_map(5, 5))
    write_depth(src / "a.npy", depth_map(5, 5, seed=1))
    before = (src / "a.npy").read_bytes()
    argv = ["upsample", str(src), "--scale", "2", "--baseline", "bicubic", "-o", str(src)]
    assert main([*argv, "--format", "npy", "--device", "cpu"]) == 1
    assert "another input file" in capsys.readouterr().err
    assert (src / "a.npy").read_bytes() == before  # the input a.npy is untouched
    assert main([*argv, "--format", "pfm", "--preview", str(src)]) == 2
    assert "preview folder is the input" in capsys.readouterr().err


def test_empty_folder_and_conflicting_sources(tmp_path: Path, capsys) -> None:
    (tmp_path / "empty").mkdir()
    assert bicubic(tmp_path / "empty", tmp_path / "o") == 2
    assert "no depth files" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(
            [
                "upsample",
                "x.png",
                "--scale",
                "2",
                "--model",
                "dsr-x2",
                "--baseline",
                "bicubic",
                "-o",
                "y.png",
            ]
        )
    assert e.value.code == 2


@pytest.mark.realdata
def test_middlebury_mat_bicubic(data_root: Path, tmp_path: Path) -> None:
    src = data_root / "middlebury_2001_depth" / "Df_59.mat"
    if not src.is_file():
        pytest.skip("Df_59.mat not in the sample data")
    out = tmp_path / "df.npy"
    assert bicubic(src, out, "--device", "cpu") == 0
    lr, hr = read_depth(src), read_depth(out)
    assert hr.values.shape == (2 * lr.values.shape[0], 2 * lr.values.shape[1])
    np.testing.assert_array_equal(hr.valid, np.kron(lr.valid, np.ones((2, 2), bool)))
    # 2x2 block means of the result stay close to the input (bicubic is nearly mean-preserving)
    blocks = hr.values.reshape(lr.values.shape[0], 2, lr.values.shape[1], 2).mean(axis=(1, 3))
    m = lr.valid
    assert np.median(np.abs(blocks[m] - lr.values[m])) < 0.05 * np.median(lr.values[m])


@pytest.mark.parametrize(
    ("name", "hole", "expect"),
    [("nan.npy", np.nan, "nan"), ("inf.pfm", np.inf, "inf"), ("zero.npy", 0.0, 0.0)],
)
def test_output_keeps_the_inputs_invalid_marker(
    tmp_path: Path, name: str, hole: float, expect: object
) -> None:
    from depthduet.io import read_depth_stored, write_pfm

    x = depth_map()
    x[4:6, 3:5] = hole
    src = tmp_path / name
    if name.endswith(".npy"):
        np.save(src, x)
    else:
        write_pfm(src, x)
    out = tmp_path / f"out_{name}"
    assert bicubic(src, out) == 0
    got = read_depth_stored(out)
    holes = np.kron(~np.isfinite(x) | (x <= 0), np.ones((2, 2), bool))
    if expect == "nan":
        assert np.isnan(got[holes]).all()
    elif expect == "inf":
        assert np.isposinf(got[holes]).all()
    else:
        assert (got[holes] == 0).all()
    assert np.isfinite(got[~holes]).all() and (got[~holes] > 0).all()


def test_sentinel_is_kept_in_png_and_dropped_where_it_cannot_be_stored(tmp_path: Path) -> None:
    from PIL import Image

    x = np.round(depth_map() * 1000).astype(np.uint16)
    x[2:4, 2:4] = 65535
    src = tmp_path / "mm.png"
    Image.fromarray(x).save(src)
    assert bicubic(src, tmp_path / "o.png", "--invalid", "65535") == 0
    got = np.asarray(Image.open(tmp_path / "o.png"))
    holes = np.kron(x == 65535, np.ones((2, 2), bool))
    assert (got[holes] == 65535).all() and (got[~holes] < 65535).all() and (got[~holes] > 0).all()
    # a float output keeps the sentinel too; a NaN marker cannot go into a PNG: 0 there
    assert bicubic(src, tmp_path / "o.npy", "--invalid", "65535") == 0
    assert (np.load(tmp_path / "o.npy")[holes] == 65535).all()
    y = depth_map()
    y[0, 0] = np.nan
    np.save(tmp_path / "f.npy", y)
    assert bicubic(tmp_path / "f.npy", tmp_path / "f.png", "--out-scale", "1000") == 0
    assert (np.asarray(Image.open(tmp_path / "f.png"))[:2, :2] == 0).all()


def test_all_invalid_map_warns_and_writes_all_invalid(tmp_path: Path, capsys) -> None:
    np.save(tmp_path / "none.npy", np.full((6, 5), np.nan, np.float32))
    out = tmp_path / "none_x2.npy"
    assert bicubic(tmp_path / "none.npy", out) == 0
    assert "no valid pixel" in capsys.readouterr().err
    assert np.isnan(np.load(out)).all()


def test_eight_bit_png_keeps_sub_integer_precision(tmp_path: Path, capsys) -> None:
    """An 8-bit input is written as 16-bit with stored = value x 256 (with a note), so the
    model's sub-integer precision is kept; --bits 8 asks for 8-bit; --out-scale decides itself."""
    from PIL import Image

    disp = np.clip(np.round(depth_map(8, 8) * 60), 1, 250).astype(np.uint8)  # 90..~250
    Image.fromarray(disp).save(tmp_path / "disp.png")
    argv = ["upsample", str(tmp_path / "disp.png"), "--scale", "2", "--baseline", "bicubic"]
    ref = DepthUpsampler.bicubic(2).upsample(disp.astype(np.float32)).values
    assert main([*argv, "-o", str(tmp_path / "up.png")]) == 0
    assert "value x 256" in capsys.readouterr().err
    with Image.open(tmp_path / "up.png") as im:
        assert im.mode in ("I;16", "I")
    got = read_depth(tmp_path / "up.png", scale=256).values
    np.testing.assert_allclose(got, ref, atol=0.5 / 256 + 1e-4)
    assert main([*argv, "-o", str(tmp_path / "up8.png"), "--bits", "8"]) == 0
    with Image.open(tmp_path / "up8.png") as im:
        assert im.mode == "L"  # asked for 8-bit
    np.testing.assert_allclose(read_depth(tmp_path / "up8.png").values, ref, atol=0.5 + 1e-4)
    assert main([*argv, "-o", str(tmp_path / "up4.png"), "--out-scale", "4"]) == 0
    np.testing.assert_allclose(
        read_depth(tmp_path / "up4.png", scale=4).values, ref, atol=0.5 / 4 + 1e-4
    )


def test_point_grid_and_self_ensemble_reach_the_upsampler(tmp_path: Path, capsys) -> None:
    """``--lr-grid point`` and ``--self-ensemble`` give what DepthUpsampler gives, are saved
    with the settings, and a bad value is refused by the parser (exit 2)."""
    src = write_depth(tmp_path / "lr.npy", depth_map(16, 12))
    lr = read_depth(src)
    for extra, kw in (
        (["--lr-grid", "point"], {"lr_grid": "point"}),
        (["--self-ensemble", "transpose"], {}),
    ):
        out = tmp_path / f"hr_{extra[1]}.npy"
        argv = ["upsample", str(src), "--scale", "4", "--device", "cpu", "-o", str(out)]
        assert main([*argv, *extra]) == 0
        up = DepthUpsampler.from_pretrained(
            "dsr-x4",
            device="cpu",
            self_ensemble="transpose" if "--self-ensemble" in extra else "none",
        )
        want = up.upsample(lr.values, lr.valid, lr_grid=kw.get("lr_grid", "center"))
        np.testing.assert_allclose(read_depth(out).values, want.values, rtol=1e-5)
        saved = yaml.safe_load(next(tmp_path.glob(f"hr_{extra[1]}*.yaml")).read_text())
        assert extra[1] in str(saved)
    argv = ["upsample", str(src), "--scale", "4", "-o", str(tmp_path / "c.npy")]
    assert main([*argv, "--lr-grid", "corner", "--self-ensemble", "none"]) == 2
    assert "always runs the dihedral self-ensemble" in capsys.readouterr().err
    assert not (tmp_path / "c.npy").exists()
    with pytest.raises(SystemExit) as e:
        main(["upsample", str(src), "--scale", "4", "--self-ensemble", "all", "-o", "x.npy"])
    assert e.value.code == 2
    assert "--self-ensemble" in capsys.readouterr().err
