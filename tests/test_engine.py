"""Trainer: resume equality, rounds, best tracking, logs, caps, clipping, errors (dummy recipe)."""

from __future__ import annotations

import csv
import json
import math

import pytest
import torch

from _engine_dummy import DummyConfig, DummyRecipe, make
from depthduet.config import load_config
from depthduet.engine.checkpoint import load_checkpoint, load_training_state
from depthduet.engine.config import EngineConfig
from depthduet.engine.recipe import StepOutput
from depthduet.engine.trainer import Trainer
from depthduet.errors import UserError


def fit(tmp_path, **engine):
    cfg, recipe, train, val = make(tmp_path, **engine)
    summary = Trainer(recipe, train, val, config=cfg).fit()
    return recipe, summary


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def assert_same_weights(r1, r2):
    for name in r1.networks:
        s1, s2 = r1.networks[name].state_dict(), r2.networks[name].state_dict()
        assert s1.keys() == s2.keys()
        for k in s1:
            assert torch.equal(s1[k], s2[k]), f"{name}.{k} differs"


# --------------------------------------------------------------------------- resume
@pytest.mark.parametrize(
    ("round_every", "num_workers"), [(0, 0), (5, 0), (0, 2)], ids=["epoch-rounds", "k5", "workers"]
)
def test_resume_is_bitwise_identical(tmp_path, round_every, num_workers):
    kw = {"round_every": round_every, "num_workers": num_workers}
    straight, s_sum = fit(tmp_path / "straight", epochs=4, **kw)
    # 2 epochs, then a fresh process-like start (new recipe, new trainer) that resumes
    first, _ = fit(tmp_path / "split", epochs=2, **kw)
    resumed, r_sum = fit(tmp_path / "split", epochs=4, resume="last", **kw)
    assert r_sum["steps"] == s_sum["steps"] == 24
    assert r_sum["resumed_from"].endswith("last")
    assert_same_weights(straight, resumed)
    assert straight.losses == first.losses + resumed.losses  # same batches, same noise
    assert straight.history == resumed.history  # teacher choices (recipe state restored)
    for name in straight.optimizers:
        a = straight.optimizers[name].state_dict()["state"]
        b = resumed.optimizers[name].state_dict()["state"]
        for idx in a:
            for k in a[idx]:
                assert torch.equal(torch.as_tensor(a[idx][k]), torch.as_tensor(b[idx][k]))
    # the logs of the split run equal the straight run's (times aside)
    for table in ("train", "val", "rounds"):
        rows_s = read_csv(tmp_path / "straight" / f"{table}.csv")
        rows_r = read_csv(tmp_path / "split" / f"{table}.csv")
        for rows in (rows_s, rows_r):
            for row in rows:
                row.pop("time_s", None)
        assert rows_s == rows_r, table
    assert s_sum["best_metric"] == r_sum["best_metric"]


def test_resume_drops_rows_logged_after_the_checkpoint(tmp_path):
    fit(tmp_path, epochs=2)
    with open(tmp_path / "train.csv", "a") as f:  # a crash after the checkpoint left rows
        f.write("2,13,0.1,1,1,1,0.1,0.01\n")
    fit(tmp_path, epochs=3, resume="last")
    steps = [int(r["step"]) for r in read_csv(tmp_path / "train.csv")]
    assert steps == list(range(1, 19))


def test_resume_when_already_done_trains_nothing(tmp_path):
    r1, _ = fit(tmp_path, epochs=2)
    r2, summary = fit(tmp_path, epochs=2, resume="last")
    assert r2.losses == [] and summary["steps"] == 12
    assert_same_weights(r1, r2)


def test_resume_auto_starts_fresh_without_checkpoint(tmp_path):
    _, summary = fit(tmp_path, epochs=1, resume="auto")
    assert summary["resumed_from"] is None and summary["steps"] == 6


def test_resume_errors(tmp_path):
    cfg, recipe, train, val = make(tmp_path, resume="last")
    with pytest.raises(UserError, match="no checkpoint to resume"):
        Trainer(recipe, train, val, config=cfg).fit()
    cfg, recipe, train, val = make(tmp_path, resume=str(tmp_path / "nowhere"))
    with pytest.raises(UserError, match="not found"):
        Trainer(recipe, train, val, config=cfg).fit()


