"""Lookup tables: prior distributions, roles, policies (families: :mod:`dagmed.families`).

Everything before the compile stage refers to these by plain name; only ``compiler.py``
turns the names into PyMC classes. Every lookup goes through :func:`lookup`, which gives
one "valid options are ..." error naming the culprit.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from .errors import SpecError


@dataclass(frozen=True)
class PriorDist:
    """A prior distribution: PyMC class name, its parameters, which must be > 0."""

    name: str
    pymc: str
    params: tuple[str, ...]
    positive_params: tuple[str, ...]
    positive_support: bool  # usable for a scale parameter


PRIORS = {
    "normal": PriorDist("normal", "Normal", ("mu", "sigma"), ("sigma",), False),
    "studentt": PriorDist("studentt", "StudentT", ("nu", "mu", "sigma"), ("nu", "sigma"), False),
    "cauchy": PriorDist("cauchy", "Cauchy", ("alpha", "beta"), ("beta",), False),
    "laplace": PriorDist("laplace", "Laplace", ("mu", "b"), ("b",), False),
    "uniform": PriorDist("uniform", "Uniform", ("lower", "upper"), (), False),
    "halfnormal": PriorDist("halfnormal", "HalfNormal", ("sigma",), ("sigma",), True),
    "halfcauchy": PriorDist("halfcauchy", "HalfCauchy", ("beta",), ("beta",), True),
    "halfstudentt": PriorDist("halfstudentt", "HalfStudentT", ("nu", "sigma"), ("nu", "sigma"), True),
    "exponential": PriorDist("exponential", "Exponential", ("lam",), ("lam",), True),
    "gamma": PriorDist("gamma", "Gamma", ("alpha", "beta"), ("alpha", "beta"), True),
    "lognormal": PriorDist("lognormal", "LogNormal", ("mu", "sigma"), ("sigma",), True),
}

# Role keywords and their aliases.
ROLES = {"treatment": "treatment", "exposure": "treatment", "outcome": "outcome", "response": "outcome"}

# What to do with rows that have a missing value.
MISSING = {
    "drop": "complete cases: rows with a missing value in a modelled column are dropped",
    "error": "a missing value in a modelled column is an error",
    "model": "every row is used: missing values are unknowns of the model, binary ones summed out per row, "
             "continuous ones sampled (docs/missing.md)",
}

# Effect conventions (MATH.md section 3).
CONVENTIONS = {
    "control": "indirect effects at the control outcome level, E(0; .) (default; docs/effects.md)",
    "treated": "indirect effects at the treated outcome level, E(1; .), joint mediators for TE and DE (intmed)",
}


def lookup(table: dict, name: str, what: str, **loc):
    """Return ``table[name]`` or raise one SpecError listing the valid options."""
    try:
        return table[name]
    except KeyError:
        pass
    valid = ", ".join(sorted(table))
    close = difflib.get_close_matches(name, list(table), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise SpecError(f"unknown {what} '{name}'{hint}; valid options are {valid}", **loc) from None
