"""``none``: a single modality's embedding straight into the classifier head (unimodal baseline)."""

from __future__ import annotations

import torch

from benchmark.fusions.base import UNIMODAL, Fusion, FusionOutput, classifier_head, register_fusion


@register_fusion(UNIMODAL)
class NoFusion(Fusion):
    min_modalities = 1
    max_modalities = 1

    def __init__(self, in_dims: dict[str, int], num_classes: int, *, width: int, dropout: float) -> None:
        super().__init__(in_dims, num_classes, width=width, dropout=dropout)
        self.head = classifier_head(in_dims[self.names[0]], num_classes, width=width, dropout=dropout)

    def forward(self, embeddings: dict[str, torch.Tensor]) -> FusionOutput:
        return FusionOutput(self.head(embeddings[self.names[0]]))
