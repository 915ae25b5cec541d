"""Every mediator family, dependent or not, under non-linear outcomes: the grids of
dagmed.effects.quadrature against Monte Carlo with 10^6 draws of the mediators, drawn by
NumPy's own generators down the mediator DAG (an implementation that shares nothing with
the grids but the parameters)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import special, stats

from dagmed.effects import regimes as reg
from dagmed.effects.quadrature import TAIL, integrate, needed
from dagmed.effects.regimes import RegimeInputs
from dagmed.lang.families import FAMILIES
from dagmed.model.draws import NodeDraws

N_MC = 10**6
EXTRAS = {
    "normal": {"sigma": np.array([0.8])},
    "studentt": {"sigma": np.array([0.7]), "nu": np.array([3.0])},
    "negbinomial": {"alpha": np.array([2.0])},
    "ordinal": {"gaps": np.array([[0.9, 1.3]])},  # four levels
}
CATEGORIES = 3  # a categorical node's levels


def _eta(glm: NodeDraws, values: dict) -> np.ndarray:
    """The linear predictor from the terms' names: ``a:b`` a product, ``m[2]`` the indicator of level 2.

    A categorical node's has a last axis: one predictor per level but the first.
    """
    eta = glm.intercept[0]
    for j, term in enumerate(glm.terms):
        value = 1.0
        for f in term.split(":"):
            if f.endswith("]"):
                node, level = f[:-1].split("[")
                value = value * (values[node] == int(level))
            else:
                value = value * values[f]
        if glm.family.name == "categorical":
            eta = eta + glm.beta[0, j] * np.asarray(value, dtype=float)[..., None]
        else:
            eta = eta + glm.beta[0, j] * value
    return eta


def _draw(glm: NodeDraws, eta, rng, n):
    name = glm.family.name
    if name == "categorical":  # the softmax of [0, eta_1, eta_2] by the Gumbel-max trick
        full = np.column_stack([np.zeros(n), np.broadcast_to(eta, (n, CATEGORIES - 1))])
        return np.argmax(full + rng.gumbel(size=full.shape), axis=1).astype(float)
    eta = np.broadcast_to(eta, (n,))
    if name == "bernoulli":
        return rng.binomial(1, special.expit(eta)).astype(float)
    if name == "normal":
        return rng.normal(eta, glm.extras["sigma"][0])
    if name == "studentt":
        return eta + glm.extras["sigma"][0] * rng.standard_t(glm.extras["nu"][0], size=n)
    if name == "poisson":
        return rng.poisson(np.exp(eta)).astype(float)
    if name == "negbinomial":
        a = glm.extras["alpha"][0]
        return rng.negative_binomial(a, a / (a + np.exp(eta))).astype(float)
    cuts = np.concatenate([[0.0], np.cumsum(glm.extras["gaps"][0])])
    below = stats.logistic.cdf(cuts[None, :] - eta[:, None])  # P(Y <= l)
    return (rng.uniform(size=(n, 1)) > below).sum(axis=1).astype(float)


def _node(family, terms, rng):
    if family == "categorical":
        coef = rng.normal(0.0, 0.8, size=(1, len(terms), CATEGORIES - 1))
        return NodeDraws(FAMILIES[family], rng.normal(0.0, 0.4, size=(1, CATEGORIES - 1)), coef, terms)
    coef = rng.normal(0.0, 0.6, size=(1, len(terms)))
    return NodeDraws(FAMILIES[family], np.array([rng.normal(0.0, 0.4)]), coef, terms, EXTRAS.get(family, {}))


def _monte_carlo(inputs: RegimeInputs, x: float, rng):
    """E(t; t_1..t_K) and Ej(t; t*) at covariate value x by 10^6 draws, with their standard errors."""
    names, meds = inputs.mediator_names, inputs.mediators
    order = inputs.topological_order()

    def chain(t_star):  # the mediators' joint under do(T = t_star)
        values = {"t": float(t_star), "x": x}
        for j in order:
            values[names[j]] = _draw(meds[j], _eta(meds[j], values), rng, N_MC)
        return values

    def mean_y(t, values):
        mu = inputs.outcome.link.inverse(_eta(inputs.outcome, {**values, "t": float(t), "x": x}))
        return mu.mean(), mu.std() / np.sqrt(N_MC)

    under = [chain(0), chain(1)]
    table, se = {}, {}
    for t, *tk in itertools.product((0, 1), repeat=len(meds) + 1):
        # each mediator from its own marginal: independent chains, one per treatment level given it
        values = {n: chain(tk[j])[n] for j, n in enumerate(names)}
        table[(t, *tk)], se[(t, *tk)] = mean_y(t, values)
    joint = {(t, ts): mean_y(t, under[ts]) for t in (0, 1) for ts in (0, 1)}
    return table, se, joint


CASES = {
    # name: (mediators as (family, terms), outcome family, outcome terms)
    "normal -> bernoulli, logit": (
        (("normal", ("t",)), ("bernoulli", ("t", "m0"))),
        "bernoulli",
        ("t", "m0", "m1", "t:m1"),
    ),
    "bernoulli -> normal, logit": (
        (("bernoulli", ("t",)), ("normal", ("t", "m0"))),
        "bernoulli",
        ("t", "m0", "m1", "t:m1"),
    ),
    "poisson -> normal with t:m, logit": (
        (("poisson", ("t",)), ("normal", ("t", "m0", "t:m0"))),
        "bernoulli",
        ("t", "m0", "m1"),
    ),
    "ordinal, negbinomial outcome": (
        (("ordinal", ("t", "x")),),
        "negbinomial",
        ("t", "m0[1]", "m0[2]", "m0[3]", "t:m0[2]", "x"),
    ),
    "ordinal -> bernoulli, logit": (
        (("ordinal", ("t",)), ("bernoulli", ("t", "m0[1]", "m0[2]", "m0[3]"))),
        "bernoulli",
        ("t", "m0[3]", "m1"),
    ),
    "categorical with t:m, logit": (
        (("categorical", ("t", "x")),),
        "bernoulli",
        ("t", "m0[1]", "m0[2]", "t:m0[1]", "x"),
    ),
    "categorical -> poisson -> normal, logit": (
        (("categorical", ("t",)), ("poisson", ("t", "m0[1]", "m0[2]")), ("normal", ("m1",))),
        "bernoulli",
        ("t", "m0[2]", "m2"),
    ),
    "studentt, logit with t:m": ((("studentt", ("t", "x")),), "bernoulli", ("t", "m0", "t:m0")),
    "normal -> normal, logit": ((("normal", ("t",)), ("normal", ("t", "m0"))), "bernoulli", ("t", "m0", "m1")),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_regimes_against_a_million_draws_down_the_mediator_dag(case):
    mediators, outcome, terms = CASES[case]
    rng = np.random.default_rng(sum(map(ord, case)))
    meds = tuple(_node(f, tms, rng) for f, tms in mediators)
    names = tuple(f"m{j}" for j in range(len(meds)))
    y = _node(outcome, terms, rng)
    x = 0.3
    inputs = RegimeInputs(y, meds, names, "t", {"x": np.array([x])}, n_obs=1)
    assert needed(inputs)
    got = integrate(inputs)
    assert got.error < 1e-5 and got.tail < TAIL
    table, se, joint = _monte_carlo(inputs, x, rng)
    for key, value in table.items():
        # 5 Monte Carlo standard errors; the grid's own error is below 1e-5
        assert abs(got.table[(0, *key)] - value) < 5 * se[key] + 2e-5, (key, got.table[(0, *key)], value)
    for (t, ts), (value, e) in joint.items():
        assert abs(got.joint[0, t, ts] - value) < 5 * e + 2e-5, ((t, ts), got.joint[0, t, ts], value)


def test_dependent_binary_mediators_on_grids_equal_the_enumeration():
    """The grids' walk down the mediator DAG and the 2^K enumeration are one sum: equal to rounding."""
    rng = np.random.default_rng(5)
    m0 = _node("bernoulli", ("t", "x"), rng)
    m1 = _node("bernoulli", ("t", "m0"), rng)
    m2 = _node("bernoulli", ("t", "m0", "m1", "m0:m1"), rng)
    y = _node("bernoulli", ("t", "m0", "m1", "m2", "t:m2"), rng)
    x = rng.normal(size=7)
    inputs = RegimeInputs(y, (m0, m1, m2), ("m0", "m1", "m2"), "t", {"x": x}, n_obs=7)
    grid, enum = integrate(inputs), reg.regimes(inputs, engine="numpy")
    np.testing.assert_allclose(grid.table, enum.table, rtol=0, atol=1e-14)
    np.testing.assert_allclose(grid.joint, enum.joint, rtol=0, atol=1e-14)


