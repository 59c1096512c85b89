"""The study's two stores, opened as one value: the MLflow tracker (runs, metrics, models) and the Optuna
storage (trials), with the pruner every combination shares.

On one host with no worker running, opening also repairs what a killed run left: a torn Optuna journal
record is set aside, trials left RUNNING are closed as interrupted and runs left RUNNING are KILLED.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import optuna

from benchmark.config import StudyConfig
from benchmark.journal import repair_journal
from benchmark.schema import OPTUNA_TRIAL
from benchmark.timing import TimeBreakdown
from benchmark.tracking.writer import Tracker
from benchmark.tuning.coordination import sweep_interrupted
from benchmark.tuning.search import make_pruner, open_storage
from benchmark.uris import redact_uri


@dataclass(frozen=True)
class Stores:
    tracker: Tracker
    storage: optuna.storages.BaseStorage
    pruner: optuna.pruners.BasePruner


def open_stores(
    config: StudyConfig, timer: TimeBreakdown, *, sweep: bool, say: Callable[[str], None]
) -> Stores:
    """Connect to (or create) both stores. Remote ones are checked first, so an unreachable database or
    server fails within seconds, before anything is written. ``sweep``: no worker of this host is running
    (the lead, before it starts any), so whatever is RUNNING was left by a killed process."""
    shared = config.storage_is_shared
    artifact_root = config.workdir_path / "mlartifacts" if config.tracking_uri is None else None
    if config.tracking_uri is None or not shared:
        config.workdir_path.mkdir(parents=True, exist_ok=True)
    storage = None
    with timer.section("tuning"):
        if shared:
            storage = open_storage(config.resolved_storage, config.heartbeat_seconds)
    with timer.section("tracking"):  # the first open of a new SQLite store creates its schema
        tracker = Tracker(config.resolved_tracking_uri, config.name, artifact_root=artifact_root, timer=timer)
    with timer.section("tuning"):
        if storage is None:
            if sweep:  # a torn tail is safe to set aside only while nobody appends
                _repair_journal(Path(config.resolved_storage), say)
            storage = open_storage(config.resolved_storage, config.heartbeat_seconds)
        pruner = make_pruner(config.tuning, config.train.max_epochs)
    stores = Stores(tracker=tracker, storage=storage, pruner=pruner)
    if sweep:
        sweep_stale(stores, timer)
    return stores


def _repair_journal(path: Path, say: Callable[[str], None]) -> None:
    kept = repair_journal(path)
    if kept is not None:
        say(
            f"the Optuna journal held a torn record (a crash or a full disk): set aside as {kept}; "
            f"resuming from the complete records"
        )


def sweep_stale(stores: Stores, timer: TimeBreakdown) -> None:
    """One host and no worker alive: whatever is RUNNING was left by a killed process."""
    stores.tracker.sweep_stale_runs()
    with timer.section("tuning"):
        closed = sweep_interrupted(stores.storage)
    for key in closed:  # a run ended FINISHED whose trial was never told does not count either
        stores.tracker.kill_runs_tagged(OPTUNA_TRIAL, key)


def describe_stores(config: StudyConfig) -> str:
    return (
        f"MLflow: {redact_uri(config.resolved_tracking_uri)} (experiment {config.name!r})\n"
        f"Optuna: {redact_uri(config.resolved_storage)}"
    )
