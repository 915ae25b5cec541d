"""Cluster effects in the model: the compiled likelihood against a brute-force sum, and the cluster labels."""

import numpy as np
import pandas as pd
import pymc as pm
import pytest
import xarray as xr
from scipy import special, stats

import dagmed
from dagmed import compat
from dagmed.errors import DataError
from dagmed.lang.families import FAMILIES
from dagmed.model.clusters import icc
from dagmed.model.draws import Draws
from dagmed.model.ir import ModelIR

SPEC = "treatment t\noutcome y\nt -> m -> y\nt -> y\nm, y ~ bernoulli\ncluster school: m\ncluster school: t -> y\n"


def _data(seed=0, n=40, g=5):
    rng = np.random.default_rng(seed)
    school = rng.integers(0, g, n)
    return pd.DataFrame(
        {
            "school": [f"s{k}" for k in school],
            "t": rng.integers(0, 2, n),
            "m": rng.integers(0, 2, n),
            "y": rng.integers(0, 2, n),
        }
    )


def _logistic_logp(y, eta):
    p = 1.0 / (1.0 + np.exp(-eta))
    return np.where(y == 1, np.log(p), np.log1p(-p))


def test_the_likelihood_adds_each_rows_cluster_intercept_and_slope():
    df = _data()
    model = dagmed.compile(dagmed.parse(SPEC), df)
    rng = np.random.default_rng(1)
    labels = sorted(df.school.unique())
    g = len(labels)
    values = {
        "m_intercept": 0.3,
        "m_beta": np.array([0.5]),
        "m_sd_school": 0.7,
        "m_z_school": rng.normal(size=g),
        "y_intercept": -0.2,
        "y_beta": np.array([0.4, 0.9]),
        "y_sd_school": 1.1,
        "y_z_school": rng.normal(size=g),
        "y_slope_sd_school": 0.6,
        "y_slope_z_school": rng.normal(size=g),
        "y_corr_school": -0.4,
    }
    dims = {"m_beta": ["m_parents"], "y_beta": ["y_parents"]}
    dims.update({k: ["school_cluster"] for k in values if "_z_" in k})
    posterior = xr.Dataset(
        {k: (("chain", "draw", *dims.get(k, ())), np.asarray(v)[None, None]) for k, v in values.items()},
        coords={"m_parents": ["t"], "y_parents": ["t", "m"], "school_cluster": labels},
    )
    post = compat.inference_data(posterior=posterior)
    ll = pm.compute_log_likelihood(post, model=model, extend_inferencedata=False, progressbar=False)
    # brute force, row by row: the cluster's intercept sd * z and slope sd * (rho z + sqrt(1 - rho^2) w)
    code = {s: i for i, s in enumerate(labels)}
    rho = -0.4
    want_m, want_y = [], []
    for _, row in df.iterrows():
        k = code[row.school]
        u_m = values["m_sd_school"] * values["m_z_school"][k]
        u_y = values["y_sd_school"] * values["y_z_school"][k]
        v_y = values["y_slope_sd_school"] * (
            rho * values["y_z_school"][k] + np.sqrt(1 - rho**2) * values["y_slope_z_school"][k]
        )
        eta_m = values["m_intercept"] + 0.5 * row.t + u_m
        eta_y = values["y_intercept"] + 0.4 * row.t + 0.9 * row.m + u_y + v_y * row.t
        want_m.append(_logistic_logp(row.m, eta_m))
        want_y.append(_logistic_logp(row.y, eta_y))
    np.testing.assert_allclose(ll["m"].values.ravel(), want_m, rtol=1e-10)
    np.testing.assert_allclose(ll["y"].values.ravel(), want_y, rtol=1e-10)


def test_cluster_parameters_and_dimensions():
    df = _data()
    model = dagmed.compile(dagmed.parse(SPEC), df)
    names = [v.name for v in model.free_RVs]
    assert names == [
        "m_intercept",
        "m_beta",
        "m_sd_school",
        "m_z_school",
        "y_intercept",
        "y_beta",
        "y_sd_school",
        "y_z_school",
        "y_slope_sd_school",
        "y_slope_z_school",
        "y_corr_school",
    ]
    assert model.coords["school_cluster"] == tuple(sorted(df.school.unique()))


