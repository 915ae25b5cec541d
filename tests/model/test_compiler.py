"""The compiled PyMC model: the generative model, data attached, names and dims, and the
regime table against pm.do on prior draws (MATH.md 4)."""

import itertools

import numpy as np
import pandas as pd
import pymc as pm
import pytest

import dagmed
import dagmed.examples
from dagmed import api
from dagmed.compat import inference_data
from dagmed.model import compiler, data, names
from dagmed.model.ir import ModelIR

from conftest import SPECS, needs_substance

NODES = ["fam_int", "dev_peer", "sub_exp", "sub_disorder"]  # the substance spec's modelled nodes
PARAMS = [f(n) for n in NODES for f in (names.intercept, names.beta)]


@pytest.fixture(scope="module")
def substance():
    csv = needs_substance()
    spec = dagmed.load(SPECS / "substance.dag")
    ir = ModelIR.from_analysis(dagmed.check(spec))
    return ir, data.load(ir, csv)  # the spec's own data statement is a URL


@pytest.fixture(scope="module")
def generative(substance):
    return compiler.build(substance[0], n_obs=5)


@pytest.fixture(scope="module")
def model(substance, generative):
    return compiler.attach(generative, substance[1])


def test_the_generative_model_needs_no_data(generative):
    assert [v.name for v in generative.free_RVs] == [
        name for n in NODES for name in (names.intercept(n), names.beta(n), n)
    ]
    assert not generative.observed_RVs
    assert compiler.data_nodes(generative) == ["gender", "conflict", *NODES]
    assert len(generative.coords[names.OBS_DIM]) == 5
    assert all(np.array_equal(v.get_value(), np.zeros(5)) for v in generative.data_vars)
    prior = pm.sample_prior_predictive(draws=3, model=generative, random_seed=1).prior
    assert all(prior[n].shape == (1, 3, 5) for n in NODES)


def test_names_dims_and_coords(model):
    assert {v.name for v in model.free_RVs} == set(PARAMS)
    assert [v.name for v in model.observed_RVs] == NODES
    y = "sub_disorder"
    assert model.coords[names.parents_dim(y)] == ("fam_int", "dev_peer", "sub_exp", "gender", "conflict")
    assert model.named_vars_to_dims[names.beta(y)] == (names.parents_dim(y),)
    assert len(model.coords[names.OBS_DIM]) == 410
    assert {v.name for v in model.data_vars} == {"gender", "conflict"}
    # the outcome's likelihood really depends on every parent: logp changes with each coefficient
    ip = model.initial_point()
    logp = model.compile_logp()
    base = logp(ip)
    for j in range(5):
        moved = {**ip, names.beta(y): ip[names.beta(y)] + np.eye(5)[j]}
        assert logp(moved) != base


def test_attach_returns_a_new_model_in_creation_order(substance, generative, model):
    _, d = substance
    # the generative model is untouched
    assert len(generative.coords[names.OBS_DIM]) == 5 and not generative.observed_RVs
    # the data are in the new one
    assert all(np.array_equal(model[c].get_value(), d[c]) for c in ("gender", "conflict"))
    assert all(np.array_equal(model.rvs_to_values[model[n]].data, d[n]) for n in NODES)
    # in the generative model's creation order, which fixes the draws of a seed (pm.observe alone would permute it)
    assert [v.name for v in model.free_RVs] == PARAMS
    assert list(model.named_vars) == list(generative.named_vars)


def test_attach_replaces_attached_data(substance, generative, model):
    ir, d = substance
    head = data.Dataset({c: v[:50] for c, v in d.columns.items()}, ir, "head", 50, 0, 50)
    again = compiler.attach(model, head)
    assert len(again.coords[names.OBS_DIM]) == 50 and len(model.coords[names.OBS_DIM]) == 410
    ip = model.initial_point()
    assert again.compile_logp()(ip) == compiler.attach(generative, head).compile_logp()(ip)


def test_guards(substance, generative):
    ir, d = substance
    with pytest.raises(dagmed.UsageError, match="n_obs must be a positive integer"):
        compiler.build(ir, 0)
    without = data.Dataset({c: v for c, v in d.columns.items() if c != "conflict"}, ir, "d.csv", d.n_obs, 0, d.n_obs)
    with pytest.raises(dagmed.DataError, match="d.csv: no column for conflict"):
        compiler.attach(generative, without)
    with pm.Model() as other:
        pm.Normal("a")
    with pytest.raises(dagmed.UsageError, match="no 'obs_id' dimension"):
        compiler.attach(other, d)


def test_normal_node_has_sigma_and_priors_from_spec():
    model = dagmed.compile(dagmed.load(SPECS / "linear.dag"), dagmed.examples.linear_data())
    assert {v.name for v in model.free_RVs} == {
        f(n) for n in ("m", "y") for f in (names.intercept, names.beta, lambda n: names.extra(n, "sigma"))
    }
    assert model[names.extra("y", "sigma")].owner.op.name == "halfcauchy"
    assert model[names.beta("y")].owner.op.name == "normal"


def test_mixed_edge_prior_distributions_are_refused():
    # refused when the spec is resolved (it was compiler.build's refusal), located at the prior statement
    text = "treatment t\noutcome y\nt -> m -> y ~ bernoulli\nm ~ bernoulli\nt -> y\nprior t -> y = laplace(0, 1)\n"
    with pytest.raises(dagmed.SpecError, match="priors of different distributions") as info:
        dagmed.parse(text)
    assert (info.value.line, info.value.column) == (6, 1)


