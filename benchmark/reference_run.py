"""One training of a reference model (``ref_*``): early-fused features -> scikit-learn classifier.

The counterpart of ``experiment.run_once`` for the classical floor: the same splits, the same
validation metric for tuning, the same test scores and memory; the fitted features + classifier are
saved like a network, so the latency pass times them the same way (from the task's tensors).
"""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from benchmark.measurement import Measurement, combination_splits
from benchmark.metrics import RunMemory
from benchmark.references import REFERENCES
from benchmark.references.features import FeatureBuilder
from benchmark.scores import classification_scores
from benchmark.training import FitResult


@dataclass(frozen=True)
class ReferenceParams:
    """A reference model's tuned parameters (its own search space), sorted by name."""

    values: tuple[tuple[str, Any], ...]

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> ReferenceParams:
        return cls(tuple(sorted(params.items())))

    def as_params(self) -> dict[str, Any]:
        return dict(self.values)


# (id(task), modalities, dense) -> (task, fitted builder). The entry holds the task itself: an id is
# unique only among live objects, and a task kept alive by its entry cannot hand its id to another.
_FEATURES: dict[tuple[int, tuple[str, ...], bool], tuple[Any, FeatureBuilder]] = {}


def _features(
    task: Any,
    modalities: tuple[str, ...],
    dense: bool,
    specs: dict[str, Any],
    inputs: dict[str, torch.Tensor],
) -> FeatureBuilder:
    """The fitted feature builder of (task, modalities): deterministic given the train split, so every
    trial and seed of a combination reuses it (the SVD of a text modality costs seconds)."""
    key = (id(task), modalities, dense)
    if key not in _FEATURES:
        if len(_FEATURES) >= 4:  # combinations run one after another: keep the latest few
            _FEATURES.pop(next(iter(_FEATURES)))
        _FEATURES[key] = (task, FeatureBuilder(specs, dense=dense).fit(inputs))
    return _FEATURES[key][1]


def _parameter_count(model: Any) -> int:
    """Learned numbers: coefficients and intercepts of a linear model, tree nodes of a boosted model."""
    if hasattr(model, "_predictors"):  # HistGradientBoosting: a list of trees per iteration
        return int(sum(len(tree.nodes) for trees in model._predictors for tree in trees))
    return int(sum(np.size(getattr(model, a)) for a in ("coef_", "intercept_") if hasattr(model, a)))


def _validation_for_early_stopping(
    model: Any, features: Any, labels: np.ndarray, train_labels: np.ndarray
) -> dict[str, Any]:
    """Fit keywords that hand the validation split to a model that stops early on one it is given
    (gradient boosting: ``X_val``/``y_val``), as a network's epochs are chosen on it; none otherwise.
    Validation rows of a class the training rows lack are left out: the model cannot score them
    (scikit-learn raises on an unseen label), and its rounds are chosen on the classes it learns."""
    stops_early = getattr(model, "early_stopping", False) is True
    if not stops_early or "X_val" not in inspect.signature(model.fit).parameters:
        return {}
    seen = np.flatnonzero(np.isin(labels, np.unique(train_labels)))
    if len(seen) == 0:
        return {}
    if len(seen) < len(labels):
        features, labels = features[seen], labels[seen]
    return {"X_val": features, "y_val": labels}


def run_reference(
    task: Any, combination: Any, params: ReferenceParams, settings: Any, *, seed: int, final: bool = False
) -> Any:
    """Fit on train, score on validation (and on test, with the memory the run added, when ``final``;
    the fitted features + model then become ``Measurement.model``, one scikit-learn pipeline)."""
    reference = REFERENCES.get(combination.fusion)
    train, val, test = combination_splits(task, combination)
    specs = {m: task.modalities[m] for m in combination.modalities}
    memory = RunMemory(torch.device("cpu")) if final else None
    start = time.perf_counter()
    builder = _features(task, combination.modalities, reference.dense, specs, train.inputs)
    model = reference.build(params.as_params(), seed)
    labels = train.labels.cpu().numpy()
    val_features = builder.transform(val.inputs)  # once: for early stopping and for the val scores
    validation = _validation_for_early_stopping(model, val_features, val.labels.cpu().numpy(), labels)
    # scikit-learn's OpenMP and BLAS pools take every core by default; a worker owns its share only
    with threadpool_limits(limits=torch.get_num_threads()):
        model.fit(builder.transform(train.inputs), labels, **validation)
    train_seconds = time.perf_counter() - start
    pipeline = reference_pipeline(builder, model)

    start = time.perf_counter()
    val_scores = classification_scores(
        val.labels.cpu().numpy(), model.predict(val_features), task.num_classes
    )
    metric = settings.metric
    fit = FitResult(
        best_epoch=1,
        epochs_run=1,
        best_val_score=val_scores[metric],
        stop_reason="fitted",
        history=[(1, float("nan"), val_scores[metric])],
        train_seconds=train_seconds,
        eval_seconds=time.perf_counter() - start,
    )
    measurement = Measurement(fit=fit, val=val_scores, n_params=_parameter_count(model))
    if not final:
        return measurement
    labels, predictions = test.labels.cpu().numpy(), pipeline.predict(test.inputs)
    measurement.test = classification_scores(labels, predictions, task.num_classes)
    measurement.test_predictions = (labels, predictions)
    measurement.final_eval_seconds = time.perf_counter() - start
    measurement.model = pipeline
    assert memory is not None
    measurement.cpu_added_mb = memory.cpu_added_mb()
    return measurement


def reference_pipeline(builder: FeatureBuilder, model: Any) -> Any:
    """Features and classifier as one fitted scikit-learn pipeline: ``predict`` takes the task's
    inputs (a dict of tensors), so the saved model is usable on its own (``mlflow.sklearn.load_model``)."""
    from sklearn.pipeline import Pipeline

    return Pipeline([("features", builder), ("classifier", model)])
