from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest
import torch

REPO = Path(__file__).resolve().parent.parent
STUDIES = REPO / "studies"

# Small models train faster single-threaded than with thread hand-offs on a 2-core CI machine.
torch.set_num_threads(1)

# Tiny versions of the shipped smoke study (tests shrink real configs rather than invent fake ones).
TINY_TASKS = (
    "tasks=[{name:synth-redundancy,n_modalities:2,n_samples:240},"
    "{name:synth-synergy,n_modalities:2,n_samples:240}]"
)
TINY = [
    "study=smoke",
    TINY_TASKS,
    "tuning.trials=2",
    "final.seeds=2",
    "train.max_epochs=3",
    "train.min_steps=0",  # tiny runs check the plumbing, not convergence
    "latency.repeats=3",
    "latency.warmup=1",
    "threads=1",
    "workers=1",  # one process, so a test can signal or kill "the worker"; tests of several ask for them
]


def tiny_overrides(workdir: Path, *extra: str) -> list[str]:
    keys = {e.split("=", 1)[0] for e in extra}
    base = [o for o in TINY if o.split("=", 1)[0] not in keys]
    return [*base, f"workdir={workdir}", f"report_dir={workdir}/reports", *extra]


@pytest.fixture(autouse=True)
def _studies_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUSIONBENCH_STUDIES", str(STUDIES))


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env["FUSIONBENCH_STUDIES"] = str(STUDIES)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


PYTHON = sys.executable


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """GPU tests run where CUDA is present and are skipped (with the reason) elsewhere."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


def load_bench(name: str) -> ModuleType:
    """A ``bench/`` script as a module (bench/ is not a package); its ``main`` is not run."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", REPO / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
