"""Multi-scale U-Net depth decoder with disparity and confidence heads (METHOD.md B).

Layout (monodepth2's decoder widths ``(16, 32, 64, 128, 256)``): for level ``i = 4 .. 0`` a
3x3 conv (reflection padding, ELU) on the previous level, nearest x2 upsampling, concatenation
with the encoder skip of the same resolution (none at level 0), and a second 3x3 conv + ELU.
At each output scale ``s in scales`` (level ``s``, resolution ``H / 2^s``) two heads: a 3x3
conv + sigmoid giving the disparity ``sigma_d`` and a 3x3 conv + sigmoid giving the
confidence ``C`` (METHOD.md B: "at 4 scales, a disparity sigma_d and a confidence C in (0, 1)").
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["Conv3x3", "ConvELU", "DepthDecoder", "DECODER_CHANNELS"]

DECODER_CHANNELS = (16, 32, 64, 128, 256)


class Conv3x3(nn.Module):
    """3x3 convolution on a reflection-padded input (size preserving)."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.pad = nn.ReflectionPad2d(1)
        self.conv = nn.Conv2d(in_ch, out_ch, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``(B, in_ch, H, W)``.

        Returns:
            ``(B, out_ch, H, W)``.
        """
        return self.conv(self.pad(x))


class ConvELU(nn.Module):
    """:class:`Conv3x3` followed by ELU."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv = Conv3x3(in_ch, out_ch)
        self.act = nn.ELU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``(B, in_ch, H, W)``.

        Returns:
            ``(B, out_ch, H, W)``.
        """
        return self.act(self.conv(x))


class DepthDecoder(nn.Module):
    """U-Net decoder: encoder pyramid -> per-scale disparity and confidence.

    Args:
        encoder_channels: channels of the five encoder maps (strides 2 .. 32).
        scales: output scales (0 = full input resolution, s = 1/2^s); default ``(0, 1, 2, 3)``.
        confidence: build the confidence heads (off gives disparity only).
    """

    def __init__(
        self,
        encoder_channels: Sequence[int] = (64, 64, 128, 256, 512),
        scales: Sequence[int] = (0, 1, 2, 3),
        confidence: bool = True,
    ) -> None:
        super().__init__()
        if len(encoder_channels) != 5:
            raise ValueError("DepthDecoder: expected five encoder channel counts")
        if not scales or any(s < 0 or s > 4 for s in scales):
            raise ValueError(f"DepthDecoder: scales must be in 0..4, got {tuple(scales)}")
        self.scales = tuple(sorted(set(int(s) for s in scales)))
        self.confidence = confidence
        enc = list(encoder_channels)
        dec = DECODER_CHANNELS
        self.up0 = nn.ModuleList()
        self.up1 = nn.ModuleList()
        for i in range(4, -1, -1):
            cin = enc[-1] if i == 4 else dec[i + 1]
            self.up0.append(ConvELU(cin, dec[i]))
            skip = enc[i - 1] if i > 0 else 0
            self.up1.append(ConvELU(dec[i] + skip, dec[i]))
        self.disp_heads = nn.ModuleDict({str(s): Conv3x3(dec[s], 1) for s in self.scales})
        self.conf_heads = (
            nn.ModuleDict({str(s): Conv3x3(dec[s], 1) for s in self.scales}) if confidence else None
        )

    def forward(self, features: Sequence[torch.Tensor]) -> dict[str, list[torch.Tensor]]:
        """Decode the encoder pyramid.

        Args:
            features: five maps ``(B, c_i, H / 2^(i+1), W / 2^(i+1))``.

        Returns:
            ``{"disp": [...], "conf": [...]}``: lists ordered like :attr:`scales`, each
            ``(B, 1, H / 2^s, W / 2^s)`` in (0, 1); ``"conf"`` is absent without confidence heads.
        """
        x = features[-1]
        disp: dict[int, torch.Tensor] = {}
        conf: dict[int, torch.Tensor] = {}
        for j, i in enumerate(range(4, -1, -1)):
            x = self.up0[j](x)
            target = features[i - 1].shape[-2:] if i > 0 else None
            if target is not None:
                x = F.interpolate(x, size=target, mode="nearest")
                x = torch.cat([x, features[i - 1]], 1)
            else:
                x = F.interpolate(x, scale_factor=2.0, mode="nearest")
            x = self.up1[j](x)
            if i in self.scales:
                disp[i] = torch.sigmoid(self.disp_heads[str(i)](x))
                if self.conf_heads is not None:
                    conf[i] = torch.sigmoid(self.conf_heads[str(i)](x))
        out = {"disp": [disp[s] for s in self.scales]}
        if self.conf_heads is not None:
            out["conf"] = [conf[s] for s in self.scales]
        return out
