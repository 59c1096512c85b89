"""One training of one combination with one configuration and seed: build -> fit -> measure.

Shared by tuning trials (validation score only) and final runs (test scores, latency, memory).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import torch

from benchmark.config import StudyConfig
from benchmark.grid import Combination
from benchmark.metrics import (
    LatencyStats,
    classification_scores,
    cpu_peak_rss_mb,
    evaluate,
    gpu_peak_mb,
    measure_latency,
    predict,
    reset_gpu_peak,
)
from benchmark.model import build_model, count_parameters, use_train_mean_stand_ins
from benchmark.robustness import robustness_metrics
from benchmark.tasks import Split, Task
from benchmark.training import EpochCallback, FitResult, TrainSettings, fit, seed_everything


@dataclass(frozen=True)
class Hyperparameters:
    lr: float
    weight_decay: float
    width: int
    dropout: float
    modality_dropout: float = 0.0
    fusion_options: tuple[tuple[str, Any], ...] = ()  # the fusion method's own (``rank``, ...), sorted

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Hyperparameters:
        general = {f.name for f in fields(cls)} - {"fusion_options"}
        return cls(
            lr=float(params["lr"]),
            weight_decay=float(params["weight_decay"]),
            width=int(params["width"]),
            dropout=float(params["dropout"]),
            modality_dropout=float(params.get("modality_dropout", 0.0)),
            fusion_options=tuple(sorted((k, v) for k, v in params.items() if k not in general)),
        )

    def as_params(self) -> dict[str, Any]:
        """Flat, as logged to MLflow and stored by Optuna."""
        general = {k: v for k, v in vars(self).items() if k != "fusion_options"}
        return general | dict(self.fusion_options)


@dataclass
class Measurement:
    fit: FitResult
    val: dict[str, float]
    n_params: int
    test: dict[str, float] | None = None
    # (labels, predictions) on the test split, (N,) each: the report bootstraps test-set sampling error
    test_predictions: tuple[np.ndarray, np.ndarray] | None = None
    latency_single: LatencyStats | None = None
    latency_batch: LatencyStats | None = None
    gpu_peak: tuple[float, float] | None = None  # (allocated, reserved) MiB; None: not measured
    cpu_peak_mb: float | None = None
    robustness: dict[str, float] = field(default_factory=dict)  # robust/... (see robustness.py)
    final_eval_seconds: float = 0.0  # validation (and test) scoring after training
    latency_seconds: float = 0.0

    def metrics(self) -> dict[str, float]:
        """Flat MLflow metric names -> values."""
        out: dict[str, float] = {f"val/{k}": v for k, v in self.val.items()}
        out.update(
            {
                "model/parameters": float(self.n_params),
                "train/epochs": float(self.fit.epochs_run),
                "train/best_epoch": float(self.fit.best_epoch),
                "time/train_s": self.fit.train_seconds,
                "time/eval_s": self.fit.eval_seconds,
            }
        )
        if self.test is not None:
            out.update({f"test/{k}": v for k, v in self.test.items()})
        out.update(self.robustness)
        if self.latency_single is not None:
            out["latency/p50_ms"] = self.latency_single.p50_ms
            out["latency/p95_ms"] = self.latency_single.p95_ms
        if self.latency_batch is not None:
            out["latency/batch_p50_ms"] = self.latency_batch.p50_ms
            out["latency/batch_p95_ms"] = self.latency_batch.p95_ms
            out["latency/batch_ms_per_sample"] = self.latency_batch.p50_ms / self.latency_batch.batch_size
        if self.gpu_peak is not None:
            out["memory/gpu_peak_mb"], out["memory/gpu_reserved_peak_mb"] = self.gpu_peak
        if self.cpu_peak_mb is not None:
            out["memory/cpu_peak_mb"] = self.cpu_peak_mb
        if self.latency_seconds:
            out["time/latency_s"] = self.latency_seconds
        return out


def restrict(split: Split, modalities: tuple[str, ...]) -> Split:
    """The split with only the combination's modalities (so batching never touches the others)."""
    return Split({m: split.inputs[m] for m in modalities}, split.labels)


