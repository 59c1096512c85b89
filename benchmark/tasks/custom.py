"""Bring your own data: a table (CSV or Parquet) whose columns map to modalities, or one ``.npz``
file with one array per modality.

``table``::

    tasks:
      - name: table
        label: my-data                  # how runs are tagged
        path: /data/patients.parquet
        target: outcome                 # the label column (any values; classes are its sorted unique values)
        modalities:
          vitals: {numeric: [age, bp, hr]}                 # a vector: standardized numbers ...
          context: {numeric: [bmi], categorical: [ward]}   # ... and one-hot categories
          notes: {text: [title, body], max_len: 128}       # tokens (vocabulary from the train split)

``arrays``::

    tasks:
      - {name: arrays, path: /data/views.npz, target: label}
        # every other array is a modality: (N, F) vector, (N, T, C) sequence, (N, C, H, W) image;
        # integer (N, T) arrays named in `tokens: [name]` are token ids (0 = padding)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from benchmark.tasks.base import TASKS, ModalitySpec, Task, outer_parts, split_tensors, standardize
from benchmark.tasks.rows import RowEncoder, TextColumns
from benchmark.tasks.tabular import TabularEncoder
from benchmark.tasks.text import build_vocabulary, encode, tokenize

_MODALITY_KEYS = {"numeric", "categorical", "text", "max_len", "vocab_size"}


def _class_ids(values: pd.Series | np.ndarray, where: str) -> tuple[torch.Tensor, list[Any]]:
    """Class ids (the sorted unique values' positions) and the classes themselves."""
    series = pd.Series(values)
    if series.isna().any():
        raise ValueError(f"{where}: the label has missing values")
    classes = sorted(series.unique().tolist(), key=str)
    if len(classes) < 2:
        raise ValueError(f"{where}: the label needs at least two classes, found {classes}")
    counts = series.value_counts()
    if counts.min() < 5:
        raise ValueError(
            f"{where}: class {counts.idxmin()!r} has {counts.min()} rows; each class needs at least 5"
        )
    index = {c: i for i, c in enumerate(classes)}
    return torch.tensor([index[v] for v in series.tolist()], dtype=torch.long), classes


def _check_numbers(frame: pd.DataFrame, columns: list[str], modality: str, name: str) -> None:
    """A column listed as numeric holds numbers or nothing: a word in it is a wrong listing (a text or a
    category), refused here in one line rather than read as missing. Empty cells are missing values, filled
    with the train mean (0 after standardization), as the README says."""
    for column in columns:
        values = frame[column]
        parsed = pd.to_numeric(values, errors="coerce")
        words = values[parsed.isna() & values.notna() & (values.astype(str).str.strip() != "")]
        if len(words):
            raise ValueError(
                f"{name}: column {column!r} of modality {modality!r} is listed as numeric but {len(words)} of "
                f"{len(values)} values are not numbers (e.g. {str(words.iloc[0])[:40]!r}); list it under "
                f"categorical or text"
            )


def read_table(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise ValueError(f"no file at {path}")
    if path.suffix == ".csv":
        return pd.read_csv(path)
    if path.suffix in (".parquet", ".pq") or path.name.endswith(".parquet.brotli"):
        return pd.read_parquet(path)
    raise ValueError(f"{path.name}: use a .csv or .parquet file")


def build_table_task(
    frame: pd.DataFrame, target: str, modalities: dict[str, Any], seed: int, name: str
) -> Task:
    if target not in frame.columns:
        raise ValueError(f"{name}: no label column {target!r}; columns: {', '.join(map(str, frame.columns))}")
    if not isinstance(modalities, dict) or len(modalities) < 1:
        raise ValueError(
            f"{name}: modalities must map names to {{numeric: [...], categorical: [...]}} or {{text: [...]}}"
        )
    frame = frame.reset_index(drop=True)
    labels, classes = _class_ids(frame[target], name)
    parts = outer_parts(labels, seed)
    train_rows = parts["train"].numpy()
    inputs, specs, encoders = {}, {}, {}
    for modality, spec in modalities.items():
        if not isinstance(spec, dict) or not spec.keys() <= _MODALITY_KEYS:
            raise ValueError(
                f"{name}: modality {modality!r} must use keys {', '.join(sorted(_MODALITY_KEYS))}"
            )
        columns = [*spec.get("numeric", []), *spec.get("categorical", []), *spec.get("text", [])]
        absent = [c for c in columns if c not in frame.columns]
        if absent or not columns:
            raise ValueError(
                f"{name}: modality {modality!r} names no column or an absent one: {absent or '(none)'}"
            )
        if target in columns:
            raise ValueError(f"{name}: modality {modality!r} uses the label column {target!r} as a feature")
        _check_numbers(frame, spec.get("numeric", []), modality, name)
        if spec.get("text"):
            tokens = [sum((tokenize(row[c]) for c in spec["text"]), []) for _, row in frame.iterrows()]
            vocabulary = build_vocabulary(
                (tokens[i] for i in train_rows), max_size=int(spec.get("vocab_size", 20000))
            )
            max_len = int(spec.get("max_len", 128))
            encoders[modality] = TextColumns(tuple(spec["text"]), vocabulary, max_len)
            inputs[modality] = encode(tokens, vocabulary, max_len)
            specs[modality] = ModalitySpec(modality, "tokens", (max_len,), vocab_size=len(vocabulary) + 2)
        else:
            encoders[modality] = TabularEncoder.fit(
                frame, spec.get("numeric", []), spec.get("categorical", []), train_rows
            )
            inputs[modality] = encoders[modality].transform(frame)
            specs[modality] = ModalitySpec(modality, "vector", (inputs[modality].shape[1],))
    return Task(
        name=name,
        modalities=specs,
        splits=split_tensors(inputs, labels, parts),
        num_classes=len(classes),
        class_names=tuple(str(c) for c in classes),
        rows=RowEncoder(encoders),
    )


@TASKS.register("table")
def table(*, seed: int = 0, path: str = "", target: str = "", modalities: dict | None = None) -> Task:
    if not path or not target:
        raise ValueError("table: set path (a .csv or .parquet file) and target (the label column)")
    return build_table_task(read_table(Path(path).expanduser()), target, modalities or {}, seed, "table")


def _array_spec(name: str, array: np.ndarray, tokens: list[str]) -> ModalitySpec:
    shape = tuple(int(d) for d in array.shape[1:])
    if name in tokens:
        if array.ndim != 2 or not np.issubdtype(array.dtype, np.integer) or array.min() < 0:
            raise ValueError(
                f"arrays: token modality {name!r} must be non-negative integer ids of shape (N, T)"
            )
        return ModalitySpec(name, "tokens", shape, vocab_size=int(array.max()) + 1)
    kinds = {2: "vector", 3: "sequence", 4: "image"}
    if array.ndim not in kinds:
        raise ValueError(f"arrays: {name!r} has shape {array.shape}; use (N, F), (N, T, C) or (N, C, H, W)")
    return ModalitySpec(name, kinds[array.ndim], shape)


@TASKS.register("arrays")
def arrays(*, seed: int = 0, path: str = "", target: str = "label", tokens: list | None = None) -> Task:
    file = Path(path).expanduser()
    if not path or not file.is_file():
        raise ValueError(f"arrays: no .npz file at {path!r}")
    with np.load(file, allow_pickle=False) as data:
        content = {k: data[k] for k in data.files}
    if target not in content:
        raise ValueError(
            f"arrays: {file.name} has no label array {target!r}; arrays: {', '.join(sorted(content))}"
        )
    labels, classes = _class_ids(content.pop(target), "arrays")
    if not content:
        raise ValueError(f"arrays: {file.name} holds no modality array besides {target!r}")
    specs = {name: _array_spec(name, array, list(tokens or [])) for name, array in sorted(content.items())}
    for name, array in content.items():
        if len(array) != len(labels):
            raise ValueError(f"arrays: {name!r} has {len(array)} rows but the label has {len(labels)}")
    inputs = {
        name: torch.as_tensor(array, dtype=torch.long if specs[name].kind == "tokens" else torch.float32)
        for name, array in content.items()
    }
    splits = split_tensors(inputs, labels, outer_parts(labels, seed))
    standardize(splits, specs)
    return Task(
        name="arrays",
        modalities=specs,
        splits=splits,
        num_classes=len(classes),
        class_names=tuple(str(c) for c in classes),
    )
