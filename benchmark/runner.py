"""Running a study: validate everything first, then per combination tune -> retrain seeds -> aggregate.

Resumable at every step: a finished combination is skipped; an unfinished one reopens its MLflow
parent run and its Optuna study, counts the trials it already has, and retrains only the final
seeds without a FINISHED run.
"""

from __future__ import annotations

import os
import platform
import socket
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import optuna
import torch
import yaml
from tqdm import tqdm

import benchmark
from benchmark.config import ConfigError, StudyConfig, redact_uri
from benchmark.data import DataError
from benchmark.experiment import Hyperparameters, Measurement, run_once
from benchmark.grid import Combination, GridPlan, expand_grid
from benchmark.tasks import Task, build_task
from benchmark.timing import TimeBreakdown
from benchmark.tracking import COMBINATION_ID, KIND, STATUS, TAG, Tracker
from benchmark.tuning import (
    TrialOutcome,
    best_params,
    budget_used,
    open_storage,
    open_study,
    optimize,
    pruning_callback,
    suggest,
    sweep_interrupted,
)

AGGREGATED_PREFIXES = ("val/", "test/", "latency/", "memory/", "model/", "time/", "train/")


@dataclass
class PreparedStudy:
    """Everything validated and built, nothing written yet."""

    config: StudyConfig
    device: torch.device
    tasks: dict[str, Task]
    plan: GridPlan


@dataclass
class StudySummary:
    finished: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0
    breakdown: dict[str, float] = field(default_factory=dict)  # seconds per TimeBreakdown category


def resolve_device(spec: str) -> torch.device:
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(
                f"device={spec} but no CUDA device is available here; use device=auto or device=cpu"
            )
        index = int(spec.split(":")[1]) if ":" in spec else 0
        if index >= torch.cuda.device_count():
            raise ConfigError(f"device={spec} but only {torch.cuda.device_count()} CUDA device(s) exist")
    return torch.device(spec)


def prepare(config: StudyConfig) -> PreparedStudy:
    """Build tasks and the grid; raise ConfigError on anything wrong. Writes nothing."""
    device = resolve_device(config.device)
    tasks: dict[str, Task] = {}
    for spec in config.tasks:
        try:
            tasks[spec.label] = build_task(
                spec.name, seed=config.data_seed, data_dir=config.data_dir, **spec.kwargs
            )
        except (ValueError, TypeError, DataError) as err:
            raise ConfigError(f"task {spec.label!r}: {err}") from None
    plan = expand_grid(
        config.grid,
        {label: list(task.modalities) for label, task in tasks.items()},
        {spec.label: (spec.subsets, spec.depth) for spec in config.tasks},
    )
    if not plan.combinations:
        reasons = "; ".join(sorted({d.reason for d in plan.dropped})) or "no modality subset selected"
        raise ConfigError(f"the grid is empty: every combination was dropped ({reasons})")
    return PreparedStudy(config=config, device=device, tasks=tasks, plan=plan)


def git_revision() -> str:
    """The suite's git commit (with ``-dirty`` if modified), or ``unknown`` outside a checkout."""
    root = Path(benchmark.__file__).resolve().parent.parent
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "diff", "--quiet", "HEAD", "--", "benchmark"], cwd=root, timeout=5
        ).returncode
        return rev + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def environment_tags(device: torch.device) -> dict[str, str]:
    name = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else platform.processor() or platform.machine()
    )
    return {
        TAG + "device": str(device),
        TAG + "device_name": name,
        TAG + "threads": str(torch.get_num_threads()),
        TAG + "version": benchmark.__version__,
        TAG + "git_revision": git_revision(),
        TAG + "torch_version": torch.__version__,
        TAG + "python_version": platform.python_version(),
        TAG + "host": socket.gethostname(),
    }


def combination_tags(combination: Combination, kind: str) -> dict[str, str]:
    return {
        TAG + "task": combination.task,
        TAG + "depth": str(combination.depth),
        TAG + "modalities": combination.modalities_tag,
        TAG + "fusion": combination.fusion,
        KIND: kind,
        COMBINATION_ID: combination.id,
    }


