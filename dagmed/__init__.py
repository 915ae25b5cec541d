"""dagmed: Bayesian causal mediation analysis from a checked DAG.

The pipeline, one module per stage::

    text --parser--> SpecIR --resolver--> Spec --graph/checks--> Analysis
         --data--> Dataset --compiler--> pm.Model --fit--> InferenceData
         --decompose--> regimes and effects --output--> files

Only ``compiler`` and ``fit`` import PyMC; :func:`load`, :func:`parse` and :func:`check`
stay light.
"""

from __future__ import annotations

from pathlib import Path

from . import checks, parser, resolver
from .errors import DagmedError, DataError, SamplingError, SpecError, SpecSyntaxError, UsageError
from .ir import Spec

__version__ = "0.1.0"

__all__ = [
    "DagmedError",
    "DataError",
    "SamplingError",
    "Spec",
    "SpecError",
    "SpecSyntaxError",
    "UsageError",
    "analyse",
    "check",
    "compile",
    "load",
    "load_data",
    "parse",
    "run",
]


def parse(text: str, source: str = "<string>") -> Spec:
    """Parse and resolve spec text into a :class:`~dagmed.ir.Spec`."""
    return resolver.resolve(parser.parse(text, source))


def load(path) -> Spec:
    """Read, parse and resolve a spec file."""
    return resolver.resolve(parser.read(Path(path)))


def analyse(spec: Spec) -> checks.Analysis:
    """Roles and check verdicts for ``spec`` (problems collected, not raised)."""
    return checks.analyse(spec)


def check(spec: Spec) -> checks.Analysis:
    """Roles for ``spec``; raises the first problem that makes the analysis ill posed."""
    return checks.check(spec)


def load_data(spec: Spec, data=None):
    """Load and code the data for ``spec`` (see :func:`dagmed.data.load`)."""
    from . import data as _data

    return _data.load(checks.check(spec), data)


def compile(spec: Spec, data=None):  # noqa: A001 - the documented API name
    """Compile ``spec`` with ``data`` into a ``pm.Model`` (see :func:`dagmed.compiler.build`)."""
    from . import compiler as _compiler
    from . import data as _data

    analysis = checks.check(spec)
    return _compiler.build(analysis, _data.load(analysis, data))


def run(spec: Spec, data=None, **options):
    """Check, compile, fit and decompose; returns a :class:`dagmed.api.Result`."""
    from . import api

    return api.run(spec, data, **options)
