"""``tensor``: tensor fusion (Zadeh et al., 2017, "Tensor Fusion Network for Multimodal Sentiment
Analysis"): each embedding is projected to a small size d and extended with a constant 1; the outer
product of these vectors holds every unimodal, bimodal and trimodal interaction term; MLP head on it.
The product has (d + 1)^M entries, so the method stops at three modalities."""

from __future__ import annotations

import torch
from torch import nn

from benchmark.fusions.base import Fusion, FusionOutput, classifier_head, register_fusion

# Each modality is projected to this many features before the outer product: (16 + 1)^3 = 4,913 fused
# features for three modalities keeps the head's first layer near the size of the other methods' models.
PROJECTED = 16


@register_fusion("tensor")
class TensorFusion(Fusion):
    max_modalities = 3

    def __init__(self, in_dims: dict[str, int], num_classes: int, *, width: int, dropout: float) -> None:
        super().__init__(in_dims, num_classes, width=width, dropout=dropout)
        self.project = nn.ModuleDict({name: nn.Linear(dim, PROJECTED) for name, dim in in_dims.items()})
        fused = (PROJECTED + 1) ** len(self.names)
        self.head = classifier_head(fused, num_classes, width=width, dropout=dropout)

    def forward(self, embeddings: dict[str, torch.Tensor]) -> FusionOutput:
        product: torch.Tensor | None = None
        for name in self.names:
            z = self.project[name](embeddings[name])  # (B, d)
            z = torch.cat([z, torch.ones_like(z[:, :1])], dim=1)  # (B, d + 1): the 1 keeps lower orders
            # (B, K) x (B, d + 1) -> (B, K * (d + 1)): one more factor of the outer product
            product = z if product is None else (product[:, :, None] * z[:, None, :]).flatten(1)
        assert product is not None
        return FusionOutput(self.head(product))