def test_failed_setup_leaves_no_run_folder_behind(tmp_path):
    # a checkpoint whose weights cannot be read: the new run folder is removed again
    fit(tmp_path / "old", epochs=1)
    bad = tmp_path / "old" / "checkpoints" / "last"
    for f in bad.glob("*.safetensors"):
        f.write_bytes(b"junk")
    cfg, recipe, train, val = make(tmp_path / "new" / "run", resume=str(bad))
    with pytest.raises(Exception, match="safetensors"):
        Trainer(recipe, train, val, config=cfg).fit()
    assert not (tmp_path / "new").exists()
    # an existing run folder is the user's: it stays, with its log of the failure
    (tmp_path / "mine").mkdir()
    cfg, recipe, train, val = make(tmp_path / "mine", resume=str(bad))
    with pytest.raises(Exception, match="safetensors"):
        Trainer(recipe, train, val, config=cfg).fit()
    assert (tmp_path / "mine" / "train.log").is_file()
    # a file where the run folder should be is named
    (tmp_path / "afile").write_text("x")
    cfg, recipe, train, val = make(tmp_path / "afile")
    with pytest.raises(UserError, match="afile: exists and is not a folder"):
        Trainer(recipe, train, val, config=cfg).fit()
    assert (tmp_path / "afile").read_text() == "x"


def test_same_seed_same_result_other_seed_differs(tmp_path):
    r1, _ = fit(tmp_path / "a", epochs=1)
    r2, _ = fit(tmp_path / "b", epochs=1)
    r3, _ = fit(tmp_path / "c", epochs=1, seed=1)
    assert_same_weights(r1, r2)
    assert not torch.equal(r1.networks["a"].weight, r3.networks["a"].weight)


# --------------------------------------------------------------------------- rounds
def test_rounds_are_epochs_by_default(tmp_path):
    recipe, summary = fit(tmp_path, epochs=3)
    # 24 samples / batch 4 = 6 steps per epoch
    expected = []
    for r in range(3):
        expected += [("start", r, r, 6 * r), ("end", r, r, 6 * r + 6)]
    assert recipe.calls == expected
    assert summary["rounds"] == 3
    rows = read_csv(tmp_path / "rounds.csv")
    assert [(r["event"], int(r["round"]), int(r["step"])) for r in rows] == [
        (e, r, s) for e, r, _, s in expected
    ]
    # who taught is logged: start rows name the teacher, end rows the next one
    assert rows[0]["teacher"] == "a"
    assert [r["next_teacher"] for r in rows if r["event"] == "end"][:-1] == [
        r["teacher"] for r in rows if r["event"] == "start"
    ][1:]
    assert recipe.history == [r["teacher"] for r in rows if r["event"] == "start"]
    log = (tmp_path / "train.log").read_text()
    assert "round 1 start" in log and "teacher=" in log


def test_round_every_k_steps_spans_epochs(tmp_path):
    recipe, summary = fit(tmp_path, epochs=2, round_every=5)
    # 12 steps: rounds cover steps 1-5, 6-10, 11-12 (the last one stays open)
    assert recipe.calls == [
        ("start", 0, 0, 0),
        ("end", 0, 0, 5),
        ("start", 1, 0, 5),
        ("end", 1, 1, 10),
        ("start", 2, 1, 10),
    ]
    assert summary["rounds"] == 2
    state = load_training_state(tmp_path / "checkpoints" / "last")
    assert state["round"] == 2 and state["round_open"] is True
    assert state["loop_state"] == {"teacher": recipe.teacher}  # what on_round_start put there


def test_round_every_divides_epochs(tmp_path):
    recipe, _ = fit(tmp_path, epochs=2, round_every=3)
    starts = [c[3] for c in recipe.calls if c[0] == "start"]
    ends = [c[3] for c in recipe.calls if c[0] == "end"]
    assert starts == [0, 3, 6, 9] and ends == [3, 6, 9, 12]


