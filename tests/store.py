"""Reading a study's stores back, as a user (or the report) would."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import optuna
from mlflow import MlflowClient
from optuna.storages.journal import JournalFileBackend, JournalStorage

from benchmark.schema import FAIL_REASON, SEED, environment_tag


class Store:
    """A study's MLflow experiment and Optuna storage: local files under ``workdir`` by default, or
    the given tracking URI and storage URL."""

    def __init__(
        self,
        workdir: Path | None,
        experiment: str = "smoke",
        tracking_uri: str | None = None,
        storage: str | None = None,
    ) -> None:
        self.client = MlflowClient(tracking_uri or f"sqlite:///{workdir / 'mlflow.db'}")
        self.experiment = self.client.get_experiment_by_name(experiment)
        if storage:
            self.optuna = optuna.storages.RDBStorage(storage)
        else:
            self.optuna = JournalStorage(JournalFileBackend(str(workdir / "optuna.journal")))

    def runs(self, kind: str | None = None) -> list:
        query = f"tags.`benchmark.kind` = '{kind}'" if kind else ""
        return list(self.client.search_runs([self.experiment.experiment_id], query, max_results=5000))

    def statuses(self) -> Counter:
        return Counter((r.data.tags["benchmark.kind"], r.info.status) for r in self.runs())

    def session_runs(self) -> list:
        return self.runs("session")

    def children(self, parent_id: str, kind: str) -> list:
        return [r for r in self.runs(kind) if r.data.tags.get("mlflow.parentRunId") == parent_id]

    def all_studies(self) -> dict[str, list]:
        return {
            s.study_name: optuna.load_study(study_name=s.study_name, storage=self.optuna).trials
            for s in optuna.get_all_study_summaries(self.optuna)
        }

    def studies(self) -> dict[str, list]:
        """The tuning studies (one per combination)."""
        return {k: v for k, v in self.all_studies().items() if "/" not in k.split("#", 1)[1]}

    def final_studies(self) -> dict[str, list]:
        """The final-seed queues (one per combination that reached its final seeds)."""
        return {k: v for k, v in self.all_studies().items() if k.endswith("/final")}


def build_store(workdir: Path, study: str, combinations: list[dict]) -> str:
    """A real MLflow store with known values. Each entry: task, depth, modalities (tuple), fusion,
    seeds (list of metric dicts, one per final seed), and optionally parent_status ("FINISHED"),
    state ("finished" | "failed" | None), seed_status (list of run statuses), seed_tags (list of tag
    dicts, one per final seed), predictions (list of
    (test labels, test predictions) per seed, logged as the runner does) and split (an outer split)."""
    from benchmark.grid import Combination
    from benchmark.records import combination_tags
    from benchmark.schema import STATUS
    from benchmark.tracking.writer import Tracker

    uri = f"sqlite:///{workdir / 'mlflow.db'}"
    tracker = Tracker(uri, study, artifact_root=workdir / "artifacts")
    env = {
        environment_tag("device"): "cpu",
        environment_tag("version"): "test",
        environment_tag("torch_version"): "x",
    }
    for entry in combinations:
        combo = Combination(
            entry["task"],
            entry["depth"],
            tuple(sorted(entry["modalities"])),
            entry["fusion"],
            split=entry.get("split"),
        )
        parent = tracker.create_run(combo.name, {**combination_tags(combo, "combination"), **env})
        statuses = entry.get("seed_status", ["FINISHED"] * len(entry["seeds"]))
        for i, (metrics, status) in enumerate(zip(entry["seeds"], statuses, strict=True)):
            tags = {**combination_tags(combo, "final"), **env, SEED: str(1000 + i)}
            tags.update(entry.get("seed_tags", [{}] * len(entry["seeds"]))[i])
            child = tracker.create_run(f"seed-{1000 + i}", tags, parent_id=parent)
            tracker.log(child, metrics=metrics)
            if "predictions" in entry:
                tracker.log_predictions(child, *entry["predictions"][i])
            tracker.client.set_terminated(child, status=status)
        state = entry.get("state", "finished")
        if state:
            tracker.log(
                parent,
                tags={
                    STATUS: state,
                    **({FAIL_REASON: "no trial completed"} if state == "failed" else {}),
                },
            )
        status = entry.get("parent_status", "FINISHED")
        if status != "RUNNING":
            tracker.client.set_terminated(parent, status=status)
    return uri
