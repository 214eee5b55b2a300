"""METHOD A recipe ``ctkt``: configuration, ablation switches, the training step (every loss
term, student-only distillation, depth-only samples), validation and a short training run."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
from torch.utils.data import Dataset, default_collate

from depthduet.config import ConfigError, config_dir, load_config
from depthduet.data.degrade import DepthSRPairs
from depthduet.losses.distill import masked_l1, output_space_loss
from depthduet.recipes import get_recipe
from depthduet.recipes.ctkt import CTKTConfig, CTKTRecipe, RealDepthDataset, _RGBFlag

TINY = ["model.preset=tiny", "loss.affinity_pool=8", "engine.batch_size=4"]


class _Scenes(Dataset):
    """Small RGB-D scenes: a slanted floor and a box in front; the colour encodes depth and
    edges, so DENet has something to learn. ``rgb=False`` gives depth-only samples."""

    def __init__(self, n: int = 8, rgb: bool = True, h: int = 32, w: int = 40) -> None:
        self.n, self.rgb, self.h, self.w = n, rgb, h, w

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        g = torch.Generator().manual_seed(i)
        yy, xx = torch.meshgrid(
            torch.linspace(0, 1, self.h), torch.linspace(0, 1, self.w), indexing="ij"
        )
        depth = 2.0 + 3.0 * (1.0 - yy) + 0.5 * torch.rand((), generator=g) * xx
        x0 = int(torch.randint(2, self.w // 2, (), generator=g))
        y0 = int(torch.randint(2, self.h // 2, (), generator=g))
        depth[y0 : y0 + 10, x0 : x0 + 12] = 1.5
        s = {"depth": depth[None], "valid": torch.ones(1, self.h, self.w, dtype=torch.bool)}
        s["name"], s["unit"] = f"scene{i}", "m"
        if self.rgb:
            s["image"] = torch.stack([depth / 5.0, 1.0 - depth / 5.0, 0.5 * torch.ones_like(depth)])
        return s


def _recipe(*overrides: str) -> CTKTRecipe:
    cfg = load_config(CTKTConfig, None, [*TINY, *overrides])
    return CTKTRecipe.from_config(cfg)


def _batch(n: int = 4, rgb: bool = True, scale: int = 4) -> dict:
    ds = _RGBFlag(DepthSRPairs(_Scenes(n, rgb), scale, crop=16 if scale == 4 else None))
    return default_collate([ds[i] for i in range(n)])


def test_registered_and_shipped_configs_load() -> None:
    assert get_recipe("ctkt") is CTKTRecipe and CTKTRecipe.monitor == "rmse"
    names = sorted(p.name for p in (config_dir() / "dsr").glob("*.yaml"))
    for required in ("world_x4.yaml", "world_x8.yaml", "world_x16.yaml", "real_x4.yaml"):
        assert required in names
    for name in names:
        cfg = load_config(CTKTConfig, f"dsr/{name}")
        assert cfg.recipe == "ctkt" and cfg.data.crop % cfg.data.scale == 0
    wo = load_config(CTKTConfig, "dsr/world_x4_wo_ct")
    assert not wo.distill.cross_task
    assert load_config(CTKTConfig, "dsr/world_x4_paper").model.sizes()["n_stages"] == 7


@pytest.mark.parametrize(
    "override, match",
    [
        ("data.scale=3", "data.scale"),
        ("data.crop=30", "data.crop"),
        ("data.source=[nyu]", "data.source"),
        ("distill.teacher_selection=best", "teacher_selection"),
        ("loss.affinity_loss=l2", "affinity_loss"),
        ("optim.scheduler=poly", "optim.scheduler"),
        ("loss.lambdaP=1", "lambdaP"),
        ("distill.de_target=metric", "de_target"),
        ("distill.de_scale=0", "de_scale"),
        ("distill.side_into_dsr=maybe", "side_into_dsr"),
        ("model.spnet_uncertainty=softmax", "spnet_uncertainty"),
        ("loss.structure_gt=canny", "structure_gt"),
    ],
)
def test_bad_configuration_is_a_config_error(override: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        load_config(CTKTConfig, None, [override])


def test_ablation_switches_build_the_right_networks() -> None:
    off = ["distill.output_space=false", "distill.affinity=false", "distill.spnet=false"]
    assert set(_recipe(*off).networks) == {"dsr"}
    r = _recipe("distill.affinity=false", "distill.spnet=false")
    assert set(r.networks) == {"dsr", "de", "dsr_heads", "de_heads"}
    assert set(_recipe("distill.output_space=false", "distill.spnet=false").networks) == {
        "dsr",
        "de",
    }
    full = _recipe()
    assert set(full.networks) == {"dsr", "de", "dsr_heads", "de_heads", "sp"}
    assert full.inference_networks == ["dsr"] and set(full.optimizers) == {"dsr", "de", "sp"}


def test_training_step_terms_and_warmup() -> None:
    r = _recipe()
    b = _batch()
    out = r.training_step(b, {"epoch": 0, "step": 0, "round": 0})
    for k in ("l1_sr", "side_sr", "l1_de", "ssim_de", "side_de", "structure", "e_dsr", "e_de"):
        assert k in out and torch.isfinite(torch.as_tensor(out[k]))
    assert "distill_P" not in out and "distill_A" not in out  # warm-up round
    torch.testing.assert_close(out["loss"].detach(), _a5_total(out, r.cfg.loss))
    # l1_sr recomputed from DSRNet itself; the round errors reach the teacher selector
    x, hr_n, hv, _, _ = r._normalise(b)
    with torch.no_grad():
        torch.testing.assert_close(out["l1_sr"], masked_l1(r.networks["dsr"](x), hr_n, hv))
    assert r.selector.round_errors() == pytest.approx((float(out["e_dsr"]), float(out["e_de"])))
    first = r.on_round_end({})
    out = r.training_step(b, {"epoch": 1, "step": 1, "round": 1})
    # the teacher of round 1 is the network with the lower error in round 0 (METHOD.md A.3)
    assert out["teacher_dsr"] == float(first["round_e_dsr"] < first["round_e_de"])
    assert out["distill_P"] > 0 and out["distill_A"] > 0
    torch.testing.assert_close(out["loss"].detach(), _a5_total(out, r.cfg.loss))


def _a5_total(out: dict, lc) -> torch.Tensor:
    """METHOD.md A.5's sum from the logged terms (the distillation terms when logged)."""
    total = (
        out["l1_sr"]
        + lc.lambda_side * (out["side_sr"] + out["side_de"])
        + out["l1_de"]
        + lc.lambda_ssim * out["ssim_de"]
        + lc.lambda_S * out["structure"]
    )
    if "distill_P" in out:
        total = total + lc.lambda_P * out["distill_P"] + lc.lambda_A * out["distill_A"]
    return total