# --------------------------------------------------------------------------- validation / best
class ScriptedVal(DummyRecipe):
    """Validation metric taken from ``script`` (one value per epoch)."""

    script: list[float] = []

    def on_round_start(self, state):
        self.epoch = state["epoch"]
        return super().on_round_start(state)

    def validation_step(self, batch):
        out = super().validation_step(batch)
        out["mse"] = self.script[self.epoch]
        return out


def _fit_scripted(tmp_path, script, mode="min", **engine):
    class R(ScriptedVal):
        monitor_mode = mode

    R.script = script
    cfg, recipe, train, val = make(tmp_path, R, **engine)
    return recipe, Trainer(recipe, train, val, config=cfg).fit()


@pytest.mark.parametrize(
    ("mode", "script", "best_flags", "best_epoch"),
    [
        ("min", [3.0, 1.0, 2.0, 4.0], [1, 1, 0, 0], 1),
        ("max", [3.0, 1.0, 2.0, 4.0], [1, 0, 0, 1], 3),
    ],
)
def test_best_checkpoint_tracking(tmp_path, mode, script, best_flags, best_epoch):
    _, summary = _fit_scripted(tmp_path / "run", script, mode, epochs=4)
    rows = read_csv(tmp_path / "run" / "val.csv")
    assert [int(r["best"]) for r in rows] == best_flags
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2, 3]
    assert summary["best_epoch"] == best_epoch
    assert summary["best_metric"] == script[best_epoch]
    info = json.loads((tmp_path / "run/checkpoints/best/model.json").read_text())
    assert info["epoch"] == best_epoch and info["metrics"]["mse"] == script[best_epoch]
    # the best weights are those of a run stopped after best_epoch + 1 epochs
    ref, _ = fit(tmp_path / "ref", epochs=best_epoch + 1)
    _, best = load_checkpoint(tmp_path / "run", prefer="best")
    for name, sd in best.items():
        for k, v in sd.items():
            assert torch.equal(v, ref.networks[name].state_dict()[k])


def test_val_every_and_val_batches(tmp_path):
    recipe, _ = fit(tmp_path, epochs=3, val_every=2, val_batches=1)
    rows = read_csv(tmp_path / "val.csv")
    assert [int(r["epoch"]) for r in rows] == [1, 2]  # every 2nd epoch + the last one
    # val_batches=1: the metric is the one of the first 4 validation samples only
    _, val = DummyRecipe.build_datasets(DummyConfig())
    x = torch.stack([val[i]["x"] for i in range(4)])
    y = torch.stack([val[i]["y"] for i in range(4)])
    with torch.no_grad():
        expected = float(((recipe.networks["a"](x) - y) ** 2).mean())
    assert float(rows[-1]["mse"]) == pytest.approx(expected, rel=1e-6)


def test_validation_mean_is_weighted_by_samples(tmp_path):
    cfg, recipe, train, val = make(tmp_path, batch_size=3, epochs=1)  # val: 8 = 3 + 3 + 2
    trainer = Trainer(recipe, train, val, config=cfg)
    trainer.fit()
    xs = torch.stack([val[i]["x"] for i in range(8)])
    ys = torch.stack([val[i]["y"] for i in range(8)])
    with torch.no_grad():
        expected = float(((recipe.networks["a"](xs) - ys) ** 2).mean())
    assert trainer.validate()["mse"] == pytest.approx(expected, rel=1e-6)


def test_validation_without_metrics_is_logged_not_fatal(tmp_path):
    class NoMetrics(DummyRecipe):
        def validation_step(self, batch):
            return {}

    cfg, recipe, train, val = make(tmp_path, NoMetrics, epochs=2)
    summary = Trainer(recipe, train, val, config=cfg).fit()
    assert summary["best_metric"] is None and summary["steps"] == 12
    assert "no metrics returned" in (tmp_path / "train.log").read_text()
    assert [r["best"] for r in read_csv(tmp_path / "val.csv")] == ["0", "0"]


def test_missing_monitor_metric_raises(tmp_path):
    cfg, _, train, val = make(tmp_path, epochs=1)

    class R(DummyRecipe):
        monitor = "psnr"

    with pytest.raises(KeyError, match="psnr"):
        Trainer(R(cfg), train, val, config=cfg).fit()


