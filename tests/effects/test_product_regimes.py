"""Regimes with product terms (``t:m -> y``, ``m1:m2 -> y``, ``x:t -> m``): every term at every corner, exact.

Checked against the brute-force enumeration of ``tests/reference.py`` (binary mediators, any
link, dependent or not) and, for continuous mediators with an identity-link outcome, against
Monte Carlo with 10^6 draws of the mediators.
"""

import numpy as np
import pytest

from dagmed.effects import regimes as R
from dagmed.effects.decomposition import effects

from reference import regimes_naive
from synthetic_draws import EPS, glm, table_tolerance

rng = np.random.default_rng(20261204)


def _inputs(outcome_terms, mediator_terms, n_draws=6, n_obs=9, outcome_link="logit", mediator_link="logit", seed=1):
    """Random draws of GLMs whose designs hold the terms given (products written ``a:b``)."""
    r = np.random.default_rng(seed)
    cov = {"x1": r.normal(size=n_obs), "x2": r.binomial(1, 0.4, n_obs).astype(float)}
    meds = tuple(mediator_terms)
    mglms = tuple(
        glm(mediator_link, r.normal(size=n_draws), r.normal(size=(n_draws, len(ts))), ts)
        for ts in mediator_terms.values()
    )
    y = glm(outcome_link, r.normal(size=n_draws), r.normal(size=(n_draws, len(outcome_terms))), outcome_terms)
    return R.RegimeInputs(y, mglms, meds, "t", cov, n_obs)


PRODUCTS = {
    "t:m in the outcome": (("t", "m0", "m1", "x1", "t:m0", "t:m1"), {"m0": ("t", "x1"), "m1": ("t", "x2")}),
    "m:m in the outcome": (("t", "m0", "m1", "x1", "m0:m1"), {"m0": ("t", "x1"), "m1": ("t", "x2")}),
    "x:t and x:m": (("t", "m0", "x1", "x2", "t:x1", "m0:x2"), {"m0": ("t", "x1", "t:x1")}),
    "three-way": (("t", "m0", "m1", "t:m0:m1", "x2:x1"), {"m0": ("t",), "m1": ("t", "x1")}),
    "dependent, t:m in a mediator": (
        ("t", "m0", "m1", "t:m1"),
        {"m0": ("t", "x1"), "m1": ("t", "m0", "t:m0", "m0:x2")},
    ),
}


@pytest.mark.parametrize("name", sorted(PRODUCTS))
@pytest.mark.parametrize("link", ["logit", "identity", "log"])
def test_regimes_with_product_terms_equal_brute_force(name, link):
    y_terms, m_terms = PRODUCTS[name]
    inputs = _inputs(y_terms, m_terms, outcome_link=link)
    assert not inputs.additive
    got = R.regimes(inputs)  # engine "auto": the named steps
    table, joint = regimes_naive(inputs)
    tol = table_tolerance(inputs)
    np.testing.assert_allclose(got.table, table, rtol=0, atol=tol)
    np.testing.assert_allclose(got.joint, joint, rtol=0, atol=tol)


def test_without_products_auto_is_the_kernel_bit_for_bit():
    inputs = _inputs(("t", "m0", "x1", "x2:x1"), {"m0": ("t", "x1")})  # a product of covariates only
    assert inputs.additive
    np.testing.assert_array_equal(R.regimes(inputs).table, R.regimes(inputs, engine="numba").table)


def test_the_kernels_refuse_a_product_of_the_treatment():
    inputs = _inputs(*PRODUCTS["t:m in the outcome"])
    with pytest.raises(ValueError, match="no product term of the treatment or a mediator"):
        R.regimes(inputs, engine="numba")


def test_a_product_changes_the_effects_as_its_coefficient_says():
    """Identity outcome, one binary mediator: IIE = (b_m + b_tm t) (q1 - q0) at level t, exactly."""
    inputs = _inputs(("t", "m0", "t:m0"), {"m0": ("t",)}, n_obs=1, outcome_link="identity")
    table = R.regimes(inputs).table
    y, m = inputs.outcome, inputs.mediators[0]
    q = [1 / (1 + np.exp(-(m.intercept + m.coef("t") * t))) for t in (0, 1)]
    for convention, level in (("control", 0), ("treated", 1)):
        eff = effects(table, ("m0",), convention)
        want = (y.coef("m0") + y.coef("t:m0") * level) * (q[1] - q[0])
        # a handful of roundings on values of order 10
        np.testing.assert_allclose(eff["IIE[m0]"], want, rtol=0, atol=64 * EPS * (1 + np.abs(want).max()))


def test_continuous_mediators_with_products_against_monte_carlo():
    """Normal mediators, identity outcome with t:m and m:m products: the contraction with the
    mediators' means is exact (the outcome is affine in each mediator); 10^6 draws agree."""
    from dagmed.lang.families import FAMILIES
    from dagmed.model.draws import NodeDraws

    normal = FAMILIES["normal"]
    r = np.random.default_rng(7)
    x = r.normal(size=3)
    m0 = NodeDraws(normal, r.normal(size=1), r.normal(size=(1, 2)), ("t", "x1"), {"sigma": np.array([0.7])})
    m1 = NodeDraws(normal, r.normal(size=1), r.normal(size=(1, 2)), ("t", "x1"), {"sigma": np.array([1.3])})
    y = NodeDraws(normal, r.normal(size=1), r.normal(size=(1, 5)), ("t", "m0", "m1", "t:m0", "m0:m1"), {})
    inputs = R.RegimeInputs(y, (m0, m1), ("m0", "m1"), "t", {"x1": x}, n_obs=3)
    table = R.regimes(inputs).table[0]
    n = 10**6
    for t, t0, t1 in np.ndindex(2, 2, 2):
        values = []
        for i in range(3):
            d0 = r.normal(m0.intercept[0] + m0.beta[0, 0] * t0 + m0.beta[0, 1] * x[i], 0.7, n)
            d1 = r.normal(m1.intercept[0] + m1.beta[0, 0] * t1 + m1.beta[0, 1] * x[i], 1.3, n)
            b = y.beta[0]
            values.append(y.intercept[0] + b[0] * t + b[1] * d0 + b[2] * d1 + b[3] * t * d0 + b[4] * d0 * d1)
        draws = np.mean(values, axis=0)
        se = draws.std() / np.sqrt(n)
        assert abs(draws.mean() - table[t, t0, t1]) < 5 * se, (t, t0, t1, draws.mean(), table[t, t0, t1], se)
