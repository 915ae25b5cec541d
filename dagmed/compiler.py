r"""Checked analysis -> generative ``pm.Model``; data attached to it as a new model.

Two steps, the way PyMC's model transforms (``pm.observe``, ``pm.do``) return new models:

* :func:`build` gives the generative model, with no data: every observed node that has a
  family is a random variable along ``obs_id``, an exogenous node without a family is a
  ``pm.Data`` container. Prior predictive checks, simulation and the model-graph picture
  need nothing more.
* :func:`attach` returns a new model with a :class:`~dagmed.data.Dataset` attached: the
  modelled nodes observed (``pm.observe``), the containers set (``pm.set_data``), ``obs_id``
  sized to the data. The generative model is left as it was. With missing values modelled
  (``missing model``, MATH.md section 3c) ``obs_id`` holds the complete rows, and
  :func:`dagmed.missing.add_likelihood` adds the incomplete ones: latent variables for the
  missing continuous values and a potential with the rows' likelihood, the missing binary
  values summed out. Without missing values the model is exactly the complete-data one.

The only stage (with ``fit``) that imports PyMC. Names are part of the API and have one
owner, :mod:`dagmed.names`: for node ``Y``, ``Y_intercept``, ``Y_beta`` along
``Y_parents`` (coordinates the parent names), ``Y_sigma`` for a normal node, and ``Y``
itself along ``obs_id``. Parents enter through the graph's own variables, so ``pm.do`` on
the treatment propagates to the mediators and the outcome (MATH.md section 4).

Examples
--------
>>> import dagmed, pandas as pd
>>> spec = dagmed.parse("treatment t\noutcome y\nx -> t, m, y\nt -> m -> y\nt -> y\nt, m, y ~ bernoulli\n")
>>> analysis = dagmed.check(spec)
>>> generative = build(analysis, n_obs=3)
>>> df = pd.DataFrame({"x": [0.1, -1.2, 0.5, 2.0], "t": [0, 1, 1, 0], "m": [1, 1, 0, 0], "y": [0, 1, 1, 0]})
>>> model = attach(generative, dagmed.load_data(spec, df))
>>> [v.name for v in model.observed_RVs], len(model.coords["obs_id"])
(['t', 'm', 'y'], 4)
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pymc as pm
import pytensor.tensor as pt

from . import graph
from . import names
from .checks import Analysis
from .data import Dataset
from .errors import DataError, SpecError, UsageError
from .families import FAMILIES
from .tables import PRIORS


def build(analysis: Analysis, n_obs: int) -> pm.Model:
    r"""The generative model of a checked analysis: one GLM per observed node with a family.

    Variables are created node by node in topological order (ties in spec order), each
    node's intercept, coefficients and extra parameters before the node itself. That order
    is the sampler's parameter order, so it is kept by :func:`attach`.

    Parameters
    ----------
    analysis : Analysis
        A well-posed analysis (:func:`dagmed.check`).
    n_obs : int
        Length of ``obs_id``: how many observations the model generates. :func:`attach`
        resizes it to the data.

    Returns
    -------
    pymc.Model
        Nodes with a family are free random variables along ``obs_id``; exogenous nodes
        without one are ``pm.Data`` containers holding zeros until set (``pm.set_data`` or
        :func:`attach`).

    Raises
    ------
    UsageError
        ``n_obs`` is not a positive integer.
    SpecError
        A node's per-edge priors are of different distributions.

    Examples
    --------
    >>> import dagmed, pymc as pm
    >>> spec = dagmed.parse("treatment t\noutcome y\nx -> t, m, y\nt -> m -> y\nt -> y\nt, m, y ~ bernoulli\n")
    >>> model = build(dagmed.check(spec), n_obs=3)
    >>> [v.name for v in model.free_RVs]
    ['t_intercept', 't_beta', 't', 'm_intercept', 'm_beta', 'm', 'y_intercept', 'y_beta', 'y']
    >>> model.coords["y_parents"], model["x"].get_value()
    (('t', 'm', 'x'), array([0., 0., 0.]))

    Prior predictive draws need no data:

    >>> pm.sample_prior_predictive(draws=5, model=model, random_seed=1).prior["y"].shape
    (1, 5, 3)
    """
    if isinstance(n_obs, bool) or not isinstance(n_obs, (int, np.integer)) or n_obs < 1:
        raise UsageError(f"n_obs must be a positive integer, got {n_obs!r}")
    g = analysis.graph
    order = {n: i for i, n in enumerate(g.nodes)}
    with pm.Model(coords={names.OBS_DIM: np.arange(n_obs)}) as model:
        tensors = {}
        for node in nx.lexicographical_topological_sort(g, key=order.__getitem__):
            if not g.nodes[node]["observed"]:
                continue
            if g.nodes[node]["family"] is None:
                tensors[node] = pm.Data(node, np.zeros(n_obs), dims=names.OBS_DIM)
            else:
                tensors[node] = _glm(analysis, model, node, tensors)
    return model


def attach(model: pm.Model, dataset: Dataset) -> pm.Model:
    r"""A new model: ``model`` with ``dataset`` attached; ``model`` itself is unchanged.

    The modelled nodes are observed (``pm.observe``), the ``pm.Data`` containers set
    (``pm.set_data``) and ``obs_id`` sized to the data. A model with data attached already
    may be given: its data are replaced.

    A dataset with missing values (``missing model``): the complete rows as above, with
    ``obs_id``'s coordinates their positions in the data; then the incomplete rows
    (:func:`dagmed.missing.add_likelihood`): ``<node>_missing`` latent variables for the
    missing continuous values and the potential ``incomplete_rows``.

    Parameters
    ----------
    model : pymc.Model
        From :func:`build` (or :func:`attach`).
    dataset : Dataset
        From :func:`dagmed.data.load`; a column for every data node of ``model``.

    Returns
    -------
    pymc.Model
        The variables in ``model``'s creation order: the same seed gives the same draws as
        a model built with its data in one step.

    Raises
    ------
    UsageError
        ``model`` has no ``obs_id`` dimension (it was not built by :func:`build`), or has
        incomplete rows attached already.
    DataError
        ``dataset`` lacks a column the model needs, or has a missing value the model cannot
        treat (in a node without a family, or a count).

    Examples
    --------
    >>> import dagmed, pandas as pd
    >>> spec = dagmed.parse("treatment t\noutcome y\nx -> t, m, y\nt -> m -> y\nt -> y\nt, m, y ~ bernoulli\n")
    >>> generative = build(dagmed.check(spec), n_obs=1)
    >>> df = pd.DataFrame({"x": [0.1, -1.2, 0.5, 2.0], "t": [0, 1, 1, 0], "m": [1, 1, 0, 0], "y": [0, 1, 1, 0]})
    >>> model = attach(generative, dagmed.load_data(spec, df))
    >>> [v.name for v in model.free_RVs]
    ['t_intercept', 't_beta', 'm_intercept', 'm_beta', 'y_intercept', 'y_beta']
    >>> model["x"].get_value(), len(generative.coords["obs_id"])
    (array([ 0.1, -1.2,  0.5,  2. ]), 1)
    """
    if names.OBS_DIM not in model.coords:
        raise UsageError(f"the model has no {names.OBS_DIM!r} dimension: build it with dagmed.compiler.build")
    from . import missing as missing_mod

    if missing_mod.POTENTIAL in model.named_vars:
        raise UsageError("the model has incomplete rows attached already: attach to the generative model (build)")
    containers = [v.name for v in model.data_vars]
    nodes = data_nodes(model)
    missing = [n for n in nodes if n not in dataset.columns]
    if missing:
        raise DataError(f"{dataset.source}: no column for {', '.join(missing)}, which the model needs")
    if any(dataset.missing.get(n, np.zeros(0, bool)).any() for n in nodes):
        layout = missing_mod.layout(missing_mod.nodes_from_model(model), dataset)  # refuses what it cannot model
        complete = dataset.complete_cases()
        new = attach(model, complete)
        new.set_dim(names.OBS_DIM, complete.n_obs, coord_values=np.flatnonzero(dataset.complete))
        missing_mod.add_likelihood(new, dataset, layout)
        return new
    modelled = [n for n in nodes if n not in containers]
    new = pm.observe(model, {n: np.asarray(dataset[n], dtype=model[n].dtype) for n in modelled})
    _keep_creation_order(new, model)
    new.set_dim(names.OBS_DIM, dataset.n_obs, coord_values=np.arange(dataset.n_obs))
    for name in containers:
        # obs_id has its new length already; pm.Model.set_data would compile a function to
        # read the old one (about 1 s per container)
        new[name].set_value(np.asarray(dataset[name], dtype=new[name].dtype))
    return new


def data_nodes(model: pm.Model) -> list[str]:
    r"""The variables along ``obs_id``: the nodes a dataset supplies, in creation order.

    Examples
    --------
    >>> import dagmed
    >>> spec = dagmed.parse("treatment t\noutcome y\nx -> t, y\nt -> y\nt, y ~ bernoulli\n")
    >>> data_nodes(build(dagmed.check(spec), n_obs=2))
    ['x', 't', 'y']
    """
    return [n for n, dims in model.named_vars_to_dims.items() if tuple(dims) == (names.OBS_DIM,)]


def node_values(model: pm.Model, name: str) -> np.ndarray:
    r"""A data node's values in ``model`` (data attached): an observed variable's data, or a container's value.

    Examples
    --------
    >>> import dagmed, pandas as pd
    >>> spec = dagmed.parse("treatment t\noutcome y\nx -> t, y\nt -> y\nt, y ~ bernoulli\n")
    >>> model = dagmed.compile(spec, pd.DataFrame({"x": [0.5, 2.0], "t": [0, 1], "y": [1, 1]}))
    >>> node_values(model, "x"), node_values(model, "t")
    (array([0.5, 2. ]), array([0., 1.]))
    """
    var = model[name]
    if var in model.rvs_to_values:
        return np.asarray(model.rvs_to_values[var].data, dtype=np.float64)
    return np.asarray(var.get_value(), dtype=np.float64)


def distinct_rows(model: pm.Model, node: str, parents) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""A node's distinct rows: its parents' values ``(R, P)``, its own ``(R,)``, and how many rows are alike.

    A GLM's likelihood is a sum over rows, and rows alike have the same term: summing each
    distinct row once, weighted by its count, is the same sum reordered.

    Examples
    --------
    >>> import dagmed, pandas as pd
    >>> spec = dagmed.parse("treatment t\noutcome y\nt -> y\nt, y ~ bernoulli\n")
    >>> model = dagmed.compile(spec, pd.DataFrame({"t": [0, 1, 1, 1], "y": [1, 0, 0, 1]}))
    >>> design, y, counts = distinct_rows(model, "y", ["t"])
    >>> design.ravel().tolist(), y.tolist(), counts.tolist()
    ([0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1, 2, 1])
    """
    table = np.column_stack([*(node_values(model, p) for p in parents), node_values(model, node)])
    rows, counts = np.unique(table, axis=0, return_counts=True)
    return rows[:, :-1], rows[:, -1], counts


