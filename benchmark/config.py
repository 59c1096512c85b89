"""Study configuration: plain data (a composed study, studies.py) -> a validated, typed ``StudyConfig``.

The schema below is a set of frozen pydantic dataclasses:
pydantic checks types, bounds, choices and unknown keys, and ``_one_line`` turns its first error into
one line that names the key and what is allowed (``ConfigError``: exit status 2). Values the schema
cannot express (registered names, modality subsets, the tuning space) are checked by validators that
raise ``ConfigError`` themselves. Code below this module never sees a raw DictConfig.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, Strict, TypeAdapter, ValidationError, field_validator
from pydantic.dataclasses import dataclass

from benchmark.encoders import ENCODERS, encoder_kinds
from benchmark.errors import ConfigError
from benchmark.fusions import FUSIONS
from benchmark.params import ParamSpec
from benchmark.references import REFERENCES
from benchmark.space import DEFAULT_SPACE, parse_space
from benchmark.tasks import TASKS, task_parameters
from benchmark.uris import redact_uri

MODALITY_KINDS = ("vector", "image", "sequence", "tokens")
STORAGE_SCHEMES = ("postgresql", "postgresql+psycopg2", "sqlite", "mysql", "mysql+pymysql")
SCHEMA = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

Int = Annotated[int, Strict()]
Count = Annotated[int, Strict(), Field(ge=1)]
NonNegative = Annotated[int, Strict(), Field(ge=0)]
Number = Annotated[float, Strict()]
Flag = Annotated[bool, Strict()]
Text = Annotated[str, Strict(), Field(min_length=1)]


@dataclasses.dataclass(frozen=True)
class ModalitySelection:
    """Which modality subsets the grid takes: all subsets with ``min_size <= |s| <= max_size``,
    or exactly the ``explicit`` lists."""

    min_size: int = 1
    max_size: int | None = None
    explicit: tuple[tuple[str, ...], ...] | None = None


@dataclasses.dataclass(frozen=True)
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


def _listed(value: Any) -> Any:
    """A scalar is a one-element list (``grid.depth=2``)."""
    return [value] if isinstance(value, str | int | float) and not isinstance(value, bool) else value


def _unique(values: Any) -> Any:
    return tuple(dict.fromkeys(values)) if isinstance(values, list | tuple) else values


@dataclass(frozen=True, config=SCHEMA)
class GridConfig:
    depth: Annotated[tuple[Count, ...], Field(min_length=1)] = (1, 2)
    modalities: ModalitySelection = ModalitySelection()
    fusion: Annotated[tuple[Text, ...], Field(min_length=1)] = ("concat", "attention", "late_vote")

    _list = field_validator("depth", "fusion", mode="before")(lambda value: _unique(_listed(value)))

    @field_validator("fusion")
    @classmethod
    def _registered(cls, fusions: tuple[str, ...]) -> tuple[str, ...]:
        for fusion in fusions:
            if fusion not in FUSIONS and fusion not in REFERENCES:
                raise ConfigError(f"unknown fusion {fusion!r}; registered fusion methods: {', '.join(FUSIONS.names())}; "
                                  f"reference models: {', '.join(REFERENCES.names())}")  # fmt: skip
        return fusions

    @field_validator("modalities", mode="plain")
    @classmethod
    def _modalities(cls, value: Any) -> ModalitySelection:
        return parse_modalities(value, "grid.modalities")


@dataclass(frozen=True, config=SCHEMA)
class TuningConfig:
    trials: Count = 4
    metric: Literal["accuracy", "recall_macro", "f1_macro"] = "f1_macro"  # metrics.SCORES
    sampler: Literal["tpe", "random"] = "tpe"
    pruner: Literal["median", "successive_halving", "hyperband", "none"] = "hyperband"  # tuning.make_pruner
    seed: Int = 0
    space: dict[str, ParamSpec] = Field(default_factory=lambda: dict(DEFAULT_SPACE))

    _space = field_validator("space", mode="plain")(parse_space)


@dataclass(frozen=True, config=SCHEMA)
class TrainConfig:
    max_epochs: Count = 20
    patience: Count = 5
    batch_size: Annotated[int, Strict(), Field(ge=2)] = 128
    # At least this many gradient steps per epoch: the batch shrinks to ceil(train size / min_batches) on
    # small data sets (40 mice at batch 128 would be one step per epoch); 0 = always batch_size.
    min_batches: NonNegative = 0
    eval_batch_size: Count = 512
    precision: Literal["fp32", "bf16"] = "fp32"  # bf16: autocast in training (meant for GPUs)
    compile: Flag = False  # torch.compile the model (pays a compile per training; meant for GPUs)
    # "balanced": cross-entropy weights n / (classes x count) from the train labels, so each class
    # counts equally, as in macro F1; "none": every sample counts equally
    class_weight: Literal["none", "balanced"] = "none"


@dataclass(frozen=True, config=SCHEMA)
class FinalConfig:
    seeds: Count = 3
    seed_offset: NonNegative = 1000  # final seeds are seed_offset + i, apart from the trials' seeds
    # Up to this many seeds (0: just ``seeds``) while the seeds' validation scores disagree (their std
    # above ``spread``), so an unstable combination is measured, not guessed. Decided on validation
    # scores, never on test.
    max_seeds: NonNegative = 0
    spread: Annotated[float, Strict(), Field(ge=0)] = 0.03


@dataclass(frozen=True, config=SCHEMA)
class LatencyConfig:
    """The latency pass (latency.py) times the models of the first ``seeds`` final seeds: latency
    depends on the architecture and hyperparameters, not on the trained weights."""

    warmup: NonNegative = 10
    repeats: Count = 50
    seeds: Count = 1


@dataclass(frozen=True, config=SCHEMA)
class RobustnessConfig:
    """Evaluated on every final run: each modality missing in turn, and Gaussian noise of these
    standard deviations on each modality in turn (inputs are standardised, so in feature-spread units)."""

    missing: Flag = True
    noise: tuple[Annotated[float, Strict(), Field(gt=0)], ...] = (0.5, 1.0, 2.0)

    _list = field_validator("noise", mode="before")(_listed)


@dataclass(frozen=True, config=SCHEMA)
class ReportConfig:
    """How the report compares methods (see benchmark/report/statistics.py)."""

    rope: Number = (
        0.01  # region of practical equivalence on the ranking score: |difference| below it is a tie
    )
    alpha: Number = 0.05  # significance level of the frequentist tests (Holm-adjusted)
    unstable_std: Number = (
        0.03  # seeds disagree: std above this, or one seed more than twice it below the mean
    )
    bootstrap: Annotated[int, Strict(), Field(ge=100)] = 2000  # bootstrap replicates of each interval

    @field_validator("rope", "alpha", "unstable_std")
    @classmethod
    def _fraction(cls, number: float, info: Any) -> float:
        if not 0 <= number < 1 or (info.field_name == "alpha" and number == 0):
            raise ConfigError(f"report.{info.field_name} must be in [0, 1), got {number:g}")
        return number


@dataclass(frozen=True, config=SCHEMA)
class StudyConfig:
    name: Text
    tasks: tuple[TaskSpec, ...] = Field(default=(), validate_default=True)
    grid: GridConfig = GridConfig()
    tuning: TuningConfig = TuningConfig()
    train: TrainConfig = TrainConfig()
    final: FinalConfig = FinalConfig()
    latency: LatencyConfig = LatencyConfig()
    robustness: RobustnessConfig = RobustnessConfig()
    report: ReportConfig = ReportConfig()
    encoders: dict[str, str] = Field(default_factory=dict)  # modality kind -> encoder name
    device: Text = "auto"
    threads: NonNegative = 0  # torch threads per worker; 0: cores split evenly
    workers: int = 0  # worker processes on this host; 0 ("auto"): one per usable core (1 on a GPU)
    heartbeat_seconds: Count = 30  # RDB storage: a trial silent for 3 heartbeats is taken as dead
    data_seed: Int = 0  # seeds task generation and splits; fixed across combinations
    workdir: Text = "runs"
    tracking_uri: Text | None = None
    storage: Text | None = None
    data_dir: Text | None = None  # data-set cache; null: $FUSIONBENCH_DATA or ~/.cache/fusionbench
    report_dir: Text = "reports"  # reports go to <report_dir>/<name>/
    auto_report: Flag = True  # regenerate the report when `run` finishes

    _tasks = field_validator("tasks", mode="plain")(lambda value: parse_tasks(value))
    _encoders = field_validator("encoders", mode="plain")(lambda value: parse_encoders(value))

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise ConfigError(f"name must use letters, digits, '.', '_' or '-' only; got {name!r}")
        return name

    @field_validator("device")
    @classmethod
    def _device(cls, device: str) -> str:
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", device):
            raise ConfigError(f"device must be one of auto, cpu, cuda, cuda:N; got {device!r}")
        return device

    @field_validator("workers", mode="plain")
    @classmethod
    def _workers(cls, value: Any) -> int:  # "auto" is 0, resolved when the study is prepared
        if value == "auto":
            return 0
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"workers must be auto or an integer >= 1, got {value!r}")
        return value

    @field_validator("storage")
    @classmethod
    def _storage(cls, storage: str | None) -> str | None:
        scheme = storage.split("://", 1)[0] if storage and "://" in storage else None
        if scheme is not None and scheme not in STORAGE_SCHEMES:
            raise ConfigError(
                f"storage must be a journal file path or a database URL (postgresql://...); got {scheme}://"
            )
        return storage

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
        return self.tracking_uri or f"sqlite:///{self.workdir_path / 'mlflow.db'}"

    @property
    def resolved_storage(self) -> str:
        return self.storage or str(self.workdir_path / "optuna.journal")

    def to_dict(self) -> dict[str, Any]:
        """A plain, YAML-able view of the resolved config (credentials masked)."""
        out = _plain(self)
        out["tasks"] = [_task_dict(t) for t in self.tasks]
        out["grid"]["modalities"] = _selection_dict(self.grid.modalities)
        out["tuning"]["space"] = {k: v.to_dict() for k, v in self.tuning.space.items()}
        out.update(workdir=str(self.workdir_path), tracking_uri=redact_uri(self.resolved_tracking_uri),
                   storage=redact_uri(self.resolved_storage), report_dir=str(Path(self.report_dir).expanduser().resolve()))  # fmt: skip
        return out


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return {k: _plain(v) for k, v in value.items()} if isinstance(value, dict) else value


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


# ---- validation: plain data -> typed config -----------------------------------------------------------


def parse_study(data: dict[str, Any]) -> StudyConfig:
    try:
        return TypeAdapter(StudyConfig).validate_python(data)
    except ValidationError as err:
        raise ConfigError(_one_line_error(err)) from None


def _one_line_error(err: ValidationError, prefix: tuple[str, ...] = ()) -> str:
    """pydantic's first error as our one line: the dotted key, what is allowed, what was given."""
    first = err.errors(include_url=False)[0]
    kind, given, context = first["type"], first.get("input"), first.get("ctx", {})
    if isinstance(context.get("error"), ConfigError):  # a validator's own message is already one line
        return str(context["error"])
    path = [*prefix, *(str(part) for part in first["loc"] if not isinstance(part, int))]
    where = ".".join(path)
    if kind in ("extra_forbidden", "unexpected_keyword_argument"):
        allowed = ", ".join(f.name for f in dataclasses.fields(_schema_at(path[:-1])))
        prefix = ".".join(path[:-1]) + "." if len(path) > 1 else ""
        return f"unknown key {prefix}{path[-1]!r}; allowed keys: {allowed}"
    if kind in ("dataclass_type", "dataclass_args_type", "model_type"):
        keys = ", ".join(f.name for f in dataclasses.fields(_schema_at(path)))
        return f"{where} must be a mapping with keys {keys}; got {given!r}"
    if kind == "literal_error":
        return f"{where} must be one of {', '.join(_choices(path))}; got {given!r}"
    expected = {
        "int": "an integer",
        "float": "a number",
        "bool": "true or false",
        "string": "a non-empty string",
    }
    for prefix, what in expected.items():
        if kind.startswith(prefix + "_"):
            return f"{where} must be {what}, got {given!r}"
    bounds = {"greater_than_equal": ">=", "greater_than": ">"}
    if kind in bounds:
        return f"{where} must be {bounds[kind]} {context.get('ge', context.get('gt')):g}, got {given}"
    if kind == "too_short":
        return f"{where} must be a non-empty list, got {list(given)!r}"
    if kind.startswith("missing"):
        return f"{where} is required"
    return f"{where}: {first['msg']}"


