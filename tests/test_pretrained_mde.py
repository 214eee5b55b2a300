"""Shipping METHOD B depth branches: export_mde_model, model cards, DepthPredictor.from_pretrained."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors import safe_open

from depthduet.cli import main
from depthduet.config import load_config, to_dict
from depthduet.engine.checkpoint import save_checkpoint
from depthduet.errors import UserError
from depthduet.inference.mde import DepthPredictor, export_mde_model, read_mde_card
from depthduet.inference.pretrained import file_sha256
from depthduet.paths import weights_dir
from depthduet.recipes.mutual import MutualConfig, MutualRecipe


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A ``mutual`` checkpoint (semi mode: depth_u, depth_s, pose) at 64x96 with validation
    metrics recorded like the engine does."""
    cfg = load_config(MutualConfig, overrides=["data.world.height=64", "data.world.width=96"])
    torch.manual_seed(0)
    r = MutualRecipe(cfg)
    folder = tmp_path_factory.mktemp("mde") / "run"
    save_checkpoint(
        folder / "checkpoints" / "best",
        {n: m.state_dict() for n, m in r.networks.items()},
        None,
        {
            "recipe": "mutual",
            "config": to_dict(cfg),
            "inference_networks": r.inference_networks,
            "epoch": 3,
            "step": 12,
            "git": "abc123",
            "metrics": {"abs_rel": 0.25, "conf_ratio": 1.5},
        },
    )
    return folder


def test_export_roundtrip_fp16(run, tmp_path):
    card = export_mde_model(
        run, "mde-test", branch="s", folder=tmp_path, command="depthduet train X", seconds=12.5
    )
    w = tmp_path / "mde-test.safetensors"
    assert card["sha256"] == file_sha256(w)
    assert card["branch"] == "s" and card["input_size"] == [64, 96] and card["dtype"] == "float16"
    assert card["training"]["command"] == "depthduet train X"
    assert card["training"]["git"] == "abc123" and card["training"]["step"] == 12
    assert card["metrics"]["run_validation"]["abs_rel"] == 0.25
    assert card["metrics"]["median_scaling"] is False
    assert read_mde_card(tmp_path / "mde-test.json") == card
    # only the one depth network, stored as float16 with the engine metadata
    with safe_open(str(w), framework="pt") as f:
        keys = list(f.keys())
        assert f.metadata()["network"] == "depth_s"
        dtypes = {f.get_tensor(k).dtype for k in keys}
    assert torch.float16 in dtypes and torch.float32 not in dtypes
    ref = DepthPredictor.from_checkpoint(run, branch="s")
    assert len(keys) == len(ref.net.state_dict())
    assert card["parameters"] == sum(t.numel() for t in ref.net.state_dict().values())
    # the shipped model predicts what the checkpoint predicts, to fp16 rounding
    p = DepthPredictor.from_pretrained("mde-test", folder=tmp_path)
    assert p.branch == "s" and p.size == (64, 96) and p.info["card"]["name"] == "mde-test"
    img = np.random.default_rng(0).random((64, 96, 3)).astype(np.float32)
    d, c = p.predict(img)
    d_ref, c_ref = ref.predict(img)
    assert np.allclose(d, d_ref, rtol=2e-2) and np.allclose(c, c_ref, atol=1e-2)
    # fp32 export is exact
    export_mde_model(run, "mde-test32", branch="s", folder=tmp_path, fp16=False)
    d32, _ = DepthPredictor.from_pretrained("mde-test32", folder=tmp_path).predict(img)
    assert np.allclose(d32, d_ref, rtol=1e-6)


def test_export_default_branch_and_errors(run, tmp_path):
    assert export_mde_model(run, "mde-u", folder=tmp_path)["branch"] == "u"  # semi -> N_u
    with pytest.raises(UserError, match="branch"):
        export_mde_model(run, "mde-x", branch="x", folder=tmp_path)
    with pytest.raises(UserError, match="not found"):
        export_mde_model(tmp_path / "nowhere", "mde-x", folder=tmp_path)
    with pytest.raises(UserError, match="available: mde-u"):
        DepthPredictor.from_pretrained("mde-nope", folder=tmp_path)


def test_card_hash_mismatch_and_bad_cards(run, tmp_path):
    export_mde_model(run, "mde-h", branch="u", folder=tmp_path)
    card_path = tmp_path / "mde-h.json"
    card = json.loads(card_path.read_text())
    card["sha256"] = "0" * 64
    card_path.write_text(json.dumps(card))
    with pytest.raises(UserError, match="does not match the model card"):
        DepthPredictor.from_pretrained("mde-h", folder=tmp_path)
    assert DepthPredictor.from_pretrained("mde-h", folder=tmp_path, verify=False).branch == "u"
    del card["branch"]
    card_path.write_text(json.dumps(card))
    with pytest.raises(UserError, match="lacks key.*branch"):
        DepthPredictor.from_pretrained("mde-h", folder=tmp_path)
    card_path.write_text("{not json")
    with pytest.raises(UserError, match="not valid JSON"):
        read_mde_card(card_path)


def _shipped():
    if not (weights_dir() / "mde-driving.safetensors").is_file():
        pytest.skip("mde-driving weights not shipped in this build")


