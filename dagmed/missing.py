r"""Missing values, modelled (MATH.md section 3c): ``missing model``.

The complete rows keep the observed likelihood of the generative model (along ``obs_id``).
Each incomplete row adds its own likelihood, the product of the node likelihoods of the
row, in which

* a missing **binary** value is **summed out**: the row's likelihood is the sum over the
  ``2^b`` combinations of its ``b`` missing binary values (a log-sum-exp per row);
* a missing **continuous** value is a **latent variable** ``<node>_missing`` (dimension
  ``<node>_missing_id``, coordinates the rows' positions in the data), sampled by NUTS.

The rows are grouped into :class:`Block`\ s by their number ``b`` of missing binary values
and each row is expanded into its ``2^b`` combinations; the model evaluates each node's GLM
once, on the vector of every block's entries: ``sum_i 2^(b_i)`` terms in all (a row with
three missing binary values has 8), then a log-sum-exp per row. The model side, :func:`add_likelihood`, imports PyMC only when called.

The decomposition side, :func:`regime_rows`, is NumPy on posterior draws: a row with missing
binary covariates becomes one row per combination of their values, weighted per draw by the
combination's posterior probability given the row's observed values (the softmax over the
row's combinations of its log-likelihood, summed over its other missing binary values); a
missing continuous covariate takes its latent variable's draws.

Examples
--------
>>> import dagmed, pandas as pd
>>> spec = dagmed.parse("treatment t\noutcome y\nx -> t, y\nt -> y\nx, t, y ~ bernoulli\nmissing model\n")
>>> df = pd.DataFrame({"x": [1, None, 0, None], "t": [0, 1, None, 1], "y": [1, 0, 1, None]})
>>> lay = layout(nodes_from_analysis(dagmed.check(spec)), dagmed.load_data(spec, df))
>>> [(b.b, b.rows.tolist()) for b in lay.blocks], lay.n_terms  # rows 1 and 2 miss one value, row 3 two
([(1, [1, 2]), (2, [3])], 8)
>>> three = lay.blocks[1]  # row 3, x and y summed out: its four combinations
>>> three.summed, three.values["x"].tolist(), three.values["y"].tolist(), three.values["t"].tolist()
((('x', 'y'),), [[0.0, 0.0, 1.0, 1.0]], [[0.0, 1.0, 0.0, 1.0]], [[1.0, 1.0, 1.0, 1.0]])
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
from scipy.special import gammaln

from . import graph
from . import names
from .data import SAMPLED, SUMMED
from .errors import DataError, UsageError
from .families import FAMILIES

POTENTIAL = names.INCOMPLETE_ROWS


@dataclass(frozen=True)
class NodeInfo:
    """An observed node: its family (None for exogenous data, not modelled) and observed parents."""

    name: str
    family: str | None
    parents: tuple[str, ...]


def nodes_from_analysis(analysis) -> tuple[NodeInfo, ...]:
    """The observed nodes in the compiler's order (topological, ties in spec order)."""
    g = analysis.graph
    order = {n: i for i, n in enumerate(g.nodes)}
    return tuple(
        NodeInfo(n, g.nodes[n]["family"], tuple(graph.observed_parents(g, n)))
        for n in nx.lexicographical_topological_sort(g, key=order.__getitem__)
        if g.nodes[n]["observed"]
    )


def nodes_from_model(model) -> tuple[NodeInfo, ...]:
    """The same, read from a model built by :func:`dagmed.compiler.build` (creation order)."""
    import pymc as pm

    from .compiler import data_nodes

    by_op = {getattr(pm, f.likelihood).rv_op.name: name for name, f in FAMILIES.items()}
    containers = {v.name for v in model.data_vars}
    out = []
    for n in data_nodes(model):
        if n in containers:
            out.append(NodeInfo(n, None, ()))
        else:
            out.append(NodeInfo(n, by_op[model[n].owner.op.name], tuple(model.coords.get(names.parents_dim(n), ()))))
    return tuple(out)


