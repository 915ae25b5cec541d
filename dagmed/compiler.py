"""Checked spec + data -> ``pm.Model``: one GLM per observed node that has a family.

The only stage (with ``fit``) that imports PyMC. Names are part of the API, for users who
open the result in ArviZ: for node ``Y``

* ``Y_intercept`` (scalar), ``Y_beta`` with dimension ``Y_parents`` whose coordinates are
  the parent names (treatment, mediators, covariates), ``Y_sigma`` for a normal node;
* ``Y`` itself: the observed variable (dimension ``obs_id``); an exogenous node without
  a family is a ``pm.Data`` of the same name.

Parents enter through the graph's own variables, so ``pm.do`` on the treatment propagates
to the mediators and the outcome (MATH.md section 4).
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pymc as pm
import pytensor.tensor as pt

from . import graph as G
from . import names
from .checks import Analysis
from .data import Dataset
from .errors import SpecError
from .families import FAMILIES
from .tables import PRIORS


def _likelihood(fam, name: str, mu, extras: dict, observed):
    cls = getattr(pm, fam.likelihood)
    return cls(name, **{fam.mean_param: mu}, **extras, observed=observed, dims=names.OBS_DIM)


def _prior(name: str, dist, dims=None):
    cls = getattr(pm, PRIORS[dist.name].pymc)
    return cls(name, **dict(dist.kwargs), dims=dims)


def _vector_prior(name: str, dists, dims: str, analysis: Analysis, node: str):
    """One coefficient vector; its per-edge priors must share a distribution."""
    kinds = sorted({d.name for d in dists})
    if len(kinds) > 1:
        raise SpecError(
            f"the coefficients of {node} have priors of different distributions ({', '.join(kinds)}); "
            f"per-edge priors of one node must share a distribution",
            **analysis.spec.loc_of(node),
        )
    params = {k: np.array([dict(d.kwargs)[k] for d in dists]) for k, _ in dists[0].kwargs}
    return getattr(pm, PRIORS[kinds[0]].pymc)(name, **params, dims=dims)


def build(analysis: Analysis, data: Dataset) -> pm.Model:
    """Compile the checked analysis and its data into a PyMC model.

    Parameters
    ----------
    analysis : Analysis
        A well-posed analysis (:func:`dagmed.checks.check`).
    data : Dataset
        From :func:`dagmed.data.load`.

    Returns
    -------
    pymc.Model
    """
    g = analysis.graph
    spec = analysis.spec
    priors = {(e.parent, e.child): e.prior for e in spec.edges}
    coords = {"obs_id": np.arange(data.n_obs)}
    with pm.Model(coords=coords) as model:
        tensors = {}
        order = {n: i for i, n in enumerate(g.nodes)}
        for node in nx.lexicographical_topological_sort(g, key=order.__getitem__):
            attrs = g.nodes[node]
            if not attrs["observed"]:
                continue
            family = attrs["family"]
            if family is None:
                tensors[node] = pm.Data(node, data[node], dims="obs_id")
                continue
            fam = FAMILIES[family]
            node_priors = spec.node_priors(node)
            parents = G.observed_parents(g, node)
            eta = _prior(names.intercept(node), node_priors.intercept)
            if parents:
                model.add_coord(names.parents_dim(node), parents)
                beta = _vector_prior(
                    names.beta(node), [priors[(p, node)] for p in parents], names.parents_dim(node), analysis, node
                )
                design = pt.stack([tensors[p] for p in parents], axis=1)
                eta = eta + pt.dot(design, beta)
            extras = {p.name: _prior(names.extra(node, p.name), node_priors.extra(p.name)) for p in fam.extras}
            tensors[node] = _likelihood(fam, node, fam.link.tensor(eta), extras, data[node])
    return model
