"""depthduet from Python: load a shipped or trained model and call it on arrays or tensors.

Depth super-resolution (METHOD A, DSRNet) on a low-resolution depth map in any unit::

    >>> import numpy as np
    >>> import depthduet
    >>> from depthduet.io import read_depth
    >>> up = depthduet.load_upsampler("dsr-x4", device="cpu")
    >>> lr = read_depth(depthduet.example_path("indoor", "lr_x4_mm.png")).values  # mm
    >>> hr = up(lr)                                  # numpy in, numpy out, millimetres
    >>> lr.shape, hr.shape, hr.dtype
    ((48, 64), (192, 256), dtype('float32'))
    >>> gt = read_depth(depthduet.example_path("indoor", "depth_mm.png")).values
    >>> bicubic = depthduet.load_upsampler("bicubic-x4", device="cpu")
    >>> rmse = lambda a: float(np.sqrt(np.mean((a - gt) ** 2)))
    >>> rmse(hr) < rmse(bicubic(lr))                 # mm, against the true depth
    True

Monocular depth (METHOD B) with confidence, and a point cloud when intrinsics are given::

    >>> mde = depthduet.load_predictor("mde-driving")
    >>> folder = depthduet.example_path("driving")
    >>> out = mde(folder / "frame.png", K=folder / "camera.json")
    >>> out.depth.shape, out.confidence.shape, out.points.shape[1]
    ((96, 320), (96, 320), 3)
    >>> bool((out.confidence > 0).all() and (out.confidence < 1).all())
    True

Every shipped model and its card::

    >>> [m["name"] for m in depthduet.list_models() if m["kind"] == "monocular-depth"]
    ['mde-driving']

Everything here is also reachable as ``depthduet.<name>`` (imported on first use, so
``import depthduet`` stays fast).
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from depthduet.errors import UserError
from depthduet.inference.dsr import resolve_device
from depthduet.paths import example_path, list_examples

__all__ = [
    "PRECISIONS",
    "Prediction",
    "Predictor",
    "Upsampler",
    "example_path",
    "list_examples",
    "list_models",
    "load_predictor",
    "load_upsampler",
]

#: ``precision`` of :func:`load_upsampler` -> torch dtype the network runs in
PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def _is_tensor(x: Any) -> bool:
    return isinstance(x, torch.Tensor)


def _to_numpy(x: Any) -> np.ndarray:
    if _is_tensor(x):
        return x.detach().cpu().numpy()
    return np.asarray(x)


# ----------------------------------------------------------------------------- upsampling
class _Cast(nn.Module):
    """Runs a network in another float type: ``(B, 1, h, w)`` float32 in and out."""

    def __init__(self, net: nn.Module, dtype: torch.dtype) -> None:
        super().__init__()
        self.net = copy.deepcopy(net).to(dtype)
        self.dtype = dtype
        self.scale = int(net.scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.to(self.dtype)).float()


class Upsampler:
    """A depth super-resolution model ready to call (made by :func:`load_upsampler`).

    Call it on a low-resolution depth or disparity map in any unit (metres, millimetres, 8-bit
    disparity...); the result is ``scale`` times larger, in the same unit::

        hr = up(lr)                    # (h, w) -> (s*h, s*w)
        hr, hr_valid = up(lr, valid)   # with a validity mask in and out

    Inputs of any size are processed in overlapping tiles (memory stays bounded), normalised
    from their valid pixels, with holes filled before the network and kept as holes after it
    (:class:`depthduet.inference.dsr.DepthUpsampler` does all of this; this class adds the
    shapes and types).

    Attributes:
        module: the plain ``torch.nn.Module`` (eager, float32; ``None`` for bicubic): it maps a
            normalised, hole-filled ``(B, 1, h, w)`` tensor to ``(B, 1, s*h, s*w)``.
        upsampler: the :class:`~depthduet.inference.dsr.DepthUpsampler` doing the work.
        scale: the factor ``s``. name: the model name or checkpoint path.
        precision: ``"fp32"``, ``"fp16"`` or ``"bf16"``. lr_grid: the default sampling grid.
    """

    def __init__(self, upsampler: Any, *, precision: str = "fp32", lr_grid: str = "center") -> None:
        from depthduet.inference.dsr import LR_GRIDS

        if lr_grid not in LR_GRIDS:
            raise UserError(f"lr_grid: expected one of {', '.join(LR_GRIDS)}, got {lr_grid!r}")
        self.upsampler = upsampler
        self.precision = precision
        self.lr_grid = lr_grid

    @property
    def module(self) -> nn.Module | None:
        return self.upsampler.module

    @property
    def scale(self) -> int:
        return int(self.upsampler.scale)

    @property
    def name(self) -> str:
        return str(self.upsampler.name)

    @property
    def device(self) -> torch.device:
        return self.upsampler.device

    def __repr__(self) -> str:
        fast = ", fast CPU path" if getattr(self.upsampler, "fast", False) else ""
        return (
            f"Upsampler({self.name!r}, x{self.scale}, {self.precision}, "
            f"device={str(self.device)!r}{fast})"
        )

    def __call__(
        self,
        depth: Any,
        valid: Any | None = None,
        *,
        lr_grid: str | None = None,
        return_mask: bool | None = None,
    ) -> Any:
        """Super-resolve one map or a batch.

        Args:
            depth: numpy array or torch tensor (any device, any real dtype) of shape
                ``(h, w)``, ``(1, h, w)`` or ``(B, 1, h, w)``, in any unit.
            valid: the same shape, bool (True = valid); ``None``: valid where ``depth`` is
                finite and > 0. Values at invalid pixels never affect the output.
            lr_grid: ``"center"`` (block means, resizes), ``"point"`` (point samples
                ``hr[s//2::s]``) or ``"corner"`` (``hr[::s]``): where the LR samples sit on the HR grid
                (default: the one given to :func:`load_upsampler`; see
                :mod:`depthduet.inference.dsr`).
            return_mask: also return the HR validity; default: when ``valid`` was given.

        Returns:
            The HR map, shape ``(s*h, s*w)``, ``(1, s*h, s*w)`` or ``(B, 1, s*h, s*w)``
            float32, in the unit of ``depth`` (numpy for numpy input, a tensor on the input's
            device for tensor input; invalid pixels are 0), and with ``return_mask`` the HR
            validity (bool, same shape and type): an HR pixel is valid iff the LR pixel
            containing it is.

        Raises:
            UserError: a shape that is not one of the above, a mask of another shape, or a
                map whose output would exceed the size limit.
        """
        grid = self.lr_grid if lr_grid is None else lr_grid
        want_mask = valid is not None if return_mask is None else bool(return_mask)
        tensor_in = _is_tensor(depth)
        device = depth.device if tensor_in else None
        d = _to_numpy(depth)
        if d.ndim == 2:
            lead: tuple[int, ...] = ()
        elif d.ndim == 3 and d.shape[0] == 1:
            lead = (1,)
        elif d.ndim == 4 and d.shape[1] == 1:
            lead = (d.shape[0], 1)
        else:
            raise UserError(
                f"depth map: expected shape (h, w), (1, h, w) or (B, 1, h, w), got {d.shape}"
            )
        if d.dtype == np.bool_ or d.dtype.kind not in "fiu":
            raise UserError(f"depth map: expected real numbers, got dtype {d.dtype}")
        m = None
        if valid is not None:
            m = _to_numpy(valid)
            if m.shape != d.shape:
                raise UserError(
                    f"validity mask: shape {m.shape} differs from the depth map's {d.shape}"
                )
            m = m.astype(bool).reshape(-1, *d.shape[-2:])
        maps = d.reshape(-1, *d.shape[-2:])
        for one in maps[:1]:  # refuse an oversized batch before any work
            self.upsampler.check_size(*one.shape)
        outs, masks = [], []
        for i, one in enumerate(maps):
            r = self.upsampler.upsample(one, None if m is None else m[i], lr_grid=grid)
            outs.append(r.values)
            masks.append(r.valid)
        hr = np.stack(outs).reshape(*lead, *outs[0].shape)
        hv = np.stack(masks).reshape(*lead, *masks[0].shape)
        if tensor_in:
            hr_out: Any = torch.from_numpy(hr).to(device)
            hv_out: Any = torch.from_numpy(hv).to(device)
        else:
            hr_out, hv_out = hr, hv
        return (hr_out, hv_out) if want_mask else hr_out


def load_upsampler(
    name_or_checkpoint: str | os.PathLike[str] | nn.Module,
    device: str | torch.device = "auto",
    precision: str = "fp32",
    lr_grid: str = "center",
    **settings: Any,
) -> Upsampler:
    """A depth super-resolution model, ready to call on arrays or tensors.

    Args:
        name_or_checkpoint: a shipped model (``dsr-x4``...; :func:`list_models`), a training
            run folder, checkpoint folder or ``.safetensors`` file, ``"bicubic-x<s>"`` for the
            bicubic baseline, or a DSRNet module.
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``...
        precision: ``"fp32"`` (default; on a CPU through the fast path of
            :mod:`depthduet.inference.fast`, same outputs), ``"fp16"`` or ``"bf16"`` (the
            network runs in that type; normalisation and outputs stay float32).
        lr_grid: default sampling grid of the calls, ``"center"``, ``"point"`` or ``"corner"``.
        **settings: more :class:`~depthduet.inference.dsr.DepthUpsampler` settings
            (``tile``, ``overlap``, ``clamp``, ``max_output_pixels``, ``fast``,
            ``self_ensemble``...).

    Returns:
        An :class:`Upsampler`.

    Raises:
        UserError: an unknown model (the message lists the shipped ones), a monocular-depth
            model, a checkpoint that is not DSRNet, an unknown precision or device.

    Example:
        >>> up = load_upsampler("dsr-x4", device="cpu")
        >>> up.scale, type(up.module).__name__
        (4, 'DSRNet')
        >>> import torch
        >>> up(torch.full((2, 1, 5, 6), 1500.0)).shape    # a batch of tensors, millimetres
        torch.Size([2, 1, 20, 24])
    """
    from depthduet.inference.dsr import DepthUpsampler
    from depthduet.inference.pretrained import DSR_KIND, MDE_KIND, available_models

    if precision not in PRECISIONS:
        raise UserError(f"precision: expected one of {', '.join(PRECISIONS)}, got {precision!r}")
    dev = resolve_device(device)
    fp32 = precision == "fp32"
    if not fp32:
        if settings.get("fast"):
            raise UserError(f"precision {precision}: the fast CPU path runs in fp32 only")
        settings["fast"] = False
    kw = {"device": dev, **settings}
    if isinstance(name_or_checkpoint, nn.Module):
        net = name_or_checkpoint
        base = DepthUpsampler(net, int(getattr(net, "scale", 0)), **kw)
    else:
        name = os.fspath(name_or_checkpoint)
        if name.startswith("bicubic-x") and name[9:].isdigit():
            if not fp32:
                raise UserError("precision: the bicubic baseline runs in fp32 only")
            kw.pop("fast", None)
            base = DepthUpsampler.bicubic(int(name[9:]), **kw)
        elif name in available_models(kind=DSR_KIND):
            base = DepthUpsampler.from_pretrained(name, **kw)
        elif name in available_models(kind=MDE_KIND):
            raise UserError(
                f"model {name!r} is a monocular-depth model: use depthduet.load_predictor"
            )
        elif Path(name).exists():
            base = DepthUpsampler.from_checkpoint(name, **kw)
        else:  # raises, listing the shipped models
            base = DepthUpsampler.from_pretrained(name, **kw)
    if not fp32 and base.module is not None:
        net = _Cast(base.module, PRECISIONS[precision]).to(base.device)
        if base.channels_last:
            net = net.to(memory_format=torch.channels_last)
        base.network = net
    return Upsampler(base, precision=precision, lr_grid=lr_grid)


# ----------------------------------------------------------------------------- monocular depth
@dataclass
class Prediction:
    """What :class:`Predictor` returns.

    Attributes:
        depth: ``(H, W)`` (one image) or ``(B, 1, H, W)`` (a batch) float32 depth in metres
            (relative units when the model is scale-ambiguous), at the input's size; numpy for
            numpy / file input, a tensor on the input's device for tensor input.
        confidence: the same shape, in (0, 1).
        points: with intrinsics: ``(N, 3)`` float32 camera-frame points (metres; OpenCV axes
            x right, y down, z forward), one per pixel (a list of them for a batch); else
            ``None``.
        colors: with intrinsics: ``(N, 3)`` uint8 colour of each point (a list for a batch).
    """

    depth: Any
    confidence: Any
    points: Any = None
    colors: Any = None


def _intrinsics(K: Any) -> np.ndarray:
    from depthduet.data.folder import check_intrinsics, intrinsics_matrix, read_camera

    if isinstance(K, str | os.PathLike):
        return read_camera(K).K
    a = _to_numpy(K).astype(np.float64)
    if a.size == 4:
        return check_intrinsics(intrinsics_matrix(*a.reshape(-1).tolist()), "K")
    if a.size != 9:
        raise UserError(f"K: expected a 3x3 matrix, (fx, fy, cx, cy) or a file, got {a.shape}")
    return check_intrinsics(a.reshape(3, 3), "K")


class Predictor:
    """A monocular depth model ready to call (made by :func:`load_predictor`).

    ``pred = predictor(image, K=None)`` with ``image`` a file path, an ``(H, W, 3)`` array
    (uint8, uint16 or float in [0, 1]; ``(H, W)`` grey is replicated) or a tensor
    ``(3, H, W)`` / ``(B, 3, H, W)`` in [0, 1]; ``K`` the intrinsics of the image (a 3x3
    matrix, ``(fx, fy, cx, cy)`` in pixels, or an intrinsics file such as ``camera.json``).
    Returns a :class:`Prediction` at the input's size. The image is resized to the network's
    size (:attr:`size`) and the outputs back
    (:class:`depthduet.inference.mde.DepthPredictor` does the work).

    Attributes:
        module: the plain ``torch.nn.Module`` (``DepthNet``, eager float32): ``(B, 3, H, W)``
            in [0, 1] -> ``{"disp": [...], "conf": [...]}`` (see ``depthduet.models.mde``).
        predictor: the :class:`~depthduet.inference.mde.DepthPredictor`.
        size: ``(H, W)`` the network runs at. scale_ambiguous: depth only up to scale.
    """

    def __init__(self, predictor: Any) -> None:
        self.predictor = predictor

    @property
    def module(self) -> nn.Module:
        return self.predictor.net

    @property
    def size(self) -> tuple[int, int]:
        return tuple(self.predictor.size)  # type: ignore[return-value]

    @property
    def scale_ambiguous(self) -> bool:
        return bool(self.predictor.scale_ambiguous)

    def __repr__(self) -> str:
        src = self.predictor.info.get("source", "")
        return f"Predictor({src!r}, branch {self.predictor.branch!r}, size {self.size})"

    def __call__(self, image: Any, K: Any | None = None) -> Prediction:
        """Depth and confidence of one image or a batch (see the class docstring).

        Raises:
            UserError: an unreadable file, a shape that is not an image, bad intrinsics.
        """
        from depthduet.viz import depth_to_points

        kmat = None if K is None else _intrinsics(K)
        if isinstance(image, str | os.PathLike):
            from depthduet.io import read_image

            image = read_image(image, grey=False)
        if _is_tensor(image):
            x = image
            single = x.dim() == 3
            if single:
                x = x[None]
            if x.dim() != 4 or x.shape[1] != 3:
                raise UserError(
                    f"image: expected a (3, H, W) or (B, 3, H, W) tensor, got {tuple(image.shape)}"
                )
            if x.dtype == torch.uint8:
                x = x.float() / 255.0
            depth, conf = self.predictor.predict_tensor(x.float().clamp(0, 1))
            depth, conf = depth.to(image.device), conf.to(image.device)
            rgb = [xi.permute(1, 2, 0).cpu().numpy() for xi in x.float().clamp(0, 1)]
            dn = depth[:, 0].cpu().numpy()
            if single:
                depth, conf = depth[0, 0], conf[0, 0]
        else:
            a = np.asarray(image)
            if a.ndim not in (2, 3):
                raise UserError(f"image: expected (H, W, 3) RGB, got shape {a.shape}")
            depth, conf = self.predictor.predict(a)
            single = True
            rgb = [a]
            dn = depth[None]
        points = colors = None
        if kmat is not None:
            clouds = [depth_to_points(dn[i], kmat, rgb=rgb[i]) for i in range(len(dn))]
            if single:
                points, colors = clouds[0]
            else:
                points = [c[0] for c in clouds]
                colors = [c[1] for c in clouds]
            if _is_tensor(image):
                if single:
                    points = torch.from_numpy(points)
                else:
                    points = [torch.from_numpy(p) for p in points]
        return Prediction(depth, conf, points, colors)


def load_predictor(
    name_or_checkpoint: str | os.PathLike[str] = "mde-driving",
    device: str | torch.device = "cpu",
    branch: str | None = None,
) -> Predictor:
    """A monocular depth model, ready to call on an RGB image.

    Args:
        name_or_checkpoint: a shipped model (``mde-driving``; :func:`list_models`) or a
            METHOD B training run folder, checkpoint folder or ``depth_u``/``depth_s``
            ``.safetensors`` file.
        device: ``"cpu"`` (default), ``"auto"``, ``"cuda"``...
        branch: ``"u"`` or ``"s"`` (default: the one the checkpoint evaluates).

    Returns:
        A :class:`Predictor`.

    Raises:
        UserError: an unknown model (the message lists the shipped ones), a depth
            super-resolution model, or a checkpoint of the other method.

    Example:
        >>> p = load_predictor()
        >>> p.size, type(p.module).__name__
        ((64, 160), 'DepthNet')
    """
    from depthduet.inference.mde import DepthPredictor
    from depthduet.inference.pretrained import MDE_KIND, available_models

    dev = resolve_device(device)
    name = os.fspath(name_or_checkpoint)
    if name not in available_models(kind=MDE_KIND) and Path(name).exists():
        return Predictor(DepthPredictor.from_checkpoint(name, branch, dev))
    return Predictor(DepthPredictor.from_pretrained(name, branch, dev))


# ----------------------------------------------------------------------------- catalogues
def list_models() -> list[dict[str, Any]]:
    """Every shipped model with its card.

    Returns:
        One dict per model whose weights are present (``dsr-x*`` and ``mde-*``): the model
        card's contents (``name``, ``file``, ``sha256``, ``training``, ``metrics``, ...) plus
        ``kind`` (``"depth-super-resolution"`` or ``"monocular-depth"``) and ``weights``
        (the file's path).

    Example:
        >>> cards = {m["name"]: m for m in list_models()}
        >>> cards["dsr-x4"]["kind"], cards["dsr-x4"]["scale"]
        ('depth-super-resolution', 4)
    """
    from depthduet.inference.pretrained import shipped_models

    return shipped_models()
