"""The METHOD B recipe: configuration modes, loss wiring, augmentation routing, validation."""

from __future__ import annotations

import glob
import math
from pathlib import Path

import pytest
import torch
import yaml

from depthduet.config import ConfigError, config_dir, load_config
from depthduet.errors import UserError
from depthduet.geometry import warp
from depthduet.losses.photometric import photometric_error
from depthduet.recipes import get_recipe
from depthduet.recipes.mutual import MutualConfig, MutualRecipe, is_scale_ambiguous

H, W = 64, 96


def _cfg(*overrides: str) -> MutualConfig:
    return load_config(MutualConfig, overrides=list(overrides))


def _batch(b: int = 2, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    K = torch.tensor([[50.0, 0, 47.5], [0, 50.0, 31.5], [0, 0, 1]]).repeat(b, 1, 1)
    Ts = torch.eye(4).repeat(b, 1, 1)
    Ts[:, 0, 3] = -0.54
    depth = 2 + 18 * torch.rand(b, 1, H, W, generator=g)  # x3 stays under the 80 m cap
    lidar = torch.where(torch.rand(b, 1, H, W, generator=g) < 0.2, depth, torch.zeros_like(depth))
    return {
        "image": torch.rand(b, 3, H, W, generator=g),
        "image_prev": torch.rand(b, 3, H, W, generator=g),
        "image_next": torch.rand(b, 3, H, W, generator=g),
        "image_stereo": torch.rand(b, 3, H, W, generator=g),
        "K": K,
        "T_stereo_tgt": Ts,
        "lidar": lidar,
        "depth": depth,
        "valid": depth > 0,
    }


def test_registered_and_modes_build_the_right_networks():
    assert get_recipe("mutual") is MutualRecipe
    cases = {
        ("semi", "MS"): {"depth_u", "depth_s", "pose"},
        ("sup", "MS"): {"depth_u"},
        ("self", "M"): {"depth_s", "pose"},
        ("self", "S"): {"depth_s"},
    }
    for (mode, ss), nets in cases.items():
        r = MutualRecipe(_cfg(f"mode={mode}", f"self_sup={ss}"))
        assert set(r.networks) == nets
        assert set(r.optimizers) == nets
        assert set(r.inference_networks) == {n for n in nets if n != "pose"}
    assert MutualRecipe(_cfg("mode=self")).eval_branch == "s"
    assert MutualRecipe(_cfg()).eval_branch == "u"


def test_bad_configuration_values():
    with pytest.raises(ConfigError, match="mode"):
        _cfg("mode=weird")
    with pytest.raises(ConfigError, match="self_sup"):
        _cfg("self_sup=X")
    with pytest.raises(ConfigError, match="eval_branch"):
        _cfg("mode=sup", "eval_branch=s")
    with pytest.raises(ConfigError, match="d_min"):
        _cfg("model.d_min=5", "model.d_max=1")
    with pytest.raises(ConfigError, match="lambda_c_u"):
        _cfg("loss.lambda_c_u=0")
    with pytest.raises(ConfigError, match="scales"):
        _cfg("model.scales=[1,2]")
    for key in ("loss.automask_mean", "loss.su_error", "loss.distill_space"):
        with pytest.raises(ConfigError, match=key):
            _cfg(f"{key}=other")


def test_shipped_configs_and_ablations():
    files = sorted(glob.glob(str(config_dir() / "mde" / "*.yaml")))
    names = {Path(f).stem for f in files}
    assert {
        "world_semi",
        "world_sup",
        "world_self_m",
        "world_self_ms",
        "world_semi_nopf",
        "world_semi_sharedaug",
        "world_semi_nodistill",
        "kitti_semi",
        "cityscapes_semi",
    } <= names
    base = load_config(MutualConfig, "mde/world_semi")
    assert (base.mode, base.self_sup, base.data.dataset) == ("semi", "MS", "world")
    assert base.engine.batch_size == 4 and base.data.size() == (96, 320)
    assert base.model.encoder_weights == ""
    expect = {
        "world_sup": ("mode", "sup"),
        "world_self_m": ("self_sup", "M"),
        "world_self_ms": ("mode", "self"),
        "world_semi_nopf": ("loss.point_filtering", False),
        "world_semi_sharedaug": ("augment.separate", False),
        "world_semi_nodistill": ("loss.distill", False),
    }
    for name, (key, value) in expect.items():
        cfg = load_config(MutualConfig, f"mde/{name}")
        obj = cfg
        for part in key.split("."):
            obj = getattr(obj, part)
        assert obj == value, name
        # ablation files are small: only their switch and the run folder differ from the base
        raw = yaml.safe_load((config_dir() / "mde" / f"{name}.yaml").read_text())
        assert raw["base"] == "world_semi.yaml"
        assert set(raw) - {"base", "mode", "self_sup", "loss", "augment", "engine"} == set()
    assert load_config(MutualConfig, "mde/kitti_semi").eval.protocol == "kitti-eigen"


def test_dataset_selection_errors_and_supervision_key():
    with pytest.raises(UserError, match="data.root"):
        MutualRecipe.build_datasets(_cfg("data.dataset=kitti"))
    with pytest.raises(UserError, match="not found|KITTI"):
        MutualRecipe.build_datasets(_cfg("data.dataset=kitti", "data.root=/nonexistent/kitti"))
    with pytest.raises(UserError, match="multiples of 32"):
        MutualRecipe.build_datasets(_cfg("data.world.height=70"))
    with pytest.raises(ConfigError, match="data.dataset"):
        _cfg("data.dataset=nyu")
    r = MutualRecipe(_cfg("mode=sup", "data.sup_key=sparse"))
    with pytest.raises(UserError, match="sup_key"):
        r.training_step(_batch(), {"step": 0})


def test_datasets_are_chosen_by_name_through_the_registry():
    """data.dataset names an entry of MDE_DATASETS: its training size and its two splits."""
    from depthduet.data.mde_dataset import CachedDataset
    from depthduet.data.registry import MDE_DATASETS

    assert MDE_DATASETS.names() == ["cityscapes", "kitti", "world"]
    small = ["data.world.height=64", "data.world.width=96", "data.train_size=2"]
    cfg = _cfg(*small, "data.val_size=0")
    assert MDE_DATASETS.get("world").size(cfg.data) == cfg.data.size() == (64, 96)
    train, val = MutualRecipe.build_datasets(cfg)
    assert isinstance(train, CachedDataset) and len(train) == 2 and val is None
    train, val = MutualRecipe.build_datasets(_cfg(*small, "data.val_size=1", "data.cache=false"))
    assert not isinstance(train, CachedDataset) and len(val) == 1
    kitti = _cfg("data.dataset=kitti", "data.height=128", "data.width=416")
    assert kitti.data.size() == (128, 416)
    with pytest.raises(ConfigError, match="expected one of cityscapes, kitti, world"):
        _cfg("data.dataset=nyu")


def test_model_info_records_each_depth_network_inference_block():
    """What inference reads back from model.json: input size and scale ambiguity per network."""
    small = ["data.world.height=64", "data.world.width=96"]
    r = MutualRecipe(_cfg("mode=self", "self_sup=M", *small))
    block = {"depth_s": {"input_size": [64, 96], "scale_ambiguous": True}}
    assert r.model_info() == {"inference": block}
    semi = MutualRecipe(_cfg()).model_info()["inference"]
    assert semi == {
        "depth_u": {"input_size": [96, 320], "scale_ambiguous": False},
        "depth_s": {"input_size": [96, 320], "scale_ambiguous": False},
    }


def _cityscapes_root(root: Path) -> Path:
    """A two-frame Cityscapes layout: left/right images, sequence neighbours, disparity, camera."""
    import json

    import numpy as np

    from depthduet.io import write_image

    rng = np.random.default_rng(0)
    for frame in (19, 39):
        stem = f"aachen_000000_{frame:06d}"
        for kind, suffix in (("leftImg8bit", "leftImg8bit"), ("rightImg8bit", "rightImg8bit")):
            f = root / kind / "train" / "aachen" / f"{stem}_{suffix}.png"
            f.parent.mkdir(parents=True, exist_ok=True)
            write_image(f, rng.random((64, 128, 3)).astype(np.float32))
        for o in (-1, 1):
            f = root / "leftImg8bit_sequence" / "train" / "aachen"
            f.mkdir(parents=True, exist_ok=True)
            name = f"aachen_000000_{frame + o:06d}_leftImg8bit.png"
            write_image(f / name, rng.random((64, 128, 3)).astype(np.float32))
        disp = np.where(rng.random((64, 128)) < 0.5, rng.integers(2, 40, (64, 128)) * 256 + 1, 0)
        f = root / "disparity" / "train" / "aachen" / f"{stem}_disparity.png"
        f.parent.mkdir(parents=True, exist_ok=True)
        write_image(f, disp.astype(np.uint16))
        f = root / "camera" / "train" / "aachen" / f"{stem}_camera.json"
        f.parent.mkdir(parents=True, exist_ok=True)
        cam = {"intrinsic": {"fx": 100.0, "fy": 100.0, "u0": 63.5, "v0": 31.5}}
        f.write_text(json.dumps({**cam, "extrinsic": {"baseline": 0.2}}))
    return root


def test_cityscapes_training_step_uses_disparity_depth(tmp_path):
    root = _cityscapes_root(tmp_path / "cs")
    cfg = load_config(
        MutualConfig,
        "mde/cityscapes_semi",
        [f"data.root={root}", "data.val_split=train", "data.height=64", "data.width=128"],
    )
    train, val = MutualRecipe.build_datasets(cfg)
    assert len(train) == 2 and len(val) == 2
    s = train[0]
    assert {"image_prev", "image_next", "image_stereo", "T_stereo_tgt", "depth"} <= set(s)
    assert torch.allclose(s["T_stereo_tgt"][0, 3], torch.tensor(-0.2))
    batch = torch.utils.data.default_collate([train[0], train[1]])
    r = MutualRecipe(cfg)
    out = r.training_step(batch, {"step": 0})
    assert torch.isfinite(out["loss"]) and out["l_su"] > 0
    r.train(False)
    with torch.no_grad():
        assert "abs_rel" in r.validation_step(torch.utils.data.default_collate([val[0]]))


def test_supervised_loss_by_hand():
    r = MutualRecipe(_cfg("mode=sup", "loss.lambda_c_u=0.2", "loss.pf_m=0.5"))
    lidar = torch.zeros(1, 1, 2, 2)
    lidar[0, 0, 0, 0] = 4.0
    depth = torch.full((1, 1, 2, 2), 8.0)  # relative error 1 at the LiDAR pixel
    conf = torch.full((1, 1, 2, 2), 0.5)
    l_su, l_pf = r.supervised_loss([(depth, conf), (depth, conf)], lidar)
    assert l_su.item() == pytest.approx(0.5 * 1.0 - 0.2 * math.log(0.5), rel=1e-5)
    assert l_pf.item() == pytest.approx(0.5 * 0.5 - 0.2 * math.log(0.5), rel=1e-5)
    r2 = MutualRecipe(_cfg("mode=sup", "loss.confidence=false"))
    l_su2, l_pf2 = r2.supervised_loss([(depth, conf)], lidar)
    assert l_su2.item() == pytest.approx(1.0) and l_pf2.item() == 0.0
    # loss.su_error=absolute: |D_u - D*| in metres (4 m) instead of the relative error
    r3 = MutualRecipe(_cfg("mode=sup", "loss.confidence=false", "loss.su_error=absolute"))
    assert r3.supervised_loss([(depth, conf)], lidar)[0].item() == pytest.approx(4.0)


def test_automasked_pixels_keep_their_identity_error():
    r = MutualRecipe(
        _cfg(
            "mode=self",
            "self_sup=S",
            "model.scales=[0]",
            "loss.confidence=false",
            "loss.smoothness=0",
        )
    )
    b = _batch(1)
    target, src = b["image"], torch.flip(b["image"], dims=[-1])
    T = torch.eye(4)[None].clone()
    T[0, 0, 3] = -0.3
    depth = (5 + torch.rand(1, 1, H, W)).requires_grad_()
    conf = torch.full((1, 1, H, W), 0.5)
    disp = torch.rand(1, 1, H, W)
    l_ph, _, kept = r.self_supervised_loss(
        {"disp": [disp]}, [(depth, conf)], target, [(src, T)], b["K"]
    )
    pe = photometric_error(warp(src, depth, b["K"], T), target)
    ident = photometric_error(src, target)
    assert 0.05 < kept.item() < 0.95  # some pixels masked, some kept
    assert l_ph.item() == pytest.approx(torch.minimum(pe, ident).mean().item(), rel=1e-5)
    # a source identical to the target masks every pixel: constant loss, no depth gradient
    l0, _, kept0 = r.self_supervised_loss(
        {"disp": [disp]}, [(depth, conf)], target, [(target, T)], b["K"]
    )
    assert kept0.item() == 0.0 and l0.item() == 0.0
    (g,) = torch.autograd.grad(l0, depth, allow_unused=True)
    assert g is None or g.abs().max() == 0
    # loss.automask_mean=kept (METHOD.md B.3 as written): the mean over the kept pixels only
    kept_cfg = ["mode=self", "self_sup=S", "model.scales=[0]", "loss.smoothness=0"]
    r_kept = MutualRecipe(_cfg(*kept_cfg, "loss.confidence=false", "loss.automask_mean=kept"))
    l_k, _, _ = r_kept.self_supervised_loss(
        {"disp": [disp]}, [(depth, conf)], target, [(src, T)], b["K"]
    )
    keep = pe < ident
    assert l_k.item() == pytest.approx(pe[keep].mean().item(), rel=1e-5)
    # with confidence: L_conf(pe_min, C_s) averaged over the kept pixels
    r_kc = MutualRecipe(_cfg(*kept_cfg, "loss.automask_mean=kept", "loss.lambda_c_s=0.2"))
    l_kc, _, _ = r_kc.self_supervised_loss(
        {"disp": [disp]}, [(depth, conf)], target, [(src, T)], b["K"]
    )
    expected = (0.5 * pe[keep] - 0.2 * math.log(0.5)).mean().item()
    assert l_kc.item() == pytest.approx(expected, rel=1e-5)


def test_training_step_reaches_every_network():
    torch.manual_seed(0)
    r = MutualRecipe(_cfg())
    out = r.training_step(_batch(), {"step": 0})
    assert torch.isfinite(out["loss"])
    for k in ("l_su", "l_pf", "l_ph", "l_sm", "l_ud", "l_sd", "conf_u", "conf_s", "automask"):
        assert k in out, k
    out["loss"].backward()
    for name, net in r.networks.items():
        grads = [p.grad for p in net.parameters() if p.grad is not None]
        assert grads and any(g.abs().sum() > 0 for g in grads), name


def test_distillation_term_is_exactly_the_weighted_sum():
    b = _batch()
    torch.manual_seed(5)
    on = MutualRecipe(_cfg("self_sup=S", "loss.lambda_ud=0.3", "loss.lambda_sd=0.7"))
    off = MutualRecipe(_cfg("self_sup=S", "loss.distill=false"))
    for name in on.networks:  # same weights (and BatchNorm statistics) before the step
        off.networks[name].load_state_dict(on.networks[name].state_dict())
    torch.manual_seed(1)  # same flips and colour draws
    a = on.training_step(b, {"step": 0})
    torch.manual_seed(1)
    c = off.training_step(b, {"step": 0})
    assert "l_ud" not in c
    diff = (a["loss"] - c["loss"]).item()
    assert diff == pytest.approx(0.3 * a["l_ud"].item() + 0.7 * a["l_sd"].item(), rel=1e-4)
    # warm-up: no distillation before distill_warmup_steps
    warm = MutualRecipe(_cfg("self_sup=S", "loss.distill_warmup_steps=10"))
    assert "l_ud" not in warm.training_step(b, {"step": 3})


def _capture_inputs(r: MutualRecipe) -> dict[str, torch.Tensor]:
    seen: dict[str, torch.Tensor] = {}
    for name in ("depth_u", "depth_s"):
        r.networks[name].register_forward_pre_hook(
            lambda m, args, name=name: seen.__setitem__(name, args[0].detach().clone())
        )
    return seen


def test_separate_augmentation_routing_and_unaugmented_photometric_target(monkeypatch):
    b = _batch()
    r = MutualRecipe(_cfg("augment.flip_prob=1.0", "augment.weak.prob=1.0", "self_sup=S"))
    seen = _capture_inputs(r)
    targets = []
    orig = r.self_supervised_loss
    monkeypatch.setattr(
        r,
        "self_supervised_loss",
        lambda out, full, target, sources, K: (
            targets.append((target, sources, K)) or orig(out, full, target, sources, K)
        ),
    )
    r.training_step(b, {"step": 0})
    flipped = torch.flip(b["image"], dims=[-1])
    # photometric loss sees the flipped, un-augmented target and stereo frame ...
    target, sources, K = targets[0]
    assert torch.equal(target, flipped)
    assert torch.equal(sources[0][0], torch.flip(b["image_stereo"], dims=[-1]))
    assert torch.allclose(sources[0][1][:, 0, 3], torch.full((2,), 0.54))  # baseline sign flipped
    assert torch.allclose(K[:, 0, 2], torch.full((2,), W - 1 - 47.5))
    # ... while the two networks see two different colour augmentations of it
    assert not torch.allclose(seen["depth_u"], flipped)
    assert not torch.allclose(seen["depth_s"], flipped)
    assert not torch.allclose(seen["depth_u"], seen["depth_s"])
    shared = MutualRecipe(_cfg("augment.separate=false", "augment.weak.prob=1.0", "self_sup=S"))
    seen2 = _capture_inputs(shared)
    shared.training_step(b, {"step": 0})
    assert torch.equal(seen2["depth_u"], seen2["depth_s"])


def test_validation_median_scaling_only_for_monocular_self_supervision():
    b = _batch()
    b3 = dict(b, depth=b["depth"] * 3)
    m = MutualRecipe(_cfg("mode=self", "self_sup=M"))
    m.train(False)
    assert is_scale_ambiguous(m.cfg, "s")
    v1, v3 = m.validation_step(b), m.validation_step(b3)
    assert v1["abs_rel"] == pytest.approx(v3["abs_rel"], rel=1e-4)  # scale-invariant
    for k in ("abs_rel", "sq_rel", "rmse", "rmse_log", "a1", "a2", "a3", "conf_ratio"):
        assert k in v1
    s = MutualRecipe(_cfg("mode=semi"))
    s.train(False)
    assert not is_scale_ambiguous(s.cfg, "u") and not is_scale_ambiguous(s.cfg, "s")
    w1, w3 = s.validation_step(b), s.validation_step(b3)
    assert w1["abs_rel"] != pytest.approx(w3["abs_rel"], rel=1e-3)
    for k in ("abs_rel", "sq_rel", "rmse", "rmse_log", "a1", "a2", "a3", "conf_ratio"):
        assert k in w1 and f"{k}_s" in w1  # both branches, full metric set
    # the second branch's metrics are its own, not a copy of the evaluated branch's
    only_s = s.evaluate_branch("s", b)
    assert w1["sq_rel_s"] == pytest.approx(only_s["sq_rel"])


@pytest.fixture(scope="module")
def world_samples():
    from depthduet.data import world

    ds = world.WorldDataset("driving", "train", n=2, cfg=world.WorldConfig(height=64, width=160))
    return [ds[0], ds[1]]


def test_warping_world_frames_with_true_depth_and_pose_reproduces_target(world_samples):
    for s in world_samples:
        tgt = s["image"][None]
        depth = s["depth"][None]
        valid = s["valid"][None] & (depth > 0)
        for src, T in (
            ("image_prev", "T_prev_tgt"),
            ("image_next", "T_next_tgt"),
            ("image_stereo", "T_stereo_tgt"),
        ):
            warped = warp(s[src][None], depth, s["K"], s[T][None])
            l1 = (warped - tgt).abs().mean(1, keepdim=True)[valid]
            pe = photometric_error(warped, tgt)[valid].mean()
            pe_id = photometric_error(s[src][None], tgt)[valid].mean()
            assert l1.median() < 0.01, src  # most pixels reproduced (disocclusions aside)
            assert (l1 < 0.05).float().mean() > 0.8, src
            assert pe < 0.85 * pe_id, src  # clearly better than not warping


def test_end_to_end_step_on_world_samples(world_samples):
    torch.manual_seed(0)
    batch = torch.utils.data.default_collate(world_samples)
    r = MutualRecipe(_cfg("data.world.height=64", "data.world.width=160"))
    out = r.training_step(batch, {"step": 0})
    assert torch.isfinite(out["loss"])
    out["loss"].backward()
    for opt in r.optimizers.values():
        opt.step()
    r.train(False)
    with torch.no_grad():
        v = r.validation_step(batch)
    assert 0 < v["abs_rel"] and 0 <= v["a1"] <= 1


def test_a_config_built_in_python_gets_the_checks_of_a_loaded_file() -> None:
    cfg = MutualConfig()
    cfg.optim.lr = -1.0  # torch would say "Invalid learning rate", naming no key
    with pytest.raises(ConfigError, match="^optim.lr/pose_lr: must be > 0$"):
        MutualRecipe(cfg)
