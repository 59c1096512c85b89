"""Reference-model contract.

A reference is a scikit-learn classifier on early-fused features (see features.py), registered with
``@register_reference("ref_<name>")``. It declares its own search space (tuned by Optuna with the
same budget and validation metric as the neural combinations) and builds an estimator from the
suggested parameters and a seed. It runs once per (task, modality subset): encoder depth does not
apply, so its combinations carry depth 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmark.methods import REFERENCE_DEPTH, REFERENCE_PREFIX, is_reference
from benchmark.params import ParamSpec
from benchmark.registry import Registry

__all__ = [
    "REFERENCE_DEPTH",
    "REFERENCE_PREFIX",
    "REFERENCES",
    "Reference",
    "is_reference",
    "register_reference",
]


@dataclass(frozen=True)
class Reference:
    name: str
    hyperparameters: dict[str, ParamSpec]
    build: Callable[[dict[str, Any], int], Any]  # (params, seed) -> unfitted scikit-learn classifier
    dense: bool  # needs dense features (token TF-IDF reduced by truncated SVD)
    description: str = ""


REFERENCES: Registry[Reference] = Registry("reference model")


def register_reference(
    name: str, hyperparameters: dict[str, ParamSpec], *, dense: bool, description: str = ""
) -> Callable[[Callable[[dict[str, Any], int], Any]], Callable[[dict[str, Any], int], Any]]:
    if not name.startswith(REFERENCE_PREFIX):
        raise ValueError(f"reference model names start with {REFERENCE_PREFIX!r}, got {name!r}")

    def decorate(build: Callable[[dict[str, Any], int], Any]) -> Callable[[dict[str, Any], int], Any]:
        REFERENCES.register(name)(Reference(name, hyperparameters, build, dense, description))
        return build

    return decorate
