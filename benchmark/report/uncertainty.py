"""Intervals that include test-set sampling error, and flags for combinations whose seeds disagree.

A leaderboard cell is the mean over final seeds (and over outer folds) of a score on the test split.
Its interval resamples the test samples and the seeds: each bootstrap replicate redraws every class's
test samples with replacement, keeping the class's count (a stratified bootstrap: a class is never
absent from a replicate, so a model right on every sample gets [1, 1] on 8 samples as on 8,000), the
same draw for every seed since they share the split, draws the seeds with replacement, and averages.
With K disjoint outer folds the replicate is the mean of one such replicate per fold: the folds
partition the data set, so they are not resampled. The 2.5 and 97.5 percentiles bound the 95 % interval.

What it covers: which test samples were drawn, and which seeds were trained. What it does not: the
training-set draw (the folds' training sets overlap), the tuning run (one per fold), and, for a task
with one holdout, which samples the holdout put in test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmark import scores
from benchmark.schema import CEILING, TEST_ACCURACY, mean_of


def weighted_scores(
    labels: np.ndarray, predictions: np.ndarray, weights: np.ndarray, num_classes: int
) -> dict[str, np.ndarray]:
    """Every registered score of one model under sample ``weights`` (R, N): R replicates at once, each
    the scores of the resampled split (weight = how many times a sample was drawn)."""
    return scores.scores_of(scores.confusions(labels, predictions, weights, num_classes))


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
    patterns: np.ndarray,
    runs: range,
    weights: np.ndarray,
    num_classes: int,
    score: str,
    rng: np.random.Generator | None,
) -> np.ndarray:
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


def stratified_weights(
    labels: np.ndarray, counts: np.ndarray, replicates: int, rng: np.random.Generator
) -> np.ndarray:
    """(R, K) bootstrap weights of K patterns: within each class (``labels`` of the patterns) the
    class's samples are redrawn with replacement, so every replicate keeps every class's count."""
    weights = np.zeros((replicates, len(counts)))
    for label in np.unique(labels):
        members = labels == label
        total = counts[members].sum()
        weights[:, members] = rng.multinomial(total, counts[members] / total, size=replicates)
    return weights


def _replicates(runs: Runs, score: str, replicates: int, rng: np.random.Generator) -> np.ndarray:
    """(R,) bootstrap replicates of the seed-mean ``score`` of ``runs`` (one test split)."""
    patterns, counts, num_classes = _patterns(runs)
    weights = stratified_weights(patterns[0], counts, replicates, rng)
    return _seed_means(patterns, range(len(runs)), weights, num_classes, score, rng)


def _over_splits(per_split: np.ndarray) -> np.ndarray:
    """(K, R) replicates of K disjoint outer folds -> (R,) replicates of their mean. The folds are a
    partition of the data set, not a sample of folds: each is kept, its test samples resampled."""
    return per_split.mean(axis=0)


def joint_replicates(
    cells: list[dict[int, Runs]], score: str, *, replicates: int = 2000, seed: int = 0
) -> np.ndarray | None:
    """(R, J) bootstrap replicates of J grid cells' scores (the mean over the outer folds of each fold's
    seed mean), the cells resampled together: in each replicate every cell is scored on the same
    redrawn test samples (they share their folds' test sets), so any function of the J scores (a
    difference, a sum of gains) gets its interval from the percentiles of that function over the rows.
    Each cell's seeds are drawn with replacement; the folds are kept. Only the folds every cell ran
    count; None where there is none."""
    common = set.intersection(*(set(c) for c in cells)) if cells else set()
    folds = [k for k in sorted(common) if all(c[k] for c in cells)]
    if not folds:
        return None
    rng = np.random.default_rng(seed)
    per_fold = []
    for fold in folds:
        patterns, counts, num_classes = _patterns([r for c in cells for r in c[fold]])
        weights = stratified_weights(patterns[0], counts, replicates, rng)
        columns, start = [], 0
        for cell in cells:
            members = range(start, start + len(cell[fold]))
            columns.append(_seed_means(patterns, members, weights, num_classes, score, rng))
            start += len(cell[fold])
        per_fold.append(np.stack(columns, axis=1))
    return _over_splits(np.stack(per_fold))


def bootstrap_interval(
    runs: Runs | list[Runs], score: str, *, replicates: int = 2000, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """95 % percentile-bootstrap interval of the seed-mean ``score`` over test samples (stratified by
    class) and seeds. ``runs``: (labels, predictions) per final seed, all on the same test split; or a
    list of such lists, one per disjoint outer fold, for the interval of the mean over folds."""
    by_split = [r for r in runs if r] if runs and isinstance(runs[0], list) else [runs]
    if not by_split or not by_split[0]:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    per_split = np.stack([_replicates(r, score, replicates, rng) for r in by_split])
    return _percentiles(_over_splits(per_split), level)


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
    low, high = [], []
    for combination_id in summary["combination_id"]:
        runs = runs_by_split(seeds, predictions, combination_id)
        interval = bootstrap_interval(list(runs.values()), score, replicates=replicates)
        low.append(interval[0])
        high.append(interval[1])
    return summary.assign(**{f"{metric}_ci_low": low, f"{metric}_ci_high": high})


GAP, GAP_LOW, GAP_HIGH = "gap_to_ceiling", "gap_ci_low", "gap_ci_high"


def attach_ceiling_gaps(
    summary: pd.DataFrame,
    seeds: pd.DataFrame,
    predictions: dict[str, tuple[np.ndarray, np.ndarray]],
    replicates: int = 2000,
) -> pd.DataFrame:
    """``summary`` with ``gap_to_ceiling`` (test accuracy minus the Bayes accuracy of the same test
    samples: synthetic tasks, whose generator knows it; NaN elsewhere) and its 95 % interval: the
    accuracy's bootstrap interval (test samples and seeds, as ``bootstrap_interval``) minus the
    ceiling. The ceiling is held fixed as the Bayes accuracy of those samples; resampling it with
    them (a paired interval) would narrow the interval, so this one errs wide."""
    ceiling = summary[mean_of(CEILING)] if mean_of(CEILING) in summary else pd.Series(np.nan, summary.index)
    low, high = [], []
    for combination_id, bayes in zip(summary["combination_id"], ceiling, strict=True):
        if pd.isna(bayes):
            low.append(np.nan)
            high.append(np.nan)
            continue
        runs = runs_by_split(seeds, predictions, combination_id)
        a, b = bootstrap_interval(list(runs.values()), "accuracy", replicates=replicates)
        low.append(a - bayes)
        high.append(b - bayes)
    return summary.assign(**{GAP: summary[mean_of(TEST_ACCURACY)] - ceiling, GAP_LOW: low, GAP_HIGH: high})


def runs_by_split(
    seeds: pd.DataFrame, predictions: dict[str, tuple[np.ndarray, np.ndarray]], combination_id: str
) -> dict[int, Runs]:
    """The finished seeds' (labels, predictions) of one grid cell, per outer split (in split order)."""
    rows = seeds[(seeds["combination_id"] == combination_id) & (seeds["status"] == "FINISHED")]
    grouped: dict[int, Runs] = {}
    for split, run_id in zip(rows["split"], rows["run_id"], strict=True):
        if run_id in predictions:
            grouped.setdefault(int(split), []).append(predictions[run_id])
    return dict(sorted(grouped.items()))


