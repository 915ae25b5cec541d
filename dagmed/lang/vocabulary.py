"""The spec language's small tables: roles, missing-value policies, effect scales, and one lookup.

Families are rows of :mod:`dagmed.lang.families`, prior distributions rows of
:mod:`dagmed.lang.priors`. Every lookup by a name the user wrote goes through
:func:`lookup`, which gives one "valid options are ..." error naming the culprit.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import SpecError

# Role keywords and their aliases.
ROLES = {"treatment": "treatment", "exposure": "treatment", "outcome": "outcome", "response": "outcome"}

# What to do with rows that have a missing value.
MISSING = {
    "drop": "complete cases: rows with a missing value in a modelled column are dropped",
    "error": "a missing value in a modelled column is an error",
    "model": "every row is used: missing values are unknowns of the model, binary ones summed out per row, "
    "continuous ones sampled (docs/missing.md)",
}


@dataclass(frozen=True)
class Scale:
    """The scale effects are reported on: differences of regimes, or ratios of their means or odds.

    On a ratio scale every effect is ``exp`` of its difference-scale formula applied to
    ``transform(regime)`` (``log`` for ``rr``, ``logit`` for ``or``): TE = Ej(1;1) / Ej(0;0),
    an interaction is a ratio of ratios, and TE = DE x IIEs x INTs x DEP in every draw
    (docs/effects.md).

    Attributes
    ----------
    name : str
    description : str
    null : float
        The value of no effect: 0 for a difference, 1 for a ratio.
    transform : callable
        Regime values -> the scale on which the effects are differences.
    needs : str or None
        What the outcome must be for this scale, in words (None: any outcome).
    takes : callable
        ``family row -> bool``: whether an outcome of that family has effects on this scale.
    """

    name: str
    description: str
    null: float
    transform: Callable[[np.ndarray], np.ndarray]
    needs: str | None = None
    takes: Callable = lambda family: True

    @property
    def ratio(self) -> bool:
        return self.null == 1.0

    def refusal(self, outcome, family) -> str | None:
        """Why this scale cannot report effects on ``outcome`` of ``family`` (a family row), or None."""
        if self.takes(family):
            return None
        others = " or ".join(s.name for s in reversed(SCALES.values()) if s is not self and s.takes(family))
        return f"scale {self.name} needs {self.needs}; {outcome} is {family.name} (use {others})"


def _logit(p):
    return np.log(p) - np.log1p(-p)


SCALES = {
    s.name: s
    for s in (
        Scale("diff", "differences of the outcome's mean: a risk difference for a binary outcome", 0.0, lambda x: x),
        Scale(
            "rr",
            "ratios of the outcome's mean: a risk ratio for a binary outcome, a mean ratio for a count",
            1.0,
            np.log,
            "an outcome whose mean is positive (a binary outcome, or a count)",
            lambda family: family.link.mean_range[0] >= 0.0,
        ),
        Scale(
            "or",
            "ratios of the outcome's odds (a binary outcome)",
            1.0,
            _logit,
            "a binary outcome",
            lambda family: family.support.binary,
        ),
    )
}


def lookup(table: dict, name: str, what: str, **loc):
    """Return ``table[name]`` or raise one SpecError listing the valid options.

    Examples
    --------
    >>> lookup(MISSING, "drop", "missing-value policy")[:14]
    'complete cases'
    >>> lookup(MISSING, "dorp", "missing-value policy")
    Traceback (most recent call last):
    dagmed.errors.SpecError: unknown missing-value policy 'dorp' (did you mean 'drop'?); valid options are drop, error, model
    """
    try:
        return table[name]
    except KeyError:
        pass
    valid = ", ".join(sorted(table))
    close = difflib.get_close_matches(name, list(table), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise SpecError(f"unknown {what} '{name}'{hint}; valid options are {valid}", **loc) from None