def _grads(recipe: CTKTRecipe, batch: dict, distill: bool, teacher: str) -> dict[str, list]:
    recipe.selector.rounds_done = 1 if distill else 0
    recipe.selector.teacher = teacher
    for m in recipe.networks.values():
        m.zero_grad(set_to_none=True)
    recipe.training_step(batch, {"epoch": 0, "step": 0, "round": 0})["loss"].backward()
    return {
        n: [None if p.grad is None else p.grad.clone() for p in m.parameters()]
        for n, m in recipe.networks.items()
    }


@pytest.mark.parametrize("term", ["output_space", "affinity"])
@pytest.mark.parametrize("target", ["normalized", "data"])
@pytest.mark.parametrize("teacher, student", [("dsr", "de"), ("de", "dsr")])
def test_distillation_reaches_the_student_only(
    teacher: str, student: str, target: str, term: str
) -> None:
    """With SPNet off and one distillation term on (L_P or L_A alone), switching it on must leave
    the teacher's gradients unchanged (its outputs are detached) and change the student's,
    whatever space DENet predicts in."""
    other = "affinity" if term == "output_space" else "output_space"
    r = _recipe(
        "distill.spnet=false",
        f"distill.{other}=false",
        "loss.lambda_P=1.0",
        "loss.lambda_A=5.0",
        f"distill.de_target={target}",
    )
    b = _batch()
    plain = _grads(r, b, distill=False, teacher=teacher)
    dist = _grads(r, b, distill=True, teacher=teacher)
    for name in (teacher, f"{teacher}_heads"):
        for g0, g1 in zip(plain.get(name, []), dist.get(name, [])):
            torch.testing.assert_close(g1, g0, rtol=0, atol=1e-7)
    changed = [
        not torch.allclose(g0, g1)
        for g0, g1 in zip(plain[student], dist[student])
        if g0 is not None
    ]
    assert any(changed)


