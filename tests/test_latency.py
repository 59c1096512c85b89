"""Saved models, the latency pass (one model at a time, resumable) and per-run memory."""

from __future__ import annotations

import json
import signal
import sqlite3
import statistics
import subprocess
import time

import mlflow
import pytest
import torch

from benchmark.cli import main
from benchmark.experiment import Hyperparameters, RunSettings, run_once
from benchmark.grid import Combination
from benchmark.scores import classification_scores
from benchmark.studies import load_study
from benchmark.tasks import build_task
from tests.conftest import PYTHON, REPO, cli_env, tiny_overrides
from tests.store import Store

# Two tasks x (img+vec with concat and logistic regression, vec alone): networks and a reference.
SAVED = ("grid.fusion=[concat,ref_logreg]", "grid.modalities=[[img,vec],[vec]]")
FIRST_SEED = "1000"


def _timed_counts(store: Store) -> dict[str, int]:
    """Final run id -> how many latency values it holds (its metric history: 1 = timed once)."""
    return {
        run.info.run_id: len(store.client.get_metric_history(run.info.run_id, "latency/p50_ms"))
        for run in store.runs("final")
    }


def _timed_runs(workdir) -> int:
    query = "SELECT count(DISTINCT run_uuid) FROM latest_metrics WHERE key = 'latency/p50_ms'"
    with sqlite3.connect(workdir / "mlflow.db", timeout=10) as db:
        return db.execute(query).fetchone()[0]


