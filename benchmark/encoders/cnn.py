"""CNN encoder for image modalities (C x H x W): ``depth`` conv blocks, global average pool, projection."""

from __future__ import annotations

import torch
from torch import nn

from benchmark.encoders.base import conv_channels, register_encoder
from benchmark.tasks.base import ModalitySpec


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
        self.features = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(channels, width), nn.GELU(), nn.Dropout(dropout))
        self.out_dim = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, width)
        feats = self.features(x).mean(dim=(2, 3))  # (B, channels): global average pool
        return self.head(feats)


@register_encoder("cnn", kinds={"image"})
def cnn(spec: ModalitySpec, *, depth: int, width: int, dropout: float) -> nn.Module:
    if len(spec.shape) != 3:
        raise ValueError(f"cnn expects (C, H, W) images, modality {spec.name!r} has shape {spec.shape}")
    return CNNEncoder(spec.shape, depth=depth, width=width, dropout=dropout)
