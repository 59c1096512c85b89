"""``additive``: one classifier head per modality, their logits summed and trained jointly with one
loss on the sum: a generalised additive model over modalities, logit(x) = sum_m f_m(x_m). It can weigh
the modalities against each other (unlike ``late_vote``, whose members each fit their label alone)
but cannot model how they interact, so it is the interaction profile's additive reference: what a
fusion gains over it is what interactions add (report/interactions.py). A missing modality adds
nothing to the sum."""

from __future__ import annotations

import torch
from torch import nn

from benchmark.fusions.base import Fusion, FusionOutput, classifier_head, register_fusion


@register_fusion("additive")
class AdditiveFusion(Fusion):
    handles_missing = True

    def __init__(self, in_dims: dict[str, int], num_classes: int, *, width: int, dropout: float) -> None:
        super().__init__(in_dims, num_classes, width=width, dropout=dropout)
        self.heads = nn.ModuleDict(
            {
                name: classifier_head(dim, num_classes, width=width, dropout=dropout)
                for name, dim in in_dims.items()
            }
        )

    def forward(
        self, embeddings: dict[str, torch.Tensor], present: dict[str, torch.Tensor] | None = None
    ) -> FusionOutput:
        member_logits = torch.stack([self.heads[name](embeddings[name]) for name in self.names])  # (M, B, C)
        if present is not None:
            kept = torch.stack([present[name] for name in self.names]).to(member_logits.dtype)  # (M, B)
            member_logits = member_logits * kept[..., None]
        return FusionOutput(logits=member_logits.sum(dim=0))
