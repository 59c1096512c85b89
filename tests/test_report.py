"""The report, rebuilt from a real MLflow store whose values the test chose."""

from __future__ import annotations

import statistics

import numpy as np
import pandas as pd
import pytest

from benchmark.cli import main
from benchmark.report import FINDINGS, generate_report, robustness_tables, tables
from benchmark.report.collect import collect
from benchmark.report.specs import CSV_ONLY, TABLES, ReportSettings
from tests.conftest import REPO
from tests.store import build_store

F1 = {  # (task, depth, modalities, fusion) -> test F1 per seed
    ("t", 1, ("a",), "none"): [0.60, 0.62, 0.64],
    ("t", 1, ("b",), "none"): [0.50, 0.52, 0.54],
    ("t", 1, ("a", "b"), "concat"): [0.90, 0.92, 0.94],
    ("t", 1, ("a", "b"), "late_vote"): [0.70, 0.72, 0.71],
    ("t", 1, ("a", "b"), "attention"): [0.91, 0.89, 0.90],
    ("t", 2, ("a",), "none"): [0.66, 0.64, 0.65],
    ("t", 2, ("a", "b"), "concat"): [0.95, 0.96, 0.97],
    ("t", 2, ("a", "b"), "late_vote"): [0.70, 0.70, 0.74],
    ("t", 2, ("a", "b"), "attention"): [0.80, 0.82, 0.84],
    ("v", 1, ("x",), "none"): [0.30, 0.31, 0.32],
    ("v", 1, ("x", "y"), "concat"): [0.40, 0.42, 0.41],
    ("v", 1, ("x", "y"), "late_vote"): [0.45, 0.44, 0.46],
    ("v", 1, ("x", "y"), "attention"): [0.41, 0.43, 0.40],
}
TASKS_OF_REP = {task for task, *_ in F1}
LATENCY = {"none": 0.05, "concat": 0.10, "late_vote": 0.08, "attention": 0.30}


def _metrics(f1: float, fusion: str, depth: int) -> dict[str, float]:
    latency = LATENCY[fusion] * depth
    return {
        "test/f1_macro": f1,
        "test/accuracy": f1 + 0.01,
        "test/recall_macro": f1 - 0.01,
        "val/f1_macro": f1,
        "latency/p50_ms": latency,
        "latency/p95_ms": latency * 1.2,
        "memory/cpu_added_mb": 500.0,
        "model/parameters": 1000.0 * depth,
        "time/train_s": 1.5,
    }


ENTRIES = [
    {"task": t, "depth": d, "modalities": m, "fusion": f, "seeds": [_metrics(x, f, d) for x in values]}
    for (t, d, m, f), values in F1.items()
]
PARTIAL = [
    {
        "task": "v",
        "depth": 2,
        "modalities": ("x", "y"),
        "fusion": "concat",
        "parent_status": "RUNNING",
        "state": None,
        "seeds": [_metrics(0.5, "concat", 2)],
    },
    {
        "task": "v",
        "depth": 2,
        "modalities": ("x", "y"),
        "fusion": "attention",
        "state": "failed",
        "seeds": [],
    },
    {
        "task": "v",
        "depth": 2,
        "modalities": ("x",),
        "fusion": "none",
        "seed_status": ["FINISHED", "FAILED"],
        "seeds": [_metrics(0.33, "none", 2), _metrics(0.0, "none", 2)],
    },
]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("report")
    return workdir, build_store(workdir, "rep", ENTRIES + PARTIAL)


@pytest.fixture(scope="module")
def summary(store):
    return tables.combination_summary(collect(store[1], "rep", expected_seeds=3))


def _row(frame: pd.DataFrame, task, depth, modalities, fusion) -> pd.Series:
    hit = frame[
        (frame.task == task)
        & (frame.depth == depth)
        & (frame.modalities == modalities)
        & (frame.fusion == fusion)
    ]
    assert len(hit) == 1
    return hit.iloc[0]


def test_leaderboard_means_stds_and_ranks(summary):
    board = tables.leaderboard(summary)
    for (task, depth, modalities, fusion), values in F1.items():
        row = _row(board, task, depth, "+".join(modalities), fusion)
        assert row["test/f1_macro_mean"] == pytest.approx(statistics.fmean(values))
        assert row["test/f1_macro_std"] == pytest.approx(statistics.stdev(values))
        assert row["state"] == "finished"
    t_rows = board[board.task == "t"]
    assert list(t_rows["fusion"][:2]) == ["concat", "concat"] and list(t_rows["depth"][:2]) == [2, 1]
    assert list(t_rows["rank"]) == list(range(1, 10))


