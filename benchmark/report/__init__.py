"""``python -m benchmark report study=NAME``: rebuild ``reports/NAME/`` from the MLflow store alone."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from benchmark import scores
from benchmark.owned_paths import REPORT_TITLE, check_replaceable, replace_folder
from benchmark.report import latex, paired, plots, tables
from benchmark.report.as_built import ZERO_BAND, as_built_lines
from benchmark.report.collect import KEY, StudyRuns, collect
from benchmark.report.render import (
    Document,
    Section,
    interval,
    markdown_table,
    signed,
    to_html,
    to_markdown,
    write_csv,
)
from benchmark.report.specs import ACROSS, DEFAULT_SETTINGS, TABLES, TASK, Inputs, ReportSettings, in_section
from benchmark.report.statistics import Omnibus
from benchmark.report.uncertainty import attach_ceiling_gaps, attach_intervals
from benchmark.schema import std_of
from benchmark.uris import redact_uri

UNSTABLE_SHOWN = 8  # the findings name this many unstable combinations (largest seed spread first)


@dataclass(frozen=True)
class ReportResult:
    directory: Path
    combinations: int
    answers: list[str]  # per task: the combination chosen on validation, its test score, its ties


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


def _task_lines(best: pd.DataFrame, versus: pd.DataFrame, metric: str, label: str) -> list[str]:
    """The task's summary: its best combination (chosen on validation) and how it fares against the
    best reference model."""
    lines = []
    if len(best):
        row = best.iloc[0]
        name = metric.split("/", 1)[1]
        lines.append(
            f"Best on validation: {row['fusion']}, depth {row['depth']}, {row['modalities']}: test {label} "
            f"{row[f'test_{name}_mean']:.3f} {interval(row[f'test_{name}_ci_low'], row[f'test_{name}_ci_high'])}."
        )
    if len(versus):
        row = versus.iloc[0]
        lines.append(
            f"Against the best reference model ({row['reference']}): {row['conclusion']}; test difference "
            f"{signed(row['difference'])} {interval(row['ci_low'], row['ci_high'])} (paired bootstrap)."
        )
    return lines


def _method_lines(
    summary: pd.DataFrame,
    omnibus: dict[str, Omnibus],
    tests: pd.DataFrame,
    label: str,
    settings: ReportSettings,
) -> list[str]:
    lines = tables.summary_sentences(
        omnibus, tests, f"test {label}", settings.rope, settings.alpha, settings.baseline
    )
    unstable = tables.unstable_combinations(summary, settings.metric)
    if len(unstable):
        judged = tables.validation(settings.metric)
        worst = unstable.sort_values(std_of(judged), ascending=False, kind="stable").head(UNSTABLE_SHOWN)
        spread = worst[std_of(judged)]
        names = ", ".join(
            f"{t}/d{d}/{m}/{f} (std {s:.3f})"
            for t, d, m, f, s in zip(
                worst["task"], worst["depth"], worst["modalities"], worst["fusion"], spread, strict=True
            )
        )
        more = "; all are marked ⚠ in the leaderboards" if len(unstable) > UNSTABLE_SHOWN else ""
        lines.append(
            f"Seeds disagree on validation (std above {settings.unstable_std:g} or one seed more than "
            f"{2 * settings.unstable_std:g} below the mean) in {len(unstable)} of {len(summary)} combinations, whose "
            f"scores are uncertain beyond their interval. Largest spread: {names}{more}."
        )
    constant = summary[summary["constant_seeds"] > 0]
    if len(constant):
        names = ", ".join(
            f"{t}/d{d}/{m}/{f} ({c} of {n} seeds)"
            for t, d, m, f, c, n in zip(
                constant["task"],
                constant["depth"],
                constant["modalities"],
                constant["fusion"],
                constant["constant_seeds"],
                constant["seeds_finished"],
                strict=True,
            )
        )
        lines.append(
            f"Constant predictions (one class for every test sample: the model learned nothing) in "
            f"{len(constant)} combinations: {names}. They are marked ⚠ in the leaderboards."
        )
    return lines


def _lost_seed_lines(seeds: pd.DataFrame, label: str, metric: str) -> list[str]:
    """How often a network's final seed failed where its siblings trained (tables.lost_seeds)."""
    marked = tables.lost_seeds(seeds, metric)
    if marked.empty:
        return []
    lost = tables.lost_per_combination(marked)
    most = ", ".join(f"{t}/d{d}/{m}/{f} ({n})" for (t, d, m, f), n in lost.head(UNSTABLE_SHOWN).items())
    return [
        f"Lost seeds (a network's final seed more than {tables.LOST_BELOW_MEDIAN:g} test {label} below the "
        f"median of its combination's seeds on the same fold): {int(marked['lost'].sum())} "
        f"of {len(marked)} final seeds ({marked['lost'].mean():.1%}), in {len(lost)} of "
        f"{marked.groupby(KEY).ngroups} network combinations" + (f"; most: {most}." if len(lost) else ".")
    ]


