"""Grant success at the University of Melbourne (``grants``; Kaggle 2011, as used in Applied
Predictive Modeling, ch. 12).

8,190 applications (2005-2008) before de-duplication; label ``class``: successful or unsuccessful. Two
sources: the application form and the university's records of the people on the team:
- ``application``: research-field (RFCD) and socio-economic (SEO) code shares, sponsor (291 codes),
  grant category, contract value band, month, weekday and day of the year;
- ``team``: per-role counts, birth decades, countries, languages, PhDs, departments and faculties,
  each role's earlier successful and unsuccessful grants, and A*/A/B/C publication counts.
Applications whose features are identical are one sample (rows whose copies disagree on the label are
dropped), before any split: 7,971 remain. Known from the competition: an unknown contract value band and earlier
successes are very strong. Left out: the 518-application 2008 holdout of the book, and the row names.
"""

from __future__ import annotations

import pandas as pd

from benchmark.tasks.base import TASKS, Task
from benchmark.tasks.custom import build_table_task
from benchmark.tasks.rdata import read_member_table
from benchmark.tasks.tabular import deduplicate, require_columns

LABEL = "class"
APPLICATION_PREFIXES = ("rfcd_", "seo_")
APPLICATION_CATEGORIES = ("sponsor_code", "contract_value_band", "category_code", "month", "weekday")
APPLICATION_NUMBERS = ("day",)


def grants_modalities(frame: pd.DataFrame) -> dict[str, dict[str, list[str]]]:
    codes = [c for c in frame.columns if c.startswith(APPLICATION_PREFIXES)]
    application = {*codes, *APPLICATION_CATEGORIES, *APPLICATION_NUMBERS}
    return {
        "application": {
            "numeric": [*codes, *APPLICATION_NUMBERS],
            "categorical": list(APPLICATION_CATEGORIES),
        },
        "team": {"numeric": [c for c in frame.columns if c not in application and c != LABEL]},
    }


def build_grants(frame: pd.DataFrame, *, seed: int) -> Task:
    require_columns(frame, (LABEL, *APPLICATION_CATEGORIES, *APPLICATION_NUMBERS), "grants")
    frame = deduplicate(frame, [c for c in frame.columns if c != LABEL], LABEL)
    return build_table_task(frame, LABEL, grants_modalities(frame), seed, "grants")


@TASKS.register("grants")
def grants(*, seed: int = 0, data_dir: str | None = None) -> Task:
    return build_grants(read_member_table("grants", data_dir), seed=seed)
