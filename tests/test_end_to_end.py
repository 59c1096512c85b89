"""End to end through the CLI on the shipped smoke study, shrunk; the stores are then read back."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import statistics
import subprocess
import time
from pathlib import Path

import pytest
from optuna.trial import TrialState

from benchmark.cli import main
from benchmark.config import TuningConfig
from tests.conftest import PYTHON, cli_env, tiny_overrides
from tests.store import Store

COMBINATIONS = 10  # 2 tasks x (2 unimodal + 3 fusions of the pair)
TRIALS, SEEDS = 2, 2
# Kill tests: 4 combinations with trials long enough (~0.5 s) that a signal lands inside one.
SLOW_TRIALS = (
    "train.max_epochs=25",
    "train.patience=25",
    "tuning.pruner=none",
    "grid.modalities=[[img,vec]]",
    "grid.fusion=[concat,late_vote]",
)
KILL_COMBINATIONS = 4


def _counted(trials: list) -> list:
    return [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]


def assert_complete_study(store: Store, combinations: int = COMBINATIONS) -> None:
    """Every combination finished once, with its trials and seeds, and nothing left RUNNING."""
    parents = store.runs("combination")
    assert len(parents) == combinations
    assert len({p.data.tags["benchmark.combination_id"] for p in parents}) == combinations
    assert all(r.info.status != "RUNNING" for r in store.runs())
    for parent in parents:
        assert parent.info.status == "FINISHED" and parent.data.tags["benchmark.status"] == "finished"
        finals = [r for r in store.children(parent.info.run_id, "final") if r.info.status == "FINISHED"]
        assert sorted(int(r.data.tags["benchmark.seed"]) for r in finals) == [1000, 1001]
    studies = store.studies()
    assert len(studies) == combinations
    assert all(len(_counted(trials)) == TRIALS for trials in studies.values())
    for trials in studies.values():  # every combination starts from the shared default, once
        proposals = [t.user_attrs.get("proposal") for t in sorted(trials, key=lambda t: t.number)]
        assert proposals[0] == "default" and "default" not in proposals[1:]
    finals = store.final_studies()
    assert len(finals) == combinations
    for trials in finals.values():  # every seed completed exactly once
        complete = sorted(t.params["seed"] for t in trials if t.state == TrialState.COMPLETE)
        assert complete == [1000, 1001]
        # Optuna holds the validation score only: no best_trial can ever select on test
        assert all(t.value == t.user_attrs["val_score"] for t in trials if t.state == TrialState.COMPLETE)
    every = [t for trials in store.all_studies().values() for t in trials]
    assert not any(t.state in (TrialState.RUNNING, TrialState.WAITING) for t in every)


@pytest.fixture(scope="module")
def smoke_store(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("smoke")
    assert main(["run", *tiny_overrides(workdir), "--no-progress"]) == 0
    return workdir


def test_smoke_run_records_everything(smoke_store):
    store = Store(smoke_store)
    assert_complete_study(store)
    parents = store.runs("combination")
    fusions = sorted(p.data.tags["benchmark.fusion"] for p in parents)
    assert fusions == sorted(["none"] * 4 + ["concat", "attention", "late_vote"] * 2)
    required_tags = [
        "benchmark.task",
        "benchmark.depth",
        "benchmark.modalities",
        "benchmark.fusion",
        "benchmark.kind",
        "benchmark.combination_id",
        "benchmark.device",
        "benchmark.version",
        "benchmark.git_revision",
        "benchmark.torch_version",
    ]
    for run in store.runs():
        if run.data.tags["benchmark.kind"] == "session":  # one per invocation: the time breakdown
            assert "time/training_s" in run.data.metrics and "time/wall_s" in run.data.metrics
            continue
        missing = [t for t in required_tags if t not in run.data.tags]
        assert not missing, f"{run.info.run_name} lacks tags {missing}"
    for parent in parents:
        finals = store.children(parent.info.run_id, "final")
        trials = store.children(parent.info.run_id, "trial")
        assert len(trials) == TRIALS and len(finals) == SEEDS
        assert all("val/f1_macro" in t.data.metrics for t in trials)
        for final in finals:
            metrics = final.data.metrics
            for name in (
                "test/accuracy",
                "test/recall_macro",
                "test/f1_macro",
                "val/f1_macro",
                "memory/cpu_added_mb",
                "model/parameters",
                "time/train_s",
            ):
                assert name in metrics, name
            assert 0.0 <= metrics["test/accuracy"] <= 1.0
            # the fusion head's capacity beside the whole network's (references have no head)
            if parent.data.tags["benchmark.fusion"].startswith("ref_"):
                assert "model/fusion_parameters" not in metrics
            else:
                assert 0 < metrics["model/fusion_parameters"] < metrics["model/parameters"]
            # Latency (a property of the architecture, not of the weights) on the first seed only.
            if final.data.tags["benchmark.seed"] == "1000":
                assert 0 < metrics["latency/p50_ms"] <= metrics["latency/p95_ms"]
                assert 0 < metrics["latency/batch_p50_ms"] <= metrics["latency/batch_p95_ms"]
            else:
                assert not any(name.startswith("latency/") for name in metrics)
            # No CUDA here: GPU memory is "not measured", never a fake 0.
            assert "memory/gpu_added_mb" not in metrics
            assert final.data.tags["benchmark.gpu_memory"].startswith("not measured")
        for name in ("test/accuracy", "test/f1_macro"):
            values = [f.data.metrics[name] for f in finals]
            assert parent.data.metrics[f"{name}_mean"] == pytest.approx(statistics.fmean(values))
            assert parent.data.metrics[f"{name}_std"] == pytest.approx(statistics.stdev(values))
        (first,) = [f for f in finals if f.data.tags["benchmark.seed"] == "1000"]
        assert parent.data.metrics["latency/p50_ms_mean"] == first.data.metrics["latency/p50_ms"]
        assert parent.data.params["modalities"] == parent.data.tags["benchmark.modalities"]
        artifacts = [a.path for a in store.client.list_artifacts(parent.info.run_id)]
        assert artifacts == ["config.yaml"]
        config_text = store.client.download_artifacts(parent.info.run_id, "config.yaml")
        assert "name: smoke" in Path(config_text).read_text()


def test_run_regenerates_the_report(smoke_store):
    report = smoke_store / "reports" / "smoke"
    markdown = (report / "README.md").read_text()
    assert f"Combinations: {COMBINATIONS} ({COMBINATIONS} finished)" in markdown
    assert (report / "report.html").exists() and (report / "leaderboard.csv").exists()


def test_the_report_command_prints_the_answer_per_task(smoke_store, capsys):
    """Each task's line names the combination with the best validation mean and its test score, as the
    leaderboard written beside it has them; a runner-up within the seeds' spread is called a tie."""
    import pandas as pd

    assert main(["report", *tiny_overrides(smoke_store)]) == 0
    out = capsys.readouterr().out
    assert "the answer per task (chosen on validation, reference models included; test macro F1" in out
    board = pd.read_csv(smoke_store / "reports" / "smoke" / "leaderboard.csv")
    for task, rows in board.groupby("task"):
        best = rows.sort_values("val/f1_macro_mean", ascending=False, kind="stable").iloc[0]
        (line,) = [line for line in out.splitlines() if line.startswith(f"  {task}: ")]
        assert line.startswith(
            f"  {task}: {best['fusion']} d{best['depth']} {best['modalities']}, "
            f"test {best['test/f1_macro_mean']:.3f} [{best['test/f1_macro_ci_low']:.3f}, "
        )
        # a tie with any other combination whose gap is within the larger of the two seed spreads
        others = rows.sort_values("val/f1_macro_mean", ascending=False, kind="stable").iloc[1:]
        gaps = best["val/f1_macro_mean"] - others["val/f1_macro_mean"]
        spreads = others["val/f1_macro_std"].fillna(0).clip(lower=best["val/f1_macro_std"])
        assert ("a tie on validation with" in line) == bool((gaps <= spreads).any())
    # ... and the report opens with the same lines, before any statistics
    markdown = (smoke_store / "reports" / "smoke" / "README.md").read_text()
    markdown = re.sub(r"\[(`[0-9a-f]{8}`)\]\(http[^)]+\)", r"\1", markdown)  # the report links each run
    answer, across = markdown.index("## The answer per task"), markdown.index("## Across tasks")
    assert answer < across
    for line in out.splitlines():
        if line.startswith("  ") and ": " in line and not line.startswith("  report"):
            assert markdown.index(line.strip()) < across


