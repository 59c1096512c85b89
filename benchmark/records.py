"""What a study's runs record, as plain data: no MLflow, no torch. The engine builds these, the tracker
turns them into MLflow calls and hands stored runs back as ``RunRecord``; nothing outside
``benchmark.tracking`` sees an MLflow entity or a filter string.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field

from benchmark.grid import Combination
from benchmark.schema import (
    AGGREGATED,
    CELL_ID,
    COMBINATION_ID,
    DEPTH,
    FINAL_SEEDS,
    FUSION,
    KIND,
    MODALITIES,
    SPLIT,
    TASK,
    mean_of,
    std_of,
)


@dataclass(frozen=True)
class RunRecord:
    """One stored run as the tracker reads it back (the latest value of each metric)."""

    run_id: str
    name: str
    status: str  # RUNNING | FINISHED | FAILED | KILLED
    start_time: int  # milliseconds since the epoch
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)


def combination_tags(combination: Combination, kind: str) -> dict[str, str]:
    """The tags every run of ``combination`` carries: which grid cell and split, and what kind of run."""
    return {
        TASK: combination.task,
        DEPTH: str(combination.depth),
        MODALITIES: combination.modalities_tag,
        FUSION: combination.fusion,
        SPLIT: str(combination.split or 0),
        KIND: kind,
        COMBINATION_ID: combination.id,
        CELL_ID: combination.cell_id,
    }


def mean_and_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1; 0 for a single value)."""
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def latest_per_seed(finals: Iterable[RunRecord], seed_tag: str) -> list[RunRecord]:
    """One run per seed, the latest started, should a seed have run twice (a narrow race between workers)."""
    latest: dict[str, RunRecord] = {}
    for run in sorted(finals, key=lambda r: r.start_time):
        latest[run.tags.get(seed_tag, "")] = run
    return list(latest.values())


def aggregate_seeds(finals: list[RunRecord]) -> dict[str, float]:
    """A combination's own metrics: the mean and std over its final seeds of every metric under
    ``schema.AGGREGATED`` (a metric a seed lacks is averaged over the seeds that have it), and how many
    seeds there are."""
    keys = sorted({k for run in finals for k in run.metrics if k.startswith(AGGREGATED)})
    metrics: dict[str, float] = {FINAL_SEEDS: float(len(finals))}
    for key in keys:
        values = [run.metrics[key] for run in finals if key in run.metrics]
        metrics[mean_of(key)], metrics[std_of(key)] = mean_and_std(values)
    return metrics
