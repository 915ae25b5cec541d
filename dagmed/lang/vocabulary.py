"""The spec language's small tables: roles and missing-value policies, and one lookup.

Families are rows of :mod:`dagmed.lang.families`, prior distributions rows of
:mod:`dagmed.lang.priors`. Every lookup by a name the user wrote goes through
:func:`lookup`, which gives one "valid options are ..." error naming the culprit.
"""

from __future__ import annotations

import difflib

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
