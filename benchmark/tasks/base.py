"""The task contract: named modalities, in-memory train/val/test splits, labels.

A task is built by a registered factory ``factory(seed=..., **params) -> Task``. Everything a
model needs about a modality (its kind and per-sample shape) is in its ``ModalitySpec``; fusion
and encoders never see the task itself.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

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


TaskFactory = Callable[..., Task]
TASKS: Registry[TaskFactory] = Registry("task")


def task_parameters(name: str) -> dict[str, Any]:
    """The keyword parameters (with defaults) a registered task accepts besides ``seed``."""
    signature = inspect.signature(TASKS.get(name))
    return {
        p.name: p.default
        for p in signature.parameters.values()
        if p.name != "seed" and p.kind is p.KEYWORD_ONLY
    }


def build_task(name: str, seed: int = 0, **params: Any) -> Task:
    allowed = task_parameters(name)
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(
            f"task {name!r} has no parameter {unknown[0]!r}; allowed: {', '.join(sorted(allowed))}"
        )
    return TASKS.get(name)(seed=seed, **params)


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
