"""Synthetic GLM draws for the regime and decomposition tests (no sampling), and the bound on
how far two correct ways of computing a regime table may differ.

Shared by ``test_regimes.py`` and ``test_decomposition.py`` (a plain module, not a test
file: pytest puts this folder on ``sys.path`` for the test files in it).
"""

import numpy as np

from dagmed.effects import regimes as R
from dagmed.lang.families import FAMILIES
from dagmed.model.draws import NodeDraws

EPS = np.finfo(float).eps

# The family row of each link the tests use: logit (binary mediators), identity, log.
FAMILY_OF_LINK = {"logit": FAMILIES["bernoulli"], "identity": FAMILIES["normal"], "log": FAMILIES["poisson"]}


def glm(link, intercept, beta, terms):
    """A node's draws with the family of ``link`` (``NodeDraws``, formerly ``GLMDraws(link, ...)``)."""
    return NodeDraws(FAMILY_OF_LINK[link], intercept, beta, tuple(terms))


def make_inputs(k, n_draws=7, n_obs=11, seed=0, outcome_link="logit", mediator_link="logit", edges=()):
    """Random GLM draws for K mediators; ``edges`` are (parent index, child index) among them."""
    rng = np.random.default_rng(seed)
    cov = {"x1": rng.normal(size=n_obs), "x2": rng.binomial(1, 0.4, size=n_obs).astype(float)}
    meds = tuple(f"m{j}" for j in range(k))
    mglms = []
    for j in range(k):
        parents = ("t", *(meds[a] for a, b in edges if b == j), "x1", "x2")
        mglms.append(glm(mediator_link, rng.normal(size=n_draws), rng.normal(size=(n_draws, len(parents))), parents))
    y = glm(outcome_link, rng.normal(size=n_draws), rng.normal(size=(n_draws, 3 + k)), ("t", *meds, "x1", "x2"))
    return R.RegimeInputs(y, tuple(mglms), meds, "t", cov, n_obs)


def table_tolerance(p):
    """An absolute bound on the rounding error of any two ways of computing ``p``'s regime table.

    Each entry is a mean over N observations of a value built by K contractions
    ``r0 + q (r1 - r0)`` from the outcome mean at the corners. Every contraction adds at most
    a few roundings relative to ``B = max|mu| * prod_k (1 + 2 max|q_k|)`` (the largest
    intermediate value), and summing N terms in any order adds at most N - 1 more; two
    engines that order the operations differently (or one CPU's vectorised sum against
    another's) therefore differ by at most ``2 * 4 * (K + N) * eps * B``. The bound does not
    depend on the machine, only on the arithmetic.
    """
    every = slice(None)
    mu = R.outcome_corners(p, every, every)
    qs = R.mediator_marginals(p, every, every)
    bound = np.abs(mu).max()
    for q in qs:
        bound *= 1 + 2 * np.abs(q).max()
    # dependent binary mediators: each marginal and joint regime also sums 2^K products of
    # K + 1 factors in [0, 1], another (K + 1) 2^K roundings at most
    joint_terms = (len(qs) + 1) * 2 ** len(qs) if p.dependent else 0
    return 8 * (len(qs) + p.n_obs + joint_terms) * EPS * bound


# Mediator sub-DAGs for the dependent-mediator tests (MATH.md section 3b): (K, edges).
DAGS = {
    "chain": (3, ((0, 1),)),  # m0 -> m1, m2 independent
    "long_chain": (4, ((0, 1), (1, 2), (2, 3))),
    "two_parents": (3, ((0, 2), (1, 2))),
    "fork_and_skip": (4, ((0, 1), (0, 2), (1, 3), (0, 3))),
    "spec_order_not_topological": (3, ((2, 0), (1, 0))),
}
