"""What a checkpoint holds of a run beyond its weights, and how a run continues from it.

``state.pt`` holds the loop position (``epoch``, ``step``, ``round``, an open round), what the
recipe put into the loop state, the optimisers, schedulers, the recipe's own state, the RNG
states of every process, the best metric so far and the training time so far; ``model.json``
holds :func:`model_info`. A resumed run restores all of it, so that it continues
bitwise-identically to an uninterrupted one (same device, same number of processes).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from depthduet.engine import checkpoint as ckpt
from depthduet.engine.determinism import seed_everything, set_rng_state
from depthduet.engine.logs import RunLog
from depthduet.errors import UserError

if TYPE_CHECKING:
    from depthduet.engine.trainer import Trainer

__all__ = [
    "ENGINE_KEYS",
    "FROZEN_ON_RESUME",
    "resume_dir",
    "check_resume_config",
    "model_info",
    "training_state",
    "restore",
    "restore_first",
    "recorded_train_time",
]

#: keys of the loop state the engine owns (everything else a recipe put there is checkpointed)
ENGINE_KEYS = ("epoch", "step", "epoch_step", "round", "rank", "world_size")
#: config sections that a resumed run cannot change: the networks and the optimiser state
#: continue from the checkpoint, so a new value would be written but not used
FROZEN_ON_RESUME = ("model", "optim")


def resume_dir(resume: str, out_dir: Path) -> Path | None:
    """The checkpoint folder ``engine.resume`` names, or ``None`` to start afresh.

    ``""`` / ``false`` / ``no`` / ``none``: start afresh; ``last`` / ``true`` / ``yes``: the
    run's ``checkpoints/last`` (or ``last.old``), which must exist; ``auto``: the same when it
    exists; anything else: a checkpoint folder holding ``state.pt``.

    Raises:
        UserError: no checkpoint where one is required.
    """
    r = (resume or "").strip()
    if r.lower() in ("", "false", "no", "none"):
        return None
    root = out_dir / "checkpoints"
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


def check_resume_config(d: Path, config: dict[str, Any], frozen: Sequence[str]) -> None:
    """Refuse a resume whose configuration ``config`` changes a key of the ``frozen`` sections
    from the checkpoint's (other changes, e.g. ``engine.epochs``, apply and are recorded in
    ``config.yaml``).

    Raises:
        UserError: naming up to three changed keys.
    """
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

    for section in frozen:
        if isinstance(old.get(section), dict) and isinstance(config.get(section), dict):
            walk(old[section], config[section], section)
    if changed:
        raise UserError(
            f"{d}: cannot change on resume: {'; '.join(changed[:3])}; the networks and "
            "optimiser continue from the checkpoint (start a new run with --out, e.g. from "
            "its weights)"
        )


def model_info(t: Trainer) -> dict[str, Any]:
    """The run's entries of a checkpoint's ``model.json``."""
    return {
        "recipe": t.recipe.name,
        "inference_networks": list(t.recipe.inference_networks),
        "epoch": t.state["epoch"],
        "step": t.state["step"],
        "metrics": dict(t.last_val),
        "monitor": t.recipe.monitor,
        "git": t.git,
        "versions": t.versions,
        "config": t.config_dict,
        **t.recipe.model_info(),
    }


def training_state(t: Trainer, rng: list[dict[str, Any]]) -> dict[str, Any]:
    """The content of ``state.pt``; ``rng`` holds the RNG states of every process."""
    r = t.recipe
    return {
        "format_version": ckpt.FORMAT_VERSION,
        "epoch": t.state["epoch"],
        "step": t.state["step"],
        "round": t.state["round"],
        "round_open": t.round_open,
        "loop_state": {k: v for k, v in t.state.items() if k not in ENGINE_KEYS},
        "optimizers": {n: o.state_dict() for n, o in r.optimizers.items()},
        "schedulers": {n: s.state_dict() for n, s in r.schedulers.items()},
        "recipe": r.state_dict(),
        "rng": rng,
        "world_size": t.dist.world_size,
        "best": {"value": t.best_value, "epoch": t.best_epoch},
        "git": t.git,
        "train_time_s": t.train_time_before + t.train_time,
    }


def restore(t: Trainer, d: Path) -> None:
    """Load checkpoint ``d`` into the trainer: weights, optimisers, schedulers, recipe state,
    loop position, best metric, RNG streams (re-seeded, with a warning, when the checkpoint was
    written by another number of processes); logs after the checkpoint are dropped.

    Raises:
        CheckpointError: unreadable files, or optimisers / schedulers other than the recipe's.
    """
    r = t.recipe
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
    t.state.update(st.get("loop_state", {}))
    t.state["epoch"] = int(st["epoch"])
    t.state["step"] = int(st["step"])
    t.state["round"] = int(st["round"])
    t.round_open = bool(st["round_open"])
    best = st.get("best", {})
    t.best_value, t.best_epoch = best.get("value"), best.get("epoch")
    rng = st.get("rng", [])
    if len(rng) == t.dist.world_size:
        set_rng_state(rng[t.dist.rank])
    else:
        t.log.info(
            f"resume: checkpoint written by {len(rng)} process(es), now "
            f"{t.dist.world_size}: RNG streams re-seeded (results will differ)"
        )
        seed_everything(t.cfg.seed + 7919 * (t.state["epoch"] + 1) + t.dist.rank)
    t.start_epoch = t.state["epoch"] + 1
    t.log.truncate_after(t.state["step"], t.state["epoch"])
    t.train_time_before = recorded_train_time(st, t.log)
    t.log.info(f"resumed from {d} (epoch {t.state['epoch'] + 1} done, step {t.state['step']})")


def recorded_train_time(st: dict[str, Any], log: RunLog) -> float:
    """Seconds of training before the checkpoint whose ``state.pt`` is ``st``: as recorded
    there, or (a checkpoint written before it was) the last ``time_s`` of ``train.csv`` up to
    the checkpoint; 0 when neither is known."""
    if "train_time_s" in st:
        return float(st["train_time_s"])
    table = log.tables.get("train")
    rows = table.rows() if table is not None else []
    try:
        return float(rows[-1]["time_s"]) if rows else 0.0
    except (KeyError, ValueError):
        return 0.0


def restore_first(t: Trainer, first: Path) -> Path:
    """Restore ``first``; when it is the run's own ``last`` and cannot be read (corrupt,
    partial), fall back to ``last.old`` then ``best``, saying which.

    Returns:
        The folder actually restored.

    Raises:
        CheckpointError: none of them could be restored (every reason, in one line).
    """
    root = t.out_dir / "checkpoints"
    cands = [first]
    if first.parent == root and first.name in ("last", "last.old"):
        cands += [c for c in (root / "last.old", root / "best") if c != first]
    errors: list[str] = []
    for i, d in enumerate(cands):
        if i and not (d / ckpt.STATE_FILE).is_file():
            continue
        try:
            restore(t, d)
        except (ckpt.CheckpointError, UserError) as e:
            errors.append(str(e))
            continue
        if errors:
            t.log.info(
                f"warning: {errors[0]}; resumed from {d} instead (epoch "
                f"{t.state['epoch'] + 1}, step {t.state['step']})"
            )
        return d
    raise ckpt.CheckpointError(errors[0] if len(errors) == 1 else "; ".join(errors))
