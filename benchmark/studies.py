"""Finding and composing a study: ``study=NAME k=v ...`` -> plain data -> ``config.parse_study``.

Hydra's compose API loads ``studies/NAME.yaml`` (so studies can use defaults lists and
interpolations) and Hydra's override grammar parses the ``k=v`` arguments; unknown keys are left for
the schema (config.py) to report, with the valid ones.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmark.errors import ConfigError

if TYPE_CHECKING:
    from benchmark.config import StudyConfig

STUDIES_ENV = "FUSIONBENCH_STUDIES"


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
    from benchmark.config import parse_study  # pydantic: not needed to list or find studies

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