def _corr(eta):
    """The compiled model's ``y_corr_school`` under the prior lkj(eta), and its model."""
    model = dagmed.compile(dagmed.parse(SPEC + f"prior y.corr_school = lkj({eta})\n"), _data())
    return model["y_corr_school"], model


@pytest.mark.parametrize("eta", [2.0, 4.0])
def test_the_correlations_prior_draws_have_the_lkj_second_moment(eta):
    """E[rho^2] = Var(2B - 1) = 4 Var(B) = 1 / (2 eta + 1) for B ~ Beta(eta, eta): within 5 Monte Carlo sds."""
    rho, _ = _corr(eta)
    assert rho.ndim == 0  # a scalar on both stacks
    draws = pm.draw(rho, draws=100_000, random_seed=1)
    assert draws.shape == (100_000,) and np.all(np.abs(draws) < 1)
    sq = draws**2
    assert abs(sq.mean() - 1.0 / (2.0 * eta + 1.0)) < 5 * sq.std() / np.sqrt(sq.size)


@pytest.mark.parametrize("eta", [0.5, 2.0, 4.0])
def test_the_correlations_log_density_is_the_two_dimensional_lkj(eta):
    """PyMC's log density of rho, as given and through the sampler's interval transform (no Jacobian), is
    Beta(eta, eta)'s at (rho + 1) / 2 less log 2.

    Tolerance: x = (rho + 1) / 2 and 1 - x carry a rounding of about one ulp of x (the transform's
    round trip adds a few: -1 + 2 sigmoid(u)), which (eta - 1) log x and (eta - 1) log(1 - x) turn into
    |eta - 1| eps / x and |eta - 1| eps / (1 - x); the constants (betaln, log 2) and the sum a few ulps of
    their size. 8 eps times the sum of those bounds the error; measured: as given, at most 4 eps
    (scipy's and PyMC's betaln differ by that); through the transform, up to 6000 eps at rho = 0.999
    (eta = 4), 25% of the bound there, since the logistic's 1 - x is accurate to eps only absolutely.
    """
    rho_var, model = _corr(eta)
    rho = np.array([-0.999, -0.9, -0.5, 0.0, 0.3, 0.9, 0.999])
    x = (rho + 1.0) / 2.0
    want = stats.beta.logpdf(x, eta, eta) - np.log(2.0)
    eps = np.finfo(np.float64).eps
    tol = 8 * eps * (1 + abs(eta - 1) * (1 / x + 1 / (1 - x)) + abs(special.betaln(eta, eta)) + np.abs(want))
    assert np.all(np.abs(pm.logp(rho_var, rho).eval() - want) <= tol)
    transform, value = model.rvs_to_transforms[rho_var], model.rvs_to_values[rho_var].name
    logp = model.compile_logp(vars=[rho_var], jacobian=False)
    point = model.initial_point()
    got = np.array([logp({**point, value: transform.forward(r).eval()}) for r in rho])
    assert np.all(np.abs(got - want) <= tol)


@pytest.mark.parametrize("sampler", ["pymc", "nutpie"])
def test_a_random_slope_fits_on_either_stack(sampler):
    """Two chains x 200 draws of a random slope (four schools), with PyMC's NUTS or nutpie on PyMC's model."""
    if sampler == "nutpie":
        pytest.importorskip("nutpie")
    spec = dagmed.parse(SPEC)
    result = dagmed.run(spec, _data(n=60, g=4), draws=200, tune=200, chains=2, seed=1, sampler=sampler,
                        progressbar=False, log=lambda m: None)  # fmt: skip
    rho = result.idata.posterior["y_corr_school"]
    assert rho.dims == ("chain", "draw") and np.all(np.abs(rho.values) < 1) and rho.std() > 0
    assert all(np.all(np.isfinite(d)) for d in result.effect_draws.values())


