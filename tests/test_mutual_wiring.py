"""METHOD B recipe ``mutual``: how the pieces are wired, checked against METHOD.md B.1-B.6's
formulas computed here by hand (the photometric minimum over every source frame, the mean over
scales and the 2^-s smoothness weight, the supervised total, which branch teaches which with
which confidence, the pose convention of the temporal sources, unaugmented sources, median
scaling only for M-only N_s, the confidence ratio on the protocol's clamped prediction).
Some tests pin the wiring with spies (which function gets which tensor); they say so.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from depthduet.geometry import pose_vec_to_matrix, warp
from depthduet.losses.photometric import photometric_error
from depthduet.losses.smoothness import edge_aware_smoothness
from depthduet.models.mde import depth_to_disp
from depthduet.recipes.mutual import MutualRecipe, is_scale_ambiguous
from depthduet.recipes.mutual import distill as mutual_mod  # where the recipe calls B.4
from test_mutual import H, W, _batch, _cfg  # the recipe tests' config and batch

# ----------------------------------------------------------------------------- B.3 recipe


def _self_recipe(*extra: str) -> MutualRecipe:
    return MutualRecipe(
        _cfg("mode=self", "self_sup=S", "loss.confidence=false", "loss.automask=false", *extra)
    )


def test_recipe_photometric_takes_the_min_over_all_source_frames():
    """With two sources the per-pixel minimum over BOTH warped sources is used."""
    r = _self_recipe("model.scales=[0]", "loss.smoothness=0")
    b = _batch(1)
    target, K = b["image"], b["K"]
    T = torch.eye(4)[None].clone()
    T[0, 0, 3] = -0.3
    noise = torch.rand(1, 3, H, W)
    depth = 5 + torch.rand(1, 1, H, W)
    conf = torch.full((1, 1, H, W), 0.5)
    disp = torch.rand(1, 1, H, W)
    # the second source is the target itself under the identity pose: error ~0 everywhere
    sources = [(noise, T), (target, torch.eye(4)[None])]
    l_ph, _, _ = r.self_supervised_loss({"disp": [disp]}, [(depth, conf)], target, sources, K)
    pe = torch.minimum(
        photometric_error(warp(noise, depth, K, T), target),
        photometric_error(warp(target, depth, K, torch.eye(4)[None]), target),
    )
    assert l_ph.item() == pytest.approx(pe.mean().item(), rel=1e-5, abs=1e-6)
    assert l_ph.item() < 1e-3


def test_recipe_averages_scales_and_weights_smoothness_by_2_pow_minus_s():
    """L_ss is the MEAN over scales; smoothness at scale s has weight w / 2^s."""
    w_sm = 1e-3
    r = _self_recipe("model.scales=[0,1]", f"loss.smoothness={w_sm}")
    b = _batch(1)
    target, K = b["image"], b["K"]
    src, T = b["image_stereo"], b["T_stereo_tgt"][:1]
    d0 = 5 + torch.rand(1, 1, H, W)
    d1 = 8 + torch.rand(1, 1, H, W)
    conf = torch.full((1, 1, H, W), 0.5)
    disp0 = torch.rand(1, 1, H, W) + 0.1
    disp1 = torch.rand(1, 1, H // 2, W // 2) + 0.1
    l_ph, l_sm, _ = r.self_supervised_loss(
        {"disp": [disp0, disp1]}, [(d0, conf), (d1, conf)], target, [(src, T)], K
    )
    pe0 = photometric_error(warp(src, d0, K, T), target).mean()
    pe1 = photometric_error(warp(src, d1, K, T), target).mean()
    assert l_ph.item() == pytest.approx(((pe0 + pe1) / 2).item(), rel=1e-5)
    t1 = F.interpolate(target, size=(H // 2, W // 2), mode="bilinear", align_corners=False)
    sm0 = edge_aware_smoothness(disp0, target)
    sm1 = edge_aware_smoothness(disp1, t1)
    expected_sm = (w_sm * sm0 + w_sm / 2 * sm1) / 2
    assert l_sm.item() == pytest.approx(expected_sm.item(), rel=1e-5)


# ----------------------------------------------------------------------------- B.2 / B.6 total


def test_supervised_total_is_l_su_plus_lambda_pf_l_pf():
    """In ``sup`` mode the loss is exactly L_su + lambda_pf * L_pf (B.6)."""
    torch.manual_seed(0)
    r = MutualRecipe(_cfg("mode=sup", "loss.lambda_pf=0.5", "loss.pf_m=2.0"))
    out = r.training_step(_batch(), {"step": 0})
    assert out["l_pf"].item() > 0
    expected = out["l_su"].item() + 0.5 * out["l_pf"].item()
    assert out["loss"].item() == pytest.approx(expected, rel=1e-6)


# ----------------------------------------------------------------------------- B.4 distillation


@pytest.mark.parametrize("self_sup", ["S", "M"])
def test_distillation_wiring(monkeypatch, self_sup):
    """L_u,d teaches N_u with C_s and (median-aligned for M only) D_s;
    L_s,d teaches N_s with C_u and D_u. Pins the recipe's wiring by spying on the calls."""
    fulls, calls = [], []
    orig_full = MutualRecipe._full_res
    orig_ud = mutual_mod.uncertainty_distillation

    def full_spy(self, out, size):
        res = orig_full(self, out, size)
        fulls.append(res)
        return res

    def ud_spy(student, teacher, conf, *a, **k):
        calls.append((student, teacher, conf))
        return orig_ud(student, teacher, conf, *a, **k)

    monkeypatch.setattr(MutualRecipe, "_full_res", full_spy)
    monkeypatch.setattr(mutual_mod, "uncertainty_distillation", ud_spy)
    torch.manual_seed(0)
    r = MutualRecipe(_cfg("mode=semi", f"self_sup={self_sup}"))
    out = r.training_step(_batch(), {"step": 0})
    (d_u, c_u), (d_s, c_s) = fulls[0][0], fulls[1][0]  # N_u is predicted first, then N_s
    by_student = {id(s): (t, c) for s, t, c in calls}
    assert set(by_student) == {id(d_u), id(d_s)}, "each branch must be the student once"
    t_u, conf_u = by_student[id(d_u)]  # L_u,d
    t_s, conf_s = by_student[id(d_s)]  # L_s,d
    assert conf_u is c_s and conf_s is c_u, "weights are the OTHER branch's confidence"
    assert t_s is d_u
    if self_sup == "M":
        ratio = d_u.flatten(1).median(1).values / d_s.flatten(1).median(1).values
        assert torch.allclose(t_u, d_s * ratio.view(-1, 1, 1, 1), rtol=1e-5)
    else:
        assert t_u is d_s  # no alignment for S / MS
    # and the logged values are the B.4 formulas
    l_ud = (c_s * (d_u.log() - t_u.log()).abs()).mean()
    l_sd = (c_u * (d_s.log() - d_u.log()).abs()).mean()
    assert out["l_ud"].item() == pytest.approx(l_ud.item(), rel=1e-5)
    assert out["l_sd"].item() == pytest.approx(l_sd.item(), rel=1e-5)


