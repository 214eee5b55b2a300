"""Two-process DistributedDataParallel training on CPU (gloo), with the dummy recipe."""

from __future__ import annotations

import csv
import os
import socket
import weakref
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, out: str, res: str, local_stats: bool) -> None:
    os.environ.update(
        RANK=str(rank),
        WORLD_SIZE=str(world),
        LOCAL_RANK=str(rank),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        DEPTHDUET_DIST_TIMEOUT="120",  # a lost peer fails the test instead of hanging it
    )
    torch.set_num_threads(1)
    from _engine_dummy import DummyRecipe, make

    class LocalStats(DummyRecipe):
        """Keeps per-process round statistics in its state (no reduce_mean)."""

        def state_dict(self):
            return {**super().state_dict(), "rank_err": self.err_log}

        def on_round_end(self, state):
            self.err_log = self.err["a"]
            return super().on_round_end(state)

    class Recording(LocalStats if local_stats else DummyRecipe):
        """Records what trained network b, and holds weak references to the DDP wrappers."""

        wrapper_refs: list = []

        def set_wrapped(self, wrapped):
            super().set_wrapped(wrapped)
            self.wrapper_refs = self.wrapper_refs + [weakref.ref(m) for m in wrapped.values()]

        def training_step(self, batch, state):
            self.wrapped_type = type(self.net("b")).__name__
            return super().training_step(batch, state)

    from depthduet.engine.distributed import cleanup_distributed
    from depthduet.engine.trainer import Trainer

    cfg, recipe, train, val = make(Path(out), Recording, epochs=2, batch_size=3, num_workers=0)
    if rank == 1:  # a different start on rank 1: DDP must broadcast rank 0's weights
        with torch.no_grad():
            for m in recipe.networks.values():
                for p in m.parameters():
                    p.add_(1.0)
    try:
        summary = Trainer(recipe, train, val, config=cfg).fit()
        torch.save(
            {
                "weights": {n: m.state_dict() for n, m in recipe.networks.items()},
                "seen": recipe.seen,
                "history": recipe.history,
                "summary": summary,
                "wrapped": recipe.wrapped_type,
                "group": dist.is_initialized() and dist.get_world_size(),
                # fit() let go of every DDP wrapper while the group was still joined: a wrapper
                # outliving destroy_process_group can deadlock the process at exit
                "wrappers": len(recipe.wrapper_refs),
                "released": [r() is None for r in recipe.wrapper_refs],
                "unwrapped_after": type(recipe.net("b")).__name__,
            },
            Path(res) / f"rank{rank}.pt",
        )
    finally:
        cleanup_distributed()


@pytest.mark.slow  # ~10 s idle, 30+ s on a loaded 2-core machine (two torch imports)
def test_two_process_gloo_ddp(tmp_path):
    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("torch.distributed with gloo not available")
    out, res = tmp_path / "run", tmp_path / "res"
    res.mkdir()
    mp.spawn(_worker, args=(2, _free_port(), str(out), str(res), False), nprocs=2, join=True)
    r0, r1 = (torch.load(res / f"rank{i}.pt", weights_only=False) for i in (0, 1))
    assert r0["wrapped"] == "RoutedDDP" and r0["group"] == 2
    for r in (r0, r1):
        assert r["wrappers"] > 0 and all(r["released"]) and r["unwrapped_after"] == "MLP"
    # identical weights on both ranks (gradients synchronised, including forward_features)
    for name in r0["weights"]:
        for k, v in r0["weights"][name].items():
            assert torch.equal(v, r1["weights"][name][k]), f"{name}.{k}"
    # DistributedSampler: each epoch, the ranks see disjoint halves covering the dataset
    for e in range(2):
        a = r0["seen"][12 * e : 12 * (e + 1)]
        b = r1["seen"][12 * e : 12 * (e + 1)]
        assert len(a) == len(b) == 12 and not set(a) & set(b)
        assert sorted(a + b) == list(range(24))
    assert r0["seen"][:12] != r0["seen"][12:]  # reshuffled per epoch
    # round decisions use statistics averaged over ranks -> the same teacher everywhere
    assert r0["history"] == r1["history"] and len(r0["history"]) == 2
    s = r0["summary"]
    assert s["world_size"] == 2 and s["steps"] == 8 and s["samples"] == 48
    # rank 0 wrote the checkpoint; it holds the common weights
    from depthduet.engine.checkpoint import load_checkpoint

    _, w = load_checkpoint(out, prefer="last")
    assert torch.equal(w["a"]["weight"], r0["weights"]["a"]["weight"])
    # validation is averaged over all 8 samples across both shards
    from _engine_dummy import DummyConfig, DummyRecipe

    cfg = DummyConfig()
    net = DummyRecipe(cfg).networks["a"]
    net.load_state_dict(w["a"])
    _, val = DummyRecipe.build_datasets(cfg)
    x = torch.stack([val[i]["x"] for i in range(len(val))])
    y = torch.stack([val[i]["y"] for i in range(len(val))])
    with torch.no_grad():
        expected = float(((net(x) - y) ** 2).mean())
    with open(out / "val.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert float(rows[-1]["mse"]) == pytest.approx(expected, rel=1e-6)
    assert "state differs between processes" not in (out / "train.log").read_text()


@pytest.mark.slow
def test_ddp_warns_when_recipe_state_diverges(tmp_path):
    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("torch.distributed with gloo not available")
    out, res = tmp_path / "run", tmp_path / "res"
    res.mkdir()
    mp.spawn(_worker, args=(2, _free_port(), str(out), str(res), True), nprocs=2, join=True)
    log = (out / "train.log").read_text()
    assert log.count("state differs between processes after round 0") == 1
    assert log.count("state differs between processes") == 1  # warned once


def test_routed_ddp_calls_methods_through_ddp(tmp_path):
    """World size 1 in this process: methods other than forward run through DDP's forward
    (so gradient hooks fire), attributes and plain values pass through to the network."""
    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("torch.distributed with gloo not available")
    if dist.is_initialized():
        pytest.skip("a process group is already initialised")
    from _engine_dummy import MLP
    from depthduet.engine.distributed import (
        RoutedDDP,
        all_gather_objects,
        all_reduce_mean,
        cleanup_distributed,
        wrap_ddp,
    )

    store = dist.FileStore(str(tmp_path / "store"), 1)
    dist.init_process_group("gloo", store=store, rank=0, world_size=1)
    try:
        net = MLP(4)
        net.scale = 3  # a plain attribute
        ddp = wrap_ddp(net, torch.device("cpu"))
        assert isinstance(ddp, RoutedDDP)
        calls = []
        ddp.register_forward_pre_hook(
            lambda mod, args, kwargs: calls.append(kwargs), with_kwargs=True
        )
        x = torch.randn(5, 3)
        out, feat = ddp.forward_features(x)
        assert calls == [{"_method": "forward_features"}]  # went through DDP.__call__
        ref_out, ref_feat = net.forward_features(x)
        assert torch.equal(out, ref_out) and torch.equal(feat, ref_feat)
        out.sum().backward()
        assert net.head.weight.grad is not None
        assert torch.equal(ddp(x), net(x)) and len(calls) == 2
        assert ddp.scale == 3 and ddp.head is net.head
        with pytest.raises(AttributeError):
            _ = ddp.no_such_thing
        # helpers are identities for one process
        assert all_reduce_mean(2.5) == 2.5 and all_gather_objects({"a": 1}) == [{"a": 1}]
    finally:
        cleanup_distributed()