def test_rerun_skips_finished_combinations(smoke_store, capsys):
    def counts() -> tuple[int, int]:
        runs = Store(smoke_store).runs()
        sessions = sum(r.data.tags["benchmark.kind"] == "session" for r in runs)
        return len(runs) - sessions, sessions

    work_before, sessions_before = counts()
    assert main(["run", *tiny_overrides(smoke_store), "--no-progress"]) == 0
    assert f"finished 0, skipped (already done) {COMBINATIONS}" in capsys.readouterr().out
    assert counts() == (work_before, sessions_before + 1)


def _running_trial_runs(workdir) -> int:
    query = (
        "SELECT count(*) FROM runs JOIN tags ON tags.run_uuid = runs.run_uuid "
        "WHERE runs.status = 'RUNNING' AND tags.key = 'benchmark.kind' AND tags.value = 'trial'"
    )
    with sqlite3.connect(workdir / "mlflow.db", timeout=10) as db:
        return db.execute(query).fetchone()[0]


def _stop_mid_trial(workdir, sig: int, *extra: str, sigint_ignored: bool = False) -> int:
    """Start the study, wait until one combination is done and a trial of the next is running, signal.
    ``sigint_ignored``: the run starts with SIGINT ignored, as a background job of a script does."""
    env = cli_env() | {"PYTHONUNBUFFERED": "1"}
    # Longer trials than TINY so the signal surely lands inside one.
    command = [
        PYTHON,
        "-m",
        "benchmark",
        "run",
        *tiny_overrides(workdir, *SLOW_TRIALS, *extra),
        "--no-progress",
    ]
    ignore = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if sigint_ignored else None
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, preexec_fn=ignore
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("done "):
            break
    deadline = time.monotonic() + 60
    while _running_trial_runs(workdir) == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(sig)
    process.stdout.read()
    return process.wait(timeout=120)


