"""Writing a study's record to MLflow.

Uses ``MlflowClient`` with explicit run ids (no fluent, thread-local active-run state). Every run is
opened through ``run()``, a context manager that ends it FINISHED, KILLED (Ctrl-C / SIGTERM) or
FAILED (an exception), so nothing is left RUNNING by an orderly exit. A SIGKILLed process can leave
RUNNING runs behind; ``sweep_stale_runs`` marks them KILLED on the next start.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# MLflow prints a "View run at <url>" line whenever a run on a tracking server ends.
os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
# ... and a progress bar for every artifact it downloads (the report reads one per final run).
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

import mlflow
import numpy as np
from mlflow.entities import Metric, Param, RunStatus, RunTag
from mlflow.tracking import MlflowClient

from benchmark.errors import ConfigError
from benchmark.records import RunRecord
from benchmark.schema import (
    COMBINATION_ID,
    KIND,
    MODEL,
    MODEL_FLAVOR,
    PARENT,
    PID,
    PREDICTIONS,
    PREDICTOR,
    STATUS,
    TAG,
)
from benchmark.tracking.reader import saved_model
from benchmark.uris import redact_uri, scrub

_MAX_BATCH = 900  # MLflow accepts at most 1000 metrics per log_batch call


def check_server(uri: str, timeout: float = 5.0) -> None:
    """Fail within seconds on an unreachable tracking server (MLflow's client would retry for minutes)."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout) as response:
            response.read()
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise ConfigError(
            f"cannot reach the MLflow tracking server {redact_uri(uri)}: {scrub(str(reason), uri)}"
        ) from None


@dataclass
class RunHandle:
    run_id: str
    status: str = "FINISHED"


def _timed(method: Callable[..., Any]) -> Callable[..., Any]:
    """Count the call's wall time as ``tracking`` in the tracker's TimeBreakdown, if it has one."""

    @functools.wraps(method)
    def wrapper(self: Tracker, *args: Any, **kwargs: Any) -> Any:
        if self.timer is None:
            return method(self, *args, **kwargs)
        with self.timer.section("tracking"):
            return method(self, *args, **kwargs)

    return wrapper


def _write_ahead_log(path: str) -> None:
    """Switch a local SQLite store to write-ahead logging (a setting the file keeps): each commit then
    costs one append instead of a rollback journal's writes (measured 10-30 % off each run's writes
    here). Safe for any number of processes on this host; a store busy right now keeps its mode."""
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=1)) as connection:
            connection.execute("PRAGMA journal_mode=WAL")
    except sqlite3.Error:
        pass


