"""Export shipped or trained models to ONNX and TorchScript, with the pre- and post-processing
inside the graph, and measure the exported file against the eager model.

**Depth super-resolution** (DSRNet, :class:`DSRExport`). One input, one pass, no tiling:

* input ``lr_depth``: ``(B, 1, h, w)`` float32 in any unit (dynamic batch, height and width);
  a pixel is valid where it is finite and > 0 (mark holes with 0 or NaN);
* inside the graph, both formats: per-sample min-max normalisation from the valid pixels
  (a constant map gets ``hi = lo + 1``), hole filling (the pyramid of
  ``depthduet.depth.fill_invalid``, unrolled to :data:`FILL_LEVELS` levels: exact for
  maps up to ``2**FILL_LEVELS`` pixels on a side), DSRNet, de-normalisation, clamping to the
  valid input range, and the invalid-pixel policy;
* outputs ``hr_depth`` ``(B, 1, s*h, s*w)`` float32 in the input's unit (0 where invalid) and
  ``hr_valid`` ``(B, 1, s*h, s*w)`` bool (an HR pixel is valid iff the LR pixel containing
  it is).

What stays with the caller: maps that do not fit in memory at once (the graph has no tiling:
cut the map into overlapping tiles as ``depthduet.inference.tiling`` does, normalising from
the whole map), LR maps on the corner grid (pad one row and column by repetition, run, crop
``s // 2`` pixels on; see ``depthduet.inference.dsr``), and validity masks other than "finite
and > 0" (write 0 at the pixels to ignore). Models trained with percentile normalisation are
refused (percentiles have no ONNX operator).

**Monocular depth** (DepthNet, :class:`MDEExport`):

* input ``image``: ``(B, 3, H, W)`` float32 RGB in [0, 1], any size (dynamic batch, height,
  width);
* inside the graph, both formats: the antialiased bilinear resize to the network's size (the
  card's ``input_size``; written as two matrix products so that ONNX can hold it), DepthNet,
  the bilinear resize of its outputs back to ``H x W``, and disparity -> depth;
* outputs ``depth`` ``(B, 1, H, W)`` (metres, or relative units for a scale-ambiguous model)
  and ``confidence`` ``(B, 1, H, W)`` in (0, 1).

:func:`load_for_export` loads a model and its graph, :func:`write_graph` writes the file,
:func:`run_exported` runs it (``onnxruntime`` / ``torch.jit.load``) and
:func:`compare_with_eager` measures it against the eager pipeline
(:class:`~depthduet.inference.dsr.DepthUpsampler` on the whole map,
:class:`~depthduet.inference.mde.DepthPredictor`). The command's job, which writes the file
atomically and refuses it when the largest difference on a shipped example exceeds
:data:`TOLERANCE` of the output's range, is ``depthduet.apps.export.export_model``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from depthduet.errors import UserError

__all__ = [
    "FILL_LEVELS",
    "FORMATS",
    "OPSET",
    "TOLERANCE",
    "DSRExport",
    "Loaded",
    "MDEExport",
    "compare_with_eager",
    "load_for_export",
    "run_exported",
    "write_graph",
]

#: what :func:`export_model` writes
FORMATS = ("onnx", "torchscript")
#: largest accepted difference exported vs eager, relative to the output's range (the check
#: of ``depthduet.apps.export.export_model``)
TOLERANCE = 1e-4
#: pyramid levels of the in-graph hole filling: exact up to 2**FILL_LEVELS pixels per side
FILL_LEVELS = 16
#: ONNX opset written
OPSET = 17


# ----------------------------------------------------------------------------- graphs
def _fill_unrolled(x: Tensor, v: Tensor, levels: int = FILL_LEVELS) -> Tensor:
    """``depthduet.depth.fill_invalid`` with a fixed number of pyramid levels.

    The recursive original stops once a level has no hole left; going on changes nothing
    there (``where(valid, x, ...)`` keeps every pixel), so ``levels >= log2(max side)`` gives
    the same result with a graph that does not depend on the data.

    Args:
        x: ``(B, 1, H, W)`` values, 0 at invalid pixels. v: ``(B, 1, H, W)`` float {0, 1}.

    Returns:
        ``(B, 1, H, W)``, invalid pixels filled.
    """
    xs, vs = [x], [v]
    for _ in range(levels):
        num = F.avg_pool2d(xs[-1] * vs[-1], 2, 2, ceil_mode=True)
        den = F.avg_pool2d(vs[-1], 2, 2, ceil_mode=True)
        # the pooling's divisor cancels in num / den, whatever the format counts at borders
        xs.append(num / den.clamp_min(1e-12))
        vs.append((den > 0).to(x.dtype))
    out = xs[-1]
    for i in range(levels - 1, -1, -1):
        up = F.interpolate(out, size=xs[i].shape[-2:], mode="bilinear", align_corners=False)
        out = torch.where(vs[i] > 0, xs[i], up)
    return out


class DSRExport(nn.Module):
    """DSRNet with normalisation, hole filling and de-normalisation: the exported graph.

    Args:
        net: a DSRNet (eager). clamp: clip the output to the valid input range.

    Shapes: ``forward(lr_depth (B, 1, h, w))`` -> ``(hr_depth (B, 1, s*h, s*w),
    hr_valid (B, 1, s*h, s*w) bool)``; see the module docstring.
    """

    def __init__(self, net: nn.Module, clamp: bool = True) -> None:
        super().__init__()
        self.net = net
        self.scale = int(net.scale)
        self.clamp = bool(clamp)

    def forward(self, lr_depth: Tensor) -> tuple[Tensor, Tensor]:
        """Super-resolve ``lr_depth`` ``(B, 1, h, w)`` (0, NaN or inf where invalid).

        Returns:
            ``(hr_depth, hr_valid)``, each ``(B, 1, s*h, s*w)``; ``hr_valid`` is bool.
        """
        d = lr_depth.float()
        ok = torch.isfinite(d) & (d > 0)
        d0 = torch.where(ok, d, torch.zeros_like(d))
        inf = torch.full_like(d, float("inf"))
        lo = torch.where(ok, d0, inf).amin(dim=(1, 2, 3), keepdim=True)
        hi = torch.where(ok, d0, -inf).amax(dim=(1, 2, 3), keepdim=True)
        empty = ~ok.any(dim=3, keepdim=True).any(dim=2, keepdim=True)
        lo = torch.where(empty, torch.zeros_like(lo), lo)
        hi = torch.where(empty, torch.zeros_like(hi), hi)
        flat = (hi - lo) <= 1e-12 * lo.abs().clamp_min(1.0)
        span = torch.where(lo + 1.0 == lo, lo.abs(), torch.ones_like(lo))
        hi = torch.where(flat, lo + span, hi)
        v = ok.to(d.dtype)
        x_n = torch.where(ok, (d0 - lo) / (hi - lo), torch.zeros_like(d))
        x_n = _fill_unrolled(x_n, v)
        y = self.net(x_n) * (hi - lo) + lo
        vmin = torch.where(empty, torch.zeros_like(lo), lo)
        if self.clamp:
            vmax = torch.where(flat, lo, hi)  # the largest valid value
            y = torch.minimum(torch.maximum(y, vmin), vmax)
        hr_valid = F.interpolate(v, scale_factor=float(self.scale), mode="nearest") > 0.5
        return torch.where(hr_valid, y, torch.zeros_like(y)), hr_valid


def _aa_matrix(axis: Tensor, n_out: int) -> Tensor:
    """``(n_out, n_in)`` weights of PyTorch's antialiased bilinear resize along one axis
    (``interpolate(..., mode="bilinear", align_corners=False, antialias=True)``): a triangle
    of half-width ``max(n_in / n_out, 1)`` input pixels around each output centre,
    normalised.

    Args:
        axis: any ``(n_in,)`` tensor along the axis (its length is read inside the graph, so
            that traced graphs keep ``n_in`` dynamic).
    """
    ones = torch.ones_like(axis)
    n_in = ones.sum()
    scale = n_in / n_out
    support = torch.clamp(scale, min=1.0)
    j = ones.cumsum(0) - 0.5  # input pixel centres 0.5, 1.5, ...
    centre = (torch.arange(n_out, dtype=axis.dtype, device=axis.device) + 0.5) * scale
    w = torch.clamp(1.0 - (j[None, :] - centre[:, None]).abs() / support, min=0.0)
    return w / w.sum(dim=1, keepdim=True)


class MDEExport(nn.Module):
    """DepthNet with the input resize, the output resize and disparity -> depth.

    Args:
        net: a DepthNet (eager). size: ``(H, W)`` it runs at.

    Shapes: ``forward(image (B, 3, H, W))`` in [0, 1] -> ``(depth (B, 1, H, W),
    confidence (B, 1, H, W))``.
    """

    def __init__(self, net: nn.Module, size: tuple[int, int]) -> None:
        super().__init__()
        self.net = net
        self.size = (int(size[0]), int(size[1]))

    def forward(self, image: Tensor) -> tuple[Tensor, Tensor]:
        """Depth of ``image`` ``(B, 3, h, w)`` in [0, 1] (run at ``size``, resized back).

        Returns:
            ``(depth, confidence)``, each ``(B, 1, h, w)``.
        """

        from depthduet.models.mde import disp_to_depth

        x = image.float()
        h, w = x.shape[-2:]
        ay = _aa_matrix(x[0, 0, :, 0], self.size[0])
        ax = _aa_matrix(x[0, 0, 0, :], self.size[1])
        x = torch.matmul(torch.matmul(ay, x), ax.t()).clamp(0, 1)
        out = self.net(x)
        disp = F.interpolate(out["disp"][0], size=(h, w), mode="bilinear", align_corners=False)
        conf = F.interpolate(out["conf"][0], size=(h, w), mode="bilinear", align_corners=False)
        return disp_to_depth(disp, self.net.d_min, self.net.d_max), conf


# ----------------------------------------------------------------------------- loading
@dataclass
class Loaded:
    """A model ready to export: ``kind`` ``"dsr"`` or ``"mde"``, the graph module, the eager
    pipeline to compare with, a label and metadata."""

    kind: str
    graph: nn.Module
    eager: Any
    name: str
    meta: dict[str, Any]


def load_for_export(model: str | None = None, checkpoint: str | None = None) -> Loaded:
    """Load a shipped model (``model``) or a training run (``checkpoint``) for export.

    Raises:
        UserError: neither or both given, an unknown model or a checkpoint that loads as
            neither method, a DSR model with percentile normalisation.
    """
    import copy

    from depthduet.inference.pretrained import MDE_KIND, available_models

    if (model is None) == (checkpoint is None):
        raise UserError("give exactly one of --model NAME and --checkpoint RUN")
    if model is not None:
        kind = "mde" if model in available_models(kind=MDE_KIND) else "dsr"
        source = model
    else:
        from depthduet.engine.checkpoint import read_model_info, resolve_checkpoint

        ckpt = resolve_checkpoint(checkpoint, "best")
        info = read_model_info(ckpt)
        kind = "mde" if str(info.get("recipe") or "") == "mutual" else "dsr"
        source = str(checkpoint)
    if kind == "mde":
        from depthduet.inference.mde import DepthPredictor

        p = (
            DepthPredictor.from_pretrained(model)
            if model is not None
            else DepthPredictor.from_checkpoint(source)
        )
        p.net.to(memory_format=torch.contiguous_format)
        p.channels_last = False
        graph = MDEExport(copy.deepcopy(p.net), p.size).eval()
        meta = {
            "task": "monocular-depth",
            "input_size": list(p.size),
            "scale_ambiguous": p.scale_ambiguous,
            "branch": p.branch,
        }
        return Loaded("mde", graph, p, source, meta)
    from depthduet.inference.dsr import DepthUpsampler

    kw = {"device": "cpu", "fast": False, "tile": 0}
    up = (
        DepthUpsampler.from_pretrained(model, **kw)
        if model is not None
        else DepthUpsampler.from_checkpoint(source, **kw)
    )
    if up.norm != "minmax":
        raise UserError(
            f"{source}: trained with {up.norm} normalisation, which cannot be exported (no "
            "percentile operator in ONNX); only min-max models export"
        )
    up.network = up.module = up.module.to(memory_format=torch.contiguous_format)
    up.channels_last = False
    graph = DSRExport(copy.deepcopy(up.module), clamp=up.clamp).eval()
    meta = {"task": "depth-super-resolution", "scale": up.scale, "norm": up.norm}
    return Loaded("dsr", graph, up, source, meta)


# ----------------------------------------------------------------------------- writing
def write_graph(
    graph: nn.Module, fmt: str, path: str | os.PathLike[str], kind: str, meta: dict[str, Any]
) -> None:
    """Trace ``graph`` (a :class:`DSRExport` for ``kind`` ``"dsr"``, an :class:`MDEExport` for
    ``"mde"``) with dynamic batch, height and width and write it to ``path`` as ``fmt``
    (``"onnx"``: opset :data:`OPSET`, ``meta`` in the metadata; ``"torchscript"``: ``meta`` as
    ``depthduet.json``). The file is written in place: give a temporary name.

    Raises:
        UserError: ONNX without the ``onnx`` package.
    """
    if kind == "dsr":
        example = (torch.full((1, 1, 12, 16), 2.0) + torch.rand(1, 1, 12, 16),)
        names_in, names_out = ["lr_depth"], ["hr_depth", "hr_valid"]
        axes = {"lr_depth": {0: "batch", 2: "height", 3: "width"}}
        axes.update({n: {0: "batch", 2: "out_height", 3: "out_width"} for n in names_out})
    else:
        example = (torch.rand(1, 3, 96, 320),)
        names_in, names_out = ["image"], ["depth", "confidence"]
        axes = {n: {0: "batch", 2: "height", 3: "width"} for n in names_in + names_out}
    import warnings

    with warnings.catch_warnings():  # tracer notes on shape arithmetic (the graph is dynamic)
        warnings.simplefilter("ignore")
        if fmt == "onnx":
            try:
                import onnx  # noqa: F401 - torch.onnx.export needs it
            except ImportError:
                raise UserError(
                    "ONNX export needs the onnx package: pip install 'depthduet[export]'"
                ) from None
            torch.onnx.export(
                graph,
                example,
                str(path),
                dynamo=False,
                opset_version=OPSET,
                input_names=names_in,
                output_names=names_out,
                dynamic_axes=axes,
            )
            import onnx

            m = onnx.load(str(path))
            for k, v in meta.items():
                entry = m.metadata_props.add()
                entry.key, entry.value = k, json.dumps(v)
            onnx.save(m, str(path))
        else:
            with torch.no_grad():
                traced = torch.jit.trace(graph, example, check_trace=False)
            extra = {"depthduet.json": json.dumps(meta)}
            torch.jit.save(traced, str(path), _extra_files=extra)


def run_exported(path: str | os.PathLike[str], fmt: str, x: np.ndarray) -> list[np.ndarray]:
    """Run an exported file on ``x`` (``(B, 1, h, w)`` depth or ``(B, 3, H, W)`` image,
    float32) with onnxruntime (``onnx``) or ``torch.jit.load`` (``torchscript``); returns its
    outputs as numpy arrays."""
    if fmt == "onnx":
        try:
            import onnxruntime as ort
        except ImportError:
            raise UserError(
                "checking an ONNX export needs onnxruntime: pip install 'depthduet[export]'"
            ) from None
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name
        return [np.asarray(o) for o in sess.run(None, {name: x.astype(np.float32)})]
    import warnings

    with warnings.catch_warnings():  # torch.jit.load's notice that torch.export exists
        warnings.simplefilter("ignore", DeprecationWarning)
        m = torch.jit.load(str(path), map_location="cpu")
    with torch.no_grad():
        return [t.numpy() for t in m(torch.from_numpy(x.astype(np.float32)))]


def compare_with_eager(
    loaded: Loaded, path: str | os.PathLike[str], fmt: str, x: np.ndarray
) -> dict[str, float]:
    """Largest difference between the exported file and the eager pipeline on ``x``, relative
    to the range of the eager output.

    Args:
        loaded: from :func:`load_for_export`. path, fmt: the exported file and its format.
        x: DSR: an ``(h, w)`` depth map (any unit, 0 = hole); MDE: an ``(H, W, 3)`` image in
            [0, 1].

    Returns:
        DSR: ``{"depth": rel_diff, "valid_mismatch": n}``; MDE: ``{"depth": rel_diff,
        "confidence": rel_diff}``.
    """
    if loaded.kind == "dsr":
        lr = np.asarray(x, np.float32)
        ref = loaded.eager.upsample(lr)
        hr, hv = run_exported(path, fmt, lr[None, None])
        rv = ref.values[ref.valid]
        span = float(rv.max() - rv.min()) if rv.size else 1.0
        diff = float(np.abs(hr[0, 0].astype(np.float64) - ref.values).max())
        return {
            "depth": diff / max(span, 1e-12),
            "valid_mismatch": float((hv[0, 0] != ref.valid).sum()),
        }
    img = np.asarray(x, np.float32)
    t = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))[None].float()
    depth, conf = loaded.eager.predict_tensor(t)
    d, c = run_exported(path, fmt, t.numpy())
    out = {}
    for key, a, r in (("depth", d, depth.numpy()), ("confidence", c, conf.numpy())):
        span = float(r.max() - r.min())
        out[key] = float(np.abs(a.astype(np.float64) - r).max()) / max(span, 1e-12)
    return out
