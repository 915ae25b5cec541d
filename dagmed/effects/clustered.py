r"""Cluster effects in the regimes: the observed clusters' own intercepts, or a new cluster's integrated out.

A node's random intercept by a cluster column is one more additive term of its linear
predictor (:mod:`dagmed.model.clusters`), so the regimes need no kernel of their own: the
effects' inputs carry the intercepts as terms of the nodes' GLMs.

* :func:`observed` (the default, ``--clusters observed``): the effects over the observed rows,
  each with its own cluster's intercepts (and slopes): the cluster column enters as a covariate
  whose level indicators ``school[g]`` have the draws of the clusters' intercepts as
  coefficients (and ``t:school[g]`` the slopes'). These are the sample-average effects
  every other run reports.
* :func:`new_cluster` (``--clusters new``): the effects in a cluster not in the data, drawn from
  the fitted distribution of the clusters: every regime integrated over the new cluster's
  standardised intercepts (and slopes) ``z ~ Normal(0, 1)``, independent per node and column,
  by a tensor Gauss--Hermite rule: each row is repeated at every node ``sqrt(2) x_j`` of the
  rule, weighted by ``w_j / sqrt(pi)``, and the term ``z`` has the draw's sd as coefficient.
  :func:`choose_nodes` doubles the nodes per dimension until the effects change by less than
  :data:`TARGET` (on up to :data:`ERROR_DRAWS` draws) and reports that change as the error.

Examples
--------
>>> from dagmed.lang.families import FAMILIES
>>> from dagmed.model.clusters import ClusterDraws
>>> from dagmed.model.draws import NodeDraws
>>> c = ClusterDraws("school", np.array([1.0]), np.array([[0.5, -0.5]]))
>>> y = NodeDraws(FAMILIES["bernoulli"], np.zeros(1), np.ones((1, 1)), ("t",), clusters={"school": c})
>>> y2 = with_observed(y)
>>> y2.terms, y2.beta.tolist()
(('t', 'school[0]', 'school[1]'), [[1.0, 0.5, -0.5]])
"""

from __future__ import annotations

import itertools

import numpy as np

from ..model.draws import NodeDraws
from .regimes import RegimeInputs

TARGET = 1e-4  # the nodes per dimension are doubled until no effect changes by more than this
NODES = 8  # Gauss-Hermite nodes per dimension to begin with
MAX_POINTS = 2**14  # grid points per row at most (nodes ** dimensions)
# outcome evaluations of the whole decomposition at most (distinct rows x points x draws x corners): a
# minute or two on 2 cores; beyond it the rule keeps fewer nodes, and the error it reports is theirs
BUDGET = 2e9
ERROR_DRAWS = 100  # the error is estimated on at most this many draws, spread over the chains
MODES = ("observed", "new")


def with_observed(glm: NodeDraws) -> NodeDraws:
    """``glm`` with its clusters' intercepts (and slopes) as terms: ``column[g]`` (and ``slope:column[g]``)."""
    if not glm.clusters:
        return glm
    terms, betas = list(glm.terms), [glm.beta]
    for column, c in glm.clusters.items():
        g = c.z.shape[1]
        terms += [f"{column}[{k}]" for k in range(g)]
        betas.append(c.intercepts)
        if c.slope is not None:
            terms += [f"{c.slope}:{column}[{k}]" for k in range(g)]
            betas.append(c.slopes)
    return NodeDraws(glm.family, glm.intercept, np.concatenate(betas, axis=1), tuple(terms), glm.extras)


def observed(inputs: RegimeInputs, codes: dict) -> RegimeInputs:
    """The inputs with every node's observed cluster effects, the cluster columns' ``codes`` as covariates."""
    covariates = {**inputs.covariates, **{c: np.asarray(v, dtype=float) for c, v in codes.items()}}
    return _replace(inputs, with_observed(inputs.outcome), tuple(map(with_observed, inputs.mediators)), covariates)


def _dimensions(inputs: RegimeInputs) -> list[tuple[int, str, str, np.ndarray]]:
    """The new cluster's standardised effects: ``(glm index, term, its covariate, coefficient draws)``.

    The intercept's term is ``node/column`` with coefficient ``sd``; a slope
    ``v = slope_sd (rho z + sqrt(1 - rho^2) w)`` is two terms, ``t:node/column`` with
    ``slope_sd rho`` and ``t:node/column/slope`` with ``slope_sd sqrt(1 - rho^2)``.
    """
    out = []
    for j, glm in enumerate((inputs.outcome, *inputs.mediators)):
        for column, c in glm.clusters.items():
            z = f"{j}/{column}"  # '/' is in no node's name: the covariate cannot shadow a node
            out.append((j, z, z, c.sd))
            if c.slope is not None:
                out.append((j, f"{c.slope}:{z}", z, c.slope_sd * c.corr))
                out.append((j, f"{c.slope}:{z}/slope", f"{z}/slope", c.slope_sd * np.sqrt(1.0 - c.corr**2)))
    return out


