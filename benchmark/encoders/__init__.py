"""Encoders, one module each; importing this package registers them all."""

from benchmark.encoders import bag, cnn, mlp, temporal  # noqa: F401  (registration side effects)
from benchmark.encoders.base import DEFAULT_ENCODER_FOR_KIND, ENCODER_KINDS, ENCODERS, build_encoder

__all__ = ["DEFAULT_ENCODER_FOR_KIND", "ENCODER_KINDS", "ENCODERS", "build_encoder"]
