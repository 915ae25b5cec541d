r"""Model IR -> generative ``pm.Model``; data attached to it as a new model.

Two steps, the way PyMC's model transforms (``pm.observe``, ``pm.do``) return new models:

* :func:`build` gives the generative model, with no data: every observed node that has a
  family is a random variable along ``obs_id``, an exogenous node without a family is a
  ``pm.Data`` container. Prior predictive checks, simulation and the model-graph picture
  need nothing more.
* :func:`attach` returns a new model with a :class:`~dagmed.model.data.Dataset` attached: the
  modelled nodes observed (``pm.observe``), the containers set (``pm.set_data``), ``obs_id``
  sized to the data. The generative model is left as it was. With missing values modelled
  (``missing model``, MATH.md section 3c) ``obs_id`` holds the complete rows, and
  :func:`dagmed.model.missing.add_likelihood` adds the incomplete ones: latent variables for the
  missing continuous values and a potential with the rows' likelihood, the missing binary
  values summed out. Without missing values the model is exactly the complete-data one.

Every node's GLM is read from the :class:`~dagmed.model.ir.ModelIR`; names are part of the
API and have one owner, :mod:`dagmed.model.names`: for node ``Y``, ``Y_intercept``, ``Y_beta`` along
``Y_parents`` (coordinates the parent names), ``Y_sigma`` for a normal node, and ``Y``
itself along ``obs_id``. Parents enter through the graph's own variables, so ``pm.do`` on
the treatment propagates to the mediators and the outcome (MATH.md section 4).

Examples
--------
>>> import dagmed, pandas as pd
>>> from dagmed.model.ir import ModelIR
>>> spec = dagmed.parse("treatment t\noutcome y\nx -> t, m, y\nt -> m -> y\nt -> y\nt, m, y ~ bernoulli\n")
>>> ir = ModelIR.from_analysis(dagmed.check(spec))
>>> generative = build(ir, n_obs=3)
>>> df = pd.DataFrame({"x": [0.1, -1.2, 0.5, 2.0], "t": [0, 1, 1, 0], "m": [1, 1, 0, 0], "y": [0, 1, 1, 0]})
>>> model = attach(generative, dagmed.load_data(spec, df))
>>> [v.name for v in model.observed_RVs], len(model.coords["obs_id"])
(['t', 'm', 'y'], 4)
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from ..errors import DataError, UsageError
from ..lang.priors import PRIORS
from . import missing, names
from .clusters import tensor_offset
from .data import Dataset
from .ir import ModelIR, NodeModel, Param


def build(ir: ModelIR, n_obs: int, clusters: dict | None = None) -> pm.Model:
    r"""The generative model: one GLM per node of ``ir``, a ``pm.Data`` container per exogenous node.

    Variables are created in the IR's order (topological, ties in spec order), each node's
    parameters before the node itself. That order is the sampler's parameter order, so it
    is kept by :func:`attach`.

    Parameters
    ----------
    ir : ModelIR
        Of a well-posed analysis (:meth:`ModelIR.from_analysis` of :func:`dagmed.check`).
    n_obs : int
        Length of ``obs_id``: how many observations the model generates. :func:`attach`
        resizes it to the data.
    clusters : dict, optional
        Cluster column -> ``(codes, labels)``: each row's cluster and the clusters' labels
        (``cluster`` statements). Absent: every row in one cluster until :func:`attach` sets them.

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

    Examples
    --------
    >>> import dagmed, pymc as pm
    >>> spec = dagmed.parse("treatment t\noutcome y\nx -> t, m, y\nt -> m -> y\nt -> y\nt, m, y ~ bernoulli\n")
    >>> model = build(ModelIR.from_analysis(dagmed.check(spec)), n_obs=3)
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
    clusters = clusters or {}
    with pm.Model(coords={names.OBS_DIM: np.arange(n_obs)}) as model:
        codes = {}
        for column in ir.cluster_columns:
            rows, labels = clusters.get(column, (np.zeros(n_obs, dtype=np.int64), ("1",)))
            model.add_coord(names.cluster_dim(column), labels)
            # no dims: a row's cluster is not a variable along obs_id (compiler.data_nodes)
            codes[column] = pm.Data(names.cluster_codes(column), np.asarray(rows, dtype=np.int64))
        tensors = {}
        for name in ir.data_nodes:
            if ir.is_modelled(name):
                node = ir.node(name)
                tensors[name] = _glm(model, node, tensors, codes)
            else:
                tensors[name] = pm.Data(name, np.zeros(n_obs), dims=names.OBS_DIM)
    return model


