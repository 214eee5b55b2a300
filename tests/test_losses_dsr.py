"""METHOD A losses: valid-pixel means, output-space and affinity distillation, teacher
selection, structure ground truth and loss (METHOD.md A.3, A.4)."""

from __future__ import annotations

import pytest
import torch

from depthduet.errors import UserError
from depthduet.losses.distill import (
    affinity_loss,
    affinity_matrix,
    masked_l1,
    masked_mean,
    output_space_loss,
)
from depthduet.losses.structure import sobel_magnitude, structure_gt, structure_loss
from depthduet.recipes.ctkt import TeacherSelector


def test_masked_mean_hand_values() -> None:
    x = torch.tensor([[[[1.0, 2.0], [3.0, 10.0]]]])
    m = torch.tensor([[[[True, True], [True, False]]]])
    assert masked_mean(x, m).item() == pytest.approx(2.0)
    assert masked_mean(x).item() == pytest.approx(4.0)
    w = torch.tensor([[[[1.0, 0.0], [0.0, 0.5]]]])
    assert masked_mean(x, w).item() == pytest.approx((1.0 + 5.0) / 1.5)
    empty = masked_mean(x.requires_grad_(), torch.zeros_like(m))
    assert empty.item() == 0.0 and empty.requires_grad
    assert masked_l1(x, x + 2.0, m).item() == pytest.approx(2.0)


def test_output_space_loss_hand_value_and_gradients() -> None:
    student = [torch.ones(1, 1, 8, 8, requires_grad=True) for _ in range(2)]
    teacher = [torch.full((1, 1, 8, 8), 3.0, requires_grad=True) for _ in range(2)]
    loss = output_space_loss(student, teacher, scales=(1, 2, 4))
    assert loss.item() == pytest.approx(2 * 3 * 2.0)  # stages x scales x |1 - 3|
    loss.backward()
    assert all(t.grad is None for t in teacher)  # teacher detached
    assert all(s.grad is not None and s.grad.abs().sum() > 0 for s in student)


def test_output_space_loss_pools_each_scale() -> None:
    """A +-1 checkerboard against 0: |.| = 1 at full resolution, and average pooling by 2 or 4
    cancels it, so the multi-scale sum of A.3 is 1 + 0 + 0."""
    board = ((torch.arange(8).view(8, 1) + torch.arange(8).view(1, 8)) % 2 * 2.0 - 1.0).view(
        1, 1, 8, 8
    )
    zero = torch.zeros(1, 1, 8, 8)
    assert output_space_loss([board], [zero], scales=(1,)).item() == pytest.approx(1.0)
    assert output_space_loss([board], [zero], scales=(2,)).item() == pytest.approx(0.0)
    assert output_space_loss([board], [zero], scales=(4,)).item() == pytest.approx(0.0)
    assert output_space_loss([board], [zero], scales=(1, 2, 4)).item() == pytest.approx(1.0)
    # a map constant on 2x2 blocks keeps its difference at k = 2 and cancels at k = 4
    blocks = board[..., :4, :4].repeat_interleave(2, -1).repeat_interleave(2, -2)
    assert output_space_loss([blocks], [zero], scales=(1, 2, 4)).item() == pytest.approx(2.0)


def test_output_space_loss_ignores_invalid_pixels() -> None:
    s = torch.zeros(1, 1, 4, 4)
    t = torch.zeros(1, 1, 4, 4)
    t[..., :2, :] = 100.0  # disagreement only where the ground truth is invalid
    valid = torch.ones(1, 1, 4, 4, dtype=torch.bool)
    valid[..., :2, :] = False
    assert output_space_loss([s], [t], valid, scales=(1, 2)).item() == pytest.approx(0.0)
    with pytest.raises(ValueError):
        output_space_loss([s], [t, t])


def test_affinity_rows_sum_to_one_and_width_independent() -> None:
    f = torch.randn(2, 5, 12, 10)
    a = affinity_matrix(f, pool=4, temperature=0.1)
    assert a.shape == (2, 16, 16)
    torch.testing.assert_close(a.sum(-1), torch.ones(2, 16))
    # duplicating the channels (width 5 -> 15) leaves the cosine similarities unchanged
    a_wide = affinity_matrix(torch.cat([f, f, f], dim=1), pool=4, temperature=0.1)
    torch.testing.assert_close(a_wide, a)
    # the pooled size never exceeds the map: 3x2 map -> 6x6 matrix
    assert affinity_matrix(torch.randn(1, 3, 3, 2), pool=32).shape == (1, 6, 6)
    with pytest.raises(UserError, match="temperature"):
        affinity_matrix(f, temperature=0.0)


