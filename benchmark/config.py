"""Study configuration: ``study=NAME k=v ...`` -> a validated, typed ``StudyConfig``.

Hydra's compose API loads ``studies/NAME.yaml`` (so studies can use defaults lists and
interpolations) and Hydra's override grammar parses the ``k=v`` arguments. Everything is then
validated into frozen dataclasses: an unknown key, a wrong type or an unknown component name
raises ``ConfigError`` with one line that names what is allowed. Code below this module never
sees a raw DictConfig.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from benchmark.encoders import ENCODERS, encoder_kinds
from benchmark.errors import ConfigError  # noqa: F401  (re-exported: the suite's one user-facing error)
from benchmark.fusions import FUSIONS
from benchmark.metrics import SCORES
from benchmark.params import ParamSpec
from benchmark.references import REFERENCES
from benchmark.registry import UnknownNameError
from benchmark.tasks import TASKS, task_parameters
from benchmark.uris import redact_uri  # noqa: F401  (re-exported)

STUDIES_ENV = "FUSIONBENCH_STUDIES"
SAMPLERS = ("tpe", "random")
PRUNERS = ("median", "none")
MODALITY_KINDS = ("vector", "image", "sequence", "tokens")


# --------------------------------------------------------------------------------------------------
# Typed configuration
# --------------------------------------------------------------------------------------------------


# The hyperparameters every combination has; a study's ``tuning.space`` overrides entries by name.
DEFAULT_SPACE: dict[str, ParamSpec] = {
    "lr": ParamSpec("float", 1e-4, 1e-2, log=True),
    "weight_decay": ParamSpec("float", 1e-6, 1e-2, log=True),
    "width": ParamSpec("categorical", choices=(32, 64, 128)),
    "dropout": ParamSpec("float", 0.0, 0.3),
    # Probability of hiding each modality of a training sample (never all of them); 0: off. Give it a
    # range to tune it and see whether it buys robustness to missing modalities.
    "modality_dropout": ParamSpec("fixed", choices=(0.0,)),
}


def fusion_hyperparameters() -> list[str]:
    """The names of the hyperparameters some fusion method or reference model declares (``rank``,
    ``C``, ...), sorted."""
    own = [FUSIONS.get(n).hyperparameters for n in FUSIONS.names()]
    own += [REFERENCES.get(n).hyperparameters for n in REFERENCES.names()]
    return sorted({param for declared in own for param in declared})


def combination_space(space: dict[str, ParamSpec], fusion: str) -> dict[str, ParamSpec]:
    """The search space of one combination: the general hyperparameters, plus those its fusion method
    declares (the study's ``tuning.space`` entry for them if it has one, else the method's default).
    A reference model has only its own (the network's lr, width, ... do not apply)."""
    if fusion in REFERENCES:
        return {
            name: space.get(name, default) for name, default in REFERENCES.get(fusion).hyperparameters.items()
        }
    general = {name: spec for name, spec in space.items() if name in DEFAULT_SPACE}
    own = FUSIONS.get(fusion).hyperparameters
    return general | {name: space.get(name, default) for name, default in own.items()}


@dataclass(frozen=True)
class ModalitySelection:
    """Which modality subsets the grid takes: all subsets with ``min_size <= |s| <= max_size``,
    or exactly the ``explicit`` lists."""

    min_size: int = 1
    max_size: int | None = None
    explicit: tuple[tuple[str, ...], ...] | None = None


@dataclass(frozen=True)
class TaskSpec:
    """A task of the study: registry ``name``, factory ``params`` and the ``label`` runs are tagged with."""

    name: str
    params: tuple[tuple[str, Any], ...] = ()
    label: str = ""
    subsets: ModalitySelection | None = None  # overrides grid.modalities for this task
    depth: tuple[int, ...] | None = None  # overrides grid.depth for this task
    # Outer repeats: split i is a different partition (task seed data_seed + i), tuned and trained on its
    # own; the task's scores are the mean over splits (small data sets: one split is a noisy estimate).
    splits: int = 1

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.params)


@dataclass(frozen=True)
class GridConfig:
    depth: tuple[int, ...] = (1, 2)
    modalities: ModalitySelection = ModalitySelection()
    fusion: tuple[str, ...] = ("concat", "attention", "late_vote")