@dataclass(frozen=True, eq=False)
class Block:
    """The incomplete rows with ``b`` missing binary values, each expanded into its ``2^b`` combinations.

    Combination ``c`` gives the row's ``j``-th summed-out node (in node order) the value of
    bit ``b - 1 - j`` of ``c`` (C order, as ``itertools.product``).
    """

    b: int
    rows: np.ndarray  # (n,) positions of the rows in the data
    values: dict  # node -> (n, 2^b): the data; summed-out values at their combination's bit; 0 where latent
    latent: dict  # node -> (positions among the block's rows, index into the node's latent vector)
    summed: tuple  # per row, its summed-out nodes in node order

    @property
    def n_comb(self) -> int:
        return 1 << self.b


@dataclass(frozen=True, eq=False)
class Layout:
    """Where the missing values are and how each incomplete row's likelihood is enumerated."""

    nodes: tuple[NodeInfo, ...]
    columns: dict  # node -> (N,) the data, NaN where missing
    complete: np.ndarray  # (N,) rows with no missing value
    latent_rows: dict  # node -> rows of its missing continuous values (its latent vector, in order)
    blocks: tuple[Block, ...]

    @property
    def n_terms(self) -> int:
        """Terms of the incomplete rows' likelihood, ``sum_i 2^(b_i)``."""
        return sum(len(b.rows) * b.n_comb for b in self.blocks)

    def latent_index(self, node: str) -> np.ndarray:
        """``(N,)``: each row's index into ``node``'s latent vector, -1 where its value is not latent."""
        return _latent_index(len(self.complete), self.latent_rows.get(node))


def _latent_index(n: int, rows) -> np.ndarray:
    """``(n,)``: position of each row among ``rows`` (a latent vector's rows), -1 elsewhere."""
    idx = np.full(n, -1, dtype=np.int64)
    if rows is not None:
        idx[rows] = np.arange(len(rows))
    return idx


def _bits(b: int) -> np.ndarray:
    """``(2^b, b)``: the value of each summed-out node at each combination, C order."""
    return ((np.arange(1 << b)[:, None] >> np.arange(b - 1, -1, -1)) & 1).astype(float)


def layout(nodes: tuple[NodeInfo, ...], dataset) -> Layout:
    """The :class:`Layout` of ``dataset``'s missing values (``dataset.missing``: column -> mask).

    Raises
    ------
    DataError
        A missing value in a node without a model (exogenous data) or in a count node.
    """
    n = dataset.n_obs
    kinds = {}
    for info in nodes:
        mask = dataset.missing.get(info.name)
        if mask is None or not mask.any():
            continue
        fam = FAMILIES[info.family] if info.family else None
        if fam is None or not (fam.support.binary or fam.support.name == "real"):
            what = "no model (give it a family)" if fam is None else f"family {fam.name} (only binary and continuous ones can be modelled)"
            raise DataError(f"{dataset.source}: column {info.name} has {int(mask.sum())} missing values and {what}")
        kinds[info.name] = SUMMED if fam.support.binary else SAMPLED
    none = np.zeros(n, dtype=bool)
    miss = {info.name: dataset.missing.get(info.name, none) for info in nodes}
    complete = ~np.any([miss[v] for v in kinds], axis=0) if kinds else ~none
    binary = [v for v in kinds if kinds[v] == SUMMED]  # node order
    latent_rows = {v: np.flatnonzero(miss[v]) for v in kinds if kinds[v] == SAMPLED}
    summed_mask = np.array([miss[v] for v in binary]).reshape(len(binary), n)
    rank = np.cumsum(summed_mask, axis=0) - 1  # position of each summed-out node among its row's
    count = summed_mask.sum(axis=0)
    latent_index = {v: _latent_index(n, rows) for v, rows in latent_rows.items()}
    incomplete = np.flatnonzero(~complete)
    blocks = []
    for b in np.unique(count[incomplete]):
        b = int(b)
        rows = incomplete[count[incomplete] == b]
        bits = _bits(b)
        values, latent = {}, {}
        for info in nodes:
            v = info.name
            vals = np.repeat(np.nan_to_num(np.asarray(dataset[v], dtype=float)[rows], nan=0.0)[:, None], 1 << b, axis=1)
            if v in binary:
                u = binary.index(v)
                sel = summed_mask[u, rows]
                vals[sel] = bits[:, rank[u, rows[sel]]].T
            if v in latent_rows:
                pos = np.flatnonzero(miss[v][rows])
                if len(pos):
                    latent[v] = (pos, latent_index[v][rows[pos]])
            values[v] = vals
        summed = tuple(tuple(v for u, v in enumerate(binary) if summed_mask[u, r]) for r in rows)
        blocks.append(Block(b, rows, values, latent, summed))
    return Layout(nodes, {info.name: np.asarray(dataset[info.name], dtype=float) for info in nodes}, complete,
                  latent_rows, tuple(blocks))


