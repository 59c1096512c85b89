"""Optuna: storage, one study per combination, the search space, trial budget and pruning.

The only module that calls ``trial.suggest_*``. Trials are driven with ask/tell so the budget is
exact and every failure carries a reason (``user_attrs["fail_reason"]``):
- ``non_finite_loss`` / ``oom``: a real outcome of the configuration; it uses up budget;
- ``interrupted``: the worker was stopped or killed; it does not use budget and is redone.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import psutil
from optuna.storages._heartbeat import BaseHeartbeat, is_heartbeat_enabled  # not re-exported
from optuna.trial import FrozenTrial, TrialState

from benchmark.config import TuningConfig
from benchmark.errors import ConfigError
from benchmark.grid import Combination
from benchmark.params import ParamSpec
from benchmark.timing import TimeBreakdown
from benchmark.training import EpochCallback
from benchmark.uris import redact_uri, scrub

optuna.logging.set_verbosity(optuna.logging.WARNING)
# Heartbeats are marked experimental; the warning would print on every start of a shared study.
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
# We drive trials with ask/tell and record heartbeats ourselves (see heartbeat()).
warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")
log = logging.getLogger(__name__)

FAIL_ATTR = "fail_reason"
INTERRUPTED = "interrupted"
OVER_BUDGET = "over_budget"
_NOT_COUNTED = (INTERRUPTED, OVER_BUDGET)


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
    if "fixed_params" in _storage(study).get_trial_system_attrs(_trial_id(trial)):
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
    trials = [t for t in study.get_trials(deepcopy=False) if _uses_budget(t)]
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


def seed_sampler(study: optuna.Study, config: TuningConfig, worker_index: int = 0) -> None:
    """The sampler seed depends on the worker and on how many trials exist, so workers do not
    duplicate each other and a resumed run is reproducible."""
    study.sampler = _sampler(config, config.seed + 7919 * worker_index + len(study.trials))


def open_study(
    storage: optuna.storages.BaseStorage,
    combination: Combination,
    config: TuningConfig,
    pruner: optuna.pruners.BasePruner,
    worker_index: int = 0,
    default: dict[str, Any] | None = None,
) -> tuple[optuna.Study, bool]:
    """Create or load the combination's study, its sampler seeded for this worker; and whether this
    call created it. Its creator enqueues ``default`` (if given) as the first trial."""
    study, created = create_or_load(storage, combination.study_name, pruner)
    if created and default:
        study.enqueue_trial(default, skip_if_exists=False)
    seed_sampler(study, config, worker_index)
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


def _uses_budget(trial: FrozenTrial) -> bool:
    if trial.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING):
        return True
    return trial.state == TrialState.FAIL and trial.user_attrs.get(FAIL_ATTR) not in (None, *_NOT_COUNTED)


def budget_used(study: optuna.Study) -> int:
    """Trials that count against ``tuning.trials``: finished ones, real failures, and ones running now."""
    return sum(_uses_budget(t) for t in study.get_trials(deepcopy=False))


# ---- Optuna internals, in one place ---------------------------------------------------------------------
# The public API has no way to (a) close a trial of another, dead process (``Study.tell`` only takes
# trials of this process's ``ask``), (b) read a study attribute without loading every trial
# (``Study.user_attrs`` does), (c) record a heartbeat for a trial we run outside ``Study.optimize``, or
# (d) read the fixed parameters an enqueued trial was created with before ``suggest`` is called. Those
# four need the storage and the internal ids; every use goes through these functions.


def _storage(study: optuna.Study) -> optuna.storages.BaseStorage:
    return study._storage


def _heartbeat_storage(study: optuna.Study) -> BaseHeartbeat | None:
    """The study's storage if it records heartbeats. Optuna wraps an RDBStorage in a caching layer
    (``_CachedStorage``), so the test is for the heartbeat interface, never for RDBStorage itself."""
    storage = _storage(study)
    return storage if isinstance(storage, BaseHeartbeat) and is_heartbeat_enabled(storage) else None


def _trial_id(trial: optuna.Trial | FrozenTrial) -> int:
    return trial._trial_id


def _study_attr(study: optuna.Study, key: str) -> Any:
    return _storage(study).get_study_user_attrs(study._study_id).get(key)


def _close_as_interrupted(storage: optuna.storages.BaseStorage, trial: FrozenTrial) -> None:
    storage.set_trial_user_attr(_trial_id(trial), FAIL_ATTR, INTERRUPTED)
    storage.set_trial_state_values(_trial_id(trial), state=TrialState.FAIL)


def _fail(study: optuna.Study, trial: optuna.Trial, reason: str) -> FrozenTrial:
    trial.set_user_attr(FAIL_ATTR, reason)
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


def sweep_interrupted(storage: optuna.storages.BaseStorage) -> list[str]:
    """Close every RUNNING trial as ``interrupted`` (one host, before any worker starts: nobody else is
    alive), putting interrupted final seeds back in their queue. Returns the closed trials' keys
    (see ``optuna_trial_key``)."""
    closed: list[str] = []
    for summary in storage.get_all_studies():
        study_id = storage.get_study_id_from_name(summary.study_name)
        for trial in storage.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,)):
            _close_as_interrupted(storage, trial)
            if summary.study_name.endswith("/final") and SEED_PARAM in trial.params:
                finals = optuna.load_study(study_name=summary.study_name, storage=storage)
                finals.enqueue_trial({SEED_PARAM: trial.params[SEED_PARAM]}, skip_if_exists=False)
            closed.append(optuna_trial_key(summary.study_name, trial.number))
    return closed


# ---- coordination between workers (several processes, or several hosts on a shared database) -------
#
# Everything here uses Optuna's storage as the only shared state, so it works the same on a journal
# file (one host) and on PostgreSQL (several hosts):
# - a study's creation is atomic (DuplicatedStudyError for everyone else), which elects exactly one
#   worker to create the combination's MLflow parent run and to enqueue its final seeds;
# - final seeds are WAITING trials of a second study, ``<study>/final``; ``ask()`` pops each one
#   atomically, so every seed runs once;
# - a trial whose worker died is closed as ``interrupted``: on RDB storage by Optuna's heartbeat,
#   on one host when the worker's process id is gone. A final seed closed so is enqueued again.

PARENT_RUN = "mlflow_parent_run_id"
WORKER_HOST, WORKER_PID, SEED_PARAM = "host", "pid", "seed"
MLFLOW_RUN = "mlflow_run_id"


def create_or_load(
    storage: optuna.storages.BaseStorage, name: str, pruner: optuna.pruners.BasePruner | None = None
) -> tuple[optuna.Study, bool]:
    """(study, True) for the one caller that created it; (study, False) for everyone else."""
    try:
        return optuna.create_study(
            storage=storage, study_name=name, direction="maximize", pruner=pruner
        ), True
    except optuna.exceptions.DuplicatedStudyError:
        return optuna.load_study(study_name=name, storage=storage, pruner=pruner), False


def wait_for_attr(study: optuna.Study, key: str, timeout: float = 60.0) -> Any | None:
    """A study user attribute another worker is about to set (None if it never comes)."""
    deadline = time.monotonic() + timeout
    while True:
        value = _study_attr(study, key)
        if value is not None or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def mark_worker(trial: optuna.Trial) -> None:
    """Name the trial's worker, and record its first heartbeat at once: Optuna counts a trial as stale
    only once it has a heartbeat, so a worker lost before its first beat would hold the trial forever."""
    storage = _heartbeat_storage(trial.study)
    if storage is not None:
        storage.record_heartbeat(_trial_id(trial))
    trial.set_user_attr(WORKER_HOST, socket.gethostname())
    trial.set_user_attr(WORKER_PID, os.getpid())


def optuna_trial_key(study_name: str, number: int) -> str:
    """Names one trial across the whole storage; MLflow runs carry it so a dead trial's run can be found
    even when the worker died before recording the run's id on the trial."""
    return f"{study_name}/{number}"


