"""``additive``: one classifier head per modality, their logits summed and trained jointly with one
loss on the sum: a generalised additive model over modalities, logit(x) = sum_m f_m(x_m). It can weigh
the modalities against each other (unlike ``late_vote``, whose members each fit their label alone)
but cannot model how they interact, so it is the interaction profile's additive reference: what a
fusion gains over it is what interactions add (report/interactions.py). A missing modality adds
nothing to the sum."""

from __future__ import annotations

import torch

from benchmark.fusions.base import FusionOutput, PerModalityHeads, register_fusion


@register_fusion("additive")
class AdditiveFusion(PerModalityHeads):
    def forward(
        self, embeddings: dict[str, torch.Tensor], present: dict[str, torch.Tensor] | None = None
    ) -> FusionOutput:
        member_logits = torch.stack(self.member_logits(embeddings))  # (M, B, C)
        if present is not None:
            kept = torch.stack([present[name] for name in self.names]).to(member_logits.dtype)  # (M, B)
            member_logits = member_logits * kept[..., None]
        return FusionOutput(logits=member_logits.sum(dim=0))
