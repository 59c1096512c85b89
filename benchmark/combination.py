"""One combination's work, in steps any number of workers can share: tune -> final seeds -> aggregate.

``advance()`` does whatever work is available now and says whether the combination is ``done``,
whether it ``worked``, or whether it is ``waiting`` for trials other workers hold. All coordination
goes through Optuna's storage (see tuning/coordination.py); MLflow only records.
"""

from __future__ import annotations

import statistics
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import optuna
import torch

from benchmark.config import StudyConfig
from benchmark.data import dataset_source
from benchmark.encoders import default_encoder
from benchmark.experiment import Hyperparameters, Measurement, RunSettings, run_once
from benchmark.grid import Combination
from benchmark.reference_run import ReferenceParams, run_reference
from benchmark.references import REFERENCES
from benchmark.schema import (
    AGGREGATED,
    BEST_VAL,
    CEILING,
    CELL_ID,
    COMBINATION_ID,
    COMBINATION_RUN,
    DEPTH,
    EPOCH_LOSS,
    EPOCH_VAL,
    FAIL_REASON,
    FINAL_RUN,
    FINAL_SEEDS,
    FUSION,
    GPU_MEMORY,
    KIND,
    MODALITIES,
    OPTUNA_STUDY,
    OPTUNA_TRIAL,
    PARAMETERS,
    SEED,
    SPLIT,
    STATUS,
    STOP_REASON,
    STUDY,
    TASK,
    TEST_ACCURACY,
    TEST_F1,
    TRIAL,
    TRIAL_PROPOSAL,
    TRIAL_RUN,
    TRIAL_STATE,
    TUNER,
    VAL,
    mean_of,
    std_of,
)
from benchmark.space import combination_space, default_configuration
from benchmark.tasks import Task
from benchmark.tasks.base import task_digest
from benchmark.timing import TimeBreakdown
from benchmark.tracking.writer import Tracker
from benchmark.tuning.coordination import (
    PARENT_RUN,
    SEED_PARAM,
    WORKER_HOST,
    WORKER_PID,
    add_final_seed,
    claim,
    close_dead_trials,
    complete_final_seed,
    fail_final_seed,
    final_validation_scores,
    finals_state,
    heartbeat,
    mark_worker,
    next_final_seed,
    open_finals,
    optuna_trial_key,
    record_parent_run,
    record_run,
    requeue_closed_finals,
    tuning_finished,
    wait_for_attr,
)
from benchmark.tuning.search import (
    TrialOutcome,
    best_params,
    open_study,
    optimize,
    pruning_callback,
    record_proposal,
    suggest,
    tuner_counts,
)
from benchmark.tuning.trials import INTERRUPTED, budget_used

DONE, WORKED, WAITING = "done", "worked", "waiting"


def combination_tags(combination: Combination, kind: str) -> dict[str, str]:
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


_DIGESTS: dict[int, str] = {}  # id(task) -> digest; tasks live as long as the worker process


def dataset_digest(task: Task) -> str:
    """The task's digest, computed once per task in this process."""
    if id(task) not in _DIGESTS:
        _DIGESTS[id(task)] = task_digest(task)
    return _DIGESTS[id(task)]


def mean_and_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1; 0 for a single value)."""
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


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

    def progress(self, steps: int) -> None: ...

    def describe_progress(self, text: str) -> None: ...

    def account(self, measurement: Measurement) -> None: ...

    def outcome(self, name: str, kind: str, line: str | None = None) -> None: ...


def combination_params(context: WorkContext, combination: Combination) -> dict[str, Any]:
    """The MLflow params of a combination's parent run: what it is and how it is trained."""
    config = context.config
    spec = next(t for t in config.tasks if t.label == combination.task)
    params: dict[str, Any] = {
        "task": combination.task,
        "task.name": spec.name,
        **{f"task.{k}": v for k, v in spec.params},
        "depth": combination.depth,
        "modalities": combination.modalities_tag,
        "fusion": combination.fusion,
        "tuning.metric": config.tuning.metric,
        "tuning.sampler": config.tuning.sampler,
        "tuning.pruner": config.tuning.pruner,
        "train.max_epochs": config.train.max_epochs,
        "train.patience": config.train.patience,
        "train.batch_size": config.train.batch_size,
        "train.min_batches": config.train.min_batches,
        "train.class_weight": config.train.class_weight,
        "train.min_steps": config.train.min_steps,
        "train.schedule": config.train.schedule,
        "train.warmup": config.train.warmup,
        "train.smoothing": config.train.smoothing,
        "data_seed": config.data_seed,
        "split": combination.split or 0,
        "splits": spec.splits,
    }
    task = context.tasks[combination.task_key]
    for kind in sorted({task.modalities[m].kind for m in combination.modalities}):
        params[f"encoder.{kind}"] = config.encoders.get(kind) or default_encoder(kind)
    return params


