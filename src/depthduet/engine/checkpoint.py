"""Checkpoints: network weights in safetensors, training state in ``state.pt``, atomic writes.

Layout of a run folder (``engine.out_dir``)::

    config.yaml                   resolved configuration (git revision + versions as a comment)
    checkpoints/last/             written at the end of epochs (``engine.save_every``) and at the end
        <network>.safetensors     one file per network (metadata: recipe, epoch, step, git, config)
        state.pt                  optimisers, schedulers, epoch, step, round, RNG states,
                                  recipe.state_dict()  (torch.save of a dict of plain types)
        model.json                how to rebuild the inference networks: recipe name, network
                                  names, resolved config, git revision, versions, metrics
    checkpoints/best/             same, for the best validation metric so far

A checkpoint folder is written into a temporary sibling folder and swapped in with renames, so an
interruption (crash, kill, full disk) leaves the previous checkpoint intact (a temporary folder
left by a killed process is removed by the next save; one writer per run folder). If the process dies
between the two renames of the swap, the previous checkpoint is still complete under
``<name>.old`` and :func:`resolve_checkpoint` finds it there.

Inference code uses :func:`load_checkpoint` / :func:`load_network_weights`; training code uses
:func:`save_checkpoint` / :func:`load_training_state`.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file
from torch import nn

from depthduet.errors import UserError
from depthduet.io import atomic_write, fsync_path

__all__ = [
    "CheckpointError",
    "FORMAT",
    "FORMAT_VERSION",
    "atomic_write_text",
    "environment_versions",
    "git_revision",
    "load_checkpoint",
    "load_network_weights",
    "load_training_state",
    "read_model_info",
    "resolve_checkpoint",
    "save_checkpoint",
]

FORMAT = "depthduet-checkpoint"
FORMAT_VERSION = 1
STATE_FILE = "state.pt"
MODEL_FILE = "model.json"
_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


class CheckpointError(UserError):
    """A checkpoint path is missing, incomplete or does not match the network."""


# ----------------------------------------------------------------------------- provenance
def git_revision(root: str | os.PathLike[str] | None = None) -> str:
    """The commit of the source checkout (``<sha>`` or ``<sha>-dirty``), or ``"unknown"``.

    Args:
        root: a folder inside the repository; default: the checkout holding this package.
    """
    if root is None:
        from depthduet.paths import project_root

        root = project_root()
        if root is None:
            return "unknown"
    try:
        sha = _git_output(root, "rev-parse", "HEAD")
        dirty = _git_output(root, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{sha}-dirty" if dirty else sha


def _git_output(root: str | os.PathLike[str], *args: str) -> str:
    """The stripped standard output of ``git ARGS`` run in ``root``.

    Raises:
        OSError, subprocess.SubprocessError: no git, a timeout (10 s) or a failing command.
    """
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True
    ).stdout.strip()


def environment_versions() -> dict[str, str]:
    """Versions that matter for reproducing a run (python, torch, numpy, CUDA, depthduet)."""
    import numpy

    from depthduet import __version__

    out = {
        "depthduet": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "platform": platform.platform(),
    }
    if torch.cuda.is_available():
        out["cuda"] = str(torch.version.cuda)
        out["gpu"] = torch.cuda.get_device_name(0)
    return out


# ----------------------------------------------------------------------------- atomic writes
def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through :func:`depthduet.io.atomic_write` (a
    temporary file in the same folder, ``fsync``, a rename)."""
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def _check_name(name: str) -> None:
    if not _NAME_RE.fullmatch(name) or name in ("state", "model"):
        raise ValueError(
            f"network name {name!r}: use letters, digits, '_', '.', '-' (not 'state' or 'model')"
        )


def _tensors_for_file(name: str, sd: dict[str, Any]) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for k, v in sd.items():
        if not isinstance(v, torch.Tensor):
            raise TypeError(f"network {name!r}: state_dict entry {k!r} is not a tensor")
        # clone: safetensors refuses tensors sharing memory (tied weights); cpu + contiguous
        out[k] = v.detach().to("cpu").contiguous().clone()
    return out


def _swap_in(tmp: Path, final: Path) -> None:
    old = final.with_name(final.name + ".old")
    if final.exists():
        if old.exists():
            shutil.rmtree(old)
        os.rename(final, old)
    os.rename(tmp, final)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


