"""Writing and replacing only what the suite itself wrote.

A folder the suite replaces (a report) carries a manifest naming the files it wrote. It is replaced
only when everything in it is one of those files, so a mistyped ``--out``, ``report_dir`` or study
name can never delete a user's checkout, another study's report or any other file. Everything else
the suite writes goes through a temporary file beside the target and an atomic rename.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from benchmark.errors import ConfigError

MANIFEST = ".fusionbench-report"  # one file name per line: the files the report wrote
REPORT_TITLE = "Fusion benchmark report"  # a report's README.md begins "# <title>: <study>"
LEGACY_NAMES = ("README.md", "findings.md", "report.html", "tables.tex")
LEGACY_SUFFIXES = (".csv", ".png")


def _listed(folder: Path) -> set[str] | None:
    """The files a report wrote into ``folder`` by its manifest, or by the shape of a report written
    before manifests existed (only report-named plain files, a README that is a report); else None."""
    manifest = folder / MANIFEST
    if manifest.is_file():
        return {line for line in manifest.read_text().splitlines() if line} | {MANIFEST}
    readme = folder / "README.md"
    if readme.is_file() and readme.read_text(errors="replace").startswith(f"# {REPORT_TITLE}:"):
        return {
            p.name
            for p in folder.iterdir()
            if p.is_file() and (p.name in LEGACY_NAMES or p.suffix in LEGACY_SUFFIXES)
        }
    return None


def foreign_entry(folder: Path) -> Path | None:
    """The first entry of ``folder`` that a report did not write (None: the folder may be replaced)."""
    if not folder.exists():
        return None
    if not folder.is_dir():
        return folder
    entries = sorted(folder.iterdir())
    owned = _listed(folder) or set()
    return next((p for p in entries if p.name not in owned or not p.is_file() or p.is_symlink()), None)


def check_replaceable(folder: Path, what: str = "report folder") -> None:
    """Refuse, in one line, a target that holds anything the suite did not write."""
    foreign = foreign_entry(folder)
    if foreign is None:
        return
    if foreign == folder:
        raise ConfigError(f"the {what} {folder} exists and is not a folder; choose another path")
    raise ConfigError(
        f"the {what} {folder} holds {foreign.name!r}, which no report wrote; it is never replaced: "
        f"choose an empty or new folder (report_dir=..., name=... or --out ...)"
    )


def replace_folder(folder: Path, build: Callable[[Path], None]) -> Path:
    """Build the folder's new content in a temporary folder beside it, write its manifest, then swap it
    in: the old folder is removed only after it was checked to hold nothing but its own report files.
    On any failure the old folder stays as it was and no temporary folder is left behind."""
    folder = folder.resolve()
    check_replaceable(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-new-", dir=folder.parent))
    retired: Path | None = None
    try:
        build(staging)
        names = sorted(p.name for p in staging.iterdir())
        (staging / MANIFEST).write_text("".join(f"{name}\n" for name in names))
        check_replaceable(folder)  # again: something may have appeared while the report was built
        if folder.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{folder.name}-old-", dir=folder.parent))
            folder.rename(retired / folder.name)
        staging.rename(folder)
    except BaseException:
        if retired is not None and not folder.exists():  # put the old report back
            (retired / folder.name).rename(folder)
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        if retired is not None:
            shutil.rmtree(retired, ignore_errors=True)
    return folder


def write_text_atomic(path: Path, text: str) -> None:
    """Replace ``path``'s content in one rename: a crash leaves the old file or the new one, whole."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(handle, "w") as out:
            out.write(text)
        if path.exists():
            shutil.copymode(path, temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
