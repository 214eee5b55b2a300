"""Pose network for monocular self-supervision (METHOD.md B, "M").

A ResNet-18 encoder on two stacked RGB frames (first convolution widened to 6 channels; with
ImageNet weights its kernel is repeated and halved, as monodepth2 does) and a small
convolutional head: 1x1 squeeze to 256, two 3x3 convs (ReLU), a 1x1 conv to 6 values, spatial
mean, scaled by 0.01 (small initial motions). The 6 values are an axis-angle rotation and a
translation (camera units of the training data).

Temporal order convention (monodepth2 "pairs"): the network always sees the temporally earlier
frame first and predicts the transform from the first frame's camera to the second's. So
:meth:`PoseNet.relative_pose` for a source before the target feeds ``(source, target)`` and
inverts the result, for a source after the target feeds ``(target, source)``; either way it
returns ``T_src_tgt`` (maps target-camera points into the source camera, as
:func:`depthduet.geometry.warp` expects).
"""

from __future__ import annotations

import os

import torch
from torch import nn

from depthduet.geometry import pose_vec_to_matrix
from depthduet.models.resnet import ResNetEncoder

__all__ = ["PoseNet"]


class PoseNet(nn.Module):
    """ResNet-18 pose regressor on a frame pair.

    Args:
        encoder_weights: optional torchvision-layout ImageNet weights for the encoder.
        scale: multiplier of the raw head output (0.01 keeps initial poses near identity).
    """

    def __init__(
        self, encoder_weights: str | os.PathLike[str] | None = None, scale: float = 0.01
    ) -> None:
        super().__init__()
        self.encoder = ResNetEncoder(num_input_images=2, weights=encoder_weights)
        self.scale = scale
        self.squeeze = nn.Conv2d(512, 256, 1)
        self.conv1 = nn.Conv2d(256, 256, 3, 1, 1)
        self.conv2 = nn.Conv2d(256, 256, 3, 1, 1)
        self.out = nn.Conv2d(256, 6, 1)
        self.relu = nn.ReLU(inplace=True)

    def forward(
        self, first: torch.Tensor, second: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Axis-angle ``(B, 3)`` and translation ``(B, 3)`` of the motion first -> second.

        Args:
            first: ``(B, 3, H, W)`` earlier frame in [0, 1].
            second: ``(B, 3, H, W)`` later frame in [0, 1].

        Returns:
            ``(axis_angle, translation)``, each ``(B, 3)``.
        """
        f = self.encoder(torch.cat([first, second], 1))[-1]
        x = self.relu(self.squeeze(f))
        x = self.relu(self.conv1(x))
        x = self.relu(self.conv2(x))
        x = self.scale * self.out(x).mean(dim=(2, 3))
        return x[:, :3], x[:, 3:]

    def relative_pose(
        self, target: torch.Tensor, source: torch.Tensor, source_is_before: bool
    ) -> torch.Tensor:
        """``T_src_tgt`` ``(B, 4, 4)`` for a source frame before or after the target.

        Args:
            target: ``(B, 3, H, W)`` target frame.
            source: ``(B, 3, H, W)`` neighbouring frame.
            source_is_before: True for the previous frame (inputs swapped, pose inverted).

        Returns:
            ``(B, 4, 4)`` rigid transform ``T_src_tgt``.
        """

        if source_is_before:
            aa, t = self(source, target)  # motion source -> target = T_tgt_src
            return pose_vec_to_matrix(aa, t, invert=True)
        aa, t = self(target, source)  # motion target -> source = T_src_tgt
        return pose_vec_to_matrix(aa, t, invert=False)