def test_distillation_gradient_of_l_sd_reaches_n_s_only(monkeypatch):
    """Behaviourally: with only the distillation term in the loss, L_s,d moves N_s and
    L_u,d moves N_u (lambda_ud = 0 isolates L_s,d)."""

    def zero_ss(self, out, full, target, sources, K):
        z = sum(d.sum() * 0 for d, _ in full)
        return z, z, z

    def zero_su(self, full, lidar):
        z = sum(d.sum() * 0 for d, _ in full)
        return z, z

    monkeypatch.setattr(MutualRecipe, "self_supervised_loss", zero_ss)
    monkeypatch.setattr(MutualRecipe, "supervised_loss", zero_su)
    torch.manual_seed(0)
    r = MutualRecipe(_cfg("mode=semi", "self_sup=S", "loss.lambda_ud=0", "loss.lambda_sd=1"))
    out = r.training_step(_batch(), {"step": 0})
    out["loss"].backward()

    def moved(name):
        params = r.networks[name].parameters()
        return any(p.grad is not None and p.grad.abs().sum() > 0 for p in params)

    assert moved("depth_s") and not moved("depth_u")


# ----------------------------------------------------------------------------- B.3 poses (M)


def _fake_pose(first: torch.Tensor, second: torch.Tensor):
    """An order-sensitive stand-in for PoseNet.forward (depends on which frame comes first)."""
    a, b = first.mean(dim=(1, 2, 3)), second.mean(dim=(1, 2, 3))
    aa = torch.stack([0.05 * a, -0.1 * b, 0.02 * (a - b) + 0.01], 1)
    t = torch.stack([0.3 * a, -0.2 * b, 0.1 + 0.0 * a], 1)
    return aa, t


