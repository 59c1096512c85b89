"""MLP encoder for vector modalities: ``depth`` x (Linear -> GELU -> Dropout)."""

from __future__ import annotations

import torch
from torch import nn

from benchmark.encoders.base import register_encoder
from benchmark.tasks.base import ModalitySpec


class MLPEncoder(nn.Module):
    def __init__(self, in_features: int, *, depth: int, width: int, dropout: float) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(depth):
            layers += [nn.Linear(in_features if i == 0 else width, width), nn.GELU(), nn.Dropout(dropout)]
        self.net = nn.Sequential(*layers)
        self.out_dim = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, F) -> (B, width)
        return self.net(x)


@register_encoder("mlp", kinds={"vector"}, default_for={"vector"})
def mlp(spec: ModalitySpec, *, depth: int, width: int, dropout: float) -> nn.Module:
    return MLPEncoder(spec.shape[0], depth=depth, width=width, dropout=dropout)
