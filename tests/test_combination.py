"""The combination's state machine on its own: Optuna's in-memory storage, a real local MLflow store, one
tiny synthetic task; other workers are stood in for by a trial this test holds."""

from __future__ import annotations

import statistics
from pathlib import Path

import optuna
import pytest
import torch
from optuna.trial import TrialState

from benchmark.combination import DONE, WAITING, WORKED, CombinationWork
from benchmark.fits import WorkContext
from benchmark.runner import prepare
from benchmark.schema import COMBINATION_RUN, FINAL_RUN, FINAL_SEEDS, TEST_F1, TRIAL_RUN, mean_of, std_of
from benchmark.studies import load_study
from benchmark.timing import TimeBreakdown
from benchmark.tracking.writer import Tracker
from benchmark.tuning.coordination import mark_worker
from benchmark.tuning.search import make_pruner
from tests.conftest import TINY_TASKS


class Recorder:
    """A Reporter that keeps what it is told."""

    def __init__(self) -> None:
        self.steps = 0
        self.outcomes: list[tuple[str, str]] = []

    def progress(self, name: str, fits: int) -> None:
        self.steps += fits

    def describe_progress(self, text: str) -> None:
        pass

    def account(self, measurement: object) -> None:
        pass

    def outcome(self, name: str, kind: str, line: str | None = None) -> None:
        self.outcomes.append((name, kind))


def _context(tmp_path: Path, storage: optuna.storages.BaseStorage) -> tuple[WorkContext, list]:
    config = load_study(
        "smoke",
        [
            TINY_TASKS,
            "tuning.trials=3",
            "final.seeds=2",
            "train.max_epochs=2",
            "train.min_steps=0",
            "grid.fusion=[concat]",
            "workers=1",
        ],
    )
    prepared = prepare(config)
    tracker = Tracker(
        f"sqlite:///{tmp_path / 'mlflow.db'}", config.name, artifact_root=tmp_path / "artifacts"
    )
    context = WorkContext(
        config=prepared.config,
        device=torch.device("cpu"),
        tasks=prepared.tasks,
        tracker=tracker,
        storage=storage,
        pruner=make_pruner(config.tuning, config.train.max_epochs),
        timer=TimeBreakdown(),
        worker_index=0,
        env_tags={},
        config_yaml="",
    )
    fused = [c for c in prepared.plan.combinations if c.fusion == "concat"]
    return context, fused


def test_one_worker_goes_from_open_to_done_in_one_step_and_a_second_visit_skips(tmp_path):
    context, fused = _context(tmp_path, optuna.storages.InMemoryStorage())
    reporter = Recorder()
    work = CombinationWork(context, reporter, fused[0])
    assert work.advance() == DONE
    assert reporter.outcomes == [(fused[0].name, "finished")] and reporter.steps == 3 + 2
    tracker = context.tracker
    (parent,) = [r for r in tracker.runs(COMBINATION_RUN) if r.name == fused[0].name]
    assert len(tracker.children(parent.run_id, TRIAL_RUN)) == 3
    finals = tracker.children(parent.run_id, FINAL_RUN)
    scores = [r.metrics[TEST_F1] for r in finals]
    assert len(finals) == 2 and parent.metrics[FINAL_SEEDS] == 2
    assert parent.metrics[mean_of(TEST_F1)] == pytest.approx(statistics.fmean(scores))
    assert parent.metrics[std_of(TEST_F1)] == pytest.approx(statistics.stdev(scores))

    again = Recorder()  # a later visit (another worker, or a rerun) finds it done and adds nothing
    assert CombinationWork(context, again, fused[0]).advance() == DONE
    assert again.outcomes == [(fused[0].name, "skipped")]
    assert len(tracker.children(parent.run_id, FINAL_RUN)) == 2


def test_a_trial_held_elsewhere_makes_it_wait_then_it_finishes(tmp_path):
    storage = optuna.storages.InMemoryStorage()
    context, fused = _context(tmp_path, storage)
    reporter = Recorder()
    work = CombinationWork(context, reporter, fused[0])
    study = work._open().study
    held = study.ask()  # a trial "another worker" runs: alive (this process), so never closed as dead
    mark_worker(held)
    assert work.advance() == WORKED  # it ran the two trials left of the budget of three
    assert work.advance() == WAITING  # the budget is used, but the held trial still runs
    counted = [t for t in study.get_trials() if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(counted) == 2 and reporter.outcomes == []
    study.tell(held, 0.0)  # the other worker finishes it (a poor score: the best is one of ours)
    assert work.advance() == DONE
    assert reporter.outcomes == [(fused[0].name, "finished")]
