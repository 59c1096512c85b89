"""Leaf species from scanned leaf images (``leaf-flavia``; features of Lakshika & Talagala, 2021, on the
Flavia images of Wu et al., 2007).

1,907 leaves of 32 species (50 to 77 each); label ``species``. Four feature views computed from the same
image (a multi-view set like mfeat):
- ``scagnostics``: 18 scatter-plot diagnostics of the polar and contour representations;
- ``geometry``: 21 shape measures (area, perimeter, rectangularity, convexity, ...);
- ``texture``: 5 grey-level co-occurrence measures (contrast, correlation, inverse difference moments,
  entropy);
- ``colour``: RGB means and standard deviations (6).
Left out, a leak: the 8 categorical descriptors (``apex``, ``base``, ``shape`` and the ``*_edge``
flags) are constant within each species (a label in disguise: a linear model reaches 0.99 with them).
"""

from __future__ import annotations

import pandas as pd

from benchmark.tasks.base import TASKS, Task
from benchmark.tasks.custom import build_table_task
from benchmark.tasks.rdata import read_member_table
from benchmark.tasks.tabular import require_columns

LABEL = "species"
NEVER_FEATURES = (
    "apex",
    "base",
    "shape",
    "denate_edge",
    "lobed_edge",
    "smooth_edge",
    "toothed_edge",
    "undulate_edge",
)
TEXTURE = ("contrast", "correlation_texture", "inverse_difference_moments", "entropy", "correlation")
COLOUR_SUFFIX = "_val"
SCAGNOSTIC_SUFFIXES = ("_polar", "_contour")


def leaf_modalities(frame: pd.DataFrame) -> dict[str, dict[str, list[str]]]:
    features = [c for c in frame.columns if c not in (LABEL, *NEVER_FEATURES)]
    scagnostics = [c for c in features if c.endswith(SCAGNOSTIC_SUFFIXES)]
    colour = [c for c in features if c.endswith(COLOUR_SUFFIX)]
    texture = [c for c in features if c in TEXTURE]
    geometry = [c for c in features if c not in {*scagnostics, *colour, *texture}]
    return {
        "scagnostics": {"numeric": scagnostics},
        "geometry": {"numeric": geometry},
        "texture": {"numeric": texture},
        "colour": {"numeric": colour},
    }


def build_leaf(frame: pd.DataFrame, *, seed: int) -> Task:
    require_columns(frame, (LABEL,), "leaf-flavia")
    return build_table_task(frame, LABEL, leaf_modalities(frame), seed, "leaf-flavia")


@TASKS.register("leaf-flavia")
def leaf_flavia(*, seed: int = 0, data_dir: str | None = None) -> Task:
    return build_leaf(read_member_table("leaf-flavia", data_dir), seed=seed)
