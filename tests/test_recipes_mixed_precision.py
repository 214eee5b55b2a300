"""Both recipes under what the CUDA path of the engine does (bf16 autocast, channels-last
networks and inputs), run here with CPU autocast so that dtype or memory-format mistakes in the
recipes show up without a GPU: every loss stays finite, every trainable network gets a finite
gradient, and the loss is within bf16 rounding of the fp32 one."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import default_collate

from depthduet.config import load_config
from depthduet.data.degrade import DepthSRPairs
from depthduet.recipes.ctkt import CTKTConfig, CTKTRecipe, _RGBFlag
from depthduet.recipes.mutual import MutualConfig, MutualRecipe
from test_mutual import _batch as _mde_batch
from test_recipe_ctkt import TINY, _Scenes


def _channels_last(batch: dict) -> dict:
    return {
        k: v.contiguous(memory_format=torch.channels_last)
        if torch.is_tensor(v) and v.ndim == 4 and v.is_floating_point()
        else v
        for k, v in batch.items()
    }


def _step(recipe, batch: dict, bf16: bool, state: dict) -> tuple[float, dict[str, list]]:
    for m in recipe.networks.values():
        m.zero_grad(set_to_none=True)
    torch.manual_seed(1)  # the same augmentation draws in both precisions
    ctx = (
        torch.autocast("cpu", dtype=torch.bfloat16)
        if bf16
        else torch.autocast("cpu", enabled=False)
    )
    with ctx:
        out = recipe.training_step(batch, state)
    loss = out["loss"]
    assert loss.dtype == torch.float32 or bf16
    loss.float().backward()
    grads = {
        n: [p.grad for p in m.parameters() if p.requires_grad] for n, m in recipe.networks.items()
    }
    return float(loss.detach()), grads


def _check(recipe, batch: dict, state: dict, rel: float) -> None:
    for m in recipe.networks.values():
        m.to(memory_format=torch.channels_last)
    batch = _channels_last(batch)
    ref, _ = _step(recipe, batch, False, dict(state))
    got, grads = _step(recipe, batch, True, dict(state))
    assert torch.isfinite(torch.tensor(got))
    assert got == pytest.approx(ref, rel=rel)
    assert got != ref  # autocast did run the convolutions in bf16
    for name, gs in grads.items():
        present = [g for g in gs if g is not None]
        assert present, f"{name}: no gradient under bf16"
        assert all(torch.isfinite(g).all() for g in present), f"{name}: non-finite gradient"
        assert all(g.dtype == torch.float32 for g in present), f"{name}: gradient not fp32"


@pytest.mark.parametrize("target", ["normalized", "data"])
def test_ctkt_full_method_under_bf16_channels_last(target: str) -> None:
    torch.manual_seed(0)
    cfg = load_config(CTKTConfig, None, [*TINY, f"distill.de_target={target}"])
    r = CTKTRecipe.from_config(cfg)
    r.selector.rounds_done = 1  # distillation on: every term of METHOD.md A.5 runs
    ds = _RGBFlag(DepthSRPairs(_Scenes(4), 4, crop=16))
    batch = default_collate([ds[i] for i in range(4)])
    _check(r, batch, {"epoch": 1, "step": 40, "round": 1}, rel=0.05)


def test_mutual_full_method_under_bf16_channels_last() -> None:
    torch.manual_seed(0)
    r = MutualRecipe(load_config(MutualConfig, overrides=[]))
    state = {"step": 10_000}  # past every warm-up
    _check(r, _mde_batch(), state, rel=0.08)
