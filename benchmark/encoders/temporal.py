"""Temporal CNN encoder for sequences (T x C) and token sequences (T,): ``depth`` Conv1d blocks, masked
mean pool over time, projection. Convolutions rather than recurrence: deterministic and fast on CPU."""

from __future__ import annotations

import torch
from torch import nn

from benchmark.encoders.base import conv_channels, register_encoder
from benchmark.tasks.base import ModalitySpec

PAD_TOKEN = 0  # token id 0 is padding: embedded as zeros and excluded from pooling


class TemporalConvEncoder(nn.Module):
    def __init__(self, spec: ModalitySpec, *, depth: int, width: int, dropout: float) -> None:
        super().__init__()
        channels = conv_channels(width)
        self.tokens = spec.kind == "tokens"
        if self.tokens:
            if not spec.vocab_size:
                raise ValueError(f"token modality {spec.name!r} needs a vocab_size")
            self.embed = nn.Embedding(spec.vocab_size, channels, padding_idx=PAD_TOKEN)
            in_channels = channels
        else:
            in_channels = spec.shape[1]
        blocks: list[nn.Module] = []
        for i in range(depth):
            blocks += [
                nn.Conv1d(in_channels if i == 0 else channels, channels, kernel_size=5, padding=2),
                nn.BatchNorm1d(channels),
                nn.ReLU(),
            ]
        self.features = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.Linear(channels, width), nn.GELU(), nn.Dropout(dropout))
        self.out_dim = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, C) or (B, T) tokens -> (B, width)
        if self.tokens:
            mask = (x != PAD_TOKEN).unsqueeze(1).float()  # (B, 1, T)
            h = self.embed(x).transpose(1, 2)  # (B, channels, T)
        else:
            mask = None
            h = x.transpose(1, 2)  # (B, C, T)
        h = self.features(h)  # (B, channels, T)
        if mask is None:
            pooled = h.mean(dim=2)
        else:  # an all-padding row (empty text) pools to zeros instead of NaN
            pooled = (h * mask).sum(dim=2) / mask.sum(dim=2).clamp_min(1.0)
        return self.head(pooled)


@register_encoder("tcn", kinds={"sequence", "tokens"}, default_for={"sequence"})
def tcn(spec: ModalitySpec, *, depth: int, width: int, dropout: float) -> nn.Module:
    return TemporalConvEncoder(spec, depth=depth, width=width, dropout=dropout)