def mean_and_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1; 0 for a single value)."""
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


class StudyRunner:
    def __init__(self, prepared: PreparedStudy, *, progress: bool = True, out: TextIO | None = None) -> None:
        self.prepared = prepared
        self.config = prepared.config
        self.device = prepared.device
        self.show_progress = progress
        self.out = out
        self.summary = StudySummary()

    # ---- set-up -----------------------------------------------------------------------------------
    def _open_stores(self) -> None:
        config = self.config
        local = config.storage is None or "://" not in config.storage
        if config.tracking_uri is None or local:
            config.workdir_path.mkdir(parents=True, exist_ok=True)
        with self.timer.section("tuning"):
            self.storage = open_storage(config.resolved_storage)
        artifact_root = config.workdir_path / "mlartifacts" if config.tracking_uri is None else None
        with self.timer.section("tracking"):  # the first open of a new SQLite store creates its schema
            self.tracker = Tracker(
                config.resolved_tracking_uri, config.name, artifact_root=artifact_root, timer=self.timer
            )
        if local:
            # One host, one process: anything RUNNING is left over from a killed run.
            self.swept_runs = self.tracker.sweep_stale_runs()
            with self.timer.section("tuning"):
                self.swept_trials = sweep_interrupted(self.storage)
        self.env_tags = environment_tags(self.device)
        self.config_yaml = yaml.safe_dump(config.to_dict(), sort_keys=False)

    def _write(self, line: str) -> None:
        tqdm.write(line, file=self.out)

    # ---- the study --------------------------------------------------------------------------------
    def run(self) -> StudySummary:
        start = time.perf_counter()
        self.timer = TimeBreakdown()
        if self.config.threads:
            torch.set_num_threads(self.config.threads)
        self._open_stores()
        # One run per invocation of `run` (kind "session") carries the time breakdown.
        session_id = self.tracker.create_run(
            "session", {KIND: "session", **self.env_tags, TAG + "study": self.config.name}
        )
        with self.tracker.run(session_id):
            self._run_all(start)
            self.tracker.log(
                session_id,
                metrics={f"time/{k}_s": v for k, v in self.summary.breakdown.items()},
                params={"combinations": len(self.prepared.plan.combinations)},
            )
        return self.summary

    def _run_all(self, start: float) -> None:
        # Task tensors move to the device once; every combination indexes into them.
        self.tasks = {label: _task_to(task, self.device) for label, task in self.prepared.tasks.items()}
        combos = self.prepared.plan.combinations
        per_combination = self.config.tuning.trials + self.config.final.seeds
        self.bar = tqdm(
            total=len(combos) * per_combination,
            unit="fit",
            dynamic_ncols=True,
            disable=not self.show_progress,
            desc=self.config.name,
        )
        try:
            for combination in combos:
                self._run_combination(combination)
        finally:
            self.bar.close()
            self.summary.wall_seconds = time.perf_counter() - start
            self.summary.breakdown = self.timer.finish()

    def _run_combination(self, combination: Combination) -> None:
        config, tracker = self.config, self.tracker
        per_combination = config.tuning.trials + config.final.seeds
        existing = tracker.find_combination_run(combination.id)
        if existing is not None and existing.data.tags.get(STATUS) in ("finished", "failed"):
            if existing.info.status != "FINISHED":  # killed between its last write and closing the run
                tracker.client.set_terminated(existing.info.run_id, status="FINISHED")
            self.summary.skipped.append(combination.name)
            self.bar.update(per_combination)
            return
        started = time.perf_counter()
        if existing is None:
            parent_id = tracker.create_run(
                combination.name,
                {**combination_tags(combination, "combination"), **self.env_tags, TAG + "study": config.name},
            )
            tracker.log(parent_id, params=self._combination_params(combination))
            tracker.log_text(parent_id, self.config_yaml, "config.yaml")
        else:
            parent_id = existing.info.run_id
            tracker.reopen(parent_id)
        with tracker.run(parent_id):
            with self.timer.section("tuning"):
                study = open_study(self.storage, combination, config.tuning)
            tracker.set_tag(parent_id, TAG + "optuna_study", study.study_name)
            self._tune(combination, study, parent_id)
            with self.timer.section("tuning"):
                params = best_params(study, config.tuning.space)
                best_value = study.best_value if params is not None else float("nan")
            if params is None:
                tracker.log(parent_id, tags={STATUS: "failed", TAG + "fail_reason": "no trial completed"})
                self.summary.failed.append(combination.name)
                self.bar.update(config.final.seeds)
                self._write(f"FAILED {combination.name}: no trial completed")
                return
            tracker.log(
                parent_id,
                params={f"best.{k}": v for k, v in params.items()},
                metrics={f"tuning/best_val_{config.tuning.metric}": best_value},
            )
            finals = self._final_runs(combination, Hyperparameters.from_params(params), parent_id)
            self._aggregate(combination, parent_id, finals, best_value, time.perf_counter() - started)

    def _combination_params(self, combination: Combination) -> dict[str, Any]:
        config = self.config
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
            "data_seed": config.data_seed,
        }
        for kind in sorted({self.tasks[combination.task].modalities[m].kind for m in combination.modalities}):
            params[f"encoder.{kind}"] = config.encoders.get(kind) or _default_encoder(kind)
        return params

    # ---- tuning -----------------------------------------------------------------------------------
    def _tune(self, combination: Combination, study: optuna.Study, parent_id: str) -> None:
        config, tracker = self.config, self.tracker
        task = self.tasks[combination.task]
        with self.timer.section("tuning"):
            self.bar.update(min(budget_used(study), config.tuning.trials))

        def objective(trial: optuna.Trial) -> TrialOutcome:
            params = suggest(trial, config.tuning.space)
            run_id = tracker.create_run(
                f"trial-{trial.number}",
                {**combination_tags(combination, "trial"), **self.env_tags, TAG + "trial": str(trial.number)},
                parent_id=parent_id,
            )
            with tracker.run(run_id) as handle:
                tracker.log(run_id, params=params)
                try:
                    measurement = run_once(
                        task,
                        combination,
                        Hyperparameters.from_params(params),
                        config,
                        device=self.device,
                        seed=config.tuning.seed + trial.number,
                        on_epoch_end=pruning_callback(trial, self.timer),
                    )
                    self._account(measurement)
                except torch.OutOfMemoryError:
                    _free_device_memory(self.device)
                    handle.status = "FAILED"
                    tracker.log(run_id, tags={TAG + "trial_state": "FAIL", TAG + "fail_reason": "oom"})
                    return TrialOutcome(fail_reason="oom")
                outcome = _outcome(measurement, config.tuning.metric)
                state = "FAIL" if outcome.fail_reason else "PRUNED" if outcome.pruned else "COMPLETE"
                tags = {TAG + "trial_state": state, TAG + "stop_reason": measurement.fit.stop_reason}
                if outcome.fail_reason:
                    handle.status = "FAILED"
                    tags[TAG + "fail_reason"] = outcome.fail_reason
                tracker.log(
                    run_id, metrics=measurement.metrics(), series=_history(measurement, config), tags=tags
                )
                return outcome

        for trial in optimize(study, config.tuning.trials, objective, self.timer):
            self.bar.update(1)
            try:
                best = f"{study.best_value:.3f}"
            except ValueError:  # no COMPLETE trial yet
                best = "-"
            self.bar.set_postfix_str(
                f"{combination.name} trial {trial.number} best {config.tuning.metric}={best}"
            )

    # ---- final seeds ------------------------------------------------------------------------------
    def _final_runs(self, combination: Combination, hparams: Hyperparameters, parent_id: str) -> list[Any]:
        config, tracker = self.config, self.tracker
        task = self.tasks[combination.task]
        done = {r.data.tags.get(TAG + "seed") for r in tracker.children(parent_id, "final")}
        self.bar.update(sum(str(config.final.seed_offset + i) in done for i in range(config.final.seeds)))
        for i in range(config.final.seeds):
            seed = config.final.seed_offset + i
            if str(seed) in done:
                continue
            run_id = tracker.create_run(
                f"seed-{seed}",
                {**combination_tags(combination, "final"), **self.env_tags, TAG + "seed": str(seed)},
                parent_id=parent_id,
            )
            with tracker.run(run_id) as handle:
                tracker.log(run_id, params={**vars(hparams), "seed": seed})
                try:
                    measurement = run_once(
                        task, combination, hparams, config, device=self.device, seed=seed, final=True
                    )
                    self._account(measurement)
                except torch.OutOfMemoryError:
                    _free_device_memory(self.device)
                    handle.status = "FAILED"
                    tracker.log(run_id, tags={TAG + "fail_reason": "oom"})
                    continue
                tags = {TAG + "stop_reason": measurement.fit.stop_reason}
                params = {}
                if measurement.latency_single is not None:
                    params = {
                        "latency.batch_size": measurement.latency_batch.batch_size,
                        "latency.threads": measurement.latency_single.threads,
                        "latency.repeats": measurement.latency_single.repeats,
                    }
                if measurement.gpu_peak is None:
                    tags[TAG + "gpu_memory"] = f"not measured (device {self.device.type})"
                if measurement.fit.failed:
                    handle.status = "FAILED"
                    tags[TAG + "fail_reason"] = measurement.fit.stop_reason
                tracker.log(
                    run_id,
                    metrics=measurement.metrics(),
                    series=_history(measurement, config),
                    params=params,
                    tags=tags,
                )
            self.bar.update(1)
        return tracker.children(parent_id, "final")

    def _account(self, measurement: Measurement) -> None:
        self.timer.add("training", measurement.fit.train_seconds)
        self.timer.add("evaluation", measurement.fit.eval_seconds + measurement.final_eval_seconds)
        self.timer.add("latency", measurement.latency_seconds)

    def _aggregate(
        self, combination: Combination, parent_id: str, finals: list[Any], best_value: float, seconds: float
    ) -> None:
        config, tracker = self.config, self.tracker
        if not finals:
            tracker.log(parent_id, tags={STATUS: "failed", TAG + "fail_reason": "no final run finished"})
            self.summary.failed.append(combination.name)
            self._write(f"FAILED {combination.name}: no final run finished")
            return
        keys = sorted({k for r in finals for k in r.data.metrics if k.startswith(AGGREGATED_PREFIXES)})
        metrics: dict[str, float] = {"final/seeds": float(len(finals))}
        for key in keys:
            values = [r.data.metrics[key] for r in finals if key in r.data.metrics]
            metrics[f"{key}_mean"], metrics[f"{key}_std"] = mean_and_std(values)
        tags = {STATUS: "finished"}
        if finals and TAG + "gpu_memory" in finals[0].data.tags:
            tags[TAG + "gpu_memory"] = finals[0].data.tags[TAG + "gpu_memory"]
        tracker.log(parent_id, metrics=metrics, tags=tags)
        self.summary.finished.append(combination.name)
        m = config.tuning.metric
        self._write(
            f"done {combination.name:<48} val {m}={best_value:.3f}  "
            f"test acc={metrics['test/accuracy_mean']:.3f}±{metrics['test/accuracy_std']:.3f} "
            f"f1={metrics['test/f1_macro_mean']:.3f}  p50={metrics.get('latency/p50_ms_mean', float('nan')):.2f} ms  "
            f"({seconds:.1f} s)"
        )

    def describe_stores(self) -> str:
        return (
            f"MLflow: {redact_uri(self.config.resolved_tracking_uri)} (experiment {self.config.name!r})\n"
            f"Optuna: {redact_uri(self.config.resolved_storage)}"
        )


def _default_encoder(kind: str) -> str:
    from benchmark.encoders import DEFAULT_ENCODER_FOR_KIND

    return DEFAULT_ENCODER_FOR_KIND[kind]


def _outcome(measurement: Measurement, metric: str) -> TrialOutcome:
    if measurement.fit.failed:
        return TrialOutcome(fail_reason=measurement.fit.stop_reason)
    if measurement.fit.stop_reason == "pruned":
        return TrialOutcome(pruned=True)
    return TrialOutcome(value=measurement.val[metric])


def _history(measurement: Measurement, config: StudyConfig) -> dict[str, list[tuple[int, float]]]:
    history = measurement.fit.history
    return {
        "epoch/train_loss": [(epoch, loss) for epoch, loss, _ in history],
        f"epoch/val_{config.tuning.metric}": [(epoch, score) for epoch, _, score in history],
    }


def _free_device_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()


def _task_to(task: Task, device: torch.device) -> Task:
    if device.type == "cpu":
        return task
    return Task(
        task.name, task.modalities, {k: s.to(device) for k, s in task.splits.items()}, task.num_classes
    )


def default_threads() -> int:
    return os.cpu_count() or 1
