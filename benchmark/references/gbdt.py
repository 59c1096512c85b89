"""Gradient-boosted trees (scikit-learn's HistGradientBoostingClassifier) on early-fused features;
shrinkage, tree size, leaf size (from 1: nutrimouse trains on about 21 rows, and scikit-learn's default
of 20 rows per leaf made it a constant predictor there), L2 and class weighting are tuned. The number of
boosting rounds is chosen as a network's epochs are: on the suite's validation split (its log-loss, 10
rounds of patience, at most 200), which the trial is scored on anyway; no train rows are held out for
it, which a small data set could not spare, and a fit stops where more trees stop helping (a fixed 200
rounds made gradient boosting half of the headline study's time). Seeds change the feature subsampling,
so final seeds differ."""

from __future__ import annotations

from typing import Any

from benchmark.params import ParamSpec
from benchmark.references.base import register_reference

SPACE = {
    "learning_rate": ParamSpec("float", 0.03, 0.3, log=True),
    "max_leaf_nodes": ParamSpec("int", 8, 64, log=True),
    "min_samples_leaf": ParamSpec("int", 1, 20, log=True),
    "l2_regularization": ParamSpec("float", 1e-4, 10.0, log=True),
    "class_weight": ParamSpec("categorical", choices=("none", "balanced")),
}


@register_reference("ref_gbdt", SPACE, dense=True, description="gradient-boosted trees (scikit-learn)")
def gbdt(params: dict[str, Any], seed: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    weight = None if params["class_weight"] == "none" else params["class_weight"]
    return HistGradientBoostingClassifier(
        learning_rate=float(params["learning_rate"]),
        max_leaf_nodes=int(params["max_leaf_nodes"]),
        min_samples_leaf=int(params.get("min_samples_leaf", 20)),
        l2_regularization=float(params["l2_regularization"]),
        class_weight=weight,
        max_iter=200,
        early_stopping=True,  # on the validation split run_reference passes (X_val, y_val)
        n_iter_no_change=10,
        max_features=0.8,
        random_state=seed,
    )
