import re
import subprocess
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.config import parse_study
from benchmark.errors import ConfigError
from benchmark.runner import prepare
from benchmark.studies import available_studies, load_study
from benchmark.uris import redact_uri
from tests.conftest import PYTHON, STUDIES, cli_env


def _needs_data_files(study: str) -> bool:
    from benchmark.data import SOURCES

    return any(task.name in SOURCES for task in load_study(study).tasks)


@pytest.mark.parametrize("study", available_studies(STUDIES))
def test_every_shipped_study_composes_and_validates(study):
    config = load_study(study)
    assert config.name == study and config.tasks


@pytest.mark.parametrize(
    "study",
    [
        pytest.param(s, marks=pytest.mark.slow) if _needs_data_files(s) else s
        for s in available_studies(STUDIES)
    ],
)
def test_every_shipped_study_expands_to_a_grid(study):
    prepared = prepare(load_study(study))  # builds every task (fetching data sets once) and the grid
    assert prepared.plan.combinations


def test_overrides_use_hydra_grammar_and_reach_typed_fields(tmp_path):
    config = load_study(
        "smoke",
        [
            "tuning.trials=7",
            "grid.fusion=[concat]",
            "grid.depth=[1,3]",
            f"workdir={tmp_path}",
            "tuning.space.width=48",
        ],
    )
    assert config.tuning.trials == 7
    assert config.grid.fusion == ("concat",)
    assert config.grid.depth == (1, 3)
    assert config.tuning.space["width"].kind == "fixed"
    assert config.resolved_tracking_uri == f"sqlite:///{tmp_path}/mlflow.db"
    assert config.resolved_storage == f"{tmp_path}/optuna.journal"


def test_omitted_keys_take_defaults_and_can_be_overridden():
    config = parse_study({"name": "x", "tasks": ["synth-synergy"]})
    assert config.tuning.trials == 4 and config.final.seeds == 3 and config.train.max_epochs == 20
    assert config.grid.fusion == ("concat", "attention", "late_vote")
    assert load_study("smoke", ["train.eval_batch_size=64"]).train.eval_batch_size == 64


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["tuning.trials=abc"], "tuning.trials must be an integer, got 'abc'"),
        (["tuning.trials=0"], "tuning.trials must be >= 1"),
        (["latency.seeds=0"], "latency.seeds must be >= 1"),
        (["+report.rope=x"], "report.rope must be a number, got 'x'"),
        (["+report.alpha=0"], "report.alpha must be in [0, 1), got 0"),
        (["+report.bootstrap=10"], "report.bootstrap must be >= 100"),
        (
            ["+report.margin=1"],
            "unknown key report.'margin'; allowed keys: rope, alpha, unstable_std, bootstrap, baseline",
        ),
        (["+bogus=1"], "unknown key 'bogus'; allowed keys: name, tasks, grid"),
        (["train.epochs=3"], "unknown key train.'epochs'; allowed keys: max_epochs"),
        (
            ["grid.fusion=[concat,magic]"],
            "unknown fusion 'magic'; registered fusion methods: additive, attention, concat",
        ),
        (["tasks=[nope]"], "unknown task 'nope'; registered tasks: ad-csf, arrays, basic-motions"),
        (["tasks=[{name:synth-synergy,colour:1}]"], "task 'synth-synergy' has no parameter 'colour'"),
        (["tuning.metric=auc"], "tuning.metric must be one of accuracy, recall_macro, f1_macro"),
        (["device=tpu"], "device must be one of auto, cpu, cuda, cuda:N"),
        (["grid.modalities=some"], "grid.modalities must be 'all', a list of modality lists"),
        (["grid.depth=1,2"], "is a sweep; list grid values instead"),
        (["tuning.space.lr={low:1,high:0.1}"], "low must be below high"),
        (["encoders.image=mlp"], "encoders.image: 'mlp' cannot encode image; choose one of: cnn"),
    ],
)
def test_bad_input_gets_one_clear_line(overrides, message):
    with pytest.raises(ConfigError) as err:
        load_study("smoke", overrides)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_unknown_study_names_the_available_ones():
    with pytest.raises(ConfigError, match="unknown study 'nope'.*available studies: .*smoke"):
        load_study("nope")