def test_affinity_matrix_shape_at_default_pool_and_gradient() -> None:
    """p = 32 (A.3's default) on a larger map gives a (B, 1024, 1024) matrix, and the matrix
    passes a gradient back to the features (the student learns through it)."""
    f = torch.randn(1, 4, 40, 48, requires_grad=True)
    a = affinity_matrix(f)
    assert a.shape == (1, 1024, 1024)
    (a * torch.randn_like(a)).sum().backward()
    assert f.grad is not None and f.grad.abs().sum() > 0


def test_affinity_matrix_hand_value() -> None:
    # two pooled positions with orthogonal unit features: logits [[1, 0], [0, 1]] / T
    f = torch.tensor([[[[1.0, 0.0]], [[0.0, 1.0]]]])  # (1, 2 channels, 1, 2)
    t = 0.5
    a = affinity_matrix(f, pool=32, temperature=t)
    p = torch.exp(torch.tensor(1.0 / t)) / (torch.exp(torch.tensor(1.0 / t)) + 1.0)
    torch.testing.assert_close(a[0], torch.tensor([[p, 1 - p], [1 - p, p]]))


def test_affinity_loss_values_and_teacher_detached() -> None:
    a_s = torch.tensor([[[0.5, 0.5], [1.0, 0.0]]], requires_grad=True)
    a_t = torch.tensor([[[1.0, 0.0], [1.0, 0.0]]], requires_grad=True)
    l1 = affinity_loss(a_s, a_t, "l1")
    assert l1.item() == pytest.approx((0.5 + 0.5 + 0 + 0) / 4)  # A.3: mean over all entries
    row = affinity_loss(a_s, a_t, "l1_row")
    assert row.item() == pytest.approx((1.0 + 0.0) / 2)  # row L1 distances 1 and 0, mean over rows
    assert row.item() == pytest.approx(2 * l1.item())  # n = 2 times the entry mean
    l1.backward()
    assert a_t.grad is None and a_s.grad is not None
    for kind in ("l1_row", "kl"):  # every form trains the student only
        s_ = a_s.detach().clamp_min(1e-3).requires_grad_()
        t_ = a_t.detach().clamp_min(1e-3).requires_grad_()
        affinity_loss(s_, t_, kind).backward()
        assert t_.grad is None and s_.grad is not None and s_.grad.abs().sum() > 0, kind
    kl = affinity_loss(a_s.detach(), a_t.detach(), "kl")
    assert kl.item() == pytest.approx(torch.log(torch.tensor(2.0)).item() / 2, rel=1e-5)
    same = torch.softmax(torch.randn(1, 4, 4), -1)
    assert affinity_loss(same, same, "kl").item() == pytest.approx(0.0, abs=1e-6)
    assert affinity_loss(same, same, "l1").item() == 0.0
    assert affinity_loss(same, same, "l1_row").item() == 0.0
    with pytest.raises(UserError, match="affinity_loss"):
        affinity_loss(same, same, "l2")


def test_teacher_selection_switches_when_errors_cross() -> None:
    sel = TeacherSelector(mode="error", warmup_rounds=1)
    assert not sel.distill  # warm-up round
    sel.update(0.5, 0.2)
    sel.update(0.3, 0.2)  # round means: e_dsr 0.4 > e_de 0.2
    rec = sel.end_round()
    assert rec["e_dsr"] == pytest.approx(0.4) and rec["e_de"] == pytest.approx(0.2)
    assert sel.teacher == "de" and sel.student == "dsr" and sel.distill
    sel.update(0.1, 0.15)  # errors cross: DSRNet better
    sel.end_round()
    assert sel.teacher == "dsr"
    # an exact tie (every value below is a binary fraction): weighted e_dsr = (0 * 3 + 1 * 1) / 4
    # = 0.25 = e_de; A.3 makes DSRNet the teacher only if e_dsr < e_de, so DENet takes over
    sel.update(0.0, 0.25, weight=3.0)
    sel.update(1.0, 0.25, weight=1.0)
    rec = sel.end_round()
    assert rec["e_dsr"] == rec["e_de"] == 0.25 and sel.teacher == "de"
    sel.update(0.1, 0.15)
    sel.end_round()
    sel.end_round()  # an empty round keeps the teacher
    assert sel.teacher == "dsr" and len(sel.history) == 5
    restored = TeacherSelector()
    restored.load_state_dict(sel.state_dict())
    assert (restored.teacher, restored.rounds_done) == ("dsr", 5)


