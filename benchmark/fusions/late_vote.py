"""``late_vote``: one classifier per modality, trained with the sum of per-modality losses; the
prediction is the mean of the per-modality class probabilities (``logits`` = log of that mean). A
missing modality simply does not vote."""

from __future__ import annotations

import torch
from torch import nn

from benchmark.fusions.base import Fusion, FusionOutput, classifier_head, register_fusion


@register_fusion("late_vote")
class LateVoteFusion(Fusion):
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
        member_logits = [self.heads[name](embeddings[name]) for name in self.names]  # M x (B, C)
        member_probs = torch.stack([logits.softmax(dim=1) for logits in member_logits])  # (M, B, C)
        if present is None:
            probs = member_probs.mean(dim=0)  # (B, C)
            return FusionOutput(logits=probs.clamp_min(1e-12).log(), loss_logits=member_logits)
        votes = torch.stack([present[name] for name in self.names]).to(member_probs.dtype)  # (M, B)
        probs = (member_probs * votes[..., None]).sum(dim=0) / votes.sum(dim=0).clamp_min(1)[:, None]
        # Each member still trains on its own modality: hiding it only takes it out of the vote.
        return FusionOutput(logits=probs.clamp_min(1e-12).log(), loss_logits=member_logits)
