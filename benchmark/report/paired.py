"""Paired comparisons per task, each side chosen on validation and the test difference with a paired
bootstrap interval: the unimodal gate (network against the classical reference on one modality), the
best network against the best reference, and the best fusion against the best single modality.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from benchmark.methods import is_reference
from benchmark.report.tables import SCORE, UNIMODAL, chosen_on_validation, scored_rows, validation
from benchmark.schema import BEST_EPOCH, EPOCHS, mean_of

REFERENCE_COLUMNS = [
    "task",
    "neural",
    "neural_val",
    "neural_test",
    "reference",
    "reference_val",
    "reference_test",
    "difference",
    "ci_low",
    "ci_high",
    "conclusion",
]
SINGLE_COLUMNS = [
    "task",
    "fusion",
    "fusion_val",
    "fusion_test",
    "fusion_ci_low",
    "fusion_ci_high",
    "single",
    "single_val",
    "single_test",
    "single_ci_low",
    "single_ci_high",
    "difference",
    "ci_low",
    "ci_high",
    "conclusion",
]


def _paired_choices(
    summary: pd.DataFrame,
    seeds: pd.DataFrame,
    predictions: dict[str, tuple[np.ndarray, np.ndarray]],
    metric: str,
    sides: tuple[Callable[[pd.DataFrame], pd.Series], Callable[[pd.DataFrame], pd.Series]],
) -> list[tuple[str, pd.Series, pd.Series, float, float, float]]:
    """Per task where both sides have a scored row: the row of each side chosen on validation and the
    difference of their test scores (first minus second) with a paired bootstrap interval (same test
    samples and splits, both sides' seeds resampled)."""
    scored = scored_rows(summary, metric)
    chosen = []
    for task in sorted(scored["task"].unique()):
        rows_of_task = scored[scored["task"] == task]
        first, second = (rows_of_task[side(rows_of_task).astype(bool)] for side in sides)
        if first.empty or second.empty:
            continue
        chosen.append((task, *_chosen_pair(first, second, seeds, predictions, metric)))
    return chosen


def _chosen_pair(
    first: pd.DataFrame,
    second: pd.DataFrame,
    seeds: pd.DataFrame,
    predictions: dict[str, tuple[np.ndarray, np.ndarray]],
    metric: str,
) -> tuple[pd.Series, pd.Series, float, float, float]:
    """The row of each side chosen on validation and the paired difference of their test scores
    (first minus second) with its interval; the plain difference of means, without an interval, where
    the two share no test samples to pair."""
    from benchmark.report.uncertainty import paired_difference_interval, runs_by_split

    a = chosen_on_validation(first, metric, ["task"]).iloc[0]
    b = chosen_on_validation(second, metric, ["task"]).iloc[0]
    difference, low, high = paired_difference_interval(
        runs_by_split(seeds, predictions, a["combination_id"]),
        runs_by_split(seeds, predictions, b["combination_id"]),
        metric.split("/", 1)[1],
    )
    if math.isnan(difference):
        difference, low, high = a[mean_of(metric)] - b[mean_of(metric)], math.nan, math.nan
    return a, b, difference, low, high


GATE_MARGIN = 0.02  # a unimodal network this far below the reference on its modality is encoder-limited
GATE_COLUMNS = [
    "task",
    "modality",
    "network",
    "network_val",
    "network_test",
    "reference",
    "reference_val",
    "reference_test",
    "difference",
    "ci_low",
    "ci_high",
    "val_difference",
    "gate",
    "cause",
]
# Without a recorded stop reason (stores of older versions): a seed whose chosen epoch is one of its
# last two counts as still improving when its epoch budget ended.
STILL_RISING_EPOCHS = 1


def ended_by_budget(runs: pd.DataFrame) -> pd.Series:
    """Per network run: True when its step budget, not patience, ended its training, i.e. validation had
    improved within the last ``patience`` evaluations: more steps would likely have raised it. Under a
    cosine schedule the chosen epoch alone cannot tell (the decaying rate flattens every curve's end), so
    the recorded stop reason decides where there is one."""
    by_epoch = (runs[EPOCHS] - runs[BEST_EPOCH]) <= STILL_RISING_EPOCHS
    if "stop_reason" not in runs:
        return by_epoch
    reason = runs["stop_reason"].fillna("").astype(str)
    return (reason == "max_epochs").where(reason != "", by_epoch)


def unimodal_gate(
    summary: pd.DataFrame,
    seeds: pd.DataFrame,
    predictions: dict[str, tuple[np.ndarray, np.ndarray]],
    metric: str = SCORE,
) -> pd.DataFrame:
    """Per task and single modality: the best unimodal network against the best reference model on
    that modality (each chosen on validation), with the paired test difference and its interval. The
    gate holds where the network's validation score is at least the reference's minus GATE_MARGIN;
    else the task is "encoder-limited": its fusion comparison ranks how well each encoder trains more
    than how methods fuse. Decided on validation, since it decides which tasks enter an analysis."""
    scored = scored_rows(summary, metric)
    singles = scored[scored["n_modalities"] == 1]
    val = mean_of(validation(metric))
    rows = []
    for (task, modality), of_modality in singles.groupby(["task", "modalities"], sort=True):
        networks = of_modality[of_modality["fusion"] == UNIMODAL]
        references = of_modality[of_modality["fusion"].map(is_reference).astype(bool)]
        if networks.empty or references.empty:
            continue
        a, b, difference, low, high = _chosen_pair(networks, references, seeds, predictions, metric)
        val_difference = a[val] - b[val]
        rows.append(
            {
                "task": task,
                "modality": modality,
                "network": f"depth {a['depth']}",
                "network_val": a[val],
                "network_test": a[mean_of(metric)],
                "reference": b["fusion"],
                "reference_val": b[val],
                "reference_test": b[mean_of(metric)],
                "difference": difference,
                "ci_low": low,
                "ci_high": high,
                "val_difference": val_difference,
                "gate": "holds" if val_difference >= -GATE_MARGIN - 1e-12 else "encoder-limited",
                "cause": gate_cause(a, b, seeds) if val_difference < -GATE_MARGIN - 1e-12 else "",
            }
        )
    return pd.DataFrame(rows, columns=GATE_COLUMNS)


def still_rising(seeds: pd.DataFrame, combination_id: str) -> tuple[int, int]:
    """(finished seeds of a cell still improving on validation when their step budget ended, finished
    seeds with a training record)."""
    of_cell = seeds[(seeds["combination_id"] == combination_id) & (seeds["status"] == "FINISHED")]
    trained = of_cell.dropna(subset=[EPOCHS, BEST_EPOCH])
    return int(ended_by_budget(trained).sum()), len(trained)


def gate_cause(network: pd.Series, reference: pd.Series, seeds: pd.DataFrame) -> str:
    """Why a unimodal network falls short of its reference, as far as the run's records tell: its
    training ended by the budget while validation still rose (undertrained), or it stopped early,
    converged below the reference (the model class: trees on tabular features, a fixed-feature linear
    model on many features and few samples)."""
    rising, trained = still_rising(seeds, str(network["combination_id"]))
    if trained and 2 * rising >= trained:
        return (
            f"undertrained: validation still rising when the step budget ended ({rising} of {trained} seeds)"
        )
    if not trained:
        return f"below {reference['fusion']} (no training record)"
    return (
        f"converged below {reference['fusion']} ({trained - rising} of {trained} seeds had stopped improving "
        f"before their step budget ended)"
    )


def encoder_limited_tasks(gate: pd.DataFrame) -> list[str]:
    """Tasks where some modality's network falls short of its reference (see ``unimodal_gate``)."""
    return sorted(set(gate.loc[gate["gate"] == "encoder-limited", "task"]))


def neural_against_reference(
    summary: pd.DataFrame,
    seeds: pd.DataFrame,
    predictions: dict[str, tuple[np.ndarray, np.ndarray]],
    metric: str = SCORE,
    rope: float = 0.01,
) -> pd.DataFrame:
    """Per task with reference models: the best neural combination and the best reference, each chosen
    on validation, and the difference of their test scores with a paired bootstrap interval (same test
    samples, both sides' seeds resampled). A win needs the interval to exclude 0; an interval inside
    ±``rope`` is "practically equivalent"."""
    sides = (lambda f: ~f["fusion"].map(is_reference), lambda f: f["fusion"].map(is_reference))
    rows = []
    for task, neural, reference, difference, low, high in _paired_choices(
        summary, seeds, predictions, metric, sides
    ):
        rows.append(
            {
                "task": task,
                "neural": f"{neural['fusion']}, depth {neural['depth']}, {neural['modalities']}",
                "neural_val": neural[mean_of(validation(metric))],
                "neural_test": neural[mean_of(metric)],
                "reference": f"{reference['fusion']}, {reference['modalities']}",
                "reference_val": reference[mean_of(validation(metric))],
                "reference_test": reference[mean_of(metric)],
                "difference": difference,
                "ci_low": low,
                "ci_high": high,
                "conclusion": paired_conclusion(
                    difference, low, high, rope, "the neural fusion", "the reference"
                ),
            }
        )
    return pd.DataFrame(rows, columns=REFERENCE_COLUMNS)


def fusion_against_single(
    summary: pd.DataFrame,
    seeds: pd.DataFrame,
    predictions: dict[str, tuple[np.ndarray, np.ndarray]],
    metric: str = SCORE,
    rope: float = 0.01,
) -> pd.DataFrame:
    """Per task: the best neural fusion of two or more modalities and the best single modality (a
    unimodal network), each chosen on validation, with their test scores and intervals and the paired
    difference: does this task need fusion at all?"""
    sides = (
        lambda f: (f["n_modalities"] > 1) & ~f["fusion"].map(is_reference),
        lambda f: f["fusion"] == UNIMODAL,
    )
    rows = []
    for task, fused, single, difference, low, high in _paired_choices(
        summary, seeds, predictions, metric, sides
    ):
        rows.append(
            {
                "task": task,
                "fusion": f"{fused['fusion']}, depth {fused['depth']}, {fused['modalities']}",
                "fusion_val": fused[mean_of(validation(metric))],
                "fusion_test": fused[mean_of(metric)],
                "fusion_ci_low": fused.get(f"{metric}_ci_low", math.nan),
                "fusion_ci_high": fused.get(f"{metric}_ci_high", math.nan),
                "single": f"{single['modalities']}, depth {single['depth']}",
                "single_val": single[mean_of(validation(metric))],
                "single_test": single[mean_of(metric)],
                "single_ci_low": single.get(f"{metric}_ci_low", math.nan),
                "single_ci_high": single.get(f"{metric}_ci_high", math.nan),
                "difference": difference,
                "ci_low": low,
                "ci_high": high,
                "conclusion": paired_conclusion(difference, low, high, rope, "fusion", "the single modality"),
            }
        )
    return pd.DataFrame(rows, columns=SINGLE_COLUMNS)


SPREAD_COLUMNS = [
    "task",
    "methods",
    "first",
    "first_val",
    "first_test",
    "first_ci_low",
    "first_ci_high",
    "last",
    "last_val",
    "last_test",
    "last_ci_low",
    "last_ci_high",
    "difference",
    "ci_low",
    "ci_high",
    "separated",
]


def _side(prefix: str, row: pd.Series, metric: str) -> dict[str, object]:
    """One side of a paired table: its combination, validation and test scores and test interval, each
    column named ``prefix`` + suffix."""
    return {
        prefix: f"{row['fusion']}, depth {row['depth']}, {row['modalities']}",
        f"{prefix}_val": row[mean_of(validation(metric))],
        f"{prefix}_test": row[mean_of(metric)],
        f"{prefix}_ci_low": row.get(f"{metric}_ci_low", math.nan),
        f"{prefix}_ci_high": row.get(f"{metric}_ci_high", math.nan),
    }


def fusion_spread(
    summary: pd.DataFrame,
    seeds: pd.DataFrame,
    predictions: dict[str, tuple[np.ndarray, np.ndarray]],
    metric: str = SCORE,
) -> pd.DataFrame:
    """Per task: does the choice of fusion method matter at all? Each neural fusion method (two or more
    modalities) at its own best depth and modality subset, the methods ranked first and last on
    validation, their test scores with intervals, and the paired test difference. ``separated``: "apart"
    where the two intervals do not overlap, "paired" where only the paired interval excludes 0, else
    "no" (a task that cannot tell its methods apart says nothing about which fusion wins)."""
    scored = scored_rows(summary, metric)
    fused = scored[(scored["n_modalities"] > 1) & ~scored["fusion"].map(is_reference).astype(bool)]
    rows = []
    for task, of_task in fused.groupby("task", sort=True):
        methods = chosen_on_validation(of_task, metric, ["fusion"])  # ordered best first on validation
        if len(methods) < 2:
            continue
        first, last, difference, low, high = _chosen_pair(
            methods.head(1), methods.tail(1), seeds, predictions, metric
        )
        first_side, last_side = _side("first", first, metric), _side("last", last, metric)
        apart = first_side["first_ci_low"] > last_side["last_ci_high"] or (
            last_side["last_ci_low"] > first_side["first_ci_high"]
        )
        rows.append(
            {
                "task": task,
                "methods": len(methods),
                **first_side,
                **last_side,
                "difference": difference,
                "ci_low": low,
                "ci_high": high,
                "separated": "apart" if apart else ("paired" if low > 0 or high < 0 else "no"),
            }
        )
    return pd.DataFrame(rows, columns=SPREAD_COLUMNS)


def paired_conclusion(
    difference: float, low: float, high: float, rope: float, first: str, second: str
) -> str:
    if math.isnan(low):
        return "no interval (no test predictions logged)"
    if low > 0:
        return f"{first} beats {second} (+{difference:.3f})"
    if high < 0:
        return f"{second} beats {first} ({difference:+.3f})"
    if -rope < low and high < rope:
        return f"practically equivalent (interval inside ±{rope:g})"
    return "no significant difference (the interval includes 0)"
