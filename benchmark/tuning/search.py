"""The search: storage, one study per combination, the sampler, the pruner, the trial budget.

The only place that calls ``trial.suggest_*``. Trials are driven with ask/tell so the budget is exact and
every failure carries a reason (trials.py).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from benchmark.config import TuningConfig
from benchmark.errors import ConfigError
from benchmark.grid import Combination
from benchmark.params import ParamSpec
from benchmark.timing import TimeBreakdown
from benchmark.training import EpochCallback
from benchmark.tuning.coordination import create_or_load
from benchmark.tuning.trials import (
    INTERRUPTED,
    OVER_BUDGET,
    budget_used,
    fail_trial,
    storage_of,
    trial_id,
    uses_budget,
)
from benchmark.uris import redact_uri, scrub


@dataclass(frozen=True)
class TrialOutcome:
    """What an objective returns: a value (COMPLETE), ``pruned``, or a ``fail_reason`` (FAIL)."""

    value: float | None = None
    pruned: bool = False
    fail_reason: str | None = None


def open_storage(location: str, heartbeat_seconds: int = 30) -> optuna.storages.BaseStorage:
    """A database URL -> RDB storage with heartbeats (several hosts); a path -> journal file (one host).
    A trial whose heartbeat is older than 3 intervals is taken as dead, closed and redone."""
    if "://" in location:
        try:
            return _rdb_storage(location, heartbeat_seconds)
        except Exception:  # workers starting together race to create the schema: once more
            time.sleep(1.0)
        try:
            return _rdb_storage(location, heartbeat_seconds)
        except Exception as err:  # any driver error means the same to the user
            message = " ".join(str(err).split())[:200]
            raise ConfigError(
                f"cannot reach Optuna storage {redact_uri(location)}: {scrub(message, location)}"
            ) from None
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    path = Path(location)
    path.parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(str(path)))


def _rdb_storage(location: str, heartbeat_seconds: int) -> optuna.storages.RDBStorage:
    engine_kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if location.startswith("postgresql"):
        engine_kwargs["connect_args"] = {"connect_timeout": 5}
    return optuna.storages.RDBStorage(
        location,
        heartbeat_interval=heartbeat_seconds,
        grace_period=3 * heartbeat_seconds,
        engine_kwargs=engine_kwargs,
    )


def startup_trials(config: TuningConfig) -> int:
    """Finished trials TPE waits for before its model proposes (Optuna's default of 10 would leave
    it random under small budgets); the enqueued default counts among them."""
    return max(2, min(10, config.trials // 2))


def _sampler(config: TuningConfig, seed: int) -> optuna.samplers.BaseSampler:
    if config.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup_trials(config))


PROPOSAL = "proposal"  # trial user attr: how its parameters were chosen (see ``proposal``)
PROPOSALS = ("default", "random", "model")


def record_proposal(study: optuna.Study, trial: optuna.Trial, config: TuningConfig) -> str:
    """Record on ``trial`` (and return) how its parameters were chosen: the enqueued ``default``,
    ``random`` (the random sampler, or TPE's start-up), or ``model`` (TPE's density model over the
    finished trials), so the report can say what the tuner did. With Hyperband, TPE sees only the trial's bracket,
    so fewer trials are model-guided than this counts; the default pruner of the headline is median."""
    chosen_by = _proposal(study, trial, config)
    trial.set_user_attr(PROPOSAL, chosen_by)
    return chosen_by


def _proposal(study: optuna.Study, trial: optuna.Trial, config: TuningConfig) -> str:
    if "fixed_params" in storage_of(study).get_trial_system_attrs(trial_id(trial)):
        return "default"
    if config.sampler == "random":
        return "random"
    finished = sum(
        t.state in (TrialState.COMPLETE, TrialState.PRUNED)
        for t in study.get_trials(deepcopy=False)
        if t.number < trial.number
    )
    return "model" if finished >= startup_trials(config) else "random"


def tuner_counts(study: optuna.Study) -> dict[str, int]:
    """How many of the study's budgeted trials each proposal made, and how many were pruned."""
    trials = [t for t in study.get_trials(deepcopy=False) if uses_budget(t)]
    counts = {name: sum(t.user_attrs.get(PROPOSAL) == name for t in trials) for name in PROPOSALS}
    return {**counts, "pruned": sum(t.state == TrialState.PRUNED for t in trials)}


def make_pruner(config: TuningConfig, max_epochs: int) -> optuna.pruners.BasePruner:
    """Epochs are the resource every pruner reasons in (one ``trial.report`` per epoch).

    - ``median``: stop a trial whose score at epoch e is below the median of earlier trials at e;
    - ``successive_halving`` (ASHA): at rungs of 1, 3, 9, ... epochs, keep the top third;
    - ``hyperband``: several successive-halving brackets with different first rungs, up to
      ``max_epochs``, hedging against a first rung too short to judge by.
    Pruned trials count against ``tuning.trials`` like any other: the budget stays exact.
    """
    if config.pruner == "none":
        return optuna.pruners.NopPruner()
    if config.pruner == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    if config.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max_epochs, reduction_factor=3)
    return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=2)


def seed_sampler(study: optuna.Study, config: TuningConfig, combination: Combination) -> None:
    """The sampler seed depends on the study's seed, the combination and how many trials it has, never
    on the worker: a combination tunes the same whichever worker (or how many) runs it. A worker that
    joins a combination another is tuning opens it at a later trial count, so it does not repeat the
    other's proposals."""
    salt = int(combination.id[:8], 16) % 1_000_003  # the id is a hex digest
    study.sampler = _sampler(config, config.seed + salt + len(study.trials))


def open_study(
    storage: optuna.storages.BaseStorage,
    combination: Combination,
    config: TuningConfig,
    pruner: optuna.pruners.BasePruner,
    default: dict[str, Any] | None = None,
) -> tuple[optuna.Study, bool]:
    """Create or load the combination's study, its sampler seeded (seed_sampler); and whether this
    call created it. Its creator enqueues ``default`` (if given) as the first trial."""
    study, created = create_or_load(storage, combination.study_name, pruner)
    if created and default:
        study.enqueue_trial(default, skip_if_exists=False)
    seed_sampler(study, config, combination)
    return study, created


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
                t for t in study.get_trials(deepcopy=False) if t.number < trial.number and uses_budget(t)
            ]
            if len(earlier) >= budget:
                fail_trial(study, trial, OVER_BUDGET)
                return
        try:
            outcome = objective(trial)
        except BaseException:
            fail_trial(study, trial, INTERRUPTED)
            raise
        with clock("tuning"):
            if outcome.fail_reason is not None:
                finished = fail_trial(study, trial, outcome.fail_reason)
            elif outcome.pruned:
                finished = study.tell(trial, state=TrialState.PRUNED)
            elif outcome.value is None or not math.isfinite(outcome.value):
                finished = fail_trial(study, trial, "non_finite_score")
            else:
                finished = study.tell(trial, outcome.value)
        yield finished


@contextmanager
def _no_clock(category: str) -> Iterator[None]:
    yield
