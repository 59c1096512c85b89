"""Commands that train nothing start fast: no torch, no model code (catalog.json answers)."""

from __future__ import annotations

import json
import subprocess

import pandas as pd
import pytest

from benchmark import catalog
from tests.conftest import PYTHON, REPO, cli_env, load_bench
from tests.store import build_store
from tests.test_report import ENTRIES

NO_MODELS = "assert not [m for m in sys.modules if m == 'torch' or m.startswith(('benchmark.encoders', 'benchmark.fusions', 'benchmark.tasks'))], sorted(sys.modules)"


def _run_without_models(*arguments: str) -> subprocess.CompletedProcess:
    code = (
        "import sys\nfrom benchmark.cli import main\n"
        f"try:\n    status = main({list(arguments)!r})\nexcept SystemExit as exit:\n    status = exit.code\n"
        f"{NO_MODELS}\nsys.exit(status)\n"
    )
    return subprocess.run([PYTHON, "-c", code], cwd=REPO, capture_output=True, text=True, env=cli_env())


def test_the_stored_catalog_is_what_the_registries_say():
    stored = json.loads(catalog.CATALOG_FILE.read_text())
    assert stored["fingerprint"] == catalog.fingerprint(), (
        "run `python -m benchmark.catalog` after changing a component"
    )
    assert {k: v for k, v in stored.items() if k != "fingerprint"} == catalog.from_registries().to_json()


@pytest.mark.parametrize("arguments", [["--help"], ["list"], ["data", "list"], ["report", "--help"]])
def test_commands_that_train_nothing_import_no_torch(arguments):
    result = _run_without_models(*arguments)
    assert result.returncode == 0, result.stderr


def test_validating_a_study_and_building_its_report_import_no_torch(tmp_path):
    uri = build_store(tmp_path, "rep", ENTRIES[:5])
    result = _run_without_models(
        "report", "study=fusion", "name=rep", f"tracking_uri={uri}", f"--out={tmp_path}/r"
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "r" / "README.md").is_file()
    bad = _run_without_models("report", "study=smoke", "grid.fusion=[magic]")
    assert bad.returncode == 2 and "unknown fusion 'magic'" in bad.stderr


def test_a_stale_catalog_is_never_used(tmp_path, monkeypatch):
    stale = tmp_path / "catalog.json"
    data = json.loads(catalog.CATALOG_FILE.read_text())
    stale.write_text(json.dumps({**data, "fingerprint": "0" * 64, "fusions": {}}))
    monkeypatch.setattr(catalog, "CATALOG_FILE", stale)
    catalog._stored.cache_clear()
    try:
        assert catalog._stored() is None
        assert "concat" in catalog.catalog().fusions  # the registries answered
    finally:
        catalog._stored.cache_clear()


def test_list_shows_reference_models_with_their_description():
    result = _run_without_models("list")
    assert "ref_logreg" in result.stdout and "logistic regression (scikit-learn)" in result.stdout
    assert "``" not in result.stdout


@pytest.mark.parametrize("script", sorted(p.stem for p in (REPO / "bench").glob("*.py")))
def test_every_bench_script_imports(script):
    assert callable(load_bench(script).main)


def test_the_startup_benchmark_prints_its_table(capsys):
    medians = load_bench("startup").main(rounds=1)
    assert set(medians) == {"--help", "list", "data list", "report --help"}
    assert not any(torch for _, torch in medians.values())
    assert "median s" in capsys.readouterr().out


@pytest.mark.slow
def test_the_report_scale_benchmark_runs(tmp_path, capsys):
    load_bench("report_scale").main(["--runs", "100", "--workdir", str(tmp_path / "scale")])
    assert "`python -m benchmark report` (CLI)" in capsys.readouterr().out


def test_the_convergence_benchmark_counts_runs_still_rising_when_training_ended(tmp_path, capsys):
    runs = pd.DataFrame(
        {
            "task": ["a", "a", "a", "b", "b"],
            "fusion": ["none", "concat", "ref_logreg", "none", "concat"],
            "status": ["FINISHED"] * 5,
            "train/epochs": [40, 40, 1, 30, 30],
            "train/best_epoch": [40, 39, 1, 10, 12],  # a: both chose one of their last two epochs
        }
    )
    runs.to_csv(tmp_path / "runs.csv", index=False)
    table = load_bench("convergence").convergence(runs)
    assert table.loc["a", "runs"] == 2 and table.loc["a", "still rising"] == 1.0  # the reference left out
    assert table.loc["b", "still rising"] == 0.0 and table.loc["all", "still rising"] == 0.5
    load_bench("convergence").main([str(tmp_path / "runs.csv")])
    assert "| a | 2 | 40 | 100% | 100% | 100% |" in capsys.readouterr().out