@dataclass(frozen=True)
class TuningConfig:
    trials: int = 4
    metric: str = "f1_macro"
    sampler: str = "tpe"
    pruner: str = "median"
    seed: int = 0
    space: dict[str, ParamSpec] = field(default_factory=lambda: dict(DEFAULT_SPACE))


@dataclass(frozen=True)
class TrainConfig:
    max_epochs: int = 20
    patience: int = 5
    batch_size: int = 128
    # At least this many gradient steps per epoch: the batch shrinks to ceil(train size / min_batches) on
    # small data sets (40 mice at batch 128 would be one step per epoch); 0 = always batch_size.
    min_batches: int = 0
    eval_batch_size: int = 512
    precision: str = "fp32"  # fp32 | bf16 (autocast in training; meant for GPUs)
    compile: bool = False  # torch.compile the model (pays a compile per training; meant for GPUs)
    # "balanced": cross-entropy weights n / (classes x count) from the train labels, so each class
    # counts equally, as in macro F1; "none": every sample counts equally
    class_weight: str = "none"


@dataclass(frozen=True)
class FinalConfig:
    seeds: int = 3
    seed_offset: int = 1000  # final seeds are seed_offset + i, distinct from the trials' seeds
    # Up to this many seeds (0: just ``seeds``) while the seeds' validation scores disagree (their std
    # above ``spread``), so an unstable combination is measured, not guessed. Decided on validation
    # scores, never on test.
    max_seeds: int = 0
    spread: float = 0.03


@dataclass(frozen=True)
class LatencyConfig:
    warmup: int = 10
    repeats: int = 50
    # Latency depends on the architecture and hyperparameters, not on the trained weights, so by
    # default it is measured on the first final seed only; more seeds only repeat the measurement.
    seeds: int = 1


@dataclass(frozen=True)
class RobustnessConfig:
    """Evaluated on every final run: each modality missing in turn, and Gaussian noise of these
    standard deviations on each modality in turn (inputs are standardised, so in feature-spread units)."""

    missing: bool = True
    noise: tuple[float, ...] = (0.5, 1.0, 2.0)


@dataclass(frozen=True)
class ReportConfig:
    """How the report compares methods (see benchmark/report/statistics.py)."""

    rope: float = 0.01  # region of practical equivalence on the ranking score: |difference| below it is a tie
    alpha: float = 0.05  # significance level of the frequentist tests (Holm-adjusted)
    # seeds disagree: std above this, or one seed more than twice it below the mean
    unstable_std: float = 0.03
    bootstrap: int = 2000  # bootstrap replicates of each interval


