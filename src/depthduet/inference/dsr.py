"""Depth super-resolution at test time (METHOD.md A.5: DSRNet alone, depth only).

:class:`DepthUpsampler` turns a low-resolution depth map in *any* unit and range (8-bit
disparity PNGs, millimetre PNGs, metric float maps) into one ``s`` times larger, in the same unit,
with the same invalid pixels. The steps:

1. **Validity.** Pixels that are non-finite, or flagged invalid by the caller (by default:
   values <= 0, as ``depthduet.io`` reads files), are invalid.
2. **Normalisation** (``depthduet.depth.normalize_depth``), once per image, from the valid
   LR pixels of the WHOLE map (never per tile, so all tiles share one affine map):
   ``x_n = (x - lo) / (hi - lo)`` with ``lo, hi`` the min and max (``norm="minmax"``) or the
   ``pct`` percentiles (``norm="percentile"``) of the valid pixels, as the model was trained.
   Depth in metres and the same depth in millimetres give the same ``x_n``: one set of weights
   serves every unit.
3. **Hole filling** (``depthduet.depth.fill_invalid``), once per image, in normalised
   units: invalid LR pixels take values interpolated from their valid surroundings, so they
   never pull valid neighbours towards 0 and the values stored at invalid pixels cannot affect
   the output.
4. **Network**, tile by tile (``depthduet.inference.tiling``): overlapping LR tiles with a
   context margin and a cosine blend ramp, so memory is bounded by the tile size.
5. **Back to units**: ``x = x_n * (hi - lo) + lo``; by default (``clamp=True``) clipped to the
   range ``[min, max]`` of the valid LR pixels, so the output never leaves the input's range
   (and positive depth never becomes 0, which files read as invalid).
6. **Invalid pixels**: an HR pixel is invalid iff the LR pixel whose footprint contains it
   (its nearest LR pixel: HR pixel ``(Y, X)`` lies in LR pixel ``(Y // s, X // s)``) is
   invalid; invalid HR pixels are 0 with ``valid == False``.

**Sampling grid** (``lr_grid``). Where an LR pixel sits on the HR grid cannot be read from the
map alone, so it is stated:

* ``"center"`` (default): LR pixel ``i`` stands for the centre ``s*i + (s-1)/2`` of its
  ``s x s`` block: block means, bicubic / bilinear resizes (antialiased or not), most sensors'
  LR maps. The models are trained and run on this grid.
* ``"point"``: point samples ``hr[s//2::s]`` (LR pixel ``i`` is HR pixel ``s*i + s//2``, what
  ``depthduet degrade --degradation nearest`` makes), half an HR pixel beyond the block centre for
  even ``s``. The network runs through the dihedral self-ensemble with its flipped members
  aligned on that grid (:mod:`depthduet.inference.self_ensemble`): eight passes.
* ``"corner"``: point samples ``hr[::s]`` (LR pixel ``i`` is HR pixel ``s*i``; what plain
  slicing gives, and how many sparse sensors and decimation scripts place their samples). The
  LR map is padded by one row / column (repeated), upsampled as ``"point"`` and the output is
  taken from ``s//2`` pixels further on, so that HR pixel ``Y`` comes from the ``"point"``
  result's ``Y + s//2``: the exact shift between the two point grids. The invalid-pixel
  policy shifts with it (HR pixel ``Y`` belongs to LR pixel ``(Y + s//2) // s``).

The ``bicubic`` baseline (:meth:`DepthUpsampler.bicubic`) runs the same pipeline with bicubic
interpolation (``align_corners=False``) in place of the network, on the block centres for
``"center"`` and ``"point"`` and with the integer shift of ``"corner"``: the baseline of the
robustness matrix (``benchmarks/dsr_robustness.py`` also reports bicubic through the point-grid
alignment).

This module imports only DSRNet (``depthduet.models.dbpn``), never DENet or SPNet.
"""

from __future__ import annotations

import functools
import os
import re
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from depthduet.depth import default_device, fill_invalid, normalize_depth
from depthduet.errors import UserError
from depthduet.inference.self_ensemble import check_self_ensemble, self_ensemble
from depthduet.inference.tiling import tiled_upsample
from depthduet.io import DepthMap
from depthduet.models.dbpn import DSRNet

