"""Monocular depth inference with a trained branch of METHOD.md B (``N_u`` or ``N_s``).

:class:`DepthPredictor` rebuilds a :class:`~depthduet.models.mde.DepthNet` from a checkpoint
(run folder, checkpoint folder or a single ``depth_u``/``depth_s`` ``.safetensors`` file with the
engine's metadata) or from shipped weights, and predicts depth and confidence for an RGB image::

    p = DepthPredictor.from_checkpoint("runs/mde_world_semi", branch="u")
    depth, conf = p.predict(image)     # image (H, W, 3) float in [0, 1] or uint8

The image is resized (bilinear, antialiased) to the training resolution, the full-resolution
disparity and confidence outputs are resized back (bilinear) and the disparity is turned into
depth with the network's ``d_min``/``d_max``. A network trained on monocular video alone
(``mode: self``, ``self_sup: M``) predicts depth only up to scale: :attr:`scale_ambiguous`.

Both facts come from the network's inference block, ``{"input_size": [H, W],
"scale_ambiguous": bool}`` under ``inference["depth_<b>"]`` of the checkpoint's ``model.json``
(the recipe's ``model_info``) or of the model card; a checkpoint or card written without one
has them read from its resolved configuration instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from depthduet.errors import UserError
from depthduet.models.mde import DepthNet, build_depth_net, disp_to_depth, is_scale_ambiguous

__all__ = ["DepthPredictor", "MDE_MODEL_PREFIX", "export_mde_model", "read_mde_card"]

#: shipped monocular-depth weights are named ``mde-*.safetensors`` in ``depthduet/weights``
MDE_MODEL_PREFIX = "mde-"


def _branch_of(cfg: dict[str, Any]) -> str:
    b = cfg.get("eval_branch", "auto")
    if b in ("u", "s"):
        return b
    return "s" if cfg.get("mode") == "self" else "u"


def _check_branch(branch: str | None) -> None:
    if branch not in (None, "u", "s"):
        raise UserError(f"branch: expected 'u' or 's', got {branch!r}")


#: ``(H, W)`` the procedural world renders each scene kind at when ``data.world.height`` /
#: ``width`` are left unset: what a configuration without an inference block trained at
_WORLD_KIND_SIZES = {"driving": (96, 320), "indoor": (128, 160)}


def _size_from_config(cfg: dict[str, Any], source: str) -> tuple[int, int]:
    """The training resolution ``(H, W)`` written in a resolved ``mutual`` configuration."""
    data = cfg.get("data") or {}
    if data.get("dataset", "world") != "world":
        return int(data.get("height", 96)), int(data.get("width", 320))
    world = data.get("world") or {}
    h, w = world.get("height"), world.get("width")
    if h is None or w is None:
        kind = data.get("kind", "driving")
        if kind not in _WORLD_KIND_SIZES:
            raise UserError(f"{source}: no input size recorded for world kind {kind!r}")
        dh, dw = _WORLD_KIND_SIZES[kind]
        h, w = dh if h is None else h, dw if w is None else w
    return int(h), int(w)


def _inference_settings(
    block: Any, cfg: dict[str, Any], branch: str, source: str
) -> tuple[tuple[int, int], bool]:
    """``((H, W), scale_ambiguous)`` of one network: from its inference block, or (``None``)
    from the configuration of a checkpoint written without one."""
    if block is None:
        return _size_from_config(cfg, source), is_scale_ambiguous(cfg, branch)
    size = block.get("input_size") if isinstance(block, dict) else None
    ambiguous = block.get("scale_ambiguous") if isinstance(block, dict) else None
    if (
        not isinstance(size, list | tuple)
        or len(size) != 2
        or not all(isinstance(v, int) and v > 0 for v in size)
        or not isinstance(ambiguous, bool)
    ):
        raise UserError(
            f"{source}: inference block {block!r}: expected input_size [H, W] and "
            "scale_ambiguous true/false"
        )
    return (size[0], size[1]), ambiguous


def _network_in(p: Path, info: dict[str, Any], cfg: dict[str, Any], branch: str | None) -> str:
    """The depth network (``depth_u`` / ``depth_s``) to load from checkpoint ``p``: the one a
    single weights file holds, else ``branch``, the configuration's evaluated branch or the
    only one there."""
    available = [n for n in (info.get("networks") or {}) if n.startswith("depth_")]
    if p.is_file():
        name = available[0] if available else p.stem
        if name not in ("depth_u", "depth_s"):
            raise UserError(f"{p}: not a depth_u/depth_s network of the mutual recipe")
        if branch is not None and branch != name[-1]:
            raise UserError(f"{p}: holds branch {name[-1]!r} only, asked for {branch!r}")
        return name
    b = branch or _branch_of(cfg)
    if f"depth_{b}" not in available:
        if branch is None and len(available) == 1:
            return available[0]
        have = ", ".join(a[-1] for a in available) or "none"
        raise UserError(f"{p}: no branch {b!r} in this checkpoint (has: {have})")
    return f"depth_{b}"


def _shipped_weights(folder: Path, name: str) -> Path:
    """``folder/<name>.safetensors`` of a shipped monocular-depth model.

    Raises:
        UserError: the name is a depth-SR model, or no such file (lists the ``mde-*`` ones).
    """
    from depthduet.inference.pretrained import KNOWN_MODELS, read_card_json

    f = folder / f"{name}.safetensors"
    have = sorted(
        p.stem for p in Path(folder).glob(f"{MDE_MODEL_PREFIX}*.safetensors") if p.is_file()
    )
    listed = ", ".join(have) if have else "none shipped in this installation"
    cpath = folder / f"{name}.json"
    raw = read_card_json(cpath, ()) if cpath.is_file() else {}
    if name in KNOWN_MODELS or ("kind" not in raw and {"scale", "arch"} <= set(raw)):
        scale = raw.get("scale", KNOWN_MODELS.get(name, "?"))
        raise UserError(
            f"model {name!r} is a depth super-resolution model (x{scale}), not a monocular-"
            f"depth one: use `depthduet upsample --model {name}`; monocular-depth models: "
            f"{listed}"
        )
    if not f.is_file():
        raise UserError(
            f"pretrained monocular-depth model {name!r} not found in {folder} (available: "
            f"{listed}); train one with `depthduet train --config configs/mde/world_semi.yaml`"
            " and pass --checkpoint"
        )
    return f


def _verify_card(f: Path, card: dict[str, Any], name: str) -> None:
    """Raise a :class:`UserError` when ``f``'s SHA-256 is not the one ``card`` records."""
    from depthduet.inference.pretrained import file_sha256

    digest = file_sha256(f)
    if digest != card.get("sha256"):
        raise UserError(
            f"{f}: SHA-256 {digest[:12]}... does not match the model card "
            f"{name}.json ({str(card.get('sha256'))[:12]}...); the file is damaged "
            "or was replaced"
        )


