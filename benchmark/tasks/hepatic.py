"""Drug-induced liver injury (``hepatic``; Kuhn & Johnson, Applied Predictive Modeling, 2013).

281 compounds; label ``class``: none (106), mild (145) or severe (30) hepatic injury. Two sources, the
standard design of QSAR studies:
- ``bio``: 184 in-vitro biological assay activities (wet lab);
- ``chem``: 192 chemical fingerprint counts and descriptors (computed from the structure).
A hard task with a small "severe" class; a linear model gains nothing from concatenation (a case where
fusion may not help). Left out: the row names.
"""

from __future__ import annotations

import pandas as pd

from benchmark.tasks.base import TASKS, Task
from benchmark.tasks.custom import build_table_task
from benchmark.tasks.rdata import read_member_table
from benchmark.tasks.tabular import require_columns

LABEL = "class"
PREFIXES = {"bio": "bio_assay_", "chem": "chem_fp_"}


def hepatic_modalities(frame: pd.DataFrame) -> dict[str, dict[str, list[str]]]:
    return {
        name: {"numeric": [c for c in frame.columns if c.startswith(prefix)]}
        for name, prefix in PREFIXES.items()
    }


def build_hepatic(frame: pd.DataFrame, *, seed: int) -> Task:
    require_columns(frame, (LABEL,), "hepatic")
    return build_table_task(frame, LABEL, hepatic_modalities(frame), seed, "hepatic")


@TASKS.register("hepatic")
def hepatic(*, seed: int = 0, data_dir: str | None = None) -> Task:
    return build_hepatic(read_member_table("hepatic", data_dir), seed=seed)
