"""Study configuration: plain data (a composed study, studies.py) -> a validated, typed ``StudyConfig``.

The schema below is a set of frozen pydantic dataclasses: pydantic checks types, bounds, choices and
unknown keys, and ``errors.one_line`` turns its first error into one line that names the key and what is
allowed (``ConfigError``: exit status 2). Values the schema cannot express (registered names, modality
subsets, the tuning space) are checked by validators that raise ``ConfigError`` themselves. Code below
this module never sees a raw DictConfig.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    SkipValidation,
    Strict,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.dataclasses import dataclass

from benchmark import scores
from benchmark.catalog import catalog
from benchmark.config_types import (
    SCHEMA,
    Count,
    Device,
    Flag,
    Int,
    Name,
    NonNegative,
    Number,
    Text,
    listed,
    unique,
)
from benchmark.errors import ConfigError, one_line
from benchmark.params import ParamSpec
from benchmark.space import DEFAULT_SPACE, parse_space
from benchmark.subsets import ModalitySelection, parse_modalities
from benchmark.uris import STORAGE_ENV, STORAGE_SCHEMES, TRACKING_ENV, TRACKING_SCHEMES, check_uri, redact_uri

MODALITY_KINDS = ("vector", "image", "sequence", "tokens")


@dataclass(frozen=True, config=SCHEMA)
class TaskSpec:
    """A task of the study: registry ``name``, factory ``params`` and the ``label`` runs are tagged with."""

    name: str
    params: tuple[tuple[str, Any], ...] = ()
    label: Text = ""
    subsets: SkipValidation[ModalitySelection | None] = None  # overrides grid.modalities for this task
    depth: tuple[Count, ...] | None = None  # overrides grid.depth for this task
    # Outer folds: K > 1 splits the data into K disjoint test folds (stratified, or grouped where the
    # task has groups), so every sample is tested once; each fold is tuned and trained on its own and
    # the task's score is the mean over folds. A synthetic task draws fresh data per fold instead.
    splits: Count = 1

    _list = field_validator("depth", mode="before")(lambda value: unique(listed(value)))

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.params)

    def to_dict(self) -> dict[str, Any]:
        """As a study writes it (defaults left out)."""
        out: dict[str, Any] = {"name": self.name, "label": self.label, **self.kwargs}
        out.update({} if self.subsets is None else {"subsets": self.subsets.to_dict()})
        out.update({} if self.depth is None else {"depth": list(self.depth)})
        return out | ({"splits": self.splits} if self.splits != 1 else {})


@dataclass(frozen=True, config=SCHEMA)
class GridConfig:
    depth: Annotated[tuple[Count, ...], Field(min_length=1)] = (1, 2)
    modalities: ModalitySelection = ModalitySelection()
    fusion: Annotated[tuple[Text, ...], Field(min_length=1)] = ("concat", "attention", "late_vote")

    _list = field_validator("depth", "fusion", mode="before")(lambda value: unique(listed(value)))

    @field_validator("fusion")
    @classmethod
    def _registered(cls, fusions: tuple[str, ...]) -> tuple[str, ...]:
        known = catalog()
        for fusion in fusions:
            if fusion not in known.fusions and fusion not in known.references:
                raise ConfigError(
                    f"unknown fusion {fusion!r}; registered fusion methods: {', '.join(sorted(known.fusions))}; "
                    f"reference models: {', '.join(sorted(known.references))}"
                )
        return fusions

    @field_validator("modalities", mode="plain")
    @classmethod
    def _modalities(cls, value: Any) -> ModalitySelection:
        return parse_modalities(value, "grid.modalities")


@dataclass(frozen=True, config=SCHEMA)
class TuningConfig:
    trials: Count = 4
    metric: Text = "f1_macro"  # the score tuning maximises on validation (a name in scores.REGISTRY)
    sampler: Literal["tpe", "random"] = "tpe"
    pruner: Literal["median", "successive_halving", "hyperband", "none"] = (
        "hyperband"  # tuning/search.make_pruner
    )
    seed: Int = 0
    # Trial 0 of every combination is the shared strong default (space.STRONG_DEFAULTS), enqueued
    # before any sampling: the tuner starts from a configuration that trains and can only improve on it
    default_first: Flag = True
    space: dict[str, ParamSpec] = Field(default_factory=lambda: dict(DEFAULT_SPACE))

    _space = field_validator("space", mode="plain")(parse_space)

    @field_validator("metric")
    @classmethod
    def _metric(cls, name: str) -> str:
        if name not in scores.REGISTRY:  # registered at validation time: a score added in code is allowed
            raise ConfigError(f"tuning.metric must be one of {', '.join(scores.names())}; got {name!r}")
        return name


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
    # At least this many optimizer steps: small data sets get the epochs it takes (beyond max_epochs) and
    # no early stop before; 0 = max_epochs alone decides (training.py)
    # (measured: bench/training_budget.py; README "Training")
    min_steps: NonNegative = 300
    # Up to this many optimizer steps where max_epochs gives fewer: a data set whose validation score
    # keeps rising is trained on (leaf-flavia's 953 training leaves: 300 steps left them at half their
    # score); one that stops improving still stops after ``patience`` (bench/training_budget.py)
    budget_steps: NonNegative = 0
    # "cosine": linear warm-up over ``warmup`` of the planned steps, then cosine decay to 0
    schedule: Literal["constant", "cosine"] = "cosine"
    warmup: Annotated[float, Strict(), Field(ge=0, le=0.5)] = 0.05
    smoothing: Count = 3  # the epoch is chosen on the mean of this many consecutive validation scores


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
    """Evaluated on every final run: each modality missing in turn, and each modality corrupted in turn at
    these levels: Gaussian noise of that standard deviation (inputs are standardised, so in feature-spread
    units), or for token modalities a fraction level / (1 + level) of the tokens replaced at random."""

    missing: Flag = True
    noise: tuple[Annotated[float, Strict(), Field(gt=0)], ...] = (0.5, 1.0, 2.0)

    _list = field_validator("noise", mode="before")(listed)


@dataclass(frozen=True, config=SCHEMA)
class ReportConfig:
    """How the report compares methods (see benchmark/report/statistics.py)."""

    # region of practical equivalence on the ranking score: |difference| below it is a tie
    rope: Number = 0.01
    alpha: Number = 0.05  # significance level of the frequentist tests (Holm-adjusted)
    # seeds disagree: std above this, or one seed more than twice it below the mean
    unstable_std: Number = 0.03
    bootstrap: Annotated[int, Strict(), Field(ge=100)] = 2000  # bootstrap replicates of each interval
    # the declared family of the cross-task tests: every fusion method against this one (Holm over it)
    baseline: Name = "concat"
    # a first look (study=quick): the report says at its top that it supports no cross-task claim
    preview: bool = False

    @field_validator("rope", "alpha", "unstable_std")
    @classmethod
    def _fraction(cls, number: float, info: ValidationInfo) -> float:
        if not 0 <= number < 1 or (info.field_name == "alpha" and number == 0):
            raise ConfigError(f"report.{info.field_name} must be in [0, 1), got {number:g}")
        return number


@dataclass(frozen=True, config=SCHEMA)
class StudyConfig:
    name: Name
    tasks: tuple[TaskSpec, ...] = Field(default=(), validate_default=True)
    grid: GridConfig = GridConfig()
    tuning: TuningConfig = TuningConfig()
    train: TrainConfig = TrainConfig()
    final: FinalConfig = FinalConfig()
    latency: LatencyConfig = LatencyConfig()
    robustness: RobustnessConfig = RobustnessConfig()
    report: ReportConfig = ReportConfig()
    encoders: dict[str, str] = Field(default_factory=dict)  # modality kind -> encoder name
    device: Device = "auto"
    threads: NonNegative = 0  # torch threads per worker; 0: cores split evenly
    workers: int | Literal["auto"] = "auto"  # processes on this host; auto: one per core (1 on a GPU)
    heartbeat_seconds: Count = 30  # RDB storage: a trial silent for 3 heartbeats is taken as dead
    data_seed: Int = 0  # seeds task generation and splits; fixed across combinations
    workdir: Text = "runs"
    # null: $FUSIONBENCH_TRACKING_URI / $FUSIONBENCH_STORAGE if set (a password stays off the command line)
    tracking_uri: Text | None = Field(default=None, validate_default=True)
    storage: Text | None = Field(default=None, validate_default=True)
    data_dir: Text | None = None  # data-set cache; null: $FUSIONBENCH_DATA or ~/.cache/fusionbench
    report_dir: Text = "reports"  # reports go to <report_dir>/<name>/
    auto_report: Flag = True  # regenerate the report when `run` finishes

    _tasks = field_validator("tasks", mode="before")(lambda value: task_entries(value))
    _encoders = field_validator("encoders", mode="plain")(lambda value: parse_encoders(value))

    @field_validator("tasks")
    @classmethod
    def _distinct_labels(cls, tasks: tuple[TaskSpec, ...]) -> tuple[TaskSpec, ...]:
        labels = [t.label for t in tasks]
        duplicates = sorted({x for x in labels if labels.count(x) > 1})
        if duplicates:
            raise ConfigError(f"task {duplicates[0]!r} is listed twice; give each entry a distinct 'label'")
        return tasks

    @field_validator("workers", mode="plain")
    @classmethod
    def _workers(cls, value: Any) -> int | str:  # "auto" is resolved when the study is prepared
        if value == "auto":
            return value
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"workers must be auto or an integer >= 1, got {value!r}")
        return value

    @field_validator("workdir", "data_dir", "report_dir")
    @classmethod
    def _folder(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and Path(value).expanduser().exists() and not Path(value).expanduser().is_dir():
            raise ConfigError(f"{info.field_name} {value} exists and is not a folder; give a folder path")
        return value

    @field_validator("tracking_uri", "storage", mode="before")
    @classmethod
    def _from_environment(cls, value: Any, info: ValidationInfo) -> Any:
        env = {"tracking_uri": TRACKING_ENV, "storage": STORAGE_ENV}[info.field_name]
        return os.environ.get(env) or None if value is None else value

    @field_validator("tracking_uri")
    @classmethod
    def _tracking_uri(cls, uri: str | None) -> str | None:
        if uri is not None:
            check_uri(uri, "tracking_uri", TRACKING_SCHEMES)
        return uri

    @field_validator("storage")
    @classmethod
    def _storage(cls, storage: str | None) -> str | None:
        scheme = storage.split("://", 1)[0] if storage and "://" in storage else None
        if scheme is not None and scheme not in STORAGE_SCHEMES:
            raise ConfigError(
                f"storage must be a journal file path or a database URL (postgresql://...); got {scheme}://"
            )
        if scheme is not None:
            check_uri(storage, "storage", STORAGE_SCHEMES)
        elif storage is not None and Path(storage).expanduser().is_dir():
            raise ConfigError(f"storage {storage} is a folder; give a journal file path or a database URL")
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
        out = {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}
        out.update(
            workdir=str(self.workdir_path),
            tracking_uri=redact_uri(self.resolved_tracking_uri),
            storage=redact_uri(self.resolved_storage),
            report_dir=str(self.report_path.parent),
        )
        return out


def _plain(value: Any) -> Any:
    if hasattr(value, "to_dict"):  # a task, a modality selection, a tuned parameter: as a study writes it
        return value.to_dict()
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return {k: _plain(v) for k, v in value.items()} if isinstance(value, dict) else value


# ---- validation: plain data -> typed config -----------------------------------------------------------


def parse_study(data: dict[str, Any]) -> StudyConfig:
    try:
        return TypeAdapter(StudyConfig).validate_python(data)
    except ValidationError as err:
        raise ConfigError(one_line(err, StudyConfig)) from None


def task_entries(value: Any) -> Any:
    """A study's task entries as TaskSpec fields: a name alone, or a mapping of ``name``, the grid keys of
    TaskSpec and the task factory's own parameters (checked against the factory's signature)."""
    if value in (None, ()):
        raise ConfigError(f"tasks is required; registered tasks: {', '.join(sorted(catalog().tasks))}")
    if value == []:
        raise ConfigError("tasks must be a non-empty list, got []")
    return [_task_entry(entry, f"tasks[{i}]") for i, entry in enumerate(listed(value))]


def _task_entry(entry: Any, where: str) -> Any:
    if isinstance(entry, TaskSpec):
        return entry  # already parsed (dataclasses.replace validates again)
    entry = {"name": entry} if isinstance(entry, str) else entry
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} must be a task name or a mapping with 'name'; got {entry!r}")
    params = dict(entry)
    name = params.pop("name", None)
    known = catalog()
    if name not in known.tasks:
        raise ConfigError(f"unknown task {name!r}; registered tasks: {', '.join(sorted(known.tasks))}")
    own = {key: params.pop(key) for key in ("label", "subsets", "depth", "splits") if key in params}
    for key in params:
        if key not in known.task_parameters(name):
            allowed = ", ".join(sorted(known.task_parameters(name)))
            raise ConfigError(
                f"task {name!r} has no parameter {key!r}; allowed: label, subsets, depth, splits, {allowed}"
            )
    if "subsets" in own:
        own["subsets"] = parse_modalities(own["subsets"], f"{where}.subsets")
    return {"name": name, "params": tuple(sorted(params.items())), "label": name, **own}


def parse_encoders(value: Any) -> dict[str, str]:
    kinds = MODALITY_KINDS
    known = catalog()
    if not isinstance(value, dict):
        raise ConfigError(f"encoders must be a mapping with keys {', '.join(kinds)}; got {value!r}")
    for kind, name in value.items():
        if kind not in kinds:
            raise ConfigError(f"unknown key encoders.{kind!r}; allowed keys: {', '.join(kinds)}")
        if name not in known.encoders:
            raise ConfigError(
                f"encoders.{kind}: unknown encoder {name!r}; choose one of: {', '.join(sorted(known.encoders))}"
            )
        if kind not in known.encoder_kinds(name):
            fits = sorted(n for n in known.encoders if kind in known.encoder_kinds(n))
            raise ConfigError(
                f"encoders.{kind}: {name!r} cannot encode {kind}; choose one of: {', '.join(fits)}"
            )
    return dict(value)
