"""Shipped pretrained weights for inference: the model cards and weights of
:mod:`depthduet.hub`, and the measurements a card records.

The cards, their lookup and verification live in :mod:`depthduet.hub` (the bottom layer, so
that training recipes can start from shipped weights too); their names are re-exported here.
This module adds what shipping a model measures and records: :func:`evaluate_rmse` (an
upsampler's RMSE on depth-SR pairs) and :func:`training_record` (a card's ``training``
section). Shipping the DSRNet of a training run is :func:`depthduet.apps.ship.export_checkpoint`
(``python -m depthduet.apps.ship export RUN NAME``).
"""

from __future__ import annotations

import os
from typing import Any

from depthduet import hub
from depthduet.hub import *  # noqa: F403 - the names of hub.__all__, re-exported

#: the hub's names, re-exported, and this module's own
__all__ = sorted([*hub.__all__, "evaluate_rmse", "training_record"])


def evaluate_rmse(upsampler: Any, pairs: Any, limit: int = 0) -> dict[str, float]:
    """Mean per-sample RMSE of an upsampler on depth-SR pairs, in the data's unit.

    Args:
        upsampler: a :class:`depthduet.inference.dsr.DepthUpsampler`.
        pairs: a sequence of pair dicts (``lr`` (1, h, w), ``lr_valid``, ``hr`` (1, H, W),
            ``hr_valid``), e.g. a ``DepthSRPairs`` validation set.
        limit: evaluate at most this many pairs (0 = all).

    Returns:
        ``{"rmse": mean over samples of sqrt(mean over valid HR pixels of (pred - hr)^2),
        "samples": n}``; pixels count when valid in both the HR truth and the prediction.
    """
    import numpy as np

    from depthduet.evaluation.metrics import masked_rmse

    errs = []
    n = len(pairs) if not limit else min(limit, len(pairs))
    for i in range(n):
        s = pairs[i]
        lr = s["lr"][0].numpy()
        out = upsampler.upsample(lr, s["lr_valid"][0].numpy())
        hr = s["hr"][0].numpy()
        m = s["hr_valid"][0].numpy() & out.valid
        if m.any():
            errs.append(masked_rmse(out.values, hr, m))
    return {"rmse": float(np.mean(errs)) if errs else float("nan"), "samples": len(errs)}


def training_record(
    info: dict[str, Any],
    ckpt: str | os.PathLike[str],
    command: str,
    seconds: float | None,
    about: dict[str, Any],
) -> dict[str, Any]:
    """The ``training`` section of a model card: the command, what ``about`` says of the run
    (recipe, data, ...), then epoch / step / seconds / git / versions from the checkpoint's
    ``info`` (:func:`depthduet.engine.checkpoint.read_model_info`), the export time (UTC) and
    the checkpoint path."""
    import datetime

    return {
        "command": command,
        **about,
        "epoch": info.get("epoch"),
        "step": info.get("step"),
        "seconds": seconds,
        "git": info.get("git", ""),
        "versions": info.get("versions", {}),
        "exported": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "checkpoint": str(ckpt),
    }


def main(argv: list[str] | None = None) -> int:
    """``python -m depthduet.inference.pretrained list``: the shipped DSR models, one a line.

    ``export`` moved to ``python -m depthduet.apps.ship export RUN NAME ...`` (same
    arguments); asked here, it says so and returns 2."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m depthduet.inference.pretrained")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="list shipped models")
    sub.add_parser("export", help="moved: python -m depthduet.apps.ship export RUN NAME ...")
    args, rest = ap.parse_known_args(argv)
    if args.cmd == "export":
        print("error: export moved: run `python -m depthduet.apps.ship export RUN NAME ...`")
        return 2
    if rest:
        ap.error(f"unrecognized arguments: {' '.join(rest)}")
    for c in hub.list_model_cards():
        ok = "ok" if c.weights_path().is_file() else "MISSING"
        print(f"{c.name}\tx{c.scale}\t{c.preset}\t{c.dtype}\t{ok}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