@pytest.mark.parametrize("pruner", sorted({"none", TuningConfig.pruner}))
def test_resume_after_sigkill_repairs_and_completes(tmp_path, pruner):
    """With no pruner and with the default one: the budget stays exact (pruned trials count once)."""
    status = _stop_mid_trial(tmp_path, signal.SIGKILL, f"tuning.pruner={pruner}")
    assert status == -signal.SIGKILL
    store = Store(tmp_path)
    assert any(r.info.status == "RUNNING" for r in store.runs())  # what a killed worker leaves behind
    assert (
        main(["run", *tiny_overrides(tmp_path, *SLOW_TRIALS, f"tuning.pruner={pruner}"), "--no-progress"])
        == 0
    )
    store = Store(tmp_path)
    assert_complete_study(store, KILL_COMBINATIONS)
    interrupted = [
        t
        for trials in store.studies().values()
        for t in trials
        if t.user_attrs.get("fail_reason") == "interrupted"
    ]
    assert interrupted, "the trial running at the kill is closed as interrupted, then redone"


@pytest.mark.parametrize("started_with", ["default handler", "SIGINT ignored"])
def test_sigint_closes_runs_and_trials_then_resume_completes(tmp_path, started_with):
    status = _stop_mid_trial(tmp_path, signal.SIGINT, sigint_ignored=started_with == "SIGINT ignored")
    assert status == 130
    store = Store(tmp_path)
    assert all(r.info.status != "RUNNING" for r in store.runs())
    assert store.statuses()[("trial", "KILLED")] >= 1
    assert any(t.state == TrialState.FAIL for trials in store.studies().values() for t in trials)
    assert main(["run", *tiny_overrides(tmp_path, *SLOW_TRIALS), "--no-progress"]) == 0
    assert_complete_study(Store(tmp_path), KILL_COMBINATIONS)


def test_non_finite_loss_fails_the_trial_with_a_reason_and_the_study_goes_on(tmp_path, capsys):
    overrides = tiny_overrides(
        tmp_path, "tuning.space.lr=1e6", "grid.modalities=[[img,vec]]", "grid.fusion=[concat]"
    )
    assert main(["run", *overrides, "--no-progress"]) == 0
    assert "FAILED synth-redundancy/d1/img+vec/concat: no trial completed" in capsys.readouterr().out
    store = Store(tmp_path)
    parents = store.runs("combination")
    assert len(parents) == 2 and all(p.data.tags["benchmark.status"] == "failed" for p in parents)
    trials = [t for ts in store.studies().values() for t in ts]
    assert len(trials) == 2 * TRIALS
    assert all(
        t.state == TrialState.FAIL and t.user_attrs["fail_reason"] == "non_finite_loss" for t in trials
    )
    assert {r.data.tags["benchmark.fail_reason"] for r in store.runs("trial")} == {"non_finite_loss"}


