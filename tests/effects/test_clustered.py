"""Effects with cluster effects: the observed clusters' own intercepts against a brute-force sum over the
rows, and a new cluster's Gauss--Hermite integral against Monte Carlo over its intercepts."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import dagmed
from dagmed.effects import clustered as cluster_effects
from dagmed.effects.decomposition import decompose, decompose_reporting, inputs_from

SPEC = "treatment t\noutcome y\nt -> m -> y\nt -> y\nm, y ~ bernoulli\ncluster school: m\ncluster school: t -> y\n"
G = 4


def _dataset():
    rng = np.random.default_rng(3)
    n = 30
    df = pd.DataFrame({"school": rng.integers(0, G, n), "x": rng.normal(size=n)})
    df["t"], df["m"], df["y"] = rng.integers(0, 2, n), rng.integers(0, 2, n), rng.integers(0, 2, n)
    spec = dagmed.parse(SPEC.replace("t -> y\n", "t -> y\nx -> m, y\n"))
    return dagmed.load_data(spec, df)


def _posterior(s=3, seed=0):
    rng = np.random.default_rng(seed)

    def v(*shape, scale=0.5):
        return rng.normal(0.0, scale, (1, s, *shape))

    return xr.Dataset(
        {
            "m_intercept": (("chain", "draw"), v()),
            "m_beta": (("chain", "draw", "m_parents"), v(2)),
            "m_sd_school": (("chain", "draw"), np.abs(v()) + 0.5),
            "m_z_school": (("chain", "draw", "school_cluster"), v(G, scale=1.0)),
            "y_intercept": (("chain", "draw"), v()),
            "y_beta": (("chain", "draw", "y_parents"), v(3, scale=1.0)),
            "y_sd_school": (("chain", "draw"), np.abs(v()) + 0.5),
            "y_z_school": (("chain", "draw", "school_cluster"), v(G, scale=1.0)),
            "y_slope_sd_school": (("chain", "draw"), np.abs(v()) + 0.3),
            "y_slope_z_school": (("chain", "draw", "school_cluster"), v(G, scale=1.0)),
            "y_corr_school": (("chain", "draw", "corr"), np.tanh(v(1))),
        },
        coords={"m_parents": ["t", "x"], "y_parents": ["t", "m", "x"], "school_cluster": [str(g) for g in range(G)]},
    )


def _p(eta):
    return 1.0 / (1.0 + np.exp(-eta))


def _brute(post, ds, u_m, u_y, v_y, s):
    """E(t; t_1) of draw ``s`` by a loop over the rows: ``u_m[i]``, ``u_y[i]``, ``v_y[i]`` are row i's cluster effects."""
    d = {k: post[k].values[0, s] for k in post.data_vars}
    x = ds["x"]
    table = np.zeros((2, 2))
    for t in (0, 1):
        for t1 in (0, 1):
            total = 0.0
            for i in range(ds.n_obs):
                q = _p(d["m_intercept"] + d["m_beta"][0] * t1 + d["m_beta"][1] * x[i] + u_m[i])
                for m, pm_ in ((1, q), (0, 1 - q)):
                    eta = d["y_intercept"] + d["y_beta"] @ [t, m, x[i]] + u_y[i] + v_y[i] * t
                    total += pm_ * _p(eta)
            table[t, t1] = total / ds.n_obs
    return table


def test_observed_clusters_match_a_brute_force_sum_over_the_rows():
    ds, post = _dataset(), _posterior()
    table, _, eff = decompose(post, ds)
    codes = ds.clusters["school"][0]
    for s in range(3):
        d = {k: post[k].values[0, s] for k in post.data_vars}
        rho = d["y_corr_school"][0]
        u_m = [d["m_sd_school"] * d["m_z_school"][codes[i]] for i in range(ds.n_obs)]
        u_y = [d["y_sd_school"] * d["y_z_school"][codes[i]] for i in range(ds.n_obs)]
        v_y = [
            d["y_slope_sd_school"] * (rho * d["y_z_school"][c] + np.sqrt(1 - rho**2) * d["y_slope_z_school"][c])
            for c in codes
        ]
        np.testing.assert_allclose(table[s], _brute(post, ds, u_m, u_y, v_y, s), rtol=1e-12)


