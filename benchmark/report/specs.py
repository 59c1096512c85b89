"""Every table of the report as a spec: how it is computed, where it is shown, how it is displayed and
captioned, and whether it belongs to the findings. Adding a table is one entry in ``TABLES``; the CSV,
the section it appears in and the findings block follow from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from benchmark.report import display, paired, robustness_tables, tables
from benchmark.report.collect import StudyRuns
from benchmark.report.interactions import interaction_profile
from benchmark.schema import TEST_F1


@dataclass(frozen=True)
class ReportSettings:
    metric: str = TEST_F1
    rope: float = 0.01
    alpha: float = 0.05
    unstable_std: float = 0.03
    bootstrap: int = 2000
    baseline: str = "concat"
    preview: bool = False
    # Where a run opens in the MLflow UI: this prefix + its run id ("" where the report cannot tell).
    ui_runs: str = ""


DEFAULT_SETTINGS = ReportSettings()


@dataclass(frozen=True)
class Inputs:
    """What every table is computed from: the runs, the per-combination summary (with intervals) and the
    cross-task comparison, which yields two tables at once."""

    runs: StudyRuns
    summary: pd.DataFrame
    settings: ReportSettings
    ranks: pd.DataFrame
    significance: pd.DataFrame


TASK, ACROSS, CSV_ONLY = "task", "across", "csv"


@dataclass(frozen=True)
class TableSpec:
    name: str  # <name>.csv, and the table's key
    compute: Callable[[Inputs], pd.DataFrame]
    section: str = CSV_ONLY  # TASK: in each task's section (its rows); ACROSS: in the cross-task section
    # (settings, score label) -> the caption shown above the table
    caption: Callable[[ReportSettings, str], str] = lambda settings, label: ""
    # (rows, ranking metric, score label) -> the displayed strings
    display: Callable[[pd.DataFrame, str, str], pd.DataFrame] = lambda rows, metric, label: rows
    optional: bool = False  # shown only where it has rows (a comparison with nothing to compare is left out)
    in_findings: bool = False  # copied into findings.md and so into the README's findings block


def _paired(compute: Callable[..., pd.DataFrame], rope: bool = True) -> Callable[[Inputs], pd.DataFrame]:
    def run(i: Inputs) -> pd.DataFrame:
        extra = (i.settings.rope,) if rope else ()
        return compute(i.summary, i.runs.seeds, i.runs.predictions, i.settings.metric, *extra)

    return run


ROBUSTNESS_CAPTION = (
    "Robustness (test {label}; noise retention: mean over the modalities of the area under {label} above chance "
    "against the corruption level of that modality, over (clean score - chance) x largest level, chance = the "
    "best input-blind prediction: 1 = no loss, 0 = at chance at once; a missing modality's stand-in is its "
    "train-mean embedding unless modality dropout taught one; in brackets the model trained without that modality)"
)


def _task_tables() -> list[TableSpec]:
    """Each task's section, in this order (each shows the task's rows)."""
    return [
        TableSpec(
            "leaderboard",
            lambda i: tables.leaderboard(i.summary, i.settings.metric, i.settings.ui_runs),
            section=TASK,
            caption=lambda s, label: "Leaderboard (ordered by validation score)",
            display=display.leaderboard_display,
        ),
        TableSpec(
            "fusion_depth",
            lambda i: tables.fusion_depth_table(i.summary, i.settings.metric),
            section=TASK,
            caption=lambda s, label: (
                "Fusion method x encoder depth (modality subset chosen on validation, in "
                f"brackets; test {label})"
            ),
            display=lambda rows, metric, label: display.pivot_display(rows),
        ),
        TableSpec(
            "modality_ablation",
            lambda i: tables.modality_ablation(i.summary, i.settings.metric),
            section=TASK,
            caption=lambda s, label: (
                f"Modality subsets (fusion method and depth chosen on validation; test {label})"
            ),
            display=lambda rows, metric, label: display.ablation_display(rows),
        ),
        TableSpec(
            "pareto",
            lambda i: tables.pareto_front(i.summary, i.settings.metric),
            section=TASK,
            caption=lambda s, label: f"Validation {label}-latency Pareto front (test score beside it)",
            display=lambda rows, metric, label: display.pareto_display(rows),
        ),
        TableSpec(
            "robustness",
            lambda i: robustness_tables.robustness_table(i.runs, i.settings.metric),
            section=TASK,
            caption=lambda s, label: ROBUSTNESS_CAPTION.format(label=label),
            display=lambda rows, metric, label: display.robustness_display(rows, label),
            optional=True,
        ),
    ]


def _across_tables() -> list[TableSpec]:
    """The cross-task section, in this order."""
    return [
        TableSpec(
            "best",
            lambda i: tables.best_per_task(i.summary, i.settings.metric),
            section=ACROSS,
            caption=lambda s, label: f"Best combination per task (chosen on validation {label})",
            display=lambda rows, metric, label: display.best_display(rows, metric),
            in_findings=True,
        ),
        TableSpec(
            "fusion_vs_single",
            _paired(paired.fusion_against_single),
            section=ACROSS,
            caption=lambda s, label: (
                "Best fusion against the best single modality per task (neural networks, "
                f"each chosen on validation; test {label}; paired bootstrap interval of the difference)"
            ),
            display=lambda rows, metric, label: display.single_display(rows),
            optional=True,
            in_findings=True,
        ),
        TableSpec(
            "fusion_spread",
            _paired(paired.fusion_spread, rope=False),
            section=ACROSS,
            caption=lambda s, label: (
                "Does the choice of fusion matter? Per task, the fusion methods ranked first and last on "
                "validation (each at its own best depth and modality subset; test "
                f"{label}, paired bootstrap interval of the difference)"
            ),
            display=lambda rows, metric, label: display.spread_display(rows),
            optional=True,
            in_findings=True,
        ),
        TableSpec(
            "unimodal_gate",
            _paired(paired.unimodal_gate, rope=False),
            section=ACROSS,
            caption=lambda s, label: (
                "The unimodal gate: per task and modality, the best single-modality network "
                "against the best reference model on that modality (each chosen on validation; "
                f"test {label}, paired bootstrap interval; the gate holds where the network's "
                f"validation score is at least the reference's minus {paired.GATE_MARGIN:g})"
            ),
            display=lambda rows, metric, label: display.gate_display(rows),
            optional=True,
        ),
        TableSpec(
            "references",
            _paired(paired.neural_against_reference),
            section=ACROSS,
            caption=lambda s, label: (
                "Best neural combination against the best classical reference per task "
                f"(each chosen on validation; test {label}; paired bootstrap interval of the difference)"
            ),
            display=lambda rows, metric, label: display.versus_display(rows),
            optional=True,
            in_findings=True,
        ),
        TableSpec(
            "interaction_profile",
            lambda i: interaction_profile(
                i.summary, i.runs.seeds, i.runs.predictions, i.settings.metric, i.settings.bootstrap
            ),
            section=ACROSS,
            caption=lambda s, label: (
                f"Interaction profile per task (test {label} at the task's best depth; formulas below)"
            ),
            display=lambda rows, metric, label: display.profile_display(rows),
            optional=True,
            in_findings=True,
        ),
        TableSpec(
            "ranks",
            lambda i: i.ranks,
            section=ACROSS,
            caption=lambda s, label: (
                "Average rank per fusion method (1 = best; descriptive), over the tasks where all methods ran"
            ),
            display=lambda rows, metric, label: display.ranks_display(rows),
        ),
        TableSpec(
            "significance",
            lambda i: i.significance,
            section=ACROSS,
            caption=lambda s, label: (
                f"The declared family: every fusion method against {s.baseline}, over the "
                "tasks where both ran (minimum detectable effect: the uniform advantage found with 80 % power)"
            ),
            display=lambda rows, metric, label: display.tests_display(rows),
        ),
    ]


# The CSV-only tables (each drawn in a figure) close the list.
TABLES: tuple[TableSpec, ...] = (
    *_task_tables(),
    *_across_tables(),
    TableSpec("noise_curves", lambda i: robustness_tables.noise_curves(i.runs, i.settings.metric)),
)


def in_section(section: str) -> list[TableSpec]:
    return [spec for spec in TABLES if spec.section == section]
