"""``python -m benchmark report study=NAME``: rebuild ``reports/NAME/`` from the MLflow store alone."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from benchmark.config import redact_uri
from benchmark.report import latex, plots, tables
from benchmark.report.collect import StudyRuns, collect
from benchmark.report.render import (
    NOT_MEASURED,
    Document,
    Section,
    count,
    markdown_table,
    number,
    p_value,
    score,
    signed,
    to_html,
    to_markdown,
    write_csv,
)
from benchmark.report.statistics import Omnibus
from benchmark.report.uncertainty import attach_intervals

MISSING_RANK = "–"
UNSTABLE_SHOWN = 8  # the findings name this many unstable combinations (largest seed spread first)


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


def _interval(low: float, high: float) -> str:
    return MISSING_RANK if pd.isna(low) else f"[{low:.3f}, {high:.3f}]"


def _test_cell(mean: float, std: float, low: float, high: float) -> str:
    """Test mean ± seed std, then the 95 % interval over test samples and seeds."""
    text = score(mean, std)
    return text if pd.isna(low) else f"{text} {_interval(low, high)}"


def _leaderboard_display(board: pd.DataFrame, metric: str, metric_label: str) -> pd.DataFrame:
    def gpu(row: pd.Series) -> str:
        return (
            NOT_MEASURED
            if pd.isna(row["memory/gpu_peak_mb_mean"])
            else number(row["memory/gpu_peak_mb_mean"], 1)
        )

    def method(fusion: str, reference: bool, unstable: bool) -> str:
        return fusion + (" (reference)" if reference else "") + (" ⚠ seeds disagree" if unstable else "")

    val = tables.validation(metric)
    return pd.DataFrame(
        {
            "rank (val)": [MISSING_RANK if pd.isna(r) else f"{int(r)}" for r in board["rank"]],
            "depth": board["depth"].astype(str),
            "modalities": board["modalities"],
            "fusion": [
                method(*v) for v in zip(board["fusion"], board["reference"], board["unstable"], strict=True)
            ],
            "state": board["state"],
            f"val {metric_label}": [number(v, 3) for v in board[f"{val}_mean"]],
            f"test {metric_label} [95 % CI]": [
                _test_cell(*v)
                for v in zip(
                    board[f"{metric}_mean"],
                    board[f"{metric}_std"],
                    board[f"{metric}_ci_low"],
                    board[f"{metric}_ci_high"],
                    strict=True,
                )  # fmt: skip
            ],
            "test accuracy": [
                score(m, s)
                for m, s in zip(board["test/accuracy_mean"], board["test/accuracy_std"], strict=True)
            ],
            "test macro recall": [
                score(m, s)
                for m, s in zip(board["test/recall_macro_mean"], board["test/recall_macro_std"], strict=True)
            ],
            "latency p50 ms": [number(v, 3) for v in board["latency/p50_ms_mean"]],
            "latency p95 ms": [number(v, 3) for v in board["latency/p95_ms_mean"]],
            "GPU peak MB": [gpu(row) for _, row in board.iterrows()],
            "CPU peak MB": [number(v, 0) for v in board["memory/cpu_peak_mb_mean"]],
            "parameters": [count(v) for v in board["model/parameters_mean"]],
            "train s": [number(v, 1) for v in board["time/train_s_mean"]],
        }
    )


def _pivot_display(table: pd.DataFrame) -> pd.DataFrame:
    if table.empty:
        return table
    cells = table.assign(
        cell=[
            f"{_test_cell(s, d, lo, hi)} ({m})"
            for s, d, lo, hi, m in zip(
                table["score"],
                table["std"],
                table["ci_low"],
                table["ci_high"],
                table["modalities"],
                strict=True,
            )  # fmt: skip
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
            "val": [number(v, 3) for v in table["val_score"]],
            "test [95 % CI]": [
                _test_cell(*v)
                for v in zip(table["score"], table["std"], table["ci_low"], table["ci_high"], strict=True)
            ],
            "by": [f"{f}, depth {d}" for f, d in zip(table["fusion"], table["depth"], strict=True)],
            "test gain over best single modality": [signed(v) for v in table["gain_over_best_single"]],
        }
    )


def _pareto_display(points: pd.DataFrame) -> pd.DataFrame:
    front = points[points["on_front"]]
    return pd.DataFrame(
        {
            "latency p50 ms": [number(v, 3) for v in front["latency_ms"]],
            "val": [number(v, 3) for v in front["val_score"]],
            "test": [number(v, 3) for v in front["score"]],
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
            "unit": ranks["unit"],
            "method": ranks["method"],
            "average rank": [number(v, 2) for v in ranks["average_rank"]],
            "units compared": ranks["units"].astype(str),
            "mean test score": [number(v, 3) for v in ranks["mean_score"]],
            "critical difference": [number(v, 2) for v in ranks["critical_difference"]],
        }
    )


def _tests_display(tests: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unit": tests["unit"],
            "pair (a vs b)": [
                f"{a} vs {b}" for a, b in zip(tests["method_a"], tests["method_b"], strict=True)
            ],
            "n": tests["n"].astype(str),
            "mean difference (a - b)": [signed(v) for v in tests["mean_difference"]],
            "p (Holm)": [p_value(v) for v in tests["p_holm"]],
            "P(a better) / P(equivalent) / P(b better)": [
                MISSING_RANK if pd.isna(a) else f"{a:.2f} / {e:.2f} / {b:.2f}"
                for a, e, b in zip(
                    tests["p_a_better"], tests["p_equivalent"], tests["p_b_better"], strict=True
                )
            ],
            "conclusion": tests["conclusion"],
        }
    )


def _best_display(best: pd.DataFrame, metric: str) -> pd.DataFrame:
    name = metric.split("/", 1)[1]
    return pd.DataFrame(
        {
            "task": best["task"],
            "chosen on validation": [
                f"{f}, depth {d}, {m}" + (" ⚠ seeds disagree" if u else "")
                for f, d, m, u in zip(
                    best["fusion"], best["depth"], best["modalities"], best["unstable"], strict=True
                )
            ],
            "val": [number(v, 3) for v in best[f"val_{name}_mean"]],
            "test [95 % CI]": [
                f"{number(v, 3)} {_interval(lo, hi)}"
                for v, lo, hi in zip(
                    best[f"test_{name}_mean"],
                    best[f"test_{name}_ci_low"],
                    best[f"test_{name}_ci_high"],
                    strict=True,
                )  # fmt: skip
            ],
        }
    )


def _task_lines(best: pd.DataFrame, versus: pd.DataFrame, label: str) -> list[str]:
    """The task's summary: its best combination (chosen on validation) and how it fares against the
    best reference model."""
    lines = []
    if len(best):
        row = best.iloc[0]
        name = label_key(label)
        lines.append(
            f"Best on validation: {row['fusion']}, depth {row['depth']}, {row['modalities']}: test {label} "
            f"{row[f'test_{name}_mean']:.3f} {_interval(row[f'test_{name}_ci_low'], row[f'test_{name}_ci_high'])}."
        )
    if len(versus):
        row = versus.iloc[0]
        lines.append(
            f"Against the best reference model ({row['reference']}): {row['conclusion']}; test difference "
            f"{signed(row['difference'])} {_interval(row['ci_low'], row['ci_high'])} (paired bootstrap)."
        )
    return lines


def label_key(label: str) -> str:
    return {"macro F1": "f1_macro", "accuracy": "accuracy", "macro recall": "recall_macro"}[label]


def _versus_display(versus: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "task": versus["task"],
            "neural (val / test)": [f"{n} ({number(v, 3)} / {number(t, 3)})" for n, v, t in
                                    zip(versus["neural"], versus["neural_val"], versus["neural_test"], strict=True)],
            "reference (val / test)": [f"{n} ({number(v, 3)} / {number(t, 3)})" for n, v, t in
                                       zip(versus["reference"], versus["reference_val"], versus["reference_test"],
                                           strict=True)],
            "test difference [95 % CI]": [f"{signed(d)} {_interval(lo, hi)}" for d, lo, hi in
                                          zip(versus["difference"], versus["ci_low"], versus["ci_high"], strict=True)],
            "conclusion": versus["conclusion"],
        }
    )  # fmt: skip


def _method_lines(
    summary: pd.DataFrame,
    omnibus: dict[str, Omnibus],
    tests: pd.DataFrame,
    label: str,
    settings: ReportSettings,
) -> list[str]:
    lines = tables.summary_sentences(omnibus, tests, f"test {label}", settings.rope)
    unstable = tables.unstable_combinations(summary, settings.metric)
    if len(unstable):
        worst = unstable.sort_values(f"{settings.metric}_std", ascending=False, kind="stable").head(
            UNSTABLE_SHOWN
        )
        spread = worst[f"{settings.metric}_std"]
        names = ", ".join(
            f"{t}/d{d}/{m}/{f} (std {s:.3f})"
            for t, d, m, f, s in zip(
                worst["task"], worst["depth"], worst["modalities"], worst["fusion"], spread, strict=True
            )  # fmt: skip
        )
        more = "; all are marked ⚠ in the leaderboards" if len(unstable) > UNSTABLE_SHOWN else ""
        lines.append(
            f"Seeds disagree (std above {settings.unstable_std:g} or one seed more than "
            f"{2 * settings.unstable_std:g} below the mean) in {len(unstable)} of {len(summary)} combinations, whose "
            f"scores are uncertain beyond their interval. Largest spread: {names}{more}."
        )
    return lines


@dataclass(frozen=True)
class ReportSettings:
    metric: str = "test/f1_macro"
    rope: float = 0.01
    alpha: float = 0.05
    unstable_std: float = 0.03
    bootstrap: int = 2000


def build_document(
    runs: StudyRuns, study: str, tracking_uri: str, settings: ReportSettings
) -> tuple[Document, dict[str, pd.DataFrame], dict[str, Omnibus], str]:
    """The report's content, the numeric tables behind it (written as CSV), the omnibus tests (for the
    diagrams) and the LaTeX tables."""
    metric = settings.metric
    summary = tables.combination_summary(runs, settings.unstable_std)
    summary = attach_intervals(summary, runs.seeds, runs.predictions, metric, settings.bootstrap)
    board = tables.leaderboard(summary, metric)
    best = tables.best_per_task(summary, metric)
    pivot = tables.fusion_depth_table(summary, metric)
    ablation = tables.modality_ablation(summary, metric)
    pareto = tables.pareto_front(summary, metric)
    ranks, tests, omnibus = tables.method_comparison(
        summary, metric, alpha=settings.alpha, rope=settings.rope
    )
    robustness = tables.robustness_table(runs)
    curves = tables.noise_curves(runs)
    versus = tables.neural_against_reference(summary, runs.seeds, runs.predictions, metric, settings.rope)
    label = {"test/f1_macro": "macro F1", "test/accuracy": "accuracy", "test/recall_macro": "macro recall"}[
        metric
    ]

    header = [
        f"- Study `{study}` in `{redact_uri(tracking_uri)}`; regenerate with `python -m benchmark report study={study}`.",
        f"- Combinations: {len(runs.combinations)} ({_state_counts(runs)}); finished final seed runs: "
        f"{len(runs.finished_seeds)} of {len(runs.seeds)}.",
        f'- Every "best" is chosen on the validation score of the final runs (val {label}, mean over seeds) '
        f"and reported with its test score; no table picks by test.",
        f"- Test scores: mean ± sample std over final seeds, then a 95 % interval [low, high]: percentile "
        f"bootstrap ({settings.bootstrap} replicates) over test samples and seeds together, so it includes "
        f"test-set sampling error. ⚠ marks combinations whose seeds disagree.",
        *[f"- {line}" for line in _environment(runs)],
    ]
    sections = []
    for task in sorted(runs.combinations["task"].unique()):
        section = Section(
            task, paragraphs=_task_lines(best[best["task"] == task], versus[versus["task"] == task], label)
        )
        section.tables.append(("Leaderboard (ordered by validation score)",
                               _leaderboard_display(board[board["task"] == task], metric, label)))  # fmt: skip
        section.tables.append(
            (f"Fusion method x encoder depth (modality subset chosen on validation, in brackets; test {label})",
             _pivot_display(pivot[pivot["task"] == task]))
        )  # fmt: skip
        section.tables.append(
            (f"Modality subsets (fusion method and depth chosen on validation; test {label})",
             _ablation_display(ablation[ablation["task"] == task]))
        )  # fmt: skip
        section.tables.append(
            (f"Validation {label}-latency Pareto front (test score beside it)",
             _pareto_display(pareto[pareto["task"] == task]))
        )  # fmt: skip
        task_robustness = robustness[robustness["task"] == task]
        if len(task_robustness):
            section.tables.append(
                ("Robustness (test accuracy; noise AUC: mean over modalities of the area under accuracy "
                 "against Gaussian noise on that modality, over the largest level)",
                 _robustness_display(task_robustness))
            )  # fmt: skip
        sections.append(section)
    diagrams = [(f"critical-difference diagram over {unit}s", f"critical_difference_{unit}.png")
                for unit, omni in omnibus.items() if omni.result is not None]  # fmt: skip
    plots_section = Section("Plots", images=[
        ("score by fusion method and depth", "score_by_fusion_depth.png"),
        ("score against latency with the Pareto front", "accuracy_latency.png"),
        ("modality-subset ablation", "modality_ablation.png"),
        *([("accuracy against noise on one modality", "accuracy_noise.png")] if len(curves) else []),
    ])  # fmt: skip
    findings = _method_lines(summary, omnibus, tests, label, settings)
    summary_section = Section(
        "Across tasks: fusion methods compared",
        paragraphs=findings,
        tables=[
            (f"Best combination per task (chosen on validation {label})", _best_display(best, metric)),
            *(
                [
                    (
                        f"Best neural combination against the best classical reference per task (each chosen on "
                        f"validation; test {label}; paired bootstrap interval of the difference)",
                        _versus_display(versus),
                    )
                ]
                if len(versus)
                else []
            ),
            (
                "Average rank per fusion method (1 = best), over the units where all methods ran",
                _ranks_display(ranks),
            ),
            ("Pairwise comparisons over the units where both methods ran", _tests_display(tests)),
        ],  # fmt: skip
        images=diagrams,
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
        "best": best,
        "fusion_depth": pivot,
        "modality_ablation": ablation,
        "pareto": pareto,
        "ranks": ranks,
        "significance": tests,
        "robustness": robustness.assign(
            missing=[";".join(f"{m}={v:.6g}" for m, v in d.items()) for d in robustness["missing"]]
        ),
        "noise_curves": curves,
        "references": versus,
    }
    tex = latex.document(board, tests, metric, label)
    return document, csv, omnibus, tex


def generate_report(
    tracking_uri: str,
    study: str,
    out_dir: Path,
    *,
    settings: ReportSettings = ReportSettings(),
    expected_seeds: int | None = None,
) -> ReportResult:
    """Write the report into ``out_dir`` atomically: built in a sibling temporary folder, then swapped in."""
    runs = collect(tracking_uri, study, expected_seeds)
    document, csv, omnibus, tex = build_document(runs, study, tracking_uri, settings)
    out_dir = out_dir.resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        plots.score_by_fusion_and_depth(
            csv["fusion_depth"], staging / "score_by_fusion_depth.png", settings.metric
        )
        plots.accuracy_latency(csv["pareto"], staging / "accuracy_latency.png", settings.metric)
        plots.modality_ablation(csv["modality_ablation"], staging / "modality_ablation.png", settings.metric)
        if len(csv["noise_curves"]):
            plots.accuracy_against_noise(csv["noise_curves"], staging / "accuracy_noise.png")
        for unit, omni in omnibus.items():
            if omni.result is not None:
                plots.critical_difference(omni, staging / f"critical_difference_{unit}.png")
        for name, frame in csv.items():
            write_csv(frame, staging / f"{name}.csv")
        (staging / "tables.tex").write_text(tex)
        (staging / "README.md").write_text(to_markdown(document))
        (staging / FINDINGS).write_text(findings_markdown(document))
        (staging / "report.html").write_text(to_html(document, staging))
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ReportResult(directory=out_dir, combinations=len(runs.combinations), seed_runs=len(runs.seeds))


FINDINGS = "findings.md"  # the across-task conclusions alone: the README includes this file verbatim


def findings_markdown(document: Document) -> str:
    """The across-task section (conclusions and the best-per-task table) as Markdown, for the README."""
    section = document.sections[0]
    parts = [*section.paragraphs]
    for caption, table in section.tables:
        if caption.startswith(("Best combination", "Best neural")):
            parts += [f"**{caption}**", markdown_table(table)]
    return "\n\n".join(parts) + "\n"
