"""One training of one combination with one configuration and seed: build -> fit -> measure.

Shared by tuning trials (validation score only) and final runs (test scores, robustness, memory,
and the trained model, which the latency pass measures later: latency.py).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, fields
from typing import Any

import torch

from benchmark.config import RobustnessConfig, StudyConfig, TrainConfig
from benchmark.grid import Combination
from benchmark.measurement import Measurement, combination_splits
from benchmark.metrics import RunMemory, evaluate, predict
from benchmark.model import build_model, count_parameters, use_train_mean_stand_ins
from benchmark.robustness import robustness_metrics
from benchmark.scores import classification_scores
from benchmark.tasks import Split, Task
from benchmark.training import EpochCallback, TrainSettings, fit, seed_everything


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


@dataclass(frozen=True)
class RunSettings:
    """What one training reads from the study: the slices of its config, nothing else."""

    train: TrainConfig
    metric: str  # the tuning metric: early stopping, pruning, robustness
    robustness: RobustnessConfig
    encoders: dict[str, str]  # modality kind -> encoder name (the study's ``encoders``)

    @classmethod
    def of(cls, config: StudyConfig) -> RunSettings:
        return cls(config.train, config.tuning.metric, config.robustness, dict(config.encoders))


def train_batch_size(batch_size: int, min_batches: int, train_size: int) -> int:
    """``batch_size``, made smaller where the train split would give fewer than ``min_batches`` steps
    per epoch (never below 2: a 1-sample batch breaks BatchNorm)."""
    if min_batches <= 0:
        return batch_size
    return max(2, min(batch_size, math.ceil(train_size / min_batches)))


def build_network(
    task: Task,
    combination: Combination,
    hparams: Hyperparameters,
    settings: RunSettings,
    device: torch.device,
) -> torch.nn.Module:
    model = build_model(
        {m: task.modalities[m] for m in combination.modalities},
        fusion=combination.fusion,
        num_classes=task.num_classes,
        depth=combination.depth,
        width=hparams.width,
        dropout=hparams.dropout,
        encoder_for_kind=settings.encoders,
        fusion_options=dict(hparams.fusion_options),
    ).to(device)
    return torch.compile(model) if settings.train.compile else model


def train_settings(hparams: Hyperparameters, settings: RunSettings, train_size: int) -> TrainSettings:
    train = settings.train
    return TrainSettings(
        lr=hparams.lr,
        weight_decay=hparams.weight_decay,
        batch_size=train_batch_size(train.batch_size, train.min_batches, train_size),
        max_epochs=train.max_epochs,
        patience=train.patience,
        metric=settings.metric,
        precision=train.precision,
        modality_dropout=hparams.modality_dropout,
        class_weight=train.class_weight,
        min_steps=train.min_steps,
        budget_steps=train.budget_steps,
        schedule=train.schedule,
        warmup=train.warmup,
        smoothing=train.smoothing,
    )


def run_once(
    task: Task,
    combination: Combination,
    hparams: Hyperparameters,
    settings: RunSettings,
    *,
    device: torch.device,
    seed: int,
    on_epoch_end: EpochCallback | None = None,
    final: bool = False,
) -> Measurement:
    """Train one model; ``final`` adds test scores, robustness and the memory the run added, and
    keeps the model (``Measurement.model``). ``task`` splits must already live on ``device``."""
    train, val, test = combination_splits(task, combination)
    memory = RunMemory(device) if final else None
    seed_everything(seed)
    model = build_network(task, combination, hparams, settings, device)
    result = fit(
        model,
        train,
        val,
        train_settings(hparams, settings, len(train)),
        num_classes=task.num_classes,
        seed=seed,
        on_epoch_end=on_epoch_end,
    )
    start = time.perf_counter()
    eval_batch = settings.train.eval_batch_size
    measurement = Measurement(
        fit=result,
        val=evaluate(model, val, eval_batch, task.num_classes),
        n_params=count_parameters(model),
        fusion_params=count_parameters(getattr(model, "_orig_mod", model).fusion),
    )
    if final and not result.failed:
        _test_and_robustness(measurement, model, task, hparams, settings, train, test)
        measurement.model = getattr(model, "_orig_mod", model)  # a compiled model saves its original
    measurement.final_eval_seconds = time.perf_counter() - start
    if memory is not None and not result.failed:
        measurement.cpu_added_mb = memory.cpu_added_mb()
        measurement.gpu_added_mb = memory.gpu_added_mb()
    return measurement


def _test_and_robustness(
    measurement: Measurement,
    model: torch.nn.Module,
    task: Task,
    hparams: Hyperparameters,
    settings: RunSettings,
    train: Split,
    test: Split,
) -> None:
    """Test scores, then the same model with each modality missing and under noise."""
    eval_batch, metric = settings.train.eval_batch_size, settings.metric
    labels = test.labels.cpu().numpy()
    predictions = predict(model, test, eval_batch).cpu().numpy()
    measurement.test = classification_scores(labels, predictions, task.num_classes)
    measurement.test_predictions = (labels, predictions)
    robustness = settings.robustness
    if robustness.missing and hparams.modality_dropout == 0 and len(test.inputs) > 1:
        use_train_mean_stand_ins(model, train.inputs, eval_batch)
    measurement.robustness = robustness_metrics(
        model,
        test,
        batch_size=eval_batch,
        num_classes=task.num_classes,
        metric=metric,
        clean_score=measurement.test[metric],
        missing=robustness.missing,
        noise_levels=robustness.noise,
        vocab_sizes={m: spec.vocab_size for m, spec in task.modalities.items() if spec.vocab_size},
    )