# ---- the model: latent variables and the incomplete rows' likelihood (PyMC) ---------------


def add_likelihood(model, dataset, lay: Layout | None = None) -> None:
    """Add the incomplete rows of ``dataset`` to ``model`` (in place): the latent variables of the
    missing continuous values and one ``pm.Potential`` with the rows' log-likelihood.

    ``model`` holds the complete rows already (:func:`dagmed.compiler.attach`): its nodes'
    parameters are shared. Each latent variable is declared with its node's distribution at
    its row (missing binary parents at 0); the potential holds each incomplete row's full
    log-likelihood (log-sum-exp over its combinations) minus those declared terms, so that the
    model's log density is the exact joint of the observed values and the latent ones.
    """
    import pymc as pm
    import pytensor.tensor as pt

    nodes = nodes_from_model(model)
    lay = layout(nodes, dataset) if lay is None else lay
    if not lay.blocks:
        return
    fams = {info.name: FAMILIES[info.family] for info in nodes if info.family}
    with model:
        latents = {}
        for info in nodes:
            v = info.name
            if v not in lay.latent_rows:
                continue
            rows = lay.latent_rows[v]
            model.add_coord(names.missing_dim(v), rows)
            values = {p: _at_rows(lay, latents, p, rows) for p in info.parents}
            params = _params(model, fams[v], info, values)
            latents[v] = getattr(pm, fams[v].likelihood)(names.missing(v), **params, dims=names.missing_dim(v))
        # every block's entries in one vector, so that each node's GLM is one evaluation
        sizes = [len(block.rows) * block.n_comb for block in lay.blocks]
        offsets = np.cumsum([0, *sizes])
        values, loglik = {}, 0.0
        for info in nodes:
            v = info.name
            val = pt.as_tensor(np.concatenate([block.values[v].reshape(-1) for block in lay.blocks]))
            if v in latents:
                flat, idx = [], []
                for block, off in zip(lay.blocks, offsets):
                    if v in block.latent:
                        pos, at = block.latent[v]
                        flat.append(off + (pos[:, None] * block.n_comb + np.arange(block.n_comb)).reshape(-1))
                        idx.append(np.repeat(at, block.n_comb))
                if flat:
                    val = pt.set_subtensor(val[np.concatenate(flat)], latents[v][np.concatenate(idx)])
            values[v] = val
            if info.family:
                dist = getattr(pm, fams[v].likelihood).dist(**_params(model, fams[v], info, values))
                loglik = loglik + pm.logp(dist, val)
        total = 0.0
        for block, off, size in zip(lay.blocks, offsets, sizes):
            rows = pt.reshape(loglik[off:off + size], (len(block.rows), block.n_comb))
            total = total + (pt.logsumexp(rows, axis=1).sum() if block.b else rows.sum())
        for v, rv in latents.items():
            total = total - pm.logp(rv, rv).sum()  # declared above; the rows' likelihood has the exact term
        pm.Potential(POTENTIAL, total)


