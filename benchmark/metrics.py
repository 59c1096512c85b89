"""What is measured on a trained model: classification scores, inference latency, peak memory."""

from __future__ import annotations

import contextlib
import ctypes
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import torch

from benchmark.scores import classification_scores
from benchmark.tasks import Split


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
    model: Any,
    split: Split,
    batch_size: int,
    device: torch.device,
    *,
    warmup: int = 10,
    repeats: int = 50,
) -> LatencyStats:
    """Median and p95 latency of predicting ``batch_size`` test samples: a torch module's forward pass
    (eval mode, inference mode), or a scikit-learn pipeline's ``predict`` (features included); warm-up
    first; on CUDA the timed region is bracketed by synchronisations so queued kernels are counted."""
    batch_size = min(batch_size, len(split))
    batch = {name: x[:batch_size] for name, x in split.inputs.items()}
    if isinstance(model, torch.nn.Module):
        model.eval()
        forward = model
    else:
        forward = model.predict
    # On a GPU, also warm up for a minimum time: an idle GPU runs at low clocks and tiny models do
    # not keep it busy long enough to ramp up within a few passes.
    min_warmup_end = time.perf_counter() + (CUDA_WARMUP_SECONDS if device.type == "cuda" else 0.0)
    done = 0
    while done < warmup or time.perf_counter() < min_warmup_end:
        forward(batch)
        _synchronize(device)
        done += 1
    timings = []
    for _ in range(repeats):
        _synchronize(device)
        start = time.perf_counter()
        forward(batch)
        _synchronize(device)
        timings.append((time.perf_counter() - start) * 1e3)
    return latency_stats(timings, batch_size, str(device))


def latency_stats(timings_ms: list[float], batch_size: int, device: str) -> LatencyStats:
    """Median and 95th percentile of timed passes (ms), with the settings they were taken at."""
    timings = sorted(timings_ms)
    return LatencyStats(
        batch_size=batch_size,
        p50_ms=statistics.median(timings),
        p95_ms=timings[min(len(timings) - 1, int(round(0.95 * (len(timings) - 1))))],
        repeats=len(timings),
        threads=torch.get_num_threads(),
        device=device,
    )


class RunMemory:
    """The memory one run adds, so earlier runs in the same process do not count.

    - CPU: peak resident memory during the run minus resident memory at its start. On Linux the
      kernel's peak (``VmHWM``) is reset at the start through ``/proc/self/clear_refs``; freed heap is
      first handed back (``malloc_trim``), so a second identical run needs the same fresh pages as the
      first. Elsewhere: resident memory at the end minus at the start (a lower bound).
    - GPU: peak allocated (and reserved) during the run minus what was allocated at its start, so the
      task data already on the device is excluded. None where there is no CUDA device.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        # No gc.collect(): a full collection costs up to a second in a long-lived process, and the
        # previous run's tensors were freed by reference counting already.
        _trim_heap()
        self._peak_reset = _reset_peak_rss()
        self.cpu_start = _status_kib("VmRSS") or psutil.Process().memory_info().rss / 1024.0
        if device.type == "cuda":
            torch.cuda.synchronize(device)
            torch.cuda.reset_peak_memory_stats(device)
            self.gpu_start = (torch.cuda.memory_allocated(device), torch.cuda.memory_reserved(device))

    def cpu_added_mb(self) -> float:
        peak = _status_kib("VmHWM") if self._peak_reset else None
        if peak is None:
            peak = psutil.Process().memory_info().rss / 1024.0
        return max(0.0, peak - self.cpu_start) / 1024.0

    def gpu_added_mb(self) -> tuple[float, float] | None:
        """(peak allocated, peak reserved) above the start, in MiB; None without a CUDA device
        (reported as "not measured", never as 0)."""
        if self.device.type != "cuda":
            return None
        mib = 1024.0**2
        allocated = torch.cuda.max_memory_allocated(self.device) - self.gpu_start[0]
        reserved = torch.cuda.max_memory_reserved(self.device) - self.gpu_start[1]
        return max(0, allocated) / mib, max(0, reserved) / mib


def _trim_heap() -> None:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to hand back
            ctypes.CDLL("libc.so.6").malloc_trim(0)


def _reset_peak_rss() -> bool:
    """Linux: writing 5 to clear_refs resets the process's peak resident set size (VmHWM)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _status_kib(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return float(line.split()[1])
    except OSError:
        pass
    return None
