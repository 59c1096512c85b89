"""The latency pass: every saved model timed one at a time, while no worker of the study trains.

Latency timed while other workers train on the same cores measures the contention as much as the
model. So the first ``latency.seeds`` final runs of each combination save their model (an MLflow
model in the run's ``model/`` folder), and this pass, at the end of ``run`` (or on its own:
``python -m benchmark latency study=NAME``), loads each saved model whose run has no latency yet,
times it on its own test split (one sample, and the evaluation batch) and logs the figures on that
run, with the thread count and how busy the rest of the machine was, and their mean on the
combination's run (the report reads those). Resumable: a timed run is never timed again, and a
combination whose mean was not written yet gets it on the next pass.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psutil
import torch

from benchmark.grid import Combination
from benchmark.interrupts import deferred_interrupts
from benchmark.measurement import restrict
from benchmark.metrics import measure_latency
from benchmark.records import mean_and_std
from benchmark.schema import (
    COMBINATION_ID,
    COMBINATION_RUN,
    FINAL_RUN,
    LATENCY,
    LATENCY_BATCH_P50,
    LATENCY_BATCH_P95,
    LATENCY_LOAD,
    LATENCY_P50,
    LATENCY_P95,
    LATENCY_PER_SAMPLE,
    MODEL_FLAVOR,
    OTHER_BUSY,
    PARENT,
    STATUS,
    mean_of,
    std_of,
)
from benchmark.tasks import Task
from benchmark.tracking.writer import Tracker


@dataclass
class LatencySummary:
    timed: int = 0  # models timed by this pass
    already: int = 0  # models an earlier pass had timed
    combinations: int = 0  # combinations whose mean latency this pass wrote
    seconds: float = 0.0
    threads: int = 0


def run_latency_pass(
    combinations: list[Combination],
    tasks: dict[tuple[str, int | None], Task],
    tracker: Tracker,
    *,
    device: torch.device,
    warmup: int,
    repeats: int,
    eval_batch_size: int,
    threads: int,
    progress: Callable[[str], None] = print,
) -> LatencySummary:
    """Time every saved model of ``combinations`` not timed yet, one after another, in this process."""
    start = time.perf_counter()
    torch.set_num_threads(threads)
    summary = LatencySummary(threads=torch.get_num_threads())
    parents = _parents(tracker)
    finals = _finals_by_parent(tracker)
    for combination in combinations:
        parent = parents.get(combination.id)
        if parent is None or parent.tags.get(STATUS) != "finished":
            continue  # not finished (or failed): nothing to time yet
        saved = [run for run in finals.get(parent.run_id, []) if MODEL_FLAVOR in run.tags]
        test = restrict(tasks[combination.task_key].splits["test"], combination.modalities).to(device)
        timed_now = False
        for run in saved:
            if LATENCY_P50 in run.metrics:
                summary.already += 1
                continue
            with deferred_interrupts():  # Ctrl-C stops between models, never inside MLflow's load or log
                model = tracker.load_model(run.run_id, run.tags[MODEL_FLAVOR])
                if isinstance(model, torch.nn.Module):
                    model = model.to(device)
                metrics, params = _time_model(model, test, device, warmup, repeats, eval_batch_size)
                tracker.log(run.run_id, metrics=metrics, params=params)
            run.metrics.update(metrics)  # the local copy: the mean below includes it
            summary.timed += 1
            timed_now = True
        if saved and (timed_now or mean_of(LATENCY_P50) not in parent.metrics):
            _log_means(tracker, parent.run_id, saved)
            summary.combinations += 1
        if timed_now:
            progress(f"latency {combination.name}")
    summary.seconds = time.perf_counter() - start
    return summary


def _parents(tracker: Tracker) -> dict[str, Any]:
    """Combination id -> its run (the earliest, should a combination have two)."""
    parents: dict[str, Any] = {}
    for run in sorted(tracker.runs(COMBINATION_RUN), key=lambda r: r.start_time):
        parents.setdefault(run.tags.get(COMBINATION_ID, ""), run)
    return parents


def _finals_by_parent(tracker: Tracker) -> dict[str, list[Any]]:
    finals: dict[str, list[Any]] = {}
    for run in tracker.runs(FINAL_RUN, status="FINISHED"):
        finals.setdefault(run.tags.get(PARENT, ""), []).append(run)
    return finals


def _time_model(
    model: Any, test: Any, device: torch.device, warmup: int, repeats: int, eval_batch_size: int
) -> tuple[dict[str, float], dict[str, Any]]:
    """One sample and one evaluation batch; how many cores other processes kept busy meanwhile."""
    busy = _OtherProcesses()
    single = measure_latency(model, test, 1, device, warmup=warmup, repeats=repeats)
    # A full evaluation batch costs ~100x a single sample: fewer repeats keep this measurement cheap.
    batch = measure_latency(
        model, test, eval_batch_size, device, warmup=max(1, warmup // 5), repeats=max(5, repeats // 5)
    )
    metrics = {
        LATENCY_P50: single.p50_ms,
        LATENCY_P95: single.p95_ms,
        LATENCY_BATCH_P50: batch.p50_ms,
        LATENCY_BATCH_P95: batch.p95_ms,
        LATENCY_PER_SAMPLE: batch.p50_ms / batch.batch_size,
        OTHER_BUSY: busy.cores(),
        LATENCY_LOAD: os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan"),
    }
    params = {
        "latency.batch_size": batch.batch_size,
        "latency.threads": single.threads,
        "latency.repeats": single.repeats,
    }
    return metrics, params


def _log_means(tracker: Tracker, parent_id: str, saved: list[Any]) -> None:
    keys = sorted({k for run in saved for k in run.metrics if k.startswith(LATENCY)})
    metrics: dict[str, float] = {}
    for key in keys:
        values = [run.metrics[key] for run in saved if key in run.metrics]
        metrics[mean_of(key)], metrics[std_of(key)] = mean_and_std(values)
    tracker.log(parent_id, metrics=metrics)


class _OtherProcesses:
    """How many cores, on average, processes other than this one kept busy since construction."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.system = _busy_seconds(psutil.cpu_times())
        self.own = _own_seconds()

    def cores(self) -> float:
        wall = max(1e-9, time.perf_counter() - self.start)
        others = (_busy_seconds(psutil.cpu_times()) - self.system) - (_own_seconds() - self.own)
        return max(0.0, others / wall)


def _busy_seconds(times: Any) -> float:
    return sum(getattr(times, f, 0.0) for f in ("user", "nice", "system", "irq", "softirq", "steal"))


def _own_seconds() -> float:
    times = psutil.Process().cpu_times()
    return times.user + times.system