# --------------------------------------------------------------------------- logs / outputs
def test_train_csv_holds_window_means_and_lrs(tmp_path):
    recipe, _ = fit(tmp_path, epochs=2, log_every=4)
    rows = read_csv(tmp_path / "train.csv")
    # rows every 4 steps and at epoch ends: 4, 6, 8, 12
    assert [int(r["step"]) for r in rows] == [4, 6, 8, 12]
    windows = [(0, 4), (4, 6), (6, 8), (8, 12)]
    for row, (a, b) in zip(rows, windows):
        assert float(row["loss"]) == pytest.approx(sum(recipe.losses[a:b]) / (b - a), rel=1e-7)
    # StepLR(gamma 0.5) on "a" per epoch; "b" has no scheduler
    assert [float(r["lr/a"]) for r in rows] == [0.05, 0.05, 0.025, 0.025]
    assert {float(r["lr/b"]) for r in rows} == {0.01}
    assert {"mse_a", "mse_b", "epoch", "time_s"} <= set(rows[0])
    assert "teacher" not in rows[0]  # strings are not averaged


def test_config_yaml_and_metadata(tmp_path):
    cfg, recipe, train, val = make(tmp_path, epochs=1)
    cfg.model.hidden = 5
    recipe = DummyRecipe(cfg)
    Trainer(recipe, train, val, config=cfg).fit()
    text = (tmp_path / "config.yaml").read_text()
    assert "# git: " in text and "# torch: " in text
    again = load_config(DummyConfig, tmp_path / "config.yaml")  # re-loadable as is
    assert again == cfg
    config, weights = load_checkpoint(tmp_path)
    assert config["model"]["hidden"] == 5 and config["recipe"] == cfg.recipe
    assert weights["b"]["body.0.weight"].shape == (5, 3)
    from safetensors import safe_open

    with safe_open(str(tmp_path / "checkpoints/last/b.safetensors"), "pt") as f:
        meta = f.metadata()
    assert json.loads(meta["config"])["model"]["hidden"] == 5
    assert meta["network"] == "b" and meta["recipe"] == "dummy" and meta["git"]
    info = json.loads((tmp_path / "checkpoints/last/model.json").read_text())
    assert info["inference_networks"] == ["a"] and info["networks"]["a"]["parameters"] == 8


def test_summary_json(tmp_path):
    _, summary = fit(tmp_path, epochs=2)
    on_disk = json.loads((tmp_path / "summary.json").read_text())
    assert on_disk == summary
    val = read_csv(tmp_path / "val.csv")
    assert summary["best_metric"] == pytest.approx(min(float(r["mse"]) for r in val), rel=1e-8)
    assert summary["epochs"] == 2 and summary["steps"] == 12 and summary["samples"] == 48
    assert summary["samples_per_s"] > 0 and summary["wall_time_s"] >= summary["train_time_s"]
    assert summary["stopped"] == "epochs"


def test_tensorboard_events(tmp_path):
    fit(tmp_path, epochs=1, tensorboard=True)
    assert list((tmp_path / "tb").glob("events.out.tfevents.*"))


def test_progress_bar_runs(tmp_path, capsys):
    fit(tmp_path, epochs=1, progress=True)
    assert "epoch 1/1" in capsys.readouterr().err


# --------------------------------------------------------------------------- caps
def test_max_steps_stops_mid_epoch(tmp_path):
    recipe, summary = fit(tmp_path, epochs=5, max_steps=8)
    assert summary["steps"] == 8 and summary["stopped"] == "max_steps"
    assert summary["epochs"] == 2 and len(recipe.losses) == 8
    assert [int(r["epoch"]) for r in read_csv(tmp_path / "val.csv")] == [0, 1]
    assert load_training_state(tmp_path / "checkpoints/last")["step"] == 8
    # the epoch round of the cut epoch is closed
    assert recipe.calls[-1] == ("end", 1, 1, 8)


def test_steps_per_epoch(tmp_path):
    recipe, summary = fit(tmp_path, epochs=3, steps_per_epoch=2)
    assert summary["steps"] == 6 and len(recipe.seen) == 24
    assert [c[3] for c in recipe.calls if c[0] == "end"] == [2, 4, 6]


