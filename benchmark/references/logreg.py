"""Logistic regression (L2, lbfgs) on early-fused features; the regularisation strength and class
weighting are tuned."""

from __future__ import annotations

from typing import Any

from benchmark.params import ParamSpec
from benchmark.references.base import register_reference

SPACE = {
    "C": ParamSpec("float", 1e-3, 1e2, log=True),
    "class_weight": ParamSpec("categorical", choices=("none", "balanced")),
}


@register_reference("ref_logreg", SPACE, dense=False, description="logistic regression (scikit-learn)")
def logreg(params: dict[str, Any], seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    weight = None if params["class_weight"] == "none" else params["class_weight"]
    return LogisticRegression(C=float(params["C"]), class_weight=weight, max_iter=2000, random_state=seed)
