"""A trained model with what it needs to score raw inputs: the modalities it reads, the class names,
and for a task built from a table, how a row becomes its inputs (``tasks.rows.RowEncoder``).

It is what ``benchmark predict`` and ``benchmark.winner`` score with, and, saved as an MLflow
``pyfunc`` model beside the run's ``model`` (tasks built from a table), what ``mlflow models serve``
or ``mlflow.pyfunc.load_model(...).predict(frame)`` serves: a table in, one class name per row out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from benchmark.metrics import predict as network_predict
from benchmark.scores import classification_scores
from benchmark.tasks import Split

PREDICTED = "predicted"  # the column of class names a table's rows get


@dataclass
class Predictor:
    model: Any  # a torch module (a network) or a scikit-learn pipeline (a reference model)
    modalities: tuple[str, ...]
    classes: tuple[str, ...]
    rows: Any = None  # tasks.rows.RowEncoder where the task was built from a table
    batch_size: int = 256

    def inputs(self, data: pd.DataFrame | Mapping[str, Any]) -> dict[str, torch.Tensor]:
        """The model's inputs from a table's raw rows (a task built from a table) or from a mapping of
        modality name to an array in the task's own format, (N, *shape)."""
        if isinstance(data, pd.DataFrame):
            if self.rows is None:
                raise ValueError(
                    "this model's task was not built from a table: pass its inputs as a mapping of "
                    f"modality to array ({', '.join(self.modalities)})"
                )
            return self.rows(data, list(self.modalities))
        missing = [m for m in self.modalities if m not in data]
        if missing:
            raise ValueError(
                f"no input for modality {missing[0]!r}; the model reads {', '.join(self.modalities)}"
            )
        return {m: torch.as_tensor(data[m]) for m in self.modalities}  # a tensor or an array

    def predict_ids(self, data: pd.DataFrame | Mapping[str, Any]) -> np.ndarray:
        """The predicted class id of every row, (N,) int64."""
        inputs = self.inputs(data)
        if hasattr(self.model, "state_dict"):
            rows = len(next(iter(inputs.values())))
            split = Split(inputs, torch.zeros(rows, dtype=torch.long))
            return network_predict(self.model.cpu(), split, self.batch_size).cpu().numpy()
        return np.asarray(self.model.predict(inputs), dtype=np.int64)

    def predict(self, data: pd.DataFrame | Mapping[str, Any]) -> np.ndarray:
        """The predicted class name of every row, (N,) strings."""
        return np.asarray(self.classes, dtype=object)[self.predict_ids(data)]

    def predict_table(self, frame: pd.DataFrame) -> pd.DataFrame:
        """One row per input row: its predicted class name (what the served model answers)."""
        return pd.DataFrame({PREDICTED: self.predict(frame)}, index=frame.index)

    def score(self, split: Split) -> dict[str, float]:
        """The suite's scores of this model on a split (what a run logged as ``test/...``)."""
        labels = split.labels.cpu().numpy()
        return classification_scores(labels, self.predict_ids(split.inputs), len(self.classes))
