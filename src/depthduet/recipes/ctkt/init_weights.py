"""DSRNet's starting weights (``model.init`` of the ``ctkt`` recipe): a shipped model
(:mod:`depthduet.hub`) or a run folder / checkpoint (:mod:`depthduet.engine.checkpoint`)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from depthduet.engine.checkpoint import load_network_weights, read_model_info, resolve_checkpoint
from depthduet.errors import UserError
from depthduet.hub import load_pretrained
from depthduet.models.dbpn import DSRNet

__all__ = ["init_dsrnet"]


def _init_weights(source: str) -> tuple[dict[str, Tensor], int | None]:
    """The float32 weights ``model.init`` names, and their scale when a model card gives it.

    An existing path is a run folder (its best checkpoint, else its last), a checkpoint folder
    or a ``.safetensors`` file, read by :func:`depthduet.engine.checkpoint.load_network_weights`
    (the checkpoint's inference network: ``dsr`` for this recipe's runs); anything else is a
    shipped model name (:func:`depthduet.hub.load_pretrained`, hash checked).

    Raises:
        UserError: an unreadable checkpoint or an unknown model (listing the shipped ones).
    """
    if Path(source).is_file():
        state, scale = load_network_weights(source, prefer="best"), None
    elif Path(source).exists():
        state, scale = load_network_weights(source, _dsr_network(source), prefer="best"), None
    else:
        state, card = load_pretrained(source)
        scale = card.scale
    return {k: v.float() for k, v in state.items()}, scale


def _dsr_network(source: str) -> str:
    """The name of DSRNet in the run or checkpoint folder ``source`` (``dsr``).

    Raises:
        UserError: the checkpoint holds no DSRNet (a METHOD B run, or another recipe's).
    """
    p = resolve_checkpoint(source, "best")
    info = read_model_info(p)
    names = list(info.get("networks") or {})
    if "dsr" in names:
        return "dsr"
    recipe = str(info.get("recipe") or "?")
    what = "a METHOD B (mutual) monocular-depth run" if recipe == "mutual" else f"recipe {recipe!r}"
    raise UserError(
        f"model.init {source}: {p} holds no DSRNet ({what}; networks: {', '.join(names) or '-'})"
    )


def init_dsrnet(net: DSRNet, source: str) -> None:
    """Copy DSRNet weights from a shipped model name or a checkpoint into ``net`` (``model.init``).

    The weights go through a new DSRNet of ``net``'s sizes first, whose random initialisation
    takes its draws from the global generator before DENet, the side heads and SPNet are built:
    the draws that runs started with ``model.init`` (the shipped models' cards) were made with.

    Raises:
        UserError: an unknown model, an unreadable checkpoint, weights of other sizes, or
            weights holding NaN or inf values.
    """
    state, scale = _init_weights(source)
    mine = net.state_dict()
    wrong = [k for k in mine if k not in state or state[k].shape != mine[k].shape]
    if wrong:
        theirs = f" (x{scale})" if scale else ""
        raise UserError(
            f"model.init {source}: its DSRNet{theirs} does not match this configuration's "
            f"sizes (x{net.scale}, model.preset / n_feats / n_base / n_stages; first differing "
            f"tensor {wrong[0]!r})"
        )
    bad = [k for k in mine if not bool(torch.isfinite(state[k]).all())]
    if bad:
        raise UserError(
            f"model.init {source}: tensor {bad[0]!r} holds NaN or inf values (a diverged run?)"
        )
    loaded = DSRNet(net.scale, net.n_feats, net.n_base, net.n_stages)
    loaded.load_state_dict({k: state[k] for k in mine}, strict=True)
    net.load_state_dict({k: v.float() for k, v in loaded.state_dict().items()})
