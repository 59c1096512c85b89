"""The package's layers point one way: what a lower module imports, statically (no import runs)."""

from __future__ import annotations

import ast

import pytest

from tests.conftest import REPO

PACKAGE = REPO / "benchmark"


def _imports(module: str) -> set[str]:
    path = PACKAGE / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = PACKAGE / module.replace(".", "/") / "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("combination", {"benchmark.runner"}),  # a combination's work gets a context, not the runner
        ("tracking", {"benchmark.config", "benchmark.runner", "benchmark.combination"}),
        ("schema", {"benchmark.tracking", "benchmark.config", "torch", "mlflow", "optuna"}),
        ("tuning", {"benchmark.runner", "benchmark.combination"}),
    ],
)
def test_lower_layers_do_not_import_upper_ones(module, forbidden):
    assert not (_imports(module) & forbidden)
