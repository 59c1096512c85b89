"""Fusion methods, one module each; importing this package registers them all."""

from benchmark.fusions import attention, concat, late_vote, unimodal  # noqa: F401  (registration)
from benchmark.fusions.base import FUSIONS, UNIMODAL, Fusion, FusionOutput, register_fusion

__all__ = ["FUSIONS", "UNIMODAL", "Fusion", "FusionOutput", "register_fusion"]
