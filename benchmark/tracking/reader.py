"""Reading a study's record back from MLflow, read-only, as plain dicts and arrays (no MLflow entity
leaves this module): what the report and the checks in bench/ read.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Any

# MLflow prints a "View run at <url>" line whenever a run on a tracking server ends.
os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
# ... and a progress bar for every artifact it downloads (the report reads one per final run).
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

import numpy as np
from mlflow.tracking import MlflowClient

from benchmark.errors import ConfigError
from benchmark.schema import KIND, MODEL, MODEL_FLAVOR, PREDICTIONS, PREDICTOR
from benchmark.uris import redact_uri, scrub

SQL_SCHEMES = ("sqlite", "postgresql", "mysql", "mssql")


def read_study_runs(
    tracking_uri: str, experiment_name: str, kinds: tuple[str, ...], *, direct_sql: bool = True
) -> list[dict[str, Any]]:
    """Every active run of the study whose ``benchmark.kind`` is in ``kinds``, as plain dicts
    (run_id, name, artifact_uri, status, start_time, end_time, tags, metrics: the latest value of each).

    Read-only: a store or experiment that does not exist is a ConfigError, never created. On a
    database-backed store the rows are read with three SQL queries on MLflow's tables (runs, tags,
    latest_metrics), an order of magnitude faster than ``search_runs`` building ORM objects for
    thousands of runs; through a tracking server (http) ``search_runs`` is used. A test checks the two
    paths agree.
    """
    if tracking_uri.startswith("sqlite:///") and not Path(tracking_uri[len("sqlite:///") :]).is_file():
        raise ConfigError(f"no MLflow store at {tracking_uri}; run the study first")
    client = MlflowClient(tracking_uri=tracking_uri)
    try:
        experiment = client.get_experiment_by_name(experiment_name)
    except Exception as err:
        message = " ".join(str(err).split())[:200]
        raise ConfigError(
            f"cannot read MLflow tracking store {redact_uri(tracking_uri)}: {scrub(message, tracking_uri)}"
        ) from None
    if experiment is None:
        raise ConfigError(
            f"the store {redact_uri(tracking_uri)} has no study {experiment_name!r}; run it first"
        )
    if direct_sql and tracking_uri.split(":", 1)[0].split("+", 1)[0] in SQL_SCHEMES:
        return _read_runs_sql(tracking_uri, experiment.experiment_id, kinds)
    return _read_runs_client(client, experiment.experiment_id, kinds)


def experiment_id(tracking_uri: str, experiment_name: str) -> str | None:
    """The study's experiment id in the store, or None where the store cannot be read or has no such
    study (the caller decides whether that is an error). Read-only: MLflow would create a missing
    SQLite file, so one that is not there is not opened."""
    if tracking_uri.startswith("sqlite:///") and not os.path.exists(tracking_uri[len("sqlite:///") :]):
        return None
    try:
        experiment = MlflowClient(tracking_uri=tracking_uri).get_experiment_by_name(experiment_name)
    except Exception:
        return None
    return None if experiment is None else experiment.experiment_id


def _read_runs_client(
    client: MlflowClient, experiment_id: str, kinds: tuple[str, ...]
) -> list[dict[str, Any]]:
    rows = []
    for kind in kinds:
        token = None
        while True:
            page = client.search_runs(
                [experiment_id], f"tags.`{KIND}` = '{kind}'", max_results=50000, page_token=token
            )
            rows += [
                {
                    "run_id": run.info.run_id,
                    "name": run.info.run_name,
                    "artifact_uri": run.info.artifact_uri,
                    "status": run.info.status,
                    "start_time": run.info.start_time,
                    "end_time": run.info.end_time,
                    "tags": dict(run.data.tags),
                    "metrics": dict(run.data.metrics),
                }
                for run in page
            ]
            token = page.token
            if not token:
                break
    return rows


def _read_runs_sql(tracking_uri: str, experiment_id: str, kinds: tuple[str, ...]) -> list[dict[str, Any]]:
    import sqlalchemy as sa

    selected = (
        "SELECT r.run_uuid FROM runs r JOIN tags k ON k.run_uuid = r.run_uuid "
        "WHERE r.experiment_id = :experiment AND r.lifecycle_stage = 'active' "
        "AND k.key = :kind_key AND k.value IN :kinds"
    )
    parameters = {"experiment": int(experiment_id), "kind_key": KIND, "kinds": list(kinds)}
    engine = sa.create_engine(tracking_uri)
    try:
        with engine.connect() as db:

            def query(sql: str):
                statement = sa.text(sql).bindparams(sa.bindparam("kinds", expanding=True))
                return db.execute(statement, parameters)

            runs = {
                run_id: {
                    "run_id": run_id,
                    "name": name,
                    "artifact_uri": artifact_uri,
                    "status": status,
                    "start_time": start,
                    "end_time": end,
                    "tags": {},
                    "metrics": {},
                }
                for run_id, name, artifact_uri, status, start, end in query(
                    "SELECT run_uuid, name, artifact_uri, status, start_time, end_time FROM runs "
                    f"WHERE run_uuid IN ({selected})"
                )
            }
            for run_id, key, value in query(
                f"SELECT run_uuid, key, value FROM tags WHERE run_uuid IN ({selected})"
            ):
                runs[run_id]["tags"][key] = value
            metrics_sql = (
                f"SELECT run_uuid, key, value, is_nan FROM latest_metrics WHERE run_uuid IN ({selected})"
            )
            for run_id, key, value, is_nan in query(metrics_sql):
                runs[run_id]["metrics"][key] = math.nan if is_nan else float(value)
    finally:
        engine.dispose()
    return list(runs.values())


def read_predictions(
    tracking_uri: str, runs: list[tuple[str, str]]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(run id, artifact URI) pairs -> {run id: (test labels, test predictions)} for the runs that
    logged them (runs from before predictions were logged have none). Local artifact folders are read
    in place; others are downloaded through the tracking client."""
    from urllib.parse import unquote, urlparse

    client = MlflowClient(tracking_uri=tracking_uri)
    found: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for run_id, artifact_uri in runs:
            parsed = urlparse(artifact_uri or "")
            if parsed.scheme in ("", "file"):
                path = Path(unquote(parsed.path)) / PREDICTIONS
                if not path.is_file():
                    continue
            else:
                try:
                    path = Path(client.download_artifacts(run_id, PREDICTIONS, folder))
                except Exception:  # absent artifact: a run from before predictions were logged
                    continue
            with np.load(path) as data:
                found[run_id] = (data["labels"], data["predictions"])
    return found


