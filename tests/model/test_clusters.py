"""Cluster effects in the model: the compiled likelihood against a brute-force sum, and the cluster labels."""

import numpy as np
import pandas as pd
import pymc as pm
import pytest
import xarray as xr

import dagmed
from dagmed import compat
from dagmed.errors import DataError
from dagmed.lang.families import FAMILIES
from dagmed.model.clusters import icc

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


@pytest.mark.skipif(compat.PYMC_6, reason="random slopes need PyMC 5 for now: the compiler refuses them on PyMC 6")
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
        "y_corr_school": compat.lkj_value(-0.4),  # a vector of one on PyMC 5, a 2 x 2 matrix on PyMC 6
    }
    corr_dims = [f"corr_{i}" for i in range(values["y_corr_school"].ndim)]
    dims = {"m_beta": ["m_parents"], "y_beta": ["y_parents"], "y_corr_school": corr_dims}
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


@pytest.mark.skipif(compat.PYMC_6, reason="random slopes need PyMC 5 for now: the compiler refuses them on PyMC 6")
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
