"""Fusion methods, one module each; importing this package registers them all."""

from benchmark.fusions import additive, attention, concat, gated, late_vote, low_rank, tensor, unimodal  # noqa: F401
from benchmark.fusions.base import FUSIONS, UNIMODAL, Fusion, FusionOutput, register_fusion

__all__ = ["FUSIONS", "UNIMODAL", "Fusion", "FusionOutput", "register_fusion"]
