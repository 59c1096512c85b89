"""Running a study: validate everything first, then work through the combinations.

One process or many: ``StudyWorker`` is one worker; ``run_study`` starts ``workers`` of them on this
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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import torch
import yaml
from tqdm import tqdm

from benchmark.combination import DONE, WAITING, CombinationWork
from benchmark.config import StudyConfig, TaskSpec
from benchmark.data import DataError
from benchmark.disk_space import DiskFull, free_bytes, full_path, is_disk_full, release
from benchmark.errors import ConfigError
from benchmark.fits import WorkContext
from benchmark.grid import Combination, GridPlan, expand_grid
from benchmark.host import environment_tags, resolve_device, resolve_workers, usable_cores
from benchmark.interrupts import interrupted, raise_if_interrupted, stop_on_signals
from benchmark.latency import LatencySummary, run_latency_pass
from benchmark.progress import PaceLines, Progress, StudySummary
from benchmark.schema import KIND, PID, SESSION_RUN, STUDY, TIME, WORKER
from benchmark.stores import Stores, open_stores, sweep_stale
from benchmark.tasks import Fold, Task, build_task
from benchmark.timing import TimeBreakdown
from benchmark.tracking.writer import Tracker
from benchmark.tuning.coordination import process_alive

POLL_SECONDS = 0.5  # how often a worker with nothing to do looks again


@dataclass
class PreparedStudy:
    """Everything validated and built, nothing written yet."""

    config: StudyConfig
    device: torch.device
    tasks: dict[tuple[str, int | None], Task]  # by (label, split); split None for a single-split task
    plan: GridPlan
    costs: Mapping[str, float] = field(default_factory=dict)  # estimated worker seconds per combination


def build_study_task(config: StudyConfig, spec: TaskSpec, split: int | None) -> Task:
    """One task of the study as its runs saw it: outer split ``split`` of ``spec.splits`` (None: the
    task's single holdout); anything wrong is a ConfigError naming the task."""
    fold = Fold(split, spec.splits) if split is not None else None
    try:
        return build_task(
            spec.name, seed=config.data_seed, data_dir=config.data_dir, fold=fold, **spec.kwargs
        )
    except (ValueError, TypeError, DataError) as err:
        raise ConfigError(f"task {spec.label!r}: {err}") from None


def prepare(config: StudyConfig) -> PreparedStudy:
    """Build tasks and the grid; raise ConfigError on anything wrong. Writes nothing."""
    device = resolve_device(config.device)
    config = dataclasses.replace(config, workers=resolve_workers(config.workers, device))
    tasks: dict[tuple[str, int | None], Task] = {}
    for spec in config.tasks:
        # Split i tests fold i of K disjoint folds drawn with data_seed (a fresh generator draw, for
        # the synthetic tasks); one split is the task's single holdout.
        for split in range(spec.splits) if spec.splits > 1 else [None]:
            tasks[(spec.label, split)] = build_study_task(config, spec, split)
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


class StudyWorker:
    """One worker: works through every combination of the plan, sharing the work with any others.

    ``lead``: no other worker of this host runs yet (one worker, or the lead of several before it starts
    them), so opening the stores may repair what a killed run left; on a shared store never."""

    def __init__(
        self,
        prepared: PreparedStudy,
        *,
        progress: bool = True,
        out: TextIO | None = None,
        worker_index: int = 0,
        lead: bool = True,
        shared_progress: Any = None,
    ) -> None:
        self.prepared = prepared
        self.config = prepared.config
        self.worker_index = worker_index
        self.lead = lead and not prepared.config.storage_is_shared
        self.timer = TimeBreakdown()
        self.progress = Progress(
            self.timer, show=progress, out=out, costs=prepared.costs, shared=shared_progress
        )

    def run(self) -> StudySummary:
        start = time.perf_counter()
        if self.config.threads:
            torch.set_num_threads(self.config.threads)
        stores = open_stores(self.config, self.timer, sweep=self.lead, say=self.progress.write)
        if not self.lead:  # other workers may be running: close only the sessions of dead ones
            stores.tracker.close_dead_sessions(socket.gethostname(), process_alive)
        # One run per worker invocation (kind "session") carries the time breakdown.
        session_id = stores.tracker.create_run(
            f"session-{socket.gethostname()}-{os.getpid()}",
            {
                KIND: SESSION_RUN,
                **environment_tags(self.prepared.device),
                STUDY: self.config.name,
                WORKER: str(self.worker_index),
                PID: str(os.getpid()),
            },
        )
        summary = self.progress.summary
        with stores.tracker.run(session_id):
            try:
                self._work(stores)
            finally:
                summary.wall_seconds = time.perf_counter() - start
                summary.breakdown = self.timer.finish()
                if self.lead:  # interrupted: leave nothing RUNNING behind (no one else is working)
                    stores.tracker.sweep_stale_runs(exclude=session_id)
            stores.tracker.log(
                session_id,
                metrics={f"{TIME}{k}_s": v for k, v in summary.breakdown.items()},
                params={"combinations": len(self.prepared.plan.combinations)},
            )
        return summary

    def _work(self, stores: Stores) -> None:
        config, device = self.config, self.prepared.device
        context = WorkContext(
            config=config,
            device=device,
            # Task tensors move to the device once; every combination indexes into them.
            tasks={label: _task_to(task, device) for label, task in self.prepared.tasks.items()},
            tracker=stores.tracker,
            storage=stores.storage,
            pruner=stores.pruner,
            timer=self.timer,
            worker_index=self.worker_index,
            env_tags=environment_tags(device),
            config_yaml=yaml.safe_dump(config.to_dict(), sort_keys=False),
        )
        combos = worker_order(
            list(self.prepared.plan.combinations), self.prepared.costs, self.worker_index, config.workers
        )
        pending = [CombinationWork(context, self.progress, c) for c in combos]
        self.progress.start([c.name for c in combos], config.tuning.trials + config.final.seeds, config.name)
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
            self.progress.close()


def worker_order(
    combinations: list[Combination], costs: Mapping[str, float], worker_index: int, workers: int
) -> list[Combination]:
    """The order one worker takes the combinations in: the longest first (by the cost model's estimate),
    dealt round-robin, so worker i starts with the i-th longest and no two start on the same one, and
    the run ends on the cheapest, where workers finish together; then the others' share in the same
    order, to help with what they have not finished. Without estimates: the plan's order, dealt alike."""
    ranked = sorted(combinations, key=lambda c: -costs.get(c.name, 0.0))  # stable: plan order among equals
    own = ranked[worker_index :: max(1, workers)]
    taken = {c.id for c in own}
    return own + [c for c in ranked if c.id not in taken]


def _task_to(task: Task, device: torch.device) -> Task:
    if device.type == "cpu":
        return task
    # replace, not a new Task: every field (class names, the row encoder a saved predictor needs) is kept
    return dataclasses.replace(task, splits={k: s.to(device) for k, s in task.splits.items()})


# ---- several workers on this host ------------------------------------------------------------------


def _worker_main(prepared: PreparedStudy, index: int, threads: int, results: Any, done: Any) -> None:
    torch.set_num_threads(threads)
    runner = StudyWorker(prepared, progress=False, worker_index=index, lead=False, shared_progress=done)
    outcome: StudySummary | tuple[str, str] | None
    try:
        with stop_on_signals():
            outcome = _run_worker(runner, prepared)
    except KeyboardInterrupt:
        outcome = None
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # done: a stop sent now has nothing left to stop
    results.put((index, outcome))


DISK_FULL = "disk_full"


def _run_worker(runner: StudyWorker, prepared: PreparedStudy) -> StudySummary | tuple[str, str] | None:
    """The worker's summary; (DISK_FULL, path) when it met a full disk; None when it was stopped."""
    try:
        return runner.run()
    except Exception as err:
        if is_disk_full(err):
            return (DISK_FULL, str(full_path(err, prepared.config.workdir_path)))
        if interrupted():  # the stores failed while this worker was being stopped (another worker's torn
            return (
                None  # journal record, a lock the dying one held): a consequence of the stop; the lead sweeps
            )
        raise  # a crash: its traceback, and the lead reports the worker as failed


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


def run_study(prepared: PreparedStudy, *, progress: bool = True) -> StudySummary:
    """Run the study with ``config.workers`` processes on this host (in this process when 1).

    The stores are created (and swept, on one host) once before the workers start: concurrent
    first-time schema creation fails. Each worker gets an equal share of the cores and its own
    sampler seed. Ctrl-C reaches every worker (one process group); SIGTERM is forwarded.
    """
    config = prepared.config
    if config.workers == 1:
        return StudyWorker(prepared, progress=progress).run()
    timer = TimeBreakdown()  # the lead's own time is not a worker's: not reported
    local = not config.storage_is_shared
    stores = open_stores(config, timer, sweep=local, say=lambda line: tqdm.write(line))
    threads = config.threads or max(1, usable_cores() // config.workers)
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    done = context.Value("d", 0.0)  # estimated seconds of work done, summed over the workers
    processes = [
        context.Process(target=_worker_main, args=(prepared, i, threads, results, done), name=f"worker-{i}")
        for i in range(config.workers)
    ]
    fits = config.tuning.trials + config.final.seeds
    total = sum(prepared.costs.get(c.name, fits) for c in prepared.plan.combinations)
    pace = PaceLines(total, config.name, show=progress)
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
            finally:
                pace.update(done.value)
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
        if local:
            sweep_stale(stores, timer)
        raise
    for process in processes:
        process.join()
    if local:
        sweep_stale(stores, timer)
    crashed = [f"{p.name} (exit status {p.exitcode})" for p in processes if p.exitcode and p.exitcode > 0]
    if crashed:  # an error, not a signal: its traceback is above, and a rerun would meet it again
        raise RuntimeError(f"{', '.join(crashed)} stopped on an error (printed above)")
    if any(s is None for s in summaries.values()) or len(summaries) < len(processes):
        raise KeyboardInterrupt("a worker was interrupted or killed")
    merged = StudySummary(wall_seconds=time.perf_counter() - start)
    ends = sorted(s.ended_at for s in summaries.values() if s is not None)
    merged.alone_seconds = ends[-1] - ends[-2] if len(ends) > 1 else 0.0
    for summary in summaries.values():
        assert summary is not None
        merged.finished += summary.finished
        merged.failed += summary.failed
        for key, value in summary.breakdown.items():
            merged.breakdown[key] = merged.breakdown.get(key, 0.0) + value
    # A combination finished by one worker is "skipped" by the others: count it once.
    done = set(merged.finished) | set(merged.failed)
    merged.skipped = sorted({n for s in summaries.values() if s for n in s.skipped} - done)
    return merged


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
