"""The training loop shared by every recipe (METHOD.md A and B both run through it).

:class:`Trainer` takes a :class:`~depthduet.engine.recipe.Recipe` (named networks, optimisers,
schedulers, a step function) and datasets, and does everything that is not the method:

* seeds (python, numpy, torch; per-worker seeds through ``worker_init_fn`` + a loader generator
  re-seeded from ``seed``/epoch/rank each epoch), deterministic epoch-seeded shuffling;
* devices: CPU single process; CUDA with bf16 autocast and channels-last; several processes
  under ``torchrun`` with DistributedDataParallel (each network with trainable parameters wrapped
  separately; recipes call them through ``recipe.net(name)``);
* the step: zero all optimisers, autocast forward (``recipe.training_step``), backward, gradient
  clipping per optimiser (``engine.grad_clip``), step all optimisers;
* rounds: one per epoch, or every ``engine.round_every`` steps; ``on_round_start/end`` results go
  to ``rounds.csv``, ``train.log`` and TensorBoard;
* validation every ``engine.val_every`` epochs (metrics averaged over samples and processes),
  best-checkpoint tracking on ``recipe.monitor``;
* logs: tqdm bar with running losses, ``train.csv``, ``val.csv``, ``rounds.csv``, ``train.log``,
  optional TensorBoard; ``config.yaml``; ``summary.json``;
* checkpoints (``checkpoints/last`` and ``checkpoints/best``, see :mod:`.checkpoint`) and resume
  at epoch boundaries with bitwise-identical results to an uninterrupted run (same device, same
  number of processes).

Numbering: ``epoch`` and ``round`` are 0-based in the loop state, CSV files, ``state.pt`` and
``model.json``; ``step`` counts optimiser steps done so far (the first step is logged as 1).
Human-readable log lines say "epoch 1/N".
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import json
import math
import random
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler, IterableDataset, Sampler

from depthduet.config import to_dict
from depthduet.engine import checkpoint as ckpt
from depthduet.engine.config import EngineConfig
from depthduet.engine.distributed import (
    all_gather_objects,
    barrier,
    dist_info,
    init_distributed,
    resolve_device,
    wrap_ddp,
)
from depthduet.engine.logs import RunLog
from depthduet.engine.recipe import Recipe
from depthduet.errors import UserError
from depthduet.paths import first_missing_parent

__all__ = [
    "Trainer",
    "ShardSampler",
    "get_rng_state",
    "loader_seed",
    "seed_everything",
    "seed_worker",
    "set_rng_state",
]

#: keys of the loop state the engine owns (everything else a recipe put there is checkpointed)
_ENGINE_KEYS = ("epoch", "step", "epoch_step", "round", "rank", "world_size")


# ----------------------------------------------------------------------------- seeding
def seed_everything(seed: int) -> None:
    """Seed python's ``random``, numpy's global generator and torch (CPU and all GPUs)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def loader_seed(seed: int, epoch: int, rank: int = 0) -> int:
    """The seed of the loader generator for one epoch on one process (a fixed mixing of the
    three numbers; worker ``i`` then gets torch seed ``base + i`` from the DataLoader)."""
    return (seed * 1_000_003 + epoch * 10_007 + rank * 101 + 12_345) % (2**63 - 1)