def _gate_lines(summary: pd.DataFrame, gate: pd.DataFrame, label: str, settings: ReportSettings) -> list[str]:
    """Which tasks are encoder-limited, and the cross-task comparison without them."""
    if gate.empty:
        return []
    failed = gate[gate["gate"] == "encoder-limited"]
    limited = paired.encoder_limited_tasks(gate)
    if not limited:
        return [
            f"The unimodal gate holds on all {len(gate)} task modalities with a reference model: every "
            f"single-modality network is within {paired.GATE_MARGIN:g} of the best reference on validation."
        ]
    names = "; ".join(
        f"{t} {m} ({signed(d)}, {cause})"
        for t, m, d, cause in zip(
            failed["task"], failed["modality"], failed["val_difference"], failed["cause"], strict=True
        )
    )
    lines = [
        f"The unimodal gate fails on {len(failed)} of {len(gate)} task modalities (network minus reference on "
        f"validation): {names}. On {', '.join(limited)} the fusion comparison ranks how well each encoder "
        f"trains as much as how methods fuse (encoder-limited)."
    ]
    # only the groups (real, synthetic) that lose a task: the others' analysis is the one already stated
    group = tables.task_group(summary)
    affected = set(group[summary["task"].isin(limited)])
    rest = summary[~summary["task"].isin(limited) & group.isin(affected)]
    if rest["task"].nunique() and len(tables.fusion_methods(rest)) > 1:
        _, tests, omnibus = tables.method_comparison(
            rest, settings.metric, alpha=settings.alpha, rope=settings.rope, baseline=settings.baseline
        )
        sentences = tables.summary_sentences(
            omnibus, tests, f"test {label}", settings.rope, settings.alpha, settings.baseline
        )[1:]
        lines.append("Without the encoder-limited tasks: " + " ".join(sentences))
    return lines


def _spread_lines(summary: pd.DataFrame, spread: pd.DataFrame) -> list[str]:
    """Per group of tasks: on how many the fusion methods ranked first and last on validation are told
    apart on test (the table "Does the choice of fusion matter?")."""
    if spread.empty:
        return []
    groups = dict(zip(summary["task"], tables.task_group(summary), strict=True))
    lines = []
    for group in ("real", "synthetic"):
        rows = spread[spread["task"].map(groups) == group]
        if rows.empty:
            continue
        apart = list(rows.loc[rows["separated"] == "apart", "task"])
        paired_only = list(rows.loc[rows["separated"] == "paired", "task"])
        line = (
            f"Does the choice of fusion matter? On {len(apart)} of {len(rows)} {group} tasks the fusion "
            f"methods ranked first and last on validation have test intervals that do not overlap"
            + (f" ({', '.join(apart)})" if apart else "")
        )
        if paired_only:
            line += f"; on {len(paired_only)} more only their paired difference excludes 0 ({', '.join(paired_only)})"
        lines.append(line + "; on the rest the two cannot be told apart on test.")
    return lines


