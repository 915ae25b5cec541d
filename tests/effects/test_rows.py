"""The rows the regimes average over (dagmed.effects.rows): a covariate of known distribution (the
sensitivity analysis's confounder U) averaged over its two values, against the true effects of
the confounded data computed by NumPy enumeration (tests/confounded.py)."""

import numpy as np
import pymc as pm
import pytest
import xarray as xr

import dagmed
from dagmed.effects import decomposition, rows
from dagmed.model import compiler, confounding

import confounded

EPS = np.finfo(float).eps


def true_posterior(ir):
    """One "draw" at the true parameters of ``confounded.PARAMS`` (U's coefficients are known in ``ir``)."""
    post = {}
    coords = {}
    for node in ir.nodes:
        if node.name not in confounded.PARAMS:
            continue
        intercept, coef = confounded.PARAMS[node.name]
        post[node.intercept.name] = (("chain", "draw"), [[intercept]])
        post[node.beta.name] = (("chain", "draw", node.beta.dim), [[[coef[t] for t in node.term_names]]])
        coords[node.beta.dim] = list(node.term_names)
    return xr.Dataset(post, coords=coords)


@pytest.mark.parametrize("convention", ["control"])
def test_the_decomposition_at_the_true_values_is_the_enumerated_truth(convention):
    df = confounded.simulate(400, seed=3)
    ds = dagmed.load_data(dagmed.parse(confounded.SPEC), df)
    ir = confounding.confound(ds.ir, "m1", confounded.STRENGTH)
    data = confounding.confounded_data(ds, ir)
    _, _, eff = decomposition.decompose(true_posterior(ir), data, convention)
    truth = confounded.truth(df)
    for name, value in truth.items():
        # the same sums in another order: a few hundred roundings of numbers below 1
        assert eff[name][0] == pytest.approx(value, abs=1e3 * EPS), name


def test_a_known_covariate_is_averaged_with_its_own_probability_not_per_row():
    ds = dagmed.load_data(dagmed.parse(confounded.SPEC), confounded.simulate(50, seed=4))
    ir = confounding.confound(ds.ir, "m1", 1.0)
    assert rows.known_covariates(ir) == {"U_m1": 0.5} and rows.known_covariates(ds.ir) == {}
    inputs = decomposition.inputs_from(
        true_posterior(confounding.confound(ds.ir, "m1", 1.0)), confounding.confounded_data(ds, ir)
    )
    assert inputs.weights is None and inputs.n_obs == 100  # every row at U = 0, then at U = 1
    assert inputs.covariates["U_m1"].tolist() == [0.0] * 50 + [1.0] * 50
    assert np.array_equal(inputs.covariates["x"], np.tile(ds["x"], 2))
    assert inputs.distinct().n_obs == 100  # x is continuous: no two rows alike


def test_weights_multiply_by_the_probability():
    w = np.array([[0.2, 0.8, 1.0], [0.5, 0.5, 1.0]])
    cov, weights, n = rows.average_known({"x": np.zeros((2, 3))}, w, 3, {"u": 0.3})
    assert n == 6 and cov["x"].shape == (2, 6) and cov["u"].tolist() == [0, 0, 0, 1, 1, 1]
    assert np.allclose(weights, np.hstack([0.7 * w, 0.3 * w]))


@pytest.mark.filterwarnings("ignore:The effect of Potentials:UserWarning")
def test_with_missing_covariates_each_rows_weights_add_up_to_one():
    df = confounded.simulate(60, seed=6)
    df["xb"] = (df["x"] > 0).astype(float)
    df.loc[::7, "xb"] = np.nan  # a binary covariate missing: weighted by its posterior, U by 1/2
    spec = confounded.SPEC.replace("x -> t", "x, xb -> t") + "xb ~ bernoulli\nmissing model\n"
    ds = dagmed.load_data(dagmed.parse(spec), df)
    ir = confounding.confound(ds.ir, "m1", 2.0)
    data = confounding.confounded_data(ds, ir)
    with compiler.attach(compiler.build(ir, data.n_obs), data):
        prior = pm.sample_prior_predictive(draws=5, random_seed=1).prior
    inputs = decomposition.inputs_from(prior, data)
    missing = int(np.isnan(df["xb"]).sum())
    assert inputs.n_obs == 2 * (60 + missing)  # a missing xb doubles its row, U doubles every row
    assert np.allclose(inputs.weights.sum(axis=1), 60)
    half = inputs.n_obs // 2
    assert np.allclose(inputs.weights[:, :half], inputs.weights[:, half:])  # U = 0 and U = 1 alike, 1/2 each
