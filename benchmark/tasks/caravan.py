"""Caravan insurance purchase (``caravan``; COIL 2000 challenge, van der Putten; UCI).

5,822 customers of an insurer; label ``Purchase``: whether they hold a caravan policy (348 yes, 6 %).
Two sources:
- ``sociodemographic``: 43 statistics of the customer's zip code (a census-like neighbourhood table,
  ``MOSTYPE`` ... ``MKOOPKLA``);
- ``products``: 42 contributions to and counts of the customer's own policies (the insurer's records,
  ``PWAPART`` ... ``ABYSTAND``).
1,161 rows repeat another row's features exactly: identical rows are one sample, before any split, and
the groups whose copies disagree on the label are dropped (5,122 customers remain). Left out: the
challenge's 4,000-customer test set, which the archive does not ship.
"""

from __future__ import annotations

import pandas as pd

from benchmark.data import dataset_path
from benchmark.tasks.base import TASKS, Task
from benchmark.tasks.custom import build_table_task
from benchmark.tasks.tabular import deduplicate, require_columns

MEMBER = "ISLP/data/Caravan.csv"
LABEL = "Purchase"
FIRST_PRODUCT = "PWAPART"  # the columns from here on are the insurer's records


def caravan_modalities(frame: pd.DataFrame) -> dict[str, dict[str, list[str]]]:
    features = [c for c in frame.columns if c != LABEL]
    require_columns(frame, (FIRST_PRODUCT,), "caravan")
    cut = features.index(FIRST_PRODUCT)
    return {"sociodemographic": {"numeric": features[:cut]}, "products": {"numeric": features[cut:]}}


def build_caravan(frame: pd.DataFrame, *, seed: int) -> Task:
    require_columns(frame, (LABEL, FIRST_PRODUCT), "caravan")
    frame = deduplicate(frame, [c for c in frame.columns if c != LABEL], LABEL)
    return build_table_task(frame, LABEL, caravan_modalities(frame), seed, "caravan")


@TASKS.register("caravan")
def caravan(*, seed: int = 0, data_dir: str | None = None) -> Task:
    return build_caravan(pd.read_csv(dataset_path("caravan", data_dir) / MEMBER), seed=seed)
