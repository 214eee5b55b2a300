"""``time_s`` of train.csv counts the training time of the whole run: a resumed run continues
from the time recorded at its checkpoint (in state.pt; for a checkpoint written before state.pt
held it, the last time of train.csv up to the checkpoint) instead of restarting at 0."""

from __future__ import annotations

import csv

import torch

from _engine_dummy import make
from depthduet.engine.checkpoint import load_training_state
from depthduet.engine.trainer import Trainer


def _fit(tmp_path, **engine):
    cfg, recipe, train, val = make(tmp_path, **engine)
    return Trainer(recipe, train, val, config=cfg).fit()


def _times(tmp_path) -> list[float]:
    with open(tmp_path / "train.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == list(range(1, len(rows) + 1))
    return [float(r["time_s"]) for r in rows]


def test_time_continues_after_resume(tmp_path) -> None:
    _fit(tmp_path, epochs=2)  # 6 steps per epoch
    # times are logged rounded to ms: compare rounded values (rounding keeps their order)
    recorded = round(load_training_state(tmp_path / "checkpoints" / "last")["train_time_s"], 3)
    assert recorded >= _times(tmp_path)[-1] > 0
    _fit(tmp_path, epochs=3, resume="last")
    times = _times(tmp_path)
    assert len(times) == 18 and times == sorted(times)
    assert times[12] >= recorded  # step 13, the first after the resume
    resumed = round(load_training_state(tmp_path / "checkpoints" / "last")["train_time_s"], 3)
    assert resumed >= times[-1] >= recorded


def test_time_continues_from_a_checkpoint_without_it(tmp_path) -> None:
    _fit(tmp_path, epochs=2)
    state_file = tmp_path / "checkpoints" / "last" / "state.pt"
    state = torch.load(state_file, weights_only=True)
    del state["train_time_s"]  # as written before state.pt recorded the time
    torch.save(state, state_file)
    last = _times(tmp_path)[-1]
    _fit(tmp_path, epochs=3, resume="last")
    times = _times(tmp_path)
    assert len(times) == 18 and times == sorted(times) and times[12] >= last