def test_spnet_loss_flows_into_both_networks() -> None:
    r = _recipe("distill.output_space=false", "distill.affinity=false")
    b = _batch()
    for m in r.networks.values():
        m.zero_grad(set_to_none=True)
    out = r.training_step(b, {"epoch": 0, "step": 0, "round": 0})
    out["loss"].backward()
    with_s = {
        n: torch.cat([p.grad.flatten() for p in m.parameters()]) for n, m in r.networks.items()
    }
    r2 = _recipe("distill.output_space=false", "distill.affinity=false", "loss.lambda_S=0")
    r2.networks["dsr"].load_state_dict(r.networks["dsr"].state_dict())
    r2.networks["de"].load_state_dict(r.networks["de"].state_dict())
    r2.networks["sp"].load_state_dict(r.networks["sp"].state_dict())
    r2.training_step(b, {"epoch": 0, "step": 0, "round": 0})["loss"].backward()
    for name in ("dsr", "de"):  # the difference is lambda_S * dL_S / dtheta, over every weight
        g = torch.cat([p.grad.flatten() for p in r2.networks[name].parameters()])
        assert (g - with_s[name]).norm() > 1e-6 * g.norm(), name


@pytest.mark.parametrize("error_grad", [True, False])
def test_spnet_receives_the_networks_features_undetached(monkeypatch, error_grad: bool) -> None:
    """A.4: L_S reaches DSRNet and DENet through their last features F^N (not only through the
    outputs that feed the uncertainty maps); ``distill.spnet_error_grad=false`` detaches those
    outputs, and L_S still changes both networks' gradients through the features."""
    over = ("distill.output_space=false", "distill.affinity=false")
    r = _recipe(*over, f"distill.spnet_error_grad={error_grad}")
    sp, seen = r.networks["sp"], {}
    real = sp.forward

    def spy(f_sr, f_de, d_sr, d_de, *args, **kwargs):
        seen["grad"] = (f_sr.requires_grad, f_de.requires_grad)
        seen["out_grad"] = (d_sr.requires_grad, d_de.requires_grad)
        seen["shapes"] = (tuple(f_sr.shape), tuple(f_de.shape))
        return real(f_sr, f_de, d_sr, d_de, *args, **kwargs)

    monkeypatch.setattr(sp, "forward", spy)
    b = _batch()
    g = _grads(r, b, distill=False, teacher="dsr")
    assert seen["grad"] == (True, True) and seen["out_grad"] == (error_grad, error_grad)
    sizes = r.cfg.model.sizes()
    assert seen["shapes"][0][1] == sizes["n_base"] and seen["shapes"][0][-2:] == (16, 16)
    r0 = _recipe(*over, "loss.lambda_S=0")
    for name in r.networks:
        r0.networks[name].load_state_dict(r.networks[name].state_dict())
    g0 = _grads(r0, b, distill=False, teacher="dsr")
    for name in ("dsr", "de"):
        flat, flat0 = (
            torch.cat([x.flatten() for x in g[name]]),
            torch.cat([x.flatten() for x in g0[name]]),
        )
        assert (flat - flat0).norm() > 1e-6 * flat0.norm(), name


@pytest.mark.parametrize("teacher", ["dsr", "de"])
def test_output_space_term_compares_the_side_outputs(teacher: str) -> None:
    """L_P recomputed from the networks' side heads (METHOD.md A.3): the student's side outputs
    against the teacher's, in normalised units (de_target=normalized, no side residual)."""
    r = _recipe("distill.spnet=false", "distill.affinity=false", "distill.side_residual=false")
    r.selector.rounds_done, r.selector.teacher = 1, teacher
    b = _batch()
    out = r.training_step(b, {})
    x, _, hv, _, _ = r._normalise(b)
    with torch.no_grad():
        _, f_sr = r.networks["dsr"].forward_features(x)
        _, f_de = r.networks["de"].forward_features(b["image"].float())
        p_sr, p_de = r.networks["dsr_heads"](f_sr), r.networks["de_heads"](f_de)
    stu, tea = (p_de, p_sr) if teacher == "dsr" else (p_sr, p_de)
    ref = output_space_loss(stu, tea, hv, scales=r.cfg.loss.side_scales)
    torch.testing.assert_close(out["distill_P"], ref)
    assert out["teacher_dsr"] == float(teacher == "dsr")