def test_shuffling_is_epoch_seeded_and_complete(tmp_path):
    recipe, _ = fit(tmp_path, epochs=2)
    e0, e1 = recipe.seen[:24], recipe.seen[24:]
    assert sorted(e0) == sorted(e1) == list(range(24))
    assert e0 != e1


# --------------------------------------------------------------------------- step details
class PlainSGD(DummyRecipe):
    def __init__(self, cfg):
        super().__init__(cfg)
        self.optimizers["a"] = torch.optim.SGD(self.networks["a"].parameters(), lr=1.0)
        self.schedulers = {}

    def training_step(self, batch, state):
        x, y = batch["x"], batch["y"]
        loss = ((self.net("a")(x) - y) ** 2).mean() + 0.0 * self.net("b")(x).sum()
        self.last_x, self.last_y = x, y
        return StepOutput(loss=loss)


def test_grad_clip_scales_the_update(tmp_path):
    clip = 0.01
    cfg, _, train, val = make(tmp_path, epochs=1, max_steps=1, grad_clip=clip)
    recipe = PlainSGD(cfg)
    w0 = {k: v.clone() for k, v in recipe.networks["a"].state_dict().items()}
    Trainer(recipe, train, val, config=cfg).fit()
    # gradient of the loss at w0, by hand
    probe = torch.nn.Linear(3, 2)
    probe.load_state_dict(w0)
    loss = ((probe(recipe.last_x) - recipe.last_y) ** 2).mean()
    loss.backward()
    g = torch.cat([probe.weight.grad.flatten(), probe.bias.grad.flatten()])
    norm = float(g.norm())
    assert norm > clip
    scale = clip / (norm + 1e-6)
    new = recipe.networks["a"]
    assert torch.allclose(new.weight, w0["weight"] - scale * probe.weight.grad, atol=1e-7)
    assert torch.allclose(new.bias, w0["bias"] - scale * probe.bias.grad, atol=1e-7)
    row = read_csv(tmp_path / "train.csv")[0]
    assert float(row["grad_norm/a"]) == pytest.approx(norm, rel=1e-5)


def test_non_finite_loss_raises(tmp_path):
    cfg, _, train, val = make(tmp_path, epochs=1)

    class Bad(DummyRecipe):
        def training_step(self, batch, state):
            out = super().training_step(batch, state)
            out["loss"] = out["loss"] * float("nan")
            return out

    with pytest.raises(FloatingPointError, match="step 1"):
        Trainer(Bad(cfg), train, val, config=cfg).fit()


def test_step_without_loss_raises(tmp_path):
    cfg, _, train, val = make(tmp_path, epochs=1)

    class NoLoss(DummyRecipe):
        def training_step(self, batch, state):
            return StepOutput(mse=1.0)

    with pytest.raises(KeyError, match="no 'loss'"):
        Trainer(NoLoss(cfg), train, val, config=cfg).fit()


def test_manual_optimization_leaves_the_step_to_the_recipe(tmp_path):
    cfg, _, train, val = make(tmp_path, epochs=1)

    class Manual(DummyRecipe):
        automatic_optimization = False

        def training_step(self, batch, state):
            for o in self.optimizers.values():
                o.zero_grad()
            out = super().training_step(batch, state)
            out["loss"].backward()
            self.optimizers["a"].step()  # "b" deliberately never stepped
            return out

    recipe = Manual(cfg)
    b0 = recipe.networks["b"].head.weight.clone()
    a0 = recipe.networks["a"].weight.clone()
    Trainer(recipe, train, val, config=cfg).fit()
    assert torch.equal(recipe.networks["b"].head.weight, b0)
    assert not torch.equal(recipe.networks["a"].weight, a0)


def test_step_scheduler_interval(tmp_path):
    cfg, _, train, val = make(tmp_path, epochs=1)

    class PerStep(DummyRecipe):
        scheduler_interval = "step"

    recipe = PerStep(cfg)
    Trainer(recipe, train, val, config=cfg).fit()
    assert recipe.optimizers["a"].param_groups[0]["lr"] == pytest.approx(0.05 * 0.5**6)


def test_empty_loader_is_a_user_error(tmp_path):
    cfg, recipe, train, val = make(tmp_path, batch_size=50)
    with pytest.raises(UserError, match="batch_size=50"):
        Trainer(recipe, train, val, config=cfg).fit()


