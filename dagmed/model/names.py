"""The names of a node's variables in the PyMC model and its InferenceData: one place.

For node ``Y``: ``Y_intercept`` (scalar), ``Y_beta`` along dimension ``Y_parents`` (its
coordinates the parent names), ``Y_<param>`` for a family's extra parameter (``Y_sigma``),
and ``Y`` itself, observed along ``obs_id``. These names are part of the API.

Examples
--------
>>> intercept("sub_disorder"), beta("sub_disorder"), parents_dim("sub_disorder")
('sub_disorder_intercept', 'sub_disorder_beta', 'sub_disorder_parents')
>>> extra("y", "sigma")
'y_sigma'
"""

from __future__ import annotations

OBS_DIM = "obs_id"
INCOMPLETE_ROWS = "incomplete_rows"  # the potential: log-likelihood of the rows with missing values


def intercept(node: str) -> str:
    return f"{node}_intercept"


def beta(node: str) -> str:
    return f"{node}_beta"


def parents_dim(node: str) -> str:
    return f"{node}_parents"


def extra(node: str, param: str) -> str:
    return f"{node}_{param}"


def levels_dim(node: str) -> str:
    """The dimension of a parameter with one value per level: an ordinal node's gaps, a categorical node's coefficients."""
    return f"{node}_levels"


def missing(node: str) -> str:
    """The latent variable of ``node``'s missing continuous values (``missing model``)."""
    return f"{node}_missing"


def missing_dim(node: str) -> str:
    """Its dimension; the coordinates are the rows' positions in the data."""
    return f"{node}_missing_id"


def confounder(mediator: str, taken=()) -> str:
    """The sensitivity analysis's unmeasured confounder of ``mediator`` and the outcome: ``U_<mediator>``.

    An underscore is added while the name is ``taken`` (a node of the spec).

    Examples
    --------
    >>> confounder("m1"), confounder("m1", taken=("U_m1",))
    ('U_m1', 'U_m1_')
    """
    name = f"U_{mediator}"
    while name in taken:
        name += "_"
    return name
