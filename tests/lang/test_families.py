"""The family rows: each row's pieces agree with each other and with independent implementations.

A row holds a family's NumPy log density, its PyMC likelihood, its statsmodels family and
its link in three forms; every later stage reads one of them, so they must be one family.
Checked against scipy's distributions, PyMC's own ``logp`` and statsmodels' log likelihood.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

from dagmed.lang.families import FAMILIES, LINKS, SAMPLED, SUMMED, SUPPORTS
from dagmed.lang.priors import INTERVAL, LOG, NO_TRANSFORM, PRIORS

RNG = np.random.default_rng(20261204)
ETA = RNG.normal(0.0, 1.5, 200)
SIGMA = 0.7

# Draws of each family at ETA, and scipy's log density of them: an implementation dagmed does not use.
SCIPY = {
    "bernoulli": (
        lambda eta: RNG.binomial(1, special.expit(eta)).astype(float),
        lambda v, eta: stats.bernoulli.logpmf(v, special.expit(eta)),
    ),
    "normal": (lambda eta: RNG.normal(eta, SIGMA), lambda v, eta: stats.norm.logpdf(v, eta, SIGMA)),
    "studentt": (
        lambda eta: eta + SIGMA * RNG.standard_t(NU, size=np.shape(eta)),
        lambda v, eta: stats.t.logpdf(v, NU, eta, SIGMA),
    ),
    "negbinomial": (
        lambda eta: RNG.negative_binomial(ALPHA, ALPHA / (ALPHA + np.exp(eta))).astype(float),
        lambda v, eta: stats.nbinom.logpmf(v, ALPHA, ALPHA / (ALPHA + np.exp(eta))),
    ),
    "poisson": (
        lambda eta: RNG.poisson(np.exp(eta)).astype(float),
        lambda v, eta: stats.poisson.logpmf(v, np.exp(eta)),
    ),
    # multinomial logit by scipy's multinomial with one trial: the softmax of [0, eta, eta / 2 - 1]
    "categorical": (
        lambda eta: np.array([RNG.choice(3, p=p) for p in _softmax(_two(eta))], dtype=float),
        lambda v, eta: stats.multinomial.logpmf(np.eye(3)[v.astype(int)], 1, _softmax(_two(eta))),
    ),
    # cumulative logit by the logistic distribution's cdf: P(Y <= l) = F(c_l - eta)
    "ordinal": (
        lambda eta: (
            (RNG.uniform(size=(np.size(eta), 1)) > stats.logistic.cdf(CUTS - eta[:, None])).sum(1).astype(float)
        ),
        lambda v, eta: np.log(
            stats.logistic.cdf(np.append(CUTS, np.inf)[v.astype(int)] - eta)
            - stats.logistic.cdf(np.append(-np.inf, CUTS)[v.astype(int)] - eta)
        ),
    ),
}


def _two(eta):
    """Two predictors per row for a three-level categorical node (its levels 1 and 2)."""
    return np.column_stack([eta, 0.5 * eta - 1.0])


def _softmax(eta2):
    full = np.column_stack([np.zeros(len(eta2)), eta2])
    e = np.exp(full - full.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


NU = 3.5
ALPHA = 1.7
GAPS = np.array([0.8, 1.5])
CUTS = np.concatenate([[0.0], np.cumsum(GAPS)])
EXTRAS = {
    "normal": {"sigma": SIGMA},
    "studentt": {"sigma": SIGMA, "nu": NU},
    "negbinomial": {"alpha": ALPHA},
    "ordinal": {"gaps": GAPS},
}


def test_every_family_is_checked_here():
    assert set(SCIPY) == set(FAMILIES)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_numpy_logp_is_scipys(name):
    draw, reference = SCIPY[name]
    v = draw(ETA)
    eta = _two(ETA) if FAMILIES[name].vector else ETA
    got = FAMILIES[name].logp(v, eta, EXTRAS.get(name, {}))
    # a handful of elementary operations on values of order 10: a few ulps of 10
    np.testing.assert_allclose(got, reference(v, ETA), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_numpy_logp_is_pymcs(name):
    pm = pytest.importorskip("pymc")
    fam = FAMILIES[name]
    v = SCIPY[name][0](ETA)
    extras = EXTRAS.get(name, {})
    if fam.tensor_extras is not None:  # the likelihood's own arguments (an ordinal node's cutpoints)
        extras = fam.tensor_extras({k: pm.math.constant(x) for k, x in extras.items()})
    eta = _two(ETA) if fam.vector else ETA
    dist = getattr(pm, fam.likelihood).dist(**{fam.mean_param: fam.link.tensor(pm.math.constant(eta))}, **extras)
    atol = 1e-10
    if name == "studentt":
        # PyMC's normalising constant goes through pytensor's gammaln, which differs from
        # scipy's by about 1e-9 (its own approximation): the two constants' differences, measured
        pt = pytest.importorskip("pytensor.tensor")
        atol += sum(
            abs(float(pt.gammaln(pt.as_tensor(a)).eval()) - float(special.gammaln(a))) for a in (NU / 2, (NU + 1) / 2)
        )
    np.testing.assert_allclose(fam.logp(v, eta, EXTRAS.get(name, {})), pm.logp(dist, v).eval(), rtol=1e-10, atol=atol)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_statsmodels_family_has_the_same_likelihood(name):
    from statsmodels.genmod import families

    fam = FAMILIES[name]
    if fam.statsmodels is None:
        pytest.skip(f"{name} has no statsmodels family: its implications are reported untested")
    v = SCIPY[name][0](ETA)
    sm = getattr(families, fam.statsmodels)()
    assert type(sm.link).__name__.lower() == {"logit": "logit", "identity": "identity", "log": "log"}[fam.link.name]
    scale = SIGMA**2 if name == "normal" else 1.0
    np.testing.assert_allclose(
        sm.loglike(v, fam.link.inverse(ETA), scale=scale), fam.logp(v, ETA, EXTRAS.get(name, {})).sum(), rtol=1e-10
    )


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_value_term_is_the_part_free_of_the_mean(name):
    # logp(v, eta) - value_term(v) must not depend on v alone: at eta = 0 for two values it is
    # what the fast density adds per row, and value_term carries the rest (-log v! for a count)
    fam = FAMILIES[name]
    if fam.fast < 0:
        pytest.skip(f"{name} has no branch of the fast density, which alone reads value_term")
    v = SCIPY[name][0](ETA)
    rest = fam.logp(v, ETA, EXTRAS.get(name, {})) - fam.value_term(v)
    if name == "poisson":
        np.testing.assert_allclose(rest, v * ETA - np.exp(ETA), rtol=1e-12, atol=1e-12)
    else:
        np.testing.assert_array_equal(fam.value_term(v), 0.0)


@pytest.mark.parametrize("link", sorted(LINKS))
def test_link_forms_agree(link):
    pt = pytest.importorskip("pytensor.tensor")
    row = LINKS[link]
    eta = np.linspace(-30, 30, 121)
    # NumPy's logistic is 0.5 (1 + tanh(eta / 2)): exact to a few ulps of 1 in absolute terms
    # (1 + tanh cancels for eta << 0), where pytensor's sigmoid is exact relatively
    atol = 4 * np.finfo(float).eps if link == "logit" else 0.0
    np.testing.assert_allclose(row.tensor(pt.as_tensor(eta)).eval(), row.inverse(eta), rtol=1e-12, atol=atol)
    low, high = row.mean_range
    mu = row.inverse(eta)
    assert np.all((mu >= low) & (mu <= high))
    if link != "cumulative logit":  # its inverse gives the likelihood its argument (the predictor), not a mean
        assert row.affine == np.allclose(np.diff(mu, 2), 0.0)


def test_supports_say_how_a_missing_value_is_modelled():
    assert SUPPORTS["binary"].missing == SUMMED and SUPPORTS["binary"].binary
    assert SUPPORTS["real"].missing == SAMPLED and not SUPPORTS["real"].binary
    assert SUPPORTS["count"].missing is None
    assert SUPPORTS["count"].bad(np.array([0.0, 3.0, -1.0, 2.5, np.inf])).tolist() == [False, False, True, True, True]


# Families that take the documented fallbacks: no branch of the fast density (nutpie then
# compiles the PyMC model) and no statsmodels family (their implications reported untested).
FALLBACK = {"studentt", "negbinomial", "ordinal", "categorical"}


def test_every_family_has_a_fast_branch_and_a_test_family_or_a_documented_fallback():
    for fam in FAMILIES.values():
        assert (fam.fast >= 0 and fam.statsmodels) or fam.name in FALLBACK, fam.name
        assert (fam.fast < 0 and fam.statsmodels is None) == (fam.name in FALLBACK), fam.name
    fast = [f.fast for f in FAMILIES.values() if f.fast >= 0]
    assert len(set(fast)) == len(fast)  # one branch each


@pytest.mark.parametrize("name", sorted(PRIORS))
def test_prior_rows_match_pymc(name):
    """The constant of the fast density and the starting centre of a row, against PyMC's log density."""
    pm = pytest.importorskip("pymc")
    row = PRIORS[name]
    kwargs = {
        "mu": 0.3,
        "sigma": 1.7,
        "nu": 4.0,
        "alpha": 2.0,
        "beta": 1.5,
        "b": 0.8,
        "lam": 2.5,
        "lower": -1.0,
        "upper": 2.0,
    }
    kwargs = {k: kwargs[k] for k in row.params}
    dist = getattr(pm, row.pymc).dist(**kwargs)
    centre = row.centre(kwargs)
    assert np.isfinite(pm.logp(dist, centre).eval())  # a chain starts inside the support
    assert row.scale == (row.transform == LOG)
    assert row.transform in (NO_TRANSFORM, LOG, INTERVAL)
    (_, _, _), const = row.kernel(kwargs)
    assert np.isfinite(const)
