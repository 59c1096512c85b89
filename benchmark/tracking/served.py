"""The pyfunc face of a ``benchmark.predictor.Predictor`` (its own module: importing ``mlflow.pyfunc``
takes time and warns about MLflow's own type hints, so only saving or loading a predictor does)."""

from __future__ import annotations

import logging
import warnings
from typing import Any

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)
    import mlflow.pyfunc

import pandas as pd


class ServedPredictor(mlflow.pyfunc.PythonModel):
    """A table of raw rows in, a ``predicted`` class name per row out."""

    def __init__(self, predictor: Any) -> None:
        self.predictor = predictor

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.DataFrame:
        return self.predictor.predict_table(pd.DataFrame(model_input))


def save_predictor(path: str, predictor: Any, requirements: list[str]) -> None:
    """Saved with no signature (the row encoder checks the table's columns and reads its cells as the
    task did; a schema would reject a category column that happens to hold numbers). MLflow's two
    warnings on every save (no signature inferred; the model is pickled, as the ``model`` is) would
    print once per saved model in a study's output, so they are kept to its log level ERROR."""
    logger = logging.getLogger("mlflow.pyfunc")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        mlflow.pyfunc.save_model(path, python_model=ServedPredictor(predictor), pip_requirements=requirements)
    finally:
        logger.setLevel(level)


def load_predictor(path: str) -> Any:
    """The ``Predictor`` inside a saved pyfunc predictor."""
    return mlflow.pyfunc.load_model(path).unwrap_python_model().predictor
