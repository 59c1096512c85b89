"""Temporal CNN encoder for sequences (T x C) and token sequences (T,): ``depth`` multi-scale Conv1d
blocks, global mean and max pooling over time (masked for tokens), projection. Convolutions rather than
recurrence: deterministic and fast on CPU.

Each block runs three kernel widths side by side (3, 9 and 19 steps, the InceptionTime recipe of Ismail
Fawaz et al., 2020): one width cannot see both a spike and a slow swing. Max pooling keeps where a
pattern occurred once (a tap in an exercise), mean pooling how much of it there is; a mean alone washes
a short event out over a long recording."""

from __future__ import annotations

import torch
from torch import nn

from benchmark.encoders.base import conv_channels, register_encoder
from benchmark.tasks.base import ModalitySpec

PAD_TOKEN = 0  # token id 0 is padding: embedded as zeros and excluded from pooling
KERNELS = (3, 9, 19)


class MultiScaleBlock(nn.Module):
    """Convolutions of every width in ``KERNELS`` over the same input, concatenated, then batch norm."""

    def __init__(self, in_channels: int, channels: int) -> None:
        super().__init__()
        per_kernel = [channels // len(KERNELS)] * len(KERNELS)
        per_kernel[0] += channels - sum(per_kernel)  # the channels still add up to ``channels``
        self.branches = nn.ModuleList(
            nn.Conv1d(in_channels, out, kernel_size=k, padding=k // 2)
            for k, out in zip(KERNELS, per_kernel, strict=True)
        )
        self.norm = nn.Sequential(nn.BatchNorm1d(channels), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C_in, T) -> (B, channels, T)
        return self.norm(torch.cat([branch(x) for branch in self.branches], dim=1))


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
        self.features = nn.Sequential(
            *(MultiScaleBlock(in_channels if i == 0 else channels, channels) for i in range(depth))
        )
        self.head = nn.Sequential(nn.Linear(2 * channels, width), nn.GELU(), nn.Dropout(dropout))
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
            mean, peak = h.mean(dim=2), h.amax(dim=2)
        else:  # an all-padding row (empty text) pools to zeros instead of NaN or -inf
            mean = (h * mask).sum(dim=2) / mask.sum(dim=2).clamp_min(1.0)
            peak = h.masked_fill(mask == 0, float("-inf")).amax(dim=2)
            peak = torch.where(mask.sum(dim=2) > 0, peak, torch.zeros_like(peak))
        return self.head(torch.cat([mean, peak], dim=1))


@register_encoder("tcn", kinds={"sequence", "tokens"}, default_for={"sequence"})
def tcn(spec: ModalitySpec, *, depth: int, width: int, dropout: float) -> nn.Module:
    return TemporalConvEncoder(spec, depth=depth, width=width, dropout=dropout)
