"""Power-scaling prior sensitivity of parameters and effects (MATH.md section 3d)."""

import math

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats

import dagmed
from dagmed import compat
from dagmed.compat import inference_data
from dagmed.fit import sensitivity as sens
from dagmed.model.ir import ModelIR

DIMS = ("chain", "draw")


def model_ir(spec):
    return ModelIR.from_analysis(dagmed.check(spec))


def conjugate(prior_mu, prior_sd, n=30, draws=2000, seed=0):
    """Exact posterior draws of a normal mean (known sd 1) with a Normal(prior_mu, prior_sd) prior."""
    rng = np.random.default_rng(seed)
    y = rng.normal(-1.0, 1.0, n)
    precision = 1 / prior_sd**2 + n
    mean = (prior_mu / prior_sd**2 + y.sum()) / precision
    mu = rng.normal(mean, precision**-0.5, (2, draws))
    idata = inference_data(
        posterior=xr.Dataset({"mu": (DIMS, mu)}),
        log_prior=xr.Dataset({"mu": (DIMS, stats.norm.logpdf(mu, prior_mu, prior_sd))}),
        log_likelihood=xr.Dataset({"y": (DIMS + ("obs",), stats.norm.logpdf(y, mu[..., None], 1.0))}),
    )
    return idata, y, mu


# ---- no sampling: exact posterior draws ---------------------------------------------------


def test_conflict_flagged_wide_prior_not():
    tight = sens.prior_sensitivity(conjugate(3.0, 0.1)[0])
    wide = sens.prior_sensitivity(conjugate(0.0, 10.0)[0])
    assert tight[0].flagged and tight[0].diagnosis == sens.CONFLICT and tight[0].likelihood > 0.05
    assert not wide[0].flagged and wide[0].prior < 0.01 and wide[0].diagnosis is None
    assert sens.format_sensitivity(tight).startswith("prior-sensitive: mu (")
    assert sens.format_sensitivity(wide) is None


def test_weak_likelihood_told_apart():
    # the data say nothing (a flat likelihood): the posterior is the prior
    rng = np.random.default_rng(1)
    a = rng.normal(0.5, 1.0, (2, 1000))
    idata = inference_data(
        posterior=xr.Dataset({"a": (DIMS, a)}),
        log_prior=xr.Dataset({"a": (DIMS, stats.norm.logpdf(a, 0.5, 1.0))}),
        log_likelihood=xr.Dataset({"y": (DIMS, np.zeros((2, 1000)))}),
    )
    (s,) = sens.prior_sensitivity(idata)
    assert s.flagged and s.likelihood < 1e-3 and s.diagnosis == sens.WEAK


@pytest.mark.parametrize("prior_mu, prior_sd", [(2.0, 0.5), (3.0, 0.3)])
def test_power_scaled_means_match_the_exact_posterior(prior_mu, prior_sd):
    """Prior^alpha of Normal(m, s) is Normal(m, s / sqrt(alpha)): the scaled posterior mean is exact."""
    idata, y, mu = conjugate(prior_mu, prior_sd, draws=4000)
    (s,) = sens.prior_sensitivity(idata)
    for alpha, mean, k in s.scaled:
        precision = alpha / prior_sd**2 + len(y)
        exact = (alpha * prior_mu / prior_sd**2 + y.sum()) / precision
        # Monte Carlo error of a weighted mean: sd / sqrt(ESS); the weights keep ESS above a
        # quarter of the draws at these alphas, so 5 such errors bound it generously
        assert mean == pytest.approx(exact, abs=5 * precision**-0.5 / math.sqrt(mu.size / 4)), (alpha, mean, exact, k)
        assert k < sens.PARETO_K_OK
    assert s.mean == pytest.approx(mu.mean())


def test_effects_scored_beside_the_parameters():
    idata, _, mu = conjugate(2.0, 0.5)
    flat = {"TE": 3 * mu.reshape(-1) + 1, "IIE[m]": np.exp(mu).reshape(-1)}
    out = sens.prior_sensitivity(idata, flat)
    assert [s.name for s in out] == ["mu", "TE", "IIE[m]"]
    # psens is invariant under affine maps of a quantity (its CJS distance is, both signs checked)
    assert out[1].prior == pytest.approx(out[0].prior) and out[2].flagged
    assert out[1].scaled_mean(0.8) == pytest.approx(3 * out[0].scaled_mean(0.8) + 1)
    # shaped (chain, draw) the same as flat chain-major
    shaped = sens.prior_sensitivity(idata, {k: v.reshape(2, -1) for k, v in flat.items()})
    assert shaped == out