def test_shipped_mde_driving_card():
    _shipped()
    card = read_mde_card(weights_dir() / "mde-driving.json")
    w = weights_dir() / card["file"]
    assert card["sha256"] == file_sha256(w)
    assert w.stat().st_size < 30 * 1024 * 1024
    assert card["dtype"] == "float16" and card["branch"] in ("u", "s")
    assert card["training"]["command"].startswith("depthduet train --config configs/mde/")
    assert 0 < card["metrics"]["run_validation"]["abs_rel"] < 1


@pytest.mark.realdata
def test_shipped_mde_driving_predicts_kitti(data_root, tmp_path):
    _shipped()
    img = data_root / "kitti" / "object_000007" / "image_2_000007.png"
    if not img.is_file():
        pytest.skip("KITTI object sample missing")
    out = tmp_path / "p"
    assert main(["predict", str(img), "--model", "mde-driving", "-o", str(out)]) == 0
    d = np.load(out / "image_2_000007_depth.npy")
    c = np.load(out / "image_2_000007_conf.npy")
    assert d.shape == c.shape == (375, 1242)
    assert np.isfinite(d).all() and (d >= 0.1 - 1e-3).all() and (d <= 100 + 1e-2).all()
    assert ((c > 0) & (c < 1 + 1e-6)).all()


def test_training_record_orders_command_about_then_checkpoint_facts():
    from depthduet.inference.pretrained import training_record

    info = {"epoch": 3, "step": 40, "git": "abc", "versions": {"torch": "x"}}
    rec = training_record(
        info, "runs/r/checkpoints/best", "depthduet train Y", 7.5, {"recipe": "z"}
    )
    assert list(rec)[:2] == ["command", "recipe"]
    assert rec["step"] == 40 and rec["epoch"] == 3 and rec["seconds"] == 7.5
    assert rec["git"] == "abc" and rec["versions"] == {"torch": "x"}
    assert rec["checkpoint"] == "runs/r/checkpoints/best" and rec["exported"].endswith("+00:00")
    assert training_record({}, "c", "", None, {})["git"] == ""  # missing facts stay empty


def _checkpoint_with(tmp_path, info_extra: dict, *overrides: str):
    cfg = load_config(MutualConfig, overrides=["mode=sup", *overrides])
    torch.manual_seed(0)
    r = MutualRecipe(cfg)
    folder = tmp_path / "ckpt"
    info = {"recipe": "mutual", "config": to_dict(cfg), "inference_networks": ["depth_u"]}
    save_checkpoint(
        folder, {"depth_u": r.networks["depth_u"].state_dict()}, None, info | info_extra
    )
    return folder, r


def test_the_inference_block_of_model_json_gives_size_and_scale(tmp_path):
    """The recipe's model_info block wins over the configuration; a malformed one is named."""
    block = {"depth_u": {"input_size": [128, 192], "scale_ambiguous": True}}
    folder, _ = _checkpoint_with(tmp_path, {"inference": block})
    p = DepthPredictor.from_checkpoint(folder)
    assert p.size == (128, 192) and p.scale_ambiguous
    bad, _ = _checkpoint_with(tmp_path / "b", {"inference": {"depth_u": {"input_size": [64]}}})
    with pytest.raises(UserError, match="inference block"):
        DepthPredictor.from_checkpoint(bad)


def test_checkpoints_without_the_block_read_the_configuration(tmp_path):
    """Old checkpoints: the world's size for its kind when data.world leaves it unset, the
    data section's size for other datasets (scale ambiguity: tests/test_predict.py)."""
    folder, r = _checkpoint_with(tmp_path, {})  # data.world.height/width unset: driving 96x320
    assert r.cfg.data.world.height is None
    assert DepthPredictor.from_checkpoint(folder).size == (96, 320) == r.cfg.data.size()
    kitti, _ = _checkpoint_with(tmp_path / "k", {}, "data.dataset=kitti", "data.width=416")
    assert DepthPredictor.from_checkpoint(kitti).size == (96, 416)


def test_card_inference_block(run, tmp_path):
    """Exported cards carry the block and from_pretrained reads it; the shipped card (written
    before the block) loads through the configuration in its weights."""
    card = export_mde_model(run, "mde-b", branch="s", folder=tmp_path)
    assert card["inference"] == {"depth_s": {"input_size": [64, 96], "scale_ambiguous": False}}
    card["inference"]["depth_s"]["input_size"] = [96, 128]
    (tmp_path / "mde-b.json").write_text(json.dumps(card))
    assert DepthPredictor.from_pretrained("mde-b", folder=tmp_path).size == (96, 128)
    _shipped()
    assert "inference" not in read_mde_card(weights_dir() / "mde-driving.json")
    assert DepthPredictor.from_pretrained("mde-driving").size == (64, 160)


def test_inference_loads_without_the_recipes_or_the_world():
    """Rebuilding a shipped branch needs neither depthduet.recipes nor depthduet.data.world."""
    import subprocess
    import sys

    _shipped()
    code = (
        "import sys\n"
        "from depthduet.inference.mde import DepthPredictor\n"
        "DepthPredictor.from_pretrained('mde-driving')\n"
        "print(sorted(m for m in sys.modules if m.startswith(('depthduet.recipes', "
        "'depthduet.data'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
