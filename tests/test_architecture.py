"""The house by stage: every module imports only its own stage and the stages before it.

Read from the source (its ``import`` statements), not from a running interpreter, so the
rules hold for every code path: no import circle, no import of a later stage, no import of
dagmed's own modules inside a function except where the command line defers a heavy one,
no private name taken from another module. And the polite imports: ``import dagmed`` loads
no heavy library, and the plotting code leaves matplotlib's backend alone.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

import dagmed

PACKAGE = Path(dagmed.__file__).resolve().parent

# The stages in pipeline order; a module may import its own stage and earlier ones.
# The package's face (dagmed/__init__.py) hands on the spec language and the checks.
STAGES = (
    "errors",
    "compat",
    "files",
    "lang",
    "graph",
    "__init__",
    "model",
    "fit",
    "effects",
    "report",
    "api",
    "study",
    "examples",
    "cli",
    "__main__",
)
# Where a function may import one of dagmed's modules: the command line defers the heavy ones
# (PyMC, pandas, matplotlib) until a command needs them, so that ``dagmed check`` stays fast.
DEFERRED_IMPORTS_ALLOWED = ("cli",)
HEAVY = ("pandas", "pymc", "arviz", "matplotlib", "yaml", "pytensor", "numba", "statsmodels", "scipy", "xarray")


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        name = ".".join(("dagmed", *parts))
        out[name.removesuffix(".__init__")] = path
    return out


MODULES = _modules()


def _stage(module: str) -> str:
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def _is_package(module: str) -> bool:
    return MODULES[module].name == "__init__.py"


def _resolve(module: str, node: ast.ImportFrom) -> str:
    """The absolute name of what ``from ... import`` names in ``module``."""
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    base = base if _is_package(module) else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str):
    """``(imported dagmed module, names taken from it, at module level?)`` for every import in ``module``."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    top = set(map(id, tree.body))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "dagmed":
                    yield alias.name, (), id(node) in top
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            if target.split(".")[0] != "dagmed":
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in MODULES:  # ``from . import x``: the module x
                    yield sub, (), id(node) in top
                else:
                    yield target, (alias.name,), id(node) in top


def _graph() -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(MODULES)
    for module in MODULES:
        for target, _, _ in _imports(module):
            if target in MODULES and target != module:
                g.add_edge(module, target)
    return g


def test_every_module_is_in_a_stage():
    unknown = sorted({_stage(m) for m in MODULES} - set(STAGES))
    assert not unknown, f"modules outside every stage: {unknown}; add them to STAGES in pipeline order"


def test_at_least_five_stage_folders():
    folders = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert len(folders) >= 5, folders


def test_no_import_circle():
    cycles = list(nx.simple_cycles(_graph()))
    assert not cycles, f"import circles: {cycles}"


def test_no_module_imports_a_later_stage():
    rank = {s: i for i, s in enumerate(STAGES)}
    back = [(a, b) for a, b in _graph().edges if rank[_stage(b)] > rank[_stage(a)]]
    assert not back, "imports of a later stage (module -> what it imports): " + ", ".join(
        f"{a} -> {b}" for a, b in back
    )


def test_own_modules_are_imported_at_module_level():
    late = [
        (m, t)
        for m in MODULES
        for t, _, at_top in _imports(m)
        if not at_top and _stage(m) not in DEFERRED_IMPORTS_ALLOWED
    ]
    assert not late, f"function-local imports of dagmed modules: {late}"


def test_no_private_name_crosses_a_module():
    taken = [
        (m, t, name)
        for m in MODULES
        for t, names, _ in _imports(m)
        for name in names
        if name.startswith("_") and not name.startswith("__")
    ]
    assert not taken, f"private names imported from another module: {taken}"


def test_the_grammar_is_package_data():
    assert (PACKAGE / "lang" / "dagmed.lark").is_file()


def _fresh(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_import_dagmed_loads_no_heavy_library():
    loaded = _fresh(f"import sys, dagmed; print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    assert loaded == "[]", f"import dagmed loaded {loaded}"


def test_dagmed_check_loads_no_pymc():
    code = (
        "import sys, dagmed; from dagmed.cli import commands; "
        "a = dagmed.check(dagmed.parse('treatment t\\noutcome y\\nt -> m -> y\\nm, y ~ bernoulli\\n')); "
        "print(sorted(m for m in ('pymc', 'pandas', 'matplotlib', 'pytensor', 'numba') if m in sys.modules))"
    )
    assert _fresh(code) == "[]"


@pytest.mark.parametrize("module", ["dagmed.report.plots", "dagmed.report.layout"])
def test_plotting_code_leaves_the_backend_alone(module):
    code = (
        "import matplotlib; matplotlib.use('svg'); before = matplotlib.get_backend(); "
        f"import {module}; import dagmed.report.html; print(before == matplotlib.get_backend() == 'svg')"
    )
    assert _fresh(code) == "True"


def test_test_files_have_distinct_names():
    """The test folders have no ``__init__.py`` (pytest's rootdir imports): a repeated file name would clash."""
    tests = Path(__file__).resolve().parent
    names = [p.name for p in tests.rglob("test_*.py")]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