def test_de_target_data_trains_denet_in_data_units() -> None:
    """``distill.de_target=data``: DENet's L1 is against ``D_hr / de_scale``, its error for
    teacher selection is measured after mapping into DSRNet's normalised space, and changing the
    data's unit together with ``de_scale`` changes nothing."""

    over = ("distill.affinity=false", "distill.spnet=false", "distill.de_target=data")
    r = _recipe(*over, "distill.de_scale=2.0")
    b = _batch()
    out = r.training_step(b, {})
    x, hr_n, hv, lo, hi = r._normalise(b)
    with torch.no_grad():
        raw = r.networks["de"](b["image"].float())
    torch.testing.assert_close(out["l1_de"], masked_l1(raw, b["hr"].float() / 2.0, hv))
    torch.testing.assert_close(out["e_de"], masked_l1((2.0 * raw - lo) / (hi - lo), hr_n, hv))
    # same losses with the data in centimetres and de_scale x100
    r_cm = _recipe(*over, "distill.de_scale=200.0")
    for name in r.networks:
        r_cm.networks[name].load_state_dict(r.networks[name].state_dict())
    b_cm = dict(b, lr=b["lr"] * 100.0, hr=b["hr"] * 100.0)
    out_cm = r_cm.training_step(b_cm, {})
    for k in ("l1_sr", "side_sr", "l1_de", "side_de", "e_de", "e_dsr"):
        torch.testing.assert_close(out_cm[k], out[k], rtol=1e-4, atol=1e-6)
    # validation reports DENet in both spaces
    for m in r.networks.values():
        m.eval()
    v = r.validation_step(b)
    assert v["rmse_de"] > 0 and v["rmse_de_norm"] > 0


def test_de_space_round_trip() -> None:
    from depthduet.recipes.ctkt import _DESpace

    lo = torch.tensor([1.0, 4.0]).view(2, 1, 1, 1)
    hi = torch.tensor([3.0, 10.0]).view(2, 1, 1, 1)
    y = torch.rand(2, 1, 5, 6) * 10
    sp = _DESpace("data", 1000.0, lo, hi)
    torch.testing.assert_close(sp.from_norm(sp.to_norm(y)), y)
    torch.testing.assert_close(sp.to_norm(torch.full_like(y, 0.004))[1], torch.zeros(1, 5, 6))
    ident = _DESpace("normalized", 1000.0, lo, hi)
    assert ident.to_norm(y) is y and ident.from_norm(y) is y


def test_side_residual_adds_bicubic_to_dsrnet_side_outputs() -> None:
    plain = _recipe("distill.affinity=false", "distill.spnet=false", "distill.side_residual=false")
    resid = _recipe("distill.affinity=false", "distill.spnet=false", "distill.side_residual=true")
    for name in plain.networks:
        resid.networks[name].load_state_dict(plain.networks[name].state_dict())
    for r in (plain, resid):  # heads output exactly 0: side outputs are 0 or bicubic
        for p in r.networks["dsr_heads"].parameters():
            torch.nn.init.zeros_(p)
    b = _batch()
    a = plain.training_step(b, {})
    c = resid.training_step(b, {})
    x, hr_n, hv, _, _ = plain._normalise(b)
    bic = torch.nn.functional.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False)
    n = plain.cfg.model.sizes()["n_stages"]
    expect_plain = n * (hr_n.abs() * hv).sum() / hv.sum()
    expect_resid = n * ((bic - hr_n).abs() * hv).sum() / hv.sum()
    torch.testing.assert_close(a["side_sr"], expect_plain)
    torch.testing.assert_close(c["side_sr"], expect_resid)


