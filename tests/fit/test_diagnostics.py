"""The NumPy R-hat is ArviZ's (az.rhat, rank-normalised split R-hat), on random and real posteriors."""

import warnings

import arviz as az
import numpy as np
import pytest
import xarray as xr
from scipy import stats

import dagmed
from dagmed import compat
from dagmed.fit import diagnostics

from conftest import REPO

TOL = 1e-12  # ArviZ 0.x sums its variances with numba, arviz-stats and this module with NumPy


def _az_rhat(posterior) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a constant or NaN column: ArviZ's 0 / 0
        out = az.rhat(posterior)
    return {v: np.asarray(out[v]) for v in posterior.data_vars}


def _ours(posterior) -> dict:
    return {v: diagnostics.rhat(posterior[v].transpose("chain", "draw", ...).values) for v in posterior.data_vars}


def _assert_equal(posterior):
    want, got = _az_rhat(posterior), _ours(posterior)
    for v in want:
        assert got[v].shape == want[v].shape, v
        np.testing.assert_array_equal(np.isnan(got[v]), np.isnan(want[v]), err_msg=v)
        np.testing.assert_allclose(got[v], want[v], rtol=0, atol=TOL, err_msg=v)


def _dataset(x) -> xr.Dataset:
    dims = ("chain", "draw") + tuple(f"d{i}" for i in range(x.ndim - 2))
    return xr.Dataset({"a": (dims, x)})


@pytest.mark.parametrize("shape", [(4, 1000), (2, 4), (3, 7, 2), (4, 101, 3, 2), (8, 50)])
@pytest.mark.parametrize("seed", [0, 1])
def test_rhat_is_arviz_on_random_draws(shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape) + rng.normal(size=shape[:1] + (1,) * (len(shape) - 1))  # chains that disagree a bit
    _assert_equal(_dataset(x))


def test_rhat_is_arviz_with_ties_constants_nans_and_heavy_tails():
    rng = np.random.default_rng(2)
    x = np.empty((4, 200, 5))
    x[..., 0] = rng.integers(0, 4, size=(4, 200))  # many ties: average ranks
    x[..., 1] = 3.0  # constant: NaN
    x[..., 2] = rng.standard_cauchy(size=(4, 200))
    x[..., 3] = rng.normal(size=(4, 200))
    x[0, 5, 3] = np.nan  # a NaN: NaN for that column only
    x[..., 4] = np.cumsum(rng.normal(size=(4, 200)), axis=1)  # a random walk: far from converged
    _assert_equal(_dataset(x))


@pytest.mark.parametrize("shape", [(1, 500), (3, 3)])
def test_rhat_is_nan_for_one_chain_or_few_draws(shape):
    x = np.random.default_rng(0).normal(size=shape)
    assert np.isnan(diagnostics.rhat(x))
    assert np.isnan(_az_rhat(_dataset(x))["a"])


def test_average_ranks_are_scipys():
    rng = np.random.default_rng(3)
    for x in (rng.normal(size=(4, 999)), rng.integers(0, 5, size=(3, 40)).astype(float), np.zeros((2, 6))):
        np.testing.assert_array_equal(diagnostics.average_ranks(x), stats.rankdata(x, method="average", axis=1))


@pytest.fixture(scope="module")
def real_fit():
    spec = dagmed.load(REPO / "specs" / "three_mediators.dag")
    return dagmed.run(spec, draws=300, tune=300, chains=3, seed=5, progressbar=False, log=lambda m: None).idata


def test_rhat_is_arviz_on_a_real_posterior(real_fit):
    post = compat.group(real_fit, "posterior")
    _assert_equal(post)
    worst = max(float(np.nanmax(r)) for r in _az_rhat(post).values())
    assert diagnostics.rhat_max(post) == pytest.approx(worst, abs=TOL)


def test_diagnostics_without_ess_report_rhat_and_divergences(real_fit):
    full, short = diagnostics.diagnostics(real_fit), diagnostics.diagnostics(real_fit, ess=False)
    assert set(short) == {"rhat_max", "divergences"}
    assert short == {k: full[k] for k in short}
    stats_ = compat.group(real_fit, "sample_stats")
    assert short["divergences"] == int(stats_["diverging"].sum())
    assert diagnostics.warnings_for(short) == [w for w in diagnostics.warnings_for(full) if "ESS" not in w]