@dataclass(frozen=True)
class StudyConfig:
    name: str
    tasks: tuple[TaskSpec, ...]
    grid: GridConfig = GridConfig()
    tuning: TuningConfig = TuningConfig()
    train: TrainConfig = TrainConfig()
    final: FinalConfig = FinalConfig()
    latency: LatencyConfig = LatencyConfig()
    robustness: RobustnessConfig = RobustnessConfig()
    report: ReportConfig = ReportConfig()
    encoders: dict[str, str] = field(default_factory=dict)  # modality kind -> encoder name
    device: str = "auto"
    threads: int = 0  # torch intra-op threads per worker; 0: the cores split evenly between workers
    workers: int = 0  # worker processes on this host; 0 ("auto"): one per usable core (1 on a GPU)
    heartbeat_seconds: int = 30  # RDB storage: a trial silent for 3 heartbeats is taken as dead
    data_seed: int = 0  # seeds task generation and splits; fixed across combinations
    workdir: str = "runs"
    tracking_uri: str | None = None
    storage: str | None = None
    data_dir: str | None = None  # data-set cache; null: $FUSIONBENCH_DATA or ~/.cache/fusionbench
    report_dir: str = "reports"  # reports go to <report_dir>/<name>/
    auto_report: bool = True  # regenerate the report when `run` finishes

    @property
    def storage_is_shared(self) -> bool:
        """Trials are coordinated through a database: workers on several hosts may share the study."""
        return self.storage is not None and "://" in self.storage

    @property
    def report_path(self) -> Path:
        return Path(self.report_dir).expanduser().resolve() / self.name

    # Resolved locations (absolute), so several processes and the MLflow UI agree on them.
    @property
    def workdir_path(self) -> Path:
        return Path(self.workdir).expanduser().resolve()

    @property
    def resolved_tracking_uri(self) -> str:
        if self.tracking_uri:
            return self.tracking_uri
        return f"sqlite:///{self.workdir_path / 'mlflow.db'}"

    @property
    def resolved_storage(self) -> str:
        if self.storage:
            return self.storage
        return str(self.workdir_path / "optuna.journal")

    def to_dict(self) -> dict[str, Any]:
        """A plain, YAML-able view of the resolved config (credentials masked)."""
        return {
            "name": self.name,
            "tasks": [_task_dict(t) for t in self.tasks],
            "grid": {
                "depth": list(self.grid.depth),
                "modalities": (
                    [list(s) for s in self.grid.modalities.explicit]
                    if self.grid.modalities.explicit is not None
                    else {
                        "min_size": self.grid.modalities.min_size,
                        "max_size": self.grid.modalities.max_size,
                    }
                ),
                "fusion": list(self.grid.fusion),
            },
            "tuning": {
                **{f.name: getattr(self.tuning, f.name) for f in fields(TuningConfig) if f.name != "space"},
                "space": {k: v.to_dict() for k, v in self.tuning.space.items()},
            },
            "train": _plain(self.train),
            "final": _plain(self.final),
            "latency": _plain(self.latency),
            "robustness": {"missing": self.robustness.missing, "noise": list(self.robustness.noise)},
            "report": _plain(self.report),
            "encoders": dict(self.encoders),
            "device": self.device,
            "threads": self.threads,
            "workers": self.workers,
            "heartbeat_seconds": self.heartbeat_seconds,
            "data_seed": self.data_seed,
            "workdir": str(self.workdir_path),
            "tracking_uri": redact_uri(self.resolved_tracking_uri),
            "storage": redact_uri(self.resolved_storage),
            "data_dir": self.data_dir,
            "report_dir": str(Path(self.report_dir).expanduser().resolve()),
            "auto_report": self.auto_report,
        }


def _selection_dict(selection: ModalitySelection) -> Any:
    if selection.explicit is not None:
        return [list(s) for s in selection.explicit]
    return {"min_size": selection.min_size, "max_size": selection.max_size}


def _task_dict(task: TaskSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"name": task.name, "label": task.label, **task.kwargs}
    if task.subsets is not None:
        out["subsets"] = _selection_dict(task.subsets)
    if task.depth is not None:
        out["depth"] = list(task.depth)
    if task.splits != 1:
        out["splits"] = task.splits
    return out


