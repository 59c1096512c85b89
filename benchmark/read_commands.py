"""The commands that train nothing: ``report`` (from the MLflow store alone), ``list``, ``data`` and
``ui``. They import no torch and no model code, so they start in a fraction of a second."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode, urlsplit

from benchmark.errors import ConfigError
from benchmark.owned_paths import check_replaceable, write_text_atomic
from benchmark.schema import COMBINATION_RUN, KIND, TEST, VAL
from benchmark.studies import available_studies, default_studies_dir, load_study, split_study_argument
from benchmark.uris import redact_uri

if TYPE_CHECKING:
    from benchmark.config import StudyConfig


def again(command: str, overrides: list[str]) -> str:
    """The command that reaches this run's stores again: the user's own overrides, quoted for a shell, so a
    ``workdir=``, a ``tracking_uri=`` or a study given as a path is kept (the study's name alone lost them).
    A secret in an address is masked, as in every line the suite prints: give it through the environment."""
    import shlex

    return " ".join(["python -m benchmark", command, *(shlex.quote(_masked(o)) for o in overrides)])


def _masked(override: str) -> str:
    """``storage='postgresql://u:secret@h/db'`` -> the same with the secret masked, as every line is."""
    key, sep, value = override.partition("=")
    quoted = len(value) > 1 and value[0] in "'\"" and value.endswith(value[0])
    inner = value[1:-1] if quoted else value
    masked = redact_uri(inner)
    return (
        override
        if not sep or masked == inner
        else f"{key}={value[0] if quoted else ''}{masked}{value[0] if quoted else ''}"
    )


def load_config(arguments: list[str]) -> StudyConfig:
    study, overrides = split_study_argument(arguments)
    return load_study(study, overrides)


def write_report(config: StudyConfig, out: str | None) -> Path:
    from benchmark.report import ReportSettings, generate_report

    directory = report_directory(config, out)
    settings = ReportSettings(
        metric=TEST + config.tuning.metric,
        rope=config.report.rope,
        alpha=config.report.alpha,
        unstable_std=config.report.unstable_std,
        bootstrap=config.report.bootstrap,
        baseline=config.report.baseline,
        preview=config.report.preview,
        ui_runs=ui_runs_prefix(config.resolved_tracking_uri, config.name),
    )
    result = generate_report(
        config.resolved_tracking_uri,
        config.name,
        directory,
        settings=settings,
        expected_seeds=config.final.seeds,
    )
    from benchmark import scores

    label = scores.get(config.tuning.metric).label
    print(
        f"the answer per task (chosen on validation, reference models included; test {label}, 95 % interval):"
    )
    for line in result.answers:
        print(f"  {line}")
    print(f"report: {result.directory}/README.md and report.html ({result.combinations} combinations)")
    return result.directory


def report_directory(config: StudyConfig, out: str | None) -> Path:
    """Where the report goes; refused up front (exit 2, nothing written) if that folder holds anything a
    report did not write, since the report replaces its folder."""
    directory = Path(out).expanduser().resolve() if out else config.report_path
    check_replaceable(directory)
    return directory


def command_report(args: argparse.Namespace) -> int:
    config = load_config(args.overrides)
    report_directory(config, args.out)
    if (
        args.readme and findings_block(Path(args.readme), config.name) is None
    ):  # check before writing anything
        raise ConfigError(
            f"{args.readme} has no <!-- findings:{config.name} --> ... <!-- /findings:{config.name} --> block"
        )
    directory = write_report(config, args.out)
    if args.readme:
        from benchmark.report import FINDINGS

        readme = Path(args.readme)
        start, end = findings_block(readme, config.name)
        text = readme.read_text()
        write_text_atomic(readme, text[:start] + "\n" + (directory / FINDINGS).read_text() + text[end:])
        print(f"findings copied into {readme}")
    return 0


def findings_block(readme: Path, study: str) -> tuple[int, int] | None:
    """Where the generated findings of ``study`` go in ``readme``: (start, end) offsets between the
    markers, or None without them."""
    if not readme.is_file():
        return None
    text = readme.read_text()
    begin, finish = f"<!-- findings:{study} -->", f"<!-- /findings:{study} -->"
    start, end = text.find(begin), text.find(finish)
    if start < 0 or end < start:
        return None
    return start + len(begin), end


def command_list(args: argparse.Namespace) -> int:
    from benchmark.catalog import catalog

    known = catalog()
    studies_dir = default_studies_dir()
    print(f"studies ({studies_dir}):")
    for name in available_studies(studies_dir):
        print(f"  {name}")
    print("tasks:")
    for name, entry in sorted(known.tasks.items()):
        params = ", ".join(f"{k}={v}" for k, v in entry["parameters"].items())
        summary = entry.get("summary", "")
        print(_described(name, f"{summary} Parameters: {params}." if params else summary))
    print("encoders:")
    for name in sorted(known.encoders):
        print(f"  {name:<20} for {', '.join(sorted(known.encoder_kinds(name)))}")
    print("fusion methods:")
    for name, entry in sorted(known.fusions.items()):
        print(_described(name, entry["summary"]))
    print("reference models (classical floors on the same features; depth does not apply):")
    for name, entry in sorted(known.references.items()):
        print(_described(name, entry["description"]))
    return 0


def _described(name: str, text: str, width: int = 110) -> str:
    """``name`` and its description, wrapped whole (never cut) under a 23-character indent."""
    import textwrap

    return textwrap.fill(text, width, initial_indent=f"  {name:<20} ", subsequent_indent=" " * 23)


def command_data(args: argparse.Namespace) -> int:
    from benchmark.data import SOURCES, DataError, cache_dir, dataset_path, is_cached

    names = args.names or sorted(SOURCES)
    unknown = [n for n in names if n not in SOURCES]
    if unknown:
        raise ConfigError(f"unknown data set {unknown[0]!r}; available: {', '.join(sorted(SOURCES))}")
    if args.action == "list":
        print(f"cache: {cache_dir(args.data_dir)}")
        for name in names:
            source = SOURCES[name]
            status = "cached" if is_cached(name, args.data_dir) else "not fetched"
            print(f"{name:<17} {status:<12} {source.size}")
            print(f"{'':<17} source:  {source.origin}; {source.requirement}")
            print(f"{'':<17} licence: {source.license}")
        return 0
    for name in names:
        try:
            path = dataset_path(name, args.data_dir, force=args.force)
        except DataError as err:
            raise ConfigError(str(err)) from None
        print(f"{name}: {path}")
    return 0


UI_HOST, UI_PORT = "127.0.0.1", 5000  # where `benchmark ui` serves unless told otherwise


def ui_runs_prefix(uri: str, study: str) -> str:
    """Where the study's runs open in the MLflow UI, up to the run id: the tracking server itself, or
    the address `benchmark ui` serves a local store on by default; "" for a store not there."""
    from benchmark.tracking.reader import experiment_id

    found = experiment_id(uri, study)
    if found is None:
        return ""
    base = f"http://{UI_HOST}:{UI_PORT}"
    if uri.startswith(("http://", "https://")):  # the server's own address, without any credentials
        parts = urlsplit(uri)
        port = f":{parts.port}" if parts.port else ""
        base = f"{parts.scheme}://{parts.hostname}{port}{parts.path.rstrip('/')}"
    return f"{base}/#/experiments/{found}/runs/"


def runs_view(metric: str) -> dict[str, str]:
    """The UI's query for a study: the classic runs view (MLflow 3 opens on its GenAI traces otherwise),
    the combination runs only (their trials and seeds are children), ordered by the final seeds' mean
    validation score (validation selects; the test score is a column beside it)."""
    return {
        "workflowType": "machine_learning",
        "searchFilter": f"tags.`{KIND}` = '{COMBINATION_RUN}'",
        "orderByKey": f"metrics.`{VAL}{metric}_mean`",
        "orderByAsc": "false",
    }


def study_page(uri: str, study: str, host: str, port: int, metric: str = "f1_macro") -> str:
    """The address of the study's runs table: MLflow 3 opens on its GenAI traces view otherwise. An
    unreadable store gets the plain address: the UI itself will say why."""
    from benchmark.tracking.reader import experiment_id

    base = f"http://{host}:{port}"
    found = experiment_id(uri, study)
    if found is None:
        return base
    return f"{base}/#/experiments/{found}/runs?{urlencode(runs_view(metric), quote_via=quote)}"


def command_ui(args: argparse.Namespace) -> int:
    config = load_config(args.overrides)
    uri = config.resolved_tracking_uri
    if uri.startswith(("http://", "https://")):
        print(f"this study tracks to a server already: open {redact_uri(uri)}")
        return 0
    if uri.startswith("sqlite:///") and not os.path.exists(uri[len("sqlite:///") :]):
        raise ConfigError(
            f"no MLflow store at {uri} yet; run the study first: {again('run', args.overrides)}"
        )
    # Through this interpreter, so the UI is the MLflow this suite installed; one server worker (MLflow's
    # default of 4 took 3.3 GB on a 2-core machine, for one person's browser).
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri, "--host", args.host]
    command += ["--port", str(args.port), "--workers", "1"]
    print(
        f"MLflow UI on {study_page(uri, config.name, args.host, args.port, config.tuning.metric)} (store {redact_uri(uri)}); "
        "Ctrl-C to stop",
        flush=True,
    )
    os.execv(sys.executable, command)
    return 0  # not reached: the process is now the MLflow UI