def test_constant_and_non_finite_effects_are_not_flagged():
    idata, _, mu = conjugate(3.0, 0.1)
    out = sens.prior_sensitivity(
        idata, {"DEP": np.zeros(mu.size), "PM[m]": np.where(np.arange(mu.size) == 3, np.inf, 1.0)}
    )
    by = {s.name: s for s in out}
    assert by["DEP"].prior == 0 and not by["DEP"].flagged
    assert math.isnan(by["PM[m]"].prior) and not by["PM[m]"].flagged and by["PM[m]"].diagnosis is None
    assert sens.format_sensitivity(out) == f"prior-sensitive: mu ({by['mu'].prior:.2f})"


def test_vector_parameters_named_by_coordinate():
    rng = np.random.default_rng(2)
    b = rng.normal(size=(2, 500, 2))
    idata = inference_data(
        posterior=xr.Dataset({"y_beta": (DIMS + ("y_parents",), b)}, coords={"y_parents": ["t", "m"]}),
        log_prior=xr.Dataset(
            {"y_beta": (DIMS + ("y_parents",), stats.norm.logpdf(b))}, coords={"y_parents": ["t", "m"]}
        ),
        log_likelihood=xr.Dataset({"y": (DIMS, np.zeros((2, 500)))}),
    )
    assert [s.name for s in sens.prior_sensitivity(idata)] == ["y_beta[t]", "y_beta[m]"]


def test_bad_effect_shape_and_missing_groups_refused():
    idata, _, mu = conjugate(0.0, 1.0)
    with pytest.raises(ValueError, match="effect draws must have 2 x 2000 values"):
        sens.prior_sensitivity(idata, {"TE": np.zeros(7)})
    with pytest.raises(ValueError, match="log_prior and log_likelihood"):
        sens.prior_sensitivity(inference_data(posterior=idata.posterior))


def test_as_dict_and_diagnose():
    s = sens.Sensitivity("TE", float("nan"), 0.1, False, None, -0.06, ((0.8, -0.05, 0.2), (1.25, -0.07, 0.1)))
    d = s.as_dict()
    assert d["prior"] is None and d["scaled_means"] == {"0.8": -0.05, "1.25": -0.07} and d["pareto_k"]["1.25"] == 0.1
    with pytest.raises(KeyError):
        s.scaled_mean(2.0)
    assert sens.diagnose(0.06, 0.06) == sens.CONFLICT and sens.diagnose(0.06, 0.04) == sens.WEAK
    assert sens.diagnose(0.05, 1.0) is None  # "above 0.05", not at it


# ---- the log densities of a dagmed model (prior draws: no sampler) -------------------------


def test_log_densities_of_a_compiled_model():
    import pymc as pm

    spec = dagmed.parse("treatment t\noutcome y\nt -> y ~ bernoulli\nprior y.intercept = normal(3, 0.5)\n")
    df = pd.DataFrame({"t": [0, 1, 1, 0, 1], "y": [1, 0, 1, 0, 0]})
    model = dagmed.compile(spec, df)
    draws = compat.group(pm.sample_prior_predictive(draws=20, model=model, random_seed=3), "prior")
    idata = inference_data(posterior=draws[["y_intercept", "y_beta"]])
    dens = sens.log_densities(idata, model, model_ir(spec))
    a, b = draws["y_intercept"].values, draws["y_beta"].values[..., 0]
    np.testing.assert_allclose(dens.log_prior["y_intercept"].values, stats.norm.logpdf(a, 3, 0.5), rtol=1e-6)
    np.testing.assert_allclose(dens.log_prior["y_beta"].values[..., 0], stats.norm.logpdf(b, 0, 1), rtol=1e-6)
    eta = a[..., None] + b[..., None] * df["t"].to_numpy()
    loglik = (df["y"].to_numpy() * eta - np.logaddexp(0, eta)).sum(-1)
    np.testing.assert_allclose(dens.log_likelihood["y"].values, loglik, rtol=1e-6)
    assert "log_prior" not in compat.groups(idata)  # the input is left as it was


