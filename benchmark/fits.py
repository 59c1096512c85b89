"""The fits of one combination, each recorded as an MLflow run: a tuning trial (the objective Optuna
calls) and a final seed. What a fit needs from its worker comes in a ``WorkContext``; how it went goes
back through a ``Reporter``. The order of the work (tune, then final seeds, then aggregate) is
combination.py's.
"""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import optuna
import torch

from benchmark.config import StudyConfig
from benchmark.experiment import Hyperparameters, RunSettings
from benchmark.grid import Combination
from benchmark.measurement import Measurement
from benchmark.predictor import Predictor
from benchmark.records import combination_tags
from benchmark.reference_run import ReferenceParams
from benchmark.schema import (
    CEILING,
    EPOCH_LOSS,
    EPOCH_VAL,
    FAIL_REASON,
    FINAL_RUN,
    GPU_MEMORY,
    OPTUNA_TRIAL,
    SEED,
    STOP_REASON,
    TRIAL,
    TRIAL_PROPOSAL,
    TRIAL_RUN,
    TRIAL_STATE,
    VAL,
)
from benchmark.tasks import Task
from benchmark.timing import TimeBreakdown
from benchmark.tracking.writer import RunHandle, Tracker
from benchmark.trainers import method_of
from benchmark.tuning.coordination import (
    complete_final_seed,
    fail_final_seed,
    heartbeat,
    mark_worker,
    optuna_trial_key,
    record_run,
)
from benchmark.tuning.search import TrialOutcome, pruning_callback, record_proposal, suggest
from benchmark.tuning.trials import INTERRUPTED


@dataclass(frozen=True)
class WorkContext:
    """What a combination's work needs from the worker that runs it: the study's config, the device,
    the built tasks by (label, split), the stores, the timer, and what every run is tagged with."""

    config: StudyConfig
    device: torch.device
    tasks: Mapping[tuple[str, int | None], Task]
    tracker: Tracker
    storage: optuna.storages.BaseStorage
    pruner: optuna.pruners.BasePruner
    timer: TimeBreakdown
    worker_index: int
    env_tags: Mapping[str, str]
    config_yaml: str


class Reporter(Protocol):
    """Where a combination's work reports back: progress, time accounting and how it ended."""

    def progress(self, name: str, fits: int) -> None: ...

    def describe_progress(self, text: str) -> None: ...

    def account(self, measurement: Measurement) -> None: ...

    def outcome(self, name: str, kind: str, line: str | None = None) -> None: ...


def free_device_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()


