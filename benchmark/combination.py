"""One combination's work, in steps any number of workers can share: tune -> final seeds -> aggregate.

``advance()`` does whatever work is available now and says whether the combination is ``done``,
whether it ``worked``, or whether it is ``waiting`` for trials other workers hold. All coordination
goes through Optuna's storage (see tuning/coordination.py); MLflow only records.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

import optuna

from benchmark.data import dataset_source
from benchmark.encoders import default_encoder
from benchmark.fits import CombinationFits, Reporter, WorkContext
from benchmark.grid import Combination
from benchmark.records import aggregate_seeds, combination_tags, latest_per_seed
from benchmark.schema import (
    BEST_VAL,
    COMBINATION_RUN,
    FAIL_REASON,
    FINAL_RUN,
    GPU_MEMORY,
    OPTUNA_STUDY,
    OPTUNA_TRIAL,
    PARAMETERS,
    SEED,
    STATUS,
    STUDY,
    TEST_ACCURACY,
    TEST_F1,
    TUNER,
    mean_of,
    std_of,
)
from benchmark.space import default_configuration
from benchmark.tasks import Task
from benchmark.tasks.base import task_digest
from benchmark.tuning.coordination import (
    PARENT_RUN,
    SEED_PARAM,
    WORKER_HOST,
    WORKER_PID,
    add_final_seed,
    claim,
    close_dead_trials,
    final_validation_scores,
    finals_state,
    next_final_seed,
    open_finals,
    optuna_trial_key,
    record_parent_run,
    requeue_closed_finals,
    tuning_finished,
    wait_for_attr,
)
from benchmark.tuning.search import (
    best_params,
    open_study,
    optimize,
    tuner_counts,
)
from benchmark.tuning.trials import budget_used

DONE, WORKED, WAITING = "done", "worked", "waiting"


_DIGESTS: dict[int, str] = {}  # id(task) -> digest; tasks live as long as the worker process


def dataset_digest(task: Task) -> str:
    """The task's digest, computed once per task in this process."""
    if id(task) not in _DIGESTS:
        _DIGESTS[id(task)] = task_digest(task)
    return _DIGESTS[id(task)]


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
        "train.budget_steps": config.train.budget_steps,
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


@dataclass
class _Open:
    study: optuna.Study
    parent_id: str
    finals: optuna.Study | None = None


class CombinationWork:
    """One combination's state machine, shared by any number of workers through Optuna's storage:
    open (its study; the MLflow parent run, created exactly once) -> tune (until the trial budget is used
    and no trial runs anywhere) -> final seeds (a queue; more while their validation scores disagree) ->
    aggregate (claimed by one worker) -> done. ``advance()`` takes it as far as it can go now and returns
    ``done``, ``worked`` or ``waiting`` (on trials other workers hold). The fits themselves are
    fits.CombinationFits'."""

    def __init__(self, context: WorkContext, reporter: Reporter, combination: Combination) -> None:
        self.context = context
        self.reporter = reporter
        self.combination = combination
        self.config = context.config
        self.tracker = context.tracker
        self.timer = context.timer
        self.task = context.tasks[combination.task_key]
        self.state: _Open | None = None
        self.first_visit = True
        self.fits = CombinationFits(context, reporter, combination)
        self.space = self.fits.space

    # ---- opening: the study, and the MLflow parent run exactly once ------------------------------
    def _open(self) -> _Open:
        if self.state is None:
            with self.timer.section("tuning"):
                study, created = open_study(
                    self.context.storage,
                    self.combination,
                    self.config.tuning,
                    self.context.pruner,
                    default_configuration(self.space) if self.config.tuning.default_first else None,
                )
            parent_id = self._create_parent(study) if created else self._find_parent(study)
            self.state = _Open(study, parent_id)
        return self.state

    def _create_parent(self, study: optuna.Study) -> str:
        existing = self.tracker.find_combination_run(self.combination.id)  # a store from an older version
        if existing is not None:
            parent_id = existing
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
            parent_id = existing or self._create_parent(study)
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
                self.reporter.progress(
                    self.combination.name, self.config.tuning.trials + self.config.final.seeds
                )
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
        config, combination = self.config, self.combination
        objective = self.fits.objective(state.study, state.parent_id)
        for trial in optimize(state.study, config.tuning.trials, objective, self.timer):
            self.reporter.progress(combination.name, 1)
            try:
                best = f"{state.study.best_value:.3f}"
            except ValueError:  # no COMPLETE trial yet
                best = "-"
            self.reporter.describe_progress(
                f"{combination.name} trial {trial.number} best trial val {config.tuning.metric}={best}"
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
        hparams = self.fits.settings(params)
        while True:
            with self.timer.section("tuning"):
                item = next_final_seed(state.finals)
            if item is None:
                break
            self.fits.final_seed(state.finals, state.parent_id, hparams, *item)
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

    def _aggregate(self, state: _Open, params: dict[str, Any]) -> None:
        config, tracker, combination = self.config, self.tracker, self.combination
        finals = latest_per_seed(tracker.children(state.parent_id, FINAL_RUN), SEED)
        if not finals:
            tracker.log(state.parent_id, tags={STATUS: "failed", FAIL_REASON: "no final run finished"})
            tracker.end(state.parent_id)
            self.reporter.outcome(
                combination.name, "failed", f"FAILED {combination.name}: no final run finished"
            )
            return
        metrics = aggregate_seeds(finals)
        best_value = state.study.best_value
        metrics[BEST_VAL + config.tuning.metric] = best_value
        tags = {STATUS: "finished", TUNER: ",".join(f"{k}={v}" for k, v in tuner_counts(state.study).items())}
        if GPU_MEMORY in finals[0].tags:
            tags[GPU_MEMORY] = finals[0].tags[GPU_MEMORY]
        tracker.log(
            state.parent_id, metrics=metrics, tags=tags, params={f"best.{k}": v for k, v in params.items()}
        )
        tracker.end(state.parent_id)
        m = config.tuning.metric
        self.reporter.outcome(
            combination.name,
            "finished",
            # Labelled: the best trial's validation score is the tuner's; the report's "val" is the final
            # seeds' mean, which differs
            f"done {combination.name:<48} best trial val {m}={best_value:.3f}  final seeds: "
            f"test acc={metrics[mean_of(TEST_ACCURACY)]:.3f}±{metrics[std_of(TEST_ACCURACY)]:.3f} "
            f"f1={metrics[mean_of(TEST_F1)]:.3f}  {metrics[mean_of(PARAMETERS)]:,.0f} params",
        )
