"""Which modality subsets a study takes of a task: the selection as configured (``grid.modalities``, a
task's ``subsets``), and the subsets it expands to for the modalities a task has."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Annotated, Any

from pydantic import Field, Strict, TypeAdapter, ValidationError

from benchmark.errors import ConfigError, one_line

ALLOWED = "'all', a list of modality lists, or {min_size: N, max_size: M}"
Size = Annotated[int, Strict(), Field(ge=1)]


@dataclass(frozen=True)
class ModalitySelection:
    """All subsets with ``min_size <= |s| <= max_size``, or exactly the ``explicit`` lists."""

    min_size: int = 1
    max_size: int | None = None
    explicit: tuple[tuple[str, ...], ...] | None = None

    def to_dict(self) -> Any:
        """As a study writes it."""
        if self.explicit is not None:
            return [list(s) for s in self.explicit]
        return {"min_size": self.min_size, "max_size": self.max_size}


def parse_modalities(value: Any, where: str) -> ModalitySelection:
    if isinstance(value, ModalitySelection):
        return value
    if value == "all":
        return ModalitySelection()
    if isinstance(value, dict) and set(value) <= {"min_size", "max_size"}:
        low = _size(value.get("min_size", 1), f"{where}.min_size", 1)
        high = value.get("max_size")
        return ModalitySelection(low, None if high is None else _size(high, f"{where}.max_size", low))
    if isinstance(value, list) and value and all(_is_subset(s) for s in value):
        return ModalitySelection(explicit=tuple(dict.fromkeys(tuple(sorted(set(s))) for s in value)))
    raise ConfigError(f"{where} must be {ALLOWED}; got {value!r}")


def _is_subset(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(m, str) for m in value)


def _size(value: Any, where: str, low: int) -> int:
    try:
        return TypeAdapter(Annotated[int, Strict(), Field(ge=low)]).validate_python(value)
    except ValidationError as err:
        raise ConfigError(one_line(err, ModalitySelection, (where,))) from None


def modality_subsets(
    available: list[str], selection: ModalitySelection
) -> tuple[list[tuple[str, ...]], list[tuple[tuple[str, ...], str]]]:
    """Subsets of ``available`` the selection asks for, and explicit ones this task cannot serve."""
    names = sorted(available)
    if selection.explicit is not None:
        kept, missing = [], []
        for subset in selection.explicit:
            absent = [m for m in subset if m not in names]
            if absent:
                missing.append((subset, f"task has no modality {absent[0]!r} (has: {', '.join(names)})"))
            else:
                kept.append(subset)
        return kept, missing
    high = selection.max_size or len(names)
    return [s for size in range(selection.min_size, high + 1) for s in combinations(names, size)], []