def save_checkpoint(
    ckpt_dir: str | os.PathLike[str],
    weights: dict[str, dict[str, torch.Tensor]],
    state: dict[str, Any] | None,
    info: dict[str, Any],
) -> Path:
    """Write one checkpoint folder atomically.

    Args:
        ckpt_dir: the folder to (re)place, e.g. ``<out_dir>/checkpoints/last``.
        weights: network name -> state_dict (tensors of any shape, each the shape of the
            parameter it names; copied to CPU). One ``<name>.safetensors`` each.
        state: training state for ``state.pt`` (plain python types and tensors), or ``None``
            to write weights and ``model.json`` only.
        info: ``model.json`` content; should hold ``recipe``, ``config`` (a plain dict) and
            ``inference_networks``; ``format``/``format_version``/``networks`` are added. The
            safetensors metadata repeats ``recipe``, ``epoch``, ``step``, ``git`` and ``config``
            (as JSON) so a single weights file is self-describing.

    Returns:
        ``ckpt_dir`` as a Path.
    """
    ckpt_dir = Path(ckpt_dir)
    ckpt_dir.parent.mkdir(parents=True, exist_ok=True)
    for name in weights:
        _check_name(name)
    for stale in ckpt_dir.parent.glob(f".{ckpt_dir.name}.tmp-*"):  # left by a killed save
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{ckpt_dir.name}.tmp-", dir=ckpt_dir.parent))
    try:
        meta_common = {
            "format": "pt",
            "depthduet_format": FORMAT,
            "recipe": str(info.get("recipe", "")),
            "epoch": str(info.get("epoch", "")),
            "step": str(info.get("step", "")),
            "git": str(info.get("git", "")),
            "config": json.dumps(info.get("config", {}), sort_keys=False),
        }
        networks = {}
        for name, sd in weights.items():
            tensors = _tensors_for_file(name, sd)
            save_file(
                tensors, str(tmp / f"{name}.safetensors"), metadata={**meta_common, "network": name}
            )
            networks[name] = {
                "file": f"{name}.safetensors",
                "parameters": int(sum(t.numel() for t in tensors.values())),
            }
        if state is not None:
            torch.save(state, tmp / STATE_FILE)
        model = {"format": FORMAT, "format_version": FORMAT_VERSION, **info, "networks": networks}
        (tmp / MODEL_FILE).write_text(json.dumps(model, indent=2, default=str) + "\n")
        for f in tmp.iterdir():
            fsync_path(f)
        fsync_path(tmp)
        _swap_in(tmp, ckpt_dir)
        fsync_path(ckpt_dir.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ckpt_dir


# ----------------------------------------------------------------------------- reading
def _is_ckpt_dir(p: Path) -> bool:
    return (p / MODEL_FILE).is_file()


def _pick(folder: Path, name: str) -> Path | None:
    for cand in (folder / name, folder / f"{name}.old"):
        if _is_ckpt_dir(cand):
            return cand
    return None


def resolve_checkpoint(path: str | os.PathLike[str], prefer: str = "best") -> Path:
    """Find the checkpoint meant by ``path``.

    Accepts a checkpoint folder (holding ``model.json``), a ``checkpoints/`` folder or a run
    folder (then ``prefer`` = ``best`` or ``last`` is tried first, the other one second), or a
    single ``.safetensors`` file (returned as is).

    Raises:
        CheckpointError: nothing usable there.
    """
    if prefer not in ("best", "last"):
        raise ValueError(f"prefer: expected 'best' or 'last', got {prefer!r}")
    p = Path(path)
    if p.is_file():
        if p.suffix == ".safetensors":
            return p
        if p.name in (MODEL_FILE, STATE_FILE):
            return p.parent
        raise CheckpointError(f"{p}: not a checkpoint (expected a folder or a .safetensors file)")
    old = p.with_name(p.name + ".old")  # the named folder itself may have been mid-swap
    if not p.exists():
        if _is_ckpt_dir(old):
            return old
        raise CheckpointError(f"{p}: checkpoint not found")
    if _is_ckpt_dir(p):
        return p
    order = [prefer, "last" if prefer == "best" else "best"]
    for folder in (p / "checkpoints", p):
        for name in order:
            found = _pick(folder, name)
            if found is not None:
                return found
    raise CheckpointError(f"{p}: no checkpoint found (expected model.json or checkpoints/last)")


def read_model_info(path: str | os.PathLike[str], prefer: str = "best") -> dict[str, Any]:
    """The ``model.json`` of a checkpoint (for a bare .safetensors file: its metadata)."""
    p = resolve_checkpoint(path, prefer)
    if p.is_file():
        try:
            with safe_open(str(p), framework="pt") as f:
                meta = dict(f.metadata() or {})
        except (SafetensorError, OSError) as e:
            raise CheckpointError(f"{p}: cannot read safetensors header: {e}") from None
        cfg = meta.get("config")
        try:
            config = json.loads(cfg) if cfg else {}
        except json.JSONDecodeError:
            config = {}
        name = meta.get("network", p.stem)
        return {
            "format": meta.get("depthduet_format", ""),
            "recipe": meta.get("recipe", ""),
            "epoch": meta.get("epoch", ""),
            "step": meta.get("step", ""),
            "git": meta.get("git", ""),
            "config": config,
            "inference_networks": [name],
            "networks": {name: {"file": p.name}},
        }
    try:
        info = json.loads((p / MODEL_FILE).read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{p / MODEL_FILE}: cannot read: {e}") from None
    if not isinstance(info, dict):
        raise CheckpointError(
            f"{p / MODEL_FILE}: expected a JSON object (recipe, config, networks), "
            f"got {type(info).__name__}"
        )
    return info


def _load_weights_file(f: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(f), device="cpu")
    except (SafetensorError, OSError) as e:
        raise CheckpointError(f"{f}: cannot read weights: {e}") from None


def load_checkpoint(
    path: str | os.PathLike[str],
    networks: list[str] | None = None,
    prefer: str = "best",
) -> tuple[dict[str, Any], dict[str, dict[str, torch.Tensor]]]:
    """Read a checkpoint for inference.

    Args:
        path: run folder, checkpoint folder or ``.safetensors`` file (see
            :func:`resolve_checkpoint`).
        networks: names to load (default: every network in the checkpoint).
        prefer: in a run folder, ``best`` or ``last``.

    Returns:
        ``(config, weights)``: the resolved configuration as a plain dict (with its ``recipe``
        key), and network name -> state_dict (CPU tensors).

    Raises:
        CheckpointError: missing checkpoint or network.
    """
    p = resolve_checkpoint(path, prefer)
    info = read_model_info(p)
    config = dict(info.get("config") or {})
    if info.get("recipe") and "recipe" not in config:
        config["recipe"] = info["recipe"]
    if p.is_file():
        name = next(iter(info["networks"]))
        if networks is not None and list(networks) != [name]:
            raise CheckpointError(f"{p}: holds network {name!r} only, asked for {networks}")
        return config, {name: _load_weights_file(p)}
    available = info.get("networks") or {}
    names = list(available) if networks is None else list(networks)
    out = {}
    for name in names:
        if name not in available:
            raise CheckpointError(
                f"{p}: no network {name!r} (has: {', '.join(available) or 'none'})"
            )
        out[name] = _load_weights_file(_inside(p, available[name].get("file")))
    return config, out


def _inside(folder: Path, name: Any) -> Path:
    """``folder / name`` for a plain file name from ``model.json``; a name that is not a string,
    has a folder part (``..``, ``/``) or is absolute would read outside the checkpoint folder
    and is refused."""
    if not isinstance(name, str) or not name or Path(name).name != name or name in (".", ".."):
        raise CheckpointError(
            f"{folder / MODEL_FILE}: weights file name {name!r} is not a plain file name "
            "inside the checkpoint folder"
        )
    return folder / name


def load_network_weights(
    path: str | os.PathLike[str],
    name: str | None = None,
    module: nn.Module | None = None,
    *,
    strict: bool = True,
    prefer: str = "best",
) -> dict[str, torch.Tensor]:
    """Weights of one network, optionally loaded into ``module``.

    Args:
        path: run folder, checkpoint folder or ``.safetensors`` file.
        name: network name; default: the checkpoint's single inference network.
        module: if given, ``module.load_state_dict(weights, strict=strict)`` is called (tensors
            are copied to the module's device by torch).
        strict: require exactly matching keys.
        prefer: in a run folder, ``best`` or ``last``.

    Returns:
        The state dict (CPU tensors, each the same shape as the parameter it names).

    Raises:
        CheckpointError: missing network, ambiguous name, or keys/shapes that do not match.
    """
    p = resolve_checkpoint(path, prefer)
    if name is None:
        info = read_model_info(p)
        cands = list(info.get("inference_networks") or []) or list(info.get("networks") or {})
        if len(cands) != 1:
            raise CheckpointError(
                f"{p}: holds several networks ({', '.join(cands)}); name the one to load"
            )
        name = cands[0]
    _, weights = load_checkpoint(p, [name] if not p.is_file() else None)
    sd = next(iter(weights.values())) if p.is_file() else weights[name]
    if module is not None:
        try:
            result = module.load_state_dict(sd, strict=strict)
        except RuntimeError as e:
            first = str(e).strip().splitlines()
            detail = "; ".join(s.strip() for s in first[1:3]) or first[0]
            raise CheckpointError(
                f"{p}: weights of {name!r} do not fit the network: {detail}"
            ) from None
        if not strict and (result.missing_keys or result.unexpected_keys):
            warnings.warn(
                f"{p}: {name!r}: {len(result.missing_keys)} missing, "
                f"{len(result.unexpected_keys)} unexpected keys",
                stacklevel=2,
            )
    return sd


def load_training_state(ckpt_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``state.pt`` of a checkpoint folder, always with ``torch.load(weights_only=True)``:
    tensors and plain Python types only, so no code stored in the file can run.

    Raises:
        CheckpointError: no ``state.pt`` there, or one that is corrupt, truncated or holds
            other objects (one line; nothing from the file is executed).
    """
    f = Path(ckpt_dir) / STATE_FILE
    if not f.is_file():
        raise CheckpointError(f"{f}: training state not found (cannot resume from here)")
    try:
        state = torch.load(f, map_location="cpu", weights_only=True)
    except Exception as e:  # corrupt, truncated, or a type the safe unpickler refuses
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        if "Weights only load failed" in first or "weights_only" in str(e):
            first = "holds objects other than tensors and plain types (refused, not run)"
        raise CheckpointError(f"{f}: cannot load the training state: {first[:200]}") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{f}: training state is a {type(state).__name__}, not a dict")
    return state