def test_a_posterior_holding_pymc5s_lkjcorr_vector_is_read_as_a_scalar():
    """A posterior written before the correlation was a scalar: PyMC 5's LKJCorr, a vector of one."""
    model = dagmed.compile(dagmed.parse(SPEC), _data())
    prior = compat.group(pm.sample_prior_predictive(draws=3, model=model, random_seed=1), "prior")
    scalar = prior["y_corr_school"]
    old = prior.assign(y_corr_school=scalar.expand_dims(y_corr_school_dim_0=1, axis=-1))
    ir = ModelIR.from_analysis(dagmed.check(dagmed.parse(SPEC)))
    got = Draws.from_posterior(old, ir)["y"].clusters["school"].corr
    np.testing.assert_array_equal(got, scalar.values.reshape(-1))


def test_numeric_labels_in_numeric_order_and_dropped_rows_renumbered():
    spec = dagmed.parse("treatment t\noutcome y\nt -> y ~ bernoulli\ncluster g\n")
    df = pd.DataFrame({"g": [10, 9, 10, 2, 9], "t": [0, 1, None, 1, 0], "y": [1, 0, 1, 1, 0]})
    ds = dagmed.load_data(spec, df)
    codes, labels = ds.clusters["g"]
    assert labels == ("2", "9", "10") and codes.tolist() == [2, 1, 0, 1]
    df.loc[3, "t"] = None  # cluster 2 loses its only row
    codes, labels = dagmed.load_data(spec, df).clusters["g"]
    assert labels == ("9", "10") and codes.tolist() == [1, 0, 0]


@pytest.mark.parametrize(
    "frame, message",
    [
        ({"t": [0, 1], "y": [1, 0]}, r"<DataFrame>: cluster column g not found .*available columns: t, y"),
        ({"g": ["a", None, "b"], "t": [0, 1, 1], "y": [1, 0, 1]}, r"column g, row 2: missing cluster label"),
        ({"g": ["a", " NA "], "t": [0, 1], "y": [1, 0]}, r"column g, row 2: missing cluster label"),
        ({"g": ["a", "a", "a"], "t": [0, 1, 1], "y": [1, 0, 1]}, r"cluster column g has a single level \('a'\)"),
    ],
)
def test_cluster_column_refusals(frame, message):
    spec = dagmed.parse("treatment t\noutcome y\nt -> y ~ bernoulli\ncluster g\n")
    with pytest.raises(DataError, match=message):
        dagmed.load_data(spec, pd.DataFrame(frame))


def test_icc_of_a_logit_node():
    out = icc(FAMILIES["bernoulli"], {"a": np.array([1.0]), "b": np.array([2.0])}, {})
    total = 1.0 + 4.0 + np.pi**2 / 3
    assert out["a"][0] == pytest.approx(1.0 / total) and out["b"][0] == pytest.approx(4.0 / total)
    assert icc(FAMILIES["poisson"], {"a": np.array([1.0])}, {}) == {"a": None}


def test_missing_model_rows_carry_their_clusters():
    """A row missing its binary mediator: its likelihood sums m out, each term with the row's cluster intercepts."""
    spec = dagmed.parse(SPEC.replace("cluster school: t -> y\n", "cluster school: y\n") + "missing model\n")
    df = _data(n=12, g=3)
    df["m"] = df["m"].astype(float)
    df.loc[4, "m"] = np.nan
    model = dagmed.compile(spec, df)
    labels = sorted(df.school.unique())
    z_m, z_y = np.array([0.3, -1.0, 0.8]), np.array([-0.5, 0.2, 1.5])
    point = {"m_intercept": 0.1, "m_beta": np.array([0.5]), "m_sd_school": 0.9, "y_intercept": -0.3}
    point.update({"y_beta": np.array([0.4, 0.7]), "y_sd_school": 0.6, "m_z_school": z_m, "y_z_school": z_y})
    potential = model.compile_fn(model["incomplete_rows"], inputs=[model[k] for k in point], on_unused_input="ignore")
    got = potential(point)
    row = df.loc[4]
    k = labels.index(row.school)
    terms = []
    for m in (0, 1):
        eta_m = 0.1 + 0.5 * row.t + 0.9 * z_m[k]
        eta_y = -0.3 + 0.4 * row.t + 0.7 * m + 0.6 * z_y[k]
        terms.append(_logistic_logp(m, eta_m) + _logistic_logp(row.y, eta_y))
    assert got == pytest.approx(np.logaddexp(*terms), rel=1e-10)