__all__ = [
    "DEFAULT_TILING",
    "LR_GRIDS",
    "DepthUpsampler",
    "SUPPORTED_SCALES",
    "infer_dsrnet_arch",
    "load_dsrnet_state",
    "resolve_device",
]

SUPPORTED_SCALES = (2, 4, 8, 16)

#: default :attr:`DepthUpsampler.max_output_pixels`: 16384 x 16384
DEFAULT_MAX_OUTPUT_PIXELS = 2**28
#: peak memory per output pixel of :meth:`DepthUpsampler.upsample` beyond the model's own
#: tile buffers, as measured by benchmarks/dsr_memory.py (float32 output + blend buffer +
#: validity); used for the estimate in the size check
BYTES_PER_OUTPUT_PIXEL = 10

#: where the LR samples sit on the HR grid (see the module docstring)
LR_GRIDS = ("center", "point", "corner")

#: scale -> default (tile, overlap) in LR pixels. An HR tile is ``(s * tile)^2`` pixels, so
#: larger factors get smaller LR tiles (x16: 48 -> 768 HR) to keep memory bounded; DSRNet's
#: receptive field in LR pixels shrinks with the scale (its projection kernels span about
#: 1.25 LR pixels at x8/x16 against 2-3 at x2/x4), so a smaller overlap suffices there.
DEFAULT_TILING: dict[int, tuple[int, int]] = {2: (128, 16), 4: (128, 16), 8: (64, 8), 16: (48, 8)}

