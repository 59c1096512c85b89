"""A multimodal classifier: one encoder per modality, then a fusion method."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from benchmark.encoders import build_encoder, default_encoder
from benchmark.fusions import FUSIONS, Fusion, FusionOutput
from benchmark.tasks import ModalitySpec


class MultimodalModel(nn.Module):
    def __init__(self, encoders: Mapping[str, nn.Module], fusion: Fusion) -> None:
        super().__init__()
        self.encoders = nn.ModuleDict(dict(encoders))
        self.fusion = fusion
        # What a missing modality's embedding becomes (unless the fusion leaves it out by itself): zeros
        # at first; modality dropout in training teaches the model a better stand-in.
        self.placeholders = nn.ParameterDict(
            {name: nn.Parameter(torch.zeros(enc.out_dim)) for name, enc in self.encoders.items()}
        )

    def forward(
        self, inputs: Mapping[str, torch.Tensor], present: Mapping[str, torch.Tensor] | None = None
    ) -> FusionOutput:
        """``present`` ({modality: (B,) bool}, optional) marks which samples have which modality."""
        # Only the modalities this model was built for are read; extra inputs are ignored.
        embeddings = {name: encoder(inputs[name]) for name, encoder in self.encoders.items()}  # {m: (B, D)}
        if present is None:
            return self.fusion(embeddings)
        if self.fusion.handles_missing:
            return self.fusion(embeddings, present=dict(present))
        for name in embeddings:
            stand_in = self.placeholders[name].to(embeddings[name].dtype)
            embeddings[name] = torch.where(present[name][:, None], embeddings[name], stand_in)
        return self.fusion(embeddings)


@torch.no_grad()
def use_train_mean_stand_ins(
    model: MultimodalModel, train_inputs: Mapping[str, torch.Tensor], batch_size: int
) -> None:
    """Make each modality's stand-in (what the fusion receives when the modality is missing) the mean
    of its embeddings over the train split, computed once with the trained encoders in eval mode.

    For a model trained without modality dropout the placeholder never received a gradient: it would
    hand the fusion a zero vector, an input it never saw, and a missing-modality score would measure
    that artefact of the harness rather than the method. The train mean is the neutral input a fusion
    did see on average. (With modality dropout on, the learned placeholder is kept.)"""
    was_training = model.training
    model.eval()
    for name, encoder in model.encoders.items():
        x = train_inputs[name]
        total = torch.zeros_like(model.placeholders[name])
        for start in range(0, len(x), batch_size):
            total += encoder(x[start : start + batch_size]).sum(dim=0).to(total.dtype)
        model.placeholders[name].copy_(total / max(1, len(x)))
    model.train(was_training)


def build_model(
    specs: Mapping[str, ModalitySpec],
    *,
    fusion: str,
    num_classes: int,
    depth: int,
    width: int,
    dropout: float,
    encoder_for_kind: Mapping[str, str] | None = None,
    fusion_options: Mapping[str, Any] | None = None,
) -> MultimodalModel:
    """``specs`` are the modalities of one combination; ``encoder_for_kind`` overrides the defaults;
    ``fusion_options`` are the fusion method's own hyperparameters (``rank``, ...)."""
    chosen = dict(encoder_for_kind or {})
    encoders = {
        name: build_encoder(
            chosen.get(spec.kind) or default_encoder(spec.kind),
            spec,
            depth=depth,
            width=width,
            dropout=dropout,
        )
        for name, spec in sorted(specs.items())
    }
    in_dims = {name: enc.out_dim for name, enc in encoders.items()}
    fusion_module = FUSIONS.get(fusion)(
        in_dims, num_classes, width=width, dropout=dropout, **dict(fusion_options or {})
    )
    return MultimodalModel(encoders, fusion_module)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