def test_a_new_cluster_matches_monte_carlo_over_its_intercepts():
    """The new cluster's regimes: each row's regime averaged over z ~ N(0, 1) for m's intercept and y's
    intercept and slope (three dimensions); Monte Carlo with 200 000 draws of z, within 5 of its standard errors."""
    ds, post = _dataset(), _posterior(s=1, seed=5)
    table, _, _, accuracy = decompose_reporting(post, ds, clusters="new")
    assert accuracy["new_cluster"]["dimensions"] == 3 and accuracy["new_cluster"]["error"] < 1e-3
    d = {k: post[k].values[0, 0] for k in post.data_vars}
    rng = np.random.default_rng(11)
    z = rng.normal(size=(3, 200_000))
    rho = d["y_corr_school"][0]
    u_m, u_y = d["m_sd_school"] * z[0], d["y_sd_school"] * z[1]
    v_y = d["y_slope_sd_school"] * (rho * z[1] + np.sqrt(1 - rho**2) * z[2])
    x = ds["x"]
    for t in (0, 1):
        for t1 in (0, 1):
            per_draw = 0.0
            for i in range(ds.n_obs):
                q = _p(d["m_intercept"] + d["m_beta"][0] * t1 + d["m_beta"][1] * x[i] + u_m)
                base = d["y_intercept"] + d["y_beta"][0] * t + d["y_beta"][2] * x[i] + u_y + v_y * t
                per_draw = per_draw + q * _p(base + d["y_beta"][1]) + (1 - q) * _p(base)
            per_draw = per_draw / ds.n_obs
            se = per_draw.std() / np.sqrt(per_draw.size)
            assert abs(table[0, t, t1] - per_draw.mean()) < 5 * se, (t, t1)


def test_new_cluster_without_clusters_is_the_plain_decomposition():
    spec = dagmed.parse("treatment t\noutcome y\nt -> y ~ bernoulli\n")
    ds = dagmed.load_data(spec, pd.DataFrame({"t": [0, 1, 1], "y": [1, 0, 1]}))
    post = xr.Dataset(
        {"y_intercept": (("chain", "draw"), [[0.1]]), "y_beta": (("chain", "draw", "y_parents"), [[[0.5]]])},
        coords={"y_parents": ["t"]},
    )
    a, b = decompose(post, ds)[0], decompose(post, ds, clusters="new")[0]
    np.testing.assert_array_equal(a, b)


def test_unknown_clusters_mode_is_refused():
    with pytest.raises(dagmed.errors.UsageError, match="unknown clusters 'old'; valid options are observed, new"):
        decompose(_posterior(), _dataset(), clusters="old")


def test_the_grid_repeats_each_distinct_row_at_every_point_with_weights_summing_to_the_rows():
    ds, post = _dataset(), _posterior(s=1, seed=2)
    base = inputs_from(post, ds, clusters="new")
    assert cluster_effects.n_dimensions(base) == 3
    grid = cluster_effects.new_cluster(base, 8)
    assert grid.n_obs == base.distinct().n_obs * 8**3
    np.testing.assert_allclose(grid.weights[0].sum(), ds.n_obs)


def test_crossed_groupings_add_each_columns_intercept():
    """``cluster school`` and ``cluster class``: a row adds its school's and its class's intercepts."""
    rng = np.random.default_rng(8)
    n = 24
    df = pd.DataFrame({"school": rng.integers(0, 3, n), "class": rng.choice(["a", "b"], n), "x": rng.normal(size=n)})
    df["t"], df["m"], df["y"] = rng.integers(0, 2, n), rng.integers(0, 2, n), rng.integers(0, 2, n)
    spec = dagmed.parse(
        "treatment t\noutcome y\nt -> m -> y\nt -> y\nx -> m, y\nm, y ~ bernoulli\ncluster school\ncluster class: y\n"
    )
    ds = dagmed.load_data(spec, df)
    post = _posterior(s=2, seed=4).drop_vars(["y_slope_sd_school", "y_slope_z_school", "y_corr_school"])
    post = post.isel(school_cluster=slice(0, 3)).assign(
        y_sd_class=(("chain", "draw"), [[0.7, 1.3]]),
        y_z_class=(("chain", "draw", "class_cluster"), [[[0.5, -1.0], [1.5, 0.2]]]),
    )
    post = post.assign_coords(class_cluster=["a", "b"])
    table = decompose(post, ds)[0]
    school, klass = ds.clusters["school"][0], ds.clusters["class"][0]
    for s in range(2):
        d = {k: post[k].values[0, s] for k in post.data_vars}
        u_m = d["m_sd_school"] * d["m_z_school"][school]
        u_y = d["y_sd_school"] * d["y_z_school"][school] + d["y_sd_class"] * d["y_z_class"][klass]
        np.testing.assert_allclose(table[s], _brute(post, ds, u_m, u_y, np.zeros(n), s), rtol=1e-12)
    new = decompose_reporting(post, ds, clusters="new")[3]["new_cluster"]
    assert new["dimensions"] == 3 and new["error"] < 1e-3


def test_many_distinct_rows_take_fewer_nodes_and_report_their_error(monkeypatch):
    ds, post = _dataset(), _posterior(s=2, seed=6)
    rows = inputs_from(post, ds, clusters="new").distinct().n_obs
    monkeypatch.setattr(cluster_effects, "BUDGET", rows * 2 * 4 * 4**3)  # room for 4 nodes in each of 3 dimensions
    new = decompose_reporting(post, ds, clusters="new")[3]["new_cluster"]
    assert new["nodes"] == 4 and new["error"] > 0
    monkeypatch.setattr(cluster_effects, "BUDGET", 1e12)
    assert decompose_reporting(post, ds, clusters="new")[3]["new_cluster"]["nodes"] >= 16