def _capture_sources(monkeypatch, r):
    seen = []
    orig = r.self_supervised_loss

    def spy(out, full, target, sources, K):
        seen.append((target, sources))
        return orig(out, full, target, sources, K)

    monkeypatch.setattr(r, "self_supervised_loss", spy)
    return seen


def test_temporal_sources_use_the_documented_pose_convention(monkeypatch):
    """Prev frame -> pose(prev, target) inverted; next frame -> pose(target, next),
    i.e. PoseNet.relative_pose's convention (earlier frame first)."""
    r = MutualRecipe(_cfg("mode=self", "self_sup=M", "augment.flip_prob=0", "augment.weak.prob=0"))
    pose = r.networks["pose"]
    monkeypatch.setattr(pose, "forward", _fake_pose)
    seen = _capture_sources(monkeypatch, r)
    b = _batch()
    r.training_step(b, {"step": 0})
    _, sources = seen[0]
    assert len(sources) == 2
    (img_p, T_p), (img_n, T_n) = sources
    exp_p = pose.relative_pose(b["image"], b["image_prev"], source_is_before=True)
    exp_n = pose.relative_pose(b["image"], b["image_next"], source_is_before=False)
    # independent of relative_pose: the same from the raw vectors
    raw_p = pose_vec_to_matrix(*_fake_pose(b["image_prev"], b["image"]), invert=True)
    assert torch.allclose(exp_p, raw_p)
    assert torch.allclose(T_p, exp_p, atol=1e-6)
    assert torch.allclose(T_n, exp_n, atol=1e-6)


def test_temporal_sources_are_unaugmented(monkeypatch):
    """The photometric loss warps the un-augmented previous / next frames (B.5)."""
    r = MutualRecipe(
        _cfg("mode=self", "self_sup=M", "augment.flip_prob=0", "augment.weak.prob=1.0")
    )
    seen = _capture_sources(monkeypatch, r)
    b = _batch()
    r.training_step(b, {"step": 0})
    target, sources = seen[0]
    assert torch.equal(target, b["image"])
    assert torch.equal(sources[0][0], b["image_prev"])
    assert torch.equal(sources[1][0], b["image_next"])


# ----------------------------------------------------------------------------- B.6 evaluation


def test_only_monocular_self_supervised_n_s_is_scale_ambiguous():
    """Median scaling only for N_s trained on M alone; in semi mode (distillation from
    N_u fixes the scale, per is_scale_ambiguous's docstring) and for S / MS it is off."""
    for mode in ("semi", "self"):
        for ss in ("M", "S", "MS"):
            cfg = _cfg(f"mode={mode}", f"self_sup={ss}")
            assert is_scale_ambiguous(cfg, "s") == (mode == "self" and ss == "M"), (mode, ss)
            assert not is_scale_ambiguous(cfg, "u")


def test_confidence_ratio_uses_the_protocols_clamped_prediction(monkeypatch):
    """The per-pixel errors ranked by confidence are those of the evaluated (clamped to
    80 m) prediction. gt 50 m; half the pixels predict 100 m (clamped: 30/50 = 0.6)."""
    r = MutualRecipe(_cfg("mode=sup"))
    r.train(False)
    h, w = 4, 5
    gt = torch.full((1, 1, h, w), 50.0)
    sigma = depth_to_disp(gt.clone())
    wrong = torch.zeros(1, 1, h, w, dtype=torch.bool)
    wrong[..., :2, :] = True  # 10 of 20 pixels
    sigma = torch.where(wrong, torch.zeros_like(sigma), sigma)  # sigma 0 -> d_max = 100 m
    conf = torch.where(wrong, torch.full_like(gt, 0.1), torch.full_like(gt, 0.9))
    monkeypatch.setattr(r, "_predict", lambda branch, image: {"disp": [sigma], "conf": [conf]})
    m = r.evaluate_branch("u", {"image": torch.zeros(1, 3, h, w), "depth": gt})
    assert m["abs_rel"] == pytest.approx(0.5 * 0.6, rel=1e-4)
    assert m["err_low_conf"] == pytest.approx(0.6, rel=1e-4)
    assert m["err_high_conf"] == pytest.approx(0.0, abs=1e-4)
