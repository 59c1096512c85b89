"""Coordination between workers (several processes, or several hosts on a shared database).

Everything here uses Optuna's storage as the only shared state, so it works the same on a journal
file (one host) and on PostgreSQL (several hosts):
- a study's creation is atomic (DuplicatedStudyError for everyone else), which elects exactly one
  worker to create the combination's MLflow parent run and to enqueue its final seeds;
- final seeds are WAITING trials of a second study, ``<study>/final``; ``ask()`` pops each one
  atomically, so every seed runs once;
- a trial whose worker died is closed as ``interrupted``: on RDB storage by Optuna's heartbeat,
  on one host when the worker's process id is gone. A final seed closed so is enqueued again.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import optuna
import psutil
from optuna.trial import FrozenTrial, TrialState

from benchmark.tuning.trials import (
    FAIL_ATTR,
    NOT_COUNTED,
    OVER_BUDGET,
    budget_used,
    close_as_interrupted,
    fail_trial,
    heartbeat_storage,
    storage_of,
    study_attr,
    trial_id,
)

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
        value = study_attr(study, key)
        if value is not None or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def mark_worker(trial: optuna.Trial) -> None:
    """Name the trial's worker, and record its first heartbeat at once: Optuna counts a trial as stale
    only once it has a heartbeat, so a worker lost before its first beat would hold the trial forever."""
    storage = heartbeat_storage(trial.study)
    if storage is not None:
        storage.record_heartbeat(trial_id(trial))
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
    storage = storage_of(study)
    heartbeats = heartbeat_storage(study)
    stale = set(heartbeats._get_stale_trial_ids(study._study_id)) if heartbeats is not None else set()
    host, me = socket.gethostname(), os.getpid()
    closed: list[FrozenTrial] = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        pid = trial.user_attrs.get(WORKER_PID)
        gone_here = (
            trial.user_attrs.get(WORKER_HOST) == host
            and pid is not None
            and pid != me
            and not process_alive(int(pid))
        )
        if trial_id(trial) not in stale and not gone_here:
            continue
        try:
            close_as_interrupted(storage, trial)
        except (RuntimeError, ValueError):  # another worker closed it first (UpdateFinishedTrialError)
            continue
        closed.append(trial)
    return closed


@contextmanager
def heartbeat(study: optuna.Study, trial: optuna.Trial) -> Iterator[None]:
    """Record the trial's heartbeat while the block runs (RDB storage with heartbeats; else nothing),
    so a worker that dies is noticed by the others after the grace period."""
    storage = heartbeat_storage(study)
    if storage is None:
        yield
        return
    stop = threading.Event()
    interval = storage.get_heartbeat_interval() or 30

    def beat() -> None:
        while not stop.is_set():
            storage.record_heartbeat(trial_id(trial))
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
    fail_trial(finals, trial, reason)
    if requeue is not None:
        finals.enqueue_trial({SEED_PARAM: requeue}, skip_if_exists=False)


def next_final_seed(finals: optuna.Study) -> tuple[optuna.Trial, int] | None:
    """Pop a waiting final seed (atomic across workers), or None when none is waiting."""
    if not finals.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
        return None
    trial = finals.ask({SEED_PARAM: optuna.distributions.IntDistribution(0, 2**31 - 1)})
    fixed = storage_of(finals).get_trial_system_attrs(trial_id(trial)).get("fixed_params", {})
    if SEED_PARAM not in fixed:  # another worker popped the last one between our check and our ask
        fail_trial(finals, trial, OVER_BUDGET)
        return None
    mark_worker(trial)
    return trial, int(fixed[SEED_PARAM])


def finals_state(finals: optuna.Study) -> tuple[int, int, bool]:
    """(completed, failed with a reason, anything still waiting or running)."""
    trials = finals.get_trials(deepcopy=False)
    complete = sum(t.state == TrialState.COMPLETE for t in trials)
    failed = sum(
        t.state == TrialState.FAIL and t.user_attrs.get(FAIL_ATTR) not in (None, *NOT_COUNTED) for t in trials
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


def sweep_interrupted(storage: optuna.storages.BaseStorage) -> list[str]:
    """Close every RUNNING trial as ``interrupted`` (one host, before any worker starts: nobody else is
    alive), putting interrupted final seeds back in their queue. Returns the closed trials' keys
    (see ``optuna_trial_key``)."""
    closed: list[str] = []
    for summary in storage.get_all_studies():
        study_id = storage.get_study_id_from_name(summary.study_name)
        for trial in storage.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,)):
            close_as_interrupted(storage, trial)
            if summary.study_name.endswith("/final") and SEED_PARAM in trial.params:
                finals = optuna.load_study(study_name=summary.study_name, storage=storage)
                finals.enqueue_trial({SEED_PARAM: trial.params[SEED_PARAM]}, skip_if_exists=False)
            closed.append(optuna_trial_key(summary.study_name, trial.number))
    return closed
