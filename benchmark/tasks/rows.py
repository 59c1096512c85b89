"""A raw table's rows to a task's inputs, with the state fitted on the train rows (statistics,
categories, vocabulary): kept on the task and saved with its models, so a saved model scores a new
row of the same table exactly as it scored its test rows."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch

from benchmark.tasks.tabular import TabularEncoder
from benchmark.tasks.text import encode, tokenize


@dataclass(frozen=True)
class TextColumns:
    """Text columns to token ids: the row's columns' words in order, the train rows' vocabulary."""

    columns: tuple[str, ...]
    vocabulary: dict[str, int]
    max_len: int

    def transform(self, frame: pd.DataFrame) -> torch.Tensor:
        tokens = [sum((tokenize(row[c]) for c in self.columns), []) for _, row in frame.iterrows()]
        return encode(tokens, self.vocabulary, self.max_len)


@dataclass(frozen=True)
class RowEncoder:
    """Per modality, how its columns become the model's input."""

    modalities: dict[str, TabularEncoder | TextColumns]

    @property
    def columns(self) -> list[str]:
        found: list[str] = []
        for encoder in self.modalities.values():
            found += [c for c in _columns(encoder) if c not in found]
        return found

    def __call__(self, frame: pd.DataFrame, modalities: list[str] | None = None) -> dict[str, torch.Tensor]:
        """The inputs of ``modalities`` (all by default) for every row of ``frame``; a column the
        table lacks is refused in one line naming it."""
        chosen = list(modalities) if modalities is not None else list(self.modalities)
        needed = [c for m in chosen for c in _columns(self.modalities[m])]
        missing = [c for c in dict.fromkeys(needed) if c not in frame.columns]
        if missing:
            raise ValueError(
                f"the table lacks column {missing[0]!r} ({len(missing)} missing); the model reads "
                f"{', '.join(dict.fromkeys(needed))}"
            )
        frame = frame.reset_index(drop=True)
        return {m: self.modalities[m].transform(frame) for m in chosen}


def _columns(encoder: TabularEncoder | TextColumns) -> tuple[str, ...]:
    return encoder.columns
