"""Encoder contract: ``factory(spec, depth=, width=, dropout=) -> nn.Module`` mapping one modality's
batch (B, *spec.shape) to an embedding (B, out_dim). Each encoder exposes ``out_dim``."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from benchmark.registry import Registry
from benchmark.tasks.base import ModalitySpec

EncoderFactory = Callable[..., nn.Module]
ENCODERS: Registry[EncoderFactory] = Registry("encoder")


def register_encoder(
    name: str, kinds: set[str], default_for: set[str] = frozenset()
) -> Callable[[EncoderFactory], EncoderFactory]:
    """Register an encoder with the modality ``kinds`` it accepts and the kinds it is the default
    encoder of (a study's ``encoders:`` overrides the default)."""
    return ENCODERS.register(name, kinds=frozenset(kinds), default_for=frozenset(default_for))


def encoder_kinds(name: str) -> frozenset[str]:
    """The modality kinds encoder ``name`` accepts."""
    return ENCODERS.metadata(name)["kinds"]


def default_encoder(kind: str) -> str:
    """The encoder a modality kind gets unless the study config says otherwise."""
    chosen = [name for name in ENCODERS.names() if kind in ENCODERS.metadata(name)["default_for"]]
    if len(chosen) != 1:
        raise ValueError(
            f"modality kind {kind!r} needs exactly one default encoder, found {chosen or 'none'}"
        )
    return chosen[0]


def build_encoder(name: str, spec: ModalitySpec, *, depth: int, width: int, dropout: float) -> nn.Module:
    if spec.kind not in encoder_kinds(name):
        raise ValueError(f"encoder {name!r} cannot encode {spec.kind} modality {spec.name!r}")
    if depth < 1:
        raise ValueError(f"encoder depth must be >= 1, got {depth}")
    return ENCODERS.get(name)(spec, depth=depth, width=width, dropout=dropout)


def conv_channels(width: int) -> int:
    """Convolution channels for a given embedding width: half of it, at least 16. A quarter (at least
    8) starved the encoders (mfeat's 16x15 digits: 0.61 at depth 1); the full width doubles the cost
    of every convolution again for little gain on these inputs."""
    return max(16, width // 2)