def test_latency_pass_times_every_saved_model_once_and_resumes_after_a_kill(tmp_path):
    overrides = tiny_overrides(tmp_path, *SAVED, "latency.repeats=400", "latency.warmup=5")
    assert main(["run", *overrides, "--no-progress", "--no-latency", "--no-report"]) == 0
    store = Store(tmp_path)
    assert set(_timed_counts(store).values()) == {0}  # deferred: nothing timed during the run
    saved = [r for r in store.runs("final") if "benchmark.model_flavor" in r.data.tags]
    assert sorted({r.data.tags["benchmark.seed"] for r in saved}) == [FIRST_SEED]  # latency.seeds = 1
    assert len(saved) == 8  # 2 tasks x (concat, ref_logreg on img+vec; the network and ref_logreg on vec)

    command = [PYTHON, "-m", "benchmark", "latency", *overrides, "--no-progress"]
    process = subprocess.Popen(command, env=cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600  # a safety net, not a timing: a busy machine starts slowly
    while _timed_runs(tmp_path) < 2 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    partly = _timed_runs(tmp_path)
    assert 0 < partly < len(saved), "the kill should land mid-pass"

    assert main(["latency", *overrides, "--no-progress"]) == 0
    counts = _timed_counts(Store(tmp_path))
    assert sorted(counts[r.info.run_id] for r in saved) == [1] * len(saved)  # each exactly once
    assert sum(counts.values()) == len(saved)  # and nothing else
    store = Store(tmp_path)
    for parent in store.runs("combination"):
        (first,) = [
            r
            for r in store.children(parent.info.run_id, "final")
            if r.data.tags["benchmark.seed"] == FIRST_SEED
        ]
        metrics = first.data.metrics
        assert 0 < metrics["latency/p50_ms"] <= metrics["latency/p95_ms"]
        assert parent.data.metrics["latency/p50_ms_mean"] == metrics["latency/p50_ms"]
        assert first.data.params["latency.threads"] == str(int(first.data.params["latency.threads"]))
        assert metrics["latency/other_busy_cores"] >= 0 and "latency/load_1m" in metrics

    # A third pass has nothing left to do.
    assert main(["latency", *overrides, "--no-progress"]) == 0
    assert _timed_counts(Store(tmp_path)) == counts


def test_saved_models_load_with_mlflow_and_reproduce_the_logged_test_score(tmp_path):
    assert main(["run", *tiny_overrides(tmp_path, *SAVED), "--no-progress", "--no-report"]) == 0
    store = Store(tmp_path)
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")  # as a user would
    flavors = set()
    try:
        for run in store.runs("final"):
            flavor = run.data.tags.get("benchmark.model_flavor")
            if flavor is None:
                continue
            flavors.add(flavor)
            tags = run.data.tags
            params = {"n_modalities": 2, "n_samples": 240}
            task = build_task(tags["benchmark.task"], seed=0, **params)
            test = task.splits["test"]
            inputs = {m: test.inputs[m] for m in tags["benchmark.modalities"].split("+")}
            uri = f"runs:/{run.info.run_id}/model"
            if flavor == "pytorch":
                model = mlflow.pytorch.load_model(uri).eval()
                with torch.inference_mode():
                    predictions = model(inputs).logits.argmax(dim=1).numpy()
            else:
                predictions = mlflow.sklearn.load_model(uri).predict(inputs)
            scores = classification_scores(test.labels.numpy(), predictions, task.num_classes)
            assert scores["f1_macro"] == pytest.approx(run.data.metrics["test/f1_macro"], abs=1e-12)
    finally:
        mlflow.set_tracking_uri(None)
    assert flavors == {"pytorch", "sklearn"}


def _memory_added_by_identical_runs() -> dict[str, float]:
    """Median MB each run adds, over three identical runs per width, in this process."""
    config = load_study("smoke", ["train.max_epochs=2", "train.batch_size=256"])
    task = build_task("synth-redundancy", seed=0, n_modalities=2, n_samples=1500)
    combination = Combination("synth-redundancy", 1, ("vec",), "none")
    settings = RunSettings.of(config)

    def added(width: int) -> float:
        hparams = Hyperparameters(lr=1e-3, weight_decay=0.0, width=width, dropout=0.0)
        measured = []
        for _ in range(3):
            measurement = run_once(
                task, combination, hparams, settings, device=torch.device("cpu"), seed=1, final=True
            )
            assert measurement.cpu_added_mb is not None and measurement.gpu_added_mb is None
            measured.append(measurement.cpu_added_mb)
        return statistics.median(measured)

    # the process's first training pays one-off set-up (as a worker's trials do before any final run)
    added(64)
    return {"first": added(2048), "second": added(2048), "bigger": added(4096)}


def test_memory_of_two_identical_runs_in_one_process_agrees():
    """The memory a run adds is its own: identical later runs in the same process (whose heap already
    grew for the first) measure the same, and a bigger model measures more. Each figure is the median
    of three identical runs, as the report shows a combination's mean over its seeds: one run alone
    moves by up to a quarter with where glibc's dynamic mmap threshold stands (147 vs 187 MB seen in
    a full test run; 113 +- 0.2 MB with a fixed threshold, which costs training 25-45 % in speed).
    The runs happen in a fresh process, as a worker's do: inside pytest, after the slow tests have
    trained hundreds of models, the heap's history (not the run) decided the figure."""
    code = "import json; from tests.test_latency import _memory_added_by_identical_runs as m; print(json.dumps(m()))"
    done = subprocess.run(
        [PYTHON, "-c", code], env=cli_env(), cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    added = json.loads(done.stdout.strip().splitlines()[-1])
    first, second = added["first"], added["second"]
    assert first > 1
    assert abs(first - second) <= max(2.0, 0.15 * first), (first, second)
    assert added["bigger"] > 1.5 * first  # 4x the parameters


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_during_the_latency_pass_of_run_exits_130_and_a_rerun_finishes(tmp_path, sig):
    overrides = tiny_overrides(tmp_path, *SAVED, "latency.repeats=400", "latency.warmup=5", "workers=1")
    command = [PYTHON, "-m", "benchmark", "run", *overrides, "--no-progress", "--no-report"]
    process = subprocess.Popen(
        command, env=cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 240
    while _timed_runs_or_zero(tmp_path) < 1 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(sig)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    store = Store(tmp_path)
    assert 0 < _timed_runs(tmp_path) < 8 and all(r.info.status != "RUNNING" for r in store.runs())
    assert main(["run", *overrides, "--no-progress", "--no-report"]) == 0
    assert sorted(set(_timed_counts(Store(tmp_path)).values())) in ([0, 1], [1])  # the rest timed, once each


def _timed_runs_or_zero(workdir) -> int:
    try:
        return _timed_runs(workdir)
    except sqlite3.Error:  # the store is not created yet
        return 0