def test_distinct_rows_give_the_same_regimes():
    rng = np.random.default_rng(8)
    m = _node("normal", ("t", "x"), rng)
    y = _node("bernoulli", ("t", "m0", "x"), rng)
    x = rng.choice([0.0, 1.0, 2.5], size=50)
    inputs = RegimeInputs(y, (m,), ("m0",), "t", {"x": x}, n_obs=50)
    assert inputs.distinct().n_obs == 3
    np.testing.assert_allclose(integrate(inputs.distinct()).table, integrate(inputs).table, rtol=1e-13)


def test_a_contrast_moves_every_grid():
    """contrast 2 vs -1: the grids under the two treatment values, against Monte Carlo at those values."""
    rng = np.random.default_rng(9)
    m = _node("poisson", ("t",), rng)
    y = _node("bernoulli", ("t", "m0", "t:m0"), rng)
    inputs = RegimeInputs(y, (m,), ("m0",), "t", {}, n_obs=1, contrast=(2.0, -1.0))
    got = integrate(inputs)
    for t, tm in itertools.product((0, 1), repeat=2):
        tv, tmv = (-1.0, 2.0)[t], (-1.0, 2.0)[tm]
        draws = _draw(m, _eta(m, {"t": tmv}), rng, N_MC)
        mu = special.expit(_eta(y, {"t": tv, "m0": draws}))
        assert abs(got.table[0, t, tm] - mu.mean()) < 5 * mu.std() / np.sqrt(N_MC)


