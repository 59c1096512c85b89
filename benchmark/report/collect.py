"""MLflow runs -> two tidy DataFrames: one row per final seed run, one row per combination.

Only what the store holds is used (no retraining, no hidden state). Partial and failed combinations
stay in the frames with their status; tables decide how to show them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from benchmark import scores
from benchmark.schema import (
    BEST_EPOCH,
    CEILING,
    CELL_ID,
    COMBINATION_ID,
    COMBINATION_RUN,
    CPU_MEMORY_MB,
    DEPTH,
    EPOCHS,
    FAIL_REASON,
    FINAL_RUN,
    FUSION,
    FUSION_PARAMETERS,
    GPU_MEMORY_MB,
    KIND,
    LATENCY_BATCH_P50,
    LATENCY_P50,
    LATENCY_P95,
    MODALITIES,
    PARAMETERS,
    ROBUST,
    SEED,
    SPLIT,
    STATUS,
    STOP_REASON,
    TAG,
    TASK,
    TEST,
    TRAIN_SECONDS,
    TUNER,
    VAL,
)
from benchmark.tracking.reader import read_predictions, read_study_runs

# Metric columns the report uses besides the scores (MLflow names); absent ones stay NaN ("not measured").
COSTS = (
    LATENCY_P50,
    LATENCY_P95,
    LATENCY_BATCH_P50,
    GPU_MEMORY_MB,
    CPU_MEMORY_MB,
    PARAMETERS,
    FUSION_PARAMETERS,
    TRAIN_SECONDS,
    CEILING,
)
# How each network's training ended (the unimodal gate names an undertrained network from them).
TRAINING = (EPOCHS, BEST_EPOCH)


def metric_columns() -> tuple[str, ...]:
    """Every metric column of the report: each registered score on test and validation (asked at call
    time, so a score registered in code is in every table), then the costs."""
    return (*(split + score for split in (TEST, VAL) for score in scores.names()), *COSTS, *TRAINING)


ENVIRONMENT_TAGS = (
    "device",
    "device_name",
    "threads",
    "version",
    "git_revision",
    "torch_version",
    "python_version",
)
KEY = ["task", "depth", "modalities", "fusion"]


@dataclass
class StudyRuns:
    seeds: pd.DataFrame  # one row per final seed run (any status)
    combinations: pd.DataFrame  # one row per combination (parent run)
    # finished final run id -> (test labels, test predictions), for runs that logged them
    predictions: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    @property
    def finished_seeds(self) -> pd.DataFrame:
        return self.seeds[self.seeds["status"] == "FINISHED"]


def _base_columns(run: dict[str, Any]) -> dict[str, Any]:
    tags = run["tags"]
    modalities = tags.get(MODALITIES, "")
    return {
        "task": tags.get(TASK, ""),
        "depth": int(tags.get(DEPTH, 0)),
        "modalities": modalities,
        "n_modalities": len(modalities.split("+")) if modalities else 0,
        "fusion": tags.get(FUSION, ""),
        # The grid cell: all outer splits of a combination share it (runs of older versions have none,
        # and one split: their combination id is the cell's).
        "combination_id": tags.get(CELL_ID) or tags.get(COMBINATION_ID, ""),
        "split": int(tags.get(SPLIT, 0)),
        "run_id": run["run_id"],
        "status": run["status"],
    }


def seed_rows(runs: list[dict[str, Any]]) -> pd.DataFrame:
    rows = []
    robust: set[str] = set()  # robustness metrics are named by modality and noise level
    for run in runs:
        row = _base_columns(run)
        row["seed"] = int(run["tags"].get(SEED, -1))
        row["fail_reason"] = run["tags"].get(FAIL_REASON, "")
        row["stop_reason"] = run["tags"].get(STOP_REASON, "")  # how its training ended (training.py)
        row.update({name: run["metrics"].get(name, float("nan")) for name in metric_columns()})
        found = {k: v for k, v in run["metrics"].items() if k.startswith(ROBUST)}
        robust.update(found)
        row.update(found)
        row.update({f"env.{t}": run["tags"].get(TAG + t, "") for t in ENVIRONMENT_TAGS})
        rows.append(row)
    columns = [
        *KEY,
        "n_modalities",
        "combination_id",
        "split",
        "seed",
        "run_id",
        "status",
        "fail_reason",
        "stop_reason",
        *metric_columns(),
    ]
    columns += [*sorted(robust), *(f"env.{t}" for t in ENVIRONMENT_TAGS)]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values([*KEY, "split", "seed", "run_id"], kind="stable").reset_index(drop=True)


def combination_rows(
    runs: list[dict[str, Any]], seeds: pd.DataFrame, expected_seeds: int | None
) -> pd.DataFrame:
    """One row per grid cell: the parent run's state, or with several outer splits the states of all
    its parents in one (``finished`` only when every split is)."""
    finished = seeds[seeds["status"] == "FINISHED"].groupby(["combination_id", "split"]).size()
    rows = []
    for run in runs:
        row = _base_columns(run)
        done = int(finished.get((row["combination_id"], row["split"]), 0))
        state = run["tags"].get(STATUS, "")
        if state == "failed":
            label = "failed: " + run["tags"].get(FAIL_REASON, "unknown reason")
        elif state == "finished":
            label = (
                "finished" if expected_seeds is None or done >= expected_seeds else f"partial: {done} seeds"
            )
        else:
            label = (
                f"incomplete: {done} seeds so far"
                if run["status"] == "RUNNING"
                else f"interrupted: {done} seeds"
            )
        row.update({"state": label, "seeds_finished": done, **tuner_columns(run["tags"].get(TUNER, ""))})
        rows.append(row)
    columns = [
        *KEY,
        "n_modalities",
        "combination_id",
        "run_id",
        "status",
        "state",
        "seeds_finished",
        "splits",
        *TUNER_COLUMNS,
    ]
    if not rows:
        return pd.DataFrame(columns=columns)
    frame = pd.DataFrame(rows).sort_values([*KEY, "split", "run_id"], kind="stable")
    cells = frame.groupby("combination_id", sort=False).agg(
        {
            **{c: "first" for c in [*KEY, "n_modalities", "run_id"]},
            "status": _all_or_first,
            "state": _cell_state,
            "seeds_finished": "sum",
            "split": "nunique",
            **dict.fromkeys(TUNER_COLUMNS, _sum_known),
        }
    )
    frame = cells.rename(columns={"split": "splits"}).reset_index()[columns]
    return frame.sort_values([*KEY, "run_id"], kind="stable").reset_index(drop=True)


TUNER_COLUMNS = ["trials_default", "trials_random", "trials_model", "trials_pruned"]


def tuner_columns(tag: str) -> dict[str, float]:
    """The ``benchmark.tuner`` tag of a combination ("default=1,random=1,model=2,pruned=0") as the
    ``TUNER_COLUMNS``; NaN where the run has none (unfinished, or written by an older version)."""
    found = dict(part.split("=", 1) for part in tag.split(",") if "=" in part)
    return {column: float(found.get(column.removeprefix("trials_"), math.nan)) for column in TUNER_COLUMNS}


def _sum_known(values: pd.Series) -> float:
    return float(values.sum(min_count=1))  # NaN, not 0, where no split recorded it


def _all_or_first(values: pd.Series) -> str:
    """FINISHED when every split's parent run is; otherwise the first other status."""
    other = [v for v in values if v != "FINISHED"]
    return other[0] if other else "FINISHED"


def _cell_state(states: pd.Series) -> str:
    if len(states) == 1:
        return str(states.iloc[0])
    unfinished = [s for s in states if s != "finished"]
    if not unfinished:
        return "finished"
    return f"{len(states) - len(unfinished)} of {len(states)} splits finished; {unfinished[0]}"


def collect(
    tracking_uri: str, study: str, expected_seeds: int | None = None, *, predictions: bool = True
) -> StudyRuns:
    """The study's combination and final-seed runs, with every finished run's test predictions
    (``predictions=False``: none read, one artifact download per run saved)."""
    runs = read_study_runs(tracking_uri, study, (COMBINATION_RUN, FINAL_RUN))
    parents = [r for r in runs if r["tags"].get(KIND) == COMBINATION_RUN]
    seeds = seed_rows([r for r in runs if r["tags"].get(KIND) == FINAL_RUN])
    finished = set(seeds.loc[seeds["status"] == "FINISHED", "run_id"])
    locations = [(r["run_id"], r["artifact_uri"]) for r in runs if r["run_id"] in finished]
    return StudyRuns(
        seeds=seeds,
        combinations=combination_rows(parents, seeds, expected_seeds),
        predictions=read_predictions(tracking_uri, locations) if predictions else {},
    )