def test_partial_and_failed_combinations_are_shown_not_dropped(summary):
    board = tables.leaderboard(summary)
    assert _row(board, "v", 2, "x+y", "concat")["state"] == "incomplete: 1 seeds so far"
    assert _row(board, "v", 2, "x+y", "concat")["test/f1_macro_mean"] == pytest.approx(0.5)
    failed = _row(board, "v", 2, "x+y", "attention")
    assert failed["state"] == "failed: no trial completed" and pd.isna(failed["rank"])
    assert board.iloc[-1]["fusion"] == "attention"  # unscored rows go to the bottom of their task
    one_failed_seed = _row(board, "v", 2, "x", "none")
    assert one_failed_seed["state"] == "partial: 1 seeds"
    assert one_failed_seed["test/f1_macro_mean"] == pytest.approx(0.33)  # the FAILED seed is not averaged in


def test_fusion_depth_table_takes_the_best_subset(summary):
    table = tables.fusion_depth_table(summary)
    row = table[(table.task == "t") & (table.fusion == "none") & (table.depth == 1)].iloc[0]
    assert row["score"] == pytest.approx(0.62) and row["modalities"] == "a"
    row = table[(table.task == "t") & (table.fusion == "attention") & (table.depth == 2)].iloc[0]
    assert row["score"] == pytest.approx(0.82)


def test_modality_ablation_gain_over_best_single(summary):
    table = tables.modality_ablation(summary)
    t = table[table.task == "t"].set_index("modalities")
    best_single = statistics.fmean(F1[("t", 2, ("a",), "none")])  # 0.65 beats depth 1's 0.62
    assert t.loc["a", "gain_over_best_single"] == pytest.approx(0.0)
    assert t.loc["a+b", "score"] == pytest.approx(0.96)
    assert t.loc["a+b", "fusion"] == "concat" and t.loc["a+b", "depth"] == 2
    assert t.loc["a+b", "gain_over_best_single"] == pytest.approx(0.96 - best_single)


def test_pareto_front_matches_brute_force(summary):
    points = tables.pareto_front(summary)
    for task in ("t", "v"):
        rows = points[points.task == task]
        for _, p in rows.iterrows():
            dominated = any(
                q.val_score >= p.val_score
                and q.latency_ms <= p.latency_ms
                and (q.val_score > p.val_score or q.latency_ms < p.latency_ms)
                for _, q in rows.iterrows()
            )
            assert p.on_front == (not dominated)
    front_t = points[(points.task == "t") & points.on_front]
    assert set(zip(front_t.modalities, front_t.fusion, front_t.depth, strict=True)) == {
        ("a", "none", 1),
        ("a+b", "late_vote", 1),
        ("a+b", "concat", 1),
        ("a+b", "concat", 2),
    }


def test_identical_points_are_both_on_the_front():
    frame = pd.DataFrame(
        {
            "task": ["t"] * 4,
            "depth": [1, 1, 2, 2],
            "modalities": ["a", "b", "c", "d"],
            "fusion": ["x"] * 4,
            "val/f1_macro_mean": [0.9, 0.9, 0.8, 0.95],
            "test/f1_macro_mean": [0.5, 0.6, 0.99, 0.7],
            "latency/p50_ms_mean": [1.0, 1.0, 2.0, 3.0],
        }
    )
    # chosen on validation: c's test score of 0.99 does not put it on the front
    assert tables.pareto_front(frame)["on_front"].tolist() == [True, True, False, True]


def test_average_ranks_per_task(summary):
    ranks, family, omnibus = tables.method_comparison(summary)
    # the data set is the only unit: no second family over blocks of the same tasks
    assert set(ranks.unit) == {"task"} and set(ranks.group) == {"real"}
    tasks = ranks.set_index("method")
    # per task the mean over its complete blocks (t,1,a+b), (t,2,a+b), (v,1,x+y); the partial (v,2,x+y)
    # has only concat scored. t: concat 0.935, attention 0.86, late_vote 0.7133;
    # v: late_vote 0.45, attention 0.4133, concat 0.41
    assert tasks.loc["concat", "average_rank"] == pytest.approx(2.0)
    assert tasks.loc["late_vote", "average_rank"] == pytest.approx(2.0)
    assert tasks.loc["attention", "average_rank"] == pytest.approx(2.0)
    assert (tasks["units"] == 2).all()
    assert omnibus["real"].test == "" and "only 2 task(s)" in omnibus["real"].reason
    # the declared family: every method against concat, nothing else
    assert sorted(family.method_a) == ["attention", "late_vote"] and set(family.method_b) == {"concat"}


