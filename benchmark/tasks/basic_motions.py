"""BasicMotions (``basic-motions``): standing, walking, running or badminton, from a smartwatch.

80 series (the archive's train and test files together; this suite draws its own splits), 20 per
activity, 6 channels x 100 steps (10 Hz for 10 s). Two sequence modalities, following the archive's
description (the file header names only "3D accelerometer and a 3D gyroscope"; the UEA archive
lists the accelerometer first): ``acc`` = dimensions 1-3 and ``gyro`` = dimensions 4-6. Left out:
nothing; the series carry no subject id, so splits cannot be grouped by person.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from benchmark.data import DataError, dataset_path
from benchmark.tasks.base import (
    TASKS,
    ModalitySpec,
    Task,
    make_task,
)

MEMBER = "sktime/datasets/data/BasicMotions/BasicMotions_{}.ts"
CHANNELS, STEPS = 6, 100
MODALITIES = {"acc": slice(0, 3), "gyro": slice(3, 6)}


def read_ts(path: Path) -> tuple[np.ndarray, list[str], list[str]]:
    """A multivariate ``.ts`` file: (series (N, steps, channels), labels, class names from the header)."""
    series, labels, classes, in_data = [], [], [], False
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not in_data:
            if line.lower().startswith("@classlabel"):
                classes = line.split()[2:]
            in_data = line.lower() == "@data"
            continue
        *dimensions, label = line.split(":")
        try:
            rows = [[float(v) for v in d.split(",")] for d in dimensions]
        except ValueError:
            raise DataError(f"{path.name}, line {number}: not numbers") from None
        if len(rows) != CHANNELS or any(len(r) != STEPS for r in rows):
            lengths = "/".join(str(len(r)) for r in rows)
            raise DataError(
                f"{path.name}, line {number}: expected {CHANNELS} x {STEPS} values, got {lengths}"
            )
        values = np.array(rows)  # (channels, steps)
        series.append(values.T)
        labels.append(label)
    if not series or not classes:
        raise DataError(f"{path.name}: no @classLabel header or no data")
    return np.stack(series), labels, classes


def build_basic_motions(series: np.ndarray, labels: list[str], classes: list[str], seed: int) -> Task:
    unknown = sorted(set(labels) - set(classes))
    if unknown:
        raise DataError(f"BasicMotions: label {unknown[0]!r} is not among the header's classes")
    y = torch.as_tensor([classes.index(label) for label in labels], dtype=torch.long)
    x = torch.as_tensor(series, dtype=torch.float32)
    inputs = {name: x[:, :, channels].contiguous() for name, channels in MODALITIES.items()}
    specs = {name: ModalitySpec(name, "sequence", (STEPS, 3)) for name in MODALITIES}
    return make_task("basic-motions", inputs, y, specs, seed=seed)


@TASKS.register("basic-motions")
def basic_motions(*, seed: int = 0, data_dir: str | None = None) -> Task:
    folder = dataset_path("basic-motions", data_dir)
    parts = [read_ts(folder / MEMBER.format(part)) for part in ("TRAIN", "TEST")]
    if parts[0][2] != parts[1][2]:
        raise DataError("BasicMotions: the train and test files list different classes")
    series = np.concatenate([p[0] for p in parts])
    return build_basic_motions(series, [*parts[0][1], *parts[1][1]], parts[0][2], seed)
