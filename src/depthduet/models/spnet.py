"""SPNet: structure prediction from the uncertainty-fused features of both networks
(METHOD.md A.4, training only).

* uncertainty maps from the signed errors, softmax over ``c`` channels **[our reading]**:
  ``U_sr = softmax_c(conv1x1(D_sr - D_hr))``, ``U_de = softmax_c(conv1x1(D_de - D_hr))``
  (``uncertainty="sigmoid"``: an element-wise sigmoid instead, the other way to read the
  review's "softmax" of a map);
* fusion: ``F_fuse = conv3x3([F_sr^N * U_sr, F_de^N * U_de])`` (DENet's and DSRNet's last
  features projected to ``c`` channels by a 1x1 conv when their width differs from ``c``),
  followed by a PReLU by default (``fuse_act=False``: the plain conv of METHOD.md A.4);
* structure CNN: ``n_layers`` conv3x3 + PReLU, then conv3x3 -> 1 channel -> sigmoid = ``S``.

Nothing is detached: the structure loss trains both DSRNet and DENet through their features
and outputs.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from depthduet.errors import UserError
from depthduet.models.blocks import ConvAct, kaiming_init

__all__ = ["SPNet"]


class SPNet(nn.Module):
    """Structure prediction network (METHOD.md A.4).

    Args:
        c_sr: channels of DSRNet's last feature map ``F_sr^N`` (``b``).
        c_de: channels of DENet's last feature map ``F_de^N`` (``b'``).
        width: ``c``, the uncertainty / fusion width (default ``c_sr``).
        n_layers: conv3x3 + PReLU layers of the structure CNN after the fusion conv.
        uncertainty: ``"softmax_c"`` (softmax over the ``c`` channels, METHOD.md A.4's
            [our reading]) or ``"sigmoid"`` (element-wise).
        fuse_act: a PReLU after the fusion conv (default), or the plain conv (False).
    """

    UNCERTAINTY = ("softmax_c", "sigmoid")

    def __init__(
        self,
        c_sr: int,
        c_de: int,
        width: int | None = None,
        n_layers: int = 3,
        uncertainty: str = "softmax_c",
        fuse_act: bool = True,
    ) -> None:
        super().__init__()
        c = c_sr if width is None else width
        if min(c_sr, c_de, c) < 1 or n_layers < 0:
            raise UserError(
                f"SPNet: bad sizes c_sr={c_sr}, c_de={c_de}, width={c}, n_layers={n_layers}"
            )
        if uncertainty not in self.UNCERTAINTY:
            raise UserError(
                f"model.spnet_uncertainty: expected one of {self.UNCERTAINTY}, got {uncertainty!r}"
            )
        self.width = c
        self.uncertainty_mode = uncertainty
        self.unc_sr = nn.Conv2d(1, c, 1)
        self.unc_de = nn.Conv2d(1, c, 1)
        self.proj_sr = nn.Conv2d(c_sr, c, 1) if c_sr != c else nn.Identity()
        self.proj_de = nn.Conv2d(c_de, c, 1) if c_de != c else nn.Identity()
        self.fuse = ConvAct(2 * c, c, 3) if fuse_act else nn.Conv2d(2 * c, c, 3, 1, 1)
        self.body = nn.Sequential(*[ConvAct(c, c, 3) for _ in range(n_layers)])
        self.out = nn.Conv2d(c, 1, 3, 1, 1)
        kaiming_init(self)

    def uncertainty(
        self, d_sr: Tensor, d_de: Tensor, d_hr: Tensor, valid: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """``U_sr, U_de`` from the signed errors of the two depth maps.

        Each sums to 1 over channels with ``softmax_c``; in (0, 1) element-wise with
        ``sigmoid``. The signed errors are zeroed where ``valid`` is False.

        Args:
            d_sr: ``(B, 1, H, W)`` DSRNet depth.
            d_de: ``(B, 1, H, W)`` DENet depth.
            d_hr: ``(B, 1, H, W)`` ground truth.
            valid: ``(B, 1, H, W)`` bool validity of ``d_hr`` or ``None``.

        Returns:
            ``(U_sr, U_de)``, each ``(B, c, H, W)``.
        """
        e_sr = d_sr - d_hr
        e_de = d_de - d_hr
        if valid is not None:
            m = valid.to(e_sr.dtype)
            e_sr = e_sr * m
            e_de = e_de * m
        if self.uncertainty_mode == "sigmoid":
            return torch.sigmoid(self.unc_sr(e_sr)), torch.sigmoid(self.unc_de(e_de))
        return torch.softmax(self.unc_sr(e_sr), dim=1), torch.softmax(self.unc_de(e_de), dim=1)

    def forward(
        self,
        f_sr: Tensor,
        f_de: Tensor,
        d_sr: Tensor,
        d_de: Tensor,
        d_hr: Tensor,
        valid: Tensor | None = None,
    ) -> Tensor:
        """Structure map ``S (B, 1, H, W)`` in ``(0, 1)``.

        Args:
            f_sr: ``F_sr^N (B, c_sr, H, W)``.
            f_de: ``F_de^N (B, c_de, H, W)``.
            d_sr: DSRNet depth ``(B, 1, H, W)``.
            d_de: DENet depth ``(B, 1, H, W)``.
            d_hr: ground truth ``(B, 1, H, W)``.
            valid: ``(B, 1, H, W)`` validity of ``d_hr`` or ``None``.

        Returns:
            ``S`` ``(B, 1, H, W)`` in ``(0, 1)``.
        """

        if f_sr.shape[-2:] != f_de.shape[-2:] or f_sr.shape[-2:] != d_hr.shape[-2:]:
            raise ValueError(
                f"SPNet: spatial sizes differ: F_sr {tuple(f_sr.shape)}, F_de {tuple(f_de.shape)}, "
                f"D_hr {tuple(d_hr.shape)}"
            )
        u_sr, u_de = self.uncertainty(d_sr, d_de, d_hr, valid)
        fused = self.fuse(torch.cat([self.proj_sr(f_sr) * u_sr, self.proj_de(f_de) * u_de], dim=1))
        return torch.sigmoid(self.out(self.body(fused)))
