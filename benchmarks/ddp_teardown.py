"""Stress test of distributed teardown (docs/DEVELOPING.md, "Distributed teardown").

Two local processes repeat, ``--rounds`` times: join a gloo group, wrap a tiny network
with :func:`depthduet.engine.distributed.wrap_ddp`, take one training step, run the engine's
collectives (``all_reduce_mean``, ``all_gather_objects``, ``barrier``), then leave the group.
``--order wrapper-first`` drops the DDP wrapper before ``cleanup_distributed`` (what
``Trainer.fit`` does); ``--order group-first`` drops it after, the order that deadlocked
(gloo's destructor joining its worker threads while holding the GIL). A round that takes
longer than ``--stall`` seconds counts as a hang: both processes are killed and the round
number is reported. Load the CPU (e.g. two other torch jobs) to make the race likely.

Usage: ``python benchmarks/ddp_teardown.py --rounds 200 --order group-first``
Exit code 0 when every round finished, 1 on a hang.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _worker(rank: int, rounds: int, order: str, folder: Path) -> None:
    import torch
    import torch.distributed as dist
    from torch import nn

    from depthduet.engine import distributed as D

    torch.set_num_threads(1)
    progress = folder / f"round{rank}"
    for i in range(rounds):
        progress.write_text(str(i))
        store = dist.FileStore(str(folder / f"store{i}"), 2)
        dist.init_process_group("gloo", store=store, rank=rank, world_size=2)
        model = D.wrap_ddp(nn.Linear(4, 2), torch.device("cpu"))
        model(torch.randn(3, 4)).sum().backward()
        D.all_reduce_mean(1.0)
        D.all_gather_objects({"rank": rank, "round": i})
        D.barrier()
        if order == "wrapper-first":
            del model
            gc.collect()
            D.cleanup_distributed()
        else:
            D.cleanup_distributed()
            del model
        del store
    progress.write_text(str(rounds))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=200)
    p.add_argument("--order", choices=("wrapper-first", "group-first"), default="wrapper-first")
    p.add_argument("--stall", type=float, default=15.0, help="seconds without progress = hang")
    p.add_argument("--_rank", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--_folder", default=None, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a._rank is not None:
        _worker(a._rank, a.rounds, a.order, Path(a._folder))
        return 0
    with tempfile.TemporaryDirectory(prefix="ddp_teardown_") as tmp:
        folder = Path(tmp)
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        cmd = [sys.executable, __file__, f"--rounds={a.rounds}", f"--order={a.order}"]
        procs = [
            subprocess.Popen([*cmd, f"--_rank={r}", f"--_folder={folder}"], env=env) for r in (0, 1)
        ]
        t0, last, seen = time.monotonic(), time.monotonic(), ""
        while any(pr.poll() is None for pr in procs):
            time.sleep(0.5)
            now = "/".join(
                (folder / f"round{r}").read_text() if (folder / f"round{r}").exists() else "-"
                for r in (0, 1)
            )
            if now != seen:
                seen, last = now, time.monotonic()
            elif time.monotonic() - last > a.stall:
                for pr in procs:
                    pr.kill()
                print(f"order {a.order}: HANG in round {seen} (rank0/rank1) of {a.rounds}")
                return 1
        codes = [pr.wait() for pr in procs]
        if any(codes):
            print(f"order {a.order}: a worker failed (exit codes {codes})")
            return 1
        print(f"order {a.order}: {a.rounds} rounds, no hang, {time.monotonic() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
