"""Intervals that include test-set sampling error, and flags for combinations whose seeds disagree.

A leaderboard cell is the mean over final seeds of a score on one test split. Its uncertainty has two
sources: which test samples happened to be drawn (for 400 test samples one sample is 0.25 points of
accuracy) and which seeds were trained. The interval resamples both: each bootstrap replicate draws the
test samples with replacement (the same draw for every seed, since they share the split) and the seeds
with replacement, scores every drawn seed on the drawn samples, and averages. The 2.5 and 97.5
percentiles of the replicates bound the 95 % interval (percentile bootstrap).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SCORES = ("accuracy", "recall_macro", "f1_macro")


def weighted_scores(
    labels: np.ndarray, predictions: np.ndarray, weights: np.ndarray, num_classes: int
) -> dict[str, np.ndarray]:
    """Scores of one model under sample ``weights`` (R, N): R replicates at once, each the scores of the
    resampled split (weight = how many times a sample was drawn). Classes absent from both labels and
    predictions count as 0, as scikit-learn does with ``labels=range(num_classes)``."""
    cell = labels.astype(np.int64) * num_classes + predictions.astype(np.int64)  # (N,)
    onehot = np.zeros((len(cell), num_classes * num_classes))
    onehot[np.arange(len(cell)), cell] = 1.0
    confusion = (weights @ onehot).reshape(len(weights), num_classes, num_classes)  # (R, true, predicted)
    true_positive = np.diagonal(confusion, axis1=1, axis2=2)  # (R, C)
    actual, predicted = confusion.sum(axis=2), confusion.sum(axis=1)  # (R, C) each
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = np.where(actual > 0, true_positive / actual, 0.0)
        denominator = actual + predicted
        f1 = np.where(denominator > 0, 2 * true_positive / denominator, 0.0)
    return {
        "accuracy": true_positive.sum(axis=1) / confusion.sum(axis=(1, 2)),
        "recall_macro": recall.mean(axis=1),
        "f1_macro": f1.mean(axis=1),
    }


Runs = list[tuple[np.ndarray, np.ndarray]]  # (test labels, test predictions) per final seed


def _patterns(runs: Runs) -> tuple[np.ndarray, np.ndarray, int]:
    """(patterns (1 + S, K), their counts (K,), number of classes). Scores depend only on how many
    samples fall in each (label, prediction of every run) pattern, so the bootstrap resamples the
    distinct patterns' counts (multinomial) instead of N sample indices: the same distribution, a
    fraction of the work on large splits."""
    labels = runs[0][0]
    if any(not np.array_equal(r[0], labels) for r in runs):
        raise ValueError("the runs' test labels differ: they were not scored on the same split")
    num_classes = int(max(max(r[0].max(), r[1].max()) for r in runs)) + 1
    patterns, counts = np.unique(np.stack([labels, *(p for _, p in runs)]), axis=1, return_counts=True)
    return patterns, counts, num_classes


def _seed_means(
    patterns: np.ndarray, runs: range, weights: np.ndarray, num_classes: int, score: str,
    rng: np.random.Generator | None,
) -> np.ndarray:  # fmt: skip
    """(R,) mean ``score`` over the ``runs`` (rows 1 + i of ``patterns``) under each weight row; with
    ``rng`` the runs themselves are drawn with replacement per replicate."""
    per_run = np.stack(
        [weighted_scores(patterns[0], patterns[1 + i], weights, num_classes)[score] for i in runs]
    )  # (S, R)
    if rng is None:
        return per_run.mean(axis=0)
    drawn = rng.integers(0, len(runs), size=(len(weights), len(runs)))  # (R, S)
    return per_run[drawn, np.arange(len(weights))[:, None]].mean(axis=1)


def _percentiles(replicates: np.ndarray, level: float) -> tuple[float, float]:
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(replicates, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap_interval(
    runs: Runs, score: str, *, replicates: int = 2000, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """95 % percentile-bootstrap interval of the seed-mean ``score`` over test samples and seeds.
    ``runs``: (labels, predictions) per final seed, all on the same test split."""
    if not runs:
        return (float("nan"), float("nan"))
    patterns, counts, num_classes = _patterns(runs)
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(counts.sum(), counts / counts.sum(), size=replicates)  # (R, K)
    return _percentiles(_seed_means(patterns, range(len(runs)), weights, num_classes, score, rng), level)


def attach_intervals(
    summary: pd.DataFrame,
    seeds: pd.DataFrame,
    predictions: dict[str, tuple[np.ndarray, np.ndarray]],
    metric: str,
    replicates: int = 2000,
) -> pd.DataFrame:
    """``summary`` with ``<metric>_ci_low`` / ``_ci_high``: the bootstrap interval of each combination
    over its finished seeds' test predictions (NaN where no seed logged predictions)."""
    score = metric.split("/", 1)[1]
    finished = seeds[seeds["status"] == "FINISHED"]
    runs_of = finished.groupby("combination_id")["run_id"].apply(list)
    low, high = [], []
    for combination_id in summary["combination_id"]:
        runs = [predictions[r] for r in runs_of.get(combination_id, []) if r in predictions]
        interval = bootstrap_interval(runs, score, replicates=replicates)
        low.append(interval[0])
        high.append(interval[1])
    return summary.assign(**{f"{metric}_ci_low": low, f"{metric}_ci_high": high})


def paired_difference_interval(
    first: Runs, second: Runs, score: str, *, replicates: int = 2000, level: float = 0.95, seed: int = 0
) -> tuple[float, float, float]:
    """(difference, low, high): the seed-mean ``score`` of ``first`` minus that of ``second`` on the
    same test split, with a 95 % percentile-bootstrap interval that resamples the test samples jointly
    for both (a paired comparison) and each side's seeds."""
    if not first or not second:
        return (float("nan"),) * 3
    patterns, counts, num_classes = _patterns([*first, *second])
    a, b = range(len(first)), range(len(first), len(first) + len(second))
    observed = counts[None, :].astype(float)  # (1, K): the split as it is
    difference = float(
        _seed_means(patterns, a, observed, num_classes, score, None)[0]
        - _seed_means(patterns, b, observed, num_classes, score, None)[0]
    )
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(counts.sum(), counts / counts.sum(), size=replicates)  # (R, K)
    replicate = _seed_means(patterns, a, weights, num_classes, score, rng) - _seed_means(
        patterns, b, weights, num_classes, score, rng
    )
    return (difference, *_percentiles(replicate, level))
