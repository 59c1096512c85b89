"""What a study will cost before it starts (``run --dry-run``): probe, then extrapolate.

Each distinct grid cell (task, depth, modalities, fusion; outer splits share one probe) trains for
one epoch on at most ``PROBE_ROWS`` train rows with the worker's thread count, which gives seconds
per train row and per validation row on this machine; a reference model is fitted once on at most
``PROBE_ROWS`` rows and scaled to the full train split. A combination then costs

    (trials + final seeds) x expected epochs x seconds per epoch   (+ one fit per trial/seed: references)
    + the suite's own bookkeeping per combination (MLflow and Optuna records, test and robustness
      evaluation, saving the model)

where expected epochs = ``EPOCH_FRACTION`` x ``train.max_epochs`` (early stopping and pruning end
most trainings before the limit), or the epochs ``train.min_steps`` takes on that train split where
that is more (no early stop comes before them), plus ``BUDGET_FRACTION`` of the epochs that
``train.budget_steps`` adds beyond those. The two constants are calibrated on a measured run of the headline
study; other studies, other machines and other pruners will differ, so the figure is a planning
estimate, not a promise. Nothing is written: no store is opened.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import torch

from benchmark.config import StudyConfig
from benchmark.experiment import (
    Hyperparameters,
    RunSettings,
    build_network,
    train_batch_size,
    train_settings,
)
from benchmark.grid import Combination
from benchmark.measurement import combination_splits
from benchmark.params import ParamSpec
from benchmark.tasks import Split, Task
from benchmark.trainers import method_of
from benchmark.training import fit, seed_everything, steps_per_epoch

PROBE_ROWS = 384
# Measured on the study=fusion run of the README (a171f0d, Hyperband): a network training ran 12.3 of its
# 20 epochs on average (early stopping and pruning), and a worker spent 0.68 s per combination outside
# training and evaluation (MLflow, Optuna, saving the model).
EPOCH_FRACTION = 0.62
# Of the epochs ``train.budget_steps`` adds beyond the floor, the share a training is expected to run:
# most trainings stop on patience soon after the floor (study=quick at 8641007: every network run stopped
# early, 0.02 of the budget on average; the synthetic tasks near the floor), the MLPs of some tabular data
# sets run a third to all of it (leaf-flavia, grants in bench/training_budget.py). Not yet calibrated on
# a headline run.
BUDGET_FRACTION = 0.05
BOOKKEEPING_SECONDS = 0.7
STARTUP_SECONDS = 20.0  # building the tasks and starting the workers
LATENCY_SECONDS = 0.15  # the latency pass, per saved model


@dataclass
class CostEstimate:
    worker_seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))  # per task label
    per_combination: dict[str, float] = field(default_factory=dict)  # worker seconds, by combination name
    combinations: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    saved_models: int = 0
    workers: int = 1
    probe_seconds: float = 0.0

    @property
    def wall_seconds(self) -> float:
        work = sum(self.worker_seconds.values()) / self.workers
        return STARTUP_SECONDS + work + self.saved_models * LATENCY_SECONDS

    def describe(self) -> str:
        lines = [
            f"estimated cost on this machine ({self.workers} worker(s); probes took "
            f"{self.probe_seconds:.0f} s):"
        ]
        for label, seconds in sorted(self.worker_seconds.items(), key=lambda kv: -kv[1]):
            lines.append(
                f"  {label:<24} {self.combinations[label]:4d} combinations  "
                f"{seconds / 60:6.1f} worker-minutes"
            )
        lines.append(
            f"  about {self.wall_seconds / 60:.0f} minutes of wall time (latency pass and start-up "
            f"included; a planning figure: see `python -m benchmark run --help`)"
        )
        return "\n".join(lines)


def estimate_cost(
    config: StudyConfig,
    tasks: dict[tuple[str, int | None], Task],
    combinations: list[Combination],
    threads: int,
) -> CostEstimate:
    """Probe each distinct cell once and extrapolate to the whole grid (see the module's docstring)."""
    start = time.perf_counter()
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    settings = RunSettings.of(config)
    estimate = CostEstimate(workers=config.workers)
    probes: dict[str, float] = {}
    trainings = config.tuning.trials + config.final.seeds
    warmed: set[tuple[str, tuple[str, ...]]] = set()
    try:
        for combination in combinations:
            task = tasks[combination.task_key]
            if combination.cell_id not in probes:
                # The first fit of a method on a kind of input pays one-off costs in this process (the
                # first training; MiniRocket's JIT compilation, about 10 s) that a worker pays once, not
                # per cell: probed once before it counts (unwarmed, the quick study's MiniRocket
                # references were estimated at half its work and scheduled first).
                kinds = tuple(sorted({task.modalities[m].kind for m in combination.modalities}))
                if (combination.fusion, kinds) not in warmed:
                    _probe(task, combination, config, settings)
                    warmed.add((combination.fusion, kinds))
                probes[combination.cell_id] = _probe(task, combination, config, settings)
            per_training = probes[combination.cell_id]
            if method_of(combination.fusion).uses_depth:  # a network: seconds per epoch
                per_training *= expected_epochs(config, len(task.splits["train"]))
            seconds = trainings * per_training + BOOKKEEPING_SECONDS
            estimate.per_combination[combination.name] = seconds
            estimate.worker_seconds[combination.task] += seconds
            estimate.combinations[combination.task] += 1
            estimate.saved_models += min(config.latency.seeds, config.final.seeds)
    finally:
        torch.set_num_threads(previous_threads)
    estimate.probe_seconds = time.perf_counter() - start
    return estimate


def expected_epochs(config: StudyConfig, train_size: int) -> float:
    """Epochs a network training is expected to run on ``train_size`` rows (see the module docstring)."""
    train = config.train
    batch = train_batch_size(train.batch_size, train.min_batches, train_size)
    per_epoch = steps_per_epoch(train_size, batch)
    floor = math.ceil(train.min_steps / per_epoch)
    beyond = max(0, math.ceil(train.budget_steps / per_epoch) - max(floor, train.max_epochs))
    return max(1.0, EPOCH_FRACTION * train.max_epochs, float(floor)) + BUDGET_FRACTION * beyond


def _probe(task: Task, combination: Combination, config: StudyConfig, settings: RunSettings) -> float:
    """Seconds of one epoch (a network: training and validation) or of one fit (a reference)."""
    train, val, _ = combination_splits(task, combination)
    rows = min(len(train), PROBE_ROWS)
    method = method_of(combination.fusion)
    if not method.uses_depth:  # one fit
        specs = {m: task.modalities[m] for m in combination.modalities}
        small = Task(
            task.name,
            specs,
            {"train": _head(train, rows), "val": _head(val, rows), "test": _head(val, 1)},
            task.num_classes,
        )
        typical = {name: _typical(spec) for name, spec in method.search_space(config.tuning.space).items()}
        start = time.perf_counter()
        method.train(
            small, combination, method.settings(typical), settings, device=torch.device("cpu"), seed=0
        )
        return (time.perf_counter() - start) * len(train) / rows
    width = max(c for c in config.tuning.space["width"].choices)
    hparams = Hyperparameters(lr=1e-3, weight_decay=0.0, width=int(width), dropout=0.1)
    seed_everything(0)
    model = build_network(task, combination, hparams, settings, train.labels.device)
    probe = train_settings(hparams, settings, len(train))
    probe = type(probe)(**{**vars(probe), "max_epochs": 1, "patience": 1, "min_steps": 0, "budget_steps": 0})
    result = fit(model, _head(train, rows), _head(val, rows), probe, num_classes=task.num_classes, seed=0)
    val_rows = max(1, min(len(val), rows))
    return result.train_seconds * len(train) / rows + result.eval_seconds * len(val) / val_rows


def _head(split: Split, rows: int) -> Split:
    return Split({k: v[:rows] for k, v in split.inputs.items()}, split.labels[:rows])


def _typical(spec: ParamSpec) -> Any:
    """A middle value of a search-space entry: its first choice, or the (geometric) middle of a range."""
    if spec.choices:
        return spec.choices[0]
    middle = math.sqrt(spec.low * spec.high) if spec.log else (spec.low + spec.high) / 2
    return int(round(middle)) if spec.kind == "int" else middle
