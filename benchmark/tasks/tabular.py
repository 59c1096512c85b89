"""Tabular columns to a float matrix: numeric columns standardized and categorical columns one-hot,
with statistics and categories from the train rows only (an unseen category is all zeros)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from benchmark.data import DataError


def encode_tabular(
    frame: pd.DataFrame,
    numeric: Sequence[str],
    categorical: Sequence[str],
    train_rows: np.ndarray,
    log_columns: Sequence[str] = (),
) -> tuple[torch.Tensor, list[str]]:
    """(N, F) float32 features and their names. Missing numbers become the train mean (0 after
    standardization); a missing category is its own category, ``<missing>``."""
    blocks, names = [], []
    for column in numeric:
        values = pd.to_numeric(frame[column], errors="coerce").astype("float64")
        if column in log_columns:
            values = np.log1p(values.clip(lower=0))
        train = values.iloc[train_rows]
        mean, std = train.mean(), train.std()
        std = std if std and np.isfinite(std) and std > 0 else 1.0
        blocks.append(((values.fillna(mean) - mean) / std).to_numpy()[:, None])
        names.append(column)
    for column in categorical:
        values = frame[column].astype("object").where(frame[column].notna(), "<missing>").astype(str)
        categories = sorted(values.iloc[train_rows].unique())
        onehot = (values.to_numpy()[:, None] == np.array(categories)[None, :]).astype("float64")
        blocks.append(onehot)
        names += [f"{column}={c}" for c in categories]
    matrix = np.concatenate(blocks, axis=1) if blocks else np.zeros((len(frame), 0))
    return torch.tensor(matrix, dtype=torch.float32), names


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
