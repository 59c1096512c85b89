"""Optuna: storage, one study per combination, the search space, trial budget and pruning.

The only module that calls ``trial.suggest_*``. Trials are driven with ask/tell so the budget is
exact and every failure carries a reason (``user_attrs["fail_reason"]``):
- ``non_finite_loss`` / ``oom``: a real outcome of the configuration; it uses up budget;
- ``interrupted``: the worker was stopped or killed; it does not use budget and is redone.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from benchmark.config import ConfigError, ParamSpec, TuningConfig, redact_uri
from benchmark.grid import Combination
from benchmark.timing import TimeBreakdown
from benchmark.training import EpochCallback

optuna.logging.set_verbosity(optuna.logging.WARNING)
log = logging.getLogger(__name__)

FAIL_REASON = "fail_reason"
INTERRUPTED = "interrupted"
OVER_BUDGET = "over_budget"
_NOT_COUNTED = (INTERRUPTED, OVER_BUDGET)


@dataclass(frozen=True)
class TrialOutcome:
    """What an objective returns: a value (COMPLETE), ``pruned``, or a ``fail_reason`` (FAIL)."""

    value: float | None = None
    pruned: bool = False
    fail_reason: str | None = None


def open_storage(location: str) -> optuna.storages.BaseStorage:
    """A database URL -> RDB storage with heartbeats (several hosts); a path -> journal file (one host)."""
    if "://" in location:
        try:
            return optuna.storages.RDBStorage(
                location,
                heartbeat_interval=30,
                grace_period=90,
                engine_kwargs={"pool_pre_ping": True, "connect_args": {"connect_timeout": 5}}
                if location.startswith("postgresql")
                else {},
            )
        except Exception as err:  # noqa: BLE001 - any driver error means the same to the user
            message = " ".join(str(err).split())[:200]
            raise ConfigError(f"cannot reach Optuna storage {redact_uri(location)}: {message}") from None
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    path = Path(location)
    path.parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(str(path)))


def _sampler(config: TuningConfig, seed: int) -> optuna.samplers.BaseSampler:
    if config.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    # Optuna's default of 10 random start-up trials would make TPE random under small budgets.
    startup = max(2, min(10, config.trials // 2))
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup)


def _pruner(config: TuningConfig) -> optuna.pruners.BasePruner:
    if config.pruner == "none":
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=2)


def open_study(
    storage: optuna.storages.BaseStorage,
    combination: Combination,
    config: TuningConfig,
    worker_index: int = 0,
) -> optuna.Study:
    """Create or load the combination's study. The sampler seed depends on the worker and on how many
    trials exist, so workers do not duplicate each other and a resumed run is reproducible."""
    study = optuna.create_study(
        storage=storage,
        study_name=combination.study_name,
        direction="maximize",
        pruner=_pruner(config),
        load_if_exists=True,
    )
    study.sampler = _sampler(config, config.seed + 7919 * worker_index + len(study.trials))
    for key, value in (
        ("task", combination.task),
        ("depth", combination.depth),
        ("modalities", combination.modalities_tag),
        ("fusion", combination.fusion),
    ):
        if study.user_attrs.get(key) != value:
            study.set_user_attr(key, value)
    return study


def suggest(trial: optuna.Trial, space: dict[str, ParamSpec]) -> dict[str, Any]:
    """Sample one configuration from the study's search space."""
    params: dict[str, Any] = {}
    for name, spec in space.items():
        if spec.kind == "fixed":
            params[name] = spec.choices[0]
        elif spec.kind == "categorical":
            params[name] = trial.suggest_categorical(name, list(spec.choices))
        elif spec.kind == "int":
            params[name] = trial.suggest_int(name, int(spec.low), int(spec.high), log=spec.log)
        else:
            params[name] = trial.suggest_float(name, spec.low, spec.high, log=spec.log)
    return params


def best_params(study: optuna.Study, space: dict[str, ParamSpec]) -> dict[str, Any] | None:
    """The best COMPLETE trial's full configuration (fixed values included); None if none completed."""
    if not any(t.state == TrialState.COMPLETE for t in study.get_trials(deepcopy=False)):
        return None
    tuned = study.best_trial.params
    return {name: spec.choices[0] if spec.kind == "fixed" else tuned[name] for name, spec in space.items()}


def pruning_callback(trial: optuna.Trial, timer: TimeBreakdown | None = None) -> EpochCallback:
    """Report each epoch's validation score; True means the pruner wants the trial stopped."""
    clock = timer.section if timer is not None else _no_clock

    def on_epoch_end(epoch: int, score: float) -> bool:
        with clock("tuning"):
            trial.report(score, step=epoch)
            return trial.should_prune()

    return on_epoch_end


def _uses_budget(trial: FrozenTrial) -> bool:
    if trial.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING):
        return True
    return trial.state == TrialState.FAIL and trial.user_attrs.get(FAIL_REASON) not in (None, *_NOT_COUNTED)


def budget_used(study: optuna.Study) -> int:
    """Trials that count against ``tuning.trials``: finished ones, real failures, and ones running now."""
    return sum(_uses_budget(t) for t in study.get_trials(deepcopy=False))


def _fail(study: optuna.Study, trial: optuna.Trial, reason: str) -> FrozenTrial:
    trial.set_user_attr(FAIL_REASON, reason)
    return study.tell(trial, state=TrialState.FAIL)


def optimize(
    study: optuna.Study,
    budget: int,
    objective: Callable[[optuna.Trial], TrialOutcome],
    timer: TimeBreakdown | None = None,
) -> Iterator[FrozenTrial]:
    """Run trials until ``budget`` of them count; yields each finished trial.

    Exact across workers: after asking, a trial whose earlier-numbered siblings already fill the
    budget is closed as ``over_budget`` instead of running. An exception (including Ctrl-C) closes
    the trial as ``interrupted`` before propagating. Optuna's own work (ask, tell, reading trials)
    is counted as ``tuning`` in ``timer``.
    """
    clock = timer.section if timer is not None else _no_clock
    while True:
        with clock("tuning"):
            if budget_used(study) >= budget:
                return
            trial = study.ask()
            earlier = [
                t for t in study.get_trials(deepcopy=False) if t.number < trial.number and _uses_budget(t)
            ]
            if len(earlier) >= budget:
                _fail(study, trial, OVER_BUDGET)
                return
        try:
            outcome = objective(trial)
        except BaseException:
            _fail(study, trial, INTERRUPTED)
            raise
        with clock("tuning"):
            if outcome.fail_reason is not None:
                finished = _fail(study, trial, outcome.fail_reason)
            elif outcome.pruned:
                finished = study.tell(trial, state=TrialState.PRUNED)
            elif outcome.value is None or not math.isfinite(outcome.value):
                finished = _fail(study, trial, "non_finite_score")
            else:
                finished = study.tell(trial, outcome.value)
        yield finished


@contextmanager
def _no_clock(category: str) -> Iterator[None]:
    yield


def sweep_interrupted(storage: optuna.storages.BaseStorage) -> int:
    """Close every RUNNING trial as ``interrupted`` (single-host resume: no other worker is alive).
    Returns how many were closed."""
    closed = 0
    for summary in storage.get_all_studies():
        study_id = storage.get_study_id_from_name(summary.study_name)
        for trial in storage.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,)):
            storage.set_trial_user_attr(trial._trial_id, FAIL_REASON, INTERRUPTED)
            storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
            closed += 1
    return closed