def _plain(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


# --------------------------------------------------------------------------------------------------
# Loading: YAML via Hydra's compose API, overrides via Hydra's grammar
# --------------------------------------------------------------------------------------------------


def default_studies_dir() -> Path:
    """``$FUSIONBENCH_STUDIES``, else ``./studies`` if present, else the repository's ``studies/``."""
    if os.environ.get(STUDIES_ENV):
        return Path(os.environ[STUDIES_ENV]).expanduser().resolve()
    local = Path.cwd() / "studies"
    if local.is_dir():
        return local.resolve()
    return (Path(__file__).resolve().parent.parent / "studies").resolve()


def available_studies(studies_dir: Path | None = None) -> list[str]:
    directory = studies_dir or default_studies_dir()
    return sorted(p.stem for p in directory.glob("*.yaml")) if directory.is_dir() else []


def split_study_argument(arguments: list[str]) -> tuple[str, list[str]]:
    """Separate ``study=NAME`` from the other overrides."""
    study = None
    rest = []
    for arg in arguments:
        if arg.startswith("study="):
            study = arg.split("=", 1)[1]
        else:
            rest.append(arg)
    if not study:
        raise ConfigError(
            f"missing study=NAME; available studies: {', '.join(available_studies()) or '(none)'}"
        )
    return study, rest


def load_study(
    study: str, overrides: list[str] | None = None, studies_dir: Path | None = None
) -> StudyConfig:
    """Compose ``studies/<study>.yaml`` (or a path to a YAML file), apply overrides, validate."""
    raw = compose_study(study, overrides or [], studies_dir)
    return parse_study(raw)


def compose_study(study: str, overrides: list[str], studies_dir: Path | None = None) -> dict[str, Any]:
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    path = Path(study)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        config_dir, config_name = path.resolve().parent, path.stem
    else:
        config_dir, config_name = studies_dir or default_studies_dir(), study
        if not (config_dir / f"{config_name}.yaml").is_file():
            known = ", ".join(available_studies(config_dir)) or "(none)"
            raise ConfigError(f"unknown study {study!r} in {config_dir}; available studies: {known}")
    parsed = _parse_overrides(overrides)
    try:
        with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
            cfg = compose(config_name=config_name)
        OmegaConf.set_struct(cfg, False)  # unknown keys are reported by our validation, with the valid ones
        for key, value, delete in parsed:
            if delete:
                _delete_key(cfg, key)
            else:
                OmegaConf.update(cfg, key, value, merge=False, force_add=True)
        data = OmegaConf.to_container(cfg, resolve=True)
    except (HydraException, OmegaConfBaseException) as err:
        raise ConfigError(f"cannot load study {study!r}: {_one_line(err)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"study {study!r} must be a mapping at the top level")
    data.pop("defaults", None)
    return data


def _parse_overrides(overrides: list[str]) -> list[tuple[str, Any, bool]]:
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as err:
        raise ConfigError(f"cannot parse overrides: {_one_line(err)}") from None
    result = []
    for override in parsed:
        if override.is_sweep_override():
            raise ConfigError(
                f"override {override.input_line!r} is a sweep; list grid values instead, e.g. grid.depth=[1,2]"
            )
        result.append(
            (override.key_or_group, None if override.is_delete() else override.value(), override.is_delete())
        )
    return result


def _delete_key(cfg: Any, key: str) -> None:
    *parents, leaf = key.split(".")
    node = cfg
    for part in parents:
        node = node[part]
    del node[leaf]


def _one_line(err: Exception) -> str:
    return " ".join(str(err).split())


# --------------------------------------------------------------------------------------------------
# Validation: plain data -> typed config
# --------------------------------------------------------------------------------------------------


def _check_keys(data: Any, where: str, allowed: list[str]) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a mapping with keys {', '.join(allowed)}; got {data!r}")
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        prefix = f"{where}." if where != "study" else ""
        raise ConfigError(f"unknown key {prefix}{unknown[0]!r}; allowed keys: {', '.join(allowed)}")
    return data


def _int(value: Any, where: str, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{where} must be >= {minimum}, got {value}")
    return value


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where} must be true or false, got {value!r}")
    return value


def _float(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where} must be a number, got {value!r}")
    return float(value)


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where} must be a non-empty string, got {value!r}")
    return value


def _choice(value: Any, where: str, choices: list[str] | tuple[str, ...]) -> str:
    if value not in choices:
        raise ConfigError(f"{where} must be one of {', '.join(choices)}; got {value!r}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if isinstance(value, str | int) and not isinstance(value, bool):
        return [value]  # a scalar is a one-element list: grid.depth=2
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where} must be a non-empty list, got {value!r}")
    return value


def _dataclass_fields(cls: type) -> list[str]:
    return [f.name for f in fields(cls)]


def parse_study(data: dict[str, Any]) -> StudyConfig:
    data = _check_keys(data, "study", _dataclass_fields(StudyConfig))
    name = _str(data.get("name"), "name")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ConfigError(f"name must use letters, digits, '.', '_' or '-' only; got {name!r}")
    if "tasks" not in data:
        raise ConfigError(f"tasks is required; registered tasks: {', '.join(TASKS.names())}")
    tasks = _parse_tasks(data["tasks"])
    device = _str(data.get("device", "auto"), "device")
    if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", device):
        raise ConfigError(f"device must be one of auto, cpu, cuda, cuda:N; got {device!r}")
    tracking_uri = data.get("tracking_uri")
    storage = data.get("storage")
    return StudyConfig(
        name=name,
        tasks=tasks,
        grid=_parse_grid(data.get("grid")),
        tuning=_parse_tuning(data.get("tuning")),
        train=_parse_train(data.get("train")),
        final=_parse_final(data.get("final")),
        latency=_parse_simple(
            LatencyConfig, data.get("latency"), "latency", {"warmup": 0, "repeats": 1, "seeds": 1}
        ),
        robustness=_parse_robustness(data.get("robustness")),
        report=_parse_report(data.get("report")),
        encoders=_parse_encoders(data.get("encoders")),
        device=device,
        threads=_int(data.get("threads", 0), "threads", 0),
        workers=_parse_workers(data.get("workers", "auto")),
        heartbeat_seconds=_int(data.get("heartbeat_seconds", 30), "heartbeat_seconds", 1),
        data_seed=_int(data.get("data_seed", 0), "data_seed"),
        workdir=_str(data.get("workdir", "runs"), "workdir"),
        tracking_uri=None if tracking_uri is None else _str(tracking_uri, "tracking_uri"),
        storage=None if storage is None else _parse_storage(storage),
        data_dir=None if data.get("data_dir") is None else _str(data["data_dir"], "data_dir"),
        report_dir=_str(data.get("report_dir", "reports"), "report_dir"),
        auto_report=_bool(data.get("auto_report", True), "auto_report"),
    )


def _parse_final(value: Any) -> FinalConfig:
    data = _check_keys(value, "final", _dataclass_fields(FinalConfig))
    defaults = FinalConfig()
    counts = _parse_simple(FinalConfig, {k: v for k, v in data.items() if k != "spread"}, "final",
                           {"seeds": 1, "seed_offset": 0, "max_seeds": 0})  # fmt: skip
    spread = _float(data.get("spread", defaults.spread), "final.spread")
    if spread < 0:
        raise ConfigError(f"final.spread must be >= 0, got {spread:g}")
    return dataclasses.replace(counts, spread=spread)


def _parse_workers(value: Any) -> int:
    """``auto`` (0: resolved when the study is prepared) or a count >= 1."""
    if value == "auto":
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"workers must be auto or an integer >= 1, got {value!r}")
    return value


