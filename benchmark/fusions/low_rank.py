"""``low_rank``: low-rank multimodal fusion (Liu et al., 2018, "Efficient Low-rank Multimodal Fusion
with Modality-Specific Factors"): the weight of tensor fusion, factorised into ``rank`` modality-specific
factors, so the fused vector is sum over r of the product over modalities of ([z_m, 1] W_m^(r)), computed
without ever forming the outer product (linear in the number of modalities). ``rank`` is tuned."""

from __future__ import annotations

import torch
from torch import nn

from benchmark.fusions.base import Fusion, FusionOutput, classifier_head, register_fusion
from benchmark.params import ParamSpec


@register_fusion("low_rank")
class LowRankFusion(Fusion):
    hyperparameters = {"rank": ParamSpec("categorical", choices=(2, 4, 8))}

    def __init__(
        self, in_dims: dict[str, int], num_classes: int, *, width: int, dropout: float, rank: int = 4
    ) -> None:
        super().__init__(in_dims, num_classes, width=width, dropout=dropout)
        self.rank, self.width = int(rank), width
        # One factor per modality: (D_m + 1) -> rank * width, the +1 for the appended constant.
        self.factors = nn.ModuleDict(
            {name: nn.Linear(dim + 1, self.rank * width, bias=False) for name, dim in in_dims.items()}
        )
        self.rank_weights = nn.Parameter(torch.full((self.rank,), 1.0 / self.rank))
        self.bias = nn.Parameter(torch.zeros(width))
        self.head = classifier_head(width, num_classes, width=width, dropout=dropout)

    def forward(self, embeddings: dict[str, torch.Tensor]) -> FusionOutput:
        fused: torch.Tensor | None = None
        for name in self.names:
            e = embeddings[name]
            e = torch.cat([e, torch.ones_like(e[:, :1])], dim=1)  # (B, D_m + 1)
            part = self.factors[name](e).view(-1, self.rank, self.width)  # (B, R, W)
            fused = part if fused is None else fused * part  # elementwise product over modalities
        assert fused is not None
        combined = torch.einsum("r,brw->bw", self.rank_weights, fused) + self.bias  # (B, W)
        return FusionOutput(self.head(combined))