def _means_under_do(model, idata, interventions, nodes, n):
    """The mean parameter of each of ``nodes`` per draw and observation, through pm.do + predictive draws."""
    dm = pm.do(model, {k: np.full(n, v, dtype=model[k].dtype) for k, v in interventions.items()})
    with dm:
        for node in nodes:
            rv = dm[node]
            pm.Deterministic(f"{node}__mean", rv.owner.op.dist_params(rv.owner)[0], dims=names.OBS_DIM)
    pp = pm.sample_posterior_predictive(idata, model=dm, var_names=[f"{m}__mean" for m in nodes], progressbar=False)
    return {m: pp.posterior_predictive[f"{m}__mean"].values.reshape(-1, n) for m in nodes}


def test_regime_table_equals_the_pm_do_route(substance, model):
    """The identity holds for any parameter values, so prior draws test it as well as a posterior."""
    ir, d = substance
    prior = pm.sample_prior_predictive(draws=100, model=model, random_seed=3).prior
    idata = inference_data(posterior=prior)  # decompose_idata reads the posterior group
    t, y, meds = ir.treatment, ir.outcome, ir.mediators
    n = d.n_obs
    q = {tv: _means_under_do(model, idata, {t: tv}, meds, n) for tv in (0, 1)}
    mu = {
        (tv, *mv): _means_under_do(model, idata, {t: tv, **dict(zip(meds, mv))}, [y], n)[y]
        for tv in (0, 1)
        for mv in itertools.product((0, 1), repeat=len(meds))
    }
    want = np.zeros((prior.sizes["draw"],) + (2,) * (len(meds) + 1))
    for tv, *ts in itertools.product((0, 1), repeat=len(meds) + 1):
        total = 0.0
        for mv in itertools.product((0, 1), repeat=len(meds)):
            w = np.prod([q[ts[j]][m] if mv[j] else 1 - q[ts[j]][m] for j, m in enumerate(meds)], axis=0)
            total = total + w * mu[(tv, *mv)]
        want[(slice(None), tv, *ts)] = total.mean(axis=1)
    got = api.decompose_idata(d, idata)[0]
    # Both routes evaluate each logistic probability to within a few ulps (values in [0, 1]),
    # multiply K + 1 of them and average N: at most 8 (N + K) eps apart on any CPU.
    np.testing.assert_allclose(got, want, rtol=0, atol=8 * (n + len(meds)) * np.finfo(float).eps)
    assert np.ptp(got[:, 1, 1, 1] - got[:, 0, 0, 0]) > 0  # real spread over the draws, not a constant


def test_compile_attaches_the_data():
    df = pd.DataFrame({"t": [0, 1, 1, 0, 1], "y": [1, 0, 1, 0, 0]})
    model = dagmed.compile(dagmed.parse("treatment t\noutcome y\nt -> y ~ bernoulli\n"), df)
    assert [v.name for v in model.observed_RVs] == ["y"] and len(model.coords[names.OBS_DIM]) == 5
    np.testing.assert_array_equal(model["t"].get_value(), df["t"])


def test_missing_values_modelled_the_complete_rows_keep_the_complete_data_likelihood(substance):
    """With 'missing model' the complete rows are the complete-case model's observations, to the
    bit; the incomplete rows are one potential, and conflict's missing values latent variables."""
    spec = dagmed.load(SPECS / "substance_missing.dag")
    ir = ModelIR.from_analysis(dagmed.check(spec))
    d = data.load(ir, needs_substance())
    generative = compiler.build(ir, n_obs=5)
    model = compiler.attach(generative, d)
    complete = compiler.attach(generative, d.complete_cases())
    assert [v.name for v in model.potentials] == [names.INCOMPLETE_ROWS]
    assert [v.name for v in model.free_RVs] == [v.name for v in complete.free_RVs] + ["conflict_missing"]
    assert list(model.coords[names.OBS_DIM]) == np.flatnonzero(d.complete).tolist()
    point = model.initial_point()
    for v in complete.observed_RVs:
        mine = model.compile_logp(vars=[model[v.name]])(point)
        assert mine == complete.compile_logp(vars=[v])({k: x for k, x in point.items() if k != "conflict_missing"})
    rest = model.compile_logp(vars=[model[names.INCOMPLETE_ROWS]])(point)
    assert np.isfinite(rest) and rest < 0
    # the generative model is the same whatever the data: build needs none
    assert [v.name for v in generative.free_RVs][:2] == ["gender_intercept", "gender"]
    with pytest.raises(dagmed.UsageError, match="incomplete rows attached already"):
        compiler.attach(model, d)
    cols = {c: v.copy() for c, v in substance[1].columns.items()}
    lost = np.arange(10)
    cols["gender"][lost] = np.nan
    by_hand = data.Dataset(
        cols,
        substance[0],
        "d.csv",
        len(cols["gender"]),
        0,
        len(cols["gender"]),
        {"gender": np.isin(np.arange(len(cols["gender"])), lost)},
        {"gender": "summed out"},
        "model",
    )
    without_family = compiler.build(substance[0], n_obs=5)  # substance.dag: gender is data, not modelled
    with pytest.raises(dagmed.DataError, match="column gender has 10 missing values and no model"):
        compiler.attach(without_family, by_hand)