PROFILE_FORMULAS = (
    "Interaction profile (table below), per task at its best depth, in test {label}: score(S) is the unimodal "
    "network's score for one modality and the score of the fusion chosen on validation for a set S; F is the full "
    "set; chance is the best score a prediction that ignores the inputs reaches on the test labels (macro F1: 1/K, by guessing the priors). Alone(m) = score({{m}}) - chance. "
    "Drop-one loss(m) = score(F) - score(F without m): what is lost without m, synergies with m included. "
    "Redundancy = (sum over m of max(0, alone(m)) - max(0, additive(F) - chance)) / (|F| - 1), where additive "
    "is a jointly trained additive model (summed per-modality logits, no interactions): the unimodal gains "
    "counted twice, per additional modality (0 when they add up; one modality's gain when all say the same). "
    "Synergy = score of the interaction-capable fusion chosen on validation on F (late voting and the additive "
    "model excluded) - additive(F). An entry is NaN unless every set it needs ran; in brackets a 95 % bootstrap "
    "interval (the cells resampled together on their shared test samples, seeds redrawn). These are "
    "differences of trained models' scores; partial information decomposition (Liang et al., 2023) is the "
    "principled counterpart. On a synthetic task every entry is also held against what its generator built "
    "(from the Bayes ceilings of the modality subsets, in accuracy): as built where the interval says the same "
    f"(above 0 where something was built, reaching +/-{ZERO_BAND:g} where nothing was)."
)


def build_document(
    runs: StudyRuns, study: str, tracking_uri: str, settings: ReportSettings
) -> tuple[Document, dict[str, pd.DataFrame], dict[str, Omnibus], str]:
    """The report's content, the numeric tables behind it (written as CSV), the omnibus tests (for the
    diagrams) and the LaTeX tables."""
    metric = settings.metric
    label = scores.get(metric.split("/", 1)[1]).label
    summary, t, omnibus = _tables(runs, settings)
    sections = [
        _task_section(task, t, settings, label) for task in sorted(runs.combinations["task"].unique())
    ]
    unfinished = runs.combinations[runs.combinations["state"] != "finished"]
    if len(unfinished):
        sections.append(
            Section(
                "Partial or failed combinations",
                tables=[("", unfinished[["task", "depth", "modalities", "fusion", "state"]].astype(str))],
            )
        )
    document = Document(
        f"{REPORT_TITLE}: {study}",
        _header(runs, study, tracking_uri, settings, label),
        [
            _answer_section(t["leaderboard"], metric, label, settings.ui_runs),
            _summary_section(summary, t, omnibus, settings, label, runs.seeds),
            *sections,
        ],
    )
    csv = {"runs": runs.seeds, **t}
    tex = latex.document(t["leaderboard"], t["significance"], metric, label)
    return document, csv, omnibus, tex


def _tables(
    runs: StudyRuns, settings: ReportSettings
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], dict[str, Omnibus]]:
    """Every number of the report: the per-combination summary, the tables by their CSV name, the omnibus tests."""
    metric = settings.metric
    summary = tables.combination_summary(runs, metric, settings.unstable_std)
    summary = attach_intervals(summary, runs.seeds, runs.predictions, metric, settings.bootstrap)
    summary = attach_ceiling_gaps(summary, runs.seeds, runs.predictions, settings.bootstrap)
    ranks, tests, omnibus = tables.method_comparison(
        summary, metric, alpha=settings.alpha, rope=settings.rope, baseline=settings.baseline
    )
    inputs = Inputs(runs, summary, settings, ranks, tests)
    found = {spec.name: spec.compute(inputs) for spec in TABLES}
    return summary, found, omnibus


def _header(
    runs: StudyRuns, study: str, tracking_uri: str, settings: ReportSettings, label: str
) -> list[str]:
    preview = [
        "- ⚠ **A preview**: a few tasks, for a first look at the results and their cost before a long "
        "study. It supports no cross-task claim (too few independent data sets for any test to detect a "
        "difference); the headline study (`study=fusion`) does."
    ]
    return [
        *(preview if settings.preview else []),
        f"- Study `{study}` in `{redact_uri(tracking_uri)}`; regenerate with `python -m benchmark report study={study}`.",
        f"- Combinations: {len(runs.combinations)} ({_state_counts(runs)}); finished final seed runs: "
        f"{len(runs.finished_seeds)} of {len(runs.seeds)}.",
        f'- Every "best" is chosen on the validation score of the final runs (val {label}, mean over seeds) '
        f"and reported with its test score; no table picks by test.",
        f"- Test scores: mean ± sample std over final seeds, then a 95 % interval [low, high]: percentile "
        f"bootstrap ({settings.bootstrap} replicates) over test samples and seeds together, so it includes "
        f"test-set sampling error. ⚠ marks combinations whose seeds disagree on validation. ‡ marks an "
        f"interval of zero width: every class's test samples were predicted all right or all wrong alike, so "
        f"resampling within classes cannot move the score, and the interval understates its uncertainty.",
        *_tuner_line(runs.combinations),
        *[f"- {line}" for line in _environment(runs)],
    ]