@pytest.mark.parametrize("into", [True, False])
def test_side_supervision_into_dsrnet_features_switch(into: bool) -> None:
    """``distill.side_into_dsr=false``: L_side trains DSRNet's side heads but leaves DSRNet's own
    gradient exactly that of DSRNet alone (warm-up round, output space only); ``true`` changes
    it. Either way the heads learn."""
    alone = _recipe("distill.output_space=false", "distill.affinity=false", "distill.spnet=false")
    r = _recipe("distill.affinity=false", "distill.spnet=false", f"distill.side_into_dsr={into}")
    r.networks["dsr"].load_state_dict(alone.networks["dsr"].state_dict())
    b = _batch()
    g_alone = _grads(alone, b, distill=False, teacher="dsr")["dsr"]
    g = _grads(r, b, distill=False, teacher="dsr")
    same = all(torch.equal(a, c) for a, c in zip(g_alone, g["dsr"]))
    assert same != into
    assert all(x is not None and x.abs().sum() > 0 for x in g["dsr_heads"])


@pytest.mark.parametrize("lambda_s", [0.0, 0.1])
def test_only_spnet_reaches_a_teaching_dsrnet(lambda_s: float) -> None:
    """The default full method (all terms on, distillation round, DSRNet the teacher): DSRNet's
    gradient is exactly that of DSRNet alone when lambda_S = 0, since L_P and L_A train only the
    student and L_side only DSRNet's heads; SPNet's L_S is the one term that changes it. This is
    the identity behind docs/results/dsr.md's explanation of the ties."""
    alone = _recipe("distill.output_space=false", "distill.affinity=false", "distill.spnet=false")
    full = _recipe(f"loss.lambda_S={lambda_s}")
    full.networks["dsr"].load_state_dict(alone.networks["dsr"].state_dict())
    b = _batch()
    g_alone = _grads(alone, b, distill=False, teacher="dsr")["dsr"]
    g = _grads(full, b, distill=True, teacher="dsr")
    same = all(torch.equal(a, c) for a, c in zip(g_alone, g["dsr"]))
    assert same == (lambda_s == 0.0)
    assert all(x is not None and x.abs().sum() > 0 for x in g["de"])  # DENet, the student, learns


def test_depth_only_samples_train_dsrnet_alone() -> None:
    r = _recipe()
    b = _batch(rgb=False)
    assert not bool(b["has_rgb"].any())
    out = r.training_step(b, {"epoch": 0, "step": 0, "round": 0})
    assert "l1_de" not in out and "structure" not in out
    out["loss"].backward()
    assert all(p.grad is None for p in r.networks["de"].parameters())
    assert any(p.grad is not None for p in r.networks["dsr"].parameters())
    # a mixed batch: only the RGB-D rows reach DENet
    rgbd = _RGBFlag(DepthSRPairs(_Scenes(2, True), 4, crop=16))
    depth_only = _RGBFlag(DepthSRPairs(_Scenes(2, False), 4, crop=16))
    mixed = default_collate([rgbd[0], depth_only[0], rgbd[1], depth_only[1]])
    out = r.training_step(mixed, {"epoch": 0, "step": 0, "round": 0})
    assert "l1_de" in out and torch.isfinite(out["loss"])


def test_validation_step_reports_units_and_bicubic() -> None:
    r = _recipe("distill.output_space=false", "distill.affinity=false", "distill.spnet=false")
    torch.nn.init.zeros_(r.dsr.recon.weight)
    torch.nn.init.zeros_(r.dsr.recon.bias)  # DSRNet == bicubic of the normalised LR
    for m in r.networks.values():
        m.eval()
    b = _batch()
    m = r.validation_step(b)
    assert m["rmse"] == pytest.approx(m["rmse_bicubic"], rel=1e-5)
    assert m["rmse_norm"] == pytest.approx(m["rmse_bicubic_norm"], rel=1e-5)
    # a unit change scales the data-unit RMSE and leaves the normalised one
    b2 = dict(b, lr=b["lr"] * 100.0, hr=b["hr"] * 100.0)
    m2 = r.validation_step(b2)
    assert m2["rmse"] == pytest.approx(100.0 * m["rmse"], rel=1e-4)
    assert m2["rmse_norm"] == pytest.approx(m["rmse_norm"], rel=1e-4)


