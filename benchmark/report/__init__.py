"""``python -m benchmark report study=NAME``: rebuild ``reports/NAME/`` from the MLflow store alone."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from benchmark.config import redact_uri
from benchmark.report import plots, tables
from benchmark.report.collect import StudyRuns, collect
from benchmark.report.render import (
    NOT_MEASURED,
    Document,
    Section,
    count,
    number,
    p_value,
    score,
    signed,
    to_html,
    to_markdown,
    write_csv,
)

MISSING_RANK = "–"


@dataclass(frozen=True)
class ReportResult:
    directory: Path
    combinations: int
    seed_runs: int


def _state_counts(runs: StudyRuns) -> str:
    states = runs.combinations["state"].str.split(":").str[0].value_counts().sort_index()
    return ", ".join(f"{n} {state}" for state, n in states.items()) or "none"


def _environment(runs: StudyRuns) -> list[str]:
    lines = []
    for column in sorted(c for c in runs.seeds.columns if c.startswith("env.")):
        values = sorted({v for v in runs.seeds[column] if v})
        if values:
            lines.append(f"{column[4:]}: {', '.join(values)}")
    return lines


def _leaderboard_display(board: pd.DataFrame, metric_label: str) -> pd.DataFrame:
    def gpu(row: pd.Series) -> str:
        return (
            NOT_MEASURED
            if pd.isna(row["memory/gpu_peak_mb_mean"])
            else number(row["memory/gpu_peak_mb_mean"], 1)
        )

    return pd.DataFrame(
        {
            "rank": [MISSING_RANK if pd.isna(r) else f"{int(r)}" for r in board["rank"]],
            "depth": board["depth"].astype(str),
            "modalities": board["modalities"],
            "fusion": board["fusion"],
            "state": board["state"],
            "accuracy": [
                score(m, s)
                for m, s in zip(board["test/accuracy_mean"], board["test/accuracy_std"], strict=True)
            ],
            "macro recall": [
                score(m, s)
                for m, s in zip(board["test/recall_macro_mean"], board["test/recall_macro_std"], strict=True)
            ],
            "macro F1": [
                score(m, s)
                for m, s in zip(board["test/f1_macro_mean"], board["test/f1_macro_std"], strict=True)
            ],
            "latency p50 ms": [number(v, 3) for v in board["latency/p50_ms_mean"]],
            "latency p95 ms": [number(v, 3) for v in board["latency/p95_ms_mean"]],
            "GPU peak MB": [gpu(row) for _, row in board.iterrows()],
            "CPU peak MB": [number(v, 0) for v in board["memory/cpu_peak_mb_mean"]],
            "parameters": [count(v) for v in board["model/parameters_mean"]],
            "train s": [number(v, 1) for v in board["time/train_s_mean"]],
        }
    ).rename(columns={"macro F1": metric_label})


def _pivot_display(table: pd.DataFrame) -> pd.DataFrame:
    if table.empty:
        return table
    cells = table.assign(
        cell=[
            f"{score(s, d)} ({m})"
            for s, d, m in zip(table["score"], table["std"], table["modalities"], strict=True)
        ]
    )
    pivot = cells.pivot(index="fusion", columns="depth", values="cell").fillna("–")
    pivot.columns = [f"depth {d}" for d in pivot.columns]
    return pivot.reset_index()


def _ablation_display(table: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "modalities": table["modalities"],
            "n": table["n_modalities"].astype(str),
            "best score": [score(m, s) for m, s in zip(table["score"], table["std"], strict=True)],
            "by": [f"{f}, depth {d}" for f, d in zip(table["fusion"], table["depth"], strict=True)],
            "gain over best single modality": [signed(v) for v in table["gain_over_best_single"]],
        }
    )


def _pareto_display(points: pd.DataFrame) -> pd.DataFrame:
    front = points[points["on_front"]]
    return pd.DataFrame(
        {
            "latency p50 ms": [number(v, 3) for v in front["latency_ms"]],
            "accuracy": [number(v, 3) for v in front["accuracy"]],
            "depth": front["depth"].astype(str),
            "modalities": front["modalities"],
            "fusion": front["fusion"],
        }
    )


def _robustness_display(table: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "depth": table["depth"].astype(str),
            "modalities": table["modalities"],
            "fusion": table["fusion"],
            "accuracy": [number(v, 3) for v in table["accuracy"]],
            "noise AUC": [number(v, 3) for v in table["noise_auc"]],
            "worst missing": [number(v, 3) for v in table["worst_missing"]],
            "accuracy without each modality": [
                ", ".join(f"{m} {number(v, 3)}" for m, v in missing.items()) or MISSING_RANK
                for missing in table["missing"]
            ],
        }
    )


def _ranks_display(ranks: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "fusion": ranks["fusion"],
            "average rank": [number(v, 2) for v in ranks["average_rank"]],
            "blocks": ranks["blocks"].astype(str),
            "wins": ranks["wins"].astype(str),
            "mean score": [number(v, 3) for v in ranks["mean_score"]],
        }
    )


def _tests_display(tests: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "pair": [f"{a} vs {b}" for a, b in zip(tests["method_a"], tests["method_b"], strict=True)],
            "pairs": tests["pairs"].astype(str),
            "a better / b better / ties": [
                f"{a} / {b} / {t}"
                for a, b, t in zip(tests["a_better"], tests["b_better"], tests["ties"], strict=True)
            ],
            "median difference (a - b)": [signed(v) for v in tests["median_difference"]],
            "p": [p_value(v) for v in tests["p_value"]],
            "p (Holm)": [p_value(v) for v in tests["p_holm"]],
            "conclusion": tests["conclusion"],
        }
    )


def build_document(
    runs: StudyRuns, study: str, tracking_uri: str, metric: str
) -> tuple[Document, dict[str, pd.DataFrame]]:
    """The report's content and the numeric tables behind it (written as CSV)."""
    summary = tables.combination_summary(runs)
    board = tables.leaderboard(summary, metric)
    pivot = tables.fusion_depth_table(summary, metric)
    ablation = tables.modality_ablation(summary, metric)
    pareto = tables.pareto_front(summary)
    ranks = tables.fusion_ranks(summary, metric)
    tests = tables.pairwise_tests(runs.seeds, metric)
    robustness = tables.robustness_table(runs)
    curves = tables.noise_curves(runs)
    label = {"test/f1_macro": "macro F1", "test/accuracy": "accuracy", "test/recall_macro": "macro recall"}[
        metric
    ]

    header = [
        f"- Study `{study}` in `{redact_uri(tracking_uri)}`; regenerate with `python -m benchmark report study={study}`.",
        f"- Combinations: {len(runs.combinations)} ({_state_counts(runs)}); finished final seed runs: "
        f"{len(runs.finished_seeds)} of {len(runs.seeds)}.",
        f"- Scores are test-split means ± sample std over final seeds; the ranking score is test {label}.",
        *[f"- {line}" for line in _environment(runs)],
    ]
    sections = []
    for task in sorted(runs.combinations["task"].unique()):
        section = Section(task)
        section.tables.append(("Leaderboard", _leaderboard_display(board[board["task"] == task], label)))
        section.tables.append(
            (f"Fusion method x encoder depth (best test {label} over modality subsets, subset in brackets)",
             _pivot_display(pivot[pivot["task"] == task]))
        )  # fmt: skip
        section.tables.append(
            (f"Modality subsets (best test {label} over fusion methods and depths)",
             _ablation_display(ablation[ablation["task"] == task]))
        )  # fmt: skip
        section.tables.append(
            ("Accuracy-latency Pareto front", _pareto_display(pareto[pareto["task"] == task]))
        )
        task_robustness = robustness[robustness["task"] == task]
        if len(task_robustness):
            section.tables.append(
                ("Robustness (test accuracy; noise AUC: mean over modalities of the area under accuracy "
                 "against Gaussian noise on that modality, over the largest level)",
                 _robustness_display(task_robustness))
            )  # fmt: skip
        sections.append(section)
    plots_section = Section("Plots", images=[
        ("score by fusion method and depth", "score_by_fusion_depth.png"),
        ("accuracy against latency with the Pareto front", "accuracy_latency.png"),
        ("modality-subset ablation", "modality_ablation.png"),
        *([("accuracy against noise on one modality", "accuracy_noise.png")] if len(curves) else []),
    ])  # fmt: skip
    summary_section = Section(
        "Across tasks: fusion methods compared",
        paragraphs=tables.summary_sentences(ranks, tests, f"test {label}"),
        tables=[
            (
                "Average rank per fusion method (blocks = task x depth x modality subset)",
                _ranks_display(ranks),
            ),
            (
                "Wilcoxon signed-rank tests, paired by task, depth, modality subset and seed",
                _tests_display(tests),
            ),
        ],
    )
    unfinished = runs.combinations[runs.combinations["state"] != "finished"]
    if len(unfinished):
        sections.append(
            Section(
                "Partial or failed combinations",
                tables=[("", unfinished[["task", "depth", "modalities", "fusion", "state"]].astype(str))],
            )
        )
    document = Document(
        f"Fusion benchmark report: {study}", header, [summary_section, *sections, plots_section]
    )
    csv = {
        "runs": runs.seeds,
        "leaderboard": board,
        "fusion_depth": pivot,
        "modality_ablation": ablation,
        "pareto": pareto,
        "fusion_ranks": ranks,
        "significance": tests,
        "robustness": robustness.assign(
            missing=[";".join(f"{m}={v:.6g}" for m, v in d.items()) for d in robustness["missing"]]
        ),
        "noise_curves": curves,
    }
    return document, csv


def generate_report(
    tracking_uri: str,
    study: str,
    out_dir: Path,
    *,
    metric: str = "test/f1_macro",
    expected_seeds: int | None = None,
) -> ReportResult:
    """Write the report into ``out_dir`` atomically: built in a sibling temporary folder, then swapped in."""
    runs = collect(tracking_uri, study, expected_seeds)
    document, csv = build_document(runs, study, tracking_uri, metric)
    out_dir = out_dir.resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        plots.score_by_fusion_and_depth(csv["fusion_depth"], staging / "score_by_fusion_depth.png", metric)
        plots.accuracy_latency(csv["pareto"], staging / "accuracy_latency.png")
        plots.modality_ablation(csv["modality_ablation"], staging / "modality_ablation.png", metric)
        if len(csv["noise_curves"]):
            plots.accuracy_against_noise(csv["noise_curves"], staging / "accuracy_noise.png")
        for name, frame in csv.items():
            write_csv(frame, staging / f"{name}.csv")
        (staging / "README.md").write_text(to_markdown(document))
        (staging / "report.html").write_text(to_html(document, staging))
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ReportResult(directory=out_dir, combinations=len(runs.combinations), seed_runs=len(runs.seeds))
