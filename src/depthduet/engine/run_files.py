"""The records of a run beside its logs and checkpoints: the resolved configuration
(``config.yaml``, also stored in every checkpoint) and the summary (``summary.json``)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from depthduet.config import to_dict
from depthduet.engine.config import EngineConfig

if TYPE_CHECKING:
    from depthduet.engine.trainer import Trainer

__all__ = ["SUMMARY_SHOWN", "run_config", "config_yaml", "run_summary"]

#: the summary entries of the last log line
SUMMARY_SHOWN = ("epochs", "steps", "best_metric", "wall_time_s", "samples_per_s")


def run_config(config: Any, recipe_name: str, engine: EngineConfig) -> dict[str, Any]:
    """The run's configuration as a dict: ``config`` (a dataclass or dict; ``None``: the recipe
    name and ``engine``), with ``recipe`` set and ``engine.resume`` cleared.

    Raises:
        TypeError: ``config`` of another type.
    """
    if config is None:
        d: dict[str, Any] = {"recipe": recipe_name, "engine": to_dict(engine)}
    elif dataclasses.is_dataclass(config):
        d = to_dict(config)
    elif isinstance(config, dict):
        d = dict(config)
    else:
        raise TypeError(f"config: expected a dataclass or dict, got {type(config).__name__}")
    d.setdefault("recipe", recipe_name)
    section = d.get("engine")
    if isinstance(section, dict) and section.get("resume"):
        # how this process was started is not part of the run's configuration: re-running
        # config.yaml must not silently resume (the header comment records the resume)
        d["engine"] = {**section, "resume": ""}
    return d


def config_yaml(t: Trainer, resumed_from: Path | None) -> str:
    """The text of ``config.yaml``: a header (how to train again, git revision, versions,
    processes and device, the checkpoint resumed) and the configuration."""
    header = [
        "# depthduet run configuration (resolved); train again with:",
        f"#   depthduet train --config {t.out_dir / 'config.yaml'}",
        f"# git: {t.git}",
    ]
    header += [f"# {k}: {v}" for k, v in t.versions.items()]
    header.append(f"# processes: {t.dist.world_size}, device: {t.device}")
    if resumed_from is not None:
        header.append(f"# resumed from: {resumed_from}")
    return "\n".join(header) + "\n" + yaml.safe_dump(t.config_dict, sort_keys=False)


def run_summary(t: Trainer, stopped: str, resumed: Path | None, wall: float) -> dict[str, Any]:
    """The content of ``summary.json`` (``stopped``: why the loop ended; ``wall``: seconds of
    the whole call; times and throughput count this process's run, not the resumed part)."""
    samples_total = t.samples * t.dist.world_size
    best_dir = t.out_dir / "checkpoints" / "best"
    return {
        "recipe": t.recipe.name,
        "out_dir": str(t.out_dir),
        "stopped": stopped,
        "epochs": t.state["epoch"] + 1 if t.state["step"] else 0,
        "steps": t.state["step"],
        "rounds": t.state["round"],
        "monitor": t.recipe.monitor,
        "monitor_mode": t.recipe.monitor_mode,
        "best_metric": t.best_value,
        "best_epoch": t.best_epoch,
        "last_val": t.last_val,
        "wall_time_s": round(wall, 3),
        "train_time_s": round(t.train_time, 3),
        "samples": samples_total,
        "samples_per_s": round(samples_total / t.train_time, 3) if t.train_time > 0 else None,
        "world_size": t.dist.world_size,
        "device": str(t.device),
        "resumed_from": str(resumed) if resumed is not None else None,
        "last_checkpoint": str(t.out_dir / "checkpoints" / "last"),
        "best_checkpoint": str(best_dir) if best_dir.is_dir() else None,
        "git": t.git,
    }
