"""Distant metastasis of breast cancer (``gse7390``; the TRANSBIG cohort, Desmedt et al., 2007, GEO
GSE7390, as shipped with scikit-survival).

198 untreated node-negative patients; label ``e.tdm``: distant metastasis observed (51) or not (147).
Two sources:
- ``genes``: the 76 Affymetrix probes of the Wang et al. (2005) prognostic signature;
- ``clinical``: age, tumour size, grade (with its "unknown" level) and oestrogen-receptor status.
Leak closed: ``t.tdm`` is the time to metastasis or censoring, and is never read. The label ignores
censoring (a patient followed briefly counts as "no metastasis"); the signal is weak.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from scipy.io import arff

from benchmark.data import dataset_path
from benchmark.tasks.base import TASKS, Task
from benchmark.tasks.custom import build_table_task
from benchmark.tasks.tabular import require_columns

MEMBER = "sksurv/datasets/data/breast_cancer_GSE7390-metastasis.arff"
LABEL = "e.tdm"
NEVER_FEATURES = ("t.tdm",)
CLINICAL_NUMBERS = ("age", "size")
CLINICAL_CATEGORIES = ("grade", "er")


def read_gse7390(path: Path) -> pd.DataFrame:
    data, _ = arff.loadarff(path)
    frame = pd.DataFrame(data)
    for column in frame.columns:  # nominal attributes come back as bytes
        if frame[column].dtype == object:
            frame[column] = frame[column].str.decode("utf-8")
    return frame


def gse7390_modalities(frame: pd.DataFrame) -> dict[str, dict[str, list[str]]]:
    known = {LABEL, *NEVER_FEATURES, *CLINICAL_NUMBERS, *CLINICAL_CATEGORIES}
    return {
        "genes": {"numeric": [c for c in frame.columns if c not in known]},
        "clinical": {"numeric": list(CLINICAL_NUMBERS), "categorical": list(CLINICAL_CATEGORIES)},
    }


def build_gse7390(frame: pd.DataFrame, *, seed: int) -> Task:
    require_columns(frame, (LABEL, *CLINICAL_NUMBERS, *CLINICAL_CATEGORIES), "gse7390")
    return build_table_task(frame, LABEL, gse7390_modalities(frame), seed, "gse7390")


@TASKS.register("gse7390")
def gse7390(*, seed: int = 0, data_dir: str | None = None) -> Task:
    return build_gse7390(read_gse7390(dataset_path("gse7390", data_dir) / MEMBER), seed=seed)
