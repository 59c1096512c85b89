"""The winner of a finished study, ready to use: per task, the combination chosen on validation (as the
report's answer is, reference models included), loaded from the run that saved its model, with the
modalities it reads, its class names and, for a task built from a table, how a raw row becomes its
inputs.

    from benchmark.winner import load_winner
    winner = load_winner("smoke", task="synth-redundancy")
    test = winner.test_split()           # the rows its run was tested on
    print(winner, winner.score(test))    # the scores that run logged
    winner.predict(test.inputs)          # class names (a table's task: winner.predict(pandas frame))
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmark.config import StudyConfig
from benchmark.errors import ConfigError
from benchmark.predictor import PREDICTED, Predictor
from benchmark.schema import TEST
from benchmark.tasks import Split

MODALITY_SEPARATOR = "+"


@dataclass
class Winner:
    task: str
    fusion: str
    depth: int
    modalities: tuple[str, ...]
    split: int  # the outer split whose model this is (each split trained its own)
    run_id: str  # the final run that saved the model
    logged: dict[str, float]  # that run's logged test scores (accuracy, f1_macro, ...)
    predictor: Predictor
    config: StudyConfig

    def __str__(self) -> str:
        shown = ", ".join(f"{k} {v:.3f}" for k, v in sorted(self.logged.items()))
        return (
            f"{self.task}: {self.fusion} d{self.depth} {MODALITY_SEPARATOR.join(self.modalities)} "
            f"(split {self.split}, run {self.run_id}; logged test: {shown})"
        )

    @property
    def classes(self) -> tuple[str, ...]:
        return self.predictor.classes

    def test_split(self) -> Split:
        """The test rows this model's run was scored on (the task rebuilt as the study built it)."""
        from benchmark.runner import build_study_task

        spec = _task_spec(self.config, self.task)
        task = build_study_task(self.config, spec, self.split if spec.splits > 1 else None)
        test = task.splits["test"]
        return Split({m: test.inputs[m] for m in self.modalities}, test.labels)

    def predict(self, data: pd.DataFrame | Mapping[str, Any]) -> np.ndarray:
        """Class names, one per row: ``data`` a table's raw rows (a task built from a table) or a mapping
        of modality to an array in the task's format."""
        return self.predictor.predict(data)

    def predict_ids(self, data: pd.DataFrame | Mapping[str, Any]) -> np.ndarray:
        return self.predictor.predict_ids(data)

    def score(self, split: Split) -> dict[str, float]:
        return self.predictor.score(split)


def _task_spec(config: StudyConfig, task: str) -> Any:
    labels = [spec.label for spec in config.tasks]
    if task not in labels:
        raise ConfigError(f"study {config.name!r} has no task {task!r}; its tasks: {', '.join(labels)}")
    return config.tasks[labels.index(task)]


def load_winner(study: str | StudyConfig, task: str, split: int = 0, overrides: list[str] = ()) -> Winner:
    """The model chosen on validation for ``task`` in a finished study (``study``: a study name or
    path with ``overrides`` as on the command line, e.g. ``["workdir=/data/runs"]``, or a loaded config);
    ``split``: which outer split's model (each split trained its own)."""
    from benchmark.report.collect import collect
    from benchmark.report.tables import chosen_on_validation, combination_summary, scored_rows
    from benchmark.studies import load_study
    from benchmark.tracking.reader import run_model

    config = study if isinstance(study, StudyConfig) else load_study(study, list(overrides))
    spec = _task_spec(config, task)
    if not 0 <= split < spec.splits:
        raise ConfigError(
            f"task {task!r} has {spec.splits} outer split(s); split must be 0 to {spec.splits - 1}"
        )
    runs = collect(config.resolved_tracking_uri, config.name, config.final.seeds, predictions=False)
    metric = TEST + config.tuning.metric
    summary = scored_rows(combination_summary(runs, metric), metric)
    rows = summary[summary["task"] == task]
    if rows.empty:
        raise ConfigError(f"task {task!r} has no finished combination in study {config.name!r} yet")
    best = chosen_on_validation(rows, metric, ["task"]).iloc[0]
    seeds = runs.finished_seeds
    seeds = seeds[(seeds["combination_id"] == best["combination_id"]) & (seeds["split"] == split)]
    if seeds.empty:
        raise ConfigError(f"{task}: split {split} of the chosen combination has no finished seed")
    first = seeds.sort_values("seed", kind="stable").iloc[0]
    model, saved = run_model(config.resolved_tracking_uri, first["run_id"])
    modalities = tuple(str(best["modalities"]).split(MODALITY_SEPARATOR))
    if saved is None:  # a task not built from a table: class names and modalities from the task itself
        classes = _task_classes(config, spec, split)
        saved = Predictor(model, modalities, classes)
    logged = {
        column.removeprefix(TEST): float(first[column])
        for column in first.index
        if column.startswith(TEST) and first[column] == first[column]
    }
    return Winner(
        task,
        str(best["fusion"]),
        int(best["depth"]),
        modalities,
        split,
        first["run_id"],
        logged,
        saved,
        config,
    )


def _task_classes(config: StudyConfig, spec: Any, split: int) -> tuple[str, ...]:
    from benchmark.runner import build_study_task

    return build_study_task(config, spec, split if spec.splits > 1 else None).classes


def command_predict(args: Any) -> int:
    """``benchmark predict study=NAME task=LABEL [--input FILE] [--output FILE] [--split N]``."""
    from benchmark.studies import split_study_argument

    tasks = [o.split("=", 1)[1] for o in args.overrides if o.startswith("task=")]
    if len(tasks) != 1:
        raise ConfigError("predict needs one task=LABEL (a task of the study: see its report's tasks)")
    study, overrides = split_study_argument([o for o in args.overrides if not o.startswith("task=")])
    winner = load_winner(study, tasks[0], args.split, overrides)
    if args.input is None:
        scores = winner.score(winner.test_split())
        print(f"chosen on validation: {winner}")
        print(
            "scored again on its test rows: " + ", ".join(f"{k} {v:.3f}" for k, v in sorted(scores.items()))
        )
        return 0
    if winner.predictor.rows is None:
        raise ConfigError(
            f"task {winner.task!r} was not built from a table, so --input cannot hold its raw rows; "
            "score its inputs in Python: benchmark.winner.load_winner(...).predict({modality: array})"
        )
    frame = _read_rows(args.input)
    try:
        scored = frame.assign(**{PREDICTED: winner.predict(frame)})
    except ValueError as err:
        raise ConfigError(f"{args.input}: {err}") from None
    if args.output:
        from benchmark.owned_paths import write_text_atomic

        write_text_atomic(Path(args.output), scored.to_csv(index=False))
        print(f"{len(scored)} rows scored by {winner}: {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(scored.to_csv(index=False))
    return 0


def _read_rows(path: str) -> pd.DataFrame:
    from benchmark.tasks.custom import read_table

    try:
        return read_table(Path(path).expanduser())
    except ValueError as err:
        raise ConfigError(str(err)) from None
