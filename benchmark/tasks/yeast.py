"""Yeast gene function (``yeast``; the MULAN multi-label set of Elisseeff & Weston, 2001).

2,417 genes; two sources measured separately:
- ``expression``: 79 micro-array expression conditions (``Att1`` ... ``Att79``);
- ``phylogeny``: the gene's phylogenetic profile over 24 genomes (``Att80`` ... ``Att103``).
The column names are anonymous; the 79 + 24 cut is the documented composition, and the data agree
(correlations within each block are three times those across it).
``label``: one of the 14 functional classes as a yes/no task (default ``Class1``, 762 of 2,417 genes;
``Class3``, 983, also has signal in both views). Left out: the other 13 labels.
"""

from __future__ import annotations

import pandas as pd

from benchmark.data import dataset_path
from benchmark.tasks.base import TASKS, Task
from benchmark.tasks.custom import build_table_task
from benchmark.tasks.tabular import require_columns

MEMBER = "river/datasets/yeast.csv.gz"
EXPRESSION = tuple(f"Att{i}" for i in range(1, 80))
PHYLOGENY = tuple(f"Att{i}" for i in range(80, 104))
LABELS = tuple(f"Class{i}" for i in range(1, 15))


def build_yeast(frame: pd.DataFrame, *, seed: int, label: str) -> Task:
    require_columns(frame, (*EXPRESSION, *PHYLOGENY, label), "yeast")
    modalities = {"expression": {"numeric": list(EXPRESSION)}, "phylogeny": {"numeric": list(PHYLOGENY)}}
    return build_table_task(frame[[*EXPRESSION, *PHYLOGENY, label]], label, modalities, seed, "yeast")


@TASKS.register("yeast")
def yeast(*, seed: int = 0, data_dir: str | None = None, label: str = "Class1") -> Task:
    if label not in LABELS:
        raise ValueError(f"label must be one of Class1 ... Class14; got {label!r}")
    return build_yeast(pd.read_csv(dataset_path("yeast", data_dir) / MEMBER), seed=seed, label=label)
