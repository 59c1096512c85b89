"""Store addresses: bad ones are one line and exit 2; a password anywhere in a URI never leaves the process."""

from __future__ import annotations

import pytest

from benchmark.cli import main
from benchmark.studies import load_study
from benchmark.uris import redact_uri, scrub
from tests.conftest import tiny_overrides
from tests.test_distributed import database  # noqa: F401 - fixture: a fresh PostgreSQL database

SECRET = "Zq8uniquePassw0rd"


@pytest.mark.parametrize(
    ("uri", "masked"),
    [
        ("postgresql://bob:s3cret@db:5432/optuna", "postgresql://bob:***@db:5432/optuna"),
        ("postgresql://bob@db/optuna?password=s3cret", "postgresql://bob@db/optuna?password=***"),
        (
            "postgresql://db/o?sslmode=require&PASSWORD=s3cret",
            "postgresql://db/o?sslmode=require&PASSWORD=***",
        ),
        ("https://host:8443/?token=s3cret", "https://host:8443/?token=***"),
        ("/plain/path/optuna.journal", "/plain/path/optuna.journal"),
        ("postgresql://bob@db/optuna?sslmode=require", "postgresql://bob@db/optuna?sslmode=require"),
    ],
)
def test_passwords_are_masked_in_user_info_and_query(uri, masked):
    assert redact_uri(uri) == masked
    if "s3cret" in uri:  # a driver's message that echoes the secret is scrubbed too
        assert "s3cret" not in scrub(f"connection to {uri} failed: password s3cret rejected", uri)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "tracking_uri=http://127.0.0.1:abc",
            "tracking_uri: port 'abc' in http://127.0.0.1:abc must be a number",
        ),
        (
            "tracking_uri=ftp://host/x",
            "tracking_uri: scheme ftp:// is not supported; use one of: http, https",
        ),
        ("tracking_uri=http://:5000", "tracking_uri: http://:5000 names no host"),
        (
            "storage=postgresql://u:pw@127.0.0.1:99999/db",
            "storage: port '99999' in postgresql://u:***@127.0.0.1:99999/db",
        ),
        ("storage=ftp://x", "storage must be a journal file path or a database URL"),
    ],
)
def test_bad_addresses_are_one_line_and_exit_2(tmp_path, capsys, override, message):
    assert main(["run", "study=smoke", f"workdir={tmp_path}/w", override]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "pw@" not in err
    assert not (tmp_path / "w").exists()


def test_a_folder_as_the_journal_is_refused(tmp_path, capsys):
    assert main(["run", "study=smoke", f"storage={tmp_path}"]) == 2
    assert "is a folder; give a journal file path" in capsys.readouterr().err


def test_store_addresses_can_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("FUSIONBENCH_STORAGE", f"postgresql://bob:{SECRET}@db/optuna")
    monkeypatch.setenv("FUSIONBENCH_TRACKING_URI", "http://tracking:5000")
    config = load_study("smoke")
    assert config.storage_is_shared and config.resolved_tracking_uri == "http://tracking:5000"
    assert SECRET not in str(config.to_dict())
    assert load_study("smoke", [f"storage={tmp_path}/j.journal"]).resolved_storage == f"{tmp_path}/j.journal"


def test_a_password_in_the_query_string_is_found_nowhere(tmp_path, capfd, database):  # noqa: F811
    storage = f"{database}?password={SECRET}"  # trust authentication: the password is accepted and unused
    overrides = tiny_overrides(
        tmp_path, f"storage='{storage}'", "grid.fusion=[concat]", "grid.modalities=[[img,vec]]"
    )
    assert main(["run", *overrides, "--no-progress"]) == 0
    assert main(["report", *overrides]) == 0
    printed = capfd.readouterr()
    assert SECRET not in printed.out + printed.err and "password=***" in printed.out
    for path in tmp_path.rglob("*"):  # the MLflow store, its artifacts (config.yaml), the report
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
