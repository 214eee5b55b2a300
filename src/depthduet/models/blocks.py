"""Building blocks of the METHOD A networks (METHOD.md A.1, A.2, A.3).

* :class:`ConvAct` / :class:`DeconvAct`: a (transposed) convolution followed by PReLU.
* :class:`UpProjection` / :class:`DownProjection`: the DBPN back-projection units
  (Haris et al., CVPR 2018) with the per-scale (kernel, stride, padding) of
  :data:`PROJECTION_SETTINGS`.
* :class:`ResBlock`: conv3x3-PReLU-conv3x3 + identity (DENet, METHOD.md A.2).
* :class:`SideHeads`: one 3x3 conv per stage turning a feature map into a depth map
  (side outputs, METHOD.md A.3).
* :func:`kaiming_init`: the initialisation used by every network of METHOD A.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import Tensor, nn

from depthduet.errors import UserError

__all__ = [
    "PROJECTION_SETTINGS",
    "projection_setting",
    "ConvAct",
    "DeconvAct",
    "UpProjection",
    "DownProjection",
    "ResBlock",
    "SideHeads",
    "kaiming_init",
]

#: scale -> (kernel, stride, padding) of every conv/deconv of a projection unit (METHOD.md A.1).
#: With these, ``deconv`` maps ``h x w`` to exactly ``s*h x s*w`` and ``conv`` maps back.
PROJECTION_SETTINGS: dict[int, tuple[int, int, int]] = {
    2: (6, 2, 2),
    4: (8, 4, 2),
    8: (12, 8, 2),
    16: (20, 16, 2),
}


def projection_setting(scale: int) -> tuple[int, int, int]:
    """The (kernel, stride, padding) of the projection units for ``scale`` (2, 4, 8 or 16).

    Raises:
        UserError: for an unsupported scale.
    """
    try:
        return PROJECTION_SETTINGS[int(scale)]
    except (KeyError, TypeError, ValueError):
        known = ", ".join(str(s) for s in PROJECTION_SETTINGS)
        raise UserError(f"scale {scale!r}: DBPN supports scales {known}") from None


class ConvAct(nn.Sequential):
    """``Conv2d`` + ``PReLU`` (one PReLU parameter per layer, as in DBPN).

    Shapes: ``(B, c_in, H, W) -> (B, c_out, H', W')`` with the usual conv arithmetic.
    """

    def __init__(
        self, c_in: int, c_out: int, kernel: int = 3, stride: int = 1, padding: int | None = None
    ) -> None:
        pad = kernel // 2 if padding is None else padding
        super().__init__(nn.Conv2d(c_in, c_out, kernel, stride, pad), nn.PReLU())


class DeconvAct(nn.Sequential):
    """``ConvTranspose2d`` + ``PReLU``. Shapes: ``(B, c_in, h, w) -> (B, c_out, H, W)``."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int) -> None:
        super().__init__(nn.ConvTranspose2d(c_in, c_out, kernel, stride, padding), nn.PReLU())


class _BackProjection(nn.Module):
    """A DBPN projection unit: ``A0 = there(X)``, ``B0 = back(A0)``, ``A1 = there'(B0 - X)``,
    output ``A0 + A1``, after a 1x1 conv + PReLU squeeze of ``X`` when it concatenates more
    than one earlier output (``c_in != channels``, the dense variant).

    :attr:`steps` names the three layers ``there``, ``back``, ``there'`` and their kinds (a
    deconvolution goes up by ``scale``, a convolution down), in the order they are created.
    """

    steps: tuple[tuple[str, Callable[..., nn.Module]], ...] = ()

    def __init__(self, channels: int, scale: int, c_in: int | None = None) -> None:
        super().__init__()
        k, s, p = projection_setting(scale)
        c_in = channels if c_in is None else c_in
        self.squeeze = ConvAct(c_in, channels, 1, 1, 0) if c_in != channels else nn.Identity()
        for name, kind in self.steps:
            self.add_module(name, kind(channels, channels, k, s, p))

    def forward(self, x: Tensor) -> Tensor:
        """``x``: ``(B, c_in, h_in, w_in)`` features.

        Returns:
            ``(B, channels, h_out, w_out)`` features ``A0 + A1`` at the other resolution.
        """
        there, back, there_again = (getattr(self, name) for name, _ in self.steps)
        x = self.squeeze(x)
        a0 = there(x)
        b0 = back(a0)
        a1 = there_again(b0 - x)
        return a0 + a1


class UpProjection(_BackProjection):
    """DBPN up-projection unit ``U(L)`` (METHOD.md A.1).

    ``H0 = deconv(L)``, ``L0 = conv(H0)``, ``H1 = deconv(L0 - L)``, output ``H0 + H1``.
    In the dense variant the input is first squeezed by a 1x1 conv + PReLU when it concatenates
    more than one earlier LR output (``c_in != channels``).

    Shapes: ``(B, c_in, h, w) -> (B, channels, s*h, s*w)``.
    """

    steps = (("up0", DeconvAct), ("down0", ConvAct), ("up1", DeconvAct))


class DownProjection(_BackProjection):
    """DBPN down-projection unit ``Dn(H)`` (METHOD.md A.1).

    ``L0 = conv(H)``, ``H0 = deconv(L0)``, ``L1 = conv(H0 - H)``, output ``L0 + L1``.
    The input is squeezed by a 1x1 conv + PReLU when ``c_in != channels`` (dense variant).

    Shapes: ``(B, c_in, s*h, s*w) -> (B, channels, h, w)``.
    """

    steps = (("down0", ConvAct), ("up0", DeconvAct), ("down1", ConvAct))


class ResBlock(nn.Module):
    """conv3x3 - PReLU - conv3x3 + identity (METHOD.md A.2). Shapes: ``(B, c, H, W)`` both ways."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1),
            nn.PReLU(),
            nn.Conv2d(channels, channels, 3, 1, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        """``x``: ``(B, c, H, W)`` features.

        Returns:
            ``(B, c, H, W)``, same shape as ``x``.
        """
        return x + self.body(x)


class SideHeads(nn.Module):
    """One 3x3 conv head per stage: ``F^t (B, c, H, W) -> P^t (B, 1, H, W)`` (METHOD.md A.3).

    Training only; kept outside DSRNet/DENet so that the inference weights hold DSRNet alone.
    """

    def __init__(self, channels: int, n_stages: int) -> None:
        super().__init__()
        if n_stages < 1:
            raise UserError(f"SideHeads: n_stages must be >= 1, got {n_stages}")
        self.heads = nn.ModuleList(nn.Conv2d(channels, 1, 3, 1, 1) for _ in range(n_stages))
        kaiming_init(self)

    def forward(self, feats: Sequence[Tensor]) -> list[Tensor]:
        """``feats``: ``N`` maps ``(B, c, H, W)``, one per head.

        Returns:
            ``N`` maps ``(B, 1, H, W)``.
        """

        if len(feats) != len(self.heads):
            raise ValueError(
                f"SideHeads: expected {len(self.heads)} feature maps, got {len(feats)}"
            )
        return [head(f) for head, f in zip(self.heads, feats)]


def kaiming_init(module: nn.Module) -> None:
    """Kaiming-normal weights (fan-in, leaky-ReLU gain with PReLU's initial slope 0.25) and zero
    biases for every (transposed) convolution in ``module`` (METHOD.md A.1 "Kaiming init")."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
            nn.init.kaiming_normal_(m.weight, a=0.25, mode="fan_in", nonlinearity="leaky_relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
