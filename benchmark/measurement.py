"""What one training measured, network or reference model alike, and the splits it is measured on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from benchmark.grid import Combination
from benchmark.schema import (
    BEST_EPOCH,
    CPU_MEMORY_MB,
    EPOCHS,
    EVAL_SECONDS,
    FUSION_PARAMETERS,
    GPU_MEMORY_MB,
    GPU_RESERVED_MB,
    PARAMETERS,
    TEST,
    TRAIN_SECONDS,
    VAL,
)
from benchmark.tasks import Split, Task
from benchmark.training import FitResult


@dataclass
class Measurement:
    fit: FitResult
    val: dict[str, float]
    n_params: int
    fusion_params: int | None = None  # a network's fusion head; None for a reference model
    test: dict[str, float] | None = None
    # (labels, predictions) on the test split, (N,) each: the report bootstraps test-set sampling error
    test_predictions: tuple[np.ndarray, np.ndarray] | None = None
    gpu_added_mb: tuple[float, float] | None = None  # (allocated, reserved) MiB; None: not measured
    cpu_added_mb: float | None = None
    robustness: dict[str, float] = field(default_factory=dict)  # robust/... (see robustness.py)
    final_eval_seconds: float = 0.0  # validation (and test) scoring after training
    # The trained model of a final run (a torch module, or a scikit-learn pipeline): saved for the
    # latency pass and for users; never logged as a metric.
    model: Any = None

    def metrics(self) -> dict[str, float]:
        """Flat MLflow metric names -> values."""
        out: dict[str, float] = {VAL + k: v for k, v in self.val.items()}
        out.update(
            {
                PARAMETERS: float(self.n_params),
                **({} if self.fusion_params is None else {FUSION_PARAMETERS: float(self.fusion_params)}),
                EPOCHS: float(self.fit.epochs_run),
                BEST_EPOCH: float(self.fit.best_epoch),
                TRAIN_SECONDS: self.fit.train_seconds,
                EVAL_SECONDS: self.fit.eval_seconds,
            }
        )
        if self.test is not None:
            out.update({TEST + k: v for k, v in self.test.items()})
        out.update(self.robustness)
        if self.gpu_added_mb is not None:
            out[GPU_MEMORY_MB], out[GPU_RESERVED_MB] = self.gpu_added_mb
        if self.cpu_added_mb is not None:
            out[CPU_MEMORY_MB] = self.cpu_added_mb
        return out


def restrict(split: Split, modalities: tuple[str, ...]) -> Split:
    """The split with only the combination's modalities (so batching never touches the others)."""
    return Split({m: split.inputs[m] for m in modalities}, split.labels)


def combination_splits(task: Task, combination: Combination) -> tuple[Split, Split, Split]:
    """Train, validation and test, restricted to the combination's modalities."""
    return tuple(restrict(task.splits[s], combination.modalities) for s in ("train", "val", "test"))
