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
        ("fits", {"benchmark.runner", "benchmark.combination"}),
        *(
            (f"tracking.{m}", {"benchmark.config", "benchmark.runner", "benchmark.combination"})
            for m in ("writer", "reader")
        ),
        ("schema", {"benchmark.tracking", "benchmark.config", "torch", "mlflow", "optuna"}),
        *(
            (f"tuning.{m}", {"benchmark.runner", "benchmark.combination"})
            for m in ("search", "coordination", "trials")
        ),
        ("config", {"benchmark.studies", "benchmark.runner", "hydra", "torch", "mlflow", "optuna"}),
        ("latency", {"benchmark.runner", "mlflow"}),  # models load through the tracker
        (
            "estimate",
            {
                "benchmark.runner",
                "benchmark.tracking.writer",
                "benchmark.tuning.search",
                "benchmark.tuning.coordination",
            },
        ),  # writes nothing
    ],
)
def test_lower_layers_do_not_import_upper_ones(module, forbidden):
    assert not (_imports(module) & forbidden)


def _modules() -> list[str]:
    return sorted(
        str(p.relative_to(PACKAGE).with_suffix("")).replace("/", ".").removesuffix(".__init__")
        for p in PACKAGE.rglob("*.py")
    )


def test_only_the_tracker_imports_mlflow_and_only_the_tuning_package_changes_optuna_state():
    for module in _modules():
        text = (
            (PACKAGE / (module.replace(".", "/") + ".py")).read_text()
            if (PACKAGE / (module.replace(".", "/") + ".py")).exists()
            else (PACKAGE / module.replace(".", "/") / "__init__.py").read_text()
        )
        if not module.startswith("tracking"):
            assert not any(name == "mlflow" or name.startswith("mlflow.") for name in _imports(module)), (
                module
            )
        if not module.startswith("tuning"):
            for call in (
                "suggest_",
                ".tell(",
                "._storage",
                "set_user_attr",
                "set_system_attr",
                "enqueue_trial",
            ):
                assert call not in text, (module, call)


def _package_imports(module: str, modules: set[str]) -> set[str]:
    """The package's modules ``module`` imports (``from benchmark.x import y``: x.y if y is a module, else x)."""
    path = PACKAGE / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = PACKAGE / module.replace(".", "/") / "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("benchmark."):
            base = node.module.removeprefix("benchmark.")
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
        elif isinstance(node, ast.Import):
            found.update(
                a.name.removeprefix("benchmark.") for a in node.names if a.name.startswith("benchmark.")
            )
    return {m for m in found if m in modules and m != module}


def test_the_import_graph_has_no_circle():
    modules = set(_modules())
    graph = {m: _package_imports(m, modules) for m in modules}
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        if state.get(module) == 1:
            raise AssertionError("import circle: " + " -> ".join([*path, module]))
        if state.get(module) == 2:
            return
        state[module] = 1
        for dependency in sorted(graph[module]):
            visit(dependency, [*path, module])
        state[module] = 2

    for module in sorted(graph):
        visit(module, [])


def _string_parts(module: str) -> list[tuple[int, str]]:
    """Every string literal of ``module``, f-strings by their literal parts."""
    path = PACKAGE / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = PACKAGE / module.replace(".", "/") / "__init__.py"
    return [
        (node.lineno, node.value)
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


def test_tag_and_metric_names_are_literals_in_the_schema_only():
    # the metric namespaces are the schema's own ("test/", "latency/", ...), so a new one is covered too
    namespaces = {text.split("/", 1)[0] + "/" for _, text in _string_parts("schema") if "/" in text}
    assert {"test/", "val/", "latency/", "memory/", "robust/"} <= namespaces
    for module in _modules():
        if module == "schema":
            continue
        for line, text in _string_parts(module):
            assert not text.startswith(tuple(namespaces)), f"{module}:{line}: metric name {text!r}"
            assert not text.startswith("benchmark.") or " " in text, f"{module}:{line}: tag name {text!r}"


def test_network_or_reference_is_answered_in_one_module():
    """methods.py answers it (``is_reference``; trainers.py turns it into ``method_of``); nowhere else spells the prefix or asks
    the reference registry whether a name is in it. The references' own package, its one fit
    (reference_run.py) and the catalog that lists it read the registry for what it holds."""
    owners = {"methods", "trainers", "reference_run", "catalog"}
    for module in _modules():
        if module in owners or module.startswith("references"):
            continue
        for line, text in _string_parts(module):
            assert not text.startswith("ref_"), f"{module}:{line}: {text!r}"
        source = _source(module)
        for asked in ("in REFERENCES", "REFERENCES.get(", "REFERENCE_PREFIX", "import REFERENCES"):
            assert asked not in source, f"{module}: {asked}"


def _source(module: str) -> str:
    path = PACKAGE / (module.replace(".", "/") + ".py")
    return (path if path.exists() else PACKAGE / module.replace(".", "/") / "__init__.py").read_text()
