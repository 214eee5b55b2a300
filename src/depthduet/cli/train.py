"""``depthduet train``: train a recipe (METHOD A ``ctkt`` or METHOD B ``mutual``) from a YAML."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from depthduet.errors import UserError

#: key=value overrides may also follow the options (``train CFG --out DIR k=v``).
INTERMIXED = "overrides"

HELP = "train a model from a YAML configuration (resumable, single process or torchrun)"

DESCRIPTION = """\
Train the recipe named by the configuration's top-level `recipe:` key (ctkt = METHOD A depth
super-resolution, mutual = METHOD B monocular depth, or module.path:ClassName).

key=value arguments override configuration entries (dotted keys, YAML values), e.g.
engine.epochs=2 engine.batch_size=8 engine.device=cuda engine.precision=bf16.

The run folder (--out, else engine.out_dir, else runs/<config name>) receives config.yaml,
train.log, train.csv, val.csv, rounds.csv, summary.json, tb/ (TensorBoard) and
checkpoints/{last,best}/ (one <network>.safetensors per network, state.pt, model.json).
--resume continues from checkpoints/last at the next epoch boundary (--resume-from PATH from
another checkpoint); the result is the same as an uninterrupted run (same device and number of
processes; raise engine.epochs to train longer). Several GPUs or nodes: launch with torchrun, e.g.
  torchrun --nproc_per_node 4 -m depthduet train --config configs/dsr/world_x4.yaml

Examples:
  depthduet train --config configs/dsr/world_x4.yaml engine.epochs=2 --out runs/try
  depthduet train dsr/world_x4 engine.device=cuda engine.precision=bf16
  depthduet train --config runs/try/config.yaml --resume engine.epochs=4
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Declare the command's options."""
    p.add_argument(
        "--config",
        help="YAML file or shipped name (dsr/world_x4); may also be given as the first argument",
    )
    p.add_argument(
        "overrides",
        nargs="*",
        metavar="key=value",
        help="configuration overrides (a first argument without '=' is the config file)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue from the run folder's last checkpoint (checkpoints/last)",
    )
    p.add_argument(
        "--resume-from",
        metavar="PATH",
        help="continue from another checkpoint (a run folder or checkpoint folder)",
    )
    p.add_argument("--out", help="run folder (overrides engine.out_dir)")
    p.add_argument(
        "--recipe-module",
        action="store_true",
        help="allow the config's recipe: to name a module.path:ClassName outside depthduet "
        "(imported, so only for code you trust; also DEPTHDUET_RECIPE_MODULES=1)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the run already in the run folder (default: refuse, so that a finished "
        "run is never lost)",
    )
    p.add_argument(
        "--encoder-weights",
        metavar="PATH",
        help="ImageNet ResNet-18 weights in torchvision's key layout (.pth/.safetensors) for "
        "recipes with a ResNet encoder (same as model.encoder_weights=PATH)",
    )


def _recipe_name(path: Path, overrides: list[str]) -> str:
    from depthduet.config import load_yaml, merge_overrides

    data = merge_overrides(load_yaml(path), [o for o in overrides if o.startswith("recipe=")])
    name = data.get("recipe")
    if not name:
        raise UserError(f"{path}: no top-level 'recipe:' key (e.g. 'recipe: ctkt')")
    if not isinstance(name, str):
        raise UserError(f"{path}: 'recipe' must be a string, got {name!r}")
    return name


def run(args: argparse.Namespace) -> int:
    """Load the configuration, build datasets and recipe, train, print where outputs are."""
    from depthduet.config import load_config, resolve_config_path
    from depthduet.engine.config import EngineConfig
    from depthduet.engine.distributed import cleanup_distributed, dist_info
    from depthduet.engine.trainer import Trainer, seed_everything
    from depthduet.recipes import get_recipe

    overrides = list(args.overrides)
    config = args.config
    if config is None:
        if not overrides or "=" in overrides[0]:
            raise UserError("no configuration: give --config FILE (e.g. configs/dsr/world_x4.yaml)")
        config = overrides.pop(0)
    path = resolve_config_path(config)
    for o in overrides:
        if "=" not in o:
            raise UserError(f"argument {o!r}: expected key=value (e.g. engine.epochs=2)")
    allow = args.recipe_module or os.environ.get("DEPTHDUET_RECIPE_MODULES") == "1"
    cls = get_recipe(_recipe_name(path, overrides), allow_module=allow)
    extra = []
    if args.out:
        extra.append(f"engine.out_dir={args.out}")
    if args.encoder_weights:
        if not Path(args.encoder_weights).is_file():
            raise UserError(f"{args.encoder_weights}: encoder weights file not found")
        extra.append(f"model.encoder_weights={args.encoder_weights}")
    if args.resume and args.resume_from:
        raise UserError("give either --resume or --resume-from PATH, not both")
    if args.resume:
        extra.append("engine.resume=last")
    elif args.resume_from:
        extra.append(f"engine.resume={args.resume_from}")
    cfg = load_config(cls.config_class, path, overrides + extra)
    engine = getattr(cfg, "engine", None)
    if not isinstance(engine, EngineConfig):
        raise UserError(f"{path}: recipe {cls.__name__} has no 'engine' section")
    user_set_out = args.out or any(o.startswith("engine.out_dir=") for o in overrides)
    if not user_set_out and engine.out_dir == EngineConfig().out_dir:
        engine.out_dir = str(Path("runs") / path.stem)
    if dist_info().is_main:
        _check_run_folder(Path(engine.out_dir), engine.resume, args.overwrite)
        print(f"depthduet train: recipe {cls.name} from {path}, run folder {engine.out_dir}")
    try:
        seed_everything(engine.seed)
        train_set, val_set = cls.build_datasets(cfg)
        recipe = cls.from_config(cfg)
        summary = Trainer(recipe, train_set, val_set, config=cfg).fit()
    finally:
        cleanup_distributed()
    if dist_info().is_main:
        out = Path(engine.out_dir)
        print(json.dumps({k: summary[k] for k in _SHOWN}, indent=2))
        print(f"run folder:      {out}")
        print(f"config:          {out / 'config.yaml'}")
        print(f"logs:            {out / 'train.csv'}, {out / 'val.csv'}, {out / 'rounds.csv'}")
        print(f"last checkpoint: {summary['last_checkpoint']}")
        if summary.get("best_checkpoint"):
            print(f"best checkpoint: {summary['best_checkpoint']}")
    return 0


def _check_run_folder(out: Path, resume: str, overwrite: bool) -> None:
    """Refuse to train afresh into a folder that holds a run (its checkpoints or summary) unless
    ``--overwrite``, which removes that run first; resuming is always allowed."""
    import shutil

    if resume or not out.is_dir():
        return
    marks = [out / "checkpoints", out / "summary.json"]
    if not any(m.exists() and (m.is_file() or any(m.iterdir())) for m in marks):
        return
    if not overwrite:
        raise UserError(
            f"{out}: holds a run already (checkpoints/summary.json); pass --resume to continue "
            "it, --overwrite to replace it, or choose another --out"
        )
    if not (out / "config.yaml").is_file():
        raise UserError(f"{out}: --overwrite removes run folders only (no config.yaml here)")
    shutil.rmtree(out)


_SHOWN = ("stopped", "epochs", "steps", "best_metric", "best_epoch", "wall_time_s", "samples_per_s")
