"""Every example in dagmed's docstrings runs and shows what it says (doctest).

The examples build their specs from text with ``dagmed.parse`` and write files only into
temporary directories: they depend neither on the current directory nor on the
repository, so they run against an installed package too. Examples that would sample are
marked ``# doctest: +SKIP``.
"""

import doctest
import importlib
import inspect
import pkgutil

import pytest

import dagmed

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
# Every module of the package, in every stage folder; __main__ runs the command line when
# imported: it has no docstrings to run
MODULES = ["dagmed"] + [
    m.name for m in pkgutil.walk_packages(dagmed.__path__, prefix="dagmed.") if m.name != "dagmed.__main__"
]
# The public functions of these modules each show an example.
DOCUMENTED = ["dagmed", "dagmed.lang", "dagmed.report.text", "dagmed.cli.commands", "dagmed.cli.config", "dagmed.cli"]


def test_every_stage_is_collected():
    for stage in ("lang", "graph", "model", "fit", "effects", "report", "study", "cli"):
        assert f"dagmed.{stage}" in MODULES
        assert any(m.startswith(f"dagmed.{stage}.") for m in MODULES), stage
    assert "dagmed.__main__" not in MODULES and len(MODULES) == len(set(MODULES))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an example that reads or writes the current directory would show here
    result = doctest.testmod(importlib.import_module(name), optionflags=FLAGS, report=True)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed (printed above)"
    assert not list(tmp_path.iterdir()), f"examples in {name} wrote into the current directory"


def _public_functions(module):
    """A module's public functions: those it defines, or, when it declares ``__all__`` (the
    package ``dagmed``), every function listed there, re-exported ones included (the stages
    define them; ``import dagmed`` is where users meet them)."""
    declared = hasattr(module, "__all__")
    names = module.__all__ if declared else dir(module)
    for name in names:
        obj = getattr(module, name)
        if not name.startswith("_") and inspect.isfunction(obj) and (declared or obj.__module__ == module.__name__):
            yield name, obj


@pytest.mark.parametrize("name", DOCUMENTED)
def test_public_functions_have_examples(name):
    module = importlib.import_module(name)
    functions = dict(_public_functions(module))
    assert functions, f"no public function found in {name}"
    missing = [f for f, obj in functions.items() if "\n    Examples\n    --------\n" not in (obj.__doc__ or "")]
    assert not missing, f"public functions of {name} without an Examples section: {', '.join(missing)}"