def test_two_studies_sharing_a_store_do_not_resume_each_other(smoke_store, capsys):
    # Same tasks and grid as the smoke study, another name: its own experiment and its own trials.
    assert (
        main(["run", *tiny_overrides(smoke_store, "name=other", "grid.fusion=[concat]"), "--no-progress"])
        == 0
    )
    assert "finished 6, skipped (already done) 0" in capsys.readouterr().out
    other = Store(smoke_store, experiment="other")
    assert len(other.runs("combination")) == 6
    assert len(Store(smoke_store).runs("combination")) == COMBINATIONS


def test_a_fusion_methods_own_hyperparameter_and_modality_dropout_are_tuned_and_logged(tmp_path):
    overrides = tiny_overrides(
        tmp_path,
        "tasks=[synth-redundancy]",
        "grid.modalities=[[img,vec]]",
        "grid.fusion=[low_rank,concat]",
        "tuning.space.rank=[2,3]",
        "tuning.space.modality_dropout={low:0.1,high:0.4}",
        "final.seeds=1",
    )
    assert main(["run", *overrides, "--no-progress"]) == 0
    store = Store(tmp_path)
    for name, trials in store.studies().items():
        for trial in trials:
            assert 0.1 <= trial.params["modality_dropout"] <= 0.4
            # rank belongs to low_rank alone: concat's trials neither tune nor log it.
            assert ("rank" in trial.params) == ("/low_rank" in name)
            if "rank" in trial.params:
                assert trial.params["rank"] in (2, 3)
    for run in store.runs("final"):
        assert ("rank" in run.data.params) == (run.data.tags["benchmark.fusion"] == "low_rank")
        assert 0.1 <= float(run.data.params["modality_dropout"]) <= 0.4
    (parent,) = [p for p in store.runs("combination") if p.data.tags["benchmark.fusion"] == "low_rank"]
    assert parent.data.params["best.rank"] in ("2", "3")


def test_more_final_seeds_while_their_validation_scores_disagree(tmp_path):
    """final.max_seeds: seeds are added one at a time while the finished seeds' validation scores
    disagree (std above final.spread), up to the cap; with a wide margin nothing is added."""
    import statistics as stats

    overrides = tiny_overrides(tmp_path, "+final.max_seeds=4", "+final.spread=0.0", "grid.fusion=[concat]")
    assert main(["run", *overrides, "--no-progress"]) == 0
    store = Store(tmp_path)
    for parent in store.runs("combination"):
        finals = sorted(
            store.children(parent.info.run_id, "final"), key=lambda r: int(r.data.tags["benchmark.seed"])
        )
        scores = [r.data.metrics["val/f1_macro"] for r in finals]
        expected = 2 if stats.stdev(scores[:2]) == 0 else 3 if stats.stdev(scores[:3]) == 0 else 4
        assert len(finals) == expected == parent.data.metrics["final/seeds"], scores
    assert any(len(store.children(p.info.run_id, "final")) == 4 for p in store.runs("combination"))
    wide = tiny_overrides(
        tmp_path / "wide", "+final.max_seeds=4", "+final.spread=1.0", "grid.fusion=[concat]"
    )
    assert main(["run", *wide, "--no-progress"]) == 0
    assert [p.data.metrics.get("final/seeds") for p in Store(tmp_path / "wide").runs("combination")] == [
        2
    ] * 6


@pytest.fixture
def failing_reference():
    """A real plug-in whose fit raises, registered for one test and removed after it."""
    from benchmark.params import ParamSpec
    from benchmark.references import REFERENCES
    from benchmark.references.base import register_reference

    class Refuses:
        def fit(self, features, labels):
            raise ValueError("this data is not for me")

    register_reference("ref_refuses", {"c": ParamSpec("fixed", choices=(1,))}, dense=True)(
        lambda p, s: Refuses()
    )
    yield "ref_refuses"
    del REFERENCES._entries["ref_refuses"], REFERENCES._metadata["ref_refuses"]