def test_empty_validation_set_is_a_user_error(tmp_path):
    cfg, recipe, train, _ = make(tmp_path)
    with pytest.raises(UserError, match="validation set: empty"):
        Trainer(recipe, train, torch.utils.data.Subset(train, []), config=cfg).fit()


def test_no_validation_set(tmp_path):
    cfg, recipe, train, _ = make(tmp_path, epochs=1)
    summary = Trainer(recipe, train, None, config=cfg).fit()
    assert summary["best_metric"] is None and summary["best_checkpoint"] is None
    assert (tmp_path / "checkpoints/last/model.json").is_file()
    assert not (tmp_path / "val.csv").exists()


def test_engine_config_validation():
    from depthduet.config import ConfigError

    with pytest.raises(ConfigError, match="engine.device"):
        load_config(DummyConfig, None, ["engine.device=tpu"])
    with pytest.raises(ConfigError, match="engine.log_every"):
        load_config(DummyConfig, None, ["engine.log_every=0"])
    with pytest.raises(ConfigError, match="engine.dist_backend"):
        load_config(DummyConfig, None, ["engine.dist_backend=mpi"])
    with pytest.raises(ConfigError, match="engine.epochs"):
        load_config(DummyConfig, None, ["engine.epochs=0"])
    with pytest.raises(ConfigError, match="engine.grad_clip"):
        load_config(DummyConfig, None, ["engine.grad_clip=-1"])
    assert load_config(DummyConfig, None, ["engine.device=cuda:1"]).engine.device == "cuda:1"
    assert EngineConfig().find_unused_parameters is False


