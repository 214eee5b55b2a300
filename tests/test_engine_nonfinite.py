"""Non-finite values never reach a checkpoint: a NaN gradient stops training with one line (also
in train.log), checkpoints/last keeps the last finite weights, and --resume continues."""

from __future__ import annotations

import pytest
import torch

from _engine_dummy import DummyRecipe, make
from depthduet.engine.checkpoint import load_network_weights, load_training_state
from depthduet.engine.trainer import NonFiniteError, Trainer
from depthduet.errors import UserError


class _NanGrad(torch.autograd.Function):
    """Identity forward, NaN backward: a finite loss with a NaN gradient."""

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        return grad * float("nan")


class NanGradAt(DummyRecipe):
    """A finite loss whose gradient is NaN at the global steps listed in ``bad_steps``."""

    bad_steps: tuple[int, ...] = ()

    def training_step(self, batch, state):
        out = super().training_step(batch, state)
        if state["step"] + 1 in self.bad_steps:
            out["loss"] = _NanGrad.apply(out["loss"])
        return out


def _recipe(bad: tuple[int, ...]) -> type:
    return type("R", (NanGradAt,), {"bad_steps": bad})


def test_nan_gradient_stops_and_keeps_last_finite(tmp_path, capsys) -> None:
    # 6 steps per epoch (24 samples / 4); checkpoint each epoch; NaN gradient at step 9
    cfg, rec, train, val = make(tmp_path, _recipe((9,)), epochs=3, save_every=1)
    with pytest.raises(NonFiniteError, match="non-finite gradient of .* step 9") as e:
        Trainer(rec, train, val, config=cfg).fit()
    assert isinstance(e.value, UserError) and "\n" not in str(e.value)
    last = tmp_path / "checkpoints" / "last"
    assert load_training_state(last)["step"] == 6  # epoch 1's checkpoint, untouched
    for name in ("a", "b"):
        sd = load_network_weights(last, name)
        assert all(bool(torch.isfinite(t).all()) for t in sd.values())
    assert "non-finite gradient" in (tmp_path / "train.log").read_text()
    # resume (the bad step does not recur) continues to the end
    cfg2, rec2, train2, val2 = make(tmp_path, DummyRecipe, epochs=3, resume="last")
    summary = Trainer(rec2, train2, val2, config=cfg2).fit()
    assert summary["steps"] == 18


def test_skip_nonfinite_skips_bounded_steps(tmp_path) -> None:
    cfg, rec, train, val = make(tmp_path, _recipe((3, 5)), epochs=1, skip_nonfinite=2)
    summary = Trainer(rec, train, val, config=cfg).fit()
    assert summary["steps"] == 6
    log = (tmp_path / "train.log").read_text()
    assert log.count("step skipped") == 2
    cfg, rec, train, val = make(tmp_path / "b", _recipe((2, 3, 4)), epochs=1, skip_nonfinite=2)
    with pytest.raises(NonFiniteError, match="step 4"):
        Trainer(rec, train, val, config=cfg).fit()


def test_nan_validation_metric_stops_without_best(tmp_path) -> None:
    """A non-finite validation metric stops training (it used to be skipped as "not best")."""

    class NanVal(DummyRecipe):
        def validation_step(self, batch):
            out = super().validation_step(batch)
            return {k: float("nan") for k in out}

    cfg, rec, train, val = make(tmp_path, NanVal, epochs=2)
    with pytest.raises(NonFiniteError, match="non-finite validation"):
        Trainer(rec, train, val, config=cfg).fit()
    assert not (tmp_path / "checkpoints" / "best").exists()
    assert not (tmp_path / "checkpoints" / "last").exists()


def test_inference_refuses_non_finite_weights() -> None:
    from depthduet.inference.dsr import load_dsrnet_state
    from depthduet.models.dbpn import DSRNet

    state = DSRNet(2, 8, 4, 1).state_dict()
    state["recon.weight"][0, 0, 0, 0] = float("nan")
    with pytest.raises(UserError, match="recon.weight.*NaN or inf"):
        load_dsrnet_state(state, source="w.safetensors")


def test_resume_falls_back_from_a_corrupt_last(tmp_path) -> None:
    cfg, rec, train, val = make(tmp_path, DummyRecipe, epochs=2, save_every=1)
    Trainer(rec, train, val, config=cfg).fit()
    ckpts = tmp_path / "checkpoints"
    assert (ckpts / "best").is_dir()
    best_step = load_training_state(ckpts / "best")["step"]
    state = ckpts / "last" / "state.pt"
    state.write_bytes(state.read_bytes()[:100])  # a partial write
    cfg2, rec2, train2, val2 = make(tmp_path, DummyRecipe, epochs=3, resume="last")
    summary = Trainer(rec2, train2, val2, config=cfg2).fit()
    assert summary["resumed_from"].endswith("best") and summary["steps"] == 18
    log = (tmp_path / "train.log").read_text()
    assert "state.pt: cannot load" in log and "resumed from" in log
    assert best_step <= 12
