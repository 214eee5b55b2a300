"""Checkpoints: layout, atomic writes, recovery, loading helpers, provenance."""

from __future__ import annotations

import json
import os

import pytest
import torch
from torch import nn

from _engine_dummy import make
from depthduet.engine import checkpoint as ckpt
from depthduet.engine.checkpoint import (
    CheckpointError,
    load_checkpoint,
    load_network_weights,
    load_training_state,
    read_model_info,
    resolve_checkpoint,
    save_checkpoint,
)
from depthduet.engine.trainer import Trainer


def _weights(seed: int) -> dict[str, dict[str, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    return {
        "net": {"w": torch.randn(3, 4, generator=g), "b": torch.randn(4, generator=g)},
        "aux": {"k": torch.arange(6, dtype=torch.int64).reshape(2, 3)},
    }


INFO = {"recipe": "toy", "config": {"recipe": "toy", "x": 1}, "inference_networks": ["net"]}


def test_round_trip_layout_and_types(tmp_path):
    w = _weights(0)
    d = save_checkpoint(
        tmp_path / "checkpoints" / "last", w, {"epoch": 3, "t": torch.ones(2)}, INFO
    )
    assert sorted(p.name for p in d.iterdir()) == [
        "aux.safetensors",
        "model.json",
        "net.safetensors",
        "state.pt",
    ]
    config, loaded = load_checkpoint(d)
    assert config == {"recipe": "toy", "x": 1}
    for name in w:
        for k in w[name]:
            assert torch.equal(loaded[name][k], w[name][k])
            assert loaded[name][k].dtype == w[name][k].dtype
    state = load_training_state(d)
    assert state["epoch"] == 3 and torch.equal(state["t"], torch.ones(2))
    info = read_model_info(d)
    assert info["format"] == ckpt.FORMAT and info["networks"]["net"]["parameters"] == 16
    # a run folder resolves to checkpoints/best first, then last
    assert resolve_checkpoint(tmp_path) == d
    best = save_checkpoint(tmp_path / "checkpoints" / "best", _weights(1), None, INFO)
    assert resolve_checkpoint(tmp_path) == best
    assert resolve_checkpoint(tmp_path, prefer="last") == d
    assert not (best / "state.pt").exists()


def test_tied_weights_are_saved(tmp_path):
    lin = nn.Linear(2, 2)
    sd = {"a": lin.weight, "b": lin.weight}  # shared storage: safetensors needs copies
    d = save_checkpoint(tmp_path / "c", {"tied": sd}, None, INFO)
    _, w = load_checkpoint(d)
    assert torch.equal(w["tied"]["a"], w["tied"]["b"])


def test_failed_save_leaves_previous_checkpoint_intact(tmp_path, monkeypatch):
    target = tmp_path / "checkpoints" / "last"
    save_checkpoint(target, _weights(0), {"epoch": 1}, INFO)

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(ckpt.torch, "save", boom)  # weights written, then the state fails
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(target, _weights(7), {"epoch": 2}, INFO)
    monkeypatch.undo()
    _, w = load_checkpoint(target)
    assert torch.equal(w["net"]["w"], _weights(0)["net"]["w"])
    assert load_training_state(target)["epoch"] == 1
    assert sorted(os.listdir(target.parent)) == ["last"]  # no temporary folder left behind


def test_stale_temporary_folder_is_removed_by_the_next_save(tmp_path):
    root = tmp_path / "checkpoints"
    (root / ".last.tmp-dead").mkdir(parents=True)  # a save killed with SIGKILL
    (root / ".last.tmp-dead" / "net.safetensors").write_bytes(b"partial")
    save_checkpoint(root / "last", _weights(0), {"epoch": 1}, INFO)
    assert sorted(os.listdir(root)) == ["last"]


def test_interrupted_swap_is_recovered(tmp_path):
    root = tmp_path / "checkpoints"
    save_checkpoint(root / "last", _weights(0), {"epoch": 1}, INFO)
    os.rename(root / "last", root / "last.old")  # died between the two renames
    assert resolve_checkpoint(tmp_path, prefer="last") == root / "last.old"
    assert resolve_checkpoint(root / "last") == root / "last.old"
    save_checkpoint(root / "last", _weights(1), {"epoch": 2}, INFO)  # next save cleans up
    assert sorted(os.listdir(root)) == ["last"]
    assert load_training_state(root / "last")["epoch"] == 2


def test_trainer_save_failure_keeps_last(tmp_path, monkeypatch):
    cfg, recipe, train, val = make(tmp_path, epochs=1)
    trainer = Trainer(recipe, train, val, config=cfg)
    trainer.fit()
    before = {k: v.clone() for k, v in recipe.networks["a"].state_dict().items()}
    with torch.no_grad():
        recipe.networks["a"].weight.add_(1.0)
    monkeypatch.setattr(ckpt, "save_file", lambda *a, **k: (_ for _ in ()).throw(OSError("x")))
    with pytest.raises(OSError):
        trainer.save("last")
    monkeypatch.undo()
    w = load_network_weights(tmp_path, "a", prefer="last")
    assert torch.equal(w["weight"], before["weight"])
    assert load_training_state(tmp_path / "checkpoints" / "last")["step"] == 6


def test_load_network_weights_into_module(tmp_path):
    cfg, recipe, train, val = make(tmp_path, epochs=1)
    Trainer(recipe, train, val, config=cfg).fit()
    lin = nn.Linear(3, 2)
    sd = load_network_weights(tmp_path, module=lin)  # the single inference network "a"
    assert torch.equal(lin.weight, recipe.networks["a"].weight)
    assert set(sd) == {"weight", "bias"}
    # a single weights file works too and is self-describing
    f = tmp_path / "checkpoints" / "best" / "b.safetensors"
    lin_b = type(recipe.networks["b"])(cfg.model.hidden)
    load_network_weights(f, module=lin_b)
    assert torch.equal(lin_b.head.weight, recipe.networks["b"].head.weight)
    config, w = load_checkpoint(f)
    assert config["recipe"] == cfg.recipe and list(w) == ["b"]
    assert read_model_info(f)["recipe"] == "dummy"


def test_load_errors(tmp_path):
    save_checkpoint(tmp_path / "c", _weights(0), None, {**INFO, "inference_networks": []})
    with pytest.raises(CheckpointError, match="several networks"):
        load_network_weights(tmp_path / "c")
    with pytest.raises(CheckpointError, match="no network 'dsr'"):
        load_checkpoint(tmp_path / "c", ["dsr"])
    with pytest.raises(CheckpointError, match="do not fit"):
        load_network_weights(tmp_path / "c", "net", nn.Linear(5, 5))
    with pytest.raises(CheckpointError, match="not found"):
        resolve_checkpoint(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="no checkpoint found"):
        resolve_checkpoint(tmp_path / "empty")
    with pytest.raises(CheckpointError, match="training state not found"):
        load_training_state(tmp_path / "c")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a safetensors file")
    with pytest.raises(CheckpointError, match="bad.safetensors"):
        load_checkpoint(bad)
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(CheckpointError, match="not a checkpoint"):
        resolve_checkpoint(tmp_path / "x.txt")


def test_bad_network_names_and_values(tmp_path):
    with pytest.raises(ValueError, match="network name"):
        save_checkpoint(tmp_path / "c", {"../x": {}}, None, INFO)
    with pytest.raises(ValueError, match="network name"):
        save_checkpoint(tmp_path / "c", {"state": {}}, None, INFO)
    with pytest.raises(TypeError, match="not a tensor"):
        save_checkpoint(tmp_path / "c", {"n": {"k": 1.0}}, None, INFO)
    assert not (tmp_path / "c").exists()


class _Payload:
    """Pickles to a call that would create a marker file when unpickled."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickled_payload_in_state_never_runs(tmp_path):
    marker = tmp_path / "ran"
    torch.save({"obj": _Payload(str(marker))}, tmp_path / "state.pt")
    (tmp_path / "model.json").write_text(json.dumps({"networks": {}}))
    with pytest.raises(ckpt.CheckpointError, match="state.pt: cannot load") as e:
        load_training_state(tmp_path)
    assert "\n" not in str(e.value)
    assert not marker.exists()


def test_truncated_state_is_one_clear_error(tmp_path):
    torch.save({"epoch": 3, "w": torch.ones(1000)}, tmp_path / "state.pt")
    data = (tmp_path / "state.pt").read_bytes()
    (tmp_path / "state.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(ckpt.CheckpointError, match="state.pt: cannot load") as e:
        load_training_state(tmp_path)
    assert "\n" not in str(e.value)


def test_git_revision_and_versions(tmp_path):
    rev = ckpt.git_revision()
    assert rev == "unknown" or len(rev.removesuffix("-dirty")) == 40
    assert ckpt.git_revision(tmp_path) == "unknown"  # not a repository
    v = ckpt.environment_versions()
    assert v["torch"] == torch.__version__ and "python" in v


def test_atomic_write_text(tmp_path):
    p = ckpt.atomic_write_text(tmp_path / "a" / "f.txt", "hello")
    assert p.read_text() == "hello" and os.listdir(p.parent) == ["f.txt"]
