"""Several workers on one study: local processes on a journal file, and separate processes on the
PostgreSQL server of this machine with an MLflow tracking server started by the test."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
import uuid
from collections import Counter
from pathlib import Path

import optuna
import psutil
import psycopg
import pytest
from optuna.trial import TrialState

from benchmark.cli import main
from tests.conftest import PYTHON, cli_env, tiny_overrides
from tests.store import Store

PG = "postgresql://postgres@127.0.0.1:5432"
TRIALS, SEEDS = 2, 2
# 4 combinations (2 tasks x {concat, late_vote} on img+vec), trials long enough (~0.5 s) to kill one.
GRID = ("grid.modalities=[[img,vec]]", "grid.fusion=[concat,late_vote]")
SLOW = ("train.max_epochs=25", "train.patience=25", "tuning.pruner=none")
COMBINATIONS = 4


def _admin():
    return psycopg.connect(f"{PG}/postgres", connect_timeout=5, autocommit=True)


@pytest.fixture
def database():
    """A fresh PostgreSQL database per test, dropped afterwards."""
    name = f"fb_{uuid.uuid4().hex[:10]}"
    with _admin() as admin, admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name}")
    yield f"{PG}/{name}"
    with _admin() as admin, admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def tracking_server(tmp_path):
    """An MLflow tracking server on 127.0.0.1 with its own PostgreSQL backend database."""
    name = f"fb_mlflow_{uuid.uuid4().hex[:8]}"
    with _admin() as admin, admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name}")
    port = _free_port()
    command = [
        PYTHON,
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        f"{PG}/{name}",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--artifacts-destination",
        str(tmp_path / "artifacts"),
        "--workers",
        "2",
    ]
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env=cli_env(), start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            import urllib.request

            with urllib.request.urlopen(url + "/health", timeout=2):
                break
        except OSError:
            time.sleep(0.5)
    else:
        os.killpg(server.pid, signal.SIGTERM)
        pytest.fail("the MLflow server did not start: " + (tmp_path / "server.log").read_text()[-2000:])
    yield url
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=30)
    with _admin() as admin, admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _worker(workdir: Path, *extra: str) -> subprocess.Popen:
    command = [PYTHON, "-m", "benchmark", "run", *tiny_overrides(workdir, *GRID, *extra), "--no-progress"]
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=cli_env() | {"PYTHONUNBUFFERED": "1"},
    )


def assert_exact(store: Store) -> None:
    """Every combination finished once with exactly TRIALS counted trials and SEEDS final seeds."""
    parents = store.runs("combination")
    assert len(parents) == COMBINATIONS
    assert len({p.data.tags["benchmark.combination_id"] for p in parents}) == COMBINATIONS
    assert all(p.info.status == "FINISHED" and p.data.tags["benchmark.status"] == "finished" for p in parents)
    running = [
        (r.info.run_name, r.data.tags["benchmark.kind"]) for r in store.runs() if r.info.status == "RUNNING"
    ]
    assert not running
    for parent in parents:
        finals = [r for r in store.children(parent.info.run_id, "final") if r.info.status == "FINISHED"]
        assert sorted(int(r.data.tags["benchmark.seed"]) for r in finals) == [1000, 1001]
        trials = [r for r in store.children(parent.info.run_id, "trial") if r.info.status == "FINISHED"]
        assert len(trials) == TRIALS
    studies = store.studies()
    assert len(studies) == COMBINATIONS
    for trials in studies.values():
        assert sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials) == TRIALS
        assert not any(t.state == TrialState.RUNNING for t in trials)
    for trials in store.final_studies().values():
        assert sorted(t.params["seed"] for t in trials if t.state == TrialState.COMPLETE) == [1000, 1001]
        assert not any(t.state in (TrialState.RUNNING, TrialState.WAITING) for t in trials)


def _running_trial_of(store_storage_url: str | None, workdir: Path, pid: int, timeout: float = 90) -> bool:
    """Wait until the worker ``pid`` is inside a trial (a RUNNING trial carrying its pid)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            store = Store(workdir, storage=store_storage_url)
            for trials in store.all_studies().values():
                if any(t.state == TrialState.RUNNING and t.user_attrs.get("pid") == pid for t in trials):
                    return True
        except Exception:  # the storage may not exist yet
            pass
        time.sleep(0.2)
    return False


def test_three_workers_on_postgres_and_a_tracking_server(tmp_path, database, tracking_server):
    extra = (f"storage={database}", f"tracking_uri={tracking_server}", "heartbeat_seconds=2")
    workers = [_worker(tmp_path, *extra) for _ in range(3)]
    outputs = [w.communicate(timeout=600)[0] for w in workers]
    for i, out in enumerate(outputs):
        (tmp_path / f"worker-{i}.log").write_text(out)
    assert all(w.returncode == 0 for w in workers), outputs
    store = Store(None, tracking_uri=tracking_server, storage=database)
    assert_exact(store)
    done = Counter(
        line.split()[1] for out in outputs for line in out.splitlines() if line.startswith("done ")
    )
    assert sum(done.values()) == COMBINATIONS and max(done.values()) == 1  # each finalized by one worker
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "optuna.journal").exists()