def attach(model: pm.Model, dataset: Dataset) -> pm.Model:
    r"""A new model: ``model`` with ``dataset`` attached; ``model`` itself is unchanged.

    The modelled nodes are observed (``pm.observe``), the ``pm.Data`` containers set
    (``pm.set_data``) and ``obs_id`` sized to the data. A model with data attached already
    may be given: its data are replaced.

    A dataset with missing values (``missing model``): the complete rows as above, with
    ``obs_id``'s coordinates their positions in the data; then the incomplete rows
    (:func:`dagmed.model.missing.add_likelihood`): ``<node>_missing`` latent variables for the
    missing continuous values and the potential ``incomplete_rows``.

    Parameters
    ----------
    model : pymc.Model
        From :func:`build` (or :func:`attach`).
    dataset : Dataset
        From :func:`dagmed.model.data.load`; a column for every data node of ``model``.

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
    >>> generative = build(ModelIR.from_analysis(dagmed.check(spec)), n_obs=1)
    >>> df = pd.DataFrame({"x": [0.1, -1.2, 0.5, 2.0], "t": [0, 1, 1, 0], "m": [1, 1, 0, 0], "y": [0, 1, 1, 0]})
    >>> model = attach(generative, dagmed.load_data(spec, df))
    >>> [v.name for v in model.free_RVs]
    ['t_intercept', 't_beta', 'm_intercept', 'm_beta', 'y_intercept', 'y_beta']
    >>> model["x"].get_value(), len(generative.coords["obs_id"])
    (array([ 0.1, -1.2,  0.5,  2. ]), 1)
    """
    if names.OBS_DIM not in model.coords:
        raise UsageError(f"the model has no {names.OBS_DIM!r} dimension: build it with dagmed.model.compiler.build")
    if names.INCOMPLETE_ROWS in model.named_vars:
        raise UsageError("the model has incomplete rows attached already: attach to the generative model (build)")
    containers = [v.name for v in model.data_vars]
    nodes = data_nodes(model)
    absent = [n for n in nodes if n not in dataset.columns]
    if absent:
        raise DataError(f"{dataset.source}: no column for {', '.join(absent)}, which the model needs")
    if any(dataset.missing.get(n, np.zeros(0, bool)).any() for n in nodes):
        layout = missing.layout(dataset)  # refuses what it cannot model
        complete = dataset.complete_cases()
        new = attach(model, complete)
        new.set_dim(names.OBS_DIM, complete.n_obs, coord_values=np.flatnonzero(dataset.complete))
        missing.add_likelihood(new, dataset, layout)
        return new
    modelled = [n for n in nodes if n not in containers]
    new = pm.observe(model, {n: np.asarray(dataset[n], dtype=model[n].dtype) for n in modelled})
    _keep_creation_order(new, model)
    new.set_dim(names.OBS_DIM, dataset.n_obs, coord_values=np.arange(dataset.n_obs))
    for name in containers:
        if name in nodes:
            # obs_id has its new length already; pm.Model.set_data would compile a function to
            # read the old one (about 1 s per container)
            new[name].set_value(np.asarray(dataset[name], dtype=new[name].dtype))
    set_clusters(new, dataset.clusters)
    return new


def set_clusters(model: pm.Model, clusters: dict) -> None:
    """Set each cluster column's codes and its clusters' labels in ``model`` (in place)."""
    for column, (codes, labels) in clusters.items():
        model.set_dim(names.cluster_dim(column), len(labels), coord_values=labels)
        container = model[names.cluster_codes(column)]
        container.set_value(np.asarray(codes, dtype=container.dtype))


def data_nodes(model: pm.Model) -> list[str]:
    r"""The variables along ``obs_id``: the nodes a dataset supplies, in creation order.

    Examples
    --------
    >>> import dagmed
    >>> spec = dagmed.parse("treatment t\noutcome y\nx -> t, y\nt -> y\nt, y ~ bernoulli\n")
    >>> data_nodes(build(ModelIR.from_analysis(dagmed.check(spec)), n_obs=2))
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


def distinct_rows(
    model: pm.Model, node: NodeModel, clusters: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""A node's distinct rows: its design terms' values ``(R, P)``, its own ``(R,)``, and how many rows are alike.

    A GLM's likelihood is a sum over rows, and rows alike have the same term: summing each
    distinct row once, weighted by its count, is the same sum reordered. With ``clusters``,
    each of the node's cluster columns' codes is one more column after the terms: rows are
    alike only within a cluster.

    Examples
    --------
    >>> import dagmed, pandas as pd
    >>> spec = dagmed.parse("treatment t\noutcome y\nt -> y\nt, y ~ bernoulli\n")
    >>> model = dagmed.compile(spec, pd.DataFrame({"t": [0, 1, 1, 1], "y": [1, 0, 0, 1]}))
    >>> y = ModelIR.from_analysis(dagmed.check(spec)).node("y")
    >>> design, values, counts = distinct_rows(model, y)
    >>> design.ravel().tolist(), values.tolist(), counts.tolist()
    ([0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1, 2, 1])
    """
    columns = {p: node_values(model, p) for p in node.parents}
    codes = [model[names.cluster_codes(c.column)].get_value() for c in node.clusters] if clusters else []
    table = np.column_stack([*(t.values(columns) for t in node.terms), *codes, node_values(model, node.name)])
    rows, counts = np.unique(table, axis=0, return_counts=True)
    return rows[:, :-1], rows[:, -1], counts


