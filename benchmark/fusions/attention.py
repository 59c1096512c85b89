"""``attention``: each modality embedding becomes a token (projected to ``width``, plus a learned
modality embedding); one pre-norm self-attention block mixes the tokens; mean pool; MLP head."""

from __future__ import annotations

import torch
from torch import nn

from benchmark.fusions.base import Fusion, FusionOutput, classifier_head, register_fusion


def attention_heads(width: int) -> int:
    """Four heads where the width allows it (head size >= 8), else one."""
    return 4 if width % 4 == 0 and width >= 32 else 1


@register_fusion("attention")
class AttentionFusion(Fusion):
    def __init__(self, in_dims: dict[str, int], num_classes: int, *, width: int, dropout: float) -> None:
        super().__init__(in_dims, num_classes, width=width, dropout=dropout)
        self.project = nn.ModuleDict({name: nn.Linear(dim, width) for name, dim in in_dims.items()})
        self.modality_embedding = nn.Parameter(torch.zeros(len(self.names), width))
        nn.init.normal_(self.modality_embedding, std=0.02)
        self.block = nn.TransformerEncoderLayer(
            d_model=width,
            nhead=attention_heads(width),
            dim_feedforward=2 * width,
            dropout=dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.head = classifier_head(width, num_classes, width=width, dropout=dropout)

    def forward(self, embeddings: dict[str, torch.Tensor]) -> FusionOutput:
        tokens = torch.stack(
            [self.project[name](embeddings[name]) for name in self.names], dim=1
        )  # (B, M, W)
        tokens = tokens + self.modality_embedding  # (B, M, W): which modality a token came from
        mixed = self.block(tokens)  # (B, M, W)
        return FusionOutput(self.head(mixed.mean(dim=1)))
