"""A multimodal classifier: one encoder per modality, then a fusion method."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from benchmark.encoders import DEFAULT_ENCODER_FOR_KIND, build_encoder
from benchmark.fusions import FUSIONS, FusionOutput
from benchmark.tasks import ModalitySpec


class MultimodalModel(nn.Module):
    def __init__(self, encoders: Mapping[str, nn.Module], fusion: nn.Module) -> None:
        super().__init__()
        self.encoders = nn.ModuleDict(dict(encoders))
        self.fusion = fusion

    def forward(self, inputs: Mapping[str, torch.Tensor]) -> FusionOutput:
        # Only the modalities this model was built for are read; extra inputs are ignored.
        embeddings = {name: encoder(inputs[name]) for name, encoder in self.encoders.items()}  # {m: (B, D)}
        return self.fusion(embeddings)


def build_model(
    specs: Mapping[str, ModalitySpec],
    *,
    fusion: str,
    num_classes: int,
    depth: int,
    width: int,
    dropout: float,
    encoder_for_kind: Mapping[str, str] | None = None,
) -> MultimodalModel:
    """``specs`` are the modalities of one combination; ``encoder_for_kind`` overrides the defaults."""
    chosen = {**DEFAULT_ENCODER_FOR_KIND, **(encoder_for_kind or {})}
    encoders = {
        name: build_encoder(chosen[spec.kind], spec, depth=depth, width=width, dropout=dropout)
        for name, spec in sorted(specs.items())
    }
    in_dims = {name: enc.out_dim for name, enc in encoders.items()}
    fusion_module = FUSIONS.get(fusion)(in_dims, num_classes, width=width, dropout=dropout)
    return MultimodalModel(encoders, fusion_module)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
