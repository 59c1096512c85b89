"""Reading a study's stores back, as a user (or the report) would."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import optuna
from mlflow import MlflowClient
from optuna.storages.journal import JournalFileBackend, JournalStorage


class Store:
    def __init__(self, workdir: Path, experiment: str = "smoke") -> None:
        self.client = MlflowClient(f"sqlite:///{workdir / 'mlflow.db'}")
        self.experiment = self.client.get_experiment_by_name(experiment)
        self.optuna = JournalStorage(JournalFileBackend(str(workdir / "optuna.journal")))

    def runs(self, kind: str | None = None) -> list:
        query = f"tags.`benchmark.kind` = '{kind}'" if kind else ""
        return list(self.client.search_runs([self.experiment.experiment_id], query, max_results=5000))

    def statuses(self) -> Counter:
        return Counter((r.data.tags["benchmark.kind"], r.info.status) for r in self.runs())

    def children(self, parent_id: str, kind: str) -> list:
        return [r for r in self.runs(kind) if r.data.tags.get("mlflow.parentRunId") == parent_id]

    def studies(self) -> dict[str, list]:
        return {
            s.study_name: optuna.load_study(study_name=s.study_name, storage=self.optuna).trials
            for s in optuna.get_all_study_summaries(self.optuna)
        }