def test_round_hooks_log_teacher_and_errors() -> None:
    r = _recipe()
    assert r.on_round_start({})["distill_on"] == 0.0
    r.selector.update(0.1, 0.5)
    rec = r.on_round_end({})
    assert rec["round_e_dsr"] == pytest.approx(0.1) and rec["next_teacher_dsr"] == 1.0
    assert r.on_round_start({}) == {"teacher_dsr": 1.0, "distill_on": 1.0}
    state = r.state_dict()
    r2 = _recipe()
    r2.load_state_dict(state)
    assert r2.selector.teacher == "dsr" and r2.selector.rounds_done == 1


def test_round_end_decides_from_errors_over_all_processes() -> None:
    """Under DDP the teacher comes from the round errors of every process (reduce_mean), so a
    process whose own shard favours DSRNet still follows the whole round (METHOD.md A.3)."""
    r = _recipe()
    r.selector.update(0.10, 0.20, weight=1.0)  # this process alone: DSRNet better
    other = torch.tensor([0.90, 0.10, 3.0], dtype=torch.float64)  # the other process's sums

    def mean_over_two(sums: torch.Tensor) -> torch.Tensor:
        return (sums + other) / 2

    r.reduce_mean = mean_over_two  # what Recipe.reduce_mean does with two processes
    rec = r.on_round_end({})
    assert rec["round_e_dsr"] == pytest.approx((0.10 + 0.90) / 4)  # 0.25
    assert rec["round_e_de"] == pytest.approx((0.20 + 0.10) / 4)  # 0.075
    assert rec["next_teacher_dsr"] == 0.0 and r.selector.teacher == "de"


def test_manual_steps_reduce_the_loss() -> None:
    torch.manual_seed(0)
    r = _recipe("optim.lr=1e-3")
    b = _batch()
    losses = []
    for _ in range(12):
        for o in r.optimizers.values():
            o.zero_grad()
        out = r.training_step(b, {"epoch": 0, "step": 0, "round": 0})
        out["loss"].backward()
        for o in r.optimizers.values():
            o.step()
        losses.append(float(out["loss"].detach()))
    assert losses[-1] < 0.7 * losses[0]


def _fit_ctkt(out: Path, *overrides: str) -> tuple[CTKTRecipe, dict]:
    from depthduet.engine.trainer import Trainer

    cfg = load_config(
        CTKTConfig,
        None,
        [
            *TINY,
            "engine.device=cpu",
            f"engine.out_dir={out}",
            "engine.tensorboard=false",
            "engine.progress=false",
            *overrides,
        ],
    )
    torch.manual_seed(0)  # the same initial weights in every run (the CLI seeds likewise)
    recipe = CTKTRecipe.from_config(cfg)
    train = _RGBFlag(DepthSRPairs(_Scenes(8), 4, crop=16))
    val = _RGBFlag(DepthSRPairs(_Scenes(4), 4, crop=None, train=False))
    return recipe, Trainer(recipe, train, val, config=cfg).fit()


def test_trainer_fit_two_epochs(tmp_path: Path) -> None:
    recipe, summary = _fit_ctkt(tmp_path, "engine.epochs=2", "engine.log_every=1", "optim.lr=1e-3")
    assert summary["epochs"] == 2 and summary["steps"] == 4  # 8 samples / batch 4, 2 epochs
    assert summary["monitor"] == "rmse"
    assert recipe.selector.rounds_done == 2 and len(recipe.selector.history) == 2
    assert (tmp_path / "summary.json").is_file()
    with open(tmp_path / "val.csv", newline="") as f:  # one validation per epoch
        rmse = [float(r["rmse"]) for r in csv.DictReader(f)]
    assert len(rmse) == 2 and summary["last_val"]["rmse"] == pytest.approx(rmse[-1])
    assert summary["best_metric"] == pytest.approx(min(rmse))  # best-checkpoint tracking
    assert summary["best_epoch"] == rmse.index(min(rmse))


