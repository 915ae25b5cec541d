"""dagmed.compat on the installed stack (PyMC 5 / ArviZ 0.x or PyMC 6 / ArviZ 1.x), and the two stacks against each other.

Each difference the compatibility module answers is checked here against the installed
libraries, or against an independent computation, so that a new release fails here, with
the part named, before a run fails. The last tests compare the stacks: a fixed-parameter
decomposition against numbers committed from the other stack, exactly; and a fit from the
same seed against the other stack's committed effects, within Monte Carlo error
(``tests/stack_effects.json``; rewrite a stack's entry with ``DAGMED_WRITE_STACK_EFFECTS=1``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import dagmed
from dagmed import api, compat
from dagmed.examples import linear_data

from conftest import SPECS

STACK = "pymc6" if compat.PYMC_6 else "pymc5"
OTHER = "pymc5" if compat.PYMC_6 else "pymc6"
STACK_EFFECTS = Path(__file__).with_name("stack_effects.json")


def _posterior(a):
    return xr.Dataset({"a": (("chain", "draw"), a)})


# --- versions ---------------------------------------------------------------------------------


def test_the_flags_are_the_installed_versions():
    import arviz
    import pymc

    assert compat.ARVIZ_1 == (int(arviz.__version__.split(".")[0]) >= 1)
    assert compat.PYMC_6 == (int(pymc.__version__.split(".")[0]) >= 6)
    assert compat.ARVIZ_1 == compat.PYMC_6, "PyMC 5 goes with ArviZ 0.x, PyMC 6 with ArviZ 1.x"
    assert f"PyMC {pymc.__version__}" in compat.stack()


# --- the posterior container ------------------------------------------------------------------


def test_the_container_is_the_one_pymc_returns():
    import pymc as pm

    with pm.Model():
        pm.Normal("a")
        prior = pm.sample_prior_predictive(draws=3, random_seed=1)
    ours = compat.inference_data(posterior=compat.group(prior, "prior"))
    assert type(ours) is type(prior)
    assert type(ours).__name__ == ("DataTree" if compat.ARVIZ_1 else "InferenceData")


def test_groups_are_added_replaced_and_read_as_datasets():
    idata = compat.inference_data(posterior=_posterior(np.zeros((2, 3))))
    compat.set_group(idata, "observed_data", xr.Dataset({"y": ("obs_id", [1.0, 2.0])}))
    compat.set_group(idata, "posterior", _posterior(np.ones((2, 4))))
    assert compat.groups(idata) == ["posterior", "observed_data"]
    post = compat.group(idata, "posterior")
    assert isinstance(post, xr.Dataset) and post.sizes["draw"] == 4 and float(post["a"].sum()) == 8.0
    del idata["observed_data"]
    assert compat.groups(idata) == ["posterior"]


def test_idata_nc_round_trips_and_is_read_by_the_installed_arviz(tmp_path):
    import arviz as az

    idata = compat.inference_data(
        posterior=_posterior(np.arange(6.0).reshape(2, 3)), observed_data=xr.Dataset({"y": ("obs_id", [0, 1])})
    )
    path = tmp_path / "idata.nc"
    idata.to_netcdf(str(path))
    back = compat.read_netcdf(path)
    assert compat.groups(back) == ["posterior", "observed_data"]
    np.testing.assert_array_equal(compat.group(back, "posterior")["a"].values, np.arange(6.0).reshape(2, 3))
    path.unlink()  # read into memory: the file is not held open
    if compat.ARVIZ_1:
        idata.to_netcdf(str(path))
        assert list(xr.open_datatree(str(path)).children) == ["posterior", "observed_data"]
        assert list(az.from_netcdf(str(path)).children) == ["posterior", "observed_data"]


# --- statistics -------------------------------------------------------------------------------


def test_hdi_is_the_shortest_interval_by_brute_force():
    x = np.random.default_rng(3).gamma(2.0, size=1001)
    for prob in (0.5, 0.9, 0.95):
        s = np.sort(x)
        k = int(np.floor(prob * s.size))  # ArviZ's count of draws inside: floor(prob * n) + 1
        i = int(np.argmin(s[k:] - s[: s.size - k]))
        assert compat.hdi(x, prob) == (s[i], s[i + k])


def test_psislw_smooths_only_the_tail():
    """PSIS replaces the largest M = min(S / 5, 3 sqrt(S)) ratios; the others keep their raw weights, renormalized."""
    lr = 0.3 * np.random.default_rng(4).normal(size=4000)
    log_w, k = compat.psislw(lr)
    assert abs(np.exp(log_w).sum() - 1) < 1e-12
    raw = lr - np.log(np.exp(lr).sum())
    body = np.argsort(lr)[: lr.size - int(min(lr.size / 5, 3 * np.sqrt(lr.size))) - 1]
    shift = log_w[body] - raw[body]
    assert np.ptp(shift) < 1e-12 and abs(shift[0]) < 0.01
    assert 0 < k < 0.2  # a light tail


def test_power_sensitivity_of_prior_and_likelihood():
    a = np.random.default_rng(0).normal(size=(2, 1000))
    idata = compat.inference_data(
        posterior=xr.Dataset({"a": (("chain", "draw"), a), "b": (("chain", "draw"), 2 * a + 1)}),
        log_prior=xr.Dataset({"a": (("chain", "draw"), -0.5 * a**2)}),
        log_likelihood=xr.Dataset({"y": (("chain", "draw"), -0.5 * (a - 1) ** 2)}),
    )
    prior, lik = (compat.power_sensitivity(idata, c) for c in ("prior", "likelihood"))
    # the same statistic on both stacks; they smooth the power-scaling weights' tails with
    # differently fitted Pareto tails, 2e-5 apart here (ArviZ 0.23: 0.103623, 0.241148)
    assert float(prior["a"]) == pytest.approx(0.10363, abs=1e-3)
    assert float(lik["a"]) == pytest.approx(0.24113, abs=1e-3)
    assert float(prior["b"]) == pytest.approx(float(prior["a"]), abs=1e-9)  # invariant to an affine map
    flat = compat.inference_data(
        posterior=idata["posterior"], log_prior=idata["log_prior"], log_likelihood=_loglik_zero(a)
    )
    assert float(compat.power_sensitivity(flat, "likelihood")["a"]) == 0.0


def _loglik_zero(a):
    return xr.Dataset({"y": (("chain", "draw"), np.zeros_like(a))})


def test_kde_is_a_density_near_the_truth():
    from scipy import stats

    grid, density = compat.kde(np.random.default_rng(0).normal(size=20_000))
    assert grid.shape == density.shape == (512,)
    assert abs(np.sum(density) * (grid[1] - grid[0]) - 1) < 0.01
    # 20000 draws: a kernel estimate's error near the mode is about 0.01
    assert np.max(np.abs(density - stats.norm.pdf(grid))) < 0.03


def test_plot_posterior_draws_into_the_axes_given():
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    before = plt.get_fignums()
    fig = Figure()
    ax = fig.subplots()
    compat.plot_posterior(np.random.default_rng(0).normal(1.0, 1.0, 2000), ax, 0.9, 0.0)
    assert plt.get_fignums() == before, "no figure of its own"
    assert len(fig.axes) == 1
    xs = [line.get_xdata() for line in ax.lines]
    assert any(np.size(x) > 50 for x in xs), "a density curve"
    assert any(np.size(x) == 2 and np.allclose(x, 0.0) for x in xs), "the reference line at 0"


# --- PyMC's and nutpie's private parts --------------------------------------------------------


def test_chain_seed_is_what_pm_sample_derives():
    from pymc.sampling.mcmc import _get_seeds_per_chain

    assert compat.chain_seed(None) is None
    for seed in (0, 1, 12345):
        assert compat.chain_seed(seed) == int(_get_seeds_per_chain(seed, 1)[0])
        assert compat.chain_seed(seed) == compat.chain_seed(seed)


def test_nutpie_compiled_model_has_the_fields_the_fast_density_fills():
    pytest.importorskip("nutpie")
    import dataclasses

    from nutpie.compile_pymc import CompiledPyMCModel

    fields = {f.name for f in dataclasses.fields(CompiledPyMCModel)}
    missing = compat.NUTPIE_FIELDS - fields
    assert not missing, f"nutpie's CompiledPyMCModel lacks {sorted(missing)}: the fast path falls back to PyMC's model"
    assert compat.compiled_model_class() is CompiledPyMCModel
    required = {
        f.name
        for f in dataclasses.fields(CompiledPyMCModel)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    filled = compat.NUTPIE_FIELDS | {"shared_data", "logp_func", "expand_func", "shared_var_keys"}
    assert required <= filled, f"nutpie requires fields dagmed does not fill: {sorted(required - filled)}"


def test_nutpie_options_are_arguments_of_nutpie_sample():
    nutpie = pytest.importorskip("nutpie")
    import inspect

    assert set(compat.nutpie_options()) <= set(inspect.signature(nutpie.sample).parameters)


def test_data_groups_are_those_pm_sample_makes():
    pm = pytest.importorskip("pymc")
    spec = dagmed.parse("treatment t\noutcome y\nx -> t, y\nt -> y\nt, y ~ bernoulli\n")
    df = pd.DataFrame({"x": [0.5, -1.0, 2.0, 0.1], "t": [0, 1, 1, 0], "y": [1, 0, 1, 1]})
    model = dagmed.compile(spec, df)
    groups = compat.data_groups(model)
    with model:
        idata = pm.sample(draws=5, tune=5, chains=1, random_seed=1, progressbar=False, compute_convergence_checks=False)
    for name, ds in groups.items():
        ref = compat.group(idata, name)
        assert sorted(ds.data_vars) == sorted(ref.data_vars), name
        for v in ds.data_vars:
            np.testing.assert_array_equal(ds[v].values, ref[v].values)
            assert ds[v].dims == ref[v].dims


def test_pymc_takes_the_arguments_dagmed_gives():
    """The arguments of dagmed.fit.sampling's calls, by name, in PyMC 5.16-5.28 and 6.x: no entry in compat needed."""
    import inspect

    import pymc as pm

    def params(f):
        return set(inspect.signature(f).parameters)

    sample = {"draws", "tune", "chains", "cores", "random_seed", "progressbar", "nuts_sampler", "model"}
    assert sample | {"compute_convergence_checks"} <= params(pm.sample)
    assert {"draws", "random_seed", "compile_kwargs", "model"} <= params(pm.sample_prior_predictive)
    assert {"random_seed", "progressbar", "compile_kwargs"} <= params(pm.sample_posterior_predictive)