def _at_rows(lay: Layout, latents: dict, node: str, rows: np.ndarray):
    """``node``'s values at ``rows``: the data, latent values where missing, 0 for a missing binary value."""
    import pytensor.tensor as pt

    val = pt.as_tensor(np.nan_to_num(lay.columns[node][rows], nan=0.0))
    if node in latents:
        idx = lay.latent_index(node)[rows]
        at = np.flatnonzero(idx >= 0)
        if len(at):
            val = pt.set_subtensor(val[at], latents[node][idx[at]])
    return val


def _params(model, fam, info: NodeInfo, values: dict) -> dict:
    """The arguments of ``info``'s likelihood given its parents' ``values``, as :func:`dagmed.compiler.build` has them."""
    import pytensor.tensor as pt

    eta = model[names.intercept(info.name)]
    if info.parents:
        eta = eta + pt.dot(pt.stack([values[p] for p in info.parents], axis=1), model[names.beta(info.name)])
    extras = {p.name: model[names.extra(info.name, p.name)] for p in fam.extras}
    return {fam.mean_param: fam.link.tensor(eta), **extras}


# ---- the decomposition: rows and weights per draw (NumPy) ---------------------------------


def _logp_bernoulli(v, eta, extras):
    return v * eta - np.logaddexp(0.0, eta)


def _logp_normal(v, eta, extras):
    sigma = extras["sigma"]
    return -0.5 * ((v - eta) / sigma) ** 2 - np.log(sigma) - 0.5 * np.log(2 * np.pi)


def _logp_poisson(v, eta, extras):
    return v * eta - np.exp(eta) - gammaln(v + 1.0)


# Log densities by family, in the linear predictor: ``logp(value, eta, extras)``.
LOGP = {"bernoulli": _logp_bernoulli, "normal": _logp_normal, "poisson": _logp_poisson}


@dataclass(frozen=True, eq=False)
class Draws:
    """Posterior draws flattened over chains: each modelled node's parameters and latent values."""

    intercept: dict  # node -> (S,)
    beta: dict  # node -> (S, P)
    extras: dict  # node -> {param: (S,)}
    latent: dict  # node -> (S, n_missing)

    @classmethod
    def from_posterior(cls, posterior, lay: Layout) -> "Draws":
        def flat(name, dim=None):
            x = posterior[name]
            x = x.transpose("chain", "draw", dim) if dim else x
            return np.asarray(x).reshape((x.sizes["chain"] * x.sizes["draw"],) + x.shape[2:])

        intercept, beta, extras = {}, {}, {}
        for info in lay.nodes:
            if not info.family:
                continue
            v = info.name
            intercept[v] = flat(names.intercept(v))
            beta[v] = flat(names.beta(v), names.parents_dim(v)) if info.parents else np.zeros((intercept[v].size, 0))
            extras[v] = {p.name: flat(names.extra(v, p.name)) for p in FAMILIES[info.family].extras}
        latent = {v: flat(names.missing(v), names.missing_dim(v)) for v in lay.latent_rows}
        return cls(intercept, beta, extras, latent)


def block_loglik(lay: Layout, block: Block, draws: Draws) -> np.ndarray:
    """``(S, n, 2^b)``: each row's log-likelihood at each combination of its missing binary values, per draw."""
    values = {}
    total = 0.0
    for info in lay.nodes:
        v = info.name
        val = block.values[v][None]
        if v in block.latent:
            pos, idx = block.latent[v]
            val = np.broadcast_to(val, (draws.latent[v].shape[0],) + val.shape[1:]).copy()
            val[:, pos, :] = draws.latent[v][:, idx, None]
        values[v] = val
        if info.family:
            eta = draws.intercept[v][:, None, None]
            for j, p in enumerate(info.parents):
                eta = eta + draws.beta[v][:, j, None, None] * values[p]
            extras = {k: x[:, None, None] for k, x in draws.extras[v].items()}
            total = total + LOGP[info.family](val, eta, extras)
    return total