#: prefixes that wrappers add to parameter names (DDP, torch.compile, a recipe's sub-module)
_PREFIXES = ("module.", "_orig_mod.", "dsr.", "net.", "network.")


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``"auto"``/``None`` -> CUDA when available else CPU; otherwise ``torch.device(device)``.

    Raises:
        UserError: an unknown device string, or CUDA requested but not available.
    """
    if device is None or str(device) == "auto":
        return torch.device(default_device())
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise UserError(
            f"--device {device!r}: not a torch device (auto, cpu, cuda, cuda:1)"
        ) from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UserError(
            f"--device {device}: CUDA is not available (torch.cuda.is_available() is False)"
        )
    return dev


def _strip_prefixes(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    changed = True
    while changed:
        changed = False
        for p in _PREFIXES:
            if state and all(k.startswith(p) for k in state):
                state = {k[len(p) :]: v for k, v in state.items()}
                changed = True
    return state


def infer_dsrnet_arch(state: dict[str, torch.Tensor], source: str = "weights") -> dict[str, int]:
    """Read DSRNet's sizes from its weights: ``{"scale", "n_feats", "n_base", "n_stages"}``.

    ``n_feats`` is the output width of the first shallow conv, ``n_base`` that of the 1x1
    shallow conv, ``n_stages`` the number of up-projection units and ``scale`` follows from the
    deconvolution kernel size (METHOD.md A.1: 6, 8, 12, 20 for x2, x4, x8, x16).

    Args:
        state: parameter name -> tensor, each the shape of that DSRNet parameter (e.g. the
            first shallow conv's weight ``(n_feats, 1, 3, 3)``).
        source: what ``state`` came from, for error messages.

    Raises:
        UserError: the tensors are not a DSRNet state dict.
    """
    from depthduet.models.blocks import PROJECTION_SETTINGS

    try:
        n_feats = int(state["shallow.0.0.weight"].shape[0])
        n_base = int(state["shallow.2.0.weight"].shape[0])
        k = int(state["ups.0.up0.0.weight"].shape[-1])
    except KeyError as e:
        raise UserError(f"{source}: not a DSRNet state dict (no tensor {e.args[0]!r})") from None
    stages = {int(m.group(1)) for key in state if (m := re.match(r"ups\.(\d+)\.", key))}
    by_kernel = {v[0]: s for s, v in PROJECTION_SETTINGS.items()}
    if k not in by_kernel:
        raise UserError(f"weights: DSRNet deconvolution kernel {k} matches no supported scale")
    return {"scale": by_kernel[k], "n_feats": n_feats, "n_base": n_base, "n_stages": len(stages)}


def load_dsrnet_state(state: dict[str, torch.Tensor], source: str = "weights") -> DSRNet:
    """Build a DSRNet sized from ``state`` (see :func:`infer_dsrnet_arch`) and load it.

    Wrapper prefixes (``module.``, ``_orig_mod.``...) are removed; tensors that DSRNet does not
    have (e.g. side-output heads used only in training) are ignored; missing ones, and any NaN
    or inf value, are an error.

    Args:
        state: parameter name -> tensor, each the same shape as the DSRNet parameter it names.
        source: what ``state`` came from, for error messages.
    """

    state = _strip_prefixes(dict(state))
    arch = infer_dsrnet_arch(state, source)
    net = DSRNet(arch["scale"], arch["n_feats"], arch["n_base"], arch["n_stages"])
    own = net.state_dict()
    missing = [k for k in own if k not in state]
    if missing:
        raise UserError(f"{source}: DSRNet tensors missing: {', '.join(missing[:5])}")
    bad = [k for k in own if tuple(state[k].shape) != tuple(own[k].shape)]
    if bad:
        raise UserError(
            f"{source}: tensor {bad[0]!r} has shape {tuple(state[bad[0]].shape)}, "
            f"DSRNet expects {tuple(own[bad[0]].shape)}"
        )
    nonfinite = [k for k in own if not bool(torch.isfinite(state[k].float()).all())]
    if nonfinite:
        raise UserError(
            f"{source}: tensor {nonfinite[0]!r} holds NaN or inf values (a diverged run?); "
            "these weights cannot be used"
        )
    net.load_state_dict({k: state[k].float() for k in own}, strict=True)
    return net


def _lookup(d: Any, key: str) -> Any:
    """First value of ``key`` anywhere in a nested mapping (breadth first), else ``None``."""
    queue = [d]
    while queue:
        cur = queue.pop(0)
        if isinstance(cur, dict):
            if key in cur and not isinstance(cur[key], dict):
                return cur[key]
            queue.extend(v for v in cur.values() if isinstance(v, dict))
    return None


class DepthUpsampler:
    """Upsample depth maps of any unit and size with DSRNet (or bicubic), tiled.

    Args:
        network: a DSRNet (or any module mapping normalised ``(1, 1, h, w)`` to
            ``(1, 1, s*h, s*w)``); ``None`` for the bicubic baseline.
        scale: the factor ``s`` (must match the network's).
        norm, pct: normalisation, as the model was trained (see the module docstring).
        tile, overlap, blend: tiling in LR pixels (``tile <= 0``: whole map at once;
            ``None``: :data:`DEFAULT_TILING` of the scale; ``blend=None``: equal to
            ``overlap``).
        device: ``"auto"``, ``"cpu"``, ``"cuda"``...
        clamp: clip the output to the valid LR range.
        channels_last: run the network in channels-last memory format (same numbers up to
            float rounding; on CPU 1.5-2.5x faster at every scale with oneDNN, see
            ``benchmarks/dsr_speed.py --compare-layout``).
        name: a label (model name or checkpoint path) for logs and parameter files.
        max_output_pixels: refuse inputs whose output has more pixels (0 = no limit); the
            default, 2^28 (16384 x 16384), needs about 3 GiB (:data:`BYTES_PER_OUTPUT_PIXEL`).
        fast: run a DSRNet through :class:`depthduet.inference.fast.FastDSRNet` (same weights,
            same outputs up to float rounding, several times faster on a CPU) with the tile
            sizes of :data:`depthduet.inference.fast.FAST_PLAN`; ``None`` (default): on a CPU
            in channels-last layout. :attr:`module` is always the plain network.
        self_ensemble: on the centre grid, ``"none"`` (one pass per tile), ``"transpose"``
            (two) or ``"dihedral"`` (eight; :mod:`depthduet.inference.self_ensemble`). The
            point and corner grids always run the dihedral ensemble aligned on their grid.
            Ignored by the bicubic baseline.

    Attributes:
        module: the network as given (eager, float32; ``None`` for bicubic); :attr:`network`
            is what runs (``module`` itself, or its fast equivalent).
    """

    def __init__(
        self,
        network: nn.Module | None,
        scale: int,
        *,
        norm: str = "minmax",
        pct: tuple[float, float] = (1.0, 99.0),
        tile: int | None = None,
        overlap: int | None = None,
        blend: int | None = None,
        device: str | torch.device | None = "auto",
        clamp: bool = True,
        name: str = "",
        channels_last: bool = True,
        max_output_pixels: int = DEFAULT_MAX_OUTPUT_PIXELS,
        fast: bool | None = None,
        self_ensemble: str = "none",
    ) -> None:
        scale = int(scale)
        check_self_ensemble(self_ensemble)
        if scale not in SUPPORTED_SCALES:
            raise UserError(f"scale {scale}: supported scales are {SUPPORTED_SCALES}")
        device = resolve_device(device)
        if fast is None:
            fast = isinstance(network, DSRNet) and device.type == "cpu" and bool(channels_last)
        elif fast and not isinstance(network, DSRNet):
            raise UserError(f"{name or 'model'}: the fast path needs a DSRNet")
        tiling = DEFAULT_TILING[scale]
        if fast:
            from depthduet.inference.fast import FAST_PLAN

            tiling = FAST_PLAN[scale][1:]
        tile = tiling[0] if tile is None else int(tile)
        overlap = tiling[1] if overlap is None else int(overlap)
        net_scale = getattr(network, "scale", scale)
        if network is not None and int(net_scale) != scale:
            raise UserError(f"{name or 'model'}: trained for x{net_scale}, asked for x{scale}")
        if norm not in ("minmax", "percentile"):
            raise UserError(f"norm: expected 'minmax' or 'percentile', got {norm!r}")
        if tile > 0 and tile <= 2 * overlap + (overlap if blend is None else blend):
            raise UserError(
                f"--tile {tile}: must exceed 2*overlap + blend "
                f"({2 * overlap + (overlap if blend is None else blend)})"
            )
        if overlap < 0 or (blend is not None and blend < 0):
            raise UserError("--overlap and blend must be >= 0")
        self.device = device
        self.channels_last = bool(channels_last)
        self.network = network.to(self.device).eval() if network is not None else None
        self.module = self.network
        self.fast = bool(fast)
        if self.fast:  # runs a channels-last copy; the module keeps its own layout
            from depthduet.inference.fast import FastDSRNet

            self.network = FastDSRNet.from_dsrnet(network).to(self.device)
        elif self.network is not None:
            fmt = torch.channels_last if self.channels_last else torch.contiguous_format
            self.network = self.network.to(memory_format=fmt)
        self.scale = scale
        self.norm = norm
        self.pct = (float(pct[0]), float(pct[1]))
        self.tile = int(tile)
        self.overlap = int(overlap)
        self.blend = blend
        self.clamp = clamp
        self.max_output_pixels = int(max_output_pixels)
        self.self_ensemble = self_ensemble
        self.name = name or ("bicubic" if network is None else "dsrnet")

    # ------------------------------------------------------------------ constructors
    @classmethod
    def bicubic(cls, scale: int, **kwargs: Any) -> DepthUpsampler:
        """The bicubic baseline with the same interface (and the same normalisation, filling,
        tiling and invalid-pixel policy)."""
        kwargs.setdefault("name", "bicubic")
        return cls(None, scale, **kwargs)

    @classmethod
    def from_pretrained(
        cls, name: str, *, folder: str | os.PathLike[str] | None = None, **kwargs: Any
    ) -> DepthUpsampler:
        """A shipped model (``dsr-x2`` ... ``dsr-x16``, ``depthduet info``; see
        :mod:`depthduet.hub`). Raises :class:`UserError` listing the available
        models when ``name`` is not shipped."""
        from depthduet.hub import load_pretrained

        state, card = load_pretrained(name, folder)
        net = load_dsrnet_state(state, source=str(card.weights_path()))
        if net.scale != card.scale:
            raise UserError(f"{card.path}: card says x{card.scale}, weights are x{net.scale}")
        kwargs.setdefault("norm", card.norm)
        kwargs.setdefault("pct", tuple(card.pct))
        kwargs.setdefault("name", card.name)
        return cls(net, card.scale, **kwargs)

    @classmethod
    def from_checkpoint(
        cls,
        path: str | os.PathLike[str],
        *,
        network: str | None = None,
        prefer: str = "best",
        **kwargs: Any,
    ) -> DepthUpsampler:
        """A trained DSRNet from a run folder (``checkpoints/best``, else ``last``), a checkpoint
        folder or a ``.safetensors`` file (``depthduet.engine.checkpoint`` layout).

        Args:
            path: the checkpoint.
            network: the network's name in the checkpoint; default ``dsr`` when present, else
                the checkpoint's single inference network.
            prefer: ``best`` or ``last`` in a run folder.
            **kwargs: :class:`DepthUpsampler` settings (tile, overlap, device...).

        The network's sizes are read from the weights (:func:`infer_dsrnet_arch`); the
        normalisation from the checkpoint's configuration (``model.norm``, ``model.norm_pct`` of
        ``depthduet.recipes.ctkt``) when it names one (default ``minmax``).
        """
        from depthduet.engine.checkpoint import load_checkpoint, read_model_info, resolve_checkpoint

        ckpt = resolve_checkpoint(path, prefer)
        if ckpt.is_file():
            config, weights = load_checkpoint(ckpt)
        else:
            info = read_model_info(ckpt)
            names = list(info.get("networks") or {})
            recipe = str(info.get("recipe") or "")
            if network is None and "dsr" not in names and recipe == "mutual":
                raise UserError(
                    f"{ckpt}: a METHOD B (mutual) monocular-depth checkpoint (networks: "
                    f"{', '.join(names)}), not depth super-resolution; use `depthduet predict "
                    "--checkpoint` for it"
                )
            if network is None:
                infer = list(info.get("inference_networks") or [])
                network = "dsr" if "dsr" in names else (infer[0] if len(infer) == 1 else None)
            if network is None:
                raise UserError(
                    f"{ckpt}: cannot tell which network is DSRNet (has: {', '.join(names)}); "
                    "name it"
                )
            config, weights = load_checkpoint(ckpt, [network])
        state = next(iter(weights.values()))
        net = load_dsrnet_state(state, source=str(ckpt))
        model_cfg = config.get("model") if isinstance(config.get("model"), dict) else config
        norm = _lookup(model_cfg, "norm")
        pct = _lookup(model_cfg, "norm_pct")
        if pct is None:
            pct = _lookup(model_cfg, "pct")
        if isinstance(norm, str) and norm in ("minmax", "percentile"):
            kwargs.setdefault("norm", norm)
        if isinstance(pct, list | tuple) and len(pct) == 2:
            kwargs.setdefault("pct", (float(pct[0]), float(pct[1])))
        kwargs.setdefault("name", str(path))
        return cls(net, net.scale, **kwargs)

    # ------------------------------------------------------------------ inference
    def check_size(self, h: int, w: int) -> None:
        """Refuse, before any work, an ``(h, w)`` input whose output exceeds
        :attr:`max_output_pixels` (0 = no limit).

        Raises:
            UserError: with the sizes, the estimated memory and how to lift the limit.
        """
        n = (self.scale * h) * (self.scale * w)
        if self.max_output_pixels and n > self.max_output_pixels:
            raise UserError(
                f"a {h}x{w} map upsampled x{self.scale} is {self.scale * h}x{self.scale * w} "
                f"({n / 1e6:.0f} Mpx, about {n * BYTES_PER_OUTPUT_PIXEL / 2**30:.1f} GiB), over "
                f"the limit of {self.max_output_pixels / 1e6:.0f} Mpx; pass --max-pixels 0 "
                "(max_output_pixels=0) to lift it, or crop the map"
            )

    def _run_tile(self, x: torch.Tensor, point: bool = False) -> torch.Tensor:
        if self.network is None:
            return F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)
        kind = "dihedral" if point else self.self_ensemble
        return self_ensemble(self._run_network, x, self.scale, kind, point_samples=point)

    def _run_network(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.network(x).contiguous()

    def describe(self) -> dict[str, Any]:
        """The settings, for parameter files and logs."""
        return {
            "model": self.name,
            "scale": self.scale,
            "norm": self.norm,
            "pct": list(self.pct),
            "tile": self.tile,
            "overlap": self.overlap,
            "blend": self.overlap if self.blend is None else self.blend,
            "clamp": self.clamp,
            "device": str(self.device),
            "channels_last": self.channels_last,
            "fast_path": self.fast,
            "invalid_policy": "HR pixel invalid iff the LR pixel containing it is invalid",
            "lr_grids": "center (default) | point | corner, chosen per call",
            "self_ensemble": self.self_ensemble if self.network is not None else "none",
        }

    @torch.no_grad()
    def upsample(
        self, values: np.ndarray, valid: np.ndarray | None = None, lr_grid: str = "center"
    ) -> DepthMap:
        """Super-resolve one depth map.

        Args:
            values: ``(h, w)`` LR depth / disparity in any unit (float or integer array).
            valid: ``(h, w)`` bool, or ``None``: valid where ``values`` is finite and > 0 (as
                ``depthduet.io`` reads files). Non-finite values are invalid in any case.
            lr_grid: ``"center"`` (default), ``"point"`` or ``"corner"``: where the LR samples
                sit on the HR grid (see the module docstring).

        Returns:
            :class:`depthduet.io.DepthMap` ``(values (s*h, s*w) float32, valid (s*h, s*w))`` in
            the unit of ``values``; invalid pixels are 0.
        """
        if lr_grid not in LR_GRIDS:
            raise UserError(f"lr_grid: expected one of {', '.join(LR_GRIDS)}, got {lr_grid!r}")
        if lr_grid == "corner":
            return self._upsample_corner(values, valid)
        return self._upsample(values, valid, point=lr_grid == "point")

    def _upsample(self, values: np.ndarray, valid: np.ndarray | None, point: bool) -> DepthMap:
        """:meth:`upsample` on the centre (``point=False``) or the point grid."""
        values = np.asarray(values)
        if values.ndim != 2 or values.size == 0:
            raise UserError(f"depth map: expected a non-empty 2-D array, got shape {values.shape}")
        v = values.astype(np.float64, copy=False)
        finite = np.isfinite(v)
        if valid is None:
            with np.errstate(invalid="ignore"):
                ok = finite & (v > 0)
        else:
            valid = np.asarray(valid)
            if valid.shape != values.shape:
                raise UserError(
                    f"validity mask: shape {valid.shape} differs from the depth map's {values.shape}"
                )
            ok = valid.astype(bool) & finite
        s = self.scale
        h, w = values.shape
        self.check_size(h, w)
        if ok.any() and float(np.abs(v[ok]).max()) > float(np.finfo(np.float32).max):
            raise UserError(
                f"depth map: values up to {np.abs(v[ok]).max():.3g} exceed the float32 range "
                "of the output; rescale the map (--in-scale)"
            )
        hr_valid = np.repeat(np.repeat(ok, s, axis=0), s, axis=1)
        if not ok.any():
            return DepthMap(np.zeros((s * h, s * w), np.float32), hr_valid)
        # normalise + fill on the whole map (float64 statistics, float32 network input)
        depth = torch.from_numpy(np.where(ok, v, 0.0))[None, None]
        mask = torch.from_numpy(ok)[None, None]
        x_n, lo, hi = normalize_depth(depth, mask, norm=self.norm, pct=self.pct)
        x_n = fill_invalid(x_n, mask).float()
        y_n = tiled_upsample(
            functools.partial(self._run_tile, point=point),
            x_n[0],
            s,
            tile=self.tile,
            overlap=self.overlap,
            blend=self.blend,
            device=self.device,
        )[0]
        # back to units in float32, in place: about 5 bytes per output pixel beyond the
        # tiling buffer (benchmarks/dsr_memory.py)
        out = y_n.numpy()
        out *= np.float32(float(hi[0, 0, 0, 0] - lo[0, 0, 0, 0]))
        out += np.float32(float(lo[0, 0, 0, 0]))
        if self.clamp:
            vv = v[ok]
            np.clip(out, np.float32(vv.min()), np.float32(vv.max()), out=out)
        out[~hr_valid] = 0.0
        return DepthMap(out, hr_valid)

    def _upsample_corner(self, values: np.ndarray, valid: np.ndarray | None) -> DepthMap:
        """Corner-grid LR: pad one row / column (repeated), upsample on the point grid, and
        take the output ``s // 2`` HR pixels further on (module docstring, "Sampling grid")."""
        values = np.asarray(values)
        if values.ndim != 2 or values.size == 0:
            raise UserError(f"depth map: expected a non-empty 2-D array, got shape {values.shape}")
        if valid is not None:
            valid = np.asarray(valid)
            if valid.shape != values.shape:
                raise UserError(
                    f"validity mask: shape {valid.shape} differs from the depth map's {values.shape}"
                )
            valid = np.pad(valid.astype(bool), ((0, 1), (0, 1)), mode="edge")
        padded = np.pad(values, ((0, 1), (0, 1)), mode="edge")
        big = self.upsample(padded, valid, "point")
        s, o = self.scale, self.scale // 2
        h, w = values.shape
        crop = (slice(o, o + s * h), slice(o, o + s * w))
        return DepthMap(
            np.ascontiguousarray(big.values[crop]), np.ascontiguousarray(big.valid[crop])
        )

    __call__ = upsample