def test_do_and_observe_are_the_model_transforms_dagmed_uses():
    import pymc as pm

    with pm.Model() as m:
        a = pm.Normal("a")
        pm.Normal("y", a, 1.0)
    done = pm.do(m, {"a": 2.0})
    assert "a" not in {v.name for v in done.free_RVs}
    assert float(pm.draw(done["a"])) == 2.0
    observed = pm.observe(m, {"y": np.array(0.5)})
    assert [v.name for v in observed.observed_RVs] == ["y"] and [v.name for v in observed.free_RVs] == ["a"]


@pytest.mark.filterwarnings(
    "ignore:RandomVariable Ops will stop hiding:DeprecationWarning"
)  # PyTensor 3; 2 has no flag
def test_draw_mode_draws_with_numpys_samplers():
    """The simulator's mode draws a Bernoulli as SciPy does from the same NumPy generator, whatever PyTensor's default."""
    import pytensor
    import pytensor.tensor as pt
    from scipy import stats

    rng = pytensor.shared(np.random.default_rng(7))
    f = pytensor.function([], pt.random.bernoulli(0.3, size=200, rng=rng), mode=compat.draw_mode())
    want = stats.bernoulli.rvs(0.3, size=200, random_state=np.random.default_rng(7))
    np.testing.assert_array_equal(f(), want)