def _glm(analysis: Analysis, model: pm.Model, node: str, tensors: dict):
    """``node``'s parameters, then ``node`` along ``obs_id`` given its parents in ``tensors``."""
    g, spec = analysis.graph, analysis.spec
    fam = FAMILIES[g.nodes[node]["family"]]
    node_priors = spec.node_priors(node)
    parents = graph.observed_parents(g, node)
    eta = _prior(names.intercept(node), node_priors.intercept)
    if parents:
        model.add_coord(names.parents_dim(node), parents)
        edge_priors = {(e.parent, e.child): e.prior for e in spec.edges}
        beta = _vector_prior(names.beta(node), [edge_priors[(p, node)] for p in parents], analysis, node)
        eta = eta + pt.dot(pt.stack([tensors[p] for p in parents], axis=1), beta)
    extras = {p.name: _prior(names.extra(node, p.name), node_priors.extra(p.name)) for p in fam.extras}
    likelihood = getattr(pm, fam.likelihood)
    return likelihood(node, **{fam.mean_param: fam.link.tensor(eta)}, **extras, dims=names.OBS_DIM)


def _prior(name: str, dist, dims=None):
    cls = getattr(pm, PRIORS[dist.name].pymc)
    return cls(name, **dict(dist.kwargs), dims=dims)


