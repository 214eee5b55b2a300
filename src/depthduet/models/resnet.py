"""ResNet-18 written for this project (METHOD.md B: encoder of both branches and of the pose net).

The module names follow torchvision's state-dict layout (``conv1``, ``bn1``, ``layer1.0.conv1``,
``layer2.0.downsample.0``, ..., ``fc``), so ImageNet weights saved by torchvision load
unchanged from a local file (``.pth``/``.pt`` via ``torch.load(weights_only=True)`` or
``.safetensors``); no torchvision import is needed.

- :class:`ResNet18`: the classifier (11,689,512 parameters with ``fc``).
- :class:`ResNetEncoder`: the feature pyramid used by the depth and pose networks; it accepts
  ``num_input_images`` stacked RGB frames (the pose net uses 2: the first convolution is widened
  to 6 channels and, when ImageNet weights are loaded, its kernel is repeated and divided by the
  number of frames, as monodepth2 does).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from depthduet.errors import UserError

__all__ = [
    "BasicBlock",
    "ResNet18",
    "ResNetEncoder",
    "load_torchvision_weights",
    "read_state_dict",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
]

#: input normalisation used with ImageNet weights (monodepth2 uses (x - 0.45) / 0.225)
IMAGENET_MEAN = 0.45
IMAGENET_STD = 0.225


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and an identity (or 1x1-projected) shortcut."""

    expansion = 1

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.downsample: nn.Module | None = None
        if stride != 1 or in_ch != out_ch:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_ch, out_ch, 1, stride, bias=False), nn.BatchNorm2d(out_ch)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``(B, in_ch, H, W)``.

        Returns:
            ``(B, out_ch, H/stride, W/stride)``.
        """
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


def _make_layer(in_ch: int, out_ch: int, blocks: int, stride: int) -> nn.Sequential:
    layers = [BasicBlock(in_ch, out_ch, stride)]
    layers += [BasicBlock(out_ch, out_ch, 1) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


class ResNet18(nn.Module):
    """ResNet-18 (He et al. 2016) with torchvision's module names.

    Args:
        in_channels: input channels (3, or 3 * frames for the pose network).
        num_classes: size of the ``fc`` classifier; ``0`` builds no classifier.
    """

    #: channels of the five feature maps (strides 2, 4, 8, 16, 32)
    channels = (64, 64, 128, 256, 512)

    def __init__(self, in_channels: int = 3, num_classes: int = 1000) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = _make_layer(64, 64, 2, 1)
        self.layer2 = _make_layer(64, 128, 2, 2)
        self.layer3 = _make_layer(128, 256, 2, 2)
        self.layer4 = _make_layer(256, 512, 2, 2)
        self.fc: nn.Linear | None = nn.Linear(512, num_classes) if num_classes > 0 else None
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Feature pyramid of ``x`` ``(B, C_in, H, W)``: five maps with :attr:`channels`
        channels at strides 2, 4, 8, 16, 32 (the first before max pooling).

        Returns:
            Five maps ``(B, c_i, H / 2^(i+1), W / 2^(i+1))``, ``c_i`` from :attr:`channels`.
        """
        f0 = self.relu(self.bn1(self.conv1(x)))
        f1 = self.layer1(self.maxpool(f0))
        f2 = self.layer2(f1)
        f3 = self.layer3(f2)
        f4 = self.layer4(f3)
        return [f0, f1, f2, f3, f4]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits of ``x`` ``(B, C_in, H, W)``.

        Returns:
            ``(B, num_classes)`` logits (or pooled features ``(B, 512)`` without ``fc``).
        """
        f = self.features(x)[-1].mean(dim=(2, 3))
        return f if self.fc is None else self.fc(f)


def read_state_dict(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Read a weights file: ``.safetensors`` or a torch pickle (``.pth``/``.pt``/``.bin``).

    A pickle holding ``{"state_dict": ...}`` or ``{"model": ...}`` is unwrapped.

    Returns:
        Parameter name -> tensor, each of the shape stored in the file (e.g. ``conv1.weight``
        ``(64, 3, 7, 7)``).

    Raises:
        UserError: the file is missing or is not a state dict.
    """
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: weights file not found")
    try:
        if p.suffix == ".safetensors":
            from safetensors.torch import load_file

            sd = load_file(str(p))
        else:
            sd = torch.load(str(p), map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any reader failure is a bad file for the user
        raise UserError(f"{p}: cannot read weights: {type(e).__name__}: {e}") from None
    for key in ("state_dict", "model"):
        if isinstance(sd, dict) and key in sd and isinstance(sd[key], dict):
            sd = sd[key]
    if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise UserError(f"{p}: expected a state dict (name -> tensor)")
    return dict(sd)


def load_torchvision_weights(
    model: ResNet18,
    source: str | os.PathLike[str] | dict[str, torch.Tensor],
    num_input_images: int = 1,
) -> None:
    """Load torchvision-layout ResNet-18 weights into ``model`` strictly.

    Every parameter and buffer of ``model`` must be present with the right shape (BatchNorm's
    ``num_batches_tracked`` may be absent). ``fc.*`` is loaded when the model has a classifier
    and ignored otherwise. With ``num_input_images > 1`` the 3-channel ``conv1.weight`` is
    repeated along the input channels and divided by ``num_input_images`` (monodepth2's rule
    for the pose encoder).

    Args:
        model: the network to fill.
        source: a weights file, or a state dict mapping names to tensors of the shapes of
            ``model``'s parameters (e.g. ``conv1.weight`` ``(64, 3, 7, 7)``).
        num_input_images: frames stacked along the input channels.

    Raises:
        UserError: a missing or unexpected key, or a shape mismatch (naming the key).
    """
    where = str(source) if not isinstance(source, dict) else "state dict"
    sd = read_state_dict(source) if not isinstance(source, dict) else dict(source)
    if num_input_images > 1 and "conv1.weight" in sd:
        w = sd["conv1.weight"]
        if w.shape[1] == 3:
            sd["conv1.weight"] = torch.cat([w] * num_input_images, 1) / num_input_images
    if model.fc is None:
        sd = {k: v for k, v in sd.items() if not k.startswith("fc.")}
    own = model.state_dict()
    missing = [k for k in own if k not in sd and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in sd if k not in own]
    if missing:
        raise UserError(f"{where}: not a torchvision ResNet-18 state dict: missing {missing[:3]}")
    if unexpected:
        raise UserError(f"{where}: unexpected keys for ResNet-18: {unexpected[:3]}")
    for k, v in sd.items():
        if tuple(v.shape) != tuple(own[k].shape):
            raise UserError(
                f"{where}: {k}: shape {tuple(v.shape)} does not match ResNet-18's {tuple(own[k].shape)}"
            )
    model.load_state_dict(sd, strict=False)


class ResNetEncoder(nn.Module):
    """ResNet-18 feature encoder for ``num_input_images`` stacked RGB frames.

    Input images in [0, 1] are normalised with ``(x - 0.45) / 0.225`` before the first conv.

    Args:
        num_input_images: frames concatenated along channels (1 for depth, 2 for pose).
        weights: optional path to torchvision-layout ImageNet weights (see
            :func:`load_torchvision_weights`).
    """

    def __init__(self, num_input_images: int = 1, weights: str | os.PathLike[str] | None = None):
        super().__init__()
        if num_input_images < 1:
            raise ValueError("ResNetEncoder: num_input_images must be >= 1")
        self.num_input_images = num_input_images
        self.net = ResNet18(in_channels=3 * num_input_images, num_classes=0)
        self.channels = ResNet18.channels
        if weights:
            load_torchvision_weights(self.net, weights, num_input_images)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Encode ``x`` ``(B, 3 * num_input_images, H, W)`` in [0, 1].

        Returns:
            Five feature maps ``(B, c_i, H / 2^(i+1), W / 2^(i+1))`` with
            ``c = (64, 64, 128, 256, 512)``.
        """
        expected = 3 * self.num_input_images
        if x.dim() != 4 or x.shape[1] != expected:
            raise ValueError(f"ResNetEncoder: expected (B, {expected}, H, W), got {tuple(x.shape)}")
        return self.net.features((x - IMAGENET_MEAN) / IMAGENET_STD)