def regime_rows(posterior, analysis, dataset) -> tuple[dict, np.ndarray, np.ndarray]:
    """The rows the regimes average over, and their weights per draw (MATH.md section 3c).

    Every row of ``dataset`` is used. A row with ``b`` missing binary covariates becomes
    ``2^b`` rows, one per combination of their values, weighted per draw by its posterior
    probability given the row's observed values and the draw's parameters and latent
    values; a row's weights add up to 1. A missing continuous covariate takes its latent
    variable's draws: that covariate's column is ``(S, N')``.

    Returns
    -------
    covariates : dict
        Covariate name -> ``(N',)`` values, or ``(S, N')`` for one with latent values.
    weights : (S, N') array
    rows : (N',) array
        The data row of each regime row (a row of the data with missing binary covariates
        appears once per combination of their values).

    Raises
    ------
    UsageError
        The posterior lacks a latent variable the data need (the model had other data).
    """
    lay = layout(nodes_from_analysis(analysis), dataset)
    for v in lay.latent_rows:
        if names.missing(v) not in posterior:
            raise UsageError(f"the posterior has no {names.missing(v)}: it was not fitted to these data")
    draws = Draws.from_posterior(posterior, lay)
    n_draws = next(iter(draws.intercept.values())).size
    covs = tuple(analysis.covariates)
    summed_covs = [c for c in covs if dataset.method.get(c) == SUMMED]
    row_of = []  # the data row of each regime row
    bits = {c: [] for c in summed_covs}  # the value of a summed-out covariate at each regime row (NaN: observed)
    weights = []  # (S,) per regime row, or None for weight 1
    by_row = {int(r): (block, j) for block in lay.blocks for j, r in enumerate(block.rows)}
    probs = {}  # block -> (S, n, 2^b): the combinations' posterior probabilities
    for r in range(dataset.n_obs):
        missing_covs = [c for c in summed_covs if dataset.missing[c][r]]
        if not missing_covs:
            row_of.append(r)
            for c in summed_covs:
                bits[c].append(np.nan)
            weights.append(None)
            continue
        block, j = by_row[r]
        if id(block) not in probs:
            ll = block_loglik(lay, block, draws)
            ll = ll - ll.max(axis=2, keepdims=True)
            p = np.exp(ll)
            probs[id(block)] = p / p.sum(axis=2, keepdims=True)
        p = probs[id(block)][:, j, :]  # (S, 2^b)
        at = [block.summed[j].index(c) for c in missing_covs]  # their bits among the row's summed-out nodes
        comb = _bits(block.b)[:, at] @ (1 << np.arange(len(at) - 1, -1, -1))  # each combination's covariate values
        for cx, value in enumerate(_bits(len(at))):
            row_of.append(r)
            for c in summed_covs:
                bits[c].append(value[missing_covs.index(c)] if c in missing_covs else np.nan)
            weights.append(p[:, comb == cx].sum(axis=1))
    row_of = np.array(row_of, dtype=np.int64)
    w = np.ones((n_draws, len(row_of)))
    for i, wi in enumerate(weights):
        if wi is not None:
            w[:, i] = wi
    covariates = {}
    for c in covs:
        x = lay.columns[c][row_of]
        if c in bits:
            b = np.array(bits[c])
            x = np.where(np.isnan(b), x, b)
        if c in lay.latent_rows:
            idx = lay.latent_index(c)[row_of]
            at = np.flatnonzero(idx >= 0)
            x = np.broadcast_to(x, (n_draws, len(row_of))).copy()
            x[:, at] = draws.latent[c][:, idx[at]]
        covariates[c] = x
    return covariates, w, row_of