def test_empty_grid_is_bad_input():
    config = load_study("smoke", ["grid.modalities=[[vec,nothere]]"])
    with pytest.raises(ConfigError, match="the grid is empty.*no modality 'nothere'"):
        prepare(config)


def test_cuda_without_a_device_is_bad_input():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    with pytest.raises(ConfigError, match="no CUDA device"):
        prepare(load_study("smoke", ["device=cuda"]))


@pytest.mark.parametrize(
    "arguments",
    [
        ["tuning.trials=abc"],
        ["grid.fusion=[nope]"],
        ["grid.modalities=[[nothere]]"],
    ],
)
def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, arguments):
    workdir = tmp_path / "store"
    status = main(["run", "study=smoke", f"workdir={workdir}", *arguments])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.err.startswith("error: ") and captured.err.count("\n") == 1
    assert not workdir.exists()


def test_cli_missing_study_and_help(tmp_path):
    result = subprocess.run([PYTHON, "-m", "benchmark", "run"], capture_output=True, text=True, env=cli_env())
    assert result.returncode == 2 and "missing study=NAME; available studies:" in result.stderr
    for command in ("run", "list", "ui"):
        helped = subprocess.run(
            [PYTHON, "-m", "benchmark", command, "--help"], capture_output=True, text=True
        )
        assert helped.returncode == 0 and "usage:" in helped.stdout


def test_dry_run_prints_grid_and_drops_without_training(tmp_path, capsys):
    workdir = tmp_path / "store"
    status = main(
        [
            "run",
            "study=smoke",
            f"workdir={workdir}",
            "grid.modalities=[[vec],[img,vec],[img,seq]]",
            "--dry-run",
        ]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert "study smoke: 8 combinations, 2 dropped" in out
    assert "synth-synergy/d1/img+vec/late_vote" in out
    assert "no modality 'seq'" in out
    # the cost estimate: a probe of each grid cell, per task and in all
    assert "estimated cost on this machine" in out
    assert "synth-synergy" in out.split("estimated cost")[1] and "minutes of wall time" in out
    assert not workdir.exists()
    # reference models are probed with one fit each
    assert (
        main(["run", "study=smoke", f"workdir={workdir}", "grid.fusion=[concat,ref_logreg]", "--dry-run"])
        == 0
    )
    assert "estimated cost on this machine" in capsys.readouterr().out and not workdir.exists()


def test_list_names_every_component(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("smoke", "synth-synergy", "cnn", "tcn", "mlp", "concat", "attention", "late_vote", "none"):
        assert name in out
    # every task says what it is in whole sentences of plain text (no reST markup, nothing cut)
    tasks = out.split("tasks:\n", 1)[1].split("encoders:\n", 1)[0]
    entries = [" ".join(e.split()) for e in re.split(r"\n  (?=\S)", tasks.strip("\n"))]
    assert len(entries) >= 20
    for entry in entries:
        name, text = entry.split(" ", 1)
        assert "``" not in text and text.endswith((".", "?")), entry
        assert not text.startswith("Parameters:"), f"{name} has no summary"


def test_credentials_are_masked():
    assert redact_uri("postgresql://bob:s3cret@db:5432/optuna") == "postgresql://bob:***@db:5432/optuna"
    assert redact_uri("/a/path.journal") == "/a/path.journal"
    config = load_study("smoke", ["storage=postgresql://bob:s3cret@db/optuna"])
    assert "s3cret" not in str(config.to_dict())


def test_ui_refuses_a_store_that_does_not_exist(tmp_path, capsys):
    assert main(["ui", "study=smoke", f"workdir={tmp_path / 'none'}"]) == 2
    assert "run the study first" in capsys.readouterr().err


def test_studies_dir_defaults_to_the_repository(monkeypatch, tmp_path):
    monkeypatch.delenv("FUSIONBENCH_STUDIES")
    monkeypatch.chdir(tmp_path)
    assert "smoke" in available_studies()
    assert Path(load_study("smoke").workdir_path) == tmp_path / "runs"


def test_flags_may_stand_anywhere_among_the_overrides(tmp_path, capsys):
    assert main(["run", "study=smoke", "--dry-run", "tuning.trials=3", f"workdir={tmp_path}"]) == 0
    assert "3 trials + 2 final seeds each" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "study=smoke", "--dry-run", "--bogus"])
    assert exit_info.value.code == 2 and "unrecognized arguments: --bogus" in capsys.readouterr().err
