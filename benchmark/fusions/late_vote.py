"""``late_vote``: one classifier per modality, trained with the sum of per-modality losses; the
prediction is the mean of the per-modality class probabilities (``logits`` = log of that mean). A
missing modality simply does not vote."""

from __future__ import annotations

import torch

from benchmark.fusions.base import FusionOutput, PerModalityHeads, register_fusion


@register_fusion("late_vote")
class LateVoteFusion(PerModalityHeads):
    def forward(
        self, embeddings: dict[str, torch.Tensor], present: dict[str, torch.Tensor] | None = None
    ) -> FusionOutput:
        member_logits = self.member_logits(embeddings)  # M x (B, C)
        member_probs = torch.stack([logits.softmax(dim=1) for logits in member_logits])  # (M, B, C)
        if present is None:
            probs = member_probs.mean(dim=0)  # (B, C)
            return FusionOutput(logits=probs.clamp_min(1e-12).log(), loss_logits=member_logits)
        votes = torch.stack([present[name] for name in self.names]).to(member_probs.dtype)  # (M, B)
        probs = (member_probs * votes[..., None]).sum(dim=0) / votes.sum(dim=0).clamp_min(1)[:, None]
        # Each member still trains on its own modality: hiding it only takes it out of the vote.
        return FusionOutput(logits=probs.clamp_min(1e-12).log(), loss_logits=member_logits)
