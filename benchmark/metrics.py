"""What is measured on a trained model: classification scores, inference latency, peak memory."""

from __future__ import annotations

import resource
import statistics
import sys
import time
from dataclasses import dataclass

import numpy as np
import torch

from benchmark.tasks import Split

SCORES = ("accuracy", "recall_macro", "f1_macro")


def classification_scores(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> dict[str, float]:
    """Accuracy, macro recall and macro F1 (scikit-learn); classes absent from a split count as 0."""
    # Imported here: scikit-learn costs ~0.8 s to import and commands like `report` never score.
    from sklearn.metrics import accuracy_score, f1_score, recall_score

    labels = list(range(num_classes))
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "recall_macro": float(recall_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "f1_macro": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
    }


@torch.inference_mode()
def predict(
    model: torch.nn.Module, split: Split, batch_size: int, missing: frozenset[str] = frozenset()
) -> torch.Tensor:
    """Predicted class per sample, (N,) on the split's device; ``missing`` modalities are hidden from
    the model (as the model's fusion method handles a missing modality)."""
    model.eval()
    n = len(split)
    preds = []
    for start in range(0, n, batch_size):
        batch = {name: x[start : start + batch_size] for name, x in split.inputs.items()}
        if missing:
            size = next(iter(batch.values())).shape[0]
            device = split.labels.device
            present = {name: torch.full((size,), name not in missing, device=device) for name in batch}
            preds.append(model(batch, present).logits.argmax(dim=1))
        else:
            preds.append(model(batch).logits.argmax(dim=1))
    return torch.cat(preds)


def evaluate(
    model: torch.nn.Module,
    split: Split,
    batch_size: int,
    num_classes: int,
    missing: frozenset[str] = frozenset(),
) -> dict[str, float]:
    y_pred = predict(model, split, batch_size, missing).cpu().numpy()
    return classification_scores(split.labels.cpu().numpy(), y_pred, num_classes)


@dataclass(frozen=True)
class LatencyStats:
    """Wall time of one forward pass of ``batch_size`` samples, in milliseconds."""

    batch_size: int
    p50_ms: float
    p95_ms: float
    repeats: int
    threads: int
    device: str


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


CUDA_WARMUP_SECONDS = 0.2


@torch.inference_mode()
def measure_latency(
    model: torch.nn.Module,
    split: Split,
    batch_size: int,
    device: torch.device,
    *,
    warmup: int = 10,
    repeats: int = 50,
) -> LatencyStats:
    """Median and p95 forward latency: eval mode, inference mode, warm-up first; on CUDA the timed
    region is bracketed by synchronisations so queued kernels are counted."""
    model.eval()
    batch_size = min(batch_size, len(split))
    batch = {name: x[:batch_size] for name, x in split.inputs.items()}
    # On a GPU, also warm up for a minimum time: an idle GPU runs at low clocks and tiny models do
    # not keep it busy long enough to ramp up within a few passes.
    min_warmup_end = time.perf_counter() + (CUDA_WARMUP_SECONDS if device.type == "cuda" else 0.0)
    done = 0
    while done < warmup or time.perf_counter() < min_warmup_end:
        model(batch)
        _synchronize(device)
        done += 1
    timings = []
    for _ in range(repeats):
        _synchronize(device)
        start = time.perf_counter()
        model(batch)
        _synchronize(device)
        timings.append((time.perf_counter() - start) * 1e3)
    return latency_stats(timings, batch_size, str(device))


def latency_stats(timings_ms: list[float], batch_size: int, device: str) -> LatencyStats:
    """Median, 95th percentile and mean of timed passes (ms), with the settings they were taken at."""
    timings = sorted(timings_ms)
    return LatencyStats(
        batch_size=batch_size,
        p50_ms=statistics.median(timings),
        p95_ms=timings[min(len(timings) - 1, int(round(0.95 * (len(timings) - 1))))],
        repeats=len(timings),
        threads=torch.get_num_threads(),
        device=device,
    )


def reset_gpu_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def gpu_peak_mb(device: torch.device) -> tuple[float, float] | None:
    """(peak allocated, peak reserved) in MiB since the last reset; None where there is no CUDA device
    (reported as "not measured", never as 0)."""
    if device.type != "cuda":
        return None
    mib = 1024.0**2
    return torch.cuda.max_memory_allocated(device) / mib, torch.cuda.max_memory_reserved(device) / mib


def cpu_peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0**2 if sys.platform == "darwin" else 1024.0)
