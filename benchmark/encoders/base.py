"""Encoder contract: ``factory(spec, depth=, width=, dropout=) -> nn.Module`` mapping one modality's
batch (B, *spec.shape) to an embedding (B, out_dim). Each encoder exposes ``out_dim``."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from benchmark.registry import Registry
from benchmark.tasks.base import ModalitySpec

EncoderFactory = Callable[..., nn.Module]
ENCODERS: Registry[EncoderFactory] = Registry("encoder")

# Which encoder a modality kind gets unless the study config says otherwise.
DEFAULT_ENCODER_FOR_KIND = {"vector": "mlp", "image": "cnn", "sequence": "tcn", "tokens": "bag"}
# Which kinds each encoder accepts (checked when a study maps kinds to encoders).
ENCODER_KINDS: dict[str, set[str]] = {}


def register_encoder(name: str, kinds: set[str]) -> Callable[[EncoderFactory], EncoderFactory]:
    def decorate(factory: EncoderFactory) -> EncoderFactory:
        ENCODER_KINDS[name] = kinds
        return ENCODERS.register(name)(factory)

    return decorate


def build_encoder(name: str, spec: ModalitySpec, *, depth: int, width: int, dropout: float) -> nn.Module:
    if spec.kind not in ENCODER_KINDS.get(name, set()):
        raise ValueError(f"encoder {name!r} cannot encode {spec.kind} modality {spec.name!r}")
    if depth < 1:
        raise ValueError(f"encoder depth must be >= 1, got {depth}")
    return ENCODERS.get(name)(spec, depth=depth, width=width, dropout=dropout)


def conv_channels(width: int) -> int:
    """Convolution channels for a given embedding width: half of it, at least 16. A quarter (at least
    8) starved the encoders (mfeat's 16x15 digits: 0.61 at depth 1); the full width doubles the cost
    of every convolution again for little gain on these inputs."""
    return max(16, width // 2)