def test_a_killed_postgres_worker_is_repaired(tmp_path, database, tracking_server):
    extra = (f"storage={database}", f"tracking_uri={tracking_server}", "heartbeat_seconds=1", *SLOW)
    victim, survivor = _worker(tmp_path, *extra), _worker(tmp_path, *extra)
    assert _running_trial_of(database, tmp_path, victim.pid)
    victim.kill()
    victim.wait()
    survivor_output = survivor.communicate(timeout=600)[0]
    assert survivor.returncode == 0, survivor_output
    rerun = _worker(tmp_path, *extra)
    assert rerun.wait(timeout=600) == 0
    store = Store(None, tracking_uri=tracking_server, storage=database)
    assert_exact(store)
    every = [t for trials in store.all_studies().values() for t in trials]
    assert any(t.user_attrs.get("fail_reason") == "interrupted" for t in every)
    assert any(r.info.status == "KILLED" for r in store.runs())  # the victim's run, closed by the others


def test_local_workers_share_one_study(tmp_path, capsys):
    assert main(["run", *tiny_overrides(tmp_path, *GRID, "workers=2"), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "estimated: about" in printed  # the cost model orders the workers' combinations
    alone = re.search(r"the last worker worked alone for ([0-9.]+) s \(([0-9.]+)% of", printed)
    assert alone is not None, printed
    store = Store(tmp_path)
    assert_exact(store)
    sessions = store.runs("session")
    assert len(sessions) == 2 and {s.data.tags["benchmark.worker"] for s in sessions} == {"0", "1"}


def test_a_killed_local_worker_is_repaired_by_a_rerun(tmp_path):
    launcher = _worker(tmp_path, "workers=2", *SLOW)
    deadline = time.monotonic() + 60
    children: list[psutil.Process] = []
    while len(children) < 2 and time.monotonic() < deadline:
        children = [c for c in psutil.Process(launcher.pid).children() if "python" in c.name()]
        time.sleep(0.1)
    victim = children[-1]
    assert _running_trial_of(None, tmp_path, victim.pid)
    victim.kill()
    output = launcher.communicate(timeout=600)[0]
    assert launcher.returncode in (0, 130), output
    assert main(["run", *tiny_overrides(tmp_path, *GRID, "workers=2", *SLOW), "--no-progress"]) == 0
    store = Store(tmp_path)
    assert_exact(store)
    every = [t for trials in store.all_studies().values() for t in trials]
    assert sum(t.user_attrs.get("fail_reason") == "interrupted" for t in every) >= 1


@pytest.mark.parametrize(
    "override",
    ["storage=postgresql://postgres@127.0.0.1:1/nowhere", "tracking_uri=http://127.0.0.1:1"],
)
def test_unreachable_storage_or_server_fails_fast_with_exit_2(tmp_path, override):
    start = time.monotonic()
    result = subprocess.run(
        [PYTHON, "-m", "benchmark", "run", *tiny_overrides(tmp_path / "w", override), "--no-progress"],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=120,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("error: cannot reach") and result.stderr.count("\n") == 1
    assert time.monotonic() - start < 30
    assert not (tmp_path / "w" / "optuna.journal").exists() and not (tmp_path / "w" / "mlflow.db").exists()


def test_credentials_never_reach_output_or_mlflow(tmp_path, database):
    secret = "s3cr3t-pw"
    storage = database.replace("postgres@", f"postgres:{secret}@")  # trust auth ignores the password
    worker = _worker(
        tmp_path, f"storage={storage}", "tasks=[{name:synth-synergy,n_samples:240}]", "grid.fusion=[concat]"
    )
    output = worker.communicate(timeout=300)[0]
    assert worker.returncode == 0, output
    assert secret not in output and "postgres:***@" in output
    store = Store(tmp_path, storage=database)
    for run in store.runs():
        assert secret not in str(run.data.params) + str(run.data.tags)
    for parent in store.runs("combination"):
        text = Path(store.client.download_artifacts(parent.info.run_id, "config.yaml")).read_text()
        assert secret not in text and "postgres:***@" in text


def test_runs_of_a_worker_that_died_around_its_mlflow_writes_are_closed(tmp_path, database):
    """The narrowest windows of a kill: a worker created a trial's MLflow run and died before storing
    the run's id on the Optuna trial; another ended its run FINISHED and died before telling Optuna.
    Neither trial counts, so the next worker marks both runs KILLED (found by their trial tag)."""
    from benchmark.runner import prepare
    from benchmark.schema import OPTUNA_TRIAL
    from benchmark.studies import load_study
    from benchmark.tracking.writer import Tracker
    from benchmark.tuning.coordination import (
        PARENT_RUN,
        WORKER_HOST,
        WORKER_PID,
        create_or_load,
        optuna_trial_key,
    )

    overrides = tiny_overrides(tmp_path, *GRID, f"storage={database}", "heartbeat_seconds=1")
    config = load_study(overrides[0].split("=", 1)[1], overrides[1:])
    combination = prepare(config).plan.combinations[0]
    study, created = create_or_load(optuna.storages.RDBStorage(database), combination.study_name)
    assert created
    tracker = Tracker(config.resolved_tracking_uri, config.name, artifact_root=tmp_path / "artifacts")
    parent = tracker.create_run(
        combination.name, {"benchmark.kind": "combination", "benchmark.combination_id": combination.id}
    )
    study.set_user_attr(PARENT_RUN, parent)
    dead = subprocess.Popen(["true"])
    dead.wait()
    orphans = []
    for _ in range(2):
        trial = study.ask()
        trial.set_user_attr(WORKER_HOST, socket.gethostname())
        trial.set_user_attr(WORKER_PID, dead.pid)
        tags = {"benchmark.kind": "trial", OPTUNA_TRIAL: optuna_trial_key(study.study_name, trial.number)}
        orphans.append(tracker.create_run(f"trial-{trial.number}", tags, parent_id=parent))
    tracker.end(orphans[1], "FINISHED")

    assert main(["run", *overrides, "--no-progress"]) == 0
    store = Store(tmp_path, storage=database)
    assert [store.client.get_run(run).info.status for run in orphans] == ["KILLED", "KILLED"]
    assert_exact(store)
    first_two = [t for t in store.all_studies()[combination.study_name] if t.number < 2]
    assert all(t.state == TrialState.FAIL and t.user_attrs["fail_reason"] == "interrupted" for t in first_two)


def _worker_elsewhere(workdir: Path, *extra: str) -> subprocess.Popen:
    """A worker in its own UTS namespace with another host name: its process cannot be checked by PID,
    only its heartbeat tells the others it is alive (as for a worker on another machine)."""
    command = [PYTHON, "-m", "benchmark", "run", *tiny_overrides(workdir, *GRID, *extra), "--no-progress"]
    script = "hostname fusionbench-elsewhere && exec " + " ".join(f"'{part}'" for part in command)
    return subprocess.Popen(
        ["unshare", "--uts", "sh", "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=cli_env(),
    )


def _unshare_works() -> bool:
    try:
        return subprocess.run(["unshare", "--uts", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _runs_elsewhere(database: str, tracking_server: str, where: str) -> bool:
    """The worker on the other host is inside a trial of that kind (a RUNNING trial carrying its host)."""
    try:
        studies = Store(None, tracking_uri=tracking_server, storage=database).all_studies()
    except Exception:  # the storage's tables may not exist yet
        return False
    return any(
        name.endswith("/final") == (where == "final seed")
        and any(
            t.state == TrialState.RUNNING and t.user_attrs.get("host") == "fusionbench-elsewhere"
            for t in trials
        )
        for name, trials in studies.items()
    )


@pytest.mark.skipif(not _unshare_works(), reason="needs unshare --uts (root or user namespaces)")
@pytest.mark.parametrize("where", ["trial", "final seed"])
def test_a_worker_on_another_host_killed_is_redone_by_heartbeat(tmp_path, database, tracking_server, where):
    extra = (f"storage={database}", f"tracking_uri={tracking_server}", "heartbeat_seconds=1", *SLOW)
    victim = _worker_elsewhere(tmp_path, *extra)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:  # the victim (pid kept through exec) inside a trial of that kind
        if _runs_elsewhere(database, tracking_server, where):
            # frozen, then seen still inside it: a trial that ended between the look and the kill would
            # leave nothing to redo (a worker lost between two fits holds no trial)
            victim.send_signal(signal.SIGSTOP)
            if _runs_elsewhere(database, tracking_server, where):
                break
            victim.send_signal(signal.SIGCONT)
        time.sleep(0.1)
    else:
        pytest.fail("the victim never ran a " + where)
    survivor = _worker(tmp_path, *extra)
    victim.kill()
    victim.wait()
    output = survivor.communicate(timeout=600)[0]
    assert survivor.returncode == 0, output
    store = Store(None, tracking_uri=tracking_server, storage=database)
    assert_exact(
        store
    )  # every combination complete, exact budgets, nothing RUNNING (the victim's session too)
    every = [t for trials in store.all_studies().values() for t in trials]
    assert any(
        t.user_attrs.get("host") == "fusionbench-elsewhere" and t.state == TrialState.FAIL for t in every
    )
    heartbeats = psycopg.connect(database).execute("SELECT count(*) FROM trial_heartbeats").fetchone()[0]
    assert heartbeats > 0  # heartbeats were written at all (they never were behind Optuna's cache wrapper)
