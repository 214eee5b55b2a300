"""METHOD A under two-process DistributedDataParallel on CPU (gloo): the round errors behind
teacher selection are averaged over processes, and a short ``ctkt`` run keeps both ranks'
networks and teacher histories identical (METHOD.md A.3)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

pytestmark = [
    pytest.mark.slow,  # two torch processes each: ~10-20 s on an idle 2-core machine
    pytest.mark.skipif(
        not dist.is_available() or not dist.is_gloo_available(),
        reason="torch.distributed with gloo not available",
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _join(rank: int, port: int) -> None:
    os.environ.update(
        RANK=str(rank),
        WORLD_SIZE="2",
        LOCAL_RANK=str(rank),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        DEPTHDUET_DIST_TIMEOUT="120",  # a lost peer fails the test instead of hanging it
    )
    torch.set_num_threads(1)


def _reduce_worker(rank: int, port: int, res: str) -> None:
    _join(rank, port)
    from depthduet.engine.distributed import _timeout, all_reduce_mean
    from depthduet.recipes.ctkt import TeacherSelector

    dist.init_process_group("gloo", rank=rank, world_size=2, timeout=_timeout())
    try:
        sel = TeacherSelector(warmup_rounds=0)
        # rank 0's shard favours DSRNet a little, rank 1's favours DENet a lot
        sel.update(*((0.10, 0.20) if rank == 0 else (0.90, 0.10)))
        sel.reduce(all_reduce_mean)
        rec = sel.end_round()
        torch.save(
            {"mean_rank": all_reduce_mean(float(rank)), "teacher": sel.teacher, "rec": rec},
            Path(res) / f"{rank}.pt",
        )
    finally:
        dist.destroy_process_group()


def test_round_errors_are_averaged_over_processes(tmp_path: Path) -> None:
    """Each rank alone would pick a different teacher; the averaged errors (e_dsr 0.5, e_de
    0.15) make DENet the teacher on both."""
    mp.spawn(_reduce_worker, args=(_free_port(), str(tmp_path)), nprocs=2, join=True)
    r0, r1 = (torch.load(tmp_path / f"{i}.pt", weights_only=False) for i in (0, 1))
    assert r0["mean_rank"] == r1["mean_rank"] == 0.5
    assert r0["rec"]["e_dsr"] == pytest.approx(0.5) and r0["rec"]["e_de"] == pytest.approx(0.15)
    assert r0["teacher"] == r1["teacher"] == "de"


def _ctkt_worker(rank: int, port: int, out: str, res: str) -> None:
    _join(rank, port)
    from depthduet.config import load_config
    from depthduet.data.degrade import DepthSRPairs
    from depthduet.engine.distributed import cleanup_distributed
    from depthduet.engine.trainer import Trainer
    from depthduet.recipes.ctkt import CTKTConfig, CTKTRecipe, _RGBFlag
    from test_recipe_ctkt import TINY, _Scenes

    cfg = load_config(
        CTKTConfig,
        None,
        [
            *TINY,
            "engine.batch_size=2",
            "engine.epochs=2",
            "engine.device=cpu",
            f"engine.out_dir={out}",
            "engine.tensorboard=false",
            "engine.progress=false",
        ],
    )
    torch.manual_seed(rank)  # different starts: DDP must broadcast rank 0's weights
    recipe = CTKTRecipe.from_config(cfg)
    train = _RGBFlag(DepthSRPairs(_Scenes(8), 4, crop=16))
    val = _RGBFlag(DepthSRPairs(_Scenes(4), 4, crop=None, train=False))
    try:
        summary = Trainer(recipe, train, val, config=cfg).fit()
        torch.save(
            {
                "weights": {n: m.state_dict() for n, m in recipe.networks.items()},
                "history": recipe.selector.history,
                "steps": summary["steps"],
            },
            Path(res) / f"{rank}.pt",
        )
    finally:
        cleanup_distributed()


def test_ctkt_two_process_gloo(tmp_path: Path) -> None:
    res = tmp_path / "res"
    res.mkdir()
    mp.spawn(
        _ctkt_worker, args=(_free_port(), str(tmp_path / "run"), str(res)), nprocs=2, join=True
    )
    r0, r1 = (torch.load(res / f"{i}.pt", weights_only=False) for i in (0, 1))
    assert r0["steps"] == r1["steps"] == 4  # 8 samples / (2 ranks x batch 2), 2 epochs
    assert r0["history"] == r1["history"] and len(r0["history"]) == 2
    for name, weights in r0["weights"].items():  # all five networks stay in step
        for k, v in weights.items():
            assert torch.equal(v, r1["weights"][name][k]), f"{name}.{k}"
    rounds = (tmp_path / "run" / "rounds.csv").read_text().splitlines()[1:]
    # a start and an end row per round, written once (by rank 0)
    assert [r.split(",")[:2] for r in rounds] == [
        ["0", "start"],
        ["0", "end"],
        ["1", "start"],
        ["1", "end"],
    ]
