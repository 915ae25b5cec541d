"""Non-binary mediators under a non-linear outcome: the grids of dagmed.effects.quadrature against
Monte Carlo with 10^6 draws of the mediators, and the error they report against the truth."""

import itertools

import numpy as np
import pytest
from scipy import special

from dagmed.effects.quadrature import TAIL, integrate
from dagmed.effects.regimes import RegimeInputs
from dagmed.lang.families import FAMILIES
from dagmed.model.draws import NodeDraws

N_MC = 10**6


def _mediator(name, rng, x):
    fam = FAMILIES[name]
    extras = {"normal": {"sigma": np.array([0.9])}, "negbinomial": {"alpha": np.array([1.5])}}.get(name, {})
    beta = np.array([[0.8, 0.3]]) if name != "normal" else np.array([[1.2, 0.5]])
    return NodeDraws(fam, np.array([0.2 if name != "normal" else 0.5]), beta, ("t", "x"), extras)


def _draw(m, t, x, rng, n):
    """n draws of mediator m at treatment t and covariate x (an implementation of its own, numpy's)."""
    eta = m.intercept[0] + m.beta[0, 0] * t + m.beta[0, 1] * x
    name = m.family.name
    if name == "bernoulli":
        return rng.binomial(1, special.expit(eta), n).astype(float)
    if name == "normal":
        return rng.normal(eta, m.extras["sigma"][0], n)
    if name == "poisson":
        return rng.poisson(np.exp(eta), n).astype(float)
    a = m.extras["alpha"][0]
    return rng.negative_binomial(a, a / (a + np.exp(eta)), n).astype(float)


CASES = {  # mediator families, outcome family, outcome terms
    "normal, logit with t:m": (("normal",), "bernoulli", ("t", "m0", "t:m0")),
    "poisson, logit": (("poisson",), "bernoulli", ("t", "m0", "x")),
    "negbinomial, logit": (("negbinomial",), "bernoulli", ("t", "m0")),
    "bernoulli, normal, poisson, logit with t:m": (
        ("bernoulli", "normal", "poisson"),
        "bernoulli",
        ("t", "m0", "m1", "m2", "t:m1", "m0:m2"),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_regimes_against_a_million_draws_of_the_mediators(case):
    families, outcome, terms = CASES[case]
    rng = np.random.default_rng(11)
    x = np.array([-0.7, 0.4])
    meds = tuple(_mediator(f, rng, x) for f in families)
    names = tuple(f"m{j}" for j in range(len(meds)))
    coef = rng.normal(0, 0.4, size=(1, len(terms)))
    y = NodeDraws(FAMILIES[outcome], np.array([-0.3]), coef, terms)
    inputs = RegimeInputs(y, meds, names, "t", {"x": x}, n_obs=2)
    got = integrate(inputs)
    assert got.error < 1e-6 and got.tail < TAIL
    inverse = FAMILIES[outcome].link.inverse
    for t, *tk in itertools.product((0, 1), repeat=len(meds) + 1):
        means = []
        for i in range(2):
            values = {
                "t": float(t),
                "x": x[i],
                **{n: _draw(m, tk[j], x[i], rng, N_MC) for j, (n, m) in enumerate(zip(names, meds))},
            }
            eta = y.intercept[0]
            for j, term in enumerate(terms):
                value = 1.0
                for f in term.split(":"):
                    value = value * values[f]
                eta = eta + coef[0, j] * value
            means.append(inverse(eta))
        draws = np.mean(means, axis=0)
        se = draws.std() / np.sqrt(N_MC)
        # 5 standard errors of the Monte Carlo mean (the grid's own error is below 1e-6)
        assert abs(draws.mean() - got.table[(0, t, *tk)]) < 5 * se + 1e-6, (
            t,
            tk,
            draws.mean(),
            got.table[(0, t, *tk)],
            se,
        )


def test_the_reported_error_bounds_the_error_of_fewer_nodes():
    """With 4 Gauss-Hermite nodes the grid is coarse: the doubled-node estimate says so, and is not smaller than the truth's gap."""
    families, outcome, terms = CASES["normal, logit with t:m"]
    rng = np.random.default_rng(3)
    x = np.array([0.1])
    meds = (_mediator("normal", rng, x),)
    y = NodeDraws(FAMILIES[outcome], np.array([-0.3]), np.array([[0.5, 1.5, -0.8]]), terms)
    inputs = RegimeInputs(y, meds, ("m0",), "t", {"x": x}, n_obs=1)
    coarse, fine = integrate(inputs, nodes=4, target=np.inf), integrate(inputs, nodes=64, target=np.inf)
    gap = float(np.max(np.abs(coarse.table - fine.table)))  # 64 nodes: exact to rounding here
    assert coarse.error > 1e-6
    assert coarse.error >= 0.5 * gap  # the estimate (4 against 8 nodes) is of the size of the true error


def test_a_count_mediator_under_a_log_outcome_is_refused():
    """E[exp(b M)] of a count M need not exist (a negative binomial's does not for large b): not summed."""
    from dagmed.errors import SpecError

    rng = np.random.default_rng(0)
    m = _mediator("negbinomial", rng, None)
    y = NodeDraws(FAMILIES["poisson"], np.array([0.0]), np.array([[0.2, 0.9]]), ("t", "m0"))
    with pytest.raises(SpecError, match=r"negbinomial mediator \(m0\) under a log-link outcome"):
        integrate(RegimeInputs(y, (m,), ("m0",), "t", {"x": np.array([0.0])}, n_obs=1))
