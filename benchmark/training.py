"""Training: one plain ``fit()`` over in-memory tensors, early stopping on a validation score.

The budget has a floor in optimizer steps (``min_steps``): a tiny data set gets as many epochs as it
takes to reach it, and no early stop before it, so 24 mice in batches of 3 are trained for hundreds of
steps, not the 70 that 9 epochs gave them; a large data set reaches the floor within ``max_epochs``.
The learning rate warms up linearly over ``warmup`` of the planned steps, then follows a cosine to 0
at the last planned step (``schedule="cosine"``). The epoch kept is chosen on the validation score
averaged over ``smoothing`` consecutive evaluations, so that one lucky evaluation on a handful of
validation samples does not pick the weights; the score reported is the kept epoch's own.

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
    min_steps: int = 0  # at least this many optimizer steps, and no early stop before them
    budget_steps: int = 0  # up to this many steps where max_epochs gives fewer (early stop may end it sooner)
    schedule: str = "constant"  # "cosine": linear warm-up, then cosine decay to 0 over the planned steps
    warmup: float = 0.0  # share of the planned steps spent warming up (cosine schedule)
    smoothing: int = 1  # the epoch is chosen on the mean of this many consecutive validation scores


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Optimizer steps in one epoch of ``n`` samples (a trailing 1-sample batch is skipped)."""
    full, rest = divmod(n, batch_size)
    return max(1, full + (1 if rest >= 2 or (rest == 1 and n < 2) else 0))


def planned_epochs(settings: TrainSettings, n: int) -> tuple[int, int]:
    """(most epochs, fewest epochs before an early stop may happen): ``max_epochs``, raised to reach
    ``budget_steps`` and ``min_steps`` where an epoch has few steps."""
    per_epoch = steps_per_epoch(n, settings.batch_size)
    floor = math.ceil(settings.min_steps / per_epoch)
    budget = math.ceil(settings.budget_steps / per_epoch)
    return max(settings.max_epochs, budget, floor), floor


class EpochChoice:
    """Which epoch's weights to keep: the best mean of ``window`` consecutive validation scores (the
    first such epoch on ties), so a spike on a few validation samples does not decide."""

    def __init__(self, window: int) -> None:
        self.window = max(1, window)
        self.recent: list[float] = []
        self.best = -math.inf

    def offer(self, score: float) -> bool:
        """Record the next epoch's score; True when that epoch is the new choice."""
        self.recent = [*self.recent, score][-self.window :]
        smoothed = sum(self.recent) / len(self.recent)
        if smoothed > self.best:
            self.best = smoothed
            return True
        return False


def learning_rate_factor(step: int, total: int, settings: TrainSettings) -> float:
    """The multiplier of the base learning rate at optimizer step ``step`` (0-based) of ``total``."""
    if settings.schedule != "cosine":
        return 1.0
    warmup = math.ceil(settings.warmup * total)
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


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
    max_epochs, min_epochs = planned_epochs(settings, n)
    total_steps = max_epochs * steps_per_epoch(n, settings.batch_size)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: learning_rate_factor(step, total_steps, settings)
    )
    choice = EpochChoice(settings.smoothing)
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

    for epoch in range(1, max_epochs + 1):
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
            scheduler.step()
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
        if choice.offer(val_score):
            result.best_val_score, result.best_epoch = val_score, epoch
            best_state = copy.deepcopy(model.state_dict())
            epochs_without_gain = 0
        else:
            epochs_without_gain += 1
        result.eval_seconds += time.perf_counter() - start  # validation and model selection
        if on_epoch_end is not None and on_epoch_end(epoch, val_score):
            result.stop_reason = "pruned"
            break
        if epochs_without_gain >= settings.patience and epoch >= min_epochs:
            result.stop_reason = "early_stop"
            break

    if best_state is not None:
        model.load_state_dict(best_state)
    return result