def test_channels_last_training_on_cpu_resumes_exactly(tmp_path: Path) -> None:
    """engine.channels_last applies on CPU too: the networks train in that layout, checkpoints
    stay loadable, and a resumed run equals a straight one."""
    straight, s1 = _fit_ctkt(tmp_path / "a", "engine.epochs=3", "engine.channels_last=true")
    conv = straight.networks["dsr"].shallow[1][0].weight  # F -> F: the layouts differ
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    _fit_ctkt(tmp_path / "b", "engine.epochs=2", "engine.channels_last=true")
    resumed, s2 = _fit_ctkt(
        tmp_path / "b", "engine.epochs=3", "engine.channels_last=true", "engine.resume=last"
    )
    assert s1["steps"] == s2["steps"] == 6
    for name, net in straight.networks.items():
        other = resumed.networks[name].state_dict()
        for k, v in net.state_dict().items():
            assert torch.equal(v, other[k]), f"{name}.{k}"
    plain, _ = _fit_ctkt(tmp_path / "c", "engine.epochs=3")
    a = plain.networks["dsr"].state_dict()
    for k, v in straight.networks["dsr"].state_dict().items():  # same training, other layout
        torch.testing.assert_close(v, a[k], rtol=1e-3, atol=1e-4)


def test_world_train_then_evaluate_end_to_end(tmp_path: Path, capsys) -> None:
    """``depthduet train`` on a few procedural-world samples, then ``depthduet evaluate`` of
    the run on the same validation maps: the evaluation (DSRNet alone, depth only, LR made from
    the GT by the same bicubic degradation) reproduces the trainer's validation RMSE of the best
    checkpoint and its bicubic row, and the run logs its teacher per round."""
    import json

    import numpy as np

    from depthduet.cli import main

    run = tmp_path / "run"
    rc = main(
        [
            "train",
            "--config",
            str(config_dir() / "dsr" / "world_x4.yaml"),
            "--out",
            str(run),
            *TINY[:2],
            "engine.batch_size=2",
            "engine.epochs=2",
            "engine.threads=1",
            "engine.tensorboard=false",
            "engine.progress=false",
            "data.train_size=4",
            "data.val_size=2",
            "data.world_height=64",
            "data.world_width=64",
            "data.crop=32",
        ]
    )
    assert rc == 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["steps"] == 4 and summary["rounds"] == 2
    rounds = (run / "rounds.csv").read_text().splitlines()
    assert rounds[0].startswith("round,event") and len(rounds) == 5 and "teacher_dsr" in rounds[0]
    best = json.loads((run / "checkpoints" / "best" / "model.json").read_text())["metrics"]

    cfg = load_config(CTKTConfig, run / "config.yaml")
    _, val = CTKTRecipe.build_datasets(cfg)
    gt = tmp_path / "gt"
    gt.mkdir()
    for i in range(len(val)):
        v = val[i]
        hr = v["hr"][0].numpy().astype(np.float64)
        np.save(gt / f"scene{i}.npy", np.where(v["hr_valid"][0].numpy(), hr, np.nan))
    out = tmp_path / "eval.json"
    argv = ["--protocol", "sintel-dsr", "--gt", gt, "--checkpoint", run, "--scale", "4"]
    rc, _, err = _evaluate(capsys, *argv, "--baseline", "bicubic", "--device", "cpu", "--json", out)
    assert rc == 0, err
    rows = {r["method"]: r["metrics"] for r in json.loads(out.read_text())["results"]}
    assert set(rows) == {"bicubic (baseline)", "run"}
    assert rows["bicubic (baseline)"]["rmse"] == pytest.approx(best["rmse_bicubic"], rel=1e-5)
    # evaluate clips DSRNet's output to the LR range (DepthUpsampler's clamp), the trainer's
    # validation does not: equal up to the few pixels beyond that range
    assert rows["run"]["rmse"] == pytest.approx(best["rmse"], rel=2e-3)
    assert rows["run"]["rmse"] != pytest.approx(rows["bicubic (baseline)"]["rmse"], rel=1e-3)


def _evaluate(capsys, *argv) -> tuple[int, str, str]:
    from depthduet.cli import main

    rc = main(["evaluate", "--quiet", *map(str, argv)])
    out, err = capsys.readouterr()
    return rc, out, err


