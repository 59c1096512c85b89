"""Training converges at any data size: a floor in optimizer steps, a warm-up and cosine schedule,
and an epoch choice a lucky evaluation cannot hijack."""

from __future__ import annotations

import pytest
import torch

from benchmark.model import build_model
from benchmark.tasks import ModalitySpec, Split
from benchmark.training import EpochChoice, TrainSettings, fit, learning_rate_factor, seed_everything


def _tiny(n: int, seed: int) -> Split:
    g = torch.Generator().manual_seed(seed)
    return Split({"x": torch.randn(n, 4, generator=g)}, torch.randint(0, 2, (n,), generator=g))


def _steps_taken(settings: TrainSettings, n: int = 24) -> tuple[int, int]:
    """(optimizer steps, epochs) of a fit on ``n`` random samples whose validation never improves much."""
    seed_everything(0)
    model = build_model(
        {"x": ModalitySpec("x", "vector", (4,))}, fusion="none", num_classes=2, depth=1, width=8, dropout=0.0
    )
    steps = 0

    def count(module, args) -> None:  # forward pre-hook
        nonlocal steps
        steps += module.training

    model.register_forward_pre_hook(count)
    result = fit(model, _tiny(n, 1), _tiny(8, 2), settings, num_classes=2, seed=0)
    return steps, result.epochs_run


BASE = {
    "lr": 1e-3,
    "weight_decay": 0.0,
    "batch_size": 3,
    "max_epochs": 5,
    "patience": 1,
    "metric": "accuracy",
}


def test_a_24_sample_task_gets_the_step_floor():
    # 24 samples in batches of 3: 8 steps an epoch, so 5 epochs are 40 steps; the floor asks for 240
    steps, epochs = _steps_taken(TrainSettings(**BASE, min_steps=240))
    assert steps >= 240 and epochs >= 30
    # without the floor, patience 1 on random labels stops it within the 5 epochs
    steps, epochs = _steps_taken(TrainSettings(**BASE))
    assert steps <= 40 and epochs <= 5


def test_a_large_data_set_reaches_the_floor_within_max_epochs():
    settings = TrainSettings(**{**BASE, "batch_size": 8, "patience": 100}, min_steps=100)
    steps, epochs = _steps_taken(settings, n=400)  # 50 steps an epoch: the floor is 2 epochs
    assert epochs == 5 and steps == 250


def test_warm_up_then_cosine_to_zero():
    settings = TrainSettings(**BASE, schedule="cosine", warmup=0.1)
    factors = [learning_rate_factor(step, 100, settings) for step in range(100)]
    assert factors[0] == pytest.approx(0.1) and factors[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(factors[9:], factors[10:], strict=False))  # decays after warm-up
    assert factors[-1] < 0.001
    assert learning_rate_factor(50, 100, TrainSettings(**BASE)) == 1.0  # constant: untouched


def test_the_epoch_choice_ignores_a_single_spike():
    choice = EpochChoice(window=3)
    chosen = [epoch for epoch, score in enumerate([0.5, 1.0, 0.4, 0.8, 0.8, 0.8], 1) if choice.offer(score)]
    assert chosen[-1] == 6  # the steady 0.8, not the lone 1.0 of epoch 2
    single = EpochChoice(window=1)
    assert [e for e, s in enumerate([0.5, 1.0, 0.4, 0.8], 1) if single.offer(s)][-1] == 2


def test_the_step_budget_extends_training_only_while_validation_improves():
    # 24 samples in batches of 3: 8 steps an epoch; max_epochs 5 would be 40 steps, the budget asks 400
    patient = TrainSettings(**{**BASE, "patience": 100}, min_steps=48, budget_steps=400)
    steps, epochs = _steps_taken(patient)
    assert (steps, epochs) == (400, 50)
    # random labels never improve for long: patience 1 ends it right after the 48-step floor
    steps, epochs = _steps_taken(TrainSettings(**BASE, min_steps=48, budget_steps=400))
    assert 48 <= steps <= 64 and epochs <= 8