def process_alive(pid: int) -> bool:
    """True for a running process; a zombie (dead, not yet reaped by its parent) counts as gone."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def close_dead_trials(study: optuna.Study) -> list[FrozenTrial]:
    """Close as ``interrupted`` the RUNNING trials whose worker is gone: on storage with heartbeats, a
    trial whose heartbeat is older than the grace period (a worker on any host); on this host, a trial
    whose worker process no longer exists. Returns the trials this call closed."""
    storage = _storage(study)
    heartbeats = _heartbeat_storage(study)
    stale = set(heartbeats._get_stale_trial_ids(study._study_id)) if heartbeats is not None else set()
    host, me = socket.gethostname(), os.getpid()
    closed: list[FrozenTrial] = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        pid = trial.user_attrs.get(WORKER_PID)
        gone_here = (
            trial.user_attrs.get(WORKER_HOST) == host and pid is not None and pid != me and not process_alive(int(pid))
        )  # fmt: skip
        if _trial_id(trial) not in stale and not gone_here:
            continue
        try:
            _close_as_interrupted(storage, trial)
        except (RuntimeError, ValueError):  # another worker closed it first (UpdateFinishedTrialError)
            continue
        closed.append(trial)
    return closed


@contextmanager
def heartbeat(study: optuna.Study, trial: optuna.Trial) -> Iterator[None]:
    """Record the trial's heartbeat while the block runs (RDB storage with heartbeats; else nothing),
    so a worker that dies is noticed by the others after the grace period."""
    storage = _heartbeat_storage(study)
    if storage is None:
        yield
        return
    stop = threading.Event()
    interval = storage.get_heartbeat_interval() or 30

    def beat() -> None:
        while not stop.is_set():
            storage.record_heartbeat(_trial_id(trial))
            stop.wait(interval)

    thread = threading.Thread(target=beat, name=f"heartbeat-{trial.number}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def tuning_finished(study: optuna.Study, budget: int) -> bool:
    """The budget is used and no trial is still running anywhere: the best trial is final."""
    trials = study.get_trials(deepcopy=False)
    return budget_used(study) >= budget and not any(t.state == TrialState.RUNNING for t in trials)


def open_finals(storage: optuna.storages.BaseStorage, study: optuna.Study, seeds: list[int]) -> optuna.Study:
    """The study whose WAITING trials are the combination's final seeds; its creator enqueues them."""
    finals, created = create_or_load(storage, f"{study.study_name}/final")
    if created:
        for seed in seeds:
            finals.enqueue_trial({SEED_PARAM: seed}, skip_if_exists=False)
        finals.set_user_attr("enqueued", True)
    else:
        wait_for_attr(finals, "enqueued")
    return finals


