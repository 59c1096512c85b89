"""Robustness of a trained model: test scores with each modality missing in turn, and with increasing
corruption of each modality in turn, summarised by how much of the clean score survives.

Metric names (all logged on final runs; ``m`` is a modality, ``s`` a noise level):
- ``robust/missing/<m>/<score>`` for every registered score (scores.py): ``m`` hidden from the model
  (its stand-in is the train-mean embedding unless modality dropout taught the model one; see model.py);
- ``robust/noise/<m>/<s>/<score>`` for every registered score: ``m`` corrupted at level s;
- ``robust/noise/<m>/retention``: the area under the ranking metric above chance against the level,
  from 0 (the clean score) to the largest level, divided by ((clean score - chance) x largest level):
  1 = the corruption costs nothing, 0.5 = on average half the margin over chance is lost, 0 = the
  model falls to chance at once. Chance is the best input-blind prediction's score on the test labels
  (scores.chance_scores): without it a model at chance would "retain" everything. NaN where the
  clean score is not above chance (nothing to retain);
- ``robust/noise_retention``: the mean over the model's modalities (every modality takes part).

Corruption: float modalities (standardised per feature by the tasks) get ``m + s * N(0, 1)``, so s is in
units of a feature's spread. Token modalities get a fraction ``s / (1 + s)`` of their non-padding tokens
replaced by a random other id (0.33, 0.5 and 0.67 at the default levels 0.5, 1, 2): the same levels, a
comparable "signal lost" scale, and text is part of the figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from benchmark.metrics import evaluate
from benchmark.schema import MISSING, NOISE, NOISE_RETENTION
from benchmark.scores import chance_scores
from benchmark.tasks import Split
from benchmark.tasks.text import PAD, UNKNOWN

NOISE_SEED = 12345  # the same noise draws for every model, so combinations are compared on equal terms
FIRST_WORD = UNKNOWN + 1  # random replacement ids are real words: never padding, never "unknown"


def retention(levels: Sequence[float], scores: Sequence[float], clean: float, chance: float = 0.0) -> float:
    """Trapezoid area under score(level) - chance from level 0 (``clean``) to max(levels), over
    (clean - chance) x max(levels): 1 when the corruption costs nothing, 0 when it brings the model
    to chance at once; below 0 when corruption makes it worse than guessing."""
    if clean <= chance:
        return float("nan")
    xs, ys = [0.0, *levels], [clean - chance, *(s - chance for s in scores)]
    area = sum((xs[i + 1] - xs[i]) * (ys[i + 1] + ys[i]) / 2 for i in range(len(xs) - 1))
    return area / (xs[-1] * (clean - chance))


def token_fraction(level: float) -> float:
    return level / (1.0 + level)


def corrupt_tokens(
    ids: torch.Tensor, fraction: float, vocab_size: int, generator: torch.Generator
) -> torch.Tensor:
    """``ids`` with ``fraction`` of the non-padding tokens (each independently) replaced by a random id
    that differs from the original; padding stays padding, so lengths do not change."""
    words = vocab_size - FIRST_WORD
    if words < 2:
        return ids
    chosen = (torch.rand(ids.shape, generator=generator) < fraction).to(ids.device) & (ids != PAD)
    shift = torch.randint(1, words, ids.shape, generator=generator).to(ids.device)
    replaced = (ids.clamp_min(FIRST_WORD) - FIRST_WORD + shift) % words + FIRST_WORD
    return torch.where(chosen, replaced, ids)


def _corrupted(
    split: Split, modality: str, level: float, vocab_size: int | None, generator: torch.Generator
) -> Split:
    x = split.inputs[modality]
    if not x.is_floating_point():
        return Split(
            {**split.inputs, modality: corrupt_tokens(x, token_fraction(level), vocab_size or 0, generator)},
            split.labels,
        )
    noise = torch.randn(x.shape, generator=generator, dtype=torch.float32).to(device=x.device, dtype=x.dtype)
    return Split({**split.inputs, modality: x + level * noise}, split.labels)


def robustness_metrics(
    model: torch.nn.Module,
    test: Split,
    *,
    batch_size: int,
    num_classes: int,
    metric: str,
    clean_score: float,
    missing: bool,
    noise_levels: Sequence[float],
    vocab_sizes: Mapping[str, int] | None = None,
) -> dict[str, float]:
    out: dict[str, float] = {}
    names = sorted(test.inputs)
    if missing and len(names) > 1:  # a single modality missing leaves nothing to predict from
        for name in names:
            scores = evaluate(model, test, batch_size, num_classes, missing=frozenset({name}))
            out.update({f"{MISSING}{name}/{score}": value for score, value in scores.items()})
    levels = sorted(noise_levels)
    chance = chance_scores(test.labels.cpu().numpy(), num_classes)[metric]
    kept = []
    for name in names if levels else []:
        vocab = (vocab_sizes or {}).get(name)
        if not test.inputs[name].is_floating_point() and not vocab:
            continue  # integer ids without a known vocabulary: nothing to draw replacements from
        generator = torch.Generator().manual_seed(NOISE_SEED)
        curve = []
        for level in levels:
            scores = evaluate(model, _corrupted(test, name, level, vocab, generator), batch_size, num_classes)
            out.update({f"{NOISE}{name}/{level:g}/{score}": value for score, value in scores.items()})
            curve.append(scores[metric])
        out[f"{NOISE}{name}/retention"] = retention(levels, curve, clean_score, chance)
        kept.append(out[f"{NOISE}{name}/retention"])
    if kept:  # NaN (a model not above chance) propagates: such a model has no retention to average
        out[NOISE_RETENTION] = sum(kept) / len(kept)
    return out
