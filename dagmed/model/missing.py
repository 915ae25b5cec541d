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

The decomposition's side (:func:`dagmed.effects.rows.regime_rows`) reads the same
:class:`Layout` and :func:`block_loglik`, NumPy on posterior draws: each combination's
log-likelihood per draw.

Examples
--------
>>> import dagmed, pandas as pd
>>> spec = dagmed.parse("treatment t\noutcome y\nx -> t, y\nt -> y\nx, t, y ~ bernoulli\nmissing model\n")
>>> df = pd.DataFrame({"x": [1, None, 0, None], "t": [0, 1, None, 1], "y": [1, 0, 1, None]})
>>> lay = layout(dagmed.load_data(spec, df))
>>> [(b.b, b.rows.tolist()) for b in lay.blocks], lay.n_terms  # rows 1 and 2 miss one value, row 3 two
([(1, [1, 2]), (2, [3])], 8)
>>> three = lay.blocks[1]  # row 3, x and y summed out: its four combinations
>>> three.summed, three.values["x"].tolist(), three.values["y"].tolist(), three.values["t"].tolist()
((('x', 'y'),), [[0.0, 0.0, 1.0, 1.0]], [[0.0, 1.0, 0.0, 1.0]], [[1.0, 1.0, 1.0, 1.0]])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DataError
from ..lang.families import SAMPLED, SUMMED
from . import names
from .clusters import offset, tensor_offset
from .draws import Draws
from .ir import ModelIR, NodeModel


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

    ir: ModelIR
    columns: dict  # node -> (N,) the data, NaN where missing
    complete: np.ndarray  # (N,) rows with no missing value
    latent_rows: dict  # node -> rows of its missing continuous values (its latent vector, in order)
    blocks: tuple[Block, ...]
    codes: dict = None  # cluster column -> (N,) each row's cluster code (``cluster`` statements)

    def codes_at(self, rows: np.ndarray) -> dict:
        """Each cluster column's codes at ``rows`` (any integer array of row positions)."""
        return {c: codes[rows] for c, codes in (self.codes or {}).items()}

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


def bits(b: int) -> np.ndarray:
    """``(2^b, b)``: the value of each summed-out node at each combination, C order."""
    return ((np.arange(1 << b)[:, None] >> np.arange(b - 1, -1, -1)) & 1).astype(float)


def layout(dataset) -> Layout:
    """The :class:`Layout` of ``dataset``'s missing values (``dataset.missing``: column -> mask).

    Raises
    ------
    DataError
        A missing value in a node without a model (exogenous data) or in a count node.
    """
    ir = dataset.ir
    nodes = ir.data_nodes
    n = dataset.n_obs
    kinds = {}
    for v in nodes:
        mask = dataset.missing.get(v)
        if mask is None or not mask.any():
            continue
        fam = ir.family(v)
        if fam is None or fam.support.missing is None:
            what = (
                "no model (give it a family)"
                if fam is None
                else f"family {fam.name} (only binary and continuous ones can be modelled)"
            )
            raise DataError(f"{dataset.source}: column {v} has {int(mask.sum())} missing values and {what}")
        kinds[v] = fam.support.missing
    none = np.zeros(n, dtype=bool)
    miss = {v: dataset.missing.get(v, none) for v in nodes}
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
        combos = bits(b)
        values, latent = {}, {}
        for v in nodes:
            vals = np.repeat(np.nan_to_num(np.asarray(dataset[v], dtype=float)[rows], nan=0.0)[:, None], 1 << b, axis=1)
            if v in binary:
                u = binary.index(v)
                sel = summed_mask[u, rows]
                vals[sel] = combos[:, rank[u, rows[sel]]].T
            if v in latent_rows:
                pos = np.flatnonzero(miss[v][rows])
                if len(pos):
                    latent[v] = (pos, latent_index[v][rows[pos]])
            values[v] = vals
        summed = tuple(tuple(v for u, v in enumerate(binary) if summed_mask[u, r]) for r in rows)
        blocks.append(Block(b, rows, values, latent, summed))
    codes = {c: codes for c, (codes, _) in dataset.clusters.items()}
    columns = {v: np.asarray(dataset[v], dtype=float) for v in nodes}
    return Layout(ir, columns, complete, latent_rows, tuple(blocks), codes)


# ---- the model: latent variables and the incomplete rows' likelihood (PyMC) ---------------