def test_the_compiled_kernel_is_the_numpy_steps(monkeypatch):
    """The odometer over the union grids (dagmed.effects.gridkernel) against the NumPy steps it replaces."""
    from dagmed.effects import quadrature

    rng = np.random.default_rng(12)
    m0 = _node("normal", ("t", "x"), rng)
    m1 = _node("categorical", ("t",), rng)
    m2 = _node("poisson", ("t", "m1[2]"), rng)
    y = _node("bernoulli", ("t", "m0", "m1[1]", "m1[2]", "m2", "t:m0", "x"), rng)
    x = rng.normal(size=9)
    w = rng.uniform(0.5, 1.5, size=(1, 9))
    inputs = RegimeInputs(y, (m0, m1, m2), ("m0", "m1", "m2"), "t", {"x": x}, n_obs=9, weights=w)
    assert quadrature.additive(inputs)
    compiled = integrate(inputs)
    monkeypatch.setattr(quadrature, "additive", lambda inputs: False)
    steps = integrate(inputs)
    # sums of a few thousand terms in [0, 1] in another order: agreement to 1e-13
    np.testing.assert_allclose(compiled.table, steps.table, rtol=0, atol=1e-13)
    np.testing.assert_allclose(compiled.joint, steps.joint, rtol=0, atol=1e-13)
