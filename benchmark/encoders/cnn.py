"""CNN encoder for image modalities (C x H x W): ``depth`` conv blocks, average pool to a 4 x 4 grid,
projection. The grid keeps where things are: a global pool after one convolution throws away the
layout that tells a 1 from a 7 (mfeat digits: 0.61 with a global pool, see the README)."""

from __future__ import annotations

import torch
from torch import nn

from benchmark.encoders.base import conv_channels, register_encoder
from benchmark.tasks.base import ModalitySpec

GRID = 4  # the pooled map is GRID x GRID (smaller maps are upsampled by the adaptive pool)


class CNNEncoder(nn.Module):
    def __init__(self, shape: tuple[int, ...], *, depth: int, width: int, dropout: float) -> None:
        super().__init__()
        in_channels, height, widthpx = shape
        channels = conv_channels(width)
        blocks: list[nn.Module] = []
        side = min(height, widthpx)
        for i in range(depth):
            blocks += [
                nn.Conv2d(in_channels if i == 0 else channels, channels, kernel_size=3, padding=1),
                nn.BatchNorm2d(channels),
                nn.ReLU(),
            ]
            if side >= 8:  # downsample while the map is large enough to keep a 4x4 grid
                blocks.append(nn.MaxPool2d(2))
                side //= 2
        self.features = nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(GRID))
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(channels * GRID * GRID, width), nn.GELU(), nn.Dropout(dropout)
        )
        self.out_dim = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, width)
        return self.head(self.features(x))  # features: (B, channels, GRID, GRID)


@register_encoder("cnn", kinds={"image"}, default_for={"image"})
def cnn(spec: ModalitySpec, *, depth: int, width: int, dropout: float) -> nn.Module:
    if len(spec.shape) != 3:
        raise ValueError(f"cnn expects (C, H, W) images, modality {spec.name!r} has shape {spec.shape}")
    return CNNEncoder(spec.shape, depth=depth, width=width, dropout=dropout)
