"""Shipped pretrained weights: model cards, lookup, verification and export.

Each shipped model ``NAME`` (e.g. ``dsr-x4``) is two files in ``src/depthduet/weights/``:

* ``NAME.safetensors``: the DSRNet ``state_dict`` (fp16 storage allowed; loaded as float32);
* ``NAME.json``: its model card, a JSON object with at least

  ``name``, ``file``, ``sha256`` (of the weights file), ``scale``, ``preset``,
  ``arch`` (``{"n_feats", "n_base", "n_stages"}``), ``norm`` / ``pct`` (the depth normalisation
  of ``depthduet.models.dbpn.normalize_depth``), ``dtype`` (storage), and ``training``
  (the exact command, data, duration, steps) and ``metrics`` (validation RMSE against bicubic).

:func:`load_pretrained` checks the hash and returns float32 tensors plus the card. A missing or
unknown model raises :class:`UserError` listing the models that are available.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from depthduet.errors import UserError
from depthduet.paths import weights_dir

__all__ = [
    "DSR_KIND",
    "KNOWN_MODELS",
    "MDE_KIND",
    "ModelCard",
    "available_models",
    "file_sha256",
    "find_model_card",
    "list_model_cards",
    "load_pretrained",
    "save_pretrained",
    "shipped_models",
    "training_record",
]

#: The names the project intends to ship, and their scale factors.
KNOWN_MODELS: dict[str, int] = {"dsr-x2": 2, "dsr-x4": 4, "dsr-x8": 8, "dsr-x16": 16}


@dataclass
class ModelCard:
    """What a shipped model is and how it was made (stored as ``NAME.json``).

    Attributes:
        name: model name, e.g. ``"dsr-x4"``.
        file: weights file name, relative to the card's folder.
        sha256: hex digest of the weights file.
        scale: upsampling factor. preset: DSRNet preset name (``tiny``/``small``/``paper``).
        arch: DSRNet constructor sizes ``n_feats``, ``n_base``, ``n_stages``.
        norm, pct: depth normalisation (METHOD A, ``models.dbpn.normalize_depth``).
        dtype: storage dtype of the tensors (``float16`` or ``float32``).
        training: how it was trained (command, data, degradation, steps, seconds, date).
        metrics: validation numbers (e.g. ``rmse``, ``rmse_bicubic``, their unit and data).
        notes: free text (limitations).
    """

    name: str
    file: str
    sha256: str
    scale: int
    preset: str
    arch: dict[str, int]
    norm: str = "minmax"
    pct: list[float] = field(default_factory=lambda: [1.0, 99.0])
    dtype: str = "float16"
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    notes: str = ""
    path: Path | None = field(default=None, compare=False, repr=False)

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> ModelCard:
        """Parse a card; raises :class:`UserError` naming the file and the bad key."""
        path = Path(path)
        data = read_card_json(path, ("name", "file", "sha256", "scale", "preset", "arch"))
        known = {f for f in cls.__dataclass_fields__ if f != "path"}
        arch = data["arch"]
        if not isinstance(arch, dict) or not {"n_feats", "n_base", "n_stages"} <= set(arch):
            raise UserError(f"{path}: model card key 'arch' needs n_feats, n_base, n_stages")
        card = cls(**{k: v for k, v in data.items() if k in known})
        card.scale = int(card.scale)
        card.path = path
        return card

    def weights_path(self) -> Path:
        """The weights file (beside the card)."""
        base = self.path.parent if self.path is not None else weights_dir()
        return base / self.file

    def to_json(self) -> str:
        d = asdict(self)
        d.pop("path")
        return json.dumps(d, indent=2, sort_keys=False) + "\n"


def read_card_json(path: str | os.PathLike[str], required: tuple[str, ...]) -> dict[str, Any]:
    """Read a model card (a JSON object) and check it holds the ``required`` keys.

    Shared by the DSR cards (:class:`ModelCard`) and the monocular-depth cards
    (:func:`depthduet.inference.mde.read_mde_card`).

    Raises:
        UserError: unreadable file, invalid JSON, not an object, or missing keys (named).
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise UserError(f"{path}: cannot read model card: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise UserError(
            f"{path}: model card is not valid JSON: {e.msg} (line {e.lineno})"
        ) from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: model card must be a JSON object")
    missing = [k for k in required if k not in data]
    if missing:
        raise UserError(f"{path}: model card lacks key(s) {', '.join(missing)}")
    return data


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file (read in 1 MiB blocks)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def list_model_cards(folder: str | os.PathLike[str] | None = None) -> list[ModelCard]:
    """All readable model cards (``*.json``) in ``folder`` (default: the shipped weights)."""
    folder = Path(folder) if folder is not None else weights_dir()
    cards = []
    if folder.is_dir():
        for p in sorted(folder.glob("*.json")):
            try:
                cards.append(ModelCard.read(p))
            except UserError:
                continue
    return cards