def test_report_files_are_deterministic_and_complete(store, tmp_path):
    _, uri = store
    first = generate_report(uri, "rep", tmp_path / "one", expected_seeds=3).directory
    second = generate_report(uri, "rep", tmp_path / "two", expected_seeds=3).directory
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    for name in names:
        if name.endswith((".md", ".csv", ".png")):
            assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert {
        "README.md",
        "report.html",
        "leaderboard.csv",
        "significance.csv",
        "cost_by_fusion.png",
        "pareto.csv",
        "runs.csv",
    } <= set(names)
    assert {"best.csv", "ranks.csv", "tables.tex", "findings.md"} <= set(names)
    markdown = (first / "README.md").read_text()
    assert "## Partial or failed combinations" in markdown and "failed: no trial completed" in markdown
    assert "Over the real tasks: no omnibus test (only 2 task(s) where all methods ran)." in markdown
    assert "Best average rank: a tie between attention, concat, late_vote (2.00)" in markdown
    assert "(cost_by_fusion.png)" in markdown
    # each task's figures in its own section, after its tables
    for task in sorted({line[3:] for line in markdown.splitlines() if line.startswith("## ")} & TASKS_OF_REP):
        section = markdown.split(f"\n## {task}\n", 1)[1].split("\n## ", 1)[0]
        for stem in ("score_by_fusion_depth", "modality_ablation", "accuracy_latency"):
            assert f"({stem}_{task}.png)" in section and f"{stem}_{task}.png" in names
        assert section.rindex("**Leaderboard") < section.index(f"({'score_by_fusion_depth'}_{task}.png)")
    # a table of contents links every section, in Markdown (GitHub's anchors) and in the HTML (ids)
    headings = [line.lstrip("#").strip() for line in markdown.splitlines() if line.startswith("## ")]
    html = (first / "report.html").read_text()
    for heading in headings:
        slug = heading.lower().replace(" ", "-")
        slug = "".join(c for c in slug if c.isalnum() or c in "-_")
        assert f"- [{heading}](#{slug})" in markdown and f'id="{slug}"' in html and f'href="#{slug}"' in html
    images = markdown.count("](") - markdown.count("](#") - markdown.count("](http")
    assert html.count("data:image/png;base64,") == images and "Generated " in html
    leaderboard = pd.read_csv(first / "leaderboard.csv")
    assert len(leaderboard) == len(F1) + len(PARTIAL)
    # every table spec is a CSV; the shown ones appear under their caption, the findings ones in findings.md
    assert {f"{spec.name}.csv" for spec in TABLES} | {"runs.csv"} == {n for n in names if n.endswith(".csv")}
    findings = (first / FINDINGS).read_text()
    for spec in TABLES:
        caption = spec.caption(ReportSettings(), "macro F1")
        rows = pd.read_csv(first / f"{spec.name}.csv")
        shown = spec.section != CSV_ONLY and (len(rows) or not spec.optional)
        assert (f"**{caption}**" in markdown) == bool(shown), spec.name
        assert (f"**{caption}**" in findings) == bool(shown and spec.in_findings), spec.name


def test_regenerating_replaces_the_folder_atomically(store, tmp_path):
    target = generate_report(store[1], "rep", tmp_path / "rep").directory
    (target / "README.md").write_text("# Fusion benchmark report: edited")
    generate_report(store[1], "rep", target)
    assert (target / "README.md").read_text() != "# Fusion benchmark report: edited"
    assert [p.name for p in tmp_path.iterdir()] == ["rep"]  # no staging folder left behind


def test_report_cli_errors(tmp_path, capsys):
    assert main(["report", "study=smoke", f"workdir={tmp_path}", f"report_dir={tmp_path}/r"]) == 2
    assert "run the study first" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_direct_sql_read_matches_mlflow_search_runs(store):
    from benchmark.tracking.reader import read_study_runs

    kinds = ("combination", "final")
    fast = sorted(read_study_runs(store[1], "rep", kinds), key=lambda r: r["run_id"])
    slow = sorted(read_study_runs(store[1], "rep", kinds, direct_sql=False), key=lambda r: r["run_id"])
    assert len(fast) == len(ENTRIES) + len(PARTIAL) + sum(len(e["seeds"]) for e in ENTRIES + PARTIAL)
    assert fast == slow