def seed_worker(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: seed python and numpy from the worker's torch seed (which
    the DataLoader derives from the loader generator), so augmentations that use ``random`` or
    ``numpy.random`` are reproducible too."""
    s = torch.initial_seed() % 2**32
    random.seed(s)
    np.random.seed(s)


def get_rng_state() -> dict[str, Any]:
    """The global RNG states (python, numpy, torch CPU, CUDA) as plain types / tensors, so that
    ``torch.load(weights_only=True)`` accepts them."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "python": random.getstate(),
        "numpy": [
            str(name),
            torch.from_numpy(keys.astype(np.int64)),
            int(pos),
            int(has_gauss),
            float(cached),
        ],
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`get_rng_state` returned."""
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# ----------------------------------------------------------------------------- data
class ShardSampler(Sampler[int]):
    """Indices ``rank, rank + world, ...`` in order, without padding (validation under DDP:
    every sample is seen exactly once over all processes).

    Args:
        n: dataset length.
        rank: this process's rank.
        world_size: number of processes.
    """

    def __init__(self, n: int, rank: int = 0, world_size: int = 1) -> None:
        self.indices = list(range(rank, n, world_size))

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


def _to_device(x: Any, device: torch.device, channels_last: bool) -> Any:
    if isinstance(x, torch.Tensor):
        x = x.to(device, non_blocking=device.type == "cuda")
        if channels_last and x.ndim == 4 and x.is_floating_point():
            x = x.contiguous(memory_format=torch.channels_last)
        return x
    if isinstance(x, dict):
        return {k: _to_device(v, device, channels_last) for k, v in x.items()}
    if isinstance(x, list):
        return [_to_device(v, device, channels_last) for v in x]
    if isinstance(x, tuple):
        return tuple(_to_device(v, device, channels_last) for v in x)
    return x


def _batch_size(batch: Any, default: int) -> int:
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0]) if batch.ndim else default
    if isinstance(batch, dict):
        batch = list(batch.values())
    if isinstance(batch, list | tuple):
        for v in batch:
            if isinstance(v, torch.Tensor) and v.ndim > 0:
                return int(v.shape[0])
    return default


def _plain(v: Any) -> Any:
    """A loggable python value (floats for numbers and 1-element tensors, else str)."""
    if isinstance(v, torch.Tensor):
        return float(v.detach().float().item()) if v.numel() == 1 else str(v.tolist())
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int | float):
        return float(v) if isinstance(v, float) else v
    return str(v)


def _scalars(values: dict[str, Any]) -> dict[str, Any]:
    """:func:`_plain` of every entry, with all one-element tensors copied to the host in one
    transfer (one device synchronisation per step instead of one per logged value)."""
    keys = [k for k, v in values.items() if isinstance(v, torch.Tensor) and v.numel() == 1]
    out = {k: _plain(v) for k, v in values.items() if k not in keys}
    by_device: dict[torch.device, list[str]] = {}
    for k in keys:
        by_device.setdefault(values[k].device, []).append(k)
    for group in by_device.values():
        stacked = torch.stack([values[k].detach().float().reshape(()) for k in group])
        out.update(zip(group, stacked.cpu().tolist()))
    return {k: out[k] for k in values}


def _digest(obj: Any) -> str:
    """A hash of nested python values and tensors (equal values -> equal digests)."""

    def plain(v: Any) -> Any:
        if isinstance(v, torch.Tensor):
            return ("tensor", str(v.dtype), tuple(v.shape), v.detach().cpu().flatten().tolist())
        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in sorted(v.items(), key=lambda kv: str(kv[0]))}
        if isinstance(v, list | tuple):
            return [plain(x) for x in v]
        return v

    return hashlib.sha1(repr(plain(obj)).encode()).hexdigest()


def _fmt(values: dict[str, Any]) -> str:
    parts = []
    for k, v in values.items():
        parts.append(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}")
    return " ".join(parts)


# ----------------------------------------------------------------------------- trainer
class Trainer:
    """Runs a recipe: epochs, rounds, validation, logs, checkpoints, resume.

    Args:
        recipe: the method (networks, optimisers, schedulers, steps).
        train_set: map-style dataset of sample dicts (docs/DEVELOPING.md).
        val_set: optional validation dataset.
        cfg: engine settings; default ``config.engine`` (or :class:`EngineConfig` defaults).
        config: the whole resolved recipe configuration (a dataclass or dict); written to
            ``config.yaml`` and into every checkpoint (``model.json`` + safetensors metadata).

    Example::

        cfg = load_config(Recipe.config_class, "configs/dsr/world_x4.yaml")
        train, val = Recipe.build_datasets(cfg)
        summary = Trainer(Recipe.from_config(cfg), train, val, config=cfg).fit()
    """

    def __init__(
        self,
        recipe: Recipe,
        train_set: Dataset,
        val_set: Dataset | None = None,
        cfg: EngineConfig | None = None,
        *,
        config: Any = None,
    ) -> None:
        if cfg is None:
            cfg = getattr(config, "engine", None) or EngineConfig()
        if not isinstance(cfg, EngineConfig):
            raise TypeError(f"cfg: expected EngineConfig, got {type(cfg).__name__}")
        cfg.validate()
        if isinstance(train_set, IterableDataset) or not hasattr(train_set, "__len__"):
            raise UserError("training dataset: must be a map-style dataset with a length")
        if not recipe.networks:
            raise ValueError(f"recipe {recipe.name!r}: has no networks")
        if recipe.scheduler_interval not in ("epoch", "step"):
            raise ValueError(
                f"recipe {recipe.name!r}: scheduler_interval must be 'epoch' or 'step'"
            )
        self.recipe = recipe
        self.train_set = train_set
        self.val_set = val_set
        self.cfg = cfg
        self.out_dir = Path(cfg.out_dir)
        self.device = resolve_device(cfg.device, dist_info().local_rank)
        self.dist = init_distributed(cfg.dist_backend, self.device)
        self.config_dict = self._config_dict(config)
        self.use_bf16 = cfg.precision == "bf16" and self.device.type == "cuda"
        self.channels_last = bool(cfg.channels_last)
        #: the loop state handed to the recipe (``epoch``, ``step``, ``round`` ...)
        self.state: dict[str, Any] = {
            "epoch": 0,
            "step": 0,
            "epoch_step": 0,
            "round": 0,
            "rank": self.dist.rank,
            "world_size": self.dist.world_size,
        }
        self.round_open = False
        self.best_value: float | None = None
        self.best_epoch: int | None = None
        self.last_val: dict[str, float] = {}
        self.log = RunLog(self.out_dir, enabled=False)
        self._samples = 0
        self._train_time = 0.0
        self._ddp: dict[str, nn.Module] = {}
        self._warned_state = False
        self.start_epoch = 0

    # -- setup ----------------------------------------------------------------
    def _config_dict(self, config: Any) -> dict[str, Any]:
        if config is None:
            d: dict[str, Any] = {"recipe": self.recipe.name, "engine": to_dict(self.cfg)}
        elif dataclasses.is_dataclass(config):
            d = to_dict(config)
        elif isinstance(config, dict):
            d = dict(config)
        else:
            raise TypeError(f"config: expected a dataclass or dict, got {type(config).__name__}")
        d.setdefault("recipe", self.recipe.name)
        engine = d.get("engine")
        if isinstance(engine, dict) and engine.get("resume"):
            # how this process was started is not part of the run's configuration: re-running
            # config.yaml must not silently resume (the header comment records the resume)
            d["engine"] = {**engine, "resume": ""}
        return d

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.use_bf16:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _resume_dir(self) -> Path | None:
        r = (self.cfg.resume or "").strip()
        if r.lower() in ("", "false", "no", "none"):
            return None
        root = self.out_dir / "checkpoints"
        if r.lower() in ("last", "true", "yes", "auto"):
            for cand in (root / "last", root / "last.old"):
                if (cand / ckpt.STATE_FILE).is_file():
                    return cand
            if r.lower() == "auto":
                return None
            raise UserError(f"engine.resume: no checkpoint to resume in {root / 'last'}")
        d = ckpt.resolve_checkpoint(r, prefer="last")
        if d.is_file() or not (d / ckpt.STATE_FILE).is_file():
            raise UserError(f"engine.resume: {r}: no training state (state.pt) there")
        return d

    #: config sections that a resumed run cannot change: the networks and the optimiser state
    #: continue from the checkpoint, so a new value would be written but not used
    FROZEN_ON_RESUME = ("model", "optim")

    def _check_resume_config(self, d: Path) -> None:
        """Refuse a resume whose configuration changes a :attr:`FROZEN_ON_RESUME` key (other
        changes, e.g. ``engine.epochs``, apply and are recorded in ``config.yaml``)."""
        try:
            old = ckpt.read_model_info(d).get("config") or {}
        except (ckpt.CheckpointError, OSError, ValueError):
            return  # unreadable: the restore reports it
        changed: list[str] = []

        def walk(a: Any, b: Any, key: str) -> None:
            if isinstance(a, dict) and isinstance(b, dict):
                for k in sorted(set(a) | set(b)):
                    walk(a.get(k), b.get(k), f"{key}.{k}")
            elif a != b and a is not None:
                changed.append(f"{key} (checkpoint {a!r}, now {b!r})")

        for section in self.FROZEN_ON_RESUME:
            if isinstance(old.get(section), dict) and isinstance(
                self.config_dict.get(section), dict
            ):
                walk(old[section], self.config_dict[section], section)
        if changed:
            raise UserError(
                f"{d}: cannot change on resume: {'; '.join(changed[:3])}; the networks and "
                "optimiser continue from the checkpoint (start a new run with --out, e.g. from "
                "its weights)"
            )

    def _restore_first(self, first: Path) -> Path:
        """Restore ``first``; when it is the run's own ``last`` and cannot be read (corrupt,
        partial), fall back to ``last.old`` then ``best``, saying which. Returns the folder
        actually restored."""
        root = self.out_dir / "checkpoints"
        cands = [first]
        if first.parent == root and first.name in ("last", "last.old"):
            cands += [c for c in (root / "last.old", root / "best") if c != first]
        errors: list[str] = []
        for i, d in enumerate(cands):
            if i and not (d / ckpt.STATE_FILE).is_file():
                continue
            try:
                self._restore(d)
            except (ckpt.CheckpointError, UserError) as e:
                errors.append(str(e))
                continue
            if errors:
                self.log.info(
                    f"warning: {errors[0]}; resumed from {d} instead (epoch "
                    f"{self.state['epoch'] + 1}, step {self.state['step']})"
                )
            return d
        raise ckpt.CheckpointError(errors[0] if len(errors) == 1 else "; ".join(errors))

    def _prepare_networks(self) -> None:
        for module in self.recipe.networks.values():
            module.to(self.device)
            if self.channels_last:
                module.to(memory_format=torch.channels_last)
        self.recipe.device = self.device
        if not self.dist.distributed:
            self.recipe.set_wrapped({})
            return
        wrapped: dict[str, nn.Module] = {}
        for name, module in self.recipe.networks.items():
            if any(p.requires_grad for p in module.parameters()):
                wrapped[name] = wrap_ddp(module, self.device, self.cfg.find_unused_parameters)
        self._ddp = wrapped
        self.recipe.set_wrapped(wrapped)

    def _release_ddp(self) -> None:
        """Drop the DDP wrappers (the recipe gets its plain networks back) while the process group
        is still joined.

        Why: a DDP wrapper's C++ ``Reducer`` holds a reference to the process group. If it is the
        last one (wrappers outliving ``destroy_process_group``), gloo's destructor joins its
        worker threads while holding the GIL, and a worker that is still destroying a finished
        collective's work object waits for the GIL forever: the run is done but the process
        never exits (about 1 ``torchrun`` run in 10 on a loaded 2-core machine). Released here,
        the group's last reference is torch's own, whose destructor lets go of the GIL.
        """
        if not self._ddp:
            return
        self.recipe.set_wrapped({})
        self._ddp = {}
        gc.collect()  # DDP wrappers can sit in reference cycles

    def _make_loaders(self) -> None:
        cfg, d = self.cfg, self.dist
        pin = self.device.type == "cuda"
        self.train_sampler = DistributedSampler(
            self.train_set,
            num_replicas=d.world_size,
            rank=d.rank,
            shuffle=True,
            seed=cfg.seed,
            drop_last=False,
        )
        self.loader_gen = torch.Generator()
        self.train_loader = DataLoader(
            self.train_set,
            batch_size=cfg.batch_size,
            sampler=self.train_sampler,
            num_workers=cfg.num_workers,
            collate_fn=self.recipe.collate,
            pin_memory=pin,
            drop_last=cfg.drop_last,
            worker_init_fn=seed_worker,
            generator=self.loader_gen,
        )
        if len(self.train_loader) == 0:
            raise UserError(
                f"training set: {len(self.train_set)} sample(s) give no batch of "
                f"engine.batch_size={cfg.batch_size} per process (world size {d.world_size}); "
                "lower batch_size or set engine.drop_last=false"
            )
        self.val_loader = None
        if self.val_set is not None and cfg.val_every > 0:
            if len(self.val_set) == 0:
                raise UserError("validation set: empty (give samples, or set engine.val_every=0)")
            self.val_gen = torch.Generator()
            self.val_loader = DataLoader(
                self.val_set,
                batch_size=cfg.batch_size,
                sampler=ShardSampler(len(self.val_set), d.rank, d.world_size),
                num_workers=cfg.num_workers,
                collate_fn=self.recipe.collate,
                pin_memory=pin,
                drop_last=False,
                worker_init_fn=seed_worker,
                generator=self.val_gen,
            )

    def _write_config(self, resumed_from: Path | None) -> None:
        if not self.dist.is_main:
            return
        header = [
            "# depthduet run configuration (resolved); train again with:",
            f"#   depthduet train --config {self.out_dir / 'config.yaml'}",
            f"# git: {self.git}",
        ]
        header += [f"# {k}: {v}" for k, v in self.versions.items()]
        header.append(f"# processes: {self.dist.world_size}, device: {self.device}")
        if resumed_from is not None:
            header.append(f"# resumed from: {resumed_from}")
        text = "\n".join(header) + "\n" + yaml.safe_dump(self.config_dict, sort_keys=False)
        ckpt.atomic_write_text(self.out_dir / "config.yaml", text)

    # -- checkpoints ------------------------------------------------------------
    def _info(self) -> dict[str, Any]:
        return {
            "recipe": self.recipe.name,
            "inference_networks": list(self.recipe.inference_networks),
            "epoch": self.state["epoch"],
            "step": self.state["step"],
            "metrics": dict(self.last_val),
            "monitor": self.recipe.monitor,
            "git": self.git,
            "versions": self.versions,
            "config": self.config_dict,
        }

    def _training_state(self, rng: list[dict[str, Any]]) -> dict[str, Any]:
        r = self.recipe
        return {
            "format_version": ckpt.FORMAT_VERSION,
            "epoch": self.state["epoch"],
            "step": self.state["step"],
            "round": self.state["round"],
            "round_open": self.round_open,
            "loop_state": {k: v for k, v in self.state.items() if k not in _ENGINE_KEYS},
            "optimizers": {n: o.state_dict() for n, o in r.optimizers.items()},
            "schedulers": {n: s.state_dict() for n, s in r.schedulers.items()},
            "recipe": r.state_dict(),
            "rng": rng,
            "world_size": self.dist.world_size,
            "best": {"value": self.best_value, "epoch": self.best_epoch},
            "git": self.git,
        }

    def save(self, which: str = "last") -> Path:
        """Write ``checkpoints/<which>`` (collective under DDP: every process must call it)."""
        rng = all_gather_objects(get_rng_state())
        path = self.out_dir / "checkpoints" / which
        bad = [
            n
            for n, m in self.recipe.networks.items()
            if not all(
                bool(torch.isfinite(t).all())
                for t in m.state_dict().values()
                if t.is_floating_point()
            )
        ]
        if bad:  # never replace a finite checkpoint by a non-finite one
            msg = (
                f"non-finite weights in {', '.join(bad)} at epoch {self.state['epoch'] + 1}: "
                f"checkpoints/{which} not written; training stopped"
            )
            self.log.info(msg)
            raise NonFiniteError(msg)
        if self.dist.is_main:
            weights = {n: m.state_dict() for n, m in self.recipe.networks.items()}
            ckpt.save_checkpoint(path, weights, self._training_state(rng), self._info())
        barrier()
        return path

    def _restore(self, d: Path) -> None:
        r = self.recipe
        st = ckpt.load_training_state(d)
        for name, module in r.networks.items():
            ckpt.load_network_weights(d, name, module)
        for kind, objs in (("optimizers", r.optimizers), ("schedulers", r.schedulers)):
            saved = st.get(kind, {})
            if set(saved) != set(objs):
                raise ckpt.CheckpointError(
                    f"{d}: {kind} {sorted(saved)} do not match the recipe's {sorted(objs)}"
                )
            for name, obj in objs.items():
                obj.load_state_dict(saved[name])
        r.load_state_dict(st.get("recipe", {}))
        self.state.update(st.get("loop_state", {}))
        self.state["epoch"] = int(st["epoch"])
        self.state["step"] = int(st["step"])
        self.state["round"] = int(st["round"])
        self.round_open = bool(st["round_open"])
        best = st.get("best", {})
        self.best_value, self.best_epoch = best.get("value"), best.get("epoch")
        rng = st.get("rng", [])
        if len(rng) == self.dist.world_size:
            set_rng_state(rng[self.dist.rank])
        else:
            self.log.info(
                f"resume: checkpoint written by {len(rng)} process(es), now "
                f"{self.dist.world_size}: RNG streams re-seeded (results will differ)"
            )
            seed_everything(self.cfg.seed + 7919 * (self.state["epoch"] + 1) + self.dist.rank)
        self.start_epoch = self.state["epoch"] + 1
        self.log.truncate_after(self.state["step"], self.state["epoch"])
        self.log.info(
            f"resumed from {d} (epoch {self.state['epoch'] + 1} done, step {self.state['step']})"
        )

    # -- rounds ----------------------------------------------------------------
    def _round_event(self, event: str) -> None:
        r = self.recipe
        if event == "start":
            out = r.on_round_start(self.state) or {}
            self.round_open = True
        else:
            out = r.on_round_end(self.state) or {}
        values = {k: _plain(v) for k, v in out.items()}
        row = {
            "round": self.state["round"],
            "event": event,
            "epoch": self.state["epoch"],
            "step": self.state["step"],
            **values,
        }
        self.log.row("rounds", row)
        self.log.scalars(f"round_{event}", values, self.state["step"])
        self.log.info(
            f"round {self.state['round']} {event} (epoch {self.state['epoch'] + 1}, "
            f"step {self.state['step']})" + (f": {_fmt(values)}" if values else "")
        )
        if event == "end":
            if self.dist.distributed:
                self._check_recipe_state_agrees()
            self.round_open = False
            self.state["round"] += 1

    def _check_recipe_state_agrees(self) -> None:
        """Under DDP, warn when ``recipe.state_dict()`` differs between processes after a round
        (decisions such as the next teacher should come from :meth:`Recipe.reduce_mean`)."""
        digests = all_gather_objects(_digest(self.recipe.state_dict()))
        if len(set(digests)) > 1 and not self._warned_state:
            self._warned_state = True
            self.log.info(
                f"warning: recipe {self.recipe.name!r} state differs between processes after "
                f"round {self.state['round']}; reduce round statistics with recipe.reduce_mean "
                "so that every process takes the same decisions (only rank 0's state is saved)"
            )

    # -- steps -----------------------------------------------------------------
    def _train_step(self, batch: dict[str, Any]) -> dict[str, Any]:
        r, cfg = self.recipe, self.cfg
        auto = r.automatic_optimization
        if auto:
            for opt in r.optimizers.values():
                opt.zero_grad(set_to_none=True)
        with self._autocast():
            out = r.training_step(batch, self.state)
        if "loss" not in out:
            raise KeyError(f"recipe {r.name!r}: training_step returned no 'loss'")
        loss = out["loss"]
        logged = _scalars(out)
        loss_value = float(logged["loss"])
        logged = {"loss": loss_value, **{k: v for k, v in logged.items() if k != "loss"}}
        if auto:
            if not math.isfinite(loss_value):
                self._nonfinite(f"loss {loss_value}")
                logged["skipped"] = 1.0
                return logged
            if not (torch.is_tensor(loss) and loss.requires_grad):
                raise RuntimeError(f"recipe {r.name!r}: loss does not require grad")
            loss.backward()
            bad = _nonfinite_grad(r.optimizers)
            if bad:
                for opt in r.optimizers.values():
                    opt.zero_grad(set_to_none=True)
                self._nonfinite(f"gradient of {bad}")
                logged["skipped"] = 1.0
                return logged
            if cfg.grad_clip > 0:
                for name, opt in r.optimizers.items():
                    params = [
                        p for g in opt.param_groups for p in g["params"] if p.grad is not None
                    ]
                    if params:
                        norm = torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
                        logged[f"grad_norm/{name}"] = float(norm)
            for opt in r.optimizers.values():
                opt.step()
        if r.scheduler_interval == "step":
            for s in r.schedulers.values():
                s.step()
        return logged

    def _nonfinite(self, what: str) -> None:
        """A step produced a non-finite value: skip it (``engine.skip_nonfinite`` times in all)
        or stop training with one line, in ``train.log`` too. Nothing non-finite is stepped
        into the weights, so the last checkpoint keeps finite weights."""
        where = f"epoch {self.state['epoch'] + 1}, step {self.state['step'] + 1}"
        self._skipped = getattr(self, "_skipped", 0) + 1
        if self._skipped <= self.cfg.skip_nonfinite:
            self.log.info(
                f"warning: non-finite {what} at {where}: step skipped "
                f"({self._skipped} of engine.skip_nonfinite={self.cfg.skip_nonfinite})"
            )
            return
        msg = (
            f"non-finite {what} at {where}: training stopped; the last checkpoint holds the "
            "last finite weights (lower optim.lr, set engine.grad_clip, or allow "
            "engine.skip_nonfinite=N skipped steps, then --resume)"
        )
        self.log.info(msg)
        raise NonFiniteError(msg)

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Run ``recipe.validation_step`` over the validation set (``engine.val_batches`` cap).

        Returns:
            metric -> mean over samples (batch values weighted by batch size) and processes.
        """
        if self.val_loader is None:
            return {}
        r = self.recipe
        r.train(False)
        r.set_wrapped({})  # no DDP collectives in validation: shards may differ in length
        sums: dict[str, list[float]] = {}
        self.val_gen.manual_seed(loader_seed(self.cfg.seed, -1, self.dist.rank))
        try:
            for i, batch in enumerate(self.val_loader):
                if self.cfg.val_batches and i >= self.cfg.val_batches:
                    break
                n = _batch_size(batch, self.cfg.batch_size)
                batch = _to_device(batch, self.device, self.channels_last)
                with self._autocast():
                    metrics = r.validation_step(batch)
                for k, v in metrics.items():
                    acc = sums.setdefault(k, [0.0, 0.0])
                    acc[0] += float(_plain(v)) * n
                    acc[1] += n
        finally:
            r.set_wrapped(self._ddp)
            r.train(True)
        total: dict[str, list[float]] = {}
        for part in all_gather_objects(sums):
            for k, (s, n) in part.items():
                acc = total.setdefault(k, [0.0, 0.0])
                acc[0] += s
                acc[1] += n
        return {k: s / n for k, (s, n) in sorted(total.items()) if n > 0}

    def _improved(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.best_value is None:
            return True
        if self.recipe.monitor_mode == "max":
            return value > self.best_value
        return value < self.best_value

    # -- main loop ---------------------------------------------------------------
    def fit(self) -> dict[str, Any]:
        """Train for ``engine.epochs`` epochs (or ``engine.max_steps`` steps).

        Returns:
            The run summary (also written to ``out_dir/summary.json``): ``best_metric``,
            ``best_epoch``, ``epochs``, ``steps``, ``wall_time_s``, ``samples_per_s`` ...
        """
        cfg, r = self.cfg, self.recipe
        t_start = time.perf_counter()
        # process-wide torch settings for this run, restored when fit() returns
        saved = (
            torch.get_num_threads(),
            torch.are_deterministic_algorithms_enabled(),
            torch.is_deterministic_algorithms_warn_only_enabled(),
            torch.backends.cudnn.benchmark,
        )
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        if cfg.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = not cfg.deterministic
        resume_dir = self._resume_dir()
        if resume_dir is not None:
            self._check_resume_config(resume_dir)
        self.git = ckpt.git_revision()
        self.versions = ckpt.environment_versions()
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise UserError(f"{self.out_dir}: exists and is not a folder (the run folder)")
        # a run folder this call creates is removed again if setting up fails (bad checkpoint
        # or weights): nothing half-written is left behind
        created = first_missing_parent(self.out_dir) if self.dist.is_main else None
        started = setup_failed = False
        self.log = RunLog(
            self.out_dir,
            enabled=self.dist.is_main,
            append=resume_dir is not None,
            tensorboard=cfg.tensorboard,
        )
        try:
            seed_everything(cfg.seed + self.dist.rank)
            self._write_config(resume_dir)
            self._prepare_networks()
            self._make_loaders()
            self.start_epoch = 0
            if resume_dir is not None:
                resume_dir = self._restore_first(resume_dir)
            self.log.open_tensorboard(self.state["step"] + 1 if resume_dir is not None else None)
            if cfg.precision == "bf16" and not self.use_bf16:
                self.log.info("precision bf16 applies to CUDA only: training in fp32 on CPU")
            n_params = sum(p.numel() for m in r.networks.values() for p in m.parameters())
            self.log.info(
                f"recipe {r.name}: networks {', '.join(r.networks)} ({n_params:,} parameters), "
                f"{len(self.train_set)} training samples, device {self.device}, "
                f"{self.dist.world_size} process(es), out {self.out_dir}"
            )
            started = True
            stopped = self._loop()
            summary = self._summary(stopped, resume_dir, time.perf_counter() - t_start)
            if self.dist.is_main:
                ckpt.atomic_write_text(
                    self.out_dir / "summary.json", json.dumps(summary, indent=2) + "\n"
                )
            self.log.info(f"done ({stopped}): {_fmt({k: summary[k] for k in _SUMMARY_SHOWN})}")
            return summary
        except BaseException:
            setup_failed = created is not None and not started
            raise
        finally:
            self._release_ddp()
            self.log.close()
            if setup_failed:
                shutil.rmtree(created, ignore_errors=True)
            torch.set_num_threads(saved[0])
            torch.use_deterministic_algorithms(saved[1], warn_only=saved[2])
            torch.backends.cudnn.benchmark = saved[3]

    def _loop(self) -> str:
        cfg = self.cfg
        max_steps = cfg.max_steps
        if self.start_epoch >= cfg.epochs:
            return "epochs"
        if max_steps and self.state["step"] >= max_steps:
            return "max_steps"
        stopped = "epochs"
        for epoch in range(self.start_epoch, cfg.epochs):
            self.state["epoch"] = epoch
            self.state["epoch_step"] = 0
            last_epoch = epoch == cfg.epochs - 1
            self._run_epoch(epoch)
            if max_steps and self.state["step"] >= max_steps:
                stopped, last_epoch = "max_steps", True
            self._end_epoch(epoch, last_epoch)
            if last_epoch:
                break
        return stopped

    def _run_epoch(self, epoch: int) -> None:
        cfg, r = self.cfg, self.recipe
        self.train_sampler.set_epoch(epoch)
        self.loader_gen.manual_seed(loader_seed(cfg.seed, epoch, self.dist.rank))
        n_batches = len(self.train_loader)
        if cfg.steps_per_epoch:
            n_batches = min(n_batches, cfg.steps_per_epoch)
        if cfg.max_steps:
            n_batches = min(n_batches, cfg.max_steps - self.state["step"])
        r.train(True)
        if not cfg.round_every:
            self._round_event("start")
        from tqdm import tqdm

        bar = tqdm(
            total=n_batches,
            desc=f"epoch {epoch + 1}/{cfg.epochs}",
            disable=not (cfg.progress and self.dist.is_main),
            leave=False,
            dynamic_ncols=True,
        )
        window: dict[str, list[float]] = {}
        epoch_acc: dict[str, list[float]] = {}
        t_epoch = time.perf_counter()
        try:
            it = iter(self.train_loader)
            for i in range(n_batches):
                batch = next(it)
                if cfg.round_every and not self.round_open:
                    self._round_event("start")
                n = _batch_size(batch, cfg.batch_size)
                batch = _to_device(batch, self.device, self.channels_last)
                logged = self._train_step(batch)
                self.state["step"] += 1
                self.state["epoch_step"] = i + 1
                self._samples += n
                for k, v in logged.items():
                    if isinstance(v, float | int):
                        for acc in (window, epoch_acc):
                            a = acc.setdefault(k, [0.0, 0])
                            a[0] += v
                            a[1] += 1
                bar.update(1)
                step = self.state["step"]
                if step % cfg.log_every == 0 or i == n_batches - 1:
                    means = {k: s / c for k, (s, c) in window.items()}
                    bar.set_postfix({k: f"{v:.4g}" for k, v in list(means.items())[:4]})
                    lrs = {
                        f"lr/{name}": float(o.param_groups[0]["lr"])
                        for name, o in self.recipe.optimizers.items()
                    }
                    self.log.row(
                        "train",
                        {
                            "epoch": epoch,
                            "step": step,
                            "time_s": round(self._train_time + time.perf_counter() - t_epoch, 3),
                            **means,
                            **lrs,
                        },
                    )
                    self.log.scalars("train", {**means, **lrs}, step)
                    window = {}
                if cfg.round_every and self.state["step"] % cfg.round_every == 0:
                    self._round_event("end")
        finally:
            bar.close()
            self._train_time += time.perf_counter() - t_epoch
        if not cfg.round_every:
            self._round_event("end")
        self.epoch_means = {k: s / c for k, (s, c) in epoch_acc.items()}
        self.log.info(
            f"epoch {epoch + 1}/{cfg.epochs} ({n_batches} steps, "
            f"{time.perf_counter() - t_epoch:.1f} s): {_fmt(self.epoch_means)}"
        )

    def _end_epoch(self, epoch: int, last_epoch: bool) -> None:
        cfg, r = self.cfg, self.recipe
        plateau = torch.optim.lr_scheduler.ReduceLROnPlateau
        if r.scheduler_interval == "epoch":
            for s in r.schedulers.values():
                if not isinstance(s, plateau):
                    s.step()
        val: dict[str, float] = {}
        if self.val_loader is not None and ((epoch + 1) % cfg.val_every == 0 or last_epoch):
            val = self.validate()
            self.last_val = val
            if val and r.monitor not in val:
                raise KeyError(
                    f"recipe {r.name!r}: monitor {r.monitor!r} not among validation metrics "
                    f"{sorted(val)}"
                )
            if not val:  # e.g. no valid ground truth in the validation set
                self.log.info(f"validation epoch {epoch + 1}: no metrics returned")
            bad = sorted(k for k, v in val.items() if not math.isfinite(v))
            if bad:
                msg = (
                    f"non-finite validation {', '.join(f'{k}={val[k]}' for k in bad)} at epoch "
                    f"{epoch + 1}: training stopped; the last checkpoint holds the last finite "
                    "weights"
                )
                self.log.info(msg)
                raise NonFiniteError(msg)
            monitored = val.get(r.monitor, math.nan)
            for s in r.schedulers.values():
                if isinstance(s, plateau) and val:
                    s.step(monitored)
            improved = self._improved(monitored)
            if improved:
                self.best_value, self.best_epoch = monitored, epoch
            self.log.row(
                "val", {"epoch": epoch, "step": self.state["step"], **val, "best": improved}
            )
            self.log.scalars("val", val, self.state["step"])
            self.log.info(
                f"validation epoch {epoch + 1}: {_fmt(val)}" + ("  (best)" if improved else "")
            )
            if improved:
                self.save("best")
        if last_epoch or (cfg.save_every and (epoch + 1) % cfg.save_every == 0):
            self.save("last")

    def _summary(self, stopped: str, resumed: Path | None, wall: float) -> dict[str, Any]:
        samples_total = self._samples * self.dist.world_size
        best_dir = self.out_dir / "checkpoints" / "best"
        return {
            "recipe": self.recipe.name,
            "out_dir": str(self.out_dir),
            "stopped": stopped,
            "epochs": self.state["epoch"] + 1 if self.state["step"] else 0,
            "steps": self.state["step"],
            "rounds": self.state["round"],
            "monitor": self.recipe.monitor,
            "monitor_mode": self.recipe.monitor_mode,
            "best_metric": self.best_value,
            "best_epoch": self.best_epoch,
            "last_val": self.last_val,
            "wall_time_s": round(wall, 3),
            "train_time_s": round(self._train_time, 3),
            "samples": samples_total,
            "samples_per_s": round(samples_total / self._train_time, 3)
            if self._train_time > 0
            else None,
            "world_size": self.dist.world_size,
            "device": str(self.device),
            "resumed_from": str(resumed) if resumed is not None else None,
            "last_checkpoint": str(self.out_dir / "checkpoints" / "last"),
            "best_checkpoint": str(best_dir) if best_dir.is_dir() else None,
            "git": self.git,
        }


class NonFiniteError(UserError, FloatingPointError):
    """Training met a non-finite loss, gradient, weight or validation metric and stopped."""


def _nonfinite_grad(optimizers: dict[str, torch.optim.Optimizer]) -> str:
    """The name of the first optimiser with a non-finite gradient, or ``""``."""
    for name, opt in optimizers.items():
        grads = [p.grad for g in opt.param_groups for p in g["params"] if p.grad is not None]
        if grads and not bool(torch.stack([torch.isfinite(g).all() for g in grads]).all()):
            return name
    return ""


_SUMMARY_SHOWN = ("epochs", "steps", "best_metric", "wall_time_s", "samples_per_s")