def test_world_datasets() -> None:
    cfg = load_config(
        CTKTConfig,
        "dsr/world_x4",
        ["data.train_size=2", "data.val_size=1", "data.world_height=64", "data.world_width=80"],
    )
    train, val = CTKTRecipe.build_datasets(cfg)
    assert len(train) == 2 and val is not None and len(val) == 1
    s = train[0]
    assert s["hr"].shape == (1, 64, 64) and s["lr"].shape == (1, 16, 16)
    assert s["image"].shape == (3, 64, 64) and s["has_rgb"] is True
    v = val[0]
    assert v["hr"].shape == (1, 64, 80) and v["degradation"] == "bicubic"
    assert torch.equal(val[0]["lr"], v["lr"])  # validation is deterministic


def test_real_source_missing_folders_are_named(tmp_path: Path) -> None:
    from depthduet.errors import UserError

    with pytest.raises(UserError, match="nowhere: data.root folder not found"):
        RealDepthDataset("sintel", tmp_path / "nowhere")
    with pytest.raises(UserError, match="sintel_depth: folder not found"):
        RealDepthDataset("sintel", tmp_path)
    (tmp_path / "sintel_depth").mkdir()
    with pytest.raises(UserError, match=r"no Df_\*\.mat files"):
        RealDepthDataset("sintel", tmp_path)


def test_real_sources_hold_out_scenes(data_root: Path) -> None:
    held = ["Df_1", "cones"]
    train = RealDepthDataset("sintel", data_root, held, include=False)
    val = RealDepthDataset("sintel", data_root, held, include=True)
    assert [f.stem for f in val.files] == ["Df_1"] and "Df_1" not in [f.stem for f in train.files]
    mb = RealDepthDataset("middlebury", data_root, held, include=True)
    s = mb[0]
    assert s["name"] == "middlebury/cones" and s["image"].shape[-2:] == s["depth"].shape[-2:]
    cfg = load_config(CTKTConfig, "dsr/real_x4", [f"data.root={data_root}"])
    tr, va = CTKTRecipe.build_datasets(cfg)
    names = {va[i]["name"] for i in range(len(va))}
    assert names == {f"sintel/Df_{k}" for k in (1, 20, 28, 58)} | {
        "middlebury/cones",
        "middlebury/teddy",
    }


def test_data_sources_are_chosen_by_name_in_the_registry(tmp_path: Path) -> None:
    """``data.source`` names builders of ``DSR_DATASETS``; a source with nothing for a split
    (here: no ``data.val_folder``) adds nothing to it."""
    import numpy as np

    from depthduet.data.registry import DSR_DATASETS
    from depthduet.errors import UserError

    known = {"world", "middlebury", "middlebury_depth", "sintel"}
    assert known | {"folder", "rgbd_folder", "depth_folder"} <= set(DSR_DATASETS.names())
    with pytest.raises(ConfigError, match=r"unknown source 'nyu'; known: .*depth_folder"):
        load_config(CTKTConfig, None, ["data.source=[nyu]"])
    with pytest.raises(UserError, match=r"data.folder: required for data.source \[depth_folder\]"):
        CTKTRecipe.build_datasets(load_config(CTKTConfig, None, ["data.source=[depth_folder]"]))
    for i in range(2):
        np.save(tmp_path / f"m{i}.npy", np.full((32, 32), 2.0 + i, np.float32))
    over = ["data.source=[depth_folder]", f"data.folder={tmp_path}", "data.depth_scale=1"]
    train, val = CTKTRecipe.build_datasets(load_config(CTKTConfig, None, [*over, "data.crop=16"]))
    assert len(train) == 2 and val is None and train[0]["has_rgb"] is False


def test_a_config_built_in_python_gets_the_checks_of_a_loaded_file() -> None:
    cfg = CTKTConfig()
    cfg.data.scale = 3
    with pytest.raises(ConfigError, match="^data.scale: expected 2, 4, 8 or 16, got 3$"):
        CTKTRecipe(cfg)
    cfg = CTKTConfig()
    cfg.engine.grad_clip = float("nan")
    with pytest.raises(ConfigError, match="engine.grad_clip: nan is not a finite number"):
        CTKTRecipe(cfg)
    with pytest.raises(TypeError, match="expected CTKTConfig, got dict"):
        CTKTRecipe({"recipe": "ctkt"})  # type: ignore[arg-type]
