"""Fusion contract.

A fusion method is an ``nn.Module`` class registered with ``@register_fusion(name)``. It is built
as ``cls(in_dims, num_classes, width=, dropout=)`` where ``in_dims`` maps modality name -> embedding
size, and maps ``{modality: (B, D_m)}`` to a ``FusionOutput``. It iterates modalities by name (sorted),
never by position, and knows nothing about the task. ``unsupported_reason(n_modalities)`` says why a
combination cannot run (the grid drops it with that reason) or returns None.

A method with hyperparameters of its own declares them in ``hyperparameters`` (name -> default search
range); they are tuned with the rest and passed to the constructor as keyword arguments.

Missing modalities: by default the model replaces a missing modality's embedding with a learned
placeholder before fusion; a method that can leave a modality out by itself sets ``handles_missing``
and gets ``present`` ({modality: (B,) bool}) in ``forward``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import torch
from torch import nn

from benchmark.params import ParamSpec
from benchmark.registry import Registry


@dataclass
class FusionOutput:
    """``logits`` (B, C) drive predictions; training minimises the sum of cross-entropies over
    ``loss_logits`` (one entry for joint heads, one per modality for late voting)."""

    logits: torch.Tensor
    loss_logits: list[torch.Tensor] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.loss_logits:
            self.loss_logits = [self.logits]


class Fusion(nn.Module):
    min_modalities: int = 2
    max_modalities: int | None = None
    hyperparameters: ClassVar[dict[str, ParamSpec]] = {}
    handles_missing: ClassVar[bool] = False

    def __init__(self, in_dims: dict[str, int], num_classes: int, *, width: int, dropout: float) -> None:
        super().__init__()
        reason = self.unsupported_reason(len(in_dims))
        if reason:
            raise ValueError(reason)
        self.names = sorted(in_dims)
        self.in_dims = dict(in_dims)
        self.num_classes = num_classes

    @classmethod
    def unsupported_reason(cls, n_modalities: int) -> str | None:
        if n_modalities < cls.min_modalities:
            return f"needs at least {cls.min_modalities} modalities, got {n_modalities}"
        if cls.max_modalities is not None and n_modalities > cls.max_modalities:
            return f"handles at most {cls.max_modalities} modalities, got {n_modalities}"
        return None

    def forward(self, embeddings: dict[str, torch.Tensor]) -> FusionOutput:  # pragma: no cover - abstract
        raise NotImplementedError


class PerModalityHeads(Fusion):
    """A fusion made of one classifier head per modality (late voting, additive): how the members'
    logits combine is the subclass's ``forward``."""

    handles_missing = True

    def __init__(self, in_dims: dict[str, int], num_classes: int, *, width: int, dropout: float) -> None:
        super().__init__(in_dims, num_classes, width=width, dropout=dropout)
        self.heads = nn.ModuleDict(
            {
                name: classifier_head(dim, num_classes, width=width, dropout=dropout)
                for name, dim in in_dims.items()
            }
        )

    def member_logits(self, embeddings: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        return [self.heads[name](embeddings[name]) for name in self.names]  # M x (B, C)


FUSIONS: Registry[type[Fusion]] = Registry("fusion method")
UNIMODAL = "none"  # the fusion name of single-modality baselines


def register_fusion(name: str) -> Callable[[type[Fusion]], type[Fusion]]:
    return FUSIONS.register(name)


def classifier_head(in_dim: int, num_classes: int, *, width: int, dropout: float) -> nn.Sequential:
    """The MLP head every method shares, so methods differ only in how they fuse: (B, in) -> (B, C)."""
    return nn.Sequential(
        nn.Linear(in_dim, width), nn.GELU(), nn.Dropout(dropout), nn.Linear(width, num_classes)
    )