def _robust(score: float, without_a: float, without_b: float, noisy: dict[str, list[float]]) -> dict:
    metrics = {
        "test/accuracy": score,
        "test/f1_macro": score,
        "test/recall_macro": score,
        "val/f1_macro": score,
        "robust/missing/a/f1_macro": without_a,
        "robust/missing/b/f1_macro": without_b,
    }
    for modality, values in noisy.items():
        for level, value in zip((0.5, 1.0), values, strict=True):
            metrics[f"robust/noise/{modality}/{level:g}/accuracy"] = value
            metrics[f"robust/noise/{modality}/{level:g}/f1_macro"] = value
        metrics[f"robust/noise/{modality}/retention"] = sum(values) / 2 / score
    metrics["robust/noise_retention"] = statistics.fmean(
        metrics[f"robust/noise/{m}/retention"] for m in noisy
    )
    return metrics


def test_robustness_table_noise_curves_and_their_place_in_the_report(tmp_path):
    entries = [
        {
            "task": "r",
            "depth": 1,
            "modalities": ("a", "b"),
            "fusion": "concat",
            "seeds": [
                _robust(0.9, 0.3, 0.8, {"a": [0.8, 0.6], "b": [0.9, 0.85]}),
                _robust(0.8, 0.5, 0.7, {"a": [0.6, 0.4], "b": [0.8, 0.75]}),
            ],
        },
        {
            "task": "r",
            "depth": 1,
            "modalities": ("a",),
            "fusion": "none",
            "seeds": [
                {
                    "test/accuracy": 0.7,
                    "test/f1_macro": 0.7,
                    "val/f1_macro": 0.7,
                    "robust/noise/a/0.5/f1_macro": 0.6,
                    "robust/noise/a/0.5/accuracy": 0.6,
                    "robust/noise/a/1/f1_macro": 0.5,
                    "robust/noise/a/1/accuracy": 0.5,
                    "robust/noise/a/retention": 0.55 / 0.7,
                    "robust/noise_retention": 0.55 / 0.7,
                }
            ],
        },
    ]
    uri = build_store(tmp_path, "rob", entries)
    runs = collect(uri, "rob")
    table = robustness_tables.robustness_table(runs)
    fused = _row(table, "r", 1, "a+b", "concat")
    assert fused["score"] == pytest.approx(0.85)
    # missing b leaves a, whose unimodal network (trained without b) scores 0.7; without a: not in the grid
    assert fused["missing"]["a"][0] == pytest.approx(0.4) and np.isnan(fused["missing"]["a"][1])
    assert fused["missing"]["b"] == pytest.approx((0.75, 0.7))
    assert fused["worst_missing"] == pytest.approx(0.4)
    retentions = [statistics.fmean([0.7 / 0.9, 0.875 / 0.9]), statistics.fmean([0.5 / 0.8, 0.775 / 0.8])]
    assert fused["retention"] == pytest.approx(statistics.fmean(retentions))
    assert _row(table, "r", 1, "a", "none")["missing"] == {}
    curves = robustness_tables.noise_curves(
        runs
    )  # the largest modality set only: a+b, levels 0 (clean), 0.5, 1
    assert list(curves["fusion"].unique()) == ["concat"]
    assert list(curves["level"]) == [0.0, 0.5, 1.0]
    assert list(curves["score"]) == pytest.approx([0.85, (0.7 + 0.85) / 2, (0.5 + 0.8) / 2])
    report = generate_report(uri, "rob", tmp_path / "report").directory
    markdown = (report / "README.md").read_text()
    assert "**Robustness" in markdown and "a 0.400 (–), b 0.750 (0.700)" in markdown
    assert "(score_noise_r.png)" in markdown and (report / "score_noise_r.png").exists()


@pytest.mark.parametrize("study", ["fusion", "quick"])
def test_readme_findings_are_the_committed_reports_findings(study):
    """The README's results say only what the regenerated report says: its findings block is a copy of
    reports/STUDY/findings.md (``python -m benchmark report study=STUDY --readme README.md``)."""
    from benchmark.read_commands import findings_block
    from tests.conftest import REPO

    readme = REPO / "README.md"
    block = findings_block(readme, study)
    assert block is not None, f"README.md lacks the <!-- findings:{study} --> block"
    start, end = block
    committed = (REPO / "reports" / study / "findings.md").read_text()
    assert readme.read_text()[start:end].strip() == committed.strip()