def test_log_densities_are_pymcs_for_every_family():
    """Against pm.compute_log_prior / compute_log_likelihood (what they replace) on normal, poisson and bernoulli nodes."""
    import pymc as pm

    spec = dagmed.parse(
        "treatment t\noutcome y\nx -> t, m, y\nt -> m -> y\nt -> y\nt, m ~ bernoulli\nx ~ normal\n"
        "y ~ poisson\nprior x.sigma = halfnormal(2)\n"
    )
    rng = np.random.default_rng(4)
    df = pd.DataFrame(
        {
            "x": rng.normal(size=40),
            "t": rng.binomial(1, 0.5, 40),
            "m": rng.binomial(1, 0.5, 40),
            "y": rng.poisson(2.0, 40),
        }
    )
    model = dagmed.compile(spec, df)
    idata = inference_data(posterior=pm.sample_prior_predictive(draws=30, model=model, random_seed=5).prior)
    ours = sens.log_densities(idata, model, model_ir(spec))
    quiet = dict(model=model, extend_inferencedata=False, progressbar=False)
    params = [v.name for v in model.free_RVs]
    prior = pm.stats.compute_log_prior(idata, var_names=params, **quiet)
    lik = pm.stats.compute_log_likelihood(idata, **quiet)
    eps = np.finfo(float).eps
    for name in params:  # one term each (per element): a few roundings of its value
        np.testing.assert_allclose(ours.log_prior[name].values, prior[name].values, rtol=16 * eps, atol=0)
    for node in ("x", "t", "m", "y"):
        terms = lik[node].values
        # N terms summed in another order (ours grouped by distinct rows): (2 N + 16) eps sum|term|
        bound = (2 * terms.shape[-1] + 16) * eps * np.abs(terms).sum(-1)
        assert np.all(np.abs(ours.log_likelihood[node].values - terms.sum(-1)) <= bound), node


# Every prior dagmed knows, with arguments in the spec's positional order: a real one on the
# intercept and the coefficients, a positive one on sigma.
REAL_PRIORS = [
    "normal(0.5, 2)",
    "studentt(3, 0.5, 2)",
    "cauchy(0.5, 2)",
    "laplace(0.5, 2)",
    "uniform(-1, 3)",
    "normal(0.5, 2)",
]
POSITIVE_PRIORS = [
    "halfnormal(2)",
    "halfcauchy(2)",
    "halfstudentt(3, 2)",
    "exponential(2)",
    "gamma(2, 3)",
    "lognormal(0.5, 0.7)",
]


@pytest.mark.parametrize("real, positive", list(zip(REAL_PRIORS, POSITIVE_PRIORS)))
def test_log_prior_is_pymcs_for_every_prior(real, positive):
    import pymc as pm

    from dagmed.lang.priors import PRIORS

    assert {d.split("(")[0] for d in REAL_PRIORS + POSITIVE_PRIORS} == set(PRIORS)
    spec = dagmed.parse(
        f"treatment t\noutcome y\nt -> y ~ normal\nprior intercept = {real}\nprior beta = {real}\n"
        f"prior sigma = {positive}\n"
    )
    model = dagmed.compile(spec, pd.DataFrame({"t": [0.0, 1.0, 1.0], "y": [0.3, 1.2, 0.8]}))
    idata = inference_data(posterior=pm.sample_prior_predictive(draws=30, model=model, random_seed=6).prior)
    ours = sens.log_densities(idata, model, model_ir(spec)).log_prior
    theirs = pm.stats.compute_log_prior(idata, model=model, extend_inferencedata=False, progressbar=False)
    # PyMC holds a gamma's 1/beta as a float32 constant: its C and Python linkers differ in the 7th digit
    tol = dict(rtol=1e-6, atol=1e-6) if positive.startswith("gamma") else dict(rtol=16 * np.finfo(float).eps, atol=0)
    assert sorted(ours.data_vars) == sorted(theirs.data_vars) == ["y_beta", "y_intercept", "y_sigma"]
    for name in theirs.data_vars:
        np.testing.assert_allclose(ours[name].values, theirs[name].values, **tol, err_msg=name)


