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


def intercept(node: str) -> str:
    return f"{node}_intercept"


def beta(node: str) -> str:
    return f"{node}_beta"


def parents_dim(node: str) -> str:
    return f"{node}_parents"


def extra(node: str, param: str) -> str:
    return f"{node}_{param}"
