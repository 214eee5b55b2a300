"""The shipped weights: model cards, their names, their hashes and their state dicts.

Each shipped model ``NAME`` (e.g. ``dsr-x4``) is two files in ``src/depthduet/weights/``
(:func:`depthduet.paths.weights_dir`):

* ``NAME.safetensors``: the network's ``state_dict`` (fp16 storage allowed; loaded as float32);
* ``NAME.json``: its model card, a JSON object. A depth super-resolution card
  (:class:`ModelCard`, :data:`DSR_KIND`) holds at least ``name``, ``file``, ``sha256`` (of the
  weights file), ``scale``, ``preset``, ``arch`` (``{"n_feats", "n_base", "n_stages"}``),
  ``norm`` / ``pct`` (the depth normalisation of ``depthduet.depth.normalize_depth``),
  ``dtype`` (storage), ``training`` (the exact command, data, duration, steps) and ``metrics``
  (validation RMSE against bicubic). A monocular-depth card (:data:`MDE_KIND`) holds ``name``,
  ``file`` and ``kind`` (read by :func:`depthduet.inference.mde.read_mde_card`).

:func:`load_pretrained` checks the hash and returns float32 tensors plus the card. A missing or
unknown model raises :class:`UserError` listing the models that are available.

This module sits below every network, recipe and inference module: it imports only
``torch``, ``safetensors``, the standard library and ``depthduet.errors`` / ``depthduet.paths`` /
``depthduet.io``, so a recipe (``model.init``) and the inference classes can both use it.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from depthduet.errors import UserError
from depthduet.io.atomic import atomic_write
from depthduet.io.naming import natural_key
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
    "read_card_json",
    "save_pretrained",
    "shipped_models",
    "write_safetensors",
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
        norm, pct: depth normalisation (METHOD A, ``depthduet.depth.normalize_depth``).
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
        """The card as written to ``NAME.json`` (without :attr:`path`)."""
        d = asdict(self)
        d.pop("path")
        return json.dumps(d, indent=2, sort_keys=False) + "\n"

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`to_json` to ``path`` atomically (a temporary file, then a rename) and
        remember ``path`` as :attr:`path`."""
        cpath = Path(path)
        text = self.to_json()
        atomic_write(cpath, lambda f: f.write(text.encode("utf-8")))
        self.path = cpath


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
    return sorted(out, key=lambda d: natural_key(str(d["name"]), whole=True, fold_case=False))


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


def write_safetensors(
    path: str | os.PathLike[str], tensors: dict[str, torch.Tensor], metadata: dict[str, str]
) -> Path:
    """Write ``tensors`` (each of any shape, on the CPU) as a safetensors file, atomically
    (:func:`depthduet.io.atomic_write`) and readable by all; returns the path."""
    from safetensors.torch import save

    data = save(tensors, metadata=metadata)
    return atomic_write(path, lambda f: f.write(data))


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
    folder = Path(folder) if folder is not None else weights_dir()
    folder.mkdir(parents=True, exist_ok=True)
    dtype = torch.float16 if fp16 else torch.float32
    tensors = {k: v.detach().to("cpu", dtype).contiguous() for k, v in state.items()}
    wpath = folder / f"{name}.safetensors"
    write_safetensors(wpath, tensors, {"name": name, "scale": str(scale), "preset": preset})
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
    card.write(folder / f"{name}.json")
    return card