def test_cuda_device_without_cuda_is_a_user_error(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("CUDA present")
    cfg, recipe, train, val = make(tmp_path, device="cuda")
    with pytest.raises(UserError, match="CUDA is not available"):
        Trainer(recipe, train, val, config=cfg)


def test_bf16_on_cpu_stays_fp32(tmp_path):
    r1, _ = fit(tmp_path / "a", epochs=1, precision="bf16")
    r2, _ = fit(tmp_path / "b", epochs=1)
    assert_same_weights(r1, r2)
    assert "applies to CUDA only" in (tmp_path / "a" / "train.log").read_text()


def test_logged_scalars_from_tensors_and_numbers():
    from depthduet.engine.trainer import _scalars

    out = _scalars(
        {
            "loss": torch.tensor(1.5),
            "a": torch.tensor([2.0]),
            "b": 3,
            "c": True,
            "t": "dsr",
            "v": torch.tensor([1.0, 2.0]),
            "h": torch.tensor(0.25, dtype=torch.bfloat16),
        }
    )
    assert out == {"loss": 1.5, "a": 2.0, "b": 3, "c": 1, "t": "dsr", "v": "[1.0, 2.0]", "h": 0.25}
    assert list(out) == ["loss", "a", "b", "c", "t", "v", "h"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_bf16_channels_last(tmp_path):
    recipe, summary = fit(tmp_path, epochs=2, device="cuda", precision="bf16", channels_last=True)
    assert summary["device"].startswith("cuda") and math.isfinite(summary["best_metric"])
    assert all(p.is_cuda and p.dtype == torch.float32 for p in recipe.networks["a"].parameters())
    _, w = load_checkpoint(tmp_path)
    assert w["a"]["weight"].device.type == "cpu"
    resumed, s2 = fit(tmp_path, epochs=3, device="cuda", precision="bf16", resume="last")
    assert s2["steps"] == 18


def test_crash_after_checkpoint_then_resume_logs_each_step_once(tmp_path, monkeypatch):
    """Epoch 3 is logged but its checkpoint fails (a crash); resuming redoes epoch 3 and the
    CSV rows and TensorBoard events of the lost epoch are replaced, not duplicated."""
    from depthduet.engine import checkpoint as ckpt

    real_save, calls = ckpt.save_checkpoint, []

    def failing_third_last(path, *args, **kwargs):
        calls.append(path.name)
        if calls.count("last") == 3:
            raise OSError("killed")
        return real_save(path, *args, **kwargs)

    monkeypatch.setattr(ckpt, "save_checkpoint", failing_third_last)
    with pytest.raises(OSError, match="killed"):
        fit(tmp_path / "run", epochs=3, tensorboard=True)
    monkeypatch.undo()
    assert load_training_state(tmp_path / "run/checkpoints/last")["epoch"] == 1
    resumed, _ = fit(tmp_path / "run", epochs=3, tensorboard=True, resume="last")
    straight, _ = fit(tmp_path / "ref", epochs=3)
    assert_same_weights(straight, resumed)
    assert [int(r["step"]) for r in read_csv(tmp_path / "run/train.csv")] == list(range(1, 19))
    assert [int(r["epoch"]) for r in read_csv(tmp_path / "run/val.csv")] == [0, 1, 2]
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    assert len(list((tmp_path / "run/tb").glob("events.out.tfevents.*"))) == 2
    acc = EventAccumulator(str(tmp_path / "run/tb"))  # reads both files, honours the purge
    acc.Reload()
    assert [e.step for e in acc.Scalars("train/loss")] == list(range(1, 19))


def test_threads_and_determinism_are_restored_after_fit(tmp_path):
    before = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    seen = {}

    class Probe(DummyRecipe):
        def training_step(self, batch, state):
            seen["threads"] = torch.get_num_threads()
            seen["det"] = torch.are_deterministic_algorithms_enabled()
            return super().training_step(batch, state)

    cfg, recipe, train, val = make(tmp_path, Probe, epochs=1, threads=3, deterministic=True)
    Trainer(recipe, train, val, config=cfg).fit()
    assert seen == {"threads": 3, "det": True}
    assert (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()) == before


def _collate_with_count(samples):
    batch = torch.utils.data.default_collate(samples)
    batch["count"] = torch.tensor(len(samples))
    return batch


def test_recipe_collate_and_train_mode_hooks(tmp_path):
    seen = {"counts": set(), "modes": []}

    class Custom(DummyRecipe):
        collate = staticmethod(_collate_with_count)

        def train(self, mode=True):
            super().train(mode)
            self.networks["b"].eval()  # e.g. a frozen network stays in eval mode

        def training_step(self, batch, state):
            seen["counts"].add(int(batch["count"]))
            seen["modes"].append((self.networks["a"].training, self.networks["b"].training))
            return super().training_step(batch, state)

        def validation_step(self, batch):
            seen["modes"].append(("val", self.networks["a"].training))
            return super().validation_step(batch)

    cfg, recipe, train, val = make(tmp_path, Custom, epochs=2, num_workers=1)
    Trainer(recipe, train, val, config=cfg).fit()
    assert seen["counts"] == {4}
    train_modes = [m for m in seen["modes"] if m[0] != "val"]
    assert set(train_modes) == {(True, False)} and len(train_modes) == 12
    assert {m for m in seen["modes"] if m[0] == "val"} == {("val", False)}


def test_digest_of_nested_state():
    from depthduet.engine.trainer import _digest

    a = {"t": torch.tensor([1.0, 2.0]), "h": ["a", "b"], "n": 3}
    assert _digest(a) == _digest({"n": 3, "h": ["a", "b"], "t": torch.tensor([1.0, 2.0])})
    assert _digest(a) != _digest({**a, "t": torch.tensor([1.0, 2.5])})
    assert _digest(a) != _digest({**a, "t": torch.tensor([1, 2])})  # dtype matters


def test_distributed_timeout_from_environment(monkeypatch):
    """DEPTHDUET_DIST_TIMEOUT sets how long a process waits for its peers (a lost peer ends in
    an error, not a hang); unset keeps torch's default; a bad value names the variable."""
    from datetime import timedelta

    from depthduet.engine.distributed import _timeout
    from depthduet.errors import UserError

    monkeypatch.delenv("DEPTHDUET_DIST_TIMEOUT", raising=False)
    assert _timeout() is None
    monkeypatch.setenv("DEPTHDUET_DIST_TIMEOUT", "90")
    assert _timeout() == timedelta(seconds=90)
    for bad in ("0", "-5", "soon", "nan"):
        monkeypatch.setenv("DEPTHDUET_DIST_TIMEOUT", bad)
        with pytest.raises(UserError, match="DEPTHDUET_DIST_TIMEOUT"):
            _timeout()
