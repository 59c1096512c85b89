"""``gated``: a gated multimodal unit (Arevalo et al., 2017, "Gated Multimodal Units for Information
Fusion"), generalised from two modalities to M: each embedding is projected to ``width`` through a tanh;
a gate computed from all embeddings together weighs, per feature, how much each modality contributes
(softmax over modalities; with two modalities this is the paper's z and 1 - z); MLP head."""

from __future__ import annotations

import torch
from torch import nn

from benchmark.fusions.base import Fusion, FusionOutput, classifier_head, register_fusion


@register_fusion("gated")
class GatedFusion(Fusion):
    def __init__(self, in_dims: dict[str, int], num_classes: int, *, width: int, dropout: float) -> None:
        super().__init__(in_dims, num_classes, width=width, dropout=dropout)
        self.project = nn.ModuleDict({name: nn.Linear(dim, width) for name, dim in in_dims.items()})
        self.gate = nn.Linear(sum(in_dims.values()), len(self.names) * width)
        self.width = width
        self.head = classifier_head(width, num_classes, width=width, dropout=dropout)

    def forward(self, embeddings: dict[str, torch.Tensor]) -> FusionOutput:
        hidden = torch.stack(
            [torch.tanh(self.project[n](embeddings[n])) for n in self.names], dim=1
        )  # (B, M, W)
        joint = torch.cat([embeddings[n] for n in self.names], dim=1)  # (B, sum D_m)
        gates = self.gate(joint).view(-1, len(self.names), self.width).softmax(dim=1)  # (B, M, W)
        return FusionOutput(self.head((gates * hidden).sum(dim=1)))  # (B, W) -> (B, C)