def free_device_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()


@dataclass
class _Open:
    study: optuna.Study
    parent_id: str
    finals: optuna.Study | None = None


class CombinationWork:
    def __init__(self, context: WorkContext, reporter: Reporter, combination: Combination) -> None:
        self.context = context
        self.reporter = reporter
        self.combination = combination
        self.config = context.config
        self.run_settings = RunSettings.of(context.config)
        self.tracker = context.tracker
        self.timer = context.timer
        self.task = context.tasks[combination.task_key]
        self.state: _Open | None = None
        self.first_visit = True
        self.space = combination_space(self.config.tuning.space, combination.fusion)

    # ---- opening: the study, and the MLflow parent run exactly once ------------------------------
    def _open(self) -> _Open:
        if self.state is None:
            with self.timer.section("tuning"):
                study, created = open_study(
                    self.context.storage,
                    self.combination,
                    self.config.tuning,
                    self.context.pruner,
                    self.context.worker_index,
                    default_configuration(self.space) if self.config.tuning.default_first else None,
                )
            parent_id = self._create_parent(study) if created else self._find_parent(study)
            self.state = _Open(study, parent_id)
        return self.state

    def _create_parent(self, study: optuna.Study) -> str:
        existing = self.tracker.find_combination_run(self.combination.id)  # a store from an older version
        if existing is not None:
            parent_id = existing.info.run_id
        else:
            tags = {**combination_tags(self.combination, COMBINATION_RUN), **self.context.env_tags}
            tags |= {STUDY: self.config.name, OPTUNA_STUDY: study.study_name}
            parent_id = self.tracker.create_run(self.combination.name, tags)
            self.tracker.log(parent_id, params=combination_params(self.context, self.combination))
            self.tracker.log_text(parent_id, self.context.config_yaml, "config.yaml")
            self._log_dataset(parent_id)
        record_parent_run(study, parent_id)
        return parent_id

    def _log_dataset(self, parent_id: str) -> None:
        spec = next(t for t in self.config.tasks if t.label == self.combination.task)
        split = self.combination.split or 0
        self.tracker.log_dataset(
            parent_id,
            name=f"{self.combination.task}/split{split}",
            digest=dataset_digest(self.task),
            source=dataset_source(spec.name, spec.kwargs),
            profile={name: len(part) for name, part in self.task.splits.items()},
            context=f"split {split} of {spec.splits}",
        )

    def _find_parent(self, study: optuna.Study) -> str:
        parent_id = wait_for_attr(study, PARENT_RUN)
        if parent_id is None:  # its creator died before recording it
            existing = self.tracker.find_combination_run(self.combination.id)
            parent_id = existing.info.run_id if existing else self._create_parent(study)
        return parent_id

    # ---- one step ---------------------------------------------------------------------------------
    def advance(self) -> str:
        state = self._open()
        tags, status = self.tracker.run_state(state.parent_id)
        if tags.get(STATUS) in ("finished", "failed"):
            if status != "FINISHED":  # killed between its last write and closing the run
                self.tracker.end(state.parent_id)
            if self.first_visit:
                self.reporter.outcome(self.combination.name, "skipped")
                self.reporter.progress(self.config.tuning.trials + self.config.final.seeds)
            return DONE
        self.first_visit = False
        if status != "RUNNING":
            self.tracker.reopen(state.parent_id)
        self._close_dead(state.study)
        tuned = False
        if budget_used(state.study) < self.config.tuning.trials:
            self._tune(state)
            tuned = True
        if not tuning_finished(state.study, self.config.tuning.trials):
            return WORKED if tuned else WAITING  # the last trials are running in other workers
        with self.timer.section("tuning"):
            params = best_params(state.study, self.space)
        if params is None:
            self.tracker.log(state.parent_id, tags={STATUS: "failed", FAIL_REASON: "no trial completed"})
            self.tracker.end(state.parent_id)
            self.reporter.outcome(
                self.combination.name, "failed", f"FAILED {self.combination.name}: no trial completed"
            )
            return DONE
        return self._finals(state, params)

    def _close_dead(self, study: optuna.Study) -> list[Any]:
        with self.timer.section("tuning"):
            closed = close_dead_trials(study)
        # Found by tag, not by the id on the trial: the worker may have died before recording the id,
        # or after ending the run FINISHED but before telling Optuna (the trial then does not count,
        # so neither may its run).
        for trial in closed:
            self.tracker.kill_runs_tagged(OPTUNA_TRIAL, optuna_trial_key(study.study_name, trial.number))
            host, pid = trial.user_attrs.get(WORKER_HOST), trial.user_attrs.get(WORKER_PID)
            if host is not None and pid is not None:  # its worker is dead: so is that worker's session
                self.tracker.close_session_of(host, int(pid))
        return closed

    # ---- tuning -----------------------------------------------------------------------------------
    def _tune(self, state: _Open) -> None:
        config, tracker, combination = self.config, self.tracker, self.combination

        def objective(trial: optuna.Trial) -> TrialOutcome:
            mark_worker(trial)
            chosen_by = record_proposal(state.study, trial, config.tuning)
            params = suggest(trial, self.space)
            tags = {
                **combination_tags(combination, TRIAL_RUN),
                **self.context.env_tags,
                TRIAL: str(trial.number),
                OPTUNA_TRIAL: optuna_trial_key(state.study.study_name, trial.number),
                TRIAL_PROPOSAL: chosen_by,
            }
            run_id = tracker.create_run(f"trial-{trial.number}", tags, parent_id=state.parent_id)
            record_run(trial, run_id)
            with heartbeat(state.study, trial), tracker.run(run_id) as handle:
                # One log_batch per run, at its end: params, metrics, per-epoch curves and tags together.
                measurement, failure = self._train_or_failure(
                    run_id, self._settings(params), seed=config.tuning.seed + trial.number,
                    on_epoch_end=pruning_callback(trial, self.timer),
                )  # fmt: skip
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

        for trial in optimize(state.study, config.tuning.trials, objective, self.timer):
            self.reporter.progress(1)
            try:
                best = f"{state.study.best_value:.3f}"
            except ValueError:  # no COMPLETE trial yet
                best = "-"
            self.reporter.describe_progress(
                f"{combination.name} trial {trial.number} best {config.tuning.metric}={best}"
            )

    # ---- final seeds ------------------------------------------------------------------------------
    def _finals(self, state: _Open, params: dict[str, Any]) -> str:
        config = self.config
        seeds = [config.final.seed_offset + i for i in range(config.final.seeds)]
        with self.timer.section("tuning"):
            if state.finals is None:
                state.finals = open_finals(self.context.storage, state.study, seeds)
        requeue_closed_finals(state.finals, self._close_dead(state.finals))
        worked = False
        hparams = self._settings(params)
        while True:
            with self.timer.section("tuning"):
                item = next_final_seed(state.finals)
            if item is None:
                break
            self._final_seed(state, hparams, *item)
            worked = True
        _, _, busy = finals_state(state.finals)
        if busy:  # seeds still running in other workers
            return WORKED if worked else WAITING
        extra = self._extra_seed(state.finals)
        if extra is not None:
            with self.timer.section("tuning"):
                add_final_seed(state.finals, extra)
            return WORKED
        with self.timer.section("tuning"):
            mine = claim(self.context.storage, f"{self.combination.study_name}/aggregate")
        if not mine:  # another worker is aggregating; come back to see it finished
            return WORKED if worked else WAITING
        self._aggregate(state, params)
        return DONE

    def _extra_seed(self, finals: optuna.Study) -> int | None:
        """The next seed to add when the finished seeds' validation scores disagree (``final.max_seeds``),
        or None: enough seeds, or they agree."""
        final = self.config.final
        scores = final_validation_scores(finals)
        tried = {
            int(t.params[SEED_PARAM]) for t in finals.get_trials(deepcopy=False) if SEED_PARAM in t.params
        }
        if len(tried) >= max(final.max_seeds, final.seeds) or len(scores) < 2:
            return None
        if statistics.stdev(scores.values()) <= final.spread:
            return None
        return max(tried) + 1

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

    def _settings(self, params: dict[str, Any]) -> Hyperparameters | ReferenceParams:
        if self.combination.fusion in REFERENCES:
            return ReferenceParams.from_params(params)
        return Hyperparameters.from_params(params)

    def _train(self, settings: Hyperparameters | ReferenceParams, **kwargs: Any) -> Measurement:
        """One training (a network, or a reference model) with ``settings`` on this combination."""
        if isinstance(settings, ReferenceParams):
            kwargs.pop("on_epoch_end", None)  # one fit, nothing to prune
            return run_reference(self.task, self.combination, settings, self.run_settings, **kwargs)
        return run_once(
            self.task, self.combination, settings, self.run_settings, device=self.context.device, **kwargs
        )

    def _final_seed(
        self, state: _Open, hparams: Hyperparameters | ReferenceParams, trial: optuna.Trial, seed: int
    ) -> None:
        config, tracker, combination = self.config, self.tracker, self.combination
        finals = state.finals
        assert finals is not None
        tags = {
            **combination_tags(combination, FINAL_RUN),
            **self.context.env_tags,
            SEED: str(seed),
            OPTUNA_TRIAL: optuna_trial_key(finals.study_name, trial.number),
        }
        run_id = tracker.create_run(f"seed-{seed}", tags, parent_id=state.parent_id)
        record_run(trial, run_id)
        told = False
        try:
            with heartbeat(finals, trial), tracker.run(run_id) as handle:
                measurement, failure = self._train_or_failure(run_id, hparams, seed=seed, final=True)
                if failure is not None:
                    handle.status = "FAILED"
                    tracker.log(
                        run_id, params={**hparams.as_params(), "seed": seed}, tags={FAIL_REASON: failure}
                    )
                    fail_final_seed(finals, trial, failure)
                    told = True
                    return
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
                tracker.log(run_id, metrics=metrics, series=_history(measurement, config), params=run_params,
                            tags=run_tags)  # fmt: skip
                if measurement.test_predictions is not None:
                    tracker.log_predictions(run_id, *measurement.test_predictions)
                # Saved for the latency pass (latency.py), which times it once no worker is training.
                if measurement.model is not None and seed - config.final.seed_offset < config.latency.seeds:
                    tracker.log_model(run_id, measurement.model)
                if measurement.fit.failed:
                    fail_final_seed(finals, trial, measurement.fit.stop_reason)
                else:
                    m = config.tuning.metric
                    complete_final_seed(finals, trial, metrics.get(VAL + m, 0.0))
                told = True
        except BaseException:
            if not told:  # interrupted: close the claim and put the seed back for whoever resumes
                fail_final_seed(finals, trial, INTERRUPTED, requeue=seed)
            raise
        self.reporter.progress(1)

    def _aggregate(self, state: _Open, params: dict[str, Any]) -> None:
        config, tracker, combination = self.config, self.tracker, self.combination
        latest: dict[str, Any] = {}
        for run in sorted(tracker.children(state.parent_id, FINAL_RUN), key=lambda r: r.info.start_time):
            latest[run.data.tags.get(SEED, "")] = run  # one per seed, should a seed have run twice
        finals = list(latest.values())
        if not finals:
            tracker.log(state.parent_id, tags={STATUS: "failed", FAIL_REASON: "no final run finished"})
            tracker.end(state.parent_id)
            self.reporter.outcome(
                combination.name, "failed", f"FAILED {combination.name}: no final run finished"
            )
            return
        keys = sorted({k for r in finals for k in r.data.metrics if k.startswith(AGGREGATED)})
        metrics: dict[str, float] = {FINAL_SEEDS: float(len(finals))}
        for key in keys:
            values = [r.data.metrics[key] for r in finals if key in r.data.metrics]
            metrics[mean_of(key)], metrics[std_of(key)] = mean_and_std(values)
        best_value = state.study.best_value
        metrics[BEST_VAL + config.tuning.metric] = best_value
        tags = {STATUS: "finished", TUNER: ",".join(f"{k}={v}" for k, v in tuner_counts(state.study).items())}
        if GPU_MEMORY in finals[0].data.tags:
            tags[GPU_MEMORY] = finals[0].data.tags[GPU_MEMORY]
        tracker.log(
            state.parent_id, metrics=metrics, tags=tags, params={f"best.{k}": v for k, v in params.items()}
        )
        tracker.end(state.parent_id)
        m = config.tuning.metric
        self.reporter.outcome(
            combination.name,
            "finished",
            f"done {combination.name:<48} val {m}={best_value:.3f}  "
            f"test acc={metrics[mean_of(TEST_ACCURACY)]:.3f}±{metrics[std_of(TEST_ACCURACY)]:.3f} "
            f"f1={metrics[mean_of(TEST_F1)]:.3f}  {metrics[mean_of(PARAMETERS)]:,.0f} params",
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
