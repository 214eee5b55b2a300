"""Ship the DSRNet of a METHOD A training run as a model (``python -m depthduet.apps.ship``).

:func:`export_checkpoint` writes the weights and the model card (:mod:`depthduet.hub`) of a
``ctkt`` run's best checkpoint, measured on the run's own validation set through the same
pipeline as ``depthduet upsample``. The run's configuration is read back with the recipe that
trained it (:mod:`depthduet.recipes.ctkt`), which is why this lives here and not in
:mod:`depthduet.inference`.

Command line (``benchmarks/dsr_ship.sh``)::

    python -m depthduet.apps.ship export RUN NAME [--folder DIR] [--fp32] [--command CMD]
        [--seconds S] [--notes TEXT] [--eval-limit N]
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from depthduet.errors import UserError
from depthduet.hub import ModelCard, save_pretrained

__all__ = ["export_checkpoint", "main"]


@dataclass
class _Run:
    """What shipping needs of a training run: its best checkpoint and ``model.json`` facts
    (``info``), its DSRNet weights and sizes, its configuration and validation pairs."""

    ckpt: Path
    info: dict[str, Any]
    config: dict[str, Any]
    state: dict[str, torch.Tensor]
    arch: dict[str, int]
    cfg: Any  # depthduet.recipes.ctkt.CTKTConfig
    val: Any  # the recipe's validation pairs, or None


def _read_run(run: str | os.PathLike[str]) -> _Run:
    """The best checkpoint of ``run`` (else its last), read back through the ``ctkt`` recipe."""
    from depthduet.config import load_config
    from depthduet.engine.checkpoint import load_checkpoint, read_model_info, resolve_checkpoint
    from depthduet.inference.dsr import infer_dsrnet_arch
    from depthduet.recipes.ctkt import CTKTConfig, CTKTRecipe

    ckpt = resolve_checkpoint(run, "best")
    info = read_model_info(ckpt)
    config, weights = load_checkpoint(ckpt, ["dsr"])
    state = weights["dsr"]
    cfg_dict = {k: v for k, v in config.items() if k != "recipe"}
    cfg = load_config(CTKTConfig, None, data=cfg_dict)
    _, val = CTKTRecipe.build_datasets(cfg)
    return _Run(ckpt, info, config, state, infer_dsrnet_arch(state), cfg, val)


def _shipped_metrics(
    name: str, folder: str | os.PathLike[str] | None, r: _Run, eval_limit: int
) -> dict[str, Any]:
    """The RMSE of the shipped weights next to bicubic on the run's validation pairs, through
    :class:`~depthduet.inference.dsr.DepthUpsampler` (normalisation, filling, tiling, clamping
    as ``depthduet upsample``)."""
    from depthduet.inference.dsr import DepthUpsampler
    from depthduet.inference.pretrained import evaluate_rmse

    data = dict(r.config.get("data", {}))
    scale = r.arch["scale"]
    up = DepthUpsampler.from_pretrained(name, folder=folder, device="cpu")
    bic = DepthUpsampler.bicubic(scale, device="cpu")
    ours = evaluate_rmse(up, r.val, eval_limit)
    base = evaluate_rmse(bic, r.val, eval_limit)
    return {
        "data": f"{'+'.join(data.get('source', []))} validation split "
        f"({ours['samples']} maps, degradation {data.get('degradation', '?')}, "
        f"x{scale}, whole maps)",
        "unit": "data unit (metres for the world)",
        "rmse": ours["rmse"],
        "rmse_bicubic": base["rmse"],
        "pipeline": f"DepthUpsampler defaults ({up.norm} norm, fill, tile {up.tile}/"
        f"{up.overlap}, clamp)",
    }


def export_checkpoint(
    run: str | os.PathLike[str],
    name: str,
    *,
    folder: str | os.PathLike[str] | None = None,
    fp16: bool = True,
    command: str = "",
    seconds: float | None = None,
    notes: str = "",
    eval_limit: int = 0,
) -> ModelCard:
    """Ship the DSRNet of a METHOD A training run as model ``name``.

    Writes the weights (fp16 by default) and a card recording the training command, data,
    steps, duration and git revision, the run's own validation metrics, and the validation RMSE
    of the *shipped* weights through :class:`~depthduet.inference.dsr.DepthUpsampler` next to
    bicubic on the run's validation set (same pipeline: normalisation, filling, tiling,
    clamping).

    Args:
        run: a run folder, checkpoint folder or ``.safetensors`` file of the ``ctkt`` recipe.
        name: the model's name (``dsr-x4``); writes ``NAME.safetensors`` and ``NAME.json``.
        folder: where to write (default: the package's shipped weights).
        fp16: store float16 tensors. command, seconds, notes: recorded in the card.
        eval_limit: measure on at most this many validation maps (0 = all).

    Returns:
        The written card.
    """
    from depthduet.inference.pretrained import training_record

    r = _read_run(run)
    data = dict(r.config.get("data", {}))
    about = {"recipe": r.info.get("recipe", ""), "data": data}
    card = save_pretrained(
        r.state,
        name,
        scale=r.arch["scale"],
        preset=str(r.config.get("model", {}).get("preset", "custom")),
        arch={k: r.arch[k] for k in ("n_feats", "n_base", "n_stages")},
        folder=folder,
        fp16=fp16,
        norm=r.cfg.model.norm,
        pct=(r.cfg.model.norm_pct[0], r.cfg.model.norm_pct[1]),
        training=training_record(r.info, r.ckpt, command, seconds, about),
        notes=notes,
    )
    metrics: dict[str, Any] = {"run_validation": r.info.get("metrics", {})}
    if r.val is not None and len(r.val) > 0:
        metrics["shipped"] = _shipped_metrics(name, folder, r, eval_limit)
    card.metrics = metrics
    assert card.path is not None
    card.write(card.path)
    return card


def main(argv: list[str] | None = None) -> int:
    """``python -m depthduet.apps.ship export RUN NAME ...``; prints the written card."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m depthduet.apps.ship")
    sub = ap.add_subparsers(dest="cmd", required=True)
    ex = sub.add_parser("export", help="ship the DSRNet of a training run")
    ex.add_argument("run")
    ex.add_argument("name")
    ex.add_argument("--folder", default=None)
    ex.add_argument("--fp32", action="store_true")
    ex.add_argument("--command", default="", help="the exact training command")
    ex.add_argument("--seconds", type=float, default=None, help="training wall time")
    ex.add_argument("--notes", default="")
    ex.add_argument("--eval-limit", type=int, default=0)
    args = ap.parse_args(argv)
    try:
        card = export_checkpoint(
            args.run,
            args.name,
            folder=args.folder,
            fp16=not args.fp32,
            command=args.command,
            seconds=args.seconds,
            notes=args.notes,
            eval_limit=args.eval_limit,
        )
    except UserError as e:
        print(f"error: {e}")
        return 2
    print(card.to_json())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
