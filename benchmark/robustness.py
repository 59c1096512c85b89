"""Robustness of a trained model: test scores with each modality missing in turn, and with increasing
Gaussian noise on each modality in turn, summarised by the area under the accuracy-noise curve.

Metric names (all logged on final runs; ``m`` is a modality, ``s`` a noise level):
- ``robust/missing/<m>/accuracy``, ``robust/missing/<m>/f1_macro``: ``m`` hidden from the model;
- ``robust/noise/<m>/<s>/accuracy``, ``robust/noise/<m>/<s>/f1_macro``: ``m`` + s * N(0, 1);
- ``robust/noise/<m>/auc``: area under accuracy(s) from 0 (clean) to the largest level, divided by that
  level (so a model that noise does not touch scores its clean accuracy);
- ``robust/noise_auc``: the mean of those over modalities, the one number per combination.

Noise is added to the inputs, which the tasks standardise per feature, so s is in units of a feature's
spread. Token modalities (integer ids) take no Gaussian noise; they are only ever made missing.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from benchmark.metrics import evaluate
from benchmark.tasks import Split

NOISE_SEED = 12345  # the same noise draws for every model, so combinations are compared on equal terms


def noise_area(levels: Sequence[float], accuracies: Sequence[float], clean: float) -> float:
    """Trapezoid area under accuracy(level) from level 0 (``clean``) to max(levels), over max(levels)."""
    xs, ys = [0.0, *levels], [clean, *accuracies]
    area = sum((xs[i + 1] - xs[i]) * (ys[i + 1] + ys[i]) / 2 for i in range(len(xs) - 1))
    return area / xs[-1]


def _with_noise(split: Split, modality: str, level: float, generator: torch.Generator) -> Split:
    x = split.inputs[modality]
    noise = torch.randn(x.shape, generator=generator, dtype=torch.float32).to(device=x.device, dtype=x.dtype)
    return Split({**split.inputs, modality: x + level * noise}, split.labels)


def robustness_metrics(
    model: torch.nn.Module,
    test: Split,
    *,
    batch_size: int,
    num_classes: int,
    clean_accuracy: float,
    missing: bool,
    noise_levels: Sequence[float],
) -> dict[str, float]:
    out: dict[str, float] = {}
    names = sorted(test.inputs)
    if missing and len(names) > 1:  # a single modality missing leaves nothing to predict from
        for name in names:
            scores = evaluate(model, test, batch_size, num_classes, missing=frozenset({name}))
            out[f"robust/missing/{name}/accuracy"] = scores["accuracy"]
            out[f"robust/missing/{name}/f1_macro"] = scores["f1_macro"]
    levels = sorted(noise_levels)
    areas = []
    for name in names:
        if not levels or not test.inputs[name].is_floating_point():
            continue
        generator = torch.Generator().manual_seed(NOISE_SEED)
        accuracies = []
        for level in levels:
            scores = evaluate(model, _with_noise(test, name, level, generator), batch_size, num_classes)
            out[f"robust/noise/{name}/{level:g}/accuracy"] = scores["accuracy"]
            out[f"robust/noise/{name}/{level:g}/f1_macro"] = scores["f1_macro"]
            accuracies.append(scores["accuracy"])
        out[f"robust/noise/{name}/auc"] = noise_area(levels, accuracies, clean_accuracy)
        areas.append(out[f"robust/noise/{name}/auc"])
    if areas:
        out["robust/noise_auc"] = sum(areas) / len(areas)
    return out
