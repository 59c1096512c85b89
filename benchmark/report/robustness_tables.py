"""Robustness tables: each modality missing in turn, and the score against the corruption level."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from benchmark import scores
from benchmark.report.collect import KEY, StudyRuns, metric_columns
from benchmark.report.tables import SCORE, UNIMODAL, cell_means, validation
from benchmark.schema import (
    MISSING,
    NOISE,
    NOISE_RETENTION,
    ROBUST,
    TEST,
    VAL,
)


def _robust_means(runs: StudyRuns) -> pd.DataFrame:
    """Per grid cell (finished seeds; with outer splits the mean of the split means): clean scores and
    every robustness metric."""
    finished = runs.finished_seeds
    columns = [
        *(c for c in metric_columns() if c.startswith((TEST, VAL))),
        *(c for c in finished.columns if c.startswith(ROBUST)),
    ]
    means = cell_means(finished, columns)
    return runs.combinations[[*KEY, "n_modalities", "combination_id"]].merge(
        means, left_on="combination_id", right_index=True
    )


def _alone(means: pd.DataFrame, row: pd.Series, without: str, score: str) -> float:
    """The score of the model trained on ``row``'s modalities minus ``without`` (same task, depth and,
    for two or more modalities left, fusion method; one left: its unimodal network), if the grid has it."""
    rest = [m for m in row["modalities"].split("+") if m != without]
    fusion = UNIMODAL if len(rest) == 1 else row["fusion"]
    match = means[
        (means["task"] == row["task"])
        & (means["depth"] == row["depth"])
        & (means["modalities"] == "+".join(rest))
        & (means["fusion"] == fusion)
    ]
    return float(match[score].iloc[0]) if len(match) else math.nan


def robustness_table(runs: StudyRuns, metric: str = SCORE) -> pd.DataFrame:
    """Per combination with robustness numbers, on the ranking metric: the clean test score; the noise
    retention (mean over the combination's modalities of the area under score against corruption
    level, over clean score x largest level: 1 = no loss); per modality the score with it missing and,
    beside it, the score of the model trained without it (``alone``); and the worst missing score."""
    means = _robust_means(runs)
    score = metric.split("/", 1)[1]
    columns = [*KEY, "score", "retention", "worst_missing", "missing"]
    if NOISE_RETENTION not in means and not any(c.startswith(MISSING) for c in means):
        return pd.DataFrame(columns=columns)
    rows = []
    for _, row in means.iterrows():
        modalities = row["modalities"].split("+")
        missing = {
            m: (row.get(f"{MISSING}{m}/{score}", math.nan), _alone(means, row, m, metric)) for m in modalities
        }
        missing = {m: v for m, v in missing.items() if pd.notna(v[0])}
        rows.append(
            {
                **{k: row[k] for k in KEY},
                "score": row[metric],
                "retention": row.get(NOISE_RETENTION, math.nan),
                "worst_missing": min(v[0] for v in missing.values()) if missing else math.nan,
                "missing": missing,
            }
        )
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(KEY, kind="stable").reset_index(drop=True)


def noise_levels(columns: list[str]) -> list[float]:
    """The corruption levels present among metric names robust/noise/<m>/<level>/<score>."""
    levels = set()
    for column in columns:
        parts = column.split("/")
        if len(parts) == 5 and parts[:2] == ["robust", "noise"] and parts[4] in scores.REGISTRY:
            levels.add(float(parts[3]))
    return sorted(levels)


def noise_curves(runs: StudyRuns, metric: str = SCORE) -> pd.DataFrame:
    """Per task and fusion method, on the task's largest modality set at the depth chosen on validation:
    the test score (ranking metric) at each corruption level, one modality corrupted at a time, averaged
    over the modalities. Level 0 is the clean score."""
    means = _robust_means(runs)
    levels = noise_levels(list(means.columns))
    score = metric.split("/", 1)[1]
    columns = ["task", "fusion", "depth", "modalities", "level", "score"]
    if not levels or means.empty:
        return pd.DataFrame(columns=columns)
    largest = means.groupby("task")["n_modalities"].transform("max")
    full = means[means["n_modalities"] == largest]
    best = (
        full.sort_values(validation(metric), ascending=False, kind="stable")
        .groupby(["task", "fusion"])
        .head(1)
    )
    rows = []
    for _, row in best.iterrows():
        modalities = row["modalities"].split("+")
        rows.append(
            {
                **{k: row[k] for k in ("task", "fusion", "depth", "modalities")},
                "level": 0.0,
                "score": row[metric],
            }
        )
        for level in levels:
            values = [row.get(f"{NOISE}{m}/{level:g}/{score}", math.nan) for m in modalities]
            values = [v for v in values if pd.notna(v)]
            if values:
                rows.append(
                    {
                        **{k: row[k] for k in ("task", "fusion", "depth", "modalities")},
                        "level": level,
                        "score": float(np.mean(values)),
                    }
                )
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["task", "fusion", "level"], kind="stable").reset_index(drop=True)