VAL_SCORE = "val_score"  # user attr of a final-seed trial: its validation score (decides extra seeds)


def add_final_seed(finals: optuna.Study, seed: int) -> None:
    """Queue one more final seed; two workers adding the same seed at once queue it once (or, in a
    narrow race, twice: the aggregation keeps one run per seed)."""
    finals.enqueue_trial({SEED_PARAM: seed}, skip_if_exists=True)


def final_validation_scores(finals: optuna.Study) -> dict[int, float]:
    """Seed -> validation score of the completed final seeds."""
    return {
        int(t.params[SEED_PARAM]): float(t.user_attrs[VAL_SCORE])
        for t in finals.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if SEED_PARAM in t.params and VAL_SCORE in t.user_attrs
    }


def requeue_closed_finals(finals: optuna.Study, closed: list[FrozenTrial]) -> None:
    """Put the seeds of final trials closed as interrupted back in the queue."""
    for trial in closed:
        if SEED_PARAM in trial.params:
            finals.enqueue_trial({SEED_PARAM: trial.params[SEED_PARAM]}, skip_if_exists=False)


def record_parent_run(study: optuna.Study, run_id: str) -> None:
    """The combination's MLflow parent run, for workers that open the study later (``wait_for_attr``)."""
    study.set_user_attr(PARENT_RUN, run_id)


def record_run(trial: optuna.Trial, run_id: str) -> None:
    """The MLflow run of a trial or final seed."""
    trial.set_user_attr(MLFLOW_RUN, run_id)


def complete_final_seed(finals: optuna.Study, trial: optuna.Trial, val_score: float) -> None:
    """A final seed finished: its validation score is the trial's value (and, as before, a user
    attribute: ``final.max_seeds`` adds seeds while those disagree). The test score is never given to
    Optuna, so no ``best_trial`` of any study can select on test; it lives in the MLflow run only."""
    trial.set_user_attr(VAL_SCORE, val_score)
    finals.tell(trial, val_score)


def fail_final_seed(
    finals: optuna.Study, trial: optuna.Trial, reason: str, requeue: int | None = None
) -> None:
    """A final seed failed for ``reason``; with ``requeue`` (interrupted) the seed goes back in the
    queue for whoever resumes."""
    _fail(finals, trial, reason)
    if requeue is not None:
        finals.enqueue_trial({SEED_PARAM: requeue}, skip_if_exists=False)


def next_final_seed(finals: optuna.Study) -> tuple[optuna.Trial, int] | None:
    """Pop a waiting final seed (atomic across workers), or None when none is waiting."""
    if not finals.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
        return None
    trial = finals.ask({SEED_PARAM: optuna.distributions.IntDistribution(0, 2**31 - 1)})
    fixed = _storage(finals).get_trial_system_attrs(_trial_id(trial)).get("fixed_params", {})
    if SEED_PARAM not in fixed:  # another worker popped the last one between our check and our ask
        _fail(finals, trial, OVER_BUDGET)
        return None
    mark_worker(trial)
    return trial, int(fixed[SEED_PARAM])


def finals_state(finals: optuna.Study, seeds: int) -> tuple[int, int, bool]:
    """(completed, failed with a reason, anything still waiting or running)."""
    trials = finals.get_trials(deepcopy=False)
    complete = sum(t.state == TrialState.COMPLETE for t in trials)
    failed = sum(
        t.state == TrialState.FAIL and t.user_attrs.get(FAIL_ATTR) not in (None, *_NOT_COUNTED)
        for t in trials
    )
    busy = any(t.state in (TrialState.WAITING, TrialState.RUNNING) for t in trials)
    return complete, failed, busy


CLAIM_STALE_SECONDS = 120.0


def claim(storage: optuna.storages.BaseStorage, name: str) -> bool:
    """Exactly-once work (a combination's aggregation): True for the one worker that claims ``name``,
    and for anyone once the claimant is known dead (same host) or silent for CLAIM_STALE_SECONDS."""
    study, created = create_or_load(storage, name)
    if created:
        study.set_user_attr("claimed_by", [socket.gethostname(), os.getpid(), time.time()])
        return True
    owner = wait_for_attr(study, "claimed_by", timeout=10.0)
    if owner is None:
        return True
    host, pid, since = owner
    if host == socket.gethostname() and pid != os.getpid() and not process_alive(int(pid)):
        return True
    return time.time() - float(since) > CLAIM_STALE_SECONDS