def _paired(
    first: Runs, second: Runs, score: str, replicates: int, rng: np.random.Generator
) -> tuple[float, np.ndarray]:
    """The observed seed-mean difference on one split and its (R,) bootstrap replicates."""
    patterns, counts, num_classes = _patterns([*first, *second])
    a, b = range(len(first)), range(len(first), len(first) + len(second))
    observed = counts[None, :].astype(float)  # (1, K): the split as it is
    difference = float(
        _seed_means(patterns, a, observed, num_classes, score, None)[0]
        - _seed_means(patterns, b, observed, num_classes, score, None)[0]
    )
    weights = stratified_weights(patterns[0], counts, replicates, rng)
    replicate = _seed_means(patterns, a, weights, num_classes, score, rng) - _seed_means(
        patterns, b, weights, num_classes, score, rng
    )
    return difference, replicate


def paired_difference_interval(
    first: Runs | dict[int, Runs],
    second: Runs | dict[int, Runs],
    score: str,
    *,
    replicates: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """(difference, low, high): the seed-mean ``score`` of ``first`` minus that of ``second`` on the
    same test split, with a 95 % percentile-bootstrap interval that resamples the test samples jointly
    for both (a paired comparison) and each side's seeds. With outer splits (dicts split -> runs) the
    difference is the mean over the folds both sides ran, paired within each fold."""
    pairs = (
        [(first[k], second[k]) for k in sorted(set(first) & set(second))]
        if isinstance(first, dict) and isinstance(second, dict)
        else [(first, second)]
    )
    pairs = [(a, b) for a, b in pairs if a and b]
    if not pairs:
        return (float("nan"),) * 3
    rng = np.random.default_rng(seed)
    results = [_paired(a, b, score, replicates, rng) for a, b in pairs]
    difference = float(np.mean([d for d, _ in results]))
    replicate = _over_splits(np.stack([r for _, r in results]))
    return (difference, *_percentiles(replicate, level))
