import numpy as np
import pytest
import torch

from benchmark.metrics import RunMemory, measure_latency
from benchmark.model import build_model
from benchmark.scores import classification_scores
from benchmark.tasks import ModalitySpec, Split


def test_scores_count_absent_classes_in_the_macro_average():
    y_true = np.array([0, 0, 1, 1])
    y_pred = np.array([0, 0, 1, 0])
    two = classification_scores(y_true, y_pred, 2)
    three = classification_scores(y_true, y_pred, 3)
    assert two["accuracy"] == 0.75
    assert two["recall_macro"] == (1.0 + 0.5) / 2
    assert three["recall_macro"] == (1.0 + 0.5 + 0.0) / 3


@pytest.mark.parametrize("classes", [2, 5, 12])
def test_scores_agree_with_scikit_learn(classes):
    from sklearn.metrics import accuracy_score, f1_score, recall_score

    rng = np.random.default_rng(classes)
    labels = list(range(classes))
    for size in (1, 7, 300):
        y_true = rng.integers(0, classes, size)
        y_pred = np.where(rng.random(size) < 0.6, y_true, rng.integers(0, classes, size))
        ours = classification_scores(y_true, y_pred, classes)
        assert ours["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred), abs=1e-12)
        assert ours["recall_macro"] == pytest.approx(
            recall_score(y_true, y_pred, labels=labels, average="macro", zero_division=0), abs=1e-12
        )
        assert ours["f1_macro"] == pytest.approx(
            f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0), abs=1e-12
        )


def test_latency_and_memory_on_cpu():
    spec = ModalitySpec("v", "vector", (8,))
    model = build_model({"v": spec}, fusion="none", num_classes=2, depth=1, width=16, dropout=0.0)
    split = Split({"v": torch.randn(64, 8)}, torch.zeros(64, dtype=torch.long))
    stats = measure_latency(model, split, 32, torch.device("cpu"), warmup=2, repeats=9)
    assert stats.batch_size == 32 and stats.repeats == 9 and stats.threads == torch.get_num_threads()
    assert 0 < stats.p50_ms <= stats.p95_ms
    assert not model.training
    assert RunMemory(torch.device("cpu")).gpu_added_mb() is None  # not measured, never 0


def _allocate_and_free(megabytes: int) -> float:
    memory = RunMemory(torch.device("cpu"))
    block = torch.ones(megabytes * 1024 * 256)  # float32: megabytes MiB
    del block
    return memory.cpu_added_mb()


def test_run_memory_belongs_to_the_run_and_repeats():
    """Two identical runs in one process measure the same memory; a bigger run measures more; an
    earlier, bigger run does not lift a later one's figure (a lifetime peak would)."""
    first, second = _allocate_and_free(64), _allocate_and_free(64)
    assert 60 <= first <= 80 and 60 <= second <= 80
    assert abs(first - second) < 4
    big = _allocate_and_free(200)
    assert big > 190
    assert _allocate_and_free(64) < 80


def test_bf16_autocast_training_runs_and_learns():
    from benchmark.tasks import build_task
    from benchmark.training import TrainSettings, fit, seed_everything

    task = build_task("synth-redundancy", n_samples=400, n_modalities=2, noise=0.5)
    seed_everything(0)
    model = build_model(
        task.modalities, fusion="concat", num_classes=task.num_classes, depth=1, width=32, dropout=0.0
    )
    settings = TrainSettings(
        lr=3e-3,
        weight_decay=0.0,
        batch_size=64,
        max_epochs=8,
        patience=8,
        metric="accuracy",
        precision="bf16",
    )
    result = fit(
        model, task.splits["train"], task.splits["val"], settings, num_classes=task.num_classes, seed=0
    )
    assert not result.failed and result.best_val_score > 0.5
    assert all(p.dtype == torch.float32 for p in model.parameters())  # autocast, not a bf16 model
