"""Running a study: validate everything first, then work through the combinations.

One process or many: ``StudyRunner`` is one worker; ``run_study`` starts ``workers`` of them on this
host (or one, in this process), and the same command started on other hosts against a shared
PostgreSQL storage and MLflow server adds more workers to the same study. Resumable at every step:
a finished combination is skipped; an unfinished one continues with the trials and seeds it lacks.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import queue
import signal
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import torch
import yaml
from tqdm import tqdm

from benchmark.combination import DONE, WAITING, CombinationWork
from benchmark.config import StudyConfig
from benchmark.data import DataError
from benchmark.disk_space import DiskFull, free_bytes, full_path, is_disk_full, release
from benchmark.errors import ConfigError
from benchmark.fits import WorkContext
from benchmark.grid import GridPlan, expand_grid
from benchmark.host import environment_tags, resolve_device, resolve_workers, usable_cores
from benchmark.interrupts import raise_if_interrupted, stop_on_signals
from benchmark.journal import repair_journal
from benchmark.latency import LatencySummary, run_latency_pass
from benchmark.measurement import Measurement
from benchmark.schema import KIND, OPTUNA_TRIAL, PID, SESSION_RUN, STUDY, TIME, WORKER
from benchmark.tasks import Fold, Task, build_task
from benchmark.timing import TimeBreakdown
from benchmark.tracking.writer import Tracker
from benchmark.tuning.coordination import process_alive, sweep_interrupted
from benchmark.tuning.search import make_pruner, open_storage
from benchmark.uris import redact_uri

POLL_SECONDS = 0.5  # how often a worker with nothing to do looks again


@dataclass
class PreparedStudy:
    """Everything validated and built, nothing written yet."""

    config: StudyConfig
    device: torch.device
    tasks: dict[tuple[str, int | None], Task]  # by (label, split); split None for a single-split task
    plan: GridPlan


@dataclass
class StudySummary:
    finished: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0
    breakdown: dict[str, float] = field(default_factory=dict)  # seconds per TimeBreakdown category


def prepare(config: StudyConfig) -> PreparedStudy:
    """Build tasks and the grid; raise ConfigError on anything wrong. Writes nothing."""
    device = resolve_device(config.device)
    config = dataclasses.replace(config, workers=resolve_workers(config.workers, device))
    tasks: dict[tuple[str, int | None], Task] = {}
    for spec in config.tasks:
        # Split i tests fold i of K disjoint folds drawn with data_seed (a fresh generator draw, for
        # the synthetic tasks); one split is the task's single holdout.
        for split in range(spec.splits) if spec.splits > 1 else [None]:
            fold = Fold(split, spec.splits) if split is not None else None
            try:
                tasks[(spec.label, split)] = build_task(
                    spec.name, seed=config.data_seed, data_dir=config.data_dir, fold=fold, **spec.kwargs
                )
            except (ValueError, TypeError, DataError) as err:
                raise ConfigError(f"task {spec.label!r}: {err}") from None
    modalities = {label: list(task.modalities) for (label, _), task in tasks.items()}
    plan = expand_grid(
        config.grid,
        modalities,
        {spec.label: (spec.subsets, spec.depth) for spec in config.tasks},
        {spec.label: json.dumps([config.name, spec.name, spec.params], default=str) for spec in config.tasks},
        {spec.label: spec.splits for spec in config.tasks},
    )
    if not plan.combinations:
        reasons = "; ".join(sorted({d.reason for d in plan.dropped})) or "no modality subset selected"
        raise ConfigError(f"the grid is empty: every combination was dropped ({reasons})")
    return PreparedStudy(config=config, device=device, tasks=tasks, plan=plan)


class StudyRunner:
    """One worker: works through every combination of the plan, sharing the work with any others."""

    def __init__(
        self,
        prepared: PreparedStudy,
        *,
        progress: bool = True,
        out: TextIO | None = None,
        worker_index: int = 0,
        sweep: bool = True,
    ) -> None:
        self.prepared = prepared
        self.config = prepared.config
        self.device = prepared.device
        self.show_progress = progress
        self.out = out
        self.worker_index = worker_index
        self.sweep = sweep and not prepared.config.storage_is_shared
        self.summary = StudySummary()
        self.timer = TimeBreakdown()
        self.bar: tqdm | None = None

    # ---- set-up -----------------------------------------------------------------------------------
    def open_stores(self) -> None:
        """Connect to (or create) both stores. Remote ones are checked first, so an unreachable
        database or server fails within seconds, before anything is written."""
        config = self.config
        shared = config.storage_is_shared
        artifact_root = config.workdir_path / "mlartifacts" if config.tracking_uri is None else None
        if config.tracking_uri is None or not shared:
            config.workdir_path.mkdir(parents=True, exist_ok=True)
        with self.timer.section("tuning"):
            if shared:
                self.storage = open_storage(config.resolved_storage, config.heartbeat_seconds)
        with self.timer.section("tracking"):  # the first open of a new SQLite store creates its schema
            self.tracker = Tracker(
                config.resolved_tracking_uri, config.name, artifact_root=artifact_root, timer=self.timer
            )
        with self.timer.section("tuning"):
            if not shared:
                if self.sweep:  # no worker of this host is running yet: a torn tail is safe to set aside
                    self._repair_journal(Path(config.resolved_storage))
                self.storage = open_storage(config.resolved_storage, config.heartbeat_seconds)
            self.pruner = make_pruner(config.tuning, config.train.max_epochs)
        if self.sweep:
            self.sweep_stale()
        self.env_tags = environment_tags(self.device)
        self.config_yaml = yaml.safe_dump(config.to_dict(), sort_keys=False)

    def _repair_journal(self, path: Path) -> None:
        kept = repair_journal(path)
        if kept is not None:
            self.write(
                f"the Optuna journal's last record was torn (a crash or a full disk): set aside as {kept}; "
                f"resuming from the record before it"
            )

    def sweep_stale(self) -> None:
        """One host and no worker alive: whatever is RUNNING was left by a killed process."""
        self.tracker.sweep_stale_runs()
        with self.timer.section("tuning"):
            closed = sweep_interrupted(self.storage)
        for key in closed:  # a run ended FINISHED whose trial was never told does not count either
            self.tracker.kill_runs_tagged(OPTUNA_TRIAL, key)

    # ---- what combinations report back ------------------------------------------------------------
    def write(self, line: str) -> None:
        tqdm.write(line, file=self.out)

    def progress(self, steps: int) -> None:
        if self.bar is not None:
            self.bar.update(steps)

    def describe_progress(self, text: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(text)

    def account(self, measurement: Measurement) -> None:
        self.timer.add("training", measurement.fit.train_seconds)
        self.timer.add("evaluation", measurement.fit.eval_seconds + measurement.final_eval_seconds)

    def outcome(self, name: str, kind: str, line: str | None = None) -> None:
        """A combination ended in this worker: ``finished``, ``failed`` or ``skipped`` (done before)."""
        {"finished": self.summary.finished, "failed": self.summary.failed, "skipped": self.summary.skipped}[
            kind
        ].append(name)
        if line is not None:
            self.write(line)

    # ---- the study --------------------------------------------------------------------------------
    def run(self) -> StudySummary:
        start = time.perf_counter()
        if self.config.threads:
            torch.set_num_threads(self.config.threads)
        self.open_stores()
        # One run per worker invocation (kind "session") carries the time breakdown.
        if not self.sweep:  # shared store: close the sessions of dead workers on this host
            self.tracker.close_dead_sessions(socket.gethostname(), process_alive)
        session_id = self.tracker.create_run(
            f"session-{socket.gethostname()}-{os.getpid()}",
            {
                KIND: SESSION_RUN,
                **self.env_tags,
                STUDY: self.config.name,
                WORKER: str(self.worker_index),
                PID: str(os.getpid()),
            },
        )
        with self.tracker.run(session_id):
            try:
                self._work(start)
            finally:
                if self.sweep:  # interrupted: leave nothing RUNNING behind (no one else is working)
                    self.tracker.sweep_stale_runs(exclude=session_id)
            self.tracker.log(
                session_id,
                metrics={f"{TIME}{k}_s": v for k, v in self.summary.breakdown.items()},
                params={"combinations": len(self.prepared.plan.combinations)},
            )
        return self.summary

    def _work(self, start: float) -> None:
        # Task tensors move to the device once; every combination indexes into them.
        self.tasks = {label: _task_to(task, self.device) for label, task in self.prepared.tasks.items()}
        combos = list(self.prepared.plan.combinations)
        # Workers start at different places in the grid, so they rarely wait on each other.
        shift = (self.worker_index * len(combos)) // max(1, self.config.workers)
        context = WorkContext(
            config=self.config,
            device=self.device,
            tasks=self.tasks,
            tracker=self.tracker,
            storage=self.storage,
            pruner=self.pruner,
            timer=self.timer,
            worker_index=self.worker_index,
            env_tags=self.env_tags,
            config_yaml=self.config_yaml,
        )
        pending = [CombinationWork(context, self, c) for c in combos[shift:] + combos[:shift]]
        per_combination = self.config.tuning.trials + self.config.final.seeds
        self.bar = tqdm(
            total=len(combos) * per_combination,
            unit="fit",
            dynamic_ncols=True,
            disable=not self.show_progress,
            desc=self.config.name,
        )
        try:
            while pending:
                progressed = False
                for work in list(pending):
                    step = work.advance()
                    raise_if_interrupted()
                    progressed |= step != WAITING
                    if step == DONE:
                        pending.remove(work)
                if pending and not progressed:
                    time.sleep(POLL_SECONDS)  # the remaining trials are held by other workers
        finally:
            self.bar.close()
            self.summary.wall_seconds = time.perf_counter() - start
            self.summary.breakdown = self.timer.finish()

    def describe_stores(self) -> str:
        return (
            f"MLflow: {redact_uri(self.config.resolved_tracking_uri)} (experiment {self.config.name!r})\n"
            f"Optuna: {redact_uri(self.config.resolved_storage)}"
        )


def _task_to(task: Task, device: torch.device) -> Task:
    if device.type == "cpu":
        return task
    return Task(
        task.name,
        task.modalities,
        {k: s.to(device) for k, s in task.splits.items()},
        task.num_classes,
        task.bayes_accuracy,
    )


# ---- several workers on this host ------------------------------------------------------------------


def _worker_main(prepared: PreparedStudy, index: int, threads: int, results: Any) -> None:
    torch.set_num_threads(threads)
    runner = StudyRunner(prepared, progress=False, worker_index=index, sweep=False)
    outcome: StudySummary | tuple[str, str] | None
    try:
        with stop_on_signals():
            outcome = runner.run()
    except KeyboardInterrupt:
        outcome = None
    except Exception as err:
        if not is_disk_full(err):
            raise  # a crash: its traceback, and the lead reports the worker as failed
        outcome = (DISK_FULL, str(full_path(err, prepared.config.workdir_path)))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # done: a stop sent now has nothing left to stop
    results.put((index, outcome))


DISK_FULL = "disk_full"


def _stop_workers(processes: list[Any], signum: int = signal.SIGTERM, grace: float | None = None) -> None:
    """Signal the live workers and wait for them; after ``grace`` seconds the rest get SIGTERM."""
    for process in processes:
        if process.is_alive():
            os.kill(process.pid, signum)
    for process in processes:
        process.join(grace)
        if process.is_alive():
            os.kill(process.pid, signal.SIGTERM)
            process.join()


def run_study(prepared: PreparedStudy, *, progress: bool = True) -> tuple[StudySummary, StudyRunner]:
    """Run the study with ``config.workers`` processes on this host (in this process when 1).

    The stores are created (and swept, on one host) once before the workers start: concurrent
    first-time schema creation fails. Each worker gets an equal share of the cores and its own
    sampler seed. Ctrl-C reaches every worker (one process group); SIGTERM is forwarded.
    """
    config = prepared.config
    lead = StudyRunner(prepared, progress=progress)
    if config.workers == 1:
        return lead.run(), lead
    lead.open_stores()
    threads = config.threads or max(1, usable_cores() // config.workers)
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    processes = [
        context.Process(target=_worker_main, args=(prepared, i, threads, results), name=f"worker-{i}")
        for i in range(config.workers)
    ]
    start = time.perf_counter()
    for process in processes:
        process.start()
    summaries: dict[int, StudySummary | None] = {}
    try:
        # is_alive() on every process each round also reaps a dead worker, so its pid disappears and
        # the others can tell its trials are orphaned.
        while len(summaries) < len(processes) and any([p.is_alive() for p in processes]):
            try:
                index, summary = results.get(timeout=0.5)
            except queue.Empty:
                continue
            if isinstance(summary, tuple):  # (DISK_FULL, path): room for the others' clean-up, then stop
                path = Path(summary[1])
                free = free_bytes(path)
                release(config.workdir_path)
                # SIGINT: each closes its own trial and runs (an interrupt, as on Ctrl-C), not killed mid-write
                _stop_workers([p for i, p in enumerate(processes) if i != index], signal.SIGINT, grace=30.0)
                _stop_workers(processes)  # the one that met the full disk is ending by itself
                raise DiskFull(path, free)
            summaries[index] = summary
    except KeyboardInterrupt:
        _stop_workers(processes)
        lead.sweep_stale()
        raise
    for process in processes:
        process.join()
    if lead.sweep:
        lead.sweep_stale()
    crashed = [f"{p.name} (exit status {p.exitcode})" for p in processes if p.exitcode and p.exitcode > 0]
    if crashed:  # an error, not a signal: its traceback is above, and a rerun would meet it again
        raise RuntimeError(f"{', '.join(crashed)} stopped on an error (printed above)")
    if any(s is None for s in summaries.values()) or len(summaries) < len(processes):
        raise KeyboardInterrupt("a worker was interrupted or killed")
    merged = StudySummary(wall_seconds=time.perf_counter() - start)
    for summary in summaries.values():
        assert summary is not None
        merged.finished += summary.finished
        merged.failed += summary.failed
        for key, value in summary.breakdown.items():
            merged.breakdown[key] = merged.breakdown.get(key, 0.0) + value
    # A combination finished by one worker is "skipped" by the others: count it once.
    done = set(merged.finished) | set(merged.failed)
    merged.skipped = sorted({n for s in summaries.values() if s for n in s.skipped} - done)
    return merged, lead


def time_saved_models(prepared: PreparedStudy, *, progress: bool = True) -> LatencySummary:
    """The latency pass (latency.py) over the study's combinations, in this process: run it when no
    worker of the study is training on this machine."""
    config = prepared.config
    tracker = Tracker(config.resolved_tracking_uri, config.name)
    return run_latency_pass(
        list(prepared.plan.combinations),
        prepared.tasks,
        tracker,
        device=prepared.device,
        warmup=config.latency.warmup,
        repeats=config.latency.repeats,
        eval_batch_size=config.train.eval_batch_size,
        threads=config.threads or usable_cores(),
        progress=(lambda line: tqdm.write(line)) if progress else (lambda line: None),
    )
