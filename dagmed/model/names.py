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


def cluster_sd(node: str, column: str) -> str:
    """The sd of ``node``'s random intercepts by the cluster column ``column`` (``y_sd_school``)."""
    return f"{node}_sd_{column}"


def cluster_z(node: str, column: str) -> str:
    """Its standardised intercepts, one per cluster: the intercepts are ``sd * z`` (non-centred)."""
    return f"{node}_z_{column}"


def slope_sd(node: str, column: str) -> str:
    """The sd of ``node``'s random slopes of the treatment by ``column``."""
    return f"{node}_slope_sd_{column}"


def slope_z(node: str, column: str) -> str:
    """Their standardised values, one per cluster (correlated with the intercepts through ``corr``)."""
    return f"{node}_slope_z_{column}"


def cluster_corr(node: str, column: str) -> str:
    """The correlation of ``node``'s intercepts and slopes by ``column`` (an LKJ prior)."""
    return f"{node}_corr_{column}"


CLUSTER_SUFFIX = "_cluster"


def cluster_dim(column: str) -> str:
    """The dimension of the clusters of ``column``; its coordinates are the labels as in the data."""
    return f"{column}{CLUSTER_SUFFIX}"


def is_cluster_dim(dim: str) -> bool:
    """Whether ``dim`` runs over the clusters of a column (:func:`cluster_dim`)."""
    return dim.endswith(CLUSTER_SUFFIX)


def cluster_codes(column: str) -> str:
    """The ``pm.Data`` container of each row's cluster (its position along :func:`cluster_dim`)."""
    return f"{column}_code"
