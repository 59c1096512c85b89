"""What is registered, known without importing torch or any model code (timm's name-to-module map).

The registries (tasks, encoders, fusion methods, reference models) fill themselves when their packages
are imported, which pulls in torch and takes seconds. Validating a study, listing components and
building a report need only the names and what they were registered with, so those are kept in
``catalog.json`` beside this module, with a fingerprint of the component sources it was built from:

- where the registries are already imported (a run, a test that registered a plug-in), they answer;
- else the JSON answers if its fingerprint matches the sources on disk;
- else (a component was added or changed and the JSON not rebuilt) the registries are imported: never
  a wrong answer, only a slow one. ``python -m benchmark.catalog`` rebuilds the JSON; a test checks it.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import re
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from benchmark.params import ParamSpec

PACKAGE = Path(__file__).resolve().parent
COMPONENT_PACKAGES = ("tasks", "encoders", "fusions", "references")
CATALOG_FILE = PACKAGE / "catalog.json"


@dataclass(frozen=True)
class Catalog:
    """Registered names and their metadata, as plain data."""

    tasks: dict[str, dict[str, Any]]  # name -> {"parameters": {keyword: default}, "summary": str}
    encoders: dict[str, dict[str, list[str]]]  # name -> {"kinds": [...], "default_for": [...]}
    fusions: dict[str, dict[str, Any]]  # name -> {"summary": str, "hyperparameters": {name: spec}}
    references: dict[str, dict[str, Any]]  # name -> {"description": str, "hyperparameters": {...}}

    def task_parameters(self, name: str) -> dict[str, Any]:
        return self.tasks[name]["parameters"]

    def encoder_kinds(self, name: str) -> frozenset[str]:
        return frozenset(self.encoders[name]["kinds"])

    def hyperparameter_names(self) -> list[str]:
        """The hyperparameters some fusion method or reference model declares, sorted."""
        entries = [*self.fusions.values(), *self.references.values()]
        return sorted({name for entry in entries for name in entry["hyperparameters"]})

    def to_json(self) -> dict[str, Any]:
        return {
            "tasks": self.tasks,
            "encoders": self.encoders,
            "fusions": self.fusions,
            "references": self.references,
        }


def fingerprint() -> str:
    """SHA-256 over the component packages' sources (names and bytes)."""
    digest = hashlib.sha256()
    for package in COMPONENT_PACKAGES:
        for path in sorted((PACKAGE / package).glob("*.py")):
            digest.update(f"{package}/{path.name}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _spec(spec: ParamSpec) -> dict[str, Any]:
    return {
        "kind": spec.kind,
        "low": spec.low,
        "high": spec.high,
        "log": spec.log,
        "choices": list(spec.choices),
    }


def from_registries() -> Catalog:
    """The catalog as the live registries say (imports torch and every component)."""
    import benchmark.fusions as fusions_package
    from benchmark.encoders import ENCODERS
    from benchmark.fusions import FUSIONS
    from benchmark.references import REFERENCES
    from benchmark.tasks import TASKS, task_parameters

    def summary(name: str) -> str:
        """The module docstring's first paragraph, as plain text without its ``name``: lead."""
        module = sys.modules.get(getattr(FUSIONS.get(name), "__module__", ""), fusions_package)
        text = " ".join((inspect.getdoc(module) or "").split("\n\n", 1)[0].split())
        return text.removeprefix(f"``{name}``: ").replace("``", "")

    def task_summary(name: str) -> str:
        """The first sentence of the task module's docstring, as plain text (no reST markup)."""
        function = TASKS.get(name)
        module = sys.modules.get(getattr(function, "__module__", ""))
        text = " ".join(
            (inspect.getdoc(function) or inspect.getdoc(module) or "").split("\n\n", 1)[0].split()
        )
        text = text.replace("``", "").replace("*", "")
        first = re.split(r"(?<=[.?!])\s+(?=[A-Z])", text, maxsplit=1)[0]  # not at "ch. 12"
        return first if first.endswith((".", "?", "!")) else first + "."

    return Catalog(
        tasks={
            name: {"parameters": task_parameters(name), "summary": task_summary(name)}
            for name in TASKS.names()
        },
        encoders={
            name: {key: sorted(ENCODERS.metadata(name)[key]) for key in ("kinds", "default_for")}
            for name in ENCODERS.names()
        },
        fusions={
            name: {
                "summary": summary(name),
                "hyperparameters": {k: _spec(v) for k, v in FUSIONS.get(name).hyperparameters.items()},
            }
            for name in FUSIONS.names()
        },
        references={
            name: {
                "description": REFERENCES.get(name).description,
                "hyperparameters": {k: _spec(v) for k, v in REFERENCES.get(name).hyperparameters.items()},
            }
            for name in REFERENCES.names()
        },
    )


@cache
def _stored() -> Catalog | None:
    """The JSON catalog if it was built from the sources on disk, else None."""
    try:
        data = json.loads(CATALOG_FILE.read_text())
    except (OSError, ValueError):
        return None
    if data.get("fingerprint") != fingerprint():
        return None
    return Catalog(**{key: data[key] for key in ("tasks", "encoders", "fusions", "references")})


def catalog() -> Catalog:
    """What is registered now (see the module docstring for which source answers)."""
    loaded = all(f"{__package__}.{package}" in sys.modules for package in COMPONENT_PACKAGES)
    if not loaded:
        stored = _stored()
        if stored is not None:
            return stored
    return from_registries()


def write() -> Path:
    """Rebuild ``catalog.json`` from the registries."""
    data = {"fingerprint": fingerprint(), **from_registries().to_json()}
    CATALOG_FILE.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    _stored.cache_clear()
    return CATALOG_FILE


if __name__ == "__main__":
    print(f"wrote {write()}")