def _schema_at(path: list[str]) -> Any:
    """The schema class a dotted key path leads to (``[]``: StudyConfig)."""
    schema: Any = StudyConfig
    for part in path:
        schema = typing.get_type_hints(schema)[part]
    return schema


def _choices(path: list[str]) -> list[str]:
    return [str(c) for c in typing.get_args(typing.get_type_hints(_schema_at(path[:-1]))[path[-1]])]


def parse_tasks(value: Any) -> tuple[TaskSpec, ...]:
    if isinstance(value, tuple) and value and all(isinstance(t, TaskSpec) for t in value):
        return value  # already parsed (dataclasses.replace validates again)
    if value in (None, ()):
        raise ConfigError(f"tasks is required; registered tasks: {', '.join(TASKS.names())}")
    if value == []:
        raise ConfigError("tasks must be a non-empty list, got []")
    specs = [_task(entry, f"tasks[{i}]") for i, entry in enumerate(_listed(value))]
    labels = [s.label for s in specs]
    duplicates = sorted({x for x in labels if labels.count(x) > 1})
    if duplicates:
        raise ConfigError(f"task {duplicates[0]!r} is listed twice; give each entry a distinct 'label'")
    return tuple(specs)


def _task(entry: Any, where: str) -> TaskSpec:
    if isinstance(entry, str):
        entry = {"name": entry}
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} must be a task name or a mapping with 'name'; got {entry!r}")
    params = dict(entry)
    name = params.pop("name", None)
    if name not in TASKS:
        raise ConfigError(f"unknown task {name!r}; registered tasks: {', '.join(TASKS.names())}")
    own = {key: params.pop(key) for key in ("label", "subsets", "depth", "splits") if key in params}
    for key in params:
        if key not in task_parameters(name):
            allowed = ", ".join(sorted(task_parameters(name)))
            raise ConfigError(
                f"task {name!r} has no parameter {key!r}; allowed: label, subsets, depth, splits, {allowed}"
            )
    # the grid's own checks for depth and splits; the label names runs (the task name by default)
    depth = (
        _validated(tuple[Count, ...], _unique(_listed(own["depth"])), f"{where}.depth")
        if "depth" in own
        else None
    )
    splits = _validated(Count, own.get("splits", 1), f"{where}.splits")
    label = _validated(Text, own.get("label", name), f"{where}.label")
    subsets = parse_modalities(own["subsets"], f"{where}.subsets") if "subsets" in own else None
    return TaskSpec(name, tuple(sorted(params.items())), label, subsets, depth, splits)


