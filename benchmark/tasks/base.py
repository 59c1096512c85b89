"""The task contract: named modalities, in-memory train/val/test splits, labels.

A task is built by a registered factory ``factory(seed=..., **params) -> Task``. Everything a
model needs about a modality (its kind and per-sample shape) is in its ``ModalitySpec``; fusion
and encoders never see the task itself.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch

from benchmark.registry import Registry

ModalityKind = Literal["vector", "image", "sequence", "tokens"]
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class ModalitySpec:
    """One modality: ``shape`` is per sample, e.g. (F,), (C, H, W), (T, C) or (T,) for tokens."""

    name: str
    kind: ModalityKind
    shape: tuple[int, ...]
    vocab_size: int | None = None  # tokens only


@dataclass
class Split:
    """One split: ``inputs[name]`` has shape (N, *spec.shape); ``labels`` is (N,) int64."""

    inputs: dict[str, torch.Tensor]
    labels: torch.Tensor

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def to(self, device: torch.device) -> Split:
        return Split({k: v.to(device) for k, v in self.inputs.items()}, self.labels.to(device))


@dataclass
class Task:
    name: str
    modalities: dict[str, ModalitySpec]
    splits: dict[str, Split]
    num_classes: int
    # Synthetic tasks only: the Bayes-optimal test accuracy per modality subset ("img+vec"), computed
    # from the generator's own model; empty for real data, whose ceiling is unknown.
    bayes_accuracy: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for split_name in SPLITS:
            split = self.splits[split_name]
            for name, spec in self.modalities.items():
                got = tuple(split.inputs[name].shape[1:])
                if got != spec.shape:
                    raise ValueError(
                        f"task {self.name}: {split_name}/{name} has shape {got}, spec says {spec.shape}"
                    )
                if split.inputs[name].shape[0] != len(split):
                    raise ValueError(f"task {self.name}: {split_name}/{name} and labels differ in length")


def task_digest(task: Task) -> str:
    """A fingerprint of the exact data a task holds: every split's inputs and labels, in order. Two
    runs with the same digest saw the same samples in the same partition."""
    digest = hashlib.sha256()
    for split_name in SPLITS:
        split = task.splits[split_name]
        for name in sorted(task.modalities):
            digest.update(name.encode())
            digest.update(split.inputs[name].detach().cpu().contiguous().numpy().tobytes())
        digest.update(split.labels.detach().cpu().numpy().astype(np.int64).tobytes())
    return digest.hexdigest()[:16]


TaskFactory = Callable[..., Task]
TASKS: Registry[TaskFactory] = Registry("task")


# Passed by the suite, not set per task in a study: the split seed and the data cache folder.
_SUITE_ARGUMENTS = ("seed", "data_dir")


def task_parameters(name: str) -> dict[str, Any]:
    """The keyword parameters (with defaults) a registered task accepts from a study config."""
    signature = inspect.signature(TASKS.get(name))
    return {
        p.name: p.default
        for p in signature.parameters.values()
        if p.name not in _SUITE_ARGUMENTS and p.kind is p.KEYWORD_ONLY
    }


def build_task(name: str, seed: int = 0, data_dir: str | None = None, **params: Any) -> Task:
    allowed = task_parameters(name)
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(
            f"task {name!r} has no parameter {unknown[0]!r}; allowed: {', '.join(sorted(allowed))}"
        )
    factory = TASKS.get(name)
    if "data_dir" in inspect.signature(factory).parameters:
        params["data_dir"] = data_dir
    return factory(seed=seed, **params)


def stratified_split(
    labels: torch.Tensor, seed: int, fractions: tuple[float, float] = (0.6, 0.2)
) -> dict[str, torch.Tensor]:
    """Disjoint, class-stratified train/val/test row indices (60/20/20 by default), deterministic in ``seed``."""
    from sklearn.model_selection import train_test_split

    index = np.arange(len(labels))
    y = labels.numpy()
    train, rest = train_test_split(index, train_size=fractions[0], stratify=y, random_state=seed)
    val_share = fractions[1] / (1 - fractions[0])
    val, test = train_test_split(rest, train_size=val_share, stratify=y[rest], random_state=seed)
    return {
        name: torch.as_tensor(np.sort(part))
        for name, part in (("train", train), ("val", val), ("test", test))
    }


def grouped_split(
    groups: np.ndarray, seed: int, fractions: tuple[float, float] = (0.6, 0.2)
) -> dict[str, torch.Tensor]:
    """Disjoint train/val/test row indices in which no group (e.g. a subject) spans two parts: the
    groups are shuffled (deterministic in ``seed``) and dealt 60/20/20 by count of groups, each part
    getting at least one."""
    unique = np.unique(groups)
    if len(unique) < 3:
        raise ValueError(f"a grouped split needs at least 3 groups, found {len(unique)}")
    order = np.random.default_rng(seed).permutation(unique)
    n_train = max(1, round(fractions[0] * len(unique)))
    n_val = max(1, min(round(fractions[1] * len(unique)), len(unique) - n_train - 1))
    dealt = {
        "train": order[:n_train],
        "val": order[n_train : n_train + n_val],
        "test": order[n_train + n_val :],
    }
    return {name: torch.as_tensor(np.flatnonzero(np.isin(groups, part))) for name, part in dealt.items()}


def split_tensors(
    inputs: dict[str, torch.Tensor], labels: torch.Tensor, parts: dict[str, torch.Tensor]
) -> dict[str, Split]:
    return {
        split: Split({name: x[idx].contiguous() for name, x in inputs.items()}, labels[idx].long())
        for split, idx in parts.items()
    }


def make_task(
    name: str,
    inputs: dict[str, torch.Tensor],
    labels: torch.Tensor,
    specs: dict[str, ModalitySpec],
    *,
    seed: int,
    groups: np.ndarray | None = None,
    parts: dict[str, torch.Tensor] | None = None,
    unscaled: tuple[str, ...] = (),
) -> Task:
    """The common end of every task: 60/20/20 splits (stratified by label, or by ``groups`` so no group
    spans two parts, or the given ``parts``), standardization with train statistics (except the
    ``unscaled`` modalities, e.g. one-hot codes), and the checked ``Task``. A new task is its loader
    plus this one call."""
    if parts is None:
        parts = grouped_split(groups, seed) if groups is not None else stratified_split(labels, seed)
    splits = split_tensors(inputs, labels, parts)
    standardize(splits, {n: s for n, s in specs.items() if n not in unscaled})
    return Task(name=name, modalities=specs, splits=splits, num_classes=int(labels.max()) + 1)


def standardize(splits: dict[str, Split], specs: dict[str, ModalitySpec]) -> None:
    """Standardize float modalities in place with statistics of the TRAIN split only.

    Vectors per feature; images and sequences per channel (so spatial/temporal structure stays).
    """
    train = splits["train"].inputs
    for name, spec in specs.items():
        if spec.kind == "tokens":
            continue
        x = train[name]
        if spec.kind == "vector":
            dims: tuple[int, ...] = (0,)
        elif spec.kind == "image":  # (N, C, H, W): per channel
            dims = (0, 2, 3)
        else:  # sequence (N, T, C): per channel
            dims = (0, 1)
        mean = x.mean(dim=dims, keepdim=True)
        std = x.std(dim=dims, keepdim=True).clamp_min(1e-6)
        for split in splits.values():
            split.inputs[name] = (split.inputs[name] - mean) / std