def _tuner_line(combinations: pd.DataFrame) -> list[str]:
    """What the tuner did, over the combinations that recorded it (older stores did not)."""
    known = (
        combinations.dropna(subset=["trials_default"])
        if "trials_default" in combinations
        else combinations[:0]
    )
    if known.empty:
        return []
    total = {c: int(known[f"trials_{c}"].sum()) for c in ("default", "random", "model", "pruned")}
    trials = total["default"] + total["random"] + total["model"]
    return [
        f"- Tuning: {trials} trials over {len(known)} combinations: {total['default']} the shared default "
        f"configuration (trial 0), {total['random']} random, {total['model']} proposed by the sampler's "
        f"model of the trials before; {total['pruned']} pruned."
    ]


@dataclass(frozen=True)
class TaskFigure:
    """A figure drawn per task from one of the report's tables, shown in that task's section after its
    tables (the file: ``<stem>_<task>.png``)."""

    stem: str
    table: str  # the CSV table it draws
    draw: Callable[[pd.DataFrame, Path, str], None]  # (the task's rows, path, ranking metric)
    caption: str


TASK_FIGURES = [
    TaskFigure(
        "score_by_fusion_depth",
        "fusion_depth",
        plots.score_by_fusion_and_depth,
        "score by fusion method and depth (points: test mean over seeds and folds; whiskers: std over seeds; "
        "the axis zoomed to the data)",
    ),
    TaskFigure(
        "modality_ablation",
        "modality_ablation",
        plots.modality_ablation,
        "modality-subset ablation (points: test mean, grey a single modality; whiskers: std over seeds; "
        "dashed: the single modality chosen on validation; the axis zoomed to the data)",
    ),
    TaskFigure(
        "accuracy_latency",
        "pareto",
        plots.accuracy_latency,
        "score against latency, with the Pareto front chosen on validation drawn through its test scores",
    ),
    TaskFigure(
        "score_noise",
        "noise_curves",
        plots.score_against_noise,
        "score against corruption of one modality at level s (float inputs: Gaussian noise of standard "
        "deviation s; tokens: a share s/(1+s) of words replaced)",
    ),
]


def figure_file(stem: str, task: str) -> str:
    return f"{stem}_{re.sub(r'[^A-Za-z0-9_.-]', '_', task)}.png"


def _task_section(task: str, t: dict[str, pd.DataFrame], settings: ReportSettings, label: str) -> Section:
    def of(name: str) -> pd.DataFrame:
        return t[name][t[name]["task"] == task]

    metric = settings.metric
    section = Section(task, paragraphs=_task_lines(of("best"), of("references"), metric, label))
    for spec in in_section(TASK):
        rows = of(spec.name)
        if len(rows) or not spec.optional:
            section.tables.append((spec.caption(settings, label), spec.display(rows, metric, label)))
    section.images = [(f.caption, figure_file(f.stem, task)) for f in TASK_FIGURES if len(of(f.table))]
    return section


ANSWER_TITLE = "The answer per task"
ACROSS_TITLE = "Across tasks: fusion methods compared"


def _answer_section(leaderboard: pd.DataFrame, metric: str, label: str, ui_runs: str) -> Section:
    """First, before any statistics: per task, what was chosen on validation and how it scored on test."""
    intro = (
        f"Per task, the combination chosen on validation {label} (reference models included: they are "
        f"answers too), its test {label} with a 95 % interval, and the combinations it ties with on "
        "validation (means closer than the seeds' spread): a rerun could put one of those first."
    )
    return Section(ANSWER_TITLE, paragraphs=[intro, *tables.task_answers(leaderboard, metric, ui_runs)])


