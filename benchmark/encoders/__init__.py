"""Encoders, one module each; importing this package registers them all."""

from benchmark.encoders import bag, cnn, mlp, temporal  # noqa: F401  (registration side effects)
from benchmark.encoders.base import ENCODERS, build_encoder, default_encoder, encoder_kinds

__all__ = ["ENCODERS", "build_encoder", "default_encoder", "encoder_kinds"]
