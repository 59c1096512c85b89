"""Using a finished study's winner: the README's snippet run as written, a table task's saved predictor
(MLflow pyfunc) scoring raw rows as its run scored them, and ``benchmark predict``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmark.cli import main
from tests.conftest import REPO

# A real study's settings shrunk (what the snippet reads is the study's task, which is kept as it is).
QUICK = ["tuning.trials=2", "final.seeds=1", "train.max_epochs=3", "latency.repeats=3", "latency.warmup=1"]
QUICK += ["threads=1", "workers=1"]


def readme_snippet(heading: str) -> str:
    readme = (REPO / "README.md").read_text()
    start = readme.index(f"### {heading}")
    begin = readme.index("```python\n", start) + len("```python\n")
    return readme[begin : readme.index("\n```\n", begin) + 1]


def test_the_readme_winner_snippet_reproduces_the_logged_test_scores(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the snippet reads the study's default store, ./runs
    task = "tasks=[{name:synth-redundancy,n_modalities:2,n_samples:1000}]"  # as studies/smoke.yaml has it
    assert main(["run", "study=smoke", task, "grid.fusion=[concat]", *QUICK, "--no-progress"]) == 0
    capsys.readouterr()
    namespace: dict = {}
    exec(readme_snippet("Use the winner"), namespace)
    winner, test = namespace["winner"], namespace["test"]
    scores = winner.score(test)
    for name in ("accuracy", "f1_macro", "recall_macro"):
        assert scores[name] == pytest.approx(winner.logged[name], abs=1e-9)
    printed = capsys.readouterr().out
    assert winner.run_id in printed and f"{scores['f1_macro']}" in printed.replace("np.float64(", "")
    assert set(winner.predict(test.inputs)) <= set(winner.classes) == {"0", "1", "2", "3"}


def _patients(n: int = 240) -> pd.DataFrame:
    """Three named classes a model can learn from numbers, a category and words."""
    rng = np.random.default_rng(3)
    level = rng.integers(0, 3, n)
    words = np.array(["calm quiet", "mixed signs", "severe pain"])
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "age": rng.normal(50, 10, n) + 8 * level,
            "bp": rng.normal(120, 15, n),
            "ward": rng.choice(["north", "south"], n),
            "note": [f"{words[k]} day {rng.integers(9)}" if rng.random() < 0.7 else "routine" for k in level],
            "outcome": np.array(["good", "fair", "poor"])[level],
        }
    )


@pytest.fixture(scope="module")
def table_study(tmp_path_factory):
    folder = tmp_path_factory.mktemp("table")
    _patients().to_csv(folder / "patients.csv", index=False)
    modalities = "{vitals: {numeric: [age, bp], categorical: [ward]}, notes: {text: [note], max_len: 8}}"
    task = (
        f"tasks=[{{name: table, path: {folder / 'patients.csv'}, target: outcome, modalities: {modalities}}}]"
    )
    overrides = ["study=smoke", task, "grid.fusion=[concat,ref_logreg]", f"workdir={folder / 'runs'}"]
    overrides += [f"report_dir={folder / 'reports'}", *QUICK]
    assert main(["run", *overrides, "--no-progress"]) == 0
    return folder, overrides


def test_a_table_tasks_predictor_scores_raw_rows_as_its_run_scored_them(table_study, monkeypatch):
    import mlflow.pyfunc

    from benchmark.tasks.base import outer_parts
    from benchmark.tasks.custom import _class_ids
    from benchmark.winner import load_winner

    folder, overrides = table_study
    winner = load_winner("smoke", task="table", overrides=overrides[1:])
    assert winner.classes == ("fair", "good", "poor")
    frame = pd.read_csv(folder / "patients.csv")
    test_rows = outer_parts(_class_ids(frame["outcome"], "t")[0], winner.config.data_seed)["test"].numpy()
    raw = frame.iloc[test_rows].drop(columns="outcome")  # a new table: no label column
    monkeypatch.setenv("MLFLOW_TRACKING_URI", winner.config.resolved_tracking_uri)
    served = mlflow.pyfunc.load_model(f"runs:/{winner.run_id}/predictor").predict(raw)
    predicted = served["predicted"].to_numpy()
    assert (predicted == frame["outcome"].to_numpy()[test_rows]).mean() == pytest.approx(
        winner.logged["accuracy"], abs=1e-9
    )
    assert list(predicted) == list(winner.predict(winner.test_split().inputs))
    with pytest.raises(ValueError, match="lacks column 'age'"):
        winner.predict(raw.drop(columns="age"))


def test_predict_writes_each_rows_class_and_refuses_what_it_cannot_score(table_study, capsys):
    folder, overrides = table_study
    frame = _patients().head(12)
    frame.to_csv(folder / "new.csv", index=False)
    out = folder / "scored.csv"
    args = ["predict", *overrides[1:], "study=smoke", "task=table"]
    assert main([*args, "--input", str(folder / "new.csv"), "--output", str(out)]) == 0
    scored = pd.read_csv(out)
    assert len(scored) == 12 and set(scored["predicted"]) <= {"fair", "good", "poor"}
    assert list(scored.columns) == [*frame.columns, "predicted"]
    assert main(args) == 0  # no --input: its test rows scored again, beside the logged scores
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("chosen on validation: table:") and lines[1].startswith("scored again")
    frame.drop(columns="bp").to_csv(folder / "short.csv", index=False)
    for bad, message in (
        ([*args, "--input", str(folder / "short.csv")], "lacks column 'bp'"),
        ([*args[:-1], "task=nope"], "has no task 'nope'; its tasks: table"),
        ([*args[:-1]], "predict needs one task=LABEL"),
    ):
        assert main(bad) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err, err


def test_a_task_moved_to_a_device_keeps_its_class_names_and_row_encoder(tmp_path):
    """On a GPU the tasks are moved before training; the move once rebuilt the task from a field list,
    which would have dropped what a saved predictor needs."""
    import torch

    from benchmark.runner import _task_to
    from benchmark.tasks import build_task

    _patients(60).to_csv(tmp_path / "p.csv", index=False)
    task = build_task(
        "table", path=str(tmp_path / "p.csv"), target="outcome", modalities={"v": {"numeric": ["age"]}}
    )
    moved = _task_to(task, torch.device("meta"))
    assert moved.splits["test"].labels.device.type == "meta"
    assert moved.class_names == ("fair", "good", "poor") and moved.rows is task.rows


def test_the_report_names_the_run_that_holds_each_answers_model(table_study):
    """The report's answer and leaderboard carry the run the winner's model loads from, linked to the
    address `benchmark ui` opens that run at."""
    from benchmark.winner import load_winner

    folder, overrides = table_study
    winner = load_winner("smoke", task="table", overrides=[o for o in overrides if o != "study=smoke"])
    board = pd.read_csv(folder / "reports" / "smoke" / "leaderboard.csv")
    chosen = board[(board["fusion"] == winner.fusion) & (board["modalities"] == "+".join(winner.modalities))]
    assert list(chosen["model_run_id"]) == [winner.run_id]
    (ui,) = chosen["model_run_ui"]
    assert ui.startswith("http://127.0.0.1:5000/#/experiments/") and ui.endswith(f"/runs/{winner.run_id}")
    report = (folder / "reports" / "smoke" / "README.md").read_text()
    answer = report[report.index("## The answer per task") :].split("\n## ")[0]
    assert f"model in run [`{winner.run_id[:8]}`]({ui})" in answer
    html = (folder / "reports" / "smoke" / "report.html").read_text()
    assert f'<a href="{ui}"><code>{winner.run_id[:8]}</code></a>' in html