def test_teacher_selection_by_improvement() -> None:
    """``improvement``: the larger relative drop of the round error teaches, even when that
    network's error is still the higher one; the first round uses A.3's error rule."""
    sel = TeacherSelector(mode="improvement", warmup_rounds=1)
    sel.update(0.02, 0.4)
    sel.end_round()  # no previous round: error rule, DSRNet (0.02 < 0.4)
    assert sel.teacher == "dsr"
    sel.update(0.019, 0.3)  # drops: DSRNet 5%, DENet 25% -> DENet teaches despite 0.3 > 0.019
    rec = sel.end_round()
    assert sel.teacher == "de" and rec["teacher"] == "de"
    sel.update(0.0095, 0.285)  # drops: DSRNet 50%, DENet 5%
    sel.end_round()
    assert sel.teacher == "dsr"
    sel.update(0.0095, 0.285)  # no change for either: a tie keeps the teacher
    sel.end_round()
    assert sel.teacher == "dsr"
    sel.update(0.02, 0.3)  # both worse; DENet less so (-5.3% vs -110.5%)
    sel.end_round()
    assert sel.teacher == "de"
    sel.end_round()  # an empty round keeps the teacher
    sel.update(0.01, 0.1)  # the previous round is empty (NaN errors): both drops count as 0
    sel.end_round()
    assert sel.teacher == "de"
    restored = TeacherSelector(mode="improvement")
    restored.load_state_dict(sel.state_dict())
    restored.update(0.005, 0.1)  # resumed: the history gives the previous round's errors
    restored.end_round()
    assert restored.teacher == "dsr"


def test_teacher_selection_fixed_modes_and_errors() -> None:
    sel = TeacherSelector(mode="fixed_de", warmup_rounds=0)
    assert sel.distill and sel.teacher == "de"
    sel.update(0.0, 1.0)
    sel.end_round()
    assert sel.teacher == "de"
    sel = TeacherSelector(mode="fixed_dsr", warmup_rounds=2)
    sel.update(1.0, 0.0)
    sel.end_round()
    assert sel.teacher == "dsr" and not sel.distill
    with pytest.raises(UserError, match="teacher_selection"):
        TeacherSelector(mode="best")
    with pytest.raises(UserError, match="warmup"):
        TeacherSelector(warmup_rounds=-1)


def test_sobel_magnitude_of_a_ramp() -> None:
    ramp = torch.arange(6.0).view(1, 1, 1, 6).expand(1, 1, 5, 6) * 0.5  # slope 0.5 along x
    mag = sobel_magnitude(ramp)
    torch.testing.assert_close(mag[..., 1:-1, 1:-1], torch.full((1, 1, 3, 4), 4.0))  # 8 * slope


def test_structure_gt_flat_zero_and_max_one() -> None:
    s, v = structure_gt(torch.full((2, 1, 6, 6), 3.0))
    assert bool((s == 0).all()) and bool(v.all())
    d = torch.ones(1, 1, 8, 8)
    d[..., 4:] = 5.0  # a depth step
    d = d + torch.arange(8.0).view(1, 1, 8, 1) * 0.01  # and a gentle slope
    s, v = structure_gt(d)
    assert s.max().item() == pytest.approx(1.0) and s.min().item() >= 0.0
    assert s[..., 0, 3].item() > 0.9 and s[..., 0, 0].item() < 0.05
    s2, _ = structure_gt(d * 40.0 + 2.0)  # scale-free: any unit gives the same map
    torch.testing.assert_close(s2, s)


def test_structure_gt_unnormalised_switch() -> None:
    ramp = torch.arange(6.0).view(1, 1, 1, 6).expand(1, 1, 5, 6) * 0.05  # Sobel magnitude 0.4
    s, v = structure_gt(ramp, mode="sobel")
    torch.testing.assert_close(s[..., 1:-1, 1:-1], torch.full((1, 1, 3, 4), 0.4))
    s_big, _ = structure_gt(ramp * 10.0, mode="sobel")  # magnitude 4 is clipped to 1
    assert s_big.max().item() == 1.0
    s_max, _ = structure_gt(ramp)  # the default divides by the per-sample maximum
    assert s_max.max().item() == pytest.approx(1.0)
    with pytest.raises(UserError, match="structure_gt"):
        structure_gt(ramp, mode="canny")


def test_structure_gt_ignores_invalid_pixels() -> None:
    d = torch.full((1, 1, 8, 8), 2.0)
    valid = torch.ones_like(d, dtype=torch.bool)
    valid[..., 3, 3] = False
    d[..., 3, 3] = 0.0  # a hole stored as 0 must not become an edge
    s, v = structure_gt(d, valid)
    assert bool((s == 0).all())
    assert not bool(v[..., 2:5, 2:5].any()) and bool(v[..., 6:, 6:].all())


def test_structure_loss() -> None:
    s = torch.full((1, 1, 2, 2), 0.25, requires_grad=True)
    gt = torch.tensor([[[[0.0, 1.0], [0.25, 0.25]]]])
    valid = torch.tensor([[[[True, True], [True, False]]]])
    loss = structure_loss(s, gt, valid)
    assert loss.item() == pytest.approx((0.25 + 0.75 + 0.0) / 3)
    loss.backward()  # d/ds mean |s - gt| = sign(s - gt) / 3 on the valid pixels, 0 elsewhere
    torch.testing.assert_close(s.grad, torch.tensor([[[[1.0, -1.0], [0.0, 0.0]]]]) / 3)