def _parse_report(value: Any) -> ReportConfig:
    data = _check_keys(value, "report", _dataclass_fields(ReportConfig))
    defaults = ReportConfig()
    bounded = {}
    for key, low, high in (("rope", 0.0, 1.0), ("alpha", 0.0, 1.0), ("unstable_std", 0.0, 1.0)):
        number = _float(data.get(key, getattr(defaults, key)), f"report.{key}")
        if not low <= number < high or (key == "alpha" and number == 0):
            raise ConfigError(f"report.{key} must be in [{low:g}, {high:g}), got {number:g}")
        bounded[key] = number
    bootstrap = _int(data.get("bootstrap", defaults.bootstrap), "report.bootstrap", 100)
    return ReportConfig(**bounded, bootstrap=bootstrap)


def _parse_robustness(value: Any) -> RobustnessConfig:
    data = _check_keys(value, "robustness", _dataclass_fields(RobustnessConfig))
    noise = data.get("noise", list(RobustnessConfig.noise))
    levels = tuple(
        _float(v, "robustness.noise") for v in ([] if noise == [] else _list(noise, "robustness.noise"))
    )
    if any(level <= 0 for level in levels):
        raise ConfigError(f"robustness.noise levels must be > 0, got {list(levels)}")
    return RobustnessConfig(missing=_bool(data.get("missing", True), "robustness.missing"), noise=levels)


def _parse_storage(value: Any) -> str:
    storage = _str(value, "storage")
    scheme = urlsplit(storage).scheme
    if "://" in storage and scheme not in (
        "postgresql",
        "postgresql+psycopg2",
        "sqlite",
        "mysql",
        "mysql+pymysql",
    ):
        raise ConfigError(
            f"storage must be a journal file path or a database URL (postgresql://...); got {scheme}://"
        )
    return storage


