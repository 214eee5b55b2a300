"""Bad configurations and run folders: one line naming the file or key, exit 2, nothing lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from depthduet.cli import main

YAML = """\
recipe: _engine_dummy:DummyRecipe
model:
  hidden: 4
engine:
  epochs: 1
  progress: false
  tensorboard: false
  device: cpu
"""


def _snapshot(folder: Path) -> dict[Path, tuple[int, bytes]]:
    return {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.rglob("*") if p.is_file()}


def _one_error_line(capsys, *needles: str) -> None:
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1, err
    for n in needles:
        assert n in err[0], err[0]


def test_train_refuses_a_finished_run_folder(tmp_path: Path, capsys) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(YAML)
    out = tmp_path / "run"
    assert main(["train", str(cfg), "--out", str(out)]) == 0
    before = _snapshot(out)
    capsys.readouterr()
    assert main(["train", str(cfg), "--out", str(out)]) == 2
    _one_error_line(capsys, str(out), "--resume", "--overwrite")
    assert _snapshot(out) == before  # nothing changed
    # --overwrite replaces it; --resume continues it
    assert main(["train", str(cfg), "--out", str(out), "--overwrite"]) == 0
    assert main(["train", str(out / "config.yaml"), "--resume", "engine.epochs=2"]) == 0


@pytest.mark.parametrize(
    ("name", "text", "needle"),
    [
        ("cycle", "base: other.yaml\n", "cycle"),
        ("dup", YAML + "engine:\n  epochs: 3\n", "duplicate key 'engine'"),
        ("nan", YAML.replace("epochs: 1", "epochs: 1\n  grad_clip: .nan"), "engine.grad_clip"),
        ("inf", YAML.replace("hidden: 4", "hidden: 4\n  lr_a: .inf"), "model.lr_a"),
        ("utf8", None, "not UTF-8"),
    ],
)
def test_bad_config_is_one_line(tmp_path: Path, capsys, name: str, text: str | None, needle: str):
    p = tmp_path / f"{name}.yaml"
    if text is None:
        p.write_bytes(YAML.encode() + b"# \xff\xfe\n")
    else:
        p.write_text(text)
    (tmp_path / "other.yaml").write_text(f"base: {name}.yaml\n")
    out = tmp_path / "o"
    assert main(["train", str(p), "--out", str(out)]) == 2
    _one_error_line(capsys, needle)
    assert not out.exists()


def test_nan_override_is_refused(tmp_path: Path, capsys) -> None:
    p = tmp_path / "c.yaml"
    p.write_text(YAML)
    assert main(["train", str(p), "--out", str(tmp_path / "o"), "model.lr_b=nan"]) == 2
    _one_error_line(capsys, "model.lr_b", "not a finite number")


# ------------------------------------------------------------------------- inputs
def _npy_with_header(path: Path, shape: tuple[int, ...], body: bytes) -> None:
    import io

    import numpy as np

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<f4", "fortran_order": False, "shape": shape}
    )
    path.write_bytes(buf.getvalue() + body)  # the header writer puts the magic first


@pytest.mark.parametrize(
    ("case", "needle"),
    [
        ("npy-huge", "elements"),
        ("npy-short", "file has"),
        ("npy-long", "file has"),
        ("pfm-long", "bytes more"),
        ("png-bomb", "too large"),
        ("too-big-output", "--max-pixels"),
        ("beyond-float32", "float32 range"),
    ],
)
def test_bad_inputs_to_upsample(tmp_path: Path, capsys, monkeypatch, case: str, needle: str):
    import numpy as np

    from depthduet.io import write_depth, write_pfm

    src = tmp_path / "in.npy"
    extra: list[str] = []
    if case == "npy-huge":
        _npy_with_header(src, (100000, 100000), b"\0" * 64)
    elif case == "npy-short":
        _npy_with_header(src, (8, 8), b"\0" * 100)
    elif case == "npy-long":
        _npy_with_header(src, (8, 8), b"\0" * 300)
    elif case == "pfm-long":
        src = tmp_path / "in.pfm"
        write_pfm(src, np.ones((8, 8), np.float32))
        src.write_bytes(src.read_bytes() + b"\0" * 8)
    elif case == "png-bomb":
        from PIL import Image

        src = tmp_path / "in.png"
        write_depth(src, np.ones((64, 64), np.float32) * 100)
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 64*64 > 2 * 100: a "bomb"
    elif case == "too-big-output":
        np.save(src, np.ones((64, 64), np.float32))
        extra = ["--max-pixels", "1000"]
    elif case == "beyond-float32":
        np.save(src, np.full((8, 8), 1e300))
    out = tmp_path / "o.npy"
    argv = ["upsample", str(src), "--scale", "2", "--baseline", "bicubic", "-o", str(out)]
    assert main([*argv, *extra]) == 2
    _one_error_line(capsys, needle)
    assert not out.exists() and not list(tmp_path.glob("*.tmp"))


def test_constant_maps_of_any_magnitude_stay_exact() -> None:
    import numpy as np

    from depthduet.inference.dsr import DepthUpsampler

    up = DepthUpsampler.bicubic(4, device="cpu")
    for v in (1e-20, 5.0, 1e20, 3e38):
        out = up.upsample(np.full((6, 7), v))
        assert np.all(out.values == np.float32(v)), v


def test_max_pixels_zero_lifts_the_limit(tmp_path: Path) -> None:
    import numpy as np

    src = tmp_path / "in.npy"
    np.save(src, np.ones((16, 16), np.float32))
    argv = ["upsample", str(src), "--scale", "2", "--baseline", "bicubic", "-o"]
    assert main([*argv, str(tmp_path / "a.npy"), "--max-pixels", "100"]) == 2
    assert main([*argv, str(tmp_path / "b.npy"), "--max-pixels", "0"]) == 0


def test_sigterm_stops_training_cleanly_and_resume_continues(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    cfg = tmp_path / "c.yaml"
    cfg.write_text(YAML.replace("epochs: 1", "epochs: 100000\n  save_every: 1"))
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    cmd = [sys.executable, "-m", "depthduet", "train", str(cfg), "--out", str(out)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 60
        while not (out / "checkpoints" / "last" / "state.pt").is_file():
            assert time.time() < deadline and proc.poll() is None, "no checkpoint written"
            time.sleep(0.05)
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, err
    assert "terminated" in err.decode()
    assert not [p for p in out.rglob("*") if ".tmp" in p.name]
    from depthduet.cli import main

    assert main(["train", str(out / "config.yaml"), "--resume", "engine.epochs=3"]) in (0,)


def test_resume_refuses_changes_it_cannot_apply(tmp_path: Path, capsys) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(YAML)
    out = tmp_path / "run"
    assert main(["train", str(cfg), "--out", str(out)]) == 0
    before = (out / "config.yaml").read_text()
    capsys.readouterr()
    argv = ["train", str(out / "config.yaml"), "--resume", "engine.epochs=2", "model.lr_a=0.5"]
    assert main(argv) == 2
    _one_error_line(capsys, "cannot change on resume", "model.lr_a")
    assert (out / "config.yaml").read_text() == before
    # an engine change applies (and is recorded)
    assert main(["train", str(out / "config.yaml"), "--resume", "engine.epochs=2"]) == 0
    assert "epochs: 2" in (out / "config.yaml").read_text()


def test_config_cannot_import_a_module_without_the_flag(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setenv("DEPTHDUET_RECIPE_MODULES", "0")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(YAML.replace("_engine_dummy:DummyRecipe", "antigravity:Recipe"))
    assert main(["train", str(cfg), "--out", str(tmp_path / "o")]) == 2
    _one_error_line(capsys, "--recipe-module")
    import sys

    assert "antigravity" not in sys.modules


@pytest.mark.parametrize(
    ("how", "needle"),
    [
        (["--K", "nan,500,32,24"], "NaN"),
        (["--K=-500,500,32,24"], "focal lengths"),
        ("camera", "focal lengths"),
    ],
)
def test_bad_intrinsics_are_refused(tmp_path: Path, capsys, how, needle: str) -> None:
    import numpy as np

    from depthduet.io import write_image

    img = tmp_path / "frame.png"
    write_image(img, (np.random.default_rng(0).random((48, 64, 3)) * 255).astype(np.uint8))
    if how == "camera":
        cam = tmp_path / "cam.txt"
        cam.write_text("500 0 32\n0 -500 24\n0 0 1\n")
        how = ["--camera", str(cam)]
        needle_file = str(cam)
    else:
        needle_file = "--K"
    out = tmp_path / "out"
    assert main(["predict", str(img), "--model", "mde-driving", "-o", str(out), *how]) == 2
    _one_error_line(capsys, needle, needle_file)
    assert not out.exists()


# ------------------------------------------------------------------- nothing from a file runs
class _Payload:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickled_npy_never_runs(tmp_path: Path, capsys) -> None:
    import numpy as np

    marker = tmp_path / "ran"
    src = tmp_path / "evil.npy"
    arr = np.empty((2, 2), dtype=object)
    arr[0, 0] = _Payload(str(marker))
    np.save(src, arr, allow_pickle=True)
    out = tmp_path / "o.npy"
    argv = ["upsample", str(src), "--scale", "2", "--baseline", "bicubic", "-o", str(out)]
    assert main(argv) == 2
    _one_error_line(capsys, str(src), "objects")
    assert not marker.exists() and not out.exists()


def test_yaml_python_tags_never_run(tmp_path: Path, capsys) -> None:
    marker = tmp_path / "ran"
    cfg = tmp_path / "c.yaml"
    cfg.write_text(YAML + f"x: !!python/object/apply:builtins.open ['{marker}', 'w']\n")
    assert main(["train", str(cfg), "--out", str(tmp_path / "o")]) == 2
    _one_error_line(capsys, str(cfg))
    assert not marker.exists()


def test_checkpoint_payload_never_runs_on_upsample_or_resume(tmp_path: Path, capsys) -> None:
    import torch

    from depthduet.engine.checkpoint import save_checkpoint
    from depthduet.models.dbpn import DSRNet

    marker = tmp_path / "ran"
    ck = tmp_path / "run" / "checkpoints" / "last"
    net = DSRNet(2, 8, 4, 1)
    info = {"recipe": "ctkt", "inference_networks": ["dsr"], "config": {}}
    save_checkpoint(ck, {"dsr": net.state_dict()}, {"epoch": 0}, info)
    torch.save({"epoch": 0, "x": _Payload(str(marker))}, ck / "state.pt")
    import numpy as np

    lr = tmp_path / "lr.npy"
    np.save(lr, np.ones((8, 8), np.float32))
    argv = [
        "upsample",
        str(lr),
        "--scale",
        "2",
        "--checkpoint",
        str(ck),
        "-o",
        str(tmp_path / "o.npy"),
    ]
    assert main(argv) == 0  # inference reads the weights and model.json, never state.pt
    from depthduet.engine.checkpoint import CheckpointError, load_training_state

    with pytest.raises(CheckpointError):
        load_training_state(ck)
    assert not marker.exists()


def test_checkpoint_weights_names_stay_in_their_folder(tmp_path: Path) -> None:
    import json

    import torch

    from depthduet.engine.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

    ck = tmp_path / "ck"
    save_checkpoint(ck, {"dsr": {"w": torch.ones(2)}}, None, {"recipe": "x", "config": {}})
    info = json.loads((ck / "model.json").read_text())
    for bad in ("../outside.safetensors", "/etc/passwd", "", None):
        info["networks"]["dsr"]["file"] = bad
        (ck / "model.json").write_text(json.dumps(info))
        with pytest.raises(CheckpointError, match="plain file name"):
            load_checkpoint(ck, ["dsr"])
