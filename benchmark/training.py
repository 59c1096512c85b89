"""Training: one plain ``fit()`` over in-memory tensors, early stopping on a validation score.

Data stays on the target device and mini-batches are taken by indexing (no DataLoader, no per-sample
collation). ``fit`` knows nothing about Optuna or MLflow: the tuner passes ``on_epoch_end`` to report
and prune.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from benchmark.metrics import evaluate
from benchmark.tasks import Split

# on_epoch_end(epoch, val_score) -> True to stop now (the trial was pruned)
EpochCallback = Callable[[int, float], bool]


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device


@dataclass(frozen=True)
class TrainSettings:
    lr: float
    weight_decay: float
    batch_size: int
    max_epochs: int
    patience: int
    metric: str  # which validation score selects the epoch: accuracy | recall_macro | f1_macro
    precision: str = "fp32"  # "bf16": forward and loss under autocast (weights and optimizer stay fp32)
    modality_dropout: float = 0.0  # per sample and modality: hide it with this probability (never all)
    class_weight: str = "none"  # "balanced": weight classes by n / (classes x count) of the train split


@dataclass
class FitResult:
    best_epoch: int  # 1-based; 0 if no epoch finished
    epochs_run: int
    best_val_score: float
    stop_reason: str  # "max_epochs" | "early_stop" | "pruned" | "non_finite_loss"
    history: list[tuple[int, float, float]] = field(default_factory=list)  # (epoch, train loss, val score)
    train_seconds: float = 0.0
    eval_seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return self.stop_reason == "non_finite_loss"


def hide_modalities(batch: dict[str, torch.Tensor], probability: float) -> dict[str, torch.Tensor]:
    """Modality dropout: {modality: (B,) bool}, each entry False with ``probability``; a sample that
    would lose every modality keeps one, chosen at random."""
    names = sorted(batch)
    size = next(iter(batch.values())).shape[0]
    device = next(iter(batch.values())).device
    kept = torch.rand(size, len(names), device=device) >= probability  # (B, M)
    rescue = torch.nn.functional.one_hot(torch.randint(len(names), (size,), device=device), len(names)).bool()
    kept = torch.where(kept.any(dim=1, keepdim=True), kept, rescue)
    return {name: kept[:, i] for i, name in enumerate(names)}


def class_weights(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(C,) weights n / (C x count_c), as scikit-learn's ``class_weight="balanced"``; an absent class
    gets weight 0 (it has no sample to weigh)."""
    counts = torch.bincount(labels, minlength=num_classes).float()
    return torch.where(
        counts > 0, len(labels) / (num_classes * counts.clamp_min(1)), torch.zeros_like(counts)
    )


def fit(
    model: torch.nn.Module,
    train: Split,
    val: Split,
    settings: TrainSettings,
    *,
    num_classes: int,
    seed: int,
    on_epoch_end: EpochCallback | None = None,
) -> FitResult:
    """Train ``model`` in place; on return it holds the weights of the best validation epoch."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    shuffle = torch.Generator(device="cpu").manual_seed(seed)
    n = len(train)
    device = train.labels.device
    best_state: dict[str, torch.Tensor] | None = None
    result = FitResult(best_epoch=0, epochs_run=0, best_val_score=-math.inf, stop_reason="max_epochs")
    epochs_without_gain = 0
    if settings.precision == "bf16":
        autocast = functools.partial(torch.autocast, device.type, dtype=torch.bfloat16)
    else:  # no context manager at all on the default path: it runs once per step
        autocast = contextlib.nullcontext

    drop_modalities = settings.modality_dropout > 0 and len(train.inputs) > 1
    weight = class_weights(train.labels, num_classes) if settings.class_weight == "balanced" else None

    for epoch in range(1, settings.max_epochs + 1):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(n, generator=shuffle).to(device)
        loss_sum = torch.zeros((), device=device)  # summed on device: one sync per epoch, not per step
        for begin in range(0, n, settings.batch_size):
            idx = order[begin : begin + settings.batch_size]
            if idx.numel() < 2 and n >= 2:  # a 1-sample batch breaks BatchNorm; skip the remainder
                continue
            batch = {name: x[idx] for name, x in train.inputs.items()}
            y = train.labels[idx]
            present = hide_modalities(batch, settings.modality_dropout) if drop_modalities else None
            with autocast():
                out = model(batch) if present is None else model(batch, present)
                loss = sum(F.cross_entropy(logits.float(), y, weight=weight) for logits in out.loss_logits)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach() * idx.numel()
        train_loss = float(loss_sum) / n
        result.train_seconds += time.perf_counter() - start
        result.epochs_run = epoch
        if not math.isfinite(train_loss):
            result.stop_reason = "non_finite_loss"
            break

        start = time.perf_counter()
        val_score = evaluate(model, val, settings.batch_size * 4, num_classes)[settings.metric]
        result.history.append((epoch, train_loss, val_score))
        if val_score > result.best_val_score:
            result.best_val_score, result.best_epoch = val_score, epoch
            best_state = copy.deepcopy(model.state_dict())
            epochs_without_gain = 0
        else:
            epochs_without_gain += 1
        result.eval_seconds += time.perf_counter() - start  # validation and model selection
        if on_epoch_end is not None and on_epoch_end(epoch, val_score):
            result.stop_reason = "pruned"
            break
        if epochs_without_gain >= settings.patience:
            result.stop_reason = "early_stop"
            break

    if best_state is not None:
        model.load_state_dict(best_state)
    return result
