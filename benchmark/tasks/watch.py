"""Smartwatch shoulder exercises (``watch``): which of 7 physiotherapy exercises a recording shows.

140 recordings at 50 Hz (947-2618 steps) from 10 subjects, each doing every exercise twice (20 per
class). Two modalities, chosen by channel name from the file (``ax ay az``, ``wx wy wz``):
- ``acc``: the 3-axis accelerometer and ``gyro``: the 3-axis gyroscope, each a (length, 3) sequence:
  every recording is linearly resampled to ``length`` steps over its whole duration.
Left out: the duration itself (lost by resampling), the arm side and the subject (identifying: by
default the splits are subject-grouped, so no subject is in two of train/val/test and the score says
how well a model carries over to new people).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from benchmark.data import DataError, dataset_path
from benchmark.tasks.base import TASKS, ModalitySpec, Task, make_task

MEMBER = "seglearn/data/watch_dataset.npy"
CHANNELS = {"acc": ("ax", "ay", "az"), "gyro": ("wx", "wy", "wz")}


def resample(series: np.ndarray, length: int) -> np.ndarray:
    """(T, C) -> (length, C) by linear interpolation over the whole recording."""
    source = np.linspace(0.0, 1.0, len(series))
    target = np.linspace(0.0, 1.0, length)
    return np.stack([np.interp(target, source, series[:, c]) for c in range(series.shape[1])], axis=1)


def read_watch(path: Path) -> dict:
    """The pickled dict the wheel ships (X, y, subject, side, X_labels, y_labels), checked."""
    try:
        data = np.load(path, allow_pickle=True).item()  # the package's own file, checksum-verified
    except (OSError, ValueError, AttributeError) as err:
        raise DataError(f"{path.name}: not the expected pickled dict ({err})") from None
    missing = [k for k in ("X", "y", "subject", "X_labels") if k not in data]
    if missing:
        raise DataError(f"{path.name}: missing {missing[0]!r}")
    absent = [c for names in CHANNELS.values() for c in names if c not in data["X_labels"]]
    if absent:
        raise DataError(f"{path.name}: no channel {absent[0]!r} (has {', '.join(data['X_labels'])})")
    if not len(data["X"]) == len(data["y"]) == len(data["subject"]):
        raise DataError(f"{path.name}: recordings, labels and subjects differ in number")
    return data


def build_watch(data: dict, *, seed: int, length: int, grouped: bool) -> Task:
    if length < 8:
        raise ValueError(f"length must be at least 8, got {length}")
    labels = torch.as_tensor(np.asarray(data["y"], dtype=np.int64))
    columns = list(data["X_labels"])
    inputs = {}
    for name, channels in CHANNELS.items():
        index = [columns.index(c) for c in channels]
        stacked = np.stack([resample(np.asarray(x, dtype=np.float64)[:, index], length) for x in data["X"]])
        inputs[name] = torch.as_tensor(stacked, dtype=torch.float32)
    specs = {name: ModalitySpec(name, "sequence", (length, len(ch))) for name, ch in CHANNELS.items()}
    groups = np.asarray(data["subject"]) if grouped else None
    return make_task("watch", inputs, labels, specs, seed=seed, groups=groups)


@TASKS.register("watch")
def watch(*, seed: int = 0, data_dir: str | None = None, length: int = 128, grouped: bool = True) -> Task:
    return build_watch(
        read_watch(dataset_path("watch", data_dir) / MEMBER), seed=seed, length=length, grouped=grouped
    )
