"""Tabular columns to a float matrix: numeric columns standardized and categorical columns one-hot,
with statistics and categories from the train rows only (an unseen category is all zeros)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from benchmark.data import DataError


@dataclass(frozen=True)
class TabularEncoder:
    """Columns of a table to a float matrix, with the train rows' statistics kept: what a saved model
    needs to score a new raw row exactly as its training rows were scored."""

    numeric: tuple[str, ...]
    means: tuple[float, ...]
    stds: tuple[float, ...]
    categorical: tuple[str, ...]
    categories: tuple[tuple[str, ...], ...]
    log_columns: tuple[str, ...] = ()

    @classmethod
    def fit(
        cls,
        frame: pd.DataFrame,
        numeric: Sequence[str],
        categorical: Sequence[str],
        train_rows: np.ndarray,
        log_columns: Sequence[str] = (),
    ) -> TabularEncoder:
        means, stds = [], []
        for column in numeric:
            train = _numbers(frame[column], column in log_columns).iloc[train_rows]
            mean, std = train.mean(), train.std()
            means.append(float(mean))
            stds.append(float(std) if std and np.isfinite(std) and std > 0 else 1.0)
        categories = [tuple(sorted(_categories(frame[c]).iloc[train_rows].unique())) for c in categorical]
        return cls(
            tuple(numeric),
            tuple(means),
            tuple(stds),
            tuple(categorical),
            tuple(categories),
            tuple(log_columns),
        )

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.numeric, *self.categorical)

    @property
    def feature_names(self) -> list[str]:
        onehot = [
            f"{c}={v}" for c, values in zip(self.categorical, self.categories, strict=True) for v in values
        ]
        return [*self.numeric, *onehot]

    def transform(self, frame: pd.DataFrame) -> torch.Tensor:
        """(N, F) float32. Missing numbers become the train mean (0 after standardization); a missing
        category is its own category, ``<missing>``; a category the train rows lacked is all zeros."""
        blocks = []
        for column, mean, std in zip(self.numeric, self.means, self.stds, strict=True):
            values = _numbers(frame[column], column in self.log_columns)
            blocks.append(((values.fillna(mean) - mean) / std).to_numpy()[:, None])
        for column, categories in zip(self.categorical, self.categories, strict=True):
            values = _categories(frame[column]).to_numpy()[:, None]
            blocks.append((values == np.array(categories)[None, :]).astype("float64"))
        matrix = np.concatenate(blocks, axis=1) if blocks else np.zeros((len(frame), 0))
        return torch.tensor(matrix, dtype=torch.float32)


def _numbers(values: pd.Series, log: bool) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    return np.log1p(numbers.clip(lower=0)) if log else numbers


def _categories(values: pd.Series) -> pd.Series:
    return values.astype("object").where(values.notna(), "<missing>").astype(str)


def encode_tabular(
    frame: pd.DataFrame,
    numeric: Sequence[str],
    categorical: Sequence[str],
    train_rows: np.ndarray,
    log_columns: Sequence[str] = (),
) -> tuple[torch.Tensor, list[str]]:
    """(N, F) float32 features and their names, fitted on ``train_rows`` (see ``TabularEncoder``)."""
    encoder = TabularEncoder.fit(frame, numeric, categorical, train_rows, log_columns)
    return encoder.transform(frame), encoder.feature_names


def deduplicate(frame: pd.DataFrame, features: Sequence[str], target: str) -> pd.DataFrame:
    """One row per distinct feature vector, before any split, so no sample is tested on its own copy:
    copies that agree on the label keep one row; copies whose labels conflict are all dropped (no
    feature can tell them apart, and keeping one would pick a label by row order)."""
    key = pd.util.hash_pandas_object(frame[list(features)], index=False)
    labels_per_key = frame.groupby(key.to_numpy())[target].nunique()
    conflicting = key.isin(labels_per_key.index[labels_per_key > 1]).to_numpy()
    kept = frame[~conflicting & ~key.duplicated().to_numpy()]
    return kept.reset_index(drop=True)


def require_columns(frame: pd.DataFrame, columns: Sequence[str], where: str) -> None:
    """A data set's file has the columns its task reads, else one line naming the first one missing."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{where}: the file lacks column {missing[0]!r} ({len(missing)} missing)")