def _vector_prior(name: str, dists, analysis: Analysis, node: str):
    """``node``'s coefficient vector along its parents; its per-edge priors must share a distribution."""
    kinds = sorted({d.name for d in dists})
    if len(kinds) > 1:
        raise SpecError(
            f"the coefficients of {node} have priors of different distributions ({', '.join(kinds)}); "
            f"per-edge priors of one node must share a distribution",
            **analysis.spec.loc_of(node),
        )
    params = {k: np.array([dict(d.kwargs)[k] for d in dists]) for k, _ in dists[0].kwargs}
    return getattr(pm, PRIORS[kinds[0]].pymc)(name, **params, dims=names.parents_dim(node))


def _keep_creation_order(new: pm.Model, old: pm.Model) -> None:
    """Put ``new``'s variables back in ``old``'s creation order (in place).

    ``pm.observe`` rebuilds a model in its graph's topological order, which permutes the
    free variables; the sampler's parameter vector and its jittered start follow that
    order, so the same seed would give other draws. Dims go back to tuples, as
    ``pm.Model`` stores them.
    """
    rank = {name: i for i, name in enumerate(old.named_vars)}
    for registry in (new.free_RVs, new.observed_RVs, new.data_vars, new.deterministics, new.potentials):
        registry.sort(key=lambda v: rank[v.name])
    name_of = {  # how each registry's entries are named
        "named_vars": lambda key, value: key,
        "named_vars_to_dims": lambda key, value: key,
        "rvs_to_values": lambda key, value: key.name,
        "rvs_to_transforms": lambda key, value: key.name,
        "rvs_to_initial_values": lambda key, value: key.name,
        "values_to_rvs": lambda key, value: value.name,
    }
    for attr, name in name_of.items():
        registry = getattr(new, attr)
        entries = sorted(registry.items(), key=lambda kv: rank[name(*kv)])
        registry.clear()
        registry.update(entries)
    new.named_vars_to_dims.update({k: tuple(v) for k, v in new.named_vars_to_dims.items()})