def test_report_copies_its_findings_into_a_readme_block(store, tmp_path, capsys):
    workdir, uri = store
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- findings:rep -->\nstale\n<!-- /findings:rep -->\nend\n")
    overrides = ["study=smoke", "name=rep", f"tracking_uri={uri}", f"report_dir={tmp_path}/r"]
    assert main(["report", *overrides, f"--readme={readme}"]) == 0
    text = readme.read_text()
    assert (
        "stale" not in text and text.startswith("intro\n") and text.endswith("<!-- /findings:rep -->\nend\n")
    )
    assert (tmp_path / "r" / "rep" / "findings.md").read_text().strip() in text
    readme.write_text("no markers\n")
    assert main(["report", *overrides, f"--out={tmp_path}/other", f"--readme={readme}"]) == 2
    assert "has no <!-- findings:rep -->" in capsys.readouterr().err
    assert not (tmp_path / "other").exists() and readme.read_text() == "no markers\n"


def test_the_report_does_not_import_torch():
    """Reading a store and writing tables needs neither torch nor the registries of models."""
    import subprocess
    import sys

    code = "import sys, benchmark.report; sys.exit(1 if 'torch' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO).returncode == 0


def test_readme_first_lines_are_true_of_the_committed_reports():
    """Every score difference with its interval in the README's "What it has found so far" lines is in the
    committed report the line cites (``study=NAME``: reports/NAME/), so the top of the README cannot drift
    from the reports."""
    import re

    from tests.conftest import REPO

    readme = (REPO / "README.md").read_text()
    top = readme.split("**What it has found so far**", 1)[1].split("\n\n", 1)[0]
    lines = [" ".join(line.split()) for line in re.split(r"\n(?=\d\. )", top.split("\n", 1)[1])]
    figure = r"[-+]?\d\.\d{3} \[[-+]?\d\.\d{3}, [-+]?\d\.\d{3}\]"
    assert len(lines) == 3 and sum(len(re.findall(figure, line)) for line in lines) >= 2, top
    for line in lines:
        studies = re.findall(r"study=(\w+)", line)
        assert studies, f"this line cites no study=NAME: {line}"
        report = " ".join((REPO / "reports" / studies[0] / "README.md").read_text().split())
        for quoted in re.findall(figure, line):
            assert quoted in report, f"{quoted} is not in reports/{studies[0]}/README.md"


def test_a_zero_width_interval_is_marked_unless_it_is_exact():
    """A perfect model's [1, 1] and identical models' [0, 0] are exact; a zero-width interval anywhere
    else means resampling within classes could not move the score (every error alone in its class): ‡."""
    from benchmark.report.render import DEGENERATE, interval
    from benchmark.report.uncertainty import bootstrap_interval

    labels = np.array([0, 0, 0, 1, 1, 1, 2, 3])
    perfect = bootstrap_interval([(labels, labels.copy())], "accuracy")
    one_wrong_alone = labels.copy()
    one_wrong_alone[7] = 0  # the only sample of class 3, wrong: always drawn, always wrong
    alone = bootstrap_interval([(labels, one_wrong_alone)], "accuracy")
    one_wrong_of_three = labels.copy()
    one_wrong_of_three[0] = 1
    shared = bootstrap_interval([(labels, one_wrong_of_three)], "accuracy")
    assert interval(*perfect) == "[1.000, 1.000]" and interval(0.0, 0.0) == "[0.000, 0.000]"
    assert alone == (0.875, 0.875) and interval(*alone) == "[0.875, 0.875]" + DEGENERATE
    assert shared[0] < shared[1] and DEGENERATE not in interval(*shared)


def test_a_seed_is_lost_only_against_its_own_folds_siblings():
    rows = [
        # fold 0: the third seed failed to train where its siblings did
        *[("c", 0, "concat", "FINISHED", f) for f in (0.90, 0.90, 0.75)],
        # fold 1 is harder for every seed: no seed is lost for being below fold 0's scores
        *[("c", 1, "concat", "FINISHED", f) for f in (0.60, 0.60, 0.55)],
        ("c", 1, "concat", "FAILED", 0.0),  # a failed run is no score
        *[("r", 0, "ref_logreg", "FINISHED", f) for f in (0.9, 0.9, 0.5)],  # references are left out
    ]
    seeds = pd.DataFrame(rows, columns=["combination_id", "split", "fusion", "status", "test/f1_macro"])
    marked = tables.lost_seeds(seeds, "test/f1_macro")
    assert len(marked) == 6 and set(marked["fusion"]) == {"concat"}
    assert marked["lost"].tolist() == [False, False, True, False, False, False]
