r"""Cluster effects: each row's random intercept (and slope) in its node's linear predictor.

A ``cluster`` statement gives a node one intercept per cluster, ``u_g = sd * z_g`` (and a
slope of the treatment, ``v_g``: :class:`~dagmed.model.ir.ClusterEffect`); a row of cluster
``g`` adds ``u_g + v_g * t`` to its linear predictor. :func:`tensor_offset` is that term in
the PyMC model (the compiler's and the incomplete rows'), :func:`offset` the same in NumPy
per posterior draw (prior sensitivity, missing-value weights), and :func:`icc` the
intraclass correlation reported per node.

Examples
--------
>>> import numpy as np
>>> from dagmed.lang.families import FAMILIES
>>> c = ClusterDraws("school", np.array([0.5, 1.0]), np.array([[1.0, -1.0], [2.0, 0.0]]))
>>> c.intercepts.tolist()
[[0.5, -0.5], [2.0, 0.0]]
>>> offset({"school": c}, {"school": np.array([0, 1, 1])}, {}).tolist()
[[0.5, -0.5, -0.5], [2.0, 0.0, 0.0]]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class ClusterDraws:
    """Posterior draws of one node's effects by one cluster column.

    Attributes
    ----------
    column : str
    sd : (S,) array
    z : (S, G) array
        The standardised intercepts.
    slope : str or None
        The variable whose coefficient varies (the treatment).
    slope_sd, corr : (S,) arrays or None
    slope_z : (S, G) array or None
    """

    column: str
    sd: np.ndarray
    z: np.ndarray
    slope: str | None = None
    slope_sd: np.ndarray | None = None
    slope_z: np.ndarray | None = None
    corr: np.ndarray | None = None

    @property
    def intercepts(self) -> np.ndarray:
        """``(S, G)``: each cluster's intercept, ``sd * z``."""
        return self.sd[:, None] * self.z

    @property
    def slopes(self) -> np.ndarray | None:
        """``(S, G)``: each cluster's slope, ``slope_sd (rho z + sqrt(1 - rho^2) w)``; None without a slope."""
        if self.slope is None:
            return None
        rho = self.corr[:, None]
        return self.slope_sd[:, None] * (rho * self.z + np.sqrt(1.0 - rho**2) * self.slope_z)

    def draws(self, s: slice) -> ClusterDraws:
        """The same effects restricted to draws ``s``."""
        cut = [None if x is None else x[s] for x in (self.slope_sd, self.slope_z, self.corr)]
        return ClusterDraws(self.column, self.sd[s], self.z[s], self.slope, *cut)


def offset(clusters: dict, codes: dict, values: dict):
    """``sum_c u_c[s, code] + v_c[s, code] * slope``: ``(S, *codes' shape)``, or 0 without clusters.

    ``clusters`` maps a column to its :class:`ClusterDraws`, ``codes`` a column to each row's
    cluster code (any integer array), ``values`` a slope variable to its values (broadcastable
    against ``(S, *codes' shape)``).
    """
    out = 0.0
    for column, c in clusters.items():
        idx = codes[column]
        out = out + c.intercepts[:, idx]
        if c.slope is not None:
            out = out + c.slopes[:, idx] * values[c.slope]
    return out


def tensor_offset(model, node, codes: dict, values: dict):
    """The same term in a PyMC model: ``node``'s cluster effects (variables of ``model``) at ``codes``.

    ``codes`` maps a column to an integer tensor or array of cluster codes, ``values`` the
    slope variable to its tensor. 0 for a node without clusters.
    """
    import pytensor.tensor as pt  # only when a model is built: ``import dagmed`` stays light

    out = 0.0
    for c in node.clusters:
        z = model[c.z]
        idx = codes[c.column]
        out = out + model[c.sd.name] * z[idx]
        if c.slope is not None:
            rho = model[c.corr.name]
            v = model[c.slope_sd.name] * (rho * z + pt.sqrt(1.0 - rho**2) * model[c.slope_z])
            out = out + v[idx] * values[c.slope]
    return out


def icc(family, cluster_sds: dict, extras: dict) -> dict:
    """Each cluster column's intraclass correlation of a node, per draw, on its linear predictor's scale.

    ``sd_c^2 / (sum over columns of sd^2 + residual variance)``: the residual variance is the
    family's (:attr:`dagmed.lang.families.Family.residual_variance`: ``pi^2 / 3`` for a logit,
    ``sigma^2`` for a normal node); None for a family without one (counts). Random slopes are
    left out: the intercepts' share at the treatment's reference value 0.

    Examples
    --------
    >>> from dagmed.lang.families import FAMILIES
    >>> out = icc(FAMILIES["normal"], {"school": np.array([1.0])}, {"sigma": np.array([1.0])})
    >>> out["school"].tolist()
    [0.5]
    """
    if family.residual_variance is None:
        return {c: None for c in cluster_sds}
    total = family.residual_variance(extras) + sum(sd**2 for sd in cluster_sds.values())
    return {c: sd**2 / total for c, sd in cluster_sds.items()}