def saved_model(client: MlflowClient, run_id: str, flavor: str) -> Any:
    """The model saved in ``run_id``'s ``model`` folder (``pytorch``: a torch module on the CPU;
    ``sklearn``: a scikit-learn pipeline), fetched through ``client``'s store."""
    with tempfile.TemporaryDirectory() as folder:
        path = client.download_artifacts(run_id, MODEL, folder)
        if flavor == "pytorch":
            import mlflow.pytorch

            return mlflow.pytorch.load_model(path, map_location="cpu")
        import mlflow.sklearn

        return mlflow.sklearn.load_model(path)


def run_model(tracking_uri: str, run_id: str) -> tuple[Any, Any]:
    """The model a final run saved, and its saved ``Predictor`` (a task built from a table) or None."""
    client = MlflowClient(tracking_uri=tracking_uri)
    flavor = client.get_run(run_id).data.tags.get(MODEL_FLAVOR)
    if flavor is None:
        raise ConfigError(f"run {run_id} saved no model")
    if not any(entry.path == PREDICTOR for entry in client.list_artifacts(run_id)):
        return saved_model(client, run_id, flavor), None
    from benchmark.tracking.served import load_predictor

    with tempfile.TemporaryDirectory() as folder:
        predictor = load_predictor(client.download_artifacts(run_id, PREDICTOR, folder))
    return predictor.model, predictor
