"""dagmed: Bayesian causal mediation analysis from a checked DAG.

The pipeline, one folder per stage, each importing only the stages before it::

    lang    text --parser--> SpecIR --resolver--> Spec          (families, priors: the rows)
    graph   Spec --> DAG with roles --> Analysis                (checks, implied independencies)
    model   Analysis --> ModelIR --> Dataset, pm.Model          (compiler, missing values)
    fit     pm.Model --> InferenceData / DataTree               (nutpie / PyMC, psens, tests)
    effects posterior --> regimes --> effects                   (the exact decomposition)
    report  effects --> table, effects.json, pictures, report.html
    api     run(); study: simulate(), power(), calibrate(); cli: the ``dagmed`` command

``import dagmed`` loads the spec language and the graph checks only: :func:`parse`,
:func:`load`, :func:`analyse` and :func:`check` stay light. :func:`run`, :func:`compile`,
:func:`load_data` and :func:`simulate` import PyMC when first used (PEP 562); so do the
simulation studies :func:`power` and :func:`calibrate`, which import Dask too, and the
sensitivity analysis :func:`sensitivity` (an unmeasured mediator-outcome confounder).
:mod:`dagmed.compat` holds what differs between the PyMC 5 / ArviZ 0.x and PyMC 6 / ArviZ 1.x
stacks (an ``InferenceData`` or an ``xarray.DataTree``).
"""

from __future__ import annotations

import importlib

from .errors import DagmedError, DataError, SamplingError, SpecError, SpecSyntaxError, UsageError
from .graph.analysis import analyse, check
from .lang import load, parse
from .lang.ir import Spec

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
    "calibrate",
    "check",
    "compile",
    "load",
    "load_data",
    "parse",
    "power",
    "run",
    "sensitivity",
    "simulate",
]


# The heavy entry points, imported on first use (PEP 562): name -> the module that defines it.
_LAZY = {
    "run": "dagmed.api",
    "compile": "dagmed.api",
    "load_data": "dagmed.api",
    "simulate": "dagmed.study.simulate",
    "power": "dagmed.study.power",
    "calibrate": "dagmed.study.power",
    "sensitivity": "dagmed.study.tipping",
}


def __getattr__(name: str):
    """``dagmed.run``, ``dagmed.compile``, ``dagmed.load_data``, ``dagmed.simulate``, ``dagmed.power``,
    ``dagmed.calibrate`` and ``dagmed.sensitivity``, imported when first used.

    Examples
    --------
    >>> import dagmed
    >>> dagmed.simulate.__module__
    'dagmed.study.simulate'
    """
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # once imported, an ordinary attribute
        return value
    raise AttributeError(f"module 'dagmed' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_LAZY])
