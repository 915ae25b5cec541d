"""The compiled PyMC model: names and dims, and the regime table against pm.do (MATH.md 4)."""

import itertools

import numpy as np
import pymc as pm
import pytest

import dagmed
import dagmed.examples
from dagmed import api, checks, compiler, data

from conftest import SPECS


@pytest.fixture(scope="module")
def substance():
    spec = dagmed.load(SPECS / "substance.dag")
    analysis = checks.check(spec)
    return analysis, data.load(analysis)


def test_names_dims_and_coords(substance):
    analysis, d = substance
    model = compiler.build(analysis, d)
    free = {v.name for v in model.free_RVs}
    nodes = ["fam_int", "dev_peer", "sub_exp", "sub_disorder"]
    assert free == {f"{n}_{p}" for n in nodes for p in ("intercept", "beta")}
    assert {v.name for v in model.observed_RVs} == set(nodes)
    assert model.coords["sub_disorder_parents"] == ("fam_int", "dev_peer", "sub_exp", "gender", "conflict")
    assert model.named_vars_to_dims["sub_disorder_beta"] == ("sub_disorder_parents",)
    assert len(model.coords["obs_id"]) == 410
    assert {v.name for v in model.data_vars} == {"gender", "conflict"}
    # the outcome's likelihood really depends on every parent: logp changes with each coefficient
    ip = model.initial_point()
    logp = model.compile_logp()
    base = logp(ip)
    for j in range(5):
        moved = {**ip, "sub_disorder_beta": ip["sub_disorder_beta"] + np.eye(5)[j]}
        assert logp(moved) != base


def test_normal_node_has_sigma_and_priors_from_spec():
    spec = dagmed.load(SPECS / "linear.dag")
    analysis = checks.check(spec)
    model = compiler.build(analysis, data.load(analysis, dagmed.examples.linear_data()))
    assert {v.name for v in model.free_RVs} == {
        "m_intercept", "m_beta", "m_sigma", "y_intercept", "y_beta", "y_sigma"
    }
    assert model["y_sigma"].owner.op.name == "halfcauchy"
    assert model["y_beta"].owner.op.name == "normal"


def test_mixed_edge_prior_distributions_are_refused():
    spec = dagmed.parse("treatment t\noutcome y\nt -> m -> y ~ bernoulli\nm ~ bernoulli\nt -> y\nprior t -> y = laplace(0, 1)\n")
    analysis = checks.check(spec)
    rng = np.random.default_rng(0)
    df = {c: rng.binomial(1, 0.5, 20) for c in "tmy"}
    with pytest.raises(dagmed.SpecError, match="priors of different distributions"):
        compiler.build(analysis, data.load(analysis, __import__("pandas").DataFrame(df)))


def _mean_under_do(model, idata, interventions, node, n):
    """The mean parameter of ``node`` per draw and observation, through pm.do + posterior predictive."""
    dm = pm.do(model, {k: np.full(n, v, dtype=model[k].dtype) for k, v in interventions.items()})
    rv = dm[node]
    mean = rv.owner.op.dist_params(rv.owner)[0]
    with dm:
        pm.Deterministic(f"{node}__mean", mean, dims="obs_id")
    pp = pm.sample_posterior_predictive(idata, model=dm, var_names=[f"{node}__mean"], progressbar=False)
    return pp.posterior_predictive[f"{node}__mean"].values.reshape(-1, n)


@pytest.mark.slow
def test_regime_table_equals_the_pm_do_route(substance):
    analysis, d = substance
    model = compiler.build(analysis, d)
    with model:
        idata = pm.sample(draws=60, tune=200, chains=2, random_seed=3, progressbar=False, nuts_sampler="pymc")
    t, y, meds = analysis.treatment, analysis.outcome, analysis.mediators
    n = d.n_obs
    q = {(m, tv): _mean_under_do(model, idata, {t: tv}, m, n) for m in meds for tv in (0, 1)}
    mu = {
        (tv, mv): _mean_under_do(model, idata, {t: tv, **dict(zip(meds, mv))}, y, n)
        for tv in (0, 1)
        for mv in itertools.product((0, 1), repeat=len(meds))
    }
    want = np.zeros((idata.posterior.sizes["chain"] * idata.posterior.sizes["draw"],) + (2,) * (len(meds) + 1))
    for tv, *ts in itertools.product((0, 1), repeat=len(meds) + 1):
        total = 0.0
        for mv in itertools.product((0, 1), repeat=len(meds)):
            w = np.prod([q[(m, ts[j])] if mv[j] else 1 - q[(m, ts[j])] for j, m in enumerate(meds)], axis=0)
            total = total + w * mu[(tv, mv)]
        want[(slice(None), tv, *ts)] = total.mean(axis=1)
    got, _ = api.decompose_idata(analysis, d, idata)
    # Both routes evaluate each logistic probability to within a few ulps (values in [0, 1]),
    # multiply K + 1 of them and average N: at most 8 (N + K) eps apart on any CPU.
    np.testing.assert_allclose(got, want, rtol=0, atol=8 * (n + len(meds)) * np.finfo(float).eps)
    assert np.ptp(got[:, 1, 1, 1] - got[:, 0, 0, 0]) > 0  # real posterior spread, not a constant