def n_dimensions(inputs: RegimeInputs) -> int:
    """How many standardised effects a new cluster has (the quadrature's dimensions)."""
    return len({cov for _, _, cov, _ in _dimensions(inputs)})


def new_cluster(inputs: RegimeInputs, nodes: int) -> RegimeInputs:
    """The inputs of a new cluster's regimes: every row at every point of a ``nodes``-per-dimension Gauss--Hermite grid.

    ``inputs`` are the regimes' inputs without cluster terms, their GLMs carrying the cluster
    draws (:attr:`NodeDraws.clusters`).
    """
    dims = _dimensions(inputs)
    covs = list(dict.fromkeys(cov for _, _, cov, _ in dims))
    x, w = np.polynomial.hermite.hermgauss(nodes)
    points = np.array(list(itertools.product(np.sqrt(2.0) * x, repeat=len(covs)))).reshape(-1, len(covs))
    weights = np.prod(np.array(list(itertools.product(w / np.sqrt(np.pi), repeat=len(covs)))), axis=1).reshape(-1)
    base = inputs.distinct()
    n, p = base.n_obs, len(weights)
    covariates = {c: np.repeat(v, p, axis=-1) for c, v in base.covariates.items()}
    covariates.update({c: np.tile(points[:, k], n) for k, c in enumerate(covs)})
    if base.weights is None:
        row_w = np.ones(n)
    else:
        row_w = base.weights
    if row_w.ndim == 1 or row_w.strides[0] == 0:  # one weight per row for every draw: keep it a view
        flat = np.kron(np.asarray(row_w).reshape(-1, n)[0], weights)
        all_w = np.broadcast_to(flat, (base.n_draws, n * p))
    else:
        all_w = (row_w[:, :, None] * weights[None, None, :]).reshape(base.n_draws, n * p)
    glms = [base.outcome, *base.mediators]
    extra = {j: ([], []) for j in range(len(glms))}
    for j, term, _, coef in dims:
        extra[j][0].append(term)
        extra[j][1].append(coef[:, None])
    new = []
    for j, glm in enumerate(glms):
        terms, betas = extra[j]
        beta = np.concatenate([glm.beta, *betas], axis=1) if betas else glm.beta
        new.append(NodeDraws(glm.family, glm.intercept, beta, (*glm.terms, *terms), glm.extras))
    return RegimeInputs(
        new[0],
        tuple(new[1:]),
        base.mediator_names,
        base.treatment,
        covariates,
        n * p,
        all_w,
        base.contrast,
    )


def choose_nodes(inputs: RegimeInputs, effects_of) -> tuple[int, float]:
    """The nodes per dimension, and the estimated error of the effects with them.

    ``effects_of(inputs) -> dict of effect draws``. The effects at ``n`` nodes are compared
    with those at ``2n`` on up to :data:`ERROR_DRAWS` draws; ``n`` is doubled while the
    largest change (proportions mediated aside) is above :data:`TARGET` and ``(2n)^D``
    stays within :data:`MAX_POINTS` and the decomposition within :data:`BUDGET` outcome
    evaluations (many distinct rows start it below 8, down to 2). The change between ``n``
    and ``2n`` is the error reported, whichever of the two is returned.
    """
    d = max(n_dimensions(inputs), 1)
    corners = 2 ** (len(inputs.mediators) + 1)
    limit = min(MAX_POINTS, BUDGET / (inputs.distinct().n_obs * inputs.n_draws * corners))
    step = max(1, inputs.n_draws // ERROR_DRAWS)
    few = inputs.draws(slice(0, inputs.n_draws, step))
    n = NODES
    while n > 2 and n**d > limit:  # many distinct rows: fewer nodes, the error estimated for them all the same
        n //= 2
    while True:
        coarse, fine = effects_of(new_cluster(few, n)), effects_of(new_cluster(few, 2 * n))
        with np.errstate(invalid="ignore"):
            gaps = [np.nanmax(np.abs(fine[k] - coarse[k]), initial=0.0) for k in fine if not k.startswith("PM[")]
        error = float(max(gaps, default=0.0))
        if error <= TARGET or (4 * n) ** d > limit:
            # the finer rule is at least as good: take it when it is affordable
            return (2 * n, error) if (2 * n) ** d <= limit else (n, error)
        n *= 2


def _replace(inputs: RegimeInputs, outcome, mediators, covariates) -> RegimeInputs:
    return RegimeInputs(
        outcome,
        mediators,
        inputs.mediator_names,
        inputs.treatment,
        covariates,
        inputs.n_obs,
        inputs.weights,
        inputs.contrast,
    )