def _parse_tasks(value: Any) -> tuple[TaskSpec, ...]:
    entries = _list(value, "tasks")
    specs = []
    for i, entry in enumerate(entries):
        where = f"tasks[{i}]"
        subsets, depth, splits = None, None, 1
        if isinstance(entry, str):
            name, params, label = entry, {}, None
        elif isinstance(entry, dict):
            entry = dict(entry)
            name = _str(entry.pop("name", None), f"{where}.name")
            label = entry.pop("label", None)
            if "subsets" in entry:
                subsets = _parse_modalities(entry.pop("subsets"), f"{where}.subsets")
            if "depth" in entry:
                depth = tuple(
                    dict.fromkeys(
                        _int(d, f"{where}.depth", 1) for d in _list(entry.pop("depth"), f"{where}.depth")
                    )
                )
            if "splits" in entry:
                splits = _int(entry.pop("splits"), f"{where}.splits", 1)
            params = entry
        else:
            raise ConfigError(f"{where} must be a task name or a mapping with 'name'; got {entry!r}")
        if name not in TASKS:
            raise ConfigError(f"unknown task {name!r}; registered tasks: {', '.join(TASKS.names())}")
        allowed = task_parameters(name)
        for key in params:
            if key not in allowed:
                raise ConfigError(
                    f"task {name!r} has no parameter {key!r}; allowed: label, subsets, depth, splits, {', '.join(sorted(allowed))}"
                )
        if label is None:
            label = name  # params are logged on every run; a label is needed only to list a task twice
        specs.append(
            TaskSpec(
                name=name,
                params=tuple(sorted(params.items())),
                label=_str(label, f"{where}.label"),
                subsets=subsets,
                depth=depth,
                splits=splits,
            )
        )
    labels = [s.label for s in specs]
    duplicates = sorted({x for x in labels if labels.count(x) > 1})
    if duplicates:
        raise ConfigError(f"task {duplicates[0]!r} is listed twice; give each entry a distinct 'label'")
    return tuple(specs)


def _parse_grid(value: Any) -> GridConfig:
    data = _check_keys(value, "grid", _dataclass_fields(GridConfig))
    depth = tuple(_int(d, "grid.depth", 1) for d in _list(data.get("depth", [1, 2]), "grid.depth"))
    fusions = tuple(_list(data.get("fusion", list(GridConfig.fusion)), "grid.fusion"))
    for fusion in fusions:
        if fusion not in FUSIONS and fusion not in REFERENCES:
            raise ConfigError(
                f"unknown fusion {fusion!r}; registered fusion methods: {', '.join(FUSIONS.names())}; "
                f"reference models: {', '.join(REFERENCES.names())}"
            )
    return GridConfig(
        depth=tuple(dict.fromkeys(depth)),
        modalities=_parse_modalities(data.get("modalities", "all")),
        fusion=tuple(dict.fromkeys(fusions)),
    )


def _parse_modalities(value: Any, where: str = "grid.modalities") -> ModalitySelection:
    allowed = "'all', a list of modality lists, or {min_size: N, max_size: M}"
    if value == "all":
        return ModalitySelection()
    if isinstance(value, dict):
        data = _check_keys(value, where, ["min_size", "max_size"])
        low = _int(data.get("min_size", 1), f"{where}.min_size", 1)
        high = data.get("max_size")
        high = None if high is None else _int(high, f"{where}.max_size", low)
        return ModalitySelection(min_size=low, max_size=high)
    if isinstance(value, list) and value and all(isinstance(s, list) and s for s in value):
        subsets = []
        for subset in value:
            if not all(isinstance(m, str) for m in subset):
                raise ConfigError(f"{where} must be {allowed}; got {value!r}")
            subsets.append(tuple(sorted(set(subset))))
        return ModalitySelection(explicit=tuple(dict.fromkeys(subsets)))
    raise ConfigError(f"{where} must be {allowed}; got {value!r}")


def _parse_tuning(value: Any) -> TuningConfig:
    data = _check_keys(value, "tuning", _dataclass_fields(TuningConfig))
    return TuningConfig(
        trials=_int(data.get("trials", TuningConfig.trials), "tuning.trials", 1),
        metric=_choice(data.get("metric", TuningConfig.metric), "tuning.metric", SCORES),
        sampler=_choice(data.get("sampler", TuningConfig.sampler), "tuning.sampler", SAMPLERS),
        pruner=_choice(data.get("pruner", TuningConfig.pruner), "tuning.pruner", PRUNERS),
        seed=_int(data.get("seed", TuningConfig.seed), "tuning.seed"),
        space=_parse_space(data.get("space")),
    )


