"""Grid expansion: StudyConfig x task modalities -> the list of Combinations to run, plus the ones
dropped and why (benchopt-style "skip with a reason" rather than a crash mid-study)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from benchmark.config import GridConfig
from benchmark.fusions import FUSIONS, UNIMODAL
from benchmark.methods import REFERENCE_DEPTH, uses_depth
from benchmark.subsets import ModalitySelection, modality_subsets


@dataclass(frozen=True, order=True)
class Combination:
    """One cell of the grid. ``modalities`` is sorted; a single modality always has fusion ``none``."""

    task: str  # the task's label in the study
    depth: int
    modalities: tuple[str, ...]
    fusion: str
    # What else makes results differ: the study and the task's parameters. Part of the id, so two
    # studies sharing one store (or one task with other parameters) never resume each other's work.
    context: str = ""
    # Which of the task's outer splits (``splits: K`` in the study); None when the task has one split.
    split: int | None = None

    @property
    def modalities_tag(self) -> str:
        return "+".join(self.modalities)

    @property
    def id(self) -> str:
        """Stable across runs, processes and machines: a hash of the combination's fields."""
        fields: list = [self.task, self.depth, list(self.modalities), self.fusion, self.context]
        if self.split is not None:  # appended only when set, so single-split stores keep their ids
            fields.append(self.split)
        return hashlib.sha1(json.dumps(fields, separators=(",", ":")).encode()).hexdigest()[:12]

    @property
    def cell_id(self) -> str:
        """The id shared by all splits of one grid cell: the report averages over them."""
        return dataclasses.replace(self, split=None).id

    @property
    def task_key(self) -> tuple[str, int | None]:
        """Which built task (label, split) this combination trains on."""
        return (self.task, self.split)

    @property
    def name(self) -> str:
        name = f"{self.task}/d{self.depth}/{self.modalities_tag}/{self.fusion}"
        return name if self.split is None else f"{name}/split{self.split}"

    @property
    def study_name(self) -> str:
        """Optuna study name: readable and unique."""
        return f"{self.name}#{self.id}"


@dataclass(frozen=True)
class Dropped:
    task: str
    depth: int
    modalities: tuple[str, ...]
    fusion: str
    reason: str

    def describe(self) -> str:
        return f"{self.task}/d{self.depth}/{'+'.join(self.modalities)}/{self.fusion}: {self.reason}"


@dataclass(frozen=True)
class GridPlan:
    combinations: tuple[Combination, ...]
    dropped: tuple[Dropped, ...]


def expand_grid(
    grid: GridConfig,
    task_modalities: Mapping[str, list[str]],
    overrides: Mapping[str, tuple[ModalitySelection | None, tuple[int, ...] | None]] | None = None,
    contexts: Mapping[str, str] | None = None,
    splits: Mapping[str, int] | None = None,
) -> GridPlan:
    """Task order, then depth, then subsets (by size), then fusion, as the config lists them.

    A single-modality subset becomes one unimodal baseline (fusion ``none``) per (task, depth,
    modality), whatever ``grid.fusion`` says; a fusion that cannot handle a subset is dropped with its
    own reason. A reference model (``ref_*``) runs once per (task, modality subset), single modalities
    included, at depth 0: encoder depth does not apply to it. A task with ``splits`` K > 1 repeats
    all of this for each split 0..K-1 (split outermost).
    """
    kept: dict[Combination, None] = {}
    dropped: list[Dropped] = []
    for task, available in task_modalities.items():
        selection, depths = (overrides or {}).get(task, (None, None))
        context = (contexts or {}).get(task, "")
        subsets, missing = modality_subsets(available, selection or grid.modalities)
        neural = [f for f in grid.fusion if uses_depth(f)]
        references = [f for f in grid.fusion if not uses_depth(f)]
        count = (splits or {}).get(task, 1)
        for split in range(count) if count > 1 else [None]:
            for depth in depths or grid.depth:
                for subset, reason in missing:
                    if split in (None, 0):
                        dropped.append(Dropped(task, depth, subset, "*", reason))
                for subset in subsets:
                    if len(subset) == 1:
                        kept[Combination(task, depth, subset, UNIMODAL, context, split)] = None
                        continue
                    for fusion in neural:
                        reason = FUSIONS.get(fusion).unsupported_reason(len(subset))
                        if not reason:
                            kept[Combination(task, depth, subset, fusion, context, split)] = None
                        elif split in (None, 0):
                            dropped.append(Dropped(task, depth, subset, fusion, f"{fusion} {reason}"))
            for subset in subsets:
                for reference in references:
                    kept[Combination(task, REFERENCE_DEPTH, subset, reference, context, split)] = None
    return GridPlan(combinations=tuple(kept), dropped=tuple(dropped))