class CombinationFits:
    """The fits of one combination: the tuning objective, a final seed, each a recorded run."""

    def __init__(self, context: WorkContext, reporter: Reporter, combination: Combination) -> None:
        self.context = context
        self.reporter = reporter
        self.combination = combination
        self.config = context.config
        self.tracker = context.tracker
        self.timer = context.timer
        self.task = context.tasks[combination.task_key]
        self.run_settings = RunSettings.of(context.config)
        self.method = method_of(combination.fusion)
        self.space = self.method.search_space(self.config.tuning.space)

    def objective(self, study: optuna.Study, parent_id: str) -> Callable[[optuna.Trial], TrialOutcome]:
        """The function Optuna calls for one tuning trial of this combination: a fit, recorded as a run
        under ``parent_id``."""
        config, tracker, combination = self.config, self.tracker, self.combination

        def objective(trial: optuna.Trial) -> TrialOutcome:
            mark_worker(trial)
            chosen_by = record_proposal(study, trial, config.tuning)
            params = suggest(trial, self.space)
            tags = {
                **combination_tags(combination, TRIAL_RUN),
                **self.context.env_tags,
                TRIAL: str(trial.number),
                OPTUNA_TRIAL: optuna_trial_key(study.study_name, trial.number),
                TRIAL_PROPOSAL: chosen_by,
            }
            run_id = tracker.create_run(f"trial-{trial.number}", tags, parent_id=parent_id)
            record_run(trial, run_id)
            with heartbeat(study, trial), tracker.run(run_id) as handle:
                # One log_batch per run, at its end: params, metrics, per-epoch curves and tags together.
                measurement, failure = self._train_or_failure(
                    run_id,
                    self.settings(params),
                    seed=config.tuning.seed + trial.number,
                    on_epoch_end=pruning_callback(trial, self.timer),
                )
                if failure is not None:
                    handle.status = "FAILED"
                    tracker.log(run_id, params=params, tags={TRIAL_STATE: "FAIL", FAIL_REASON: failure})
                    return TrialOutcome(fail_reason=failure)
                self.reporter.account(measurement)
                outcome = _outcome(measurement, config.tuning.metric)
                state_name = "FAIL" if outcome.fail_reason else "PRUNED" if outcome.pruned else "COMPLETE"
                run_tags = {TRIAL_STATE: state_name, STOP_REASON: measurement.fit.stop_reason}
                if outcome.fail_reason:
                    handle.status = "FAILED"
                    run_tags[FAIL_REASON] = outcome.fail_reason
                tracker.log(
                    run_id,
                    params=params,
                    metrics=measurement.metrics(),
                    series=_history(measurement, config),
                    tags=run_tags,
                )
                return outcome

        return objective

    def final_seed(
        self,
        finals: optuna.Study,
        parent_id: str,
        hparams: Hyperparameters | ReferenceParams,
        trial: optuna.Trial,
        seed: int,
    ) -> None:
        """One final seed (the queue's ``trial``): a fit with the tuned ``hparams``, recorded as a run under
        ``parent_id`` with its test predictions (and its model, for the latency pass); the seed goes back
        in the queue if this is interrupted."""
        tracker, combination = self.tracker, self.combination
        tags = {
            **combination_tags(combination, FINAL_RUN),
            **self.context.env_tags,
            SEED: str(seed),
            OPTUNA_TRIAL: optuna_trial_key(finals.study_name, trial.number),
        }
        run_id = tracker.create_run(f"seed-{seed}", tags, parent_id=parent_id)
        record_run(trial, run_id)
        told = False
        try:
            with heartbeat(finals, trial):
                with tracker.run(run_id) as handle:
                    failure, val_score = self._final_fit(run_id, hparams, seed, handle)
                # The run is closed before Optuna is told: a seed counts only once its run is FINISHED
                # (told first, a stop between the two left a complete seed with a KILLED run).
                if failure is not None:
                    fail_final_seed(finals, trial, failure)
                else:
                    complete_final_seed(finals, trial, val_score)
                told = True
        except BaseException:
            if not told:  # interrupted: the run does not count, and the seed goes back for whoever resumes
                with contextlib.suppress(Exception):  # (the tracker may be what failed)
                    tracker.end(run_id, "KILLED")
                fail_final_seed(finals, trial, INTERRUPTED, requeue=seed)
            raise
        self.reporter.progress(self.combination.name, 1)

    def _final_fit(
        self, run_id: str, hparams: Hyperparameters | ReferenceParams, seed: int, handle: RunHandle
    ) -> tuple[str | None, float]:
        """Train and record one final seed in its open run: (why it failed or None, validation score)."""
        config, tracker, combination = self.config, self.tracker, self.combination
        measurement, failure = self._train_or_failure(run_id, hparams, seed=seed, final=True)
        if failure is not None:
            handle.status = "FAILED"
            tracker.log(run_id, params={**hparams.as_params(), "seed": seed}, tags={FAIL_REASON: failure})
            return failure, 0.0
        self.reporter.account(measurement)
        run_tags = {STOP_REASON: measurement.fit.stop_reason}
        run_params: dict[str, Any] = {**hparams.as_params(), "seed": seed}
        if measurement.gpu_added_mb is None:
            run_tags[GPU_MEMORY] = f"not measured (device {self.context.device.type})"
        if measurement.fit.failed:
            handle.status = "FAILED"
            run_tags[FAIL_REASON] = measurement.fit.stop_reason
        metrics = measurement.metrics()
        ceiling = self.task.bayes_accuracy.get(combination.modalities_tag)
        if ceiling is not None:  # synthetic tasks: the Bayes-optimal test accuracy of this subset
            metrics[CEILING] = ceiling
        tracker.log(
            run_id, metrics=metrics, series=_history(measurement, config), params=run_params, tags=run_tags
        )
        if measurement.test_predictions is not None:
            tracker.log_predictions(run_id, *measurement.test_predictions)
        # Saved for the latency pass (latency.py), which times it once no worker is training.
        if measurement.model is not None and seed - config.final.seed_offset < config.latency.seeds:
            tracker.log_model(run_id, measurement.model)
            if self.task.rows is not None:  # a table's task: a model that scores its raw rows, served
                model = measurement.model
                modalities = tuple(combination.modalities)
                tracker.log_predictor(run_id, Predictor(model, modalities, self.task.classes, self.task.rows))
        if measurement.fit.failed:
            return measurement.fit.stop_reason, 0.0
        return None, metrics.get(VAL + config.tuning.metric, 0.0)

    def _train_or_failure(
        self, run_id: str, settings: Hyperparameters | ReferenceParams, **kwargs: Any
    ) -> tuple[Measurement, None] | tuple[None, str]:
        """One training, or why it could not finish: ``oom`` (device memory freed for the next one),
        or an unexpected error (recorded on the run). Either fails this trial or seed, never the worker."""
        try:
            return self._train(settings, **kwargs), None
        except torch.OutOfMemoryError:
            free_device_memory(self.context.device)
            return None, "oom"
        except Exception as err:  # one failing fit fails its trial, not the worker
            return None, self._record_error(run_id, err)

    def _record_error(self, run_id: str, err: Exception) -> str:
        """An unexpected error in one fit: its traceback as the run's ``error.txt``, and a one-line
        reason for the run's tag and the trial (which counts as failed, like a non-finite loss)."""
        self.tracker.log_text(run_id, "".join(traceback.format_exception(err)), "error.txt")
        return f"error: {type(err).__name__}: {err}"[:250]

    def settings(self, params: dict[str, Any]) -> Hyperparameters | ReferenceParams:
        return self.method.settings(params)

    def _train(self, settings: Hyperparameters | ReferenceParams, **kwargs: Any) -> Measurement:
        """One training with ``settings`` on this combination (a network, or a reference model)."""
        return self.method.train(
            self.task, self.combination, settings, self.run_settings, device=self.context.device, **kwargs
        )


def _outcome(measurement: Measurement, metric: str) -> TrialOutcome:
    if measurement.fit.failed:
        return TrialOutcome(fail_reason=measurement.fit.stop_reason)
    if measurement.fit.stop_reason == "pruned":
        return TrialOutcome(pruned=True)
    return TrialOutcome(value=measurement.val[metric])


def _history(measurement: Measurement, config: Any) -> dict[str, list[tuple[int, float]]]:
    history = measurement.fit.history
    return {
        EPOCH_LOSS: [(epoch, loss) for epoch, loss, _ in history],
        EPOCH_VAL + config.tuning.metric: [(epoch, score) for epoch, _, score in history],
    }
