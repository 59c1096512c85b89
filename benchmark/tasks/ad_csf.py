"""Alzheimer's disease from cerebrospinal fluid (``ad-csf``; Craig-Schapiro et al., 2011).

333 subjects; label ``Class``: cognitively impaired (91) or control (242), from the clinical dementia
rating, which is not among the features. Three separately measured sources:
- ``proteins``: 124 analytes of an exploratory multiplex immunoassay panel;
- ``csf_core``: the three established CSF assays (tau, phosphorylated tau, amyloid-beta 42): a small,
  strong modality;
- ``apoe_demo``: APOE genotype (one-hot; E2E2 has 2 subjects), age and sex.
Left out: the row names.
"""

from __future__ import annotations

import pandas as pd

from benchmark.tasks.base import TASKS, Task
from benchmark.tasks.custom import build_table_task
from benchmark.tasks.rdata import read_member_table
from benchmark.tasks.tabular import require_columns

LABEL = "Class"
CSF_CORE = ("tau", "p_tau", "Ab_42")
DEMOGRAPHIC = ("age", "male")
GENOTYPE = "Genotype"


def ad_csf_modalities(frame: pd.DataFrame) -> dict[str, dict[str, list[str]]]:
    known = {LABEL, GENOTYPE, *CSF_CORE, *DEMOGRAPHIC}
    return {
        "proteins": {"numeric": [c for c in frame.columns if c not in known]},
        "csf_core": {"numeric": list(CSF_CORE)},
        "apoe_demo": {"numeric": list(DEMOGRAPHIC), "categorical": [GENOTYPE]},
    }


def build_ad_csf(frame: pd.DataFrame, *, seed: int) -> Task:
    require_columns(frame, (LABEL, GENOTYPE, *CSF_CORE, *DEMOGRAPHIC), "ad-csf")
    return build_table_task(frame, LABEL, ad_csf_modalities(frame), seed, "ad-csf")


@TASKS.register("ad-csf")
def ad_csf(*, seed: int = 0, data_dir: str | None = None) -> Task:
    return build_ad_csf(read_member_table("ad-csf", data_dir), seed=seed)
