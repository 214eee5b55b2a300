"""The shipped weights' bottom layer (``depthduet.hub``), the inference module built on it,
and shipping a training run as a model (``depthduet.apps.ship``)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from depthduet import hub
from depthduet.errors import UserError
from depthduet.inference import pretrained


def test_hub_loads_no_network_or_training_code() -> None:
    code = (
        "import sys, depthduet.hub\n"
        "print(sorted(m for m in sys.modules if m.startswith('depthduet')))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    loaded = set(ast.literal_eval(r.stdout))
    allowed = {
        "depthduet",
        "depthduet.lazy",
        "depthduet.hub",
        "depthduet.errors",
        "depthduet.paths",
        "depthduet.io",
    }
    loaded = {m for m in loaded if not m.startswith("depthduet.io.")}  # the file readers
    assert loaded <= allowed, loaded - allowed


def test_inference_pretrained_is_the_hub() -> None:
    for name in (
        "ModelCard",
        "available_models",
        "file_sha256",
        "find_model_card",
        "list_model_cards",
        "load_pretrained",
        "read_card_json",
        "save_pretrained",
        "shipped_models",
        "DSR_KIND",
        "MDE_KIND",
        "KNOWN_MODELS",
    ):
        assert getattr(pretrained, name) is getattr(hub, name), name


def test_card_write_replaces_the_card(tmp_path: Path) -> None:
    state = {"w": torch.arange(6.0).reshape(2, 3)}
    arch = {"n_feats": 8, "n_base": 4, "n_stages": 2}
    card = hub.save_pretrained(state, "m", scale=2, preset="custom", arch=arch, folder=tmp_path)
    assert card.path == tmp_path / "m.json"
    card.metrics = {"rmse": 0.25}
    card.write(card.path)
    again = hub.ModelCard.read(tmp_path / "m.json")
    assert again.metrics == {"rmse": 0.25} and again.sha256 == card.sha256
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind
    loaded, _ = hub.load_pretrained("m", tmp_path)
    torch.testing.assert_close(loaded["w"], state["w"])


def test_pretrained_export_names_its_new_home(capsys) -> None:
    assert pretrained.main(["export", "runs/x", "dsr-x4", "--fp32"]) == 2
    assert "python -m depthduet.apps.ship export" in capsys.readouterr().out


def _tiny_run(tmp_path: Path) -> tuple[Path, torch.nn.Module]:
    """A ``ctkt`` checkpoint of a tiny untrained DSRNet whose configuration trains on three
    depth maps of a folder (also its validation folder)."""
    from depthduet.config import load_config, to_dict
    from depthduet.engine.checkpoint import save_checkpoint
    from depthduet.recipes.ctkt import CTKTConfig, CTKTRecipe

    maps = tmp_path / "maps"
    maps.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        np.save(maps / f"m{i}.npy", (1 + rng.random((48, 64))).astype(np.float32))
    overrides = [
        "model.preset=tiny",
        "data.source=[depth_folder]",
        f"data.folder={maps}",
        f"data.val_folder={maps}",
        "data.depth_scale=1",
        "data.crop=32",
    ]
    cfg = load_config(CTKTConfig, None, overrides)
    recipe = CTKTRecipe.from_config(cfg)
    run = tmp_path / "run"
    info = {
        "recipe": "ctkt",
        "config": to_dict(cfg),
        "inference_networks": ["dsr"],
        "epoch": 3,
        "step": 9,
        "metrics": {"rmse": 0.5},
    }
    weights = {n: m.state_dict() for n, m in recipe.networks.items()}
    save_checkpoint(run / "checkpoints" / "best", weights, None, info)
    return run, recipe.networks["dsr"]


def test_ship_exports_a_run(tmp_path: Path, capsys) -> None:
    from depthduet.apps.ship import main
    from depthduet.inference.dsr import DepthUpsampler

    run, net = _tiny_run(tmp_path)
    out = tmp_path / "shipped"
    argv = ["export", str(run), "dsr-x4", "--folder", str(out), "--command", "train it"]
    assert main([*argv, "--seconds", "3", "--notes", "tiny"]) == 0
    card = json.loads((out / "dsr-x4.json").read_text())
    assert json.loads(capsys.readouterr().out) == card
    assert card["training"]["command"] == "train it" and card["training"]["seconds"] == 3.0
    assert card["training"]["step"] == 9 and card["notes"] == "tiny"
    assert card["metrics"]["run_validation"] == {"rmse": 0.5}
    shipped = card["metrics"]["shipped"]
    assert shipped["data"].startswith("depth_folder validation split (3 maps")
    assert np.isfinite(shipped["rmse"]) and np.isfinite(shipped["rmse_bicubic"])
    up = DepthUpsampler.from_pretrained("dsr-x4", folder=out, device="cpu")
    for k, v in net.state_dict().items():
        torch.testing.assert_close(up.module.state_dict()[k], v.half().float())
    assert main(["export", str(tmp_path / "nowhere"), "dsr-x4", "--folder", str(out)]) == 2
    assert "checkpoint not found" in capsys.readouterr().out


def test_model_init_from_a_shipped_model_and_a_run(tmp_path: Path) -> None:
    from depthduet.config import load_config
    from depthduet.recipes.ctkt import CTKTConfig, CTKTRecipe

    def dsr(*overrides: str) -> torch.nn.Module:
        cfg = load_config(CTKTConfig, None, ["model.preset=tiny", *overrides])
        return CTKTRecipe.from_config(cfg).networks["dsr"]

    shipped, _ = hub.load_pretrained("dsr-x4")
    for k, v in dsr("model.init=dsr-x4").state_dict().items():
        assert torch.equal(v, shipped[k]), k
    run, net = _tiny_run(tmp_path)
    for k, v in dsr(f"model.init={run}").state_dict().items():
        assert torch.equal(v, net.state_dict()[k]), k
    with pytest.raises(UserError, match=r"model.init dsr-x8: its DSRNet \(x8\) does not match"):
        dsr("model.init=dsr-x8")
    with pytest.raises(UserError, match="does not match this configuration's sizes"):
        dsr(f"model.init={run}", "model.preset=small")
    with pytest.raises(UserError, match="model 'nope': not found"):
        dsr("model.init=nope")


def test_model_init_names_a_checkpoint_without_dsrnet(tmp_path: Path) -> None:
    """A METHOD B run given to model.init is named as such, not reported as a size mismatch."""
    from depthduet.config import load_config
    from depthduet.engine.checkpoint import save_checkpoint
    from depthduet.recipes.ctkt import CTKTConfig, CTKTRecipe

    run = tmp_path / "mde_run"
    weights = {"depth_u": {"w": torch.zeros(2)}, "depth_s": {"w": torch.zeros(2)}}
    info = {"recipe": "mutual", "inference_networks": ["depth_u", "depth_s"], "config": {}}
    save_checkpoint(run / "checkpoints" / "best", weights, None, info)
    cfg = load_config(CTKTConfig, None, ["model.preset=tiny", f"model.init={run}"])
    with pytest.raises(UserError, match=r"holds no DSRNet \(a METHOD B \(mutual\)"):
        CTKTRecipe.from_config(cfg)