def test_log_prior_of_a_random_slopes_correlation_is_the_two_dimensional_lkj():
    """PyMC's own log density of the correlation (a scalar): Beta(4, 4) at (rho + 1) / 2, less log 2."""
    import pymc as pm

    spec = dagmed.parse("treatment t\noutcome y\nt -> y ~ bernoulli\ncluster g: t -> y\nprior y.corr_g = lkj(4)\n")
    model = dagmed.compile(spec, pd.DataFrame({"g": [1, 1, 2, 2], "t": [0, 1, 0, 1], "y": [0, 1, 1, 1]}))
    idata = inference_data(posterior=pm.sample_prior_predictive(draws=30, model=model, random_seed=6).prior)
    ours = sens.log_densities(idata, model, model_ir(spec)).log_prior
    theirs = pm.stats.compute_log_prior(idata, model=model, extend_inferencedata=False, progressbar=False)
    rho = compat.group(idata, "posterior")["y_corr_g"].values
    # as in the compiled model's test (tests/model/test_clusters.py): a few ulps of the terms
    tol = dict(rtol=16 * np.finfo(float).eps, atol=16 * np.finfo(float).eps)
    np.testing.assert_allclose(ours["y_corr_g"].values, stats.beta.logpdf((rho + 1) / 2, 4, 4) - np.log(2), **tol)
    np.testing.assert_allclose(ours["y_corr_g"].values, theirs["y_corr_g"].values, **tol)


def test_log_densities_refuse_rows_with_missing_values_modelled():
    spec = dagmed.parse("treatment t\noutcome y\nx -> t, y\nt -> y\nx, t, y ~ bernoulli\nmissing model\n")
    df = pd.DataFrame({"x": [1, None, 0, 1, 0, 1], "t": [0, 1, 1, 0, 1, 0], "y": [1, 0, 1, 1, 0, 0]})
    with pytest.raises(ValueError, match="potential"):
        sens.log_densities(inference_data(posterior=xr.Dataset()), dagmed.compile(spec, df), model_ir(spec))


# ---- sampling: a tiny dagmed model ---------------------------------------------------------


def expit(eta):
    return 1 / (1 + np.exp(-eta))


@pytest.fixture(scope="module")
def tiny_data():
    rng = np.random.default_rng(3)
    t = rng.integers(0, 2, 200)
    return pd.DataFrame({"t": t, "y": rng.binomial(1, expit(-1.0 + 0.5 * t))})


@pytest.mark.slow
@pytest.mark.parametrize(
    "priors, flagged",
    [
        ("prior y.intercept = normal(3, 0.1)\n", True),  # tight, far from the data's -1
        ("prior y.intercept = normal(0, 10)\nprior y.beta = normal(0, 10)\n", False),
    ],
)
def test_tight_prior_far_from_the_data_is_a_conflict(tiny_data, priors, flagged):
    import pymc as pm

    from dagmed import api

    spec = dagmed.parse("treatment t\noutcome y\nt -> y ~ bernoulli\n" + priors)
    model = dagmed.compile(spec, tiny_data)
    idata = pm.sample(
        model=model,
        nuts_sampler="pymc",
        chains=2,
        draws=300,
        tune=300,
        cores=1,
        random_seed=1,
        progressbar=False,
        compute_convergence_checks=False,
    )
    dataset = dagmed.load_data(spec, tiny_data)
    _, _, effects = api.decompose_idata(dataset, idata)
    # effect draws are chain-major, like the posterior: TE = mean_i [expit(a + b) - expit(a)], no covariates
    a, b = idata.posterior["y_intercept"].values, idata.posterior["y_beta"].values[..., 0]
    np.testing.assert_allclose(effects["TE"].reshape(2, 300), expit(a + b) - expit(a), rtol=1e-9, atol=1e-12)

    out = {s.name: s for s in sens.prior_sensitivity(idata, effects, model=model, ir=dataset.ir)}
    assert list(out)[:3] == ["y_intercept", "y_beta[t]", "TE"]
    line = sens.format_sensitivity(out.values())
    if flagged:
        assert out["y_intercept"].flagged and out["y_intercept"].diagnosis == sens.CONFLICT
        assert out["y_intercept"].prior > 0.5 and out["TE"].flagged
        # a weaker prior (alpha 0.8) lets the intercept move back towards the data's -1
        assert out["y_intercept"].scaled_mean(0.8) < out["y_intercept"].mean < out["y_intercept"].scaled_mean(1.25)
        assert line.startswith("prior-sensitive: y_intercept (")
    else:
        assert all(s.prior < 0.02 for s in out.values()), {k: s.prior for k, s in out.items()}
        assert line is None
