"""The application layer from Python (depthduet.apps): one folder loop with one error report,
messages collected instead of printed, and the evaluation below the models."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from depthduet.apps.folders import file_error, process_files
from depthduet.apps.messages import Messages
from depthduet.errors import UserError
from depthduet.io import read_depth, write_depth


class Collect:
    """Messages kept in two lists."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.err: list[str] = []
        self.messages = Messages(self.out.append, self.err.append)


def test_file_error_names_the_file_once() -> None:
    f = Path("a/b.png")
    assert file_error(f, UserError("a/b.png: broken")) == "a/b.png: broken"
    assert file_error(f, UserError("broken")) == "a/b.png: broken"
    assert file_error(f, ValueError("bad")) == "a/b.png: ValueError: bad"


def test_process_files_reports_and_goes_on() -> None:
    got = Collect()

    def job(f: Path) -> tuple[str, str]:
        if f.name == "bad":
            raise ValueError("no")
        return f"{f}.out", f"{f} done"

    files = [Path("one"), Path("bad"), Path("two")]
    res = process_files(files, job, got.messages)
    assert res.done == {"one": "one.out", "two": "two.out"}
    assert res.failed == {"bad": "bad: ValueError: no"}
    assert got.out == ["one done", "two done"] and got.err == ["error: bad: ValueError: no"]
    with pytest.raises(UserError, match="^bad: ValueError: no$"):
        process_files([Path("bad")], job, got.messages, stop_at_first=True)


def test_upsample_folder_from_python(tmp_path: Path) -> None:
    from depthduet.apps.upsample import UpsampleParams, upsample

    src = tmp_path / "lr"
    src.mkdir()
    for i in range(2):
        write_depth(src / f"m{i}.npy", np.full((6, 5), 2.0 + i, np.float32))
    (src / "broken.npy").write_bytes(b"not an array")
    got = Collect()
    params = UpsampleParams(str(src), str(tmp_path / "hr"), 2, baseline="bicubic", device="cpu")
    res = upsample(params, got.messages)
    assert sorted(Path(p).name for p in res.done.values()) == ["m0.npy", "m1.npy"]
    assert list(res.failed) == [str(src / "broken.npy")]
    assert read_depth(tmp_path / "hr" / "m1.npy").values.shape == (12, 10)
    assert got.out[-1] == f"2 of 3 files written to {tmp_path / 'hr'}"
    assert got.err[0].startswith(f"error: {src / 'broken.npy'}") and got.err[-1] == (
        "1 file(s) failed"
    )


def test_evaluation_runs_no_model_itself(tmp_path: Path) -> None:
    from depthduet.evaluation.runner import EvaluateSettings, run_evaluation

    gt = write_depth(tmp_path / "gt.npy", np.full((8, 8), 2.0, np.float32))
    cfg = EvaluateSettings(protocol="sintel-dsr", gt=str(gt), model="dsr-x2", scale=2)
    with pytest.raises(UserError, match="depthduet.apps.evaluate"):
        run_evaluation(cfg)
    code = (
        "import sys, depthduet.evaluation.runner\n"
        "bad = [m for m in sys.modules if m.startswith(('depthduet.inference', "
        "'depthduet.recipes', 'depthduet.engine', 'depthduet.apps'))]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_evaluate_with_a_model_writes_the_report(tmp_path: Path) -> None:
    from depthduet.apps.evaluate import evaluate
    from depthduet.evaluation.runner import EvaluateSettings

    rng = np.random.default_rng(0)
    gt = write_depth(tmp_path / "gt.npy", (1.0 + rng.random((16, 16))).astype(np.float32))
    cfg = EvaluateSettings(
        protocol="sintel-dsr",
        gt=str(gt),
        model="dsr-x2",
        baselines=["bicubic"],
        scale=2,
        device="cpu",
    )
    got = Collect()
    res = evaluate(cfg, tmp_path / "r.json", messages=got.messages)
    assert [r["method"] for r in res.report["results"]] == ["bicubic (baseline)", "dsr-x2"]
    assert res.json_path is not None and res.json_path.is_file()
    assert got.out[0].startswith("protocol: sintel-dsr") and got.out[-1].startswith("wrote ")


def test_export_graphs_import_nothing_above_inference() -> None:
    code = (
        "import sys, depthduet.inference.export as e\n"
        "assert not hasattr(e, 'export_model')\n"
        "bad = [m for m in sys.modules if m.startswith(('depthduet.api', 'depthduet.apps'))]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_export_example_input() -> None:
    from depthduet.apps.export import example_input

    lr = example_input("dsr", 4)
    assert lr.ndim == 2 and lr.dtype == np.float32 and (lr == 0).sum() >= 2
    img = example_input("mde")
    assert img.ndim == 3 and img.shape[2] == 3 and 0 <= img.min() and img.max() <= 1