def _parse_space(value: Any) -> dict[str, ParamSpec]:
    data = _check_keys(value, "tuning.space", [*DEFAULT_SPACE, *fusion_hyperparameters()])
    space = dict(DEFAULT_SPACE)
    for name, spec in data.items():
        space[name] = _parse_param(spec, f"tuning.space.{name}")
    if space["width"].kind in ("int", "float"):
        raise ConfigError("tuning.space.width must be a fixed value or a list of choices")
    return space


def _parse_param(spec: Any, where: str) -> ParamSpec:
    forms = "a fixed value, a list of choices, or {low: A, high: B, log: bool, type: float|int}"
    if isinstance(spec, bool | int | float | str):
        return ParamSpec("fixed", choices=(spec,))
    if isinstance(spec, list) and spec:
        return ParamSpec("categorical", choices=tuple(spec))
    if isinstance(spec, dict):
        data = _check_keys(spec, where, ["low", "high", "log", "type", "value", "choices"])
        if "value" in data:
            return ParamSpec("fixed", choices=(data["value"],))
        if "choices" in data:
            return ParamSpec("categorical", choices=tuple(_list(data["choices"], f"{where}.choices")))
        low, high = _float(data.get("low"), f"{where}.low"), _float(data.get("high"), f"{where}.high")
        inferred = (
            "int" if isinstance(data.get("low"), int) and isinstance(data.get("high"), int) else "float"
        )
        kind = _choice(data.get("type", inferred), f"{where}.type", ("float", "int"))
        log = data.get("log", False)
        if not isinstance(log, bool):
            raise ConfigError(f"{where}.log must be true or false, got {log!r}")
        if not low < high:
            raise ConfigError(f"{where}: low must be below high, got low={low} high={high}")
        if log and low <= 0:
            raise ConfigError(f"{where}: a log range needs low > 0, got {low}")
        return ParamSpec(kind, low, high, log=log)
    raise ConfigError(f"{where} must be {forms}; got {spec!r}")


def _parse_train(value: Any) -> TrainConfig:
    data = _check_keys(value, "train", _dataclass_fields(TrainConfig))
    defaults = TrainConfig()
    return TrainConfig(
        max_epochs=_int(data.get("max_epochs", defaults.max_epochs), "train.max_epochs", 1),
        patience=_int(data.get("patience", defaults.patience), "train.patience", 1),
        batch_size=_int(data.get("batch_size", defaults.batch_size), "train.batch_size", 2),
        min_batches=_int(data.get("min_batches", defaults.min_batches), "train.min_batches", 0),
        eval_batch_size=_int(
            data.get("eval_batch_size", defaults.eval_batch_size), "train.eval_batch_size", 1
        ),
        precision=_choice(data.get("precision", defaults.precision), "train.precision", ("fp32", "bf16")),
        compile=_bool(data.get("compile", defaults.compile), "train.compile"),
        class_weight=_choice(
            data.get("class_weight", defaults.class_weight), "train.class_weight", ("none", "balanced")
        ),
    )


def _parse_simple(cls: type, value: Any, where: str, minimums: dict[str, int]) -> Any:
    data = _check_keys(value, where, _dataclass_fields(cls))
    defaults = cls()
    return cls(**{k: _int(data.get(k, getattr(defaults, k)), f"{where}.{k}", m) for k, m in minimums.items()})


def _parse_encoders(value: Any) -> dict[str, str]:
    data = _check_keys(value, "encoders", list(MODALITY_KINDS))
    result = {}
    for kind, name in data.items():
        try:
            ENCODERS.get(name)
        except UnknownNameError as err:
            raise ConfigError(f"encoders.{kind}: {err}") from None
        if kind not in encoder_kinds(name):
            fits = sorted(n for n in ENCODERS.names() if kind in encoder_kinds(n))
            raise ConfigError(
                f"encoders.{kind}: {name!r} cannot encode {kind}; choose one of: {', '.join(fits)}"
            )
        result[kind] = name
    return result