# --- the two stacks against each other --------------------------------------------------------

# specs/interaction.dag's graph without its data: two binary mediators, a product term, a covariate
FIXED_SPEC = (
    "treatment treat\noutcome relapse\nage -> treat, adherence, support, relapse\n"
    "treat -> adherence, support -> relapse\ntreat -> relapse\ntreat:adherence -> relapse\n"
    "treat, adherence, support, relapse ~ bernoulli\n"
)
FIXED_DATA = pd.DataFrame(
    {
        "age": [-1.5, -0.5, 0.0, 0.25, 1.0, 2.0],
        "treat": [0, 1, 0, 1, 1, 0],
        "adherence": [0, 1, 1, 1, 0, 0],
        "support": [1, 1, 0, 0, 1, 0],
        "relapse": [1, 0, 0, 1, 0, 1],
    }
)
# computed on Python 3.11, PyMC 5.28, ArviZ 0.23 and on Python 3.12, PyMC 6.4, ArviZ 1.3: bit-identical
FIXED_EFFECTS = {
    "TE": [-0.10042677835609204, 0.07243528396175758],
    "DE": [-0.11362677431959872, 0.06082206928346878],
    "IIE[adherence]": [0.014241658927161116, 0.0030708292293034622],
    "IIE[support]": [0.010510302896075935, 0.006077807160054349],
    "INT[adherence,support]": [0.0006163739397825885, -7.180507156501204e-05],
    "DEP": [-0.012168339799512956, 0.0025363833604959973],
    "PM[adherence]": [-0.14181136904206185, 0.04239410769652971],
    "PM[support]": [-0.104656378190373, 0.08390672097403726],
}


