"""PNG plots (matplotlib, Agg backend): one figure per question, one panel per task."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # after choosing the headless backend
import numpy as np
import pandas as pd
from matplotlib import ticker

from benchmark import scores
from benchmark.schema import CPU_MEMORY_MB, GPU_MEMORY_MB, LATENCY_P50, TRAIN_SECONDS, mean_of

FUSION_COLORS = {
    "none": "#7f7f7f",
    "concat": "#1f77b4",
    "attention": "#d62728",
    "late_vote": "#2ca02c",
    "gated": "#9467bd",
    "tensor": "#8c564b",
    "low_rank": "#e377c2",
    "additive": "#98df8a",  # late voting's kin (per-modality heads), lighter
}
# Methods without a colour of their own (reference models, a user's new fusion) take these in the
# order of their names: none of them is a colour above, so a new method never looks like a known one.
_EXTRA_COLORS = [
    "#bcbd22",
    "#17becf",
    "#ff7f0e",
    "#393b79",
    "#637939",
    "#8c6d31",
    "#843c39",
    "#7b4173",
    "#3182bd",
    "#e6550d",
    "#31a354",
    "#756bb1",
]
# No timestamps or version strings inside the files: the same store gives the same PNG bytes.
PNG_METADATA = {"Software": None}


def _color(fusion: str, order: list[str]) -> str:
    if fusion in FUSION_COLORS:
        return FUSION_COLORS[fusion]
    others = sorted(f for f in order if f not in FUSION_COLORS)
    return _EXTRA_COLORS[others.index(fusion) % len(_EXTRA_COLORS)]


def _panels(n: int, width: float = 4.6, height: float = 3.6):
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    for extra in axes.flat[n:]:
        extra.set_visible(False)
    return fig, list(axes.flat[:n])


def _label(metric: str) -> str:
    """An axis label from the score registry: "test/f1_macro" -> "test macro F1"."""
    split, name = metric.split("/", 1)
    return f"{split} {scores.get(name).label}"


def _legend_below(fig, axes) -> int:
    """One legend for all panels, below them (a legend inside a panel covered its points and bars), in
    as many columns as the figure's width holds; returns its number of rows."""
    entries: dict[str, object] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            entries.setdefault(label, handle)
    if not entries:
        return 0
    columns = max(1, min(len(entries), int(fig.get_figwidth() // LEGEND_ENTRY_INCHES)))
    fig.legend(
        list(entries.values()), list(entries), loc="lower center", ncol=columns, fontsize=8, frameon=False
    )
    return math.ceil(len(entries) / columns)


LEGEND_ENTRY_INCHES = 1.5  # the width one legend entry (a marker and a name) takes


def _save(fig, path: Path, left: float = 0.75, wspace: float = 0.3, legend_rows: int = 0) -> None:
    # Fixed margins instead of tight_layout: the same look, a fraction of the time on many panels. They
    # are set in inches (a title above, tick labels and an axis label below and left, the legend's rows),
    # so a figure of one panel keeps its labels inside as a figure of many does.
    height, width = fig.get_figheight(), fig.get_figwidth()
    top, bottom = 1 - 0.4 / height, (0.6 + 0.1 + 0.2 * legend_rows) / height if legend_rows else 0.6 / height
    fig.subplots_adjust(
        left=left / width, right=1 - 0.1 / width, bottom=bottom, top=top, wspace=wspace, hspace=0.45
    )
    fig.savefig(path, dpi=100, metadata=PNG_METADATA)
    plt.close(fig)


def _zoomed(values: pd.Series, spread: pd.Series | None = None) -> tuple[float, float]:
    """Axis limits around the data (with its whiskers), within [0, 1.05]: differences of a few
    hundredths stay visible, where an axis from 0 flattened 0.72 against 0.80. Points, not bars, are
    drawn on such an axis: a bar's length from a cut axis would misstate the ratio."""
    spread = spread.fillna(0) if spread is not None else 0 * values
    low, high = float((values - spread).min()), float((values + spread).max())
    if not np.isfinite(low) or not np.isfinite(high):
        return 0.0, 1.05
    pad = max(0.02, 0.1 * (high - low))
    return max(0.0, low - pad), min(1.05, high + pad)


def score_by_fusion_and_depth(table: pd.DataFrame, path: Path, metric: str) -> None:
    """Grouped points: x = fusion method, one point per depth (whiskers: std over seeds), y = best score
    over modality subsets, the axis zoomed to the panel's data."""
    tasks = sorted(table["task"].unique())
    fig, axes = _panels(max(1, len(tasks)))
    for ax, task in zip(axes, tasks, strict=False):
        rows = table[table["task"] == task]
        fusions = sorted(rows["fusion"].unique())
        depths = sorted(rows["depth"].unique())
        width = 0.8 / max(1, len(depths))
        for j, depth in enumerate(depths):
            sub = rows[rows["depth"] == depth].set_index("fusion").reindex(fusions)
            xs = [i + (j - (len(depths) - 1) / 2) * width for i in range(len(fusions))]
            ax.errorbar(
                xs, sub["score"], yerr=sub["std"].fillna(0), fmt="o", ms=4, capsize=2, label=f"depth {depth}"
            )
        # 45 degrees, anchored at the tick: neighbouring names (late_vote, low_rank) never overlap
        ax.set_xticks(
            range(len(fusions)), fusions, rotation=45, ha="right", rotation_mode="anchor", fontsize=8
        )
        ax.set_ylim(*_zoomed(rows["score"], rows["std"]))
        ax.set_title(task)
        ax.set_ylabel(f"{_label(metric)} (best subset)")
    _save(fig, path, legend_rows=_legend_below(fig, axes))


def accuracy_latency(points: pd.DataFrame, path: Path, metric: str) -> None:
    """Scatter of every combination's test score against latency (colour = fusion), with the Pareto
    front chosen on validation as a step line through its test scores."""
    tasks = sorted(points["task"].unique())
    order = sorted(points["fusion"].unique())
    fig, axes = _panels(max(1, len(tasks)))
    for ax, task in zip(axes, tasks, strict=False):
        rows = points[points["task"] == task]
        for fusion in order:
            sub = rows[rows["fusion"] == fusion]
            if len(sub):
                ax.scatter(sub["latency_ms"], sub["score"], s=22, color=_color(fusion, order), label=fusion)
        front = rows[rows["on_front"]].sort_values("latency_ms")
        ax.step(
            front["latency_ms"],
            front["score"],
            where="post",
            color="black",
            lw=1,
            label="Pareto front (validation)",
        )
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        ax.set_xlabel("latency p50, batch of 1 (ms)")
        ax.set_ylabel(_label(metric))
        ax.set_title(task)
    _save(fig, path, legend_rows=_legend_below(fig, axes))


COSTS = [  # leaderboard column, axis label: what a combination costs beside its score
    (mean_of(CPU_MEMORY_MB), "CPU memory added (MB)"),
    (mean_of(GPU_MEMORY_MB), "GPU memory added (MB)"),
    (mean_of(TRAIN_SECONDS), "training time per run (s)"),
    (mean_of(LATENCY_P50), "latency p50, batch of 1 (ms)"),
]


def _plain_log_labels(ax) -> None:
    """A log y axis labelled in plain numbers (0.3, not 3 x 10^-1); its minor ticks are labelled only
    where the panel spans less than a decade (else they would crowd)."""
    plain = ticker.FuncFormatter(lambda v, _: f"{v:g}")
    ax.yaxis.set_major_formatter(plain)

    def minor(value: float, _: int) -> str:
        low, high = ax.get_ylim()
        return f"{value:g}" if high < 10 * low else ""

    ax.yaxis.set_minor_formatter(ticker.FuncFormatter(minor))


def cost_by_fusion(board: pd.DataFrame, path: Path) -> None:
    """One panel per measured cost: x = fusion method, a dot per combination (every task; log scale, as
    costs span orders of magnitude between tasks), a bar at each method's median."""
    costs = [(c, label) for c, label in COSTS if c in board and board[c].notna().any()]
    order = sorted(board["fusion"].unique())
    fig, axes = _panels(max(1, len(costs)), width=5.2)
    for ax, (column, label) in zip(axes, costs, strict=False):
        for i, fusion in enumerate(order):
            values = board.loc[(board["fusion"] == fusion) & (board[column] > 0), column]
            if values.empty:
                continue
            jitter = np.linspace(-0.25, 0.25, len(values)) if len(values) > 1 else np.zeros(1)
            ax.scatter(i + jitter, values, s=8, alpha=0.6, color=_color(fusion, order))
            ax.hlines(values.median(), i - 0.35, i + 0.35, color="black", lw=1.5)
        ax.set_yscale("log")
        _plain_log_labels(ax)
        ax.set_xticks(range(len(order)), order, rotation=45, ha="right", rotation_mode="anchor", fontsize=8)
        ax.set_ylabel(label)
        ax.set_title(label.split(" (")[0])
    _save(fig, path, wspace=0.35)


def critical_difference(omnibus, path: Path) -> None:  # statistics.Omnibus
    """autorank's critical-difference diagram after Friedman + Nemenyi (methods joined by a bar do not
    differ significantly) over one group of tasks."""
    import warnings

    from autorank import plot_stats

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ax = plot_stats(omnibus.result, allow_insignificant=True, width=6)
    if ax is None:
        return
    fig = ax.get_figure()
    fig.suptitle(
        f"average ranks over {omnibus.units} {omnibus.group} tasks (Friedman, Iman-Davenport p = "
        f"{omnibus.p_value:.3g}; bars join methods within Nemenyi's critical difference)",
        fontsize=9,
        y=1.12,  # above autorank's "CD" scale label, which sits at the top of its axes
    )
    fig.savefig(path, dpi=100, metadata=PNG_METADATA, bbox_inches="tight")
    plt.close(fig)


def modality_ablation(table: pd.DataFrame, path: Path, metric: str) -> None:
    """Horizontal bars per modality subset; the dashed line marks the test score of the best single
    modality chosen on validation (the one ``gain_over_best_single`` is measured from), never the
    highest test bar."""
    tasks = sorted(table["task"].unique())
    height = 0.9 + 0.28 * max((table["task"] == t).sum() for t in tasks) if tasks else 3
    fig, axes = _panels(max(1, len(tasks)), height=height)
    for ax, task in zip(axes, tasks, strict=False):
        rows = table[table["task"] == task].sort_values(["n_modalities", "modalities"], ascending=False)
        colors = ["#7f7f7f" if n == 1 else "#1f77b4" for n in rows["n_modalities"]]
        labels = [_short_subset(m) for m in rows["modalities"]]
        ax.errorbar(rows["score"], labels, xerr=rows["std"].fillna(0), fmt="none", ecolor="#555", capsize=2)
        ax.scatter(rows["score"], labels, c=colors, s=22, zorder=3)
        singles = rows[rows["n_modalities"] == 1].sort_values("val_score", ascending=False, kind="stable")
        if len(singles):
            ax.axvline(float(singles["score"].iloc[0]), color="black", ls="--", lw=1)
        ax.set_xlim(*_zoomed(rows["score"], rows["std"]))
        ax.set_xlabel(f"{_label(metric)} (best fusion and depth)")
        ax.set_title(task)
    _save(fig, path, left=1.1, wspace=0.6)  # room for the subset labels


SUBSET_LABEL_CHARACTERS = 16  # longer subset names spill into the next panel


def _short_subset(subset: str) -> str:
    """A modality subset short enough for a tick label: each modality cut to its first three letters,
    then two, when the whole name is long (colour+geometry+scagnostics+texture -> col+geo+sca+tex);
    failing both, how many modalities it holds (the table beside the figure names them)."""
    names = subset.split("+")
    for shortened in (subset, "+".join(n[:3] for n in names), "+".join(n[:2] for n in names)):
        if len(shortened) <= SUBSET_LABEL_CHARACTERS:
            return shortened
    return f"{len(names)} modalities"


def score_against_noise(curves: pd.DataFrame, path: Path, metric: str) -> None:
    """One line per fusion method: the test score as corruption grows on one modality at a time."""
    tasks = sorted(curves["task"].unique())
    fig, axes = _panels(max(1, len(tasks)))
    order = sorted(curves["fusion"].unique())
    for ax, task in zip(axes, tasks, strict=False):
        rows = curves[curves["task"] == task]
        for fusion in sorted(rows["fusion"].unique()):
            sub = rows[rows["fusion"] == fusion].sort_values("level")
            ax.plot(sub["level"], sub["score"], marker="o", ms=3, color=_color(fusion, order), label=fusion)
        ax.set_ylim(*_zoomed(rows["score"]))
        ax.set_title(task)
        ax.set_xlabel("corruption level s")  # the caption says what s is for floats and for tokens
        ax.set_ylabel(_label(metric))
    _save(fig, path, legend_rows=_legend_below(fig, axes))


def interaction_profile(profile: pd.DataFrame, path: Path, metric: str) -> None:
    """Per task: each modality's gain over chance alone, its drop-one loss, the redundancy and the
    synergy, in test-score units, with their 95 % bootstrap intervals; NaN entries are left out."""
    colours = {"alone": "#9ecae1", "drop_one_loss": "#3182bd", "redundancy": "#fdae6b", "synergy": "#e6550d"}
    names = {
        "alone": "{} alone",
        "drop_one_loss": "drop {}",
        "redundancy": "redundancy",
        "synergy": "synergy",
    }
    tasks = sorted(profile["task"].unique())
    fig, axes = _panels(max(1, len(tasks)))
    for ax, task in zip(axes, tasks, strict=False):
        rows = profile[(profile["task"] == task) & profile["value"].notna()]
        values = rows["value"].to_numpy()
        # clipped at 0: the value is the logged scores', the interval the predictions' (equal in a real run)
        low = np.maximum(0, np.nan_to_num(values - rows["ci_low"].to_numpy()))
        high = np.maximum(0, np.nan_to_num(rows["ci_high"].to_numpy() - values))
        ax.barh(
            range(len(rows)), values, xerr=[low, high], capsize=2, color=[colours[e] for e in rows["entry"]]
        )
        labels = [names[e].format(m) for e, m in zip(rows["entry"], rows["modality"], strict=True)]
        ax.set_yticks(range(len(rows)), labels, fontsize=7)
        ax.invert_yaxis()
        ax.axvline(0, color="black", lw=0.6)
        first = profile[profile["task"] == task].iloc[0]
        ax.set_title(f"{task} (depth {first['depth']})")
        ax.set_xlabel(f"{_label(metric)} (alone: gain over chance)")
    _save(fig, path, left=1.1)
