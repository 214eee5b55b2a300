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