class Tracker:
    """One MLflow experiment (= one study) on one tracking store."""

    def __init__(
        self, tracking_uri: str, experiment_name: str, artifact_root: Path | None = None, timer: Any = None
    ) -> None:
        self.timer = timer
        self.tracking_uri = tracking_uri
        if tracking_uri.startswith(("http://", "https://")):
            check_server(tracking_uri)
        self.client = MlflowClient(tracking_uri=tracking_uri)
        try:
            self.experiment_id = self._experiment(experiment_name, artifact_root)
        except Exception as err:  # connection, auth and schema errors all mean "unusable"
            message = " ".join(str(err).split())[:200]
            raise ConfigError(
                f"cannot use MLflow tracking store {redact_uri(tracking_uri)}: {scrub(message, tracking_uri)}"
            ) from None
        if tracking_uri.startswith("sqlite:///"):
            _write_ahead_log(tracking_uri.removeprefix("sqlite:///"))

    def _experiment(self, name: str, artifact_root: Path | None) -> str:
        experiment = self.client.get_experiment_by_name(name)
        if experiment is not None:
            return experiment.experiment_id
        # Local stores get an absolute artifact location; MLflow's default is relative to the CWD.
        location = artifact_root.resolve().as_uri() if artifact_root else None
        # The experiment's description in the UI: what its runs are and where the models are.
        note = (
            f"Study {name} (fusionbench). One parent run per combination (run name "
            "task/dDEPTH/modalities/fusion[/splitK]; search: tags.`benchmark.kind` = 'combination'), with a "
            "child run per trial and per final seed; the first seed's run holds the saved model. The "
            "report: python -m benchmark report study=" + name
        )
        try:
            return self.client.create_experiment(
                name, artifact_location=location, tags={"mlflow.note.content": note}
            )
        except mlflow.exceptions.MlflowException:
            experiment = self.client.get_experiment_by_name(name)  # another worker created it just now
            if experiment is None:
                raise
            return experiment.experiment_id

    # ---- runs -------------------------------------------------------------------------------------
    @_timed
    def create_run(self, name: str, tags: Mapping[str, Any], parent_id: str | None = None) -> str:
        all_tags = {k: str(v) for k, v in tags.items()}
        if parent_id:
            all_tags[PARENT] = parent_id
        return self.client.create_run(self.experiment_id, run_name=name, tags=all_tags).info.run_id

    @_timed
    def reopen(self, run_id: str) -> None:
        self.client.update_run(run_id, status="RUNNING")

    @contextmanager
    def run(self, run_id: str) -> Iterator[RunHandle]:
        """Keep ``run_id`` open for the block; end it with a status that says how the block ended.
        The block may set ``handle.status = "FAILED"`` for an orderly end that is still a failure."""
        handle = RunHandle(run_id)
        try:
            yield handle
        except KeyboardInterrupt:
            self._end_on_the_way_out(run_id, "KILLED")
            raise
        except BaseException:
            self._end_on_the_way_out(run_id, "FAILED")
            raise
        self.end(run_id, handle.status)

    def _end_on_the_way_out(self, run_id: str, status: str) -> None:
        """End a run while an error or a stop propagates. If the store fails here too (a full disk, or a
        lock a dying worker still holds: seen in a two-worker full-disk stop), the error already on its
        way is the news; the run stays RUNNING and the start-up (or the lead's) sweep closes it."""
        with contextlib.suppress(Exception):
            self.end(run_id, status)

    @_timed
    def end(self, run_id: str, status: str = "FINISHED") -> None:
        self.client.set_terminated(run_id, status=status)

    # ---- logging ----------------------------------------------------------------------------------
    @_timed
    def log(
        self,
        run_id: str,
        *,
        metrics: Mapping[str, float] | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
        series: Mapping[str, list[tuple[int, float]]] | None = None,
    ) -> None:
        """One batched call for everything: final metrics, per-step ``series`` (name -> [(step, value)]),
        params and tags. Non-finite metric values are skipped (MLflow cannot store NaN faithfully)."""
        now = int(time.time() * 1000)
        entries = [Metric(k, float(v), now, 0) for k, v in (metrics or {}).items() if math.isfinite(v)]
        for key, points in (series or {}).items():
            entries += [Metric(key, float(v), now, step) for step, v in points if math.isfinite(v)]
        param_entries = [Param(k, str(v)) for k, v in (params or {}).items()]
        tag_entries = [RunTag(k, str(v)) for k, v in (tags or {}).items()]
        for start in range(0, max(len(entries), 1), _MAX_BATCH):
            chunk = entries[start : start + _MAX_BATCH]
            first = start == 0
            self.client.log_batch(
                run_id,
                metrics=chunk,
                params=param_entries if first else [],
                tags=tag_entries if first else [],
                synchronous=True,
            )

    @_timed
    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        self.client.log_text(run_id, text, artifact_file)

    @_timed
    def log_dataset(
        self,
        run_id: str,
        *,
        name: str,
        digest: str,
        source: Mapping[str, Any],
        profile: Mapping[str, Any],
        context: str,
    ) -> None:
        """Record the data a run used through MLflow's dataset tracking (the UI's "Datasets" column):
        ``source`` says where it came from (a wheel and its members, a generator, a file), ``digest``
        fingerprints the exact split, ``context`` which outer split it is."""
        from mlflow.entities import Dataset, DatasetInput, InputTag
        from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

        dataset = Dataset(
            name=name,
            digest=digest,
            source_type=str(source.get("type", "unknown")),
            source=json.dumps(dict(source), sort_keys=True, default=str),
            profile=json.dumps(dict(profile), sort_keys=True),
        )
        tags = [InputTag(key=MLFLOW_DATASET_CONTEXT, value=context)]
        try:
            self.client.log_inputs(run_id, [DatasetInput(dataset=dataset, tags=tags)])
        except mlflow.exceptions.MlflowException as err:
            # MLflow looks the dataset up, then inserts it: two workers opening combinations of one task
            # at once both insert, and the second fails on the unique key. Once more, it finds the row.
            if "unique constraint" not in str(err).lower():  # SQLite and PostgreSQL word it so
                raise
            self.client.log_inputs(run_id, [DatasetInput(dataset=dataset, tags=tags)])

    @_timed
    def log_predictions(self, run_id: str, labels: np.ndarray, predictions: np.ndarray) -> None:
        """The test split's labels and predicted classes, (N,) each, as ``predictions.npz``: what the
        report resamples to put test-set sampling error into every interval."""
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / PREDICTIONS
            np.savez_compressed(
                path, labels=labels.astype(np.int32), predictions=predictions.astype(np.int32)
            )
            self.client.log_artifact(run_id, str(path))

    @_timed
    def log_model(self, run_id: str, model: Any) -> None:
        """The trained model as an MLflow model in the run's ``model`` folder: a torch module with the
        pytorch flavour (pickled: the models take a dict of tensors, which the traced ``pt2`` format
        would pin to one batch size), a scikit-learn pipeline with the sklearn flavour. Load it with
        ``mlflow.<flavor>.load_model("runs:/<run id>/model")`` where this package is importable."""
        flavor = "pytorch" if hasattr(model, "state_dict") else "sklearn"
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / MODEL
            if flavor == "pytorch":
                import mlflow.pytorch

                mlflow.pytorch.save_model(
                    model, str(path), pip_requirements=_requirements("torch"), serialization_format="pickle"
                )
            else:
                import mlflow.sklearn

                mlflow.sklearn.save_model(
                    model,
                    str(path),
                    pip_requirements=_requirements("scikit-learn"),
                    serialization_format="cloudpickle",
                )
            self.client.log_artifacts(run_id, str(path), MODEL)
        self.client.set_tag(run_id, MODEL_FLAVOR, flavor)

    @_timed
    def log_predictor(self, run_id: str, predictor: Any) -> None:
        """``predictor`` (a ``benchmark.predictor.Predictor``) as a pyfunc model in the run's
        ``predictor`` folder: ``mlflow.pyfunc.load_model("runs:/<run id>/predictor").predict(frame)``
        and ``mlflow models serve`` score a table's raw rows, one class name per row."""
        from benchmark.tracking.served import save_predictor  # mlflow.pyfunc: only where one is saved

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / PREDICTOR
            save_predictor(str(path), predictor, _requirements("torch", "scikit-learn", "pandas"))
            self.client.log_artifacts(run_id, str(path), PREDICTOR)

    def load_model(self, run_id: str, flavor: str) -> Any:
        """A model ``log_model`` saved on ``run_id`` (fetched through this tracker's client: a
        ``runs:/`` URI would be resolved against MLflow's global tracking URI instead)."""
        return saved_model(self.client, run_id, flavor)

    # ---- queries ----------------------------------------------------------------------------------
    @_timed
    def _search(self, filter_string: str = "") -> list[RunRecord]:
        """Every active run of the experiment matching the filter (paged through), as plain records."""
        runs, token = [], None
        while True:
            page = self.client.search_runs(
                [self.experiment_id], filter_string, max_results=5000, page_token=token
            )
            runs.extend(_record(run) for run in page)
            token = page.token
            if not token:
                return runs

    def runs(self, kind: str, status: str | None = None) -> list[RunRecord]:
        """The runs of one kind (``schema.*_RUN``), optionally of one status (e.g. FINISHED)."""
        query = f"tags.`{KIND}` = '{kind}'"
        if status:
            query += f" and attributes.status = '{status}'"
        return self._search(query)

    @_timed
    def run_state(self, run_id: str) -> tuple[dict[str, str], str]:
        """(tags, status) of one run."""
        run = self.client.get_run(run_id)
        return dict(run.data.tags), run.info.status

    @_timed
    def kill_runs_tagged(self, key: str, value: str) -> None:
        """Mark KILLED every RUNNING or FINISHED run whose tag ``key`` is ``value``: its worker is known
        to have died before its result was counted."""
        for run in self._search(f"tags.`{key}` = '{value}'"):
            if run.status in ("RUNNING", "FINISHED"):
                self.client.set_terminated(run.run_id, status="KILLED")

    def ended_combinations(self) -> int:
        """How many combination runs ended (finished or failed: their outcome is recorded)."""
        runs = self._search(f"tags.`{KIND}` = 'combination'")
        return sum(run.tags.get(STATUS) in ("finished", "failed") for run in runs)

    def find_combination_run(self, combination_id: str) -> str | None:
        """The id of the combination's parent run (the first, should there be two), or None."""
        runs = self._search(f"tags.`{KIND}` = 'combination' and tags.`{COMBINATION_ID}` = '{combination_id}'")
        return min(runs, key=lambda r: r.start_time).run_id if runs else None

    def children(self, parent_id: str, kind: str, status: str | None = "FINISHED") -> list[RunRecord]:
        query = f"tags.`{PARENT}` = '{parent_id}' and tags.`{KIND}` = '{kind}'"
        if status:
            query += f" and attributes.status = '{status}'"
        return self._search(query)

    def close_dead_sessions(self, host: str, alive: Callable[[int], bool]) -> None:
        """KILLED for RUNNING session runs of workers on ``host`` whose process is gone."""
        query = f"attributes.status = 'RUNNING' and tags.`{KIND}` = 'session' and tags.`{TAG}host` = '{host}'"
        for run in self._search(query):
            pid = run.tags.get(PID)
            if pid and not alive(int(pid)):
                self.end(run.run_id, "KILLED")

    def close_session_of(self, host: str, pid: int) -> None:
        """KILLED for the RUNNING session run of the worker ``pid`` on ``host``, known to be dead (its
        trial's heartbeat stopped): another host cannot check its process."""
        self.close_dead_sessions(host, lambda candidate: candidate != pid)

    def sweep_stale_runs(self, exclude: str | None = None) -> int:
        """Mark RUNNING runs of this experiment KILLED (only safe when no other worker is alive)."""
        stale = [r for r in self._search("attributes.status = 'RUNNING'") if r.run_id != exclude]
        for run in stale:
            self.end(run.run_id, RunStatus.to_string(RunStatus.KILLED))
        return len(stale)


def _record(run: Any) -> RunRecord:
    return RunRecord(
        run_id=run.info.run_id,
        name=run.info.run_name,
        status=run.info.status,
        start_time=run.info.start_time,
        tags=dict(run.data.tags),
        metrics=dict(run.data.metrics),
    )


def _requirements(*libraries: str) -> list[str]:
    """Pinned requirements of a saved model (given, so MLflow does not infer them: seconds per save)."""
    from importlib.metadata import version

    return [f"{name}=={version(name).split('+')[0]}" for name in ("fusionbench", *libraries)]