def _summary_section(
    summary: pd.DataFrame,
    t: dict[str, pd.DataFrame],
    omnibus: dict[str, Omnibus],
    settings: ReportSettings,
    label: str,
    seeds: pd.DataFrame,
) -> Section:
    findings = _method_lines(summary, omnibus, t["significance"], label, settings)
    findings += _lost_seed_lines(seeds, label, settings.metric)
    findings += _gate_lines(summary, t["unimodal_gate"], label, settings)
    findings += _spread_lines(summary, t["fusion_spread"])
    profile = t["interaction_profile"]
    if len(profile):
        findings.append(PROFILE_FORMULAS.format(label=label))
        findings += as_built_lines(profile)
    diagrams = [
        (f"critical-difference diagram over the {group} tasks", f"critical_difference_{group}.png")
        for group, omni in omnibus.items()
        if omni.result is not None
    ]
    figures = [
        (
            "what each fusion method costs: memory added, training time per run and latency (a dot per "
            "combination over every task, the bar at the median; log scales)",
            "cost_by_fusion.png",
        ),
        *([("interaction profile per task", "interaction_profile.png")] if len(profile) else []),
    ]
    section = Section(ACROSS_TITLE, paragraphs=findings, images=[*diagrams, *figures])
    for spec in in_section(ACROSS):
        rows = t[spec.name]
        if len(rows) or not spec.optional:
            caption = spec.caption(settings, label)
            section.tables.append((caption, spec.display(rows, settings.metric, label)))
            if spec.in_findings:
                section.in_findings.add(caption)
    return section


def generate_report(
    tracking_uri: str,
    study: str,
    out_dir: Path,
    *,
    settings: ReportSettings = DEFAULT_SETTINGS,
    expected_seeds: int | None = None,
) -> ReportResult:
    """Write the report into ``out_dir``: built in a temporary folder beside it, then swapped in. A
    folder holding anything a report did not write is refused before any work (owned_paths)."""
    out_dir = out_dir.resolve()
    check_replaceable(out_dir)
    runs = collect(tracking_uri, study, expected_seeds)
    document, csv, omnibus, tex = build_document(runs, study, tracking_uri, settings)

    def build(staging: Path) -> None:
        for figure in TASK_FIGURES:
            table = csv[figure.table]
            for task, rows in table.groupby("task", sort=True):
                figure.draw(rows, staging / figure_file(figure.stem, str(task)), settings.metric)
        plots.cost_by_fusion(csv["leaderboard"], staging / "cost_by_fusion.png")
        if len(csv["interaction_profile"]):
            plots.interaction_profile(
                csv["interaction_profile"], staging / "interaction_profile.png", settings.metric
            )
        for group, omni in omnibus.items():
            if omni.result is not None:
                plots.critical_difference(omni, staging / f"critical_difference_{group}.png")
        for section in document.sections:  # a plot library may decline a figure (autorank: two methods)
            section.images = [
                (caption, name) for caption, name in section.images if (staging / name).exists()
            ]
        for name, frame in csv.items():
            write_csv(_flat(frame), staging / f"{name}.csv")
        (staging / "tables.tex").write_text(tex)
        (staging / "README.md").write_text(to_markdown(document))
        (staging / FINDINGS).write_text(findings_markdown(document))
        (staging / "report.html").write_text(to_html(document, staging))

    replace_folder(out_dir, build)
    answers = tables.task_answers(csv["leaderboard"], settings.metric)  # the summary, ranked
    return ReportResult(directory=out_dir, combinations=len(runs.combinations), answers=answers)


def _flat(frame: pd.DataFrame) -> pd.DataFrame:
    """Dict-valued cells (per-modality numbers) as ``m=v;...`` for CSV; a tuple value as ``v/w``."""

    def cell(value: object) -> object:
        if not isinstance(value, dict):
            return value
        return ";".join(
            f"{k}=" + ("/".join(f"{x:.6g}" for x in v) if isinstance(v, tuple) else f"{v:.6g}")
            for k, v in value.items()
        )

    return frame.assign(**{c: frame[c].map(cell) for c in frame.columns if frame[c].dtype == object})


FINDINGS = "findings.md"  # the across-task conclusions alone: the README includes this file verbatim


def findings_markdown(document: Document) -> str:
    """The across-task section (conclusions and the best-per-task table) as Markdown, for the README."""
    section = next(s for s in document.sections if s.title == ACROSS_TITLE)
    parts = [*section.paragraphs]
    for caption, table in section.tables:
        if caption in section.in_findings:
            parts += [f"**{caption}**", markdown_table(table)]
    return "\n\n".join(parts) + "\n"
