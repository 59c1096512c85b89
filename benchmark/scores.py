"""Classification scores as registered objects: one definition per score, used by the engine (every
validation and test score a run logs, the robustness pass), by the report's bootstrap (which scores
thousands of resampled confusion matrices at once) and by every table.

A score is a formula over a batch of confusion matrices plus the level an input-blind prediction
reaches (its chance level). Adding a score is one ``register(Score(...))`` entry: runs log it as
``val/<name>`` and ``test/<name>``, the robustness pass logs it for every missing and corrupted
modality, the report's leaderboard shows it, and ``tuning.metric`` may name it (then every interval
and ranking is on it). numpy only: the report, which never imports torch, uses the same formulas.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Score:
    name: str  # logged as val/<name> and test/<name>; letters, digits and _ only
    label: str  # how tables, captions and figures name it
    # (R, K, K) confusion matrices (rows: true class, columns: predicted; counts or bootstrap weights)
    # -> (R,) scores. A class absent from both labels and predictions must count as scikit-learn counts
    # it with labels=range(K) and zero_division=0.
    formula: Callable[[np.ndarray], np.ndarray]
    # The class shares of the test labels (K,) -> the best expected score of a prediction that ignores
    # the inputs (a constant, or a random draw from any class distribution): the floor that gains,
    # retention and the interaction profile are measured from.
    chance: Callable[[np.ndarray], float]


REGISTRY: dict[str, Score] = {}


def register(score: Score) -> Score:
    if not score.name.replace("_", "").isalnum():
        raise ValueError(
            f"score name {score.name!r}: letters, digits and _ only (it is part of metric names)"
        )
    REGISTRY[score.name] = score
    return score


def names() -> tuple[str, ...]:
    """Every registered score, in registration order (the built-in three first)."""
    return tuple(REGISTRY)


def get(name: str) -> Score:
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown score {name!r}; registered scores: {', '.join(REGISTRY)}") from None


def confusions(labels: np.ndarray, predictions: np.ndarray, weights: np.ndarray, k: int) -> np.ndarray:
    """(R, K, K) confusion matrices of one labelling under sample ``weights`` (R, N): replicate r counts
    sample i ``weights[r, i]`` times."""
    cell = np.asarray(labels, dtype=np.int64) * k + np.asarray(predictions, dtype=np.int64)  # (N,)
    onehot = np.zeros((len(cell), k * k))
    onehot[np.arange(len(cell)), cell] = 1.0
    return (weights @ onehot).reshape(len(weights), k, k)


def scores_of(confusion: np.ndarray) -> dict[str, np.ndarray]:
    """Every registered score of (R, K, K) confusion matrices: name -> (R,)."""
    return {name: score.formula(confusion) for name, score in REGISTRY.items()}


def classification_scores(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> dict[str, float]:
    """Every registered score of one prediction over classes 0..num_classes-1, from one confusion
    matrix. scikit-learn's own functions validate their inputs on every call (~18 ms each): they were a
    quarter of a small task's run time, scoring every epoch. tests/test_metrics.py checks the built-in
    scores against scikit-learn."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    k = num_classes
    confusion = np.bincount(y_true * k + y_pred, minlength=k * k).reshape(1, k, k).astype(np.float64)
    return {name: float(values[0]) for name, values in scores_of(confusion).items()}


def class_shares(y_true: np.ndarray, num_classes: int) -> np.ndarray:
    counts = np.bincount(np.asarray(y_true, dtype=np.int64), minlength=num_classes).astype(np.float64)
    return counts / max(1.0, counts.sum())


def chance_scores(y_true: np.ndarray, num_classes: int) -> dict[str, float]:
    """Every registered score's chance level on these labels."""
    shares = class_shares(y_true, num_classes)
    return {name: float(score.chance(shares)) for name, score in REGISTRY.items()}


# ---- the built-in scores ----------------------------------------------------------------------------------
def _parts(confusion: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hits, support, predicted), each (R, K)."""
    return np.diagonal(confusion, axis1=1, axis2=2), confusion.sum(axis=2), confusion.sum(axis=1)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0 (scikit-learn's zero_division=0)."""
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)


def _accuracy(confusion: np.ndarray) -> np.ndarray:
    hits, support, _ = _parts(confusion)
    return _ratio(hits.sum(axis=1), support.sum(axis=1))


def _recall_macro(confusion: np.ndarray) -> np.ndarray:
    hits, support, _ = _parts(confusion)
    return _ratio(hits, support).mean(axis=1)


def _f1_macro(confusion: np.ndarray) -> np.ndarray:
    # F1 = 2 tp / (2 tp + fp + fn) = 2 tp / (support + predicted), 0 where a class is neither true nor predicted
    hits, support, predicted = _parts(confusion)
    return _ratio(2 * hits, support + predicted).mean(axis=1)


def _majority_share(shares: np.ndarray) -> float:
    """Accuracy of an input-blind prediction drawn from q is sum_c q_c p_c: highest for the majority class."""
    return float(shares.max())


def _one_over_classes(shares: np.ndarray) -> float:
    """Macro recall is 1/K for every input-blind q. For macro F1 class c has precision p_c and recall q_c,
    F1_c = 2 p_c q_c / (p_c + q_c), concave in q with its maximum at q = p (guessing by the priors), where
    macro F1 = sum_c p_c / K = 1/K; a constant reaches only 2 p_max / (1 + p_max) / K (0.33 against 0.5 on
    two balanced classes), so a model that has learned nothing would otherwise appear to beat chance."""
    return 1.0 / len(shares)


register(Score("accuracy", "accuracy", _accuracy, _majority_share))
register(Score("recall_macro", "macro recall", _recall_macro, _one_over_classes))
register(Score("f1_macro", "macro F1", _f1_macro, _one_over_classes))