def _validated(schema: Any, value: Any, where: str) -> Any:
    try:
        return TypeAdapter(schema).validate_python(value)
    except ValidationError as err:
        raise ConfigError(_one_line_error(err, (where,))) from None


def parse_modalities(value: Any, where: str) -> ModalitySelection:
    allowed = "'all', a list of modality lists, or {min_size: N, max_size: M}"
    if isinstance(value, ModalitySelection):
        return value
    if value == "all":
        return ModalitySelection()
    if isinstance(value, dict) and set(value) <= {"min_size", "max_size"}:
        low = _validated(Count, value.get("min_size", 1), f"{where}.min_size")
        high = value.get("max_size")
        if high is not None:
            high = _validated(Annotated[int, Strict(), Field(ge=low)], high, f"{where}.max_size")
        return ModalitySelection(min_size=low, max_size=high)
    if (
        isinstance(value, list)
        and value
        and all(isinstance(s, list) and s and all(isinstance(m, str) for m in s) for s in value)
    ):
        return ModalitySelection(explicit=tuple(dict.fromkeys(tuple(sorted(set(s))) for s in value)))
    raise ConfigError(f"{where} must be {allowed}; got {value!r}")


def parse_encoders(value: Any) -> dict[str, str]:
    kinds = MODALITY_KINDS
    if not isinstance(value, dict):
        raise ConfigError(f"encoders must be a mapping with keys {', '.join(kinds)}; got {value!r}")
    for kind, name in value.items():
        if kind not in kinds:
            raise ConfigError(f"unknown key encoders.{kind!r}; allowed keys: {', '.join(kinds)}")
        if name not in ENCODERS:
            raise ConfigError(
                f"encoders.{kind}: unknown encoder {name!r}; choose one of: {', '.join(ENCODERS.names())}"
            )
        if kind not in encoder_kinds(name):
            fits = sorted(n for n in ENCODERS.names() if kind in encoder_kinds(n))
            raise ConfigError(
                f"encoders.{kind}: {name!r} cannot encode {kind}; choose one of: {', '.join(fits)}"
            )
    return dict(value)
