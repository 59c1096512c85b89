"""``concat``: concatenate the modality embeddings (sorted by name), then the MLP head."""

from __future__ import annotations

import torch

from benchmark.fusions.base import Fusion, FusionOutput, classifier_head, register_fusion


@register_fusion("concat")
class ConcatFusion(Fusion):
    def __init__(self, in_dims: dict[str, int], num_classes: int, *, width: int, dropout: float) -> None:
        super().__init__(in_dims, num_classes, width=width, dropout=dropout)
        self.head = classifier_head(sum(in_dims.values()), num_classes, width=width, dropout=dropout)

    def forward(self, embeddings: dict[str, torch.Tensor]) -> FusionOutput:
        fused = torch.cat([embeddings[name] for name in self.names], dim=1)  # (B, sum D_m)
        return FusionOutput(self.head(fused))
