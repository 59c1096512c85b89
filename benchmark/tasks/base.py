"""The task contract: named modalities, in-memory train/val/test splits, labels.

A task is built by a registered factory ``factory(seed=..., **params) -> Task``. Everything a
model needs about a modality (its kind and per-sample shape) is in its ``ModalitySpec``; fusion
and encoders never see the task itself.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import inspect
from collections.abc import Callable, Iterator
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
    # The label's values by class id ("0", "1", ... where a task names none), and for a task built from a
    # raw table, how its rows become inputs (``tasks.rows.RowEncoder``): both saved with its models.
    class_names: tuple[str, ...] = ()
    rows: Any = None

    @property
    def classes(self) -> tuple[str, ...]:
        return self.class_names or tuple(str(i) for i in range(self.num_classes))

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


@dataclass(frozen=True)
class Fold:
    """Which outer fold a task is built for: fold ``index`` of ``count`` disjoint test folds."""

    index: int = 0
    count: int = 1


# The outer fold is the suite's business, not the task's: ``build_task`` sets it around the factory and
# ``outer_parts`` reads it, so a task module calls ``outer_parts(labels, seed)`` and never sees folds.
SINGLE_HOLDOUT = Fold()
_FOLD: contextvars.ContextVar[Fold] = contextvars.ContextVar("outer_fold", default=SINGLE_HOLDOUT)


@contextlib.contextmanager
def outer_fold(fold: Fold) -> Iterator[None]:
    token = _FOLD.set(fold)
    try:
        yield
    finally:
        _FOLD.reset(token)


def current_fold() -> Fold:
    return _FOLD.get()


def build_task(
    name: str, seed: int = 0, data_dir: str | None = None, fold: Fold | None = None, **params: Any
) -> Task:
    """Build a registered task; with ``fold`` (index i of K), its test split is fold i of K disjoint
    folds drawn with ``seed``, so the K builds test every sample exactly once."""
    allowed = task_parameters(name)
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(
            f"task {name!r} has no parameter {unknown[0]!r}; allowed: {', '.join(sorted(allowed))}"
        )
    factory = TASKS.get(name)
    if "data_dir" in inspect.signature(factory).parameters:
        params["data_dir"] = data_dir
    with outer_fold(fold or Fold()):
        return factory(seed=seed, **params)


VALIDATION_SHARE = 0.25  # of the rows outside the test fold: 60/20/20 at 5 folds, 50/17/33 at 3


def outer_parts(labels: torch.Tensor, seed: int, groups: np.ndarray | None = None) -> dict[str, torch.Tensor]:
    """The task's train/val/test row indices for the fold being built: with one fold the 60/20/20
    holdout (stratified, or grouped); with K folds, test is fold i of a stratified (or grouped) K-fold
    drawn with ``seed`` (the same for every fold, so the folds are disjoint and cover every row), and
    validation is carved from the other folds the same way."""
    fold = current_fold()
    if fold.count == 1:
        return grouped_split(groups, seed) if groups is not None else stratified_split(labels, seed)
    if groups is not None:
        return _grouped_fold(groups, seed, fold)
    return _stratified_fold(labels, seed, fold)


def _stratified_fold(labels: torch.Tensor, seed: int, fold: Fold) -> dict[str, torch.Tensor]:
    from sklearn.model_selection import StratifiedKFold, train_test_split

    y = labels.numpy()
    if len(y) < 2 * fold.count:
        raise ValueError(f"{fold.count} folds need at least {2 * fold.count} rows, there are {len(y)}")
    splitter = StratifiedKFold(n_splits=fold.count, shuffle=True, random_state=seed)
    with _quiet():  # a class with fewer rows than folds is spread as far as it goes (sklearn warns)
        rest, test = list(splitter.split(np.zeros(len(y)), y))[fold.index]
    try:
        train, val = train_test_split(rest, test_size=VALIDATION_SHARE, stratify=y[rest], random_state=seed)
    except ValueError:  # a class with a single row outside the test fold cannot be stratified
        train, val = train_test_split(rest, test_size=VALIDATION_SHARE, random_state=seed)
    return {
        name: torch.as_tensor(np.sort(part))
        for name, part in (("train", train), ("val", val), ("test", test))
    }


def _grouped_fold(groups: np.ndarray, seed: int, fold: Fold) -> dict[str, torch.Tensor]:
    """Groups (e.g. subjects) shuffled with ``seed`` and dealt round-robin into K folds: no group is in
    two folds, nor in two of train/val/test."""
    unique = np.random.default_rng(seed).permutation(np.unique(groups))
    test = unique[fold.index :: fold.count]
    rest = unique[np.isin(unique, test, invert=True)]
    if len(test) == 0 or len(rest) < 2:  # every fold tests a group; train and val get one at least
        raise ValueError(
            f"{fold.count} grouped folds need at least {fold.count + 2} groups, found {len(unique)}"
        )
    n_val = min(max(1, round(VALIDATION_SHARE * len(rest))), len(rest) - 1)
    dealt = {"train": rest[n_val:], "val": rest[:n_val], "test": test}
    return {name: torch.as_tensor(np.flatnonzero(np.isin(groups, part))) for name, part in dealt.items()}


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


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
    """The common end of every task: the outer fold's splits (``outer_parts``: stratified by label, or
    by ``groups`` so no group spans two parts; or the given ``parts``), standardization with train statistics (except the
    ``unscaled`` modalities, e.g. one-hot codes), and the checked ``Task``. A new task is its loader
    plus this one call."""
    if parts is None:
        parts = outer_parts(labels, seed, groups)
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