def test_an_error_in_one_fit_fails_its_combination_and_the_study_goes_on(tmp_path, capsys, failing_reference):
    overrides = tiny_overrides(
        tmp_path, "grid.modalities=[[img,vec]]", f"grid.fusion=[concat,{failing_reference}]"
    )
    assert main(["run", *overrides, "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert f"FAILED synth-redundancy/d0/img+vec/{failing_reference}: no trial completed" in out
    assert "done synth-redundancy/d1/img+vec/concat" in out  # the worker lived on
    store = Store(tmp_path)
    trials = [r for r in store.runs("trial") if r.data.tags["benchmark.fusion"] == failing_reference]
    assert len(trials) == 2 * TRIALS  # both tasks, every trial tried once
    reasons = {r.data.tags["benchmark.fail_reason"] for r in trials}
    assert reasons == {"error: ValueError: this data is not for me"}
    artifacts = {a.path for a in store.client.list_artifacts(trials[0].info.run_id)}
    assert "error.txt" in artifacts


@pytest.mark.parametrize("damage", ["cut", "stray byte"])
def test_a_torn_journal_tail_is_set_aside_and_the_study_resumes_exactly(tmp_path, capsys, damage):
    assert _stop_mid_trial(tmp_path, signal.SIGKILL) == -signal.SIGKILL
    journal = tmp_path / "optuna.journal"
    data = journal.read_bytes()
    last = data.rstrip(b"\n").rsplit(b"\n", 1)[1]
    torn = data[: len(data) - len(last) // 2 - 1] if damage == "cut" else data + b"\xff{\n"
    journal.write_bytes(torn)
    assert main(["run", *tiny_overrides(tmp_path, *SLOW_TRIALS), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "the Optuna journal held a torn record" in out
    (kept,) = tmp_path.glob("optuna.journal.torn-*")
    assert kept.read_bytes() == torn[len(torn) - len(kept.read_bytes()) :] and kept.stat().st_size > 0
    assert_complete_study(Store(tmp_path), KILL_COMBINATIONS)


def test_a_torn_record_another_worker_wrote_after_is_set_aside_and_the_study_resumes_exactly(
    tmp_path, capsys
):
    """Two workers and a full disk: one worker's append is cut, and the other's next record lands on the
    same line (found in a two-worker full-disk run). The fragment is set aside; every complete record stays."""
    assert _stop_mid_trial(tmp_path, signal.SIGKILL) == -signal.SIGKILL
    journal = tmp_path / "optuna.journal"
    lines = journal.read_bytes().splitlines(keepends=True)
    fragment = lines[-3][: len(lines[-3]) // 2]  # a copy of a record, cut: as a torn append looks
    journal.write_bytes(b"".join(lines[:-1]) + fragment + lines[-1])
    assert main(["run", *tiny_overrides(tmp_path, *SLOW_TRIALS), "--no-progress"]) == 0
    assert "the Optuna journal held a torn record" in capsys.readouterr().out
    (kept,) = tmp_path.glob("optuna.journal.torn-*")
    assert kept.read_bytes() == fragment
    assert journal.read_bytes().startswith(b"".join(lines[:-1]))
    assert_complete_study(Store(tmp_path), KILL_COMBINATIONS)


def test_a_damaged_journal_body_is_one_line_saying_how_to_recover(tmp_path, capsys):
    assert (
        main(
            [
                "run",
                *tiny_overrides(tmp_path, "grid.fusion=[concat]", "grid.modalities=[[img,vec]]"),
                "--no-progress",
                "--no-report",
                "--no-latency",
            ]
        )
        == 0
    )
    journal = tmp_path / "optuna.journal"
    lines = journal.read_bytes().splitlines(keepends=True)
    lines[3] = b'{"op_code": \x00broken\n'
    journal.write_bytes(b"".join(lines))
    before = journal.read_bytes()
    assert (
        main(["run", *tiny_overrides(tmp_path, "grid.fusion=[concat]", "grid.modalities=[[img,vec]]")]) == 2
    )
    err = capsys.readouterr().err
    offset = sum(len(line) for line in lines[:3])
    assert err.count("\n") == 1 and f"is damaged at record 4 (byte {offset})" in err
    assert f"truncate -s {offset} {journal}" in err and journal.read_bytes() == before


def _trial_running(workdir) -> bool:
    if not (workdir / "mlflow.db").is_file():  # connecting would create it empty
        return False
    try:
        return _running_trial_runs(workdir) > 0
    except sqlite3.OperationalError:  # the schema is being created
        return False


def _start(workdir) -> subprocess.Popen:
    command = [PYTHON, "-m", "benchmark", "run", *tiny_overrides(workdir, *SLOW_TRIALS), "--no-progress"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env())


@pytest.mark.parametrize("apart", [0.0, "mid-trial"])
def test_a_second_start_on_one_workdir_is_refused_in_one_line_and_budgets_stay_exact(tmp_path, apart):
    first = _start(tmp_path)
    if apart == "mid-trial":  # the second start comes while the first one trains
        deadline = time.monotonic() + 120
        while not _trial_running(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.05)
    second = _start(tmp_path)
    results = [(p.wait(timeout=600), *p.communicate()) for p in (first, second)]
    statuses = sorted(status for status, _, _ in results)
    assert statuses == [0, 2], results
    (refused,) = [err for status, _, err in results if status == 2]
    assert refused.count("\n") == 1 and "is in use by `python -m benchmark run study=smoke` (pid" in refused
    assert all("Traceback" not in err for _, _, err in results)
    assert_complete_study(Store(tmp_path), KILL_COMBINATIONS)


def test_the_hints_a_run_prints_work_as_printed(tmp_path, capsys):
    """After `run ... workdir=W` the browse hint keeps workdir=W (it once said `ui study=smoke`, which found
    no store): the printed command, run as printed, serves the MLflow UI of this run's store."""
    import shlex
    import socket
    import urllib.parse
    import urllib.request

    overrides = tiny_overrides(tmp_path / "my runs", "grid.fusion=[concat]", "grid.modalities=[[img,vec]]")
    assert main(["run", *overrides, "--no-progress", "--no-report", "--no-latency"]) == 0
    (hint,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("browse: ")]
    command = shlex.split(hint.removeprefix("browse: "))
    assert command[:3] == ["python", "-m", "benchmark"] and f"workdir={tmp_path / 'my runs'}" in command
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 5000)) == 0:
            pytest.skip("port 5000 is taken here")
    server = subprocess.Popen(
        [PYTHON, *command[1:]], env=cli_env(), start_new_session=True, stdout=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen("http://127.0.0.1:5000/health", timeout=2) as reply:
                    assert reply.status == 200
                    break
            except OSError:
                assert server.poll() is None, "the printed ui command exited"
                assert time.monotonic() < deadline, "the printed ui command did not serve within 90 s"
                time.sleep(1)
        # it names the study's runs table (not MLflow 3's empty traces view), whose description says
        # what the runs are
        page = server.stdout.readline().split()[3]
        experiment = Store(tmp_path / "my runs").client.get_experiment_by_name("smoke")
        address, query = page.split("?")
        assert address == f"http://127.0.0.1:5000/#/experiments/{experiment.experiment_id}/runs"
        view = dict(urllib.parse.parse_qsl(query))
        assert view["workflowType"] == "machine_learning"
        # its filter, as the UI sends it, selects the combination runs, each with the column it sorts by
        search = urllib.request.Request(
            "http://127.0.0.1:5000/ajax-api/2.0/mlflow/runs/search",
            data=json.dumps(
                {"experiment_ids": [experiment.experiment_id], "filter": view["searchFilter"]}
            ).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(search, timeout=10) as reply:
            shown = json.load(reply)["runs"]
        combinations = Store(tmp_path / "my runs").runs("combination")
        assert {r["info"]["run_id"] for r in shown} == {r.info.run_id for r in combinations}
        sort_key = view["orderByKey"].removeprefix("metrics.").strip("`")
        assert all(sort_key in {m["key"] for m in r["data"]["metrics"]} for r in shown)
        api = f"http://127.0.0.1:5000/ajax-api/2.0/mlflow/experiments/get?experiment_id={experiment.experiment_id}"
        with urllib.request.urlopen(api, timeout=10) as reply:
            tags = {t["key"]: t["value"] for t in json.load(reply)["experiment"]["tags"]}
        assert "One parent run per combination" in tags["mlflow.note.content"]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
    # and a store that is not there yet: the hint to create it keeps the overrides too
    elsewhere = [o if not o.startswith("workdir=") else f"workdir={tmp_path / 'none'}" for o in overrides]
    assert main(["ui", *elsewhere]) == 2
    assert "run the study first: python -m benchmark run " in capsys.readouterr().err
