"""The rows the regimes average over when covariates are missing (``missing model``, MATH.md section 3c).

A row with missing binary covariates is one regime row per combination of their values,
weighted per draw by the combination's posterior probability given the row's observed
values (the softmax over the row's combinations of its log-likelihood, summed over its
other missing binary values); a missing continuous covariate takes its latent variable's
draws. NumPy on posterior draws, from the :class:`~dagmed.model.missing.Layout` the model
was built with.
"""

from __future__ import annotations

import numpy as np

from ..lang.families import SUMMED
from ..model import missing
from ..model.draws import Draws
from ..model.missing import Layout


def known_covariates(ir) -> dict[str, float]:
    """The covariates whose distribution is known, each with its ``P(value = 1)``: a transform's confounder.

    A fully known node (:attr:`~dagmed.model.ir.NodeModel.fully_known`: no parameter, no design;
    :func:`dagmed.model.confounding.confound`'s ``U``) is a binary covariate independent of
    everything measured: the regimes average over it with its own probabilities, not its
    posterior given each row.

    Examples
    --------
    >>> import dagmed
    >>> from dagmed.model.confounding import confound
    >>> from dagmed.model.ir import ModelIR
    >>> ir = ModelIR.from_analysis(dagmed.check(dagmed.parse("treatment t\\noutcome y\\nt -> m -> y\\nt -> y\\nm, y ~ bernoulli\\n")))
    >>> known_covariates(ir), known_covariates(confound(ir, "m", 1.0))
    ({}, {'U_m': 0.5})
    """
    out = {}
    for c in ir.covariates:
        node = ir.node(c) if ir.is_modelled(c) else None
        if node is not None and node.fully_known:
            eta = node.known_predictor({}, {})
            out[c] = float(node.family.link.inverse(np.asarray(eta, dtype=float)))
    return out


def average_known(covariates: dict, weights, n_obs: int, known: dict[str, float]):
    """Every regime row once per value of each known covariate, weighted by its probability.

    ``(covariates, weights, n_obs)`` as :class:`~dagmed.effects.regimes.RegimeInputs` takes them
    (``weights`` None: every row alike); returns them with the rows repeated, the first copy at
    the value 0, the second at 1. At probability 1/2 and no weights the rows are repeated
    unweighted: the mean over both copies is the average with weight 1/2 each, and rows alike
    can still be merged (:meth:`~dagmed.effects.regimes.RegimeInputs.distinct`).

    Examples
    --------
    >>> cov, w, n = average_known({"x": np.array([3.0, 4.0])}, None, 2, {"u": 0.5})
    >>> cov["x"].tolist(), cov["u"].tolist(), w, n
    ([3.0, 4.0, 3.0, 4.0], [0.0, 0.0, 1.0, 1.0], None, 4)
    >>> average_known({}, None, 2, {"u": 0.25})[1].tolist()
    [[0.75, 0.75, 0.25, 0.25]]
    """
    for c, p in known.items():
        covariates = {k: np.concatenate([x, x], axis=-1) for k, x in covariates.items()}
        covariates[c] = np.repeat([0.0, 1.0], n_obs)
        if weights is not None or p != 0.5:
            w = np.ones((1, n_obs)) if weights is None else weights
            weights = np.concatenate([w * (1 - p), w * p], axis=1)
        n_obs *= 2
    return covariates, weights, n_obs


def regime_rows(draws: Draws, lay: Layout, dataset) -> tuple[dict, np.ndarray, np.ndarray]:
    """The rows the regimes average over, and their weights per draw (MATH.md section 3c).

    Every row of ``dataset`` is used. A row with ``b`` missing binary covariates becomes
    ``2^b`` rows, one per combination of their values, weighted per draw by its posterior
    probability given the row's observed values and the draw's parameters and latent
    values; a row's weights add up to 1. A missing continuous covariate takes its latent
    variable's draws: that covariate's column is ``(S, N')``. A covariate of known distribution
    (:func:`known_covariates`) is left out: :func:`average_known` adds it.

    Parameters
    ----------
    draws : dagmed.model.draws.Draws
        The posterior draws, with the latent values of ``lay``'s missing continuous data.
    lay : dagmed.model.missing.Layout
        The layout of ``dataset``'s missing values.
    dataset : dagmed.model.data.Dataset

    Returns
    -------
    covariates : dict
        Covariate name -> ``(N',)`` values, or ``(S, N')`` for one with latent values.
    weights : (S, N') array
    rows : (N',) array
        The data row of each regime row (a row of the data with missing binary covariates
        appears once per combination of their values).
    """
    n_draws = draws.n_draws
    known = known_covariates(lay.ir)  # averaged over their own distribution (average_known), not per row
    covs = tuple(c for c in lay.ir.covariates if c not in known)
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
            ll = missing.block_loglik(lay, block, draws)
            ll = ll - ll.max(axis=2, keepdims=True)
            p = np.exp(ll)
            probs[id(block)] = p / p.sum(axis=2, keepdims=True)
        p = probs[id(block)][:, j, :]  # (S, 2^b)
        at = [block.summed[j].index(c) for c in missing_covs]  # their bits among the row's summed-out nodes
        comb = missing.bits(block.b)[:, at] @ (
            1 << np.arange(len(at) - 1, -1, -1)
        )  # each combination's covariate values
        for cx, value in enumerate(missing.bits(len(at))):
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
