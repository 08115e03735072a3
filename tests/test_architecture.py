"""The package's layers, enforced from its import graph (ast, no import executed).

Every import of a package module must point down the layers (or stay in its own layer), the
graph must have no cycle, and a function-level import of a package module is allowed nowhere:
it would hide an upward edge or a cycle. Function-level imports of heavy optional third-party
libraries (mlflow, shap, optuna, doubleml, jinja2, ...) are fine: they keep ``import
hallyu_forecast`` fast. The README's "Architecture" section shows the same table.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "hallyu_forecast"

# layer -> module name prefixes (a module belongs to the first layer one of whose prefixes it matches)
LAYERS: dict[int, tuple[str, ...]] = {
    0: ("_version", "errors", "conventions", "schema", "logs", "argcheck"),
    1: ("countries", "sources", "fetch"),
    2: ("panel", "monthly", "index", "index_validation", "measurement", "preflight", "panel_build"),
    3: ("features", "domain", "target_units"),
    4: ("model_base", "forecaster", "new_market_model", "baselines", "config", "evaluation", "drivers_model",
        "drivers_result", "drivers_fit",
        "episodes", "recovery", "new_markets", "momentum", "causal.event_study", "causal.dml", "causal.effects", "attribution"),
    5: ("bundle", "bundle_parts", "stage_cache", "tracking"),
    6: ("index_draws", "inference", "explain_attribution", "explanation_result", "explanation",
        "drivers", "causal.scenarios", "causal.api", "api"),
    7: ("report_index", "training", "commands", "cli", "causal.commands", "report", "report_brief", "report_parts",
        "report_format", "report_sections", "report_forecast",
        "_charts", "tuning", "mlflow_model"),
}
LAYER_NAMES = {0: "base", 1: "sources", 2: "panel", 3: "features", 4: "models", 5: "artefacts", 6: "api",
               7: "surfaces"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path  # "" is the package itself
    return out


MODULES = _modules()


def layer_of(module: str) -> int | None:
    if module == "" or module in ("causal", "sources", "data"):  # package __init__ files
        return {"": 8, "causal": 4, "sources": 1, "data": 0}[module]
    for layer, prefixes in LAYERS.items():
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                return layer
    return None


def _imports(module: str, path: Path):
    """(target module, line, inside a function?) for every import of a package module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    in_function = set()
    type_checking = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            in_function.update(id(n) for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom)))
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_checking.update(id(n) for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom)))
    is_pkg = path.name == "__init__.py"
    here = module.split(".") if module else []
    for node in ast.walk(tree):
        if id(node) in type_checking:
            continue
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here if is_pkg else here[:-1]
                base = base[: len(base) - (node.level - 1)]
                full = ".".join(["hallyu_forecast", *base] + ([node.module] if node.module else []))
            else:
                full = node.module or ""
            subs = [f"{full}.{a.name}" for a in node.names]
            found = [s for s in subs if s.removeprefix("hallyu_forecast").lstrip(".") in MODULES]
            names = found if len(found) == len(subs) else [full, *found]
        for name in names:
            if name != "hallyu_forecast" and not name.startswith("hallyu_forecast."):
                continue
            target = name.removeprefix("hallyu_forecast").lstrip(".")
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target != module:
                yield target, node.lineno, id(node) in in_function


EDGES = {m: list(_imports(m, p)) for m, p in MODULES.items()}


def test_every_module_has_a_layer():
    missing = sorted(m for m in MODULES if layer_of(m) is None)
    assert not missing, f"modules without a layer in tests/test_architecture.py LAYERS: {missing}"


def test_imports_point_down():
    upward = []
    for module, edges in EDGES.items():
        if module == "":
            continue
        for target, line, _ in edges:
            if layer_of(target) > layer_of(module):
                upward.append(f"{module} ({LAYER_NAMES[layer_of(module)]}) line {line} imports "
                              f"{target or 'hallyu_forecast'} ({LAYER_NAMES.get(layer_of(target), 'package facade')})")
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_no_function_level_import_of_a_package_module():
    hidden = [f"{m} line {line} imports {t} inside a function" for m, edges in EDGES.items()
              for t, line, inside in edges if inside]
    assert not hidden, "\n".join(hidden)


def test_import_graph_has_no_cycle():
    graph = {m: {t for t, _, _ in edges if t} for m, edges in EDGES.items() if m}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_the_checker_sees_an_upward_and_a_hidden_import(tmp_path):
    """The checks above can fail: a synthetic module with an upward, function-level import is caught."""
    fake = tmp_path / "fake.py"
    fake.write_text("def f():\n    from hallyu_forecast.report import render_report\n", encoding="utf-8")
    edges = list(_imports("panel", fake))
    assert edges == [("report", 2, True)]
    assert layer_of("report") > layer_of("panel")


def test_import_hallyu_forecast_loads_no_heavy_module():
    import subprocess
    import sys

    code = ("import sys, hallyu_forecast; heavy = [m for m in ('lightgbm', 'shap', 'mlflow', 'optuna', 'pandas') "
            "if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_readme_table_is_the_layer_map():
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Architecture", 1)[1].split("\n## ", 1)[0]
    table = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].startswith("L") and cells[0][1:].isdigit():
            layer = int(cells[0][1:])
            assert cells[1] == LAYER_NAMES[layer], f"README names layer {layer} {cells[1]!r}, the map {LAYER_NAMES[layer]!r}"
            table[layer] = set(re.findall(r"`([^`]+)`", cells[2]))
    assert table == {layer: set(prefixes) for layer, prefixes in LAYERS.items()}, (
        "README.md's Architecture table and LAYERS in tests/test_architecture.py differ; update both")


# Modules allowed past MAX_LINES because each is one concept (split further, it would be split mid-thought);
# the README's Architecture section names them. Each still has a ceiling, so growth is noticed.
MAX_LINES = 600
ONE_CONCEPT = {
    "forecaster": (750, "the HallyuForecaster estimator alone (fit, calibration, COVID rule, predict, JSON)"),
    "_charts": (750, "the report's inline-SVG chart primitives"),
    "features": (650, "the declared-feature builder (specs -> leakage-safe matrix)"),
}


def test_no_module_past_600_lines_unless_one_concept():
    too_long = {}
    for name, path in MODULES.items():
        n = len(path.read_text(encoding="utf-8").splitlines())
        limit = ONE_CONCEPT.get(name, (MAX_LINES, ""))[0]
        if n > limit:
            too_long[name or "__init__"] = (n, limit)
    assert not too_long, f"modules past their line ceiling (lines, ceiling): {too_long}; split them by concept"
