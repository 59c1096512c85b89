"""The tuning space: what every combination tunes, what fusion methods and reference models add, and
the forms a study's ``tuning.space`` entry may take. The tuner (tuning/search.py) samples from it."""

from __future__ import annotations

import math
from typing import Any

from benchmark.catalog import catalog
from benchmark.errors import ConfigError
from benchmark.params import ParamSpec

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
FORMS = "a fixed value, a list of choices, or {low: A, high: B, log: bool, type: float|int}"

# The configuration every combination tries first (tuning.default_first): one strong default, the same
# for every method, so each starts from a configuration known to train (AdamW's usual learning rate, mild
# regularisation) and the tuner can only improve on it. An entry outside a study's range is moved to the
# nearest end; a hyperparameter without an entry takes the middle of its range.
STRONG_DEFAULTS: dict[str, float] = {"lr": 1e-3, "weight_decay": 1e-4, "width": 64, "dropout": 0.1, "C": 1.0}


def default_configuration(space: dict[str, ParamSpec]) -> dict[str, Any]:
    """The first trial's parameters over ``space`` (fixed entries left out: they are not suggested)."""
    chosen: dict[str, Any] = {}
    for name, spec in space.items():
        if spec.kind == "fixed":
            continue
        wanted = STRONG_DEFAULTS.get(name)
        if spec.kind == "categorical":
            choices = list(spec.choices)
            chosen[name] = wanted if wanted in choices else choices[len(choices) // 2]
            continue
        low, high = float(spec.low), float(spec.high)
        middle = math.sqrt(low * high) if spec.log else (low + high) / 2
        value = min(high, max(low, wanted if wanted is not None else middle))
        chosen[name] = int(round(value)) if spec.kind == "int" else value
    return chosen


def fusion_hyperparameters() -> list[str]:
    """The names of the hyperparameters some fusion method or reference model declares (``rank``,
    ``C``, ...), sorted."""
    return catalog().hyperparameter_names()


def parse_space(value: Any) -> dict[str, ParamSpec]:
    """A study's ``tuning.space`` (name -> one of ``FORMS``) over the defaults."""
    allowed = [*DEFAULT_SPACE, *fusion_hyperparameters()]
    if isinstance(value, dict) and all(isinstance(spec, ParamSpec) for spec in value.values()):
        return dict(value)  # already parsed
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise ConfigError(f"tuning.space must be a mapping with keys {', '.join(allowed)}; got {value!r}")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise ConfigError(f"unknown key tuning.space.{unknown[0]!r}; allowed keys: {', '.join(allowed)}")
    space = dict(DEFAULT_SPACE) | {
        name: parse_param(spec, f"tuning.space.{name}") for name, spec in value.items()
    }
    if space["width"].kind in ("int", "float"):
        raise ConfigError("tuning.space.width must be a fixed value or a list of choices")
    return space


def parse_param(spec: Any, where: str) -> ParamSpec:
    if isinstance(spec, bool | int | float | str):
        return ParamSpec("fixed", choices=(spec,))
    if isinstance(spec, list) and spec:
        return ParamSpec("categorical", choices=tuple(spec))
    if not isinstance(spec, dict):
        raise ConfigError(f"{where} must be {FORMS}; got {spec!r}")
    unknown = sorted(set(spec) - {"low", "high", "log", "type", "value", "choices"})
    if unknown:
        raise ConfigError(
            f"unknown key {where}.{unknown[0]!r}; allowed keys: low, high, log, type, value, choices"
        )
    if "value" in spec:
        return ParamSpec("fixed", choices=(spec["value"],))
    if "choices" in spec:
        choices = spec["choices"] if isinstance(spec["choices"], list) else [spec["choices"]]
        if not choices:
            raise ConfigError(f"{where}.choices must be a non-empty list, got []")
        return ParamSpec("categorical", choices=tuple(choices))
    low, high, log = spec.get("low"), spec.get("high"), spec.get("log", False)
    for name, number in (("low", low), ("high", high)):
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise ConfigError(f"{where}.{name} must be a number, got {number!r}")
    kind = spec.get("type", "int" if isinstance(low, int) and isinstance(high, int) else "float")
    if kind not in ("float", "int"):
        raise ConfigError(f"{where}.type must be one of float, int; got {kind!r}")
    if not isinstance(log, bool):
        raise ConfigError(f"{where}.log must be true or false, got {log!r}")
    if not low < high:
        raise ConfigError(f"{where}: low must be below high, got low={float(low)} high={float(high)}")
    if log and low <= 0:
        raise ConfigError(f"{where}: a log range needs low > 0, got {float(low)}")
    return ParamSpec(kind, float(low), float(high), log=log)
