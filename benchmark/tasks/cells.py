"""Cell segmentation quality from four fluorescence channels (``cells``; Hill et al., 2007).

2,019 cells of a high-content screen; label ``class``: poorly (PS, 1,300) or well (WS, 719) segmented.
Each channel images a different stain, and its features are computed from that channel alone:
- ``ch1``: 28 features of channel 1 (the cell body and nucleus: area, shape, fibre length and width,
  intensity);
- ``ch3``: 13 intensity and co-occurrence texture features of channel 3;
- ``ch24``: channel 4's 13 features (intensity, co-occurrence, fibre alignment, spots) with channel 2's
  two intensity features (too few to stand alone).
Left out: ``case``, the original train/test flag of the screen (a leak: it is not a property of the
cell), and the row names.
"""

from __future__ import annotations

import pandas as pd

from benchmark.tasks.base import TASKS, Task
from benchmark.tasks.custom import build_table_task
from benchmark.tasks.rdata import read_member_table
from benchmark.tasks.tabular import require_columns

LABEL = "class"
NEVER_FEATURES = ("case",)
CHANNELS = {"ch1": ("_ch_1",), "ch3": ("_ch_3",), "ch24": ("_ch_2", "_ch_4")}


def cells_modalities(frame: pd.DataFrame) -> dict[str, dict[str, list[str]]]:
    features = [c for c in frame.columns if c not in (LABEL, *NEVER_FEATURES)]
    return {
        name: {"numeric": [c for c in features if c.endswith(suffixes)]}
        for name, suffixes in CHANNELS.items()
    }


def build_cells(frame: pd.DataFrame, *, seed: int) -> Task:
    require_columns(frame, (LABEL,), "cells")
    return build_table_task(frame, LABEL, cells_modalities(frame), seed, "cells")


@TASKS.register("cells")
def cells(*, seed: int = 0, data_dir: str | None = None) -> Task:
    return build_cells(read_member_table("cells", data_dir), seed=seed)
