"""DENet: depth estimation from the RGB image, the training-only partner of DSRNet
(METHOD.md A.2).

Layout mirrors DSRNet at full resolution: shallow block (3 -> F -> F -> b', each + PReLU), ``N``
residual blocks giving ``F_de^1..F_de^N`` (``b' x sh x sw``) and a 3x3 reconstruction conv on their
concatenation giving ``D_de``, in the same normalised depth units as DSRNet's output
(see :mod:`depthduet.models.dbpn`).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from depthduet.errors import UserError
from depthduet.models.blocks import ConvAct, ResBlock, kaiming_init

__all__ = ["DENet"]


class DENet(nn.Module):
    """RGB -> depth network with per-stage features (METHOD.md A.2).

    Args:
        n_feats: shallow width ``F``.
        n_base: feature width ``b'`` (may differ from DSRNet's ``b``).
        n_stages: number of residual blocks ``N`` (one feature map per block).
        in_channels: 3 for RGB (1 for grey intensity images).
    """

    def __init__(
        self, n_feats: int = 64, n_base: int = 32, n_stages: int = 3, in_channels: int = 3
    ) -> None:
        super().__init__()
        if min(n_feats, n_base, n_stages, in_channels) < 1:
            raise UserError(
                f"DENet: sizes must be >= 1, got F={n_feats}, b'={n_base}, N={n_stages}, "
                f"in_channels={in_channels}"
            )
        self.n_base = n_base
        self.n_stages = n_stages
        self.in_channels = in_channels
        self.shallow = nn.Sequential(
            ConvAct(in_channels, n_feats, 3),
            ConvAct(n_feats, n_feats, 3),
            ConvAct(n_feats, n_base, 1, 1, 0),
        )
        self.blocks = nn.ModuleList(ResBlock(n_base) for _ in range(n_stages))
        self.recon = nn.Conv2d(n_base * n_stages, 1, 3, 1, 1)
        kaiming_init(self)
        with torch.no_grad():
            self.recon.weight.mul_(0.1)

    def forward_features(self, image: Tensor) -> tuple[Tensor, list[Tensor]]:
        """Depth and block features of ``image (B, C_in, H, W)``.

        Returns:
            ``(D_de, [F_de^1..F_de^N])``: ``D_de`` ``(B, 1, H, W)``, each ``F_de^t`` of shape
            ``(B, b', H, W)``.
        """
        if image.dim() != 4 or image.shape[1] != self.in_channels:
            raise ValueError(
                f"DENet input: expected (B, {self.in_channels}, H, W), got {tuple(image.shape)}"
            )
        x = self.shallow(image)
        feats: list[Tensor] = []
        for block in self.blocks:
            x = block(x)
            feats.append(x)
        depth = self.recon(torch.cat(feats, dim=1) if len(feats) > 1 else feats[0])
        return depth, feats

    def forward(self, image: Tensor) -> Tensor:
        """Depth of ``image (B, C_in, H, W)``.

        Returns:
            ``D_de`` ``(B, 1, H, W)`` (normalised depth units).
        """

        return self.forward_features(image)[0]