def add_likelihood(model, dataset, lay: Layout | None = None) -> None:
    """Add the incomplete rows of ``dataset`` to ``model`` (in place): the latent variables of the
    missing continuous values and one ``pm.Potential`` with the rows' log-likelihood.

    ``model`` holds the complete rows already (:func:`dagmed.model.compiler.attach`): its nodes'
    parameters are shared. Each latent variable is declared with its node's distribution at
    its row (missing binary parents at 0); the potential holds each incomplete row's full
    log-likelihood (log-sum-exp over its combinations) minus those declared terms, so that the
    model's log density is the exact joint of the observed values and the latent ones.
    """
    import pymc as pm
    import pytensor.tensor as pt

    lay = layout(dataset) if lay is None else lay
    if not lay.blocks:
        return
    ir = lay.ir
    with model:
        latents = {}
        for v in ir.data_nodes:
            if v not in lay.latent_rows:
                continue
            node = ir.node(v)
            rows = lay.latent_rows[v]
            model.add_coord(names.missing_dim(v), rows)
            values = {p: _at_rows(lay, latents, p, rows) for p in node.parents}
            latents[v] = getattr(pm, node.family.likelihood)(
                names.missing(v), **_params(model, node, values, lay.codes_at(rows)), dims=names.missing_dim(v)
            )
        # every block's entries in one vector, so that each node's GLM is one evaluation
        sizes = [len(block.rows) * block.n_comb for block in lay.blocks]
        offsets = np.cumsum([0, *sizes])
        values, loglik = {}, 0.0
        entries = np.concatenate([np.repeat(block.rows, block.n_comb) for block in lay.blocks])  # each entry's row
        for v in ir.data_nodes:
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
            if ir.is_modelled(v):
                node = ir.node(v)
                dist = getattr(pm, node.family.likelihood).dist(**_params(model, node, values, lay.codes_at(entries)))
                loglik = loglik + pm.logp(dist, val)
        total = 0.0
        for block, off, size in zip(lay.blocks, offsets, sizes):
            rows = pt.reshape(loglik[off : off + size], (len(block.rows), block.n_comb))
            total = total + (pt.logsumexp(rows, axis=1).sum() if block.b else rows.sum())
        for rv in latents.values():
            total = total - pm.logp(rv, rv).sum()  # declared above; the rows' likelihood has the exact term
        pm.Potential(names.INCOMPLETE_ROWS, total)


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


def _params(model, node: NodeModel, values: dict, codes: dict) -> dict:
    """The arguments of ``node``'s likelihood given its parents' ``values`` (and the rows' clusters ``codes``),
    as :func:`dagmed.model.compiler.build` has them."""
    import pytensor.tensor as pt

    eta = model[node.intercept.name] if node.intercept is not None else 0.0
    if node.terms:
        eta = eta + pt.dot(pt.stack([t.values(values) for t in node.terms], axis=1), model[node.beta.name])
    if node.clusters:
        eta = eta + tensor_offset(model, node, codes, values)
    extras = {p.kind: model[p.name] for p in node.extras}
    eta = eta + node.known_predictor(values, extras)
    if node.family.tensor_extras is not None:
        extras = node.family.tensor_extras(extras)
    return {node.family.mean_param: node.family.link.tensor(eta), **extras}


# ---- the incomplete rows' likelihood per posterior draw (NumPy) ---------------------------


def block_loglik(lay: Layout, block: Block, draws: Draws) -> np.ndarray:
    """``(S, n, 2^b)``: each row's log-likelihood at each combination of its missing binary values, per draw."""
    values = {}
    total = 0.0
    for v in lay.ir.data_nodes:
        val = block.values[v][None]
        if v in block.latent:
            pos, idx = block.latent[v]
            val = np.broadcast_to(val, (draws.latent[v].shape[0],) + val.shape[1:]).copy()
            val[:, pos, :] = draws.latent[v][:, idx, None]
        values[v] = val
        if lay.ir.is_modelled(v):
            node, d = lay.ir.node(v), draws[v]
            eta = node.predictor(d.intercept[:, None, None], d.beta[:, None, None, :], values)
            if node.clusters:
                eta = eta + offset(d.clusters, lay.codes_at(block.rows[:, None]), values)
            extras = {k: x[:, None, None] for k, x in d.extras.items()}
            total = total + node.family.logp(val, eta, extras)
    return total