class DepthPredictor:
    """Depth and confidence maps from a single RGB image with one trained branch.

    Args:
        net: the depth network (weights loaded).
        size: ``(H, W)`` the network runs at (the training resolution, multiples of 32).
        branch: ``"u"`` or ``"s"`` (recorded for outputs).
        scale_ambiguous: depth is relative (monocular-only self-supervision).
        device: torch device.
        info: where the weights came from (recorded next to outputs).
        channels_last: run the network in channels-last memory format (same numbers up to
            float rounding; about 1.2x faster on CPU for the ResNet-18 depth network).
    """

    def __init__(
        self,
        net: DepthNet,
        size: tuple[int, int],
        branch: str = "u",
        scale_ambiguous: bool = False,
        device: str | torch.device = "cpu",
        info: dict[str, Any] | None = None,
        channels_last: bool = True,
    ) -> None:
        h, w = int(size[0]), int(size[1])
        if h % DepthNet.stride or w % DepthNet.stride:
            raise UserError(f"network input size {h}x{w}: must be multiples of {DepthNet.stride}")
        self.device = torch.device(device)
        self.channels_last = bool(channels_last)
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        self.net = net.to(self.device).eval().to(memory_format=fmt)
        self.size = (h, w)
        self.branch = branch
        self.scale_ambiguous = bool(scale_ambiguous)
        self.info = dict(info or {})

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_config_and_weights(
        cls,
        cfg: dict[str, Any],
        weights: dict[str, torch.Tensor],
        branch: str,
        device: str | torch.device = "cpu",
        source: str = "",
        inference: dict[str, Any] | None = None,
    ) -> DepthPredictor:
        """Build from a resolved ``mutual`` configuration (plain dict) and a state dict.

        Args:
            cfg: the resolved configuration.
            weights: parameter name -> tensor, each the same shape as the DepthNet parameter
                it names.
            branch: which network the weights are (``"u"`` or ``"s"``).
            device: where to run.
            source: where the weights came from, for messages.
            inference: the network's inference block (``input_size``, ``scale_ambiguous``);
                ``None`` reads both from ``cfg``.
        """
        if cfg.get("recipe", "mutual") != "mutual":
            raise UserError(
                f"{source}: trained with recipe {cfg.get('recipe')!r}, not 'mutual' "
                "(monocular depth); use `depthduet upsample` for depth super-resolution"
            )
        net = build_depth_net(cfg.get("model") or {}, load_imagenet=False)
        try:
            net.load_state_dict(weights, strict=True)
        except RuntimeError as e:
            first = str(e).strip().splitlines()
            raise UserError(f"{source}: weights do not fit DepthNet: {first[0]}") from None
        size, ambiguous = _inference_settings(inference, cfg, branch, source)
        return cls(
            net,
            size,
            branch,
            ambiguous,
            device,
            {"source": source, "branch": branch, "recipe": "mutual", "mode": cfg.get("mode")},
        )

    @classmethod
    def from_checkpoint(
        cls,
        path: str | os.PathLike[str],
        branch: str | None = None,
        device: str | torch.device = "cpu",
        prefer: str = "best",
    ) -> DepthPredictor:
        """Load a trained branch.

        Args:
            path: run folder, checkpoint folder, or a ``depth_u``/``depth_s`` ``.safetensors``.
            branch: ``"u"`` or ``"s"``; default: the configuration's evaluated branch (or the
                only one in the checkpoint).
            device: where to run.
            prefer: in a run folder, ``"best"`` or ``"last"`` checkpoint.

        Raises:
            UserError: no checkpoint, not a ``mutual`` checkpoint, or the branch is absent.
        """
        from depthduet.engine.checkpoint import resolve_checkpoint

        _check_branch(branch)
        return cls._from_resolved(resolve_checkpoint(path, prefer), branch, device)

    @classmethod
    def _from_resolved(
        cls,
        p: Path,
        branch: str | None,
        device: str | torch.device,
        card_inference: dict[str, Any] | None = None,
    ) -> DepthPredictor:
        """Load a branch of the resolved checkpoint ``p``; a model card's inference blocks
        (``card_inference``), when given, stand in for the checkpoint's."""
        from depthduet.engine.checkpoint import load_checkpoint, read_model_info

        _check_branch(branch)
        info = read_model_info(p)
        cfg = dict(info.get("config") or {})
        cfg.setdefault("recipe", info.get("recipe") or "mutual")
        if cfg["recipe"] != "mutual":
            raise UserError(
                f"{p}: trained with recipe {cfg['recipe']!r}, not 'mutual' (monocular depth); "
                "use `depthduet upsample` for depth super-resolution"
            )
        name = _network_in(p, info, cfg, branch)
        _, weights = load_checkpoint(p) if p.is_file() else load_checkpoint(p, [name])
        blocks = card_inference if card_inference is not None else info.get("inference")
        block = blocks.get(name) if isinstance(blocks, dict) else None
        return cls.from_config_and_weights(cfg, weights[name], name[-1], device, str(p), block)

    @classmethod
    def from_pretrained(
        cls,
        name: str = "mde-driving",
        branch: str | None = None,
        device: str | torch.device = "cpu",
        folder: str | os.PathLike[str] | None = None,
        verify: bool = True,
    ) -> DepthPredictor:
        """Shipped weights ``depthduet/weights/<name>.safetensors`` (engine metadata inside).

        When the model card ``<name>.json`` is present beside the weights, the weights' SHA-256
        is checked against it (``verify``) and the card is kept in ``info["card"]``.

        Args:
            name: model name, e.g. ``"mde-driving"``.
            branch: ``"u"``/``"s"`` or ``None`` (the one branch the file holds).
            device: where to run.
            folder: where the weights lie (default: the package's ``weights`` folder).
            verify: check the SHA-256 recorded in the card.

        Raises:
            UserError: unknown name (lists the shipped ``mde-*`` models), or weights that do
                not match their card.
        """
        from depthduet.paths import weights_dir

        folder = Path(folder) if folder is not None else weights_dir()
        f = _shipped_weights(folder, name)
        cpath = folder / f"{name}.json"
        card = read_mde_card(cpath) if cpath.is_file() else {}
        if card and verify:
            _verify_card(f, card, name)
        predictor = cls._from_resolved(f, branch, device, card.get("inference"))
        if card:
            predictor.info["card"] = card
        return predictor

    # ------------------------------------------------------------------ prediction
    @staticmethod
    def _as_tensor(image: np.ndarray) -> torch.Tensor:
        a = np.asarray(image)
        if a.ndim == 2:
            a = np.repeat(a[..., None], 3, axis=2)
        if a.ndim != 3 or a.shape[2] not in (3, 4):
            raise UserError(f"image: expected (H, W, 3) RGB, got shape {a.shape}")
        a = a[..., :3]
        if a.dtype == np.uint8:
            a = a.astype(np.float32) / 255.0
        elif a.dtype == np.uint16:
            a = a.astype(np.float32) / 65535.0
        a = np.clip(np.nan_to_num(a.astype(np.float32)), 0.0, 1.0)
        return torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None]

    @torch.no_grad()
    def predict_tensor(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Batch prediction.

        Args:
            image: ``(B, 3, H, W)`` in [0, 1], any size.

        Returns:
            ``(depth, confidence)``, each ``(B, 1, H, W)`` at the input size (depth in metres,
            or relative units when :attr:`scale_ambiguous`).
        """
        h, w = image.shape[-2:]
        x = image.to(self.device, torch.float32)
        if (h, w) != self.size:
            x = F.interpolate(
                x, size=self.size, mode="bilinear", align_corners=False, antialias=True
            ).clamp(0, 1)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        out = self.net(x)
        disp, conf = out["disp"][0], out["conf"][0]
        if (h, w) != self.size:
            disp = F.interpolate(disp, size=(h, w), mode="bilinear", align_corners=False)
            conf = F.interpolate(conf, size=(h, w), mode="bilinear", align_corners=False)
        depth = disp_to_depth(disp, self.net.d_min, self.net.d_max)
        return depth.contiguous(), conf.contiguous()

    def predict(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Depth and confidence of one image.

        Args:
            image: ``(H, W, 3)`` RGB, float in [0, 1] (or uint8 / uint16; grey ``(H, W)`` is
                replicated).

        Returns:
            ``(depth, confidence)``: ``(H, W)`` float32 each; depth in metres (relative when
            :attr:`scale_ambiguous`), confidence in (0, 1).
        """
        depth, conf = self.predict_tensor(self._as_tensor(image))
        return depth[0, 0].cpu().numpy(), conf[0, 0].cpu().numpy()


# ----------------------------------------------------------------------------- shipping
#: keys every monocular-depth model card must hold
MDE_CARD_KEYS = ("name", "file", "sha256", "kind", "branch", "input_size", "dtype")


def read_mde_card(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse a monocular-depth model card ``NAME.json`` (see :func:`export_mde_model`).

    Raises:
        UserError: unreadable file, invalid JSON, or missing keys (named).
    """
    from depthduet.inference.pretrained import read_card_json

    return read_card_json(path, MDE_CARD_KEYS)


def export_mde_model(
    run: str | os.PathLike[str],
    name: str,
    *,
    branch: str | None = None,
    folder: str | os.PathLike[str] | None = None,
    fp16: bool = True,
    prefer: str = "best",
    command: str = "",
    seconds: float | None = None,
    notes: str = "",
) -> dict[str, Any]:
    """Ship one depth branch of a METHOD B (``mutual``) run as ``NAME.safetensors`` + card.

    The weights file keeps the engine's safetensors metadata (recipe, epoch, step, git,
    resolved configuration, ``network`` = ``depth_<branch>``), so it loads with
    :meth:`DepthPredictor.from_checkpoint` as well as :meth:`DepthPredictor.from_pretrained`.
    The card ``NAME.json`` (same style as the depth-SR cards of
    :mod:`depthduet.inference.pretrained`) records the SHA-256, branch, input size, storage
    dtype, the training command / data / steps / wall time / git revision and the run's own
    validation metrics for that checkpoint.

    Args:
        run: run folder or checkpoint folder of a ``mutual`` training run.
        name: model name (file stem), e.g. ``"mde-driving"``.
        branch: ``"u"`` or ``"s"`` (default: the configuration's evaluated branch).
        folder: destination (default: the package's ``weights`` folder).
        fp16: store the tensors as float16 (loaded back as float32).
        prefer: ``"best"`` or ``"last"`` checkpoint of a run folder.
        command: the exact training command (recorded).
        seconds: training wall time (recorded).
        notes: free text for the card.

    Returns:
        The card as a dict.

    Raises:
        UserError: no checkpoint, not a ``mutual`` run, or the branch is absent.
    """
    from depthduet.engine.checkpoint import load_checkpoint, read_model_info, resolve_checkpoint
    from depthduet.hub import write_safetensors
    from depthduet.paths import weights_dir

    ckpt = resolve_checkpoint(run, prefer)
    predictor = DepthPredictor.from_checkpoint(ckpt, branch)  # validates recipe and branch
    network = f"depth_{predictor.branch}"
    info = read_model_info(ckpt)
    config, weights = load_checkpoint(ckpt, [network])
    tensors = _stored_tensors(weights[network], fp16)
    out = Path(folder) if folder is not None else weights_dir()
    out.mkdir(parents=True, exist_ok=True)
    wpath = write_safetensors(
        out / f"{name}.safetensors", tensors, _weights_metadata(info, config, network, name)
    )
    card = {
        "name": name,
        "file": wpath.name,
        **_card_facts(wpath, predictor, tensors, fp16),
        "model": dict(config.get("model") or {}),
        "training": _card_training(info, config, ckpt, command, seconds),
        "metrics": _card_metrics(info, config, predictor),
        "notes": notes,
        "inference": {
            network: {
                "input_size": list(predictor.size),
                "scale_ambiguous": predictor.scale_ambiguous,
            }
        },
    }
    _write_card(out / f"{name}.json", card)
    return card


def _stored_tensors(weights: dict[str, torch.Tensor], fp16: bool) -> dict[str, torch.Tensor]:
    """The network's tensors as stored: on the CPU, contiguous, floating ones as float16 when
    ``fp16`` (else float32).

    Args:
        weights: parameter name -> tensor of any shape.
        fp16: store floating tensors as float16.

    Returns:
        Parameter name -> tensor, each the same shape as in ``weights``.
    """
    dtype = torch.float16 if fp16 else torch.float32
    return {
        k: v.detach().to("cpu", dtype if v.is_floating_point() else v.dtype).contiguous()
        for k, v in weights.items()
    }


def _weights_metadata(
    info: dict[str, Any], config: dict[str, Any], network: str, name: str
) -> dict[str, str]:
    """The engine's safetensors metadata of one network, plus the model's ``name``."""
    import json

    return {
        "format": "pt",
        "depthduet_format": str(info.get("format", "depthduet-checkpoint")),
        "recipe": "mutual",
        "epoch": str(info.get("epoch", "")),
        "step": str(info.get("step", "")),
        "git": str(info.get("git", "")),
        "config": json.dumps(config, sort_keys=False),
        "network": network,
        "name": name,
    }


def _card_facts(
    wpath: Path, predictor: DepthPredictor, tensors: dict[str, torch.Tensor], fp16: bool
) -> dict[str, Any]:
    """The card's facts about the file and the network: hash, kind, branch, input, storage."""
    from depthduet.inference.pretrained import file_sha256

    return {
        "sha256": file_sha256(wpath),
        "kind": "monocular-depth",
        "branch": predictor.branch,
        "scale_ambiguous": predictor.scale_ambiguous,
        "input_size": list(predictor.size),
        "dtype": "float16" if fp16 else "float32",
        "parameters": int(sum(t.numel() for t in tensors.values())),
    }


def _card_training(
    info: dict[str, Any],
    config: dict[str, Any],
    ckpt: Path,
    command: str,
    seconds: float | None,
) -> dict[str, Any]:
    """The card's ``training`` record: command, recipe, mode, data, batch size, checkpoint."""
    from depthduet.inference.pretrained import training_record

    about = {
        "recipe": "mutual",
        "mode": config.get("mode"),
        "self_sup": config.get("self_sup"),
        "data": dict(config.get("data") or {}),
        "batch_size": (config.get("engine") or {}).get("batch_size"),
    }
    return training_record(info, ckpt, command, seconds, about)


def _card_metrics(
    info: dict[str, Any], config: dict[str, Any], predictor: DepthPredictor
) -> dict[str, Any]:
    """The card's ``metrics``: the run's own validation of the checkpoint and its protocol."""
    eval_cfg = config.get("eval") or {}
    return {
        "run_validation": dict(info.get("metrics") or {}),
        "protocol": eval_cfg.get("protocol", ""),
        "median_scaling": predictor.scale_ambiguous,
        "conf_fraction": eval_cfg.get("conf_fraction"),
    }


def _write_card(path: Path, card: dict[str, Any]) -> None:
    """Write the card as indented JSON, atomically."""
    import json

    from depthduet.io import atomic_write

    text = json.dumps(card, indent=2) + "\n"
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))