def _fixed_parameter_effects():
    import pymc as pm

    dataset = dagmed.load_data(dagmed.parse(FIXED_SPEC), FIXED_DATA)
    model = dagmed.compile(dagmed.parse(FIXED_SPEC), FIXED_DATA)
    structure = compat.group(pm.sample_prior_predictive(draws=2, model=model, random_seed=1), "prior")
    params = [v for v in structure.data_vars if "obs_id" not in structure[v].dims]
    # every parameter fixed: value j of parameter i at draw d is a small fixed number
    fixed = xr.Dataset(
        {
            name: structure[name].copy(
                data=np.linspace(-0.8, 0.9, structure[name].size).reshape(structure[name].shape) * (1 + 0.1 * i)
            )
            for i, name in enumerate(sorted(params))  # the order of the groups' variables differs by stack
        }
    )
    return api.decompose_idata(dataset, compat.inference_data(posterior=fixed))[-1]


def test_a_fixed_parameter_decomposition_is_the_same_on_both_stacks():
    """No sampling: the same parameters give the same effects to rounding on either stack (numbers above)."""
    eff = _fixed_parameter_effects()
    assert sorted(eff) == sorted(FIXED_EFFECTS)
    for name, want in FIXED_EFFECTS.items():
        # the same arithmetic in the same order; a library's own rounding may differ in the last bits
        np.testing.assert_allclose(eff[name], want, rtol=1e-12, atol=0, err_msg=name)


@pytest.mark.slow
def test_a_fit_from_the_same_seed_gives_the_other_stacks_effects():
    """A small fit (Example 1, nutpie, seed 1): each effect's mean within 4 Monte Carlo standard errors of the other stack's.

    The data are the same on both stacks (the simulator draws with NumPy's samplers:
    :func:`dagmed.compat.draw_mode`); the sampler's draws may differ (nutpie's version), so the
    two means differ by Monte Carlo error, whose standard error is ``hypot(mcse_here,
    mcse_there)``; 4 of them leave a false alarm probability of 6e-5 per effect.
    """
    import arviz as az

    spec = dagmed.load(SPECS / "linear.dag")
    r = dagmed.run(spec, linear_data(), draws=500, tune=500, chains=2, seed=1, progressbar=False, log=lambda m: None)
    here = {}
    for name in ("TE", "DE", "IIE[m]"):
        x = np.asarray(r.effect_draws[name]).reshape(2, -1)
        ess = float(az.ess(xr.Dataset({"x": (("chain", "draw"), x)}), method="mean")["x"])
        here[name] = [float(x.mean()), float(x.std(ddof=1) / np.sqrt(ess))]
    reference = json.loads(STACK_EFFECTS.read_text()) if STACK_EFFECTS.exists() else {}
    if os.environ.get("DAGMED_WRITE_STACK_EFFECTS"):
        reference[STACK] = {"stack": compat.stack(), "effects": here}
        STACK_EFFECTS.write_text(json.dumps(reference, indent=2, sort_keys=True) + "\n")
    if OTHER not in reference:
        pytest.skip(f"no committed effects of the {OTHER} stack in {STACK_EFFECTS.name}")
    there = reference[OTHER]["effects"]
    for name, (mean, mcse) in here.items():
        mean_other, mcse_other = there[name]
        assert abs(mean - mean_other) <= 4 * np.hypot(mcse, mcse_other), (name, mean, mean_other, mcse, mcse_other)