def _glm(model: pm.Model, node: NodeModel, tensors: dict, codes: dict):
    """``node``'s parameters, then ``node`` along ``obs_id`` given its design terms' values in ``tensors``."""
    fam = node.family
    for p in node.params:
        if p.dim is not None and p.dim not in model.coords:
            model.add_coord(p.dim, p.coords)
        if p.level_dim is not None and p.level_dim not in model.coords:
            model.add_coord(p.level_dim, p.levels)
    # a categorical node's intercept: one per level but the first, as is every coefficient; a known one is no parameter
    eta = _prior(node.intercept) if node.intercept is not None else 0.0
    if node.terms:
        design = pt.stack([t.values(tensors) for t in node.terms], axis=1)
        eta = eta + pt.dot(design, _prior(node.beta))
    for c in node.clusters:  # non-centred: the standardised effects, scaled by their sd
        _prior(c.sd)
        pm.Normal(c.z, 0.0, 1.0, dims=c.dim)
        if c.slope is not None:
            _prior(c.slope_sd)
            pm.Normal(c.slope_z, 0.0, 1.0, dims=c.dim)
            _correlation(c.corr)
    if node.clusters:
        eta = eta + tensor_offset(model, node, codes, tensors)
    extras = {p.kind: _prior(p) for p in node.extras}
    eta = eta + node.known_predictor(tensors, extras)
    if fam.tensor_extras is not None:
        extras = fam.tensor_extras(extras)
    likelihood = getattr(pm, fam.likelihood)
    return likelihood(
        node.name, **{fam.mean_param: fam.link.tensor(eta)}, **extras, **dict(fam.model_options), dims=names.OBS_DIM
    )


def _prior(param: Param):
    """The PyMC variable of ``param``: one distribution, its arguments per element along the param's dim."""
    dist = PRIORS[param.priors[0].name]  # one distribution per parameter (the resolver refuses a mix)
    if not param.dims:
        return getattr(pm, dist.pymc)(param.name, **dict(param.priors[0].kwargs))
    args = {k: np.array([dict(d.kwargs)[k] for d in param.priors]) for k in dist.params}
    if param.dim is None:  # a level axis alone: one prior for every level
        args = {k: np.repeat(v, len(param.levels)) for k, v in args.items()}
    elif param.level_dim is not None:  # each term's prior at every level
        args = {k: np.repeat(v[:, None], len(param.levels), axis=1) for k, v in args.items()}
    return getattr(pm, dist.pymc)(param.name, **args, dims=param.dims)


def _correlation(param: Param):
    """The correlation ``param`` of a cluster's intercepts and slopes: a scalar whose prior is LKJ(eta).

    For two dimensions the LKJ(eta) density of a correlation matrix is that of its one
    correlation ``rho``, with ``(rho + 1) / 2 ~ Beta(eta, eta)``. ``pm.LKJCorr`` would give it
    in each stack's own form (a vector of one on PyMC 5, a 2 x 2 matrix over a Cholesky factor
    on PyMC 6); this scalar is the same on both, its log density PyMC's own (derived from the
    Beta's through the affine map), its transform the interval (-1, 1)'s. ``eta`` is a float64
    constant: a Python float would be a float32 one, and the Beta's normalising constant
    computed in float32 (off by about 2e-8).

    Examples
    --------
    >>> from dagmed.lang.ir import Dist
    >>> with pm.Model() as model:
    ...     rho = _correlation(Param("y_corr_g", "corr", (Dist("lkj", (), (("eta", 2.0),)),)))
    >>> rho.ndim, round(float(pm.logp(rho, 0.0).eval()), 6)  # Beta(2, 2) at 1/2, 1.5, over 2
    (0, -0.287682)
    """
    eta = np.float64(dict(param.priors[0].kwargs)["eta"])
    return pm.CustomDist(
        param.name, eta, dist=_lkj_rho, transform=pm.distributions.transforms.Interval(-1.0, 1.0), class_name="LKJ"
    )


def _lkj_rho(eta, size):
    """A two-dimensional LKJ(eta) correlation: ``2 B - 1`` with ``B ~ Beta(eta, eta)``."""
    return 2.0 * pm.Beta.dist(eta, eta, size=size) - 1.0


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