def train_batch_size(batch_size: int, min_batches: int, train_size: int) -> int:
    """``batch_size``, made smaller where the train split would give fewer than ``min_batches`` steps
    per epoch (never below 2: a 1-sample batch breaks BatchNorm)."""
    if min_batches <= 0:
        return batch_size
    return max(2, min(batch_size, math.ceil(train_size / min_batches)))


def run_once(
    task: Task,
    combination: Combination,
    hparams: Hyperparameters,
    config: StudyConfig,
    *,
    device: torch.device,
    seed: int,
    on_epoch_end: EpochCallback | None = None,
    final: bool = False,
    latency: bool = True,
) -> Measurement:
    """Train one model; ``final`` adds test scores and memory, and latency unless ``latency`` is False.
    ``task`` splits must already live on ``device``."""
    train, val, test = (restrict(task.splits[s], combination.modalities) for s in ("train", "val", "test"))
    seed_everything(seed)
    model = build_model(
        {m: task.modalities[m] for m in combination.modalities},
        fusion=combination.fusion,
        num_classes=task.num_classes,
        depth=combination.depth,
        width=hparams.width,
        dropout=hparams.dropout,
        encoder_for_kind=config.encoders,
        fusion_options=dict(hparams.fusion_options),
    ).to(device)
    if config.train.compile:
        model = torch.compile(model)
    settings = TrainSettings(
        lr=hparams.lr,
        weight_decay=hparams.weight_decay,
        batch_size=train_batch_size(
            config.train.batch_size, config.train.min_batches, len(task.splits["train"])
        ),
        max_epochs=config.train.max_epochs,
        patience=config.train.patience,
        metric=config.tuning.metric,
        precision=config.train.precision,
        modality_dropout=hparams.modality_dropout,
        class_weight=config.train.class_weight,
    )
    if final:
        reset_gpu_peak(device)
    result = fit(
        model, train, val, settings, num_classes=task.num_classes, seed=seed, on_epoch_end=on_epoch_end
    )
    start = time.perf_counter()
    eval_batch = config.train.eval_batch_size
    measurement = Measurement(
        fit=result,
        val=evaluate(model, val, eval_batch, task.num_classes),
        n_params=count_parameters(model),
    )
    if final and not result.failed:
        labels = test.labels.cpu().numpy()
        predictions = predict(model, test, eval_batch).cpu().numpy()
        measurement.test = classification_scores(labels, predictions, task.num_classes)
        measurement.test_predictions = (labels, predictions)
        if config.robustness.missing and hparams.modality_dropout == 0 and len(combination.modalities) > 1:
            use_train_mean_stand_ins(model, train.inputs, eval_batch)
        measurement.robustness = robustness_metrics(
            model,
            test,
            batch_size=eval_batch,
            num_classes=task.num_classes,
            metric=config.tuning.metric,
            clean_score=measurement.test[config.tuning.metric],
            missing=config.robustness.missing,
            noise_levels=config.robustness.noise,
            vocab_sizes={m: spec.vocab_size for m, spec in task.modalities.items() if spec.vocab_size},
        )
    measurement.final_eval_seconds = time.perf_counter() - start
    if final and not result.failed:
        measurement.gpu_peak = gpu_peak_mb(device)
        measurement.cpu_peak_mb = cpu_peak_rss_mb()
    if final and not result.failed and latency:
        start = time.perf_counter()
        lat = config.latency
        measurement.latency_single = measure_latency(
            model, test, 1, device, warmup=lat.warmup, repeats=lat.repeats
        )
        # A full evaluation batch costs ~100x a single sample: fewer repeats keep this measurement cheap.
        measurement.latency_batch = measure_latency(
            model, test, eval_batch, device, warmup=max(1, lat.warmup // 5), repeats=max(5, lat.repeats // 5)
        )
        measurement.latency_seconds = time.perf_counter() - start
    return measurement