#: the ``kind`` of a depth super-resolution card (:class:`ModelCard`) and of a monocular-depth
#: card (:func:`depthduet.inference.mde.read_mde_card`)
DSR_KIND = "depth-super-resolution"
MDE_KIND = "monocular-depth"


def shipped_models(folder: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """Every model in ``folder`` (default: the shipped weights) whose card and weights file are
    both present, of either task, in natural order of names (``dsr-x4`` before ``dsr-x16``):
    the card as a dict, with ``kind`` (:data:`DSR_KIND` or :data:`MDE_KIND`) and ``weights``
    (the weights file's path) set. Unreadable cards, and cards of neither kind, are left out."""
    folder = Path(folder) if folder is not None else weights_dir()
    out: list[dict[str, Any]] = []
    if not folder.is_dir():
        return out
    for p in sorted(folder.glob("*.json")):
        try:
            card = ModelCard.read(p)
        except UserError:
            card = None
        if card is not None:
            data = json.loads(card.to_json())
            data["kind"] = DSR_KIND
            weights = card.weights_path()
        else:
            try:
                data = read_card_json(p, ("name", "file", "kind"))
            except UserError:
                continue
            if data.get("kind") != MDE_KIND:
                continue
            weights = p.parent / str(data["file"])
        if weights.is_file():
            data["weights"] = str(weights)
            out.append(data)
    return sorted(out, key=lambda d: _natural(str(d["name"])))


def _natural(name: str) -> list[Any]:
    """Sort key putting ``dsr-x2`` before ``dsr-x16``."""
    import re

    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def available_models(
    folder: str | os.PathLike[str] | None = None, kind: str | None = None
) -> list[str]:
    """Names of the models whose card and weights file are both present (sorted): depth
    super-resolution and monocular depth alike, as ``depthduet info`` lists them, or those of
    one ``kind`` (:data:`DSR_KIND`, :data:`MDE_KIND`)."""
    return [d["name"] for d in shipped_models(folder) if kind is None or d["kind"] == kind]


def find_model_card(name: str, folder: str | os.PathLike[str] | None = None) -> ModelCard:
    """The card of model ``name`` whose weights file exists.

    Raises:
        UserError: unknown name or missing file, listing what is available.
    """
    folder = Path(folder) if folder is not None else weights_dir()
    avail = available_models(folder, DSR_KIND)
    listing = ", ".join(avail) if avail else "none (no weights shipped in this build)"
    for card in list_model_cards(folder):
        if card.name == name:
            if not card.weights_path().is_file():
                raise UserError(
                    f"model {name!r}: weights file {card.weights_path()} is missing; "
                    f"available: {listing}"
                )
            return card
    hint = " (a planned model, not shipped in this build)" if name in KNOWN_MODELS else ""
    if not hint and (folder / f"{name}.safetensors").is_file():
        hint = (
            " as a depth super-resolution model (its card is not a DSR card: a monocular-depth "
            "model? use `depthduet predict --model` for those)"
        )
    raise UserError(f"model {name!r}: not found in {folder}{hint}; available: {listing}")


def load_pretrained(
    name: str, folder: str | os.PathLike[str] | None = None, verify: bool = True
) -> tuple[dict[str, torch.Tensor], ModelCard]:
    """Load a shipped model: ``(state_dict as float32 tensors, card)``.

    Returns:
        ``(state_dict, card)``: float32 tensors, each the same shape as the DSRNet parameter
        it names, and the model card.

    Raises:
        UserError: unknown/missing model, or a weights file whose SHA-256 differs from the card.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    card = find_model_card(name, folder)
    wpath = card.weights_path()
    if verify:
        digest = file_sha256(wpath)
        if digest != card.sha256:
            raise UserError(
                f"{wpath}: SHA-256 {digest[:12]}... does not match the model card "
                f"({card.sha256[:12]}...); the file is damaged or was replaced"
            )
    try:
        state = load_file(str(wpath))
    except (SafetensorError, OSError) as e:
        raise UserError(f"{wpath}: cannot read safetensors weights: {e}") from None
    return {k: v.float() for k, v in state.items()}, card


def save_pretrained(
    state: dict[str, torch.Tensor],
    name: str,
    *,
    scale: int,
    preset: str,
    arch: dict[str, int],
    folder: str | os.PathLike[str] | None = None,
    fp16: bool = True,
    norm: str = "minmax",
    pct: tuple[float, float] = (1.0, 99.0),
    training: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    notes: str = "",
) -> ModelCard:
    """Write ``NAME.safetensors`` (fp16 by default) and its card ``NAME.json`` atomically.

    ``state`` maps parameter names to tensors, each the same shape as the parameter it names.

    Returns:
        The written :class:`ModelCard` (with the weights' SHA-256).
    """
    from safetensors.torch import save_file

    folder = Path(folder) if folder is not None else weights_dir()
    folder.mkdir(parents=True, exist_ok=True)
    dtype = torch.float16 if fp16 else torch.float32
    tensors = {k: v.detach().to("cpu", dtype).contiguous() for k, v in state.items()}
    wpath = folder / f"{name}.safetensors"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".safetensors.tmp")
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata={"name": name, "scale": str(scale), "preset": preset})
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; shipped files are world-readable
        os.replace(tmp, wpath)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    card = ModelCard(
        name=name,
        file=wpath.name,
        sha256=file_sha256(wpath),
        scale=int(scale),
        preset=preset,
        arch={k: int(v) for k, v in arch.items()},
        norm=norm,
        pct=[float(pct[0]), float(pct[1])],
        dtype="float16" if fp16 else "float32",
        training=dict(training or {}),
        metrics=dict(metrics or {}),
        notes=notes,
    )
    cpath = folder / f"{name}.json"
    tmpc = cpath.with_name(f".{cpath.name}.tmp")
    tmpc.write_text(card.to_json(), encoding="utf-8")
    os.replace(tmpc, cpath)
    card.path = cpath
    return card


# ----------------------------------------------------------------------------- shipping tool
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

    errs = []
    n = len(pairs) if not limit else min(limit, len(pairs))
    for i in range(n):
        s = pairs[i]
        lr = s["lr"][0].numpy()
        out = upsampler.upsample(lr, s["lr_valid"][0].numpy())
        hr = s["hr"][0].numpy()
        m = s["hr_valid"][0].numpy() & out.valid
        if m.any():
            errs.append(float(np.sqrt(np.mean((out.values[m] - hr[m]) ** 2))))
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
    of the *shipped* weights through :class:`DepthUpsampler` next to bicubic on the run's
    validation set (same pipeline: normalisation, filling, tiling, clamping).
    """
    from depthduet.config import load_config
    from depthduet.engine.checkpoint import load_checkpoint, read_model_info, resolve_checkpoint
    from depthduet.inference.dsr import DepthUpsampler, infer_dsrnet_arch
    from depthduet.recipes.ctkt import CTKTConfig, CTKTRecipe

    ckpt = resolve_checkpoint(run, "best")
    info = read_model_info(ckpt)
    config, weights = load_checkpoint(ckpt, ["dsr"])
    state = weights["dsr"]
    arch = infer_dsrnet_arch(state)
    cfg_dict = {k: v for k, v in config.items() if k != "recipe"}
    cfg = load_config(CTKTConfig, None, data=cfg_dict)
    _, val = CTKTRecipe.build_datasets(cfg)
    data = dict(config.get("data", {}))
    card = save_pretrained(
        state,
        name,
        scale=arch["scale"],
        preset=str(config.get("model", {}).get("preset", "custom")),
        arch={k: arch[k] for k in ("n_feats", "n_base", "n_stages")},
        folder=folder,
        fp16=fp16,
        norm=cfg.model.norm,
        pct=(cfg.model.norm_pct[0], cfg.model.norm_pct[1]),
        training=training_record(
            info, ckpt, command, seconds, {"recipe": info.get("recipe", ""), "data": data}
        ),
        notes=notes,
    )
    metrics: dict[str, Any] = {"run_validation": info.get("metrics", {})}
    if val is not None and len(val) > 0:
        up = DepthUpsampler.from_pretrained(name, folder=folder, device="cpu")
        bic = DepthUpsampler.bicubic(arch["scale"], device="cpu")
        ours = evaluate_rmse(up, val, eval_limit)
        base = evaluate_rmse(bic, val, eval_limit)
        metrics["shipped"] = {
            "data": f"{'+'.join(data.get('source', []))} validation split "
            f"({ours['samples']} maps, degradation {data.get('degradation', '?')}, "
            f"x{arch['scale']}, whole maps)",
            "unit": "data unit (metres for the world)",
            "rmse": ours["rmse"],
            "rmse_bicubic": base["rmse"],
            "pipeline": f"DepthUpsampler defaults ({up.norm} norm, fill, tile {up.tile}/"
            f"{up.overlap}, clamp)",
        }
    card.metrics = metrics
    assert card.path is not None
    tmp = card.path.with_name(f".{card.path.name}.tmp")
    tmp.write_text(card.to_json(), encoding="utf-8")
    os.replace(tmp, card.path)
    return card


def main(argv: list[str] | None = None) -> int:
    """``python -m depthduet.inference.pretrained list | export RUN NAME ...``"""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m depthduet.inference.pretrained")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="list shipped models")
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
        if args.cmd == "list":
            for c in list_model_cards():
                ok = "ok" if c.weights_path().is_file() else "MISSING"
                print(f"{c.name}\tx{c.scale}\t{c.preset}\t{c.dtype}\t{ok}")
            return 0
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
