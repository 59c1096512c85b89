"""A full disk is a clean stop: real runs on a small tmpfs (mounting one needs root; skipped elsewhere)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from optuna.trial import TrialState

from tests.conftest import PYTHON, cli_env, tiny_overrides
from tests.store import Store
from tests.test_end_to_end import assert_complete_study

ONE_TASK = "tasks=[{name:synth-redundancy,n_modalities:2,n_samples:240}]"  # 5 combinations


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[tuple[Path, Callable[[int], None]]]:
    """A tmpfs of 8 MB (the run's 4 MB reserve, then room for about two combinations) and a resize."""
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if made.returncode:
        pytest.skip(f"cannot mount a small tmpfs here: {made.stderr.strip()}")

    def resize(megabytes: int) -> None:
        subprocess.run(["mount", "-o", f"remount,size={megabytes}m", str(mount)], check=True)

    try:
        yield mount, resize
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _run(workdir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [PYTHON, "-m", "benchmark", "run", *tiny_overrides(workdir, ONE_TASK, *extra), "--no-progress"]
    return subprocess.run(command, capture_output=True, text=True, env=cli_env(), timeout=600)


def _nothing_running(store: Store) -> None:
    assert all(r.info.status != "RUNNING" for r in store.runs())
    every = [t for trials in store.all_studies().values() for t in trials]
    assert not any(t.state == TrialState.RUNNING for t in every)


@pytest.mark.parametrize("workers", [1, pytest.param(2, marks=pytest.mark.slow)])
def test_a_full_disk_stops_in_one_line_and_a_rerun_with_space_resumes_exactly(small_disk, workers):
    mount, resize = small_disk
    workdir = mount / "w"
    full = _run(workdir, f"workers={workers}")
    assert full.returncode == 2, full.stdout + full.stderr
    lines = full.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"disk full at {workdir}"), full.stderr
    assert "MB free; this study needs about" in lines[0] and "rerun the same command to resume" in lines[0]
    store = Store(workdir)
    assert len(store.runs("combination")) > 0  # it stopped part-way, not before it began
    _nothing_running(store)

    resize(64)
    again = _run(workdir, f"workers={workers}")
    assert again.returncode == 0, again.stdout + again.stderr
    assert_complete_study(Store(workdir), combinations=5)


def test_a_disk_without_room_for_the_reserve_is_refused_before_any_work(small_disk):
    mount, resize = small_disk
    resize(2)
    workdir = mount / "w"
    result = _run(workdir)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"disk full at {workdir}"), result.stderr
    assert not (workdir / "mlflow.db").exists() and not (workdir / "optuna.journal").exists()
    assert not (workdir / ".disk-reserve").exists()
