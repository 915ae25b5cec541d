"""The fast path's log density is PyMC's, and its draws are the same posterior's (dagmed.fit.fastglm)."""

import dataclasses

import numpy as np
import pandas as pd
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import stats

import dagmed
from dagmed import api
from dagmed.fit import fastglm, sampling
from dagmed.model import compiler, confounding, data, missing, names
from dagmed.model.ir import ModelIR

import confounded
from conftest import REPO, needs_substance

EPS = np.finfo(float).eps

BASE = "treatment t\noutcome y\nx -> t, m, y\nt -> m -> y\nt -> y\n"

# One spec per family of the outcome and prior of each kind: every family, every prior the
# kernel knows, on intercepts, coefficients and sigma.
CASES = {
    "bernoulli": "t, m, y ~ bernoulli\nprior intercept = studentt(3, 0.5, 2)\nprior y.beta = cauchy(0, 2)\n",
    "normal": (
        "t, m ~ bernoulli\ny ~ normal\nprior y.intercept = laplace(1, 3)\nprior y.beta = normal(0, 2)\n"
        "prior y.sigma = halfnormal(2)\n"
    ),
    "normal_sigma_priors": (
        "t ~ bernoulli\nm, y ~ normal\nprior m.sigma = halfstudentt(4, 1)\nprior y.sigma = gamma(2, 1.5)\n"
    ),
    "normal_more_sigma": (
        "t ~ bernoulli\nm, y ~ normal\nprior m.sigma = exponential(2)\n"
        "prior y.sigma = lognormal(0, 1)\nprior m.beta = uniform(-3, 4)\n"
    ),
    "poisson": "t, m ~ bernoulli\ny ~ poisson\nprior y.beta = normal(0, 0.5)\n",
    # product terms: one more design column each, the product of the parents' values
    "products": "t, m, y ~ bernoulli\nt:m, x:t -> y\nx:t -> m\nprior t:m -> y = normal(0, 0.5)\n",
    # random intercepts (docs/clusters.md): sd * z[the row's cluster], crossed groupings, priors on the sds
    "clusters": "t, m, y ~ bernoulli\ncluster g: m, y\ncluster h: y\nprior y.sd_g = exponential(2)\n",
    "clusters_normal": "t ~ bernoulli\nm, y ~ normal\ncluster g\nprior sd = halfnormal(0.5)\n",
    "clusters_poisson": "t, m ~ bernoulli\ny ~ poisson\ncluster h: t, y\n",
}


def model_ir(spec):
    return ModelIR.from_analysis(dagmed.check(spec))


def data_for(spec, n=60, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 4, n).astype(float)  # few distinct values: rows repeat, as in real data
    t = rng.binomial(1, 0.5, n)
    ir = model_ir(spec)
    fam = {v: ir.family(v).name for v in ("m", "y")}
    m = rng.binomial(1, 0.4, n) if fam["m"] == "bernoulli" else rng.normal(1 + t, 1.0, n)
    y = {"bernoulli": rng.binomial(1, 0.3, n), "normal": rng.normal(x + m, 1.5, n), "poisson": rng.poisson(1 + x, n)}[
        fam["y"]
    ]
    # cluster columns for the specs with cluster statements (ignored by the others)
    g, h = rng.integers(0, 5, n), rng.choice(["a", "b", "c"], n)
    return pd.DataFrame({"x": x, "t": t, "m": m, "y": y, "g": g, "h": h})


def value_names(model):
    """Each free variable's value variable name (``y_sigma_log__`` for a transformed one)."""
    return [model.rvs_to_values[v].name for v in model.free_RVs]


def terms_and_jacobian(model):
    """Every elementwise term of PyMC's log density of ``model``, and the terms' Jacobian in the unconstrained point."""
    values = [model.rvs_to_values[v] for v in model.free_RVs]
    terms = pt.concatenate([pt.flatten(t) for t in model.logp(sum=False)])
    flat = pt.concatenate(
        [
            pt.flatten(pytensor.gradient.jacobian(terms, v)).reshape((terms.shape[0], -1))
            if v.ndim
            else pytensor.gradient.jacobian(terms, v)[:, None]
            for v in values
        ],
        axis=1,
    )
    inputs = model.replace_rvs_by_values([terms, flat])
    return pytensor.function(values, inputs, on_unused_input="ignore")


def likelihood_terms(model):
    """The observed nodes' elementwise log likelihood terms, as a function of the unconstrained point."""
    values = [model.rvs_to_values[v] for v in model.free_RVs]
    terms = pt.concatenate([pt.flatten(t) for t in model.logp(vars=model.observed_RVs, sum=False)])
    return pytensor.function(values, model.replace_rvs_by_values([terms])[0], on_unused_input="ignore")


@pytest.mark.parametrize("case", sorted(CASES))
def test_log_density_and_gradient_are_pymcs(case):
    spec = dagmed.parse(BASE + CASES[case])
    df = data_for(spec)
    model = dagmed.compile(spec, df)
    fast = fastglm.plan(model_ir(spec), model)
    assert fast is not None and fast.names == tuple(v.name for v in model.free_RVs)
    assert fast.rows.sum() < 3 * len(df)  # identical rows are summed once
    elementwise = terms_and_jacobian(model)
    ip = model.initial_point()
    observed = likelihood_terms(model)
    rng = np.random.default_rng(1)
    for _ in range(5):
        x = rng.normal(0.0, 0.7, fast.n_dim)
        point = {n: x[s].reshape(np.shape(ip[n])) for n, s in zip(value_names(model), fast.slices)}
        ours, grad = fast.logp(x)
        terms, jac = elementwise(*point.values())
        # both sides sum the same n terms (ours grouped by distinct row), each term within a
        # few roundings of its value: |difference| <= (2 n + 16) eps sum|term|, per component too.
        # The gradient against PyMC's terms differentiated one by one: the fused graph's
        # (compile_dlogp) is off by 5e-8 with a Gamma prior on sigma, where ours agrees with
        # a long double evaluation to 1e-16.
        n = len(terms)
        assert np.all(np.abs(grad - jac.sum(axis=0)) <= (2 * n + 16) * EPS * np.abs(jac).sum(axis=0))
        # The likelihood against PyMC's; the priors against scipy (test_prior_log_densities_match_scipy):
        # pytensor's gammaln is off by up to 4e-9 (gammaln(1.5)), which moves PyMC's StudentT,
        # HalfStudentT and Gamma log densities by as much
        unweighted = dataclasses.replace(fast, w=np.zeros_like(fast.w))
        lik = observed(*point.values())
        assert abs((ours - unweighted.logp(x)[0]) - lik.sum()) <= (2 * n + 16) * EPS * np.abs(terms).sum()


@pytest.mark.parametrize(
    "dist, scipy_dist, value",
    [
        ("normal(1, 2)", stats.norm(1, 2), 0.3),
        ("studentt(3, 0.5, 2)", stats.t(3, 0.5, 2), -1.2),
        ("cauchy(0.5, 2)", stats.cauchy(0.5, 2), 2.5),
        ("laplace(1, 3)", stats.laplace(1, 3), -0.7),
        ("halfnormal(2)", stats.halfnorm(0, 2), 1.3),
        ("halfcauchy(1.5)", stats.halfcauchy(0, 1.5), 0.4),
        ("halfstudentt(4, 1)", None, 0.8),
        ("exponential(2)", stats.expon(0, 0.5), 0.9),
        ("gamma(2, 1.5)", stats.gamma(2, 0, 1 / 1.5), 1.7),
        ("lognormal(0.2, 1)", stats.lognorm(1, 0, np.exp(0.2)), 2.2),
    ],
)
def test_prior_log_densities_match_scipy(dist, scipy_dist, value):
    """Each prior's log density (constant included) and derivative, against scipy and a central difference."""
    d = dagmed.parse(BASE + f"t, m, y ~ bernoulli\nprior y.intercept = {dist}\n").node_priors("y").intercept
    code, _, (a, b, c, const) = fastglm._prior_row(d)
    lp, dlp = fastglm._prior_logp(code, value, a, b, c)
    expect = (
        scipy_dist.logpdf(value) if scipy_dist is not None else np.log(2) + stats.t(4, 0, 1).logpdf(value)
    )  # half Student-t: twice the density on x > 0
    # each side is a handful of operations on terms no larger than |expect| + |const| (lgamma,
    # log, log1p within a few ulps each): 64 eps of that magnitude bounds both roundings
    assert abs(const + lp - expect) <= 64 * EPS * (abs(expect) + abs(const))
    h = 1e-6 * max(1.0, abs(value))
    central = (fastglm._prior_logp(code, value + h, a, b, c)[0] - fastglm._prior_logp(code, value - h, a, b, c)[0]) / (
        2 * h
    )
    assert abs(dlp - central) <= 1e-6 * (1 + abs(dlp))  # the difference quotient's own error, O(h^2) + eps/h


def test_constrained_values_follow_the_transforms():
    spec = dagmed.parse(BASE + CASES["normal_more_sigma"])
    model = dagmed.compile(spec, data_for(spec))
    fast = fastglm.plan(model_ir(spec), model)
    x = np.random.default_rng(2).normal(size=fast.n_dim)
    values = fast.constrained(x)
    assert len(value_names(model)) == len(fast.names)  # one unconstrained value per variable of the model
    for name, s in zip(fast.names, fast.slices):
        transform = model.rvs_to_transforms[model[name]]
        expect = x[s] if transform is None else transform.backward(x[s], *model[name].owner.inputs).eval()
        # log transform: one exp on each side, 1 ulp each. Interval (a, b): a + (b - a) s with s
        # a logistic (exp, add, divide), a few roundings of terms as large as |a| + |b - a|: an
        # absolute bound, since the sum may cancel
        a, b = fast.prior_params[s, 0], fast.prior_params[s, 1]
        interval = fast.priors[s, 1] == 2
        tol = np.where(interval, 8 * EPS * (np.abs(a) + np.abs(b - a)), 2 * EPS * np.abs(np.ravel(expect)))
        assert np.all(np.abs(values[name].ravel() - np.ravel(expect)) <= tol), name
    assert values[names.extra("y", "sigma")] > 0 and -3 < values[names.beta("m")][0] < 4


def test_models_it_cannot_take_are_named():
    spec = dagmed.parse(BASE + "t, m, y ~ bernoulli\nx ~ normal\nmissing model\n")
    df = data_for(dagmed.parse(BASE + "t, m, y ~ bernoulli\n"))
    df.loc[3, "x"] = np.nan
    model = dagmed.compile(spec, df)
    ir = model_ir(spec)
    assert "potential" in fastglm.why_not(ir, model)
    slopes = dagmed.parse(BASE + "t, m, y ~ bernoulli\ncluster g: t -> y\n")
    assert "random slopes" in fastglm.why_not(model_ir(slopes), dagmed.compile(slopes, data_for(slopes)))
    assert fastglm.plan(ir, model) is None
    assert sampling.fast_plan(model, sampling.SamplerSettings(sampler="pymc"), ir) is None


def _example(name):
    """(spec, data) of a comparison: the substance data (skips without them), or Example 1 simulated (normal nodes, sigma)."""
    if name == "substance":
        spec = dagmed.load(REPO / "specs" / "substance.dag")
        return spec, dagmed.load_data(spec, needs_substance())
    spec = dagmed.load(REPO / "specs" / "linear.dag")
    sim = dagmed.simulate(spec, 300, params=REPO / "examples" / "linear" / "params.yaml", seed=5)
    return spec, dagmed.load_data(spec, sim.data)


@pytest.mark.slow
@pytest.mark.parametrize(
    "example, effects",
    [
        ("substance", ("TE", "DE", "IIE[dev_peer]", "IIE[sub_exp]")),
        ("linear", ("TE", "DE", "IIE[m]")),
    ],
)
def test_same_posterior_as_nutpie_on_the_pymc_model(example, effects):
    """The fast path against nutpie on the compiled PyMC model: every parameter and effect agrees within MC error."""
    spec, dataset = _example(example)
    assert_same_posterior(dataset, dataset.ir, effects)


def assert_same_posterior(dataset, ir, effects):
    """Fit ``ir`` to ``dataset`` on the fast path and on nutpie's compiled PyMC model (4 x 1000 draws each):
    every parameter's and every named effect's mean within 4 Monte Carlo sds, their sds within 15 %."""
    import arviz as az

    runs = {}
    for path in ("fast", "pymc model"):
        settings = sampling.SamplerSettings(
            draws=1000, tune=1000, chains=4, seed=3, sampler="nutpie", progressbar=False
        )
        model = compiler.attach(compiler.build(ir, dataset.n_obs), dataset)
        fast = sampling.fast_plan(model, settings, ir, dataset)
        assert fast is not None  # every example here qualifies
        idata = sampling.sample(model, settings, fast if path == "fast" else None)
        runs[path] = idata, api.decompose_idata(dataset, idata)[2]
    (a, ea), (b, eb) = runs["fast"], runs["pymc model"]
    pairs = [
        (f"{name}[{i}]", xa, xb)
        for name in a.posterior.data_vars
        for i, (xa, xb) in enumerate(
            zip(
                np.moveaxis(a.posterior[name].values.reshape(4, 1000, -1), -1, 0),
                np.moveaxis(b.posterior[name].values.reshape(4, 1000, -1), -1, 0),
            )
        )
    ]
    pairs += [(name, ea[name].reshape(4, 1000), eb[name].reshape(4, 1000)) for name in effects]
    assert len(pairs) <= 25
    for name, xa, xb in pairs:
        # the difference of two independent means has sd hypot(mcse_a, mcse_b), each from its run's ESS
        se = np.hypot(az.mcse(xa, method="mean").item(), az.mcse(xb, method="mean").item())
        assert abs(xa.mean() - xb.mean()) <= 4 * se, name  # 4 sd: at most about 25 comparisons per example
        # and the spread: sd ratios within 15 % (the ratio of two sds at ESS ~ 1000 has an sd of ~0.03)
        assert abs(xa.std() / xb.std() - 1) <= 0.15, name


# ---- incomplete rows: summed-out binary values (missing model, a sensitivity analysis's confounder) ----

MISSING = {
    # one and several missing binary values per row, in the treatment, a mediator, the outcome, a covariate
    "bernoulli": "x, t, m, y ~ bernoulli\nmissing model\n",
    "normal_outcome": "x, t, m ~ bernoulli\ny ~ normal\nmissing model\nprior y.sigma = halfnormal(2)\n",
    "poisson_outcome": "x, t, m ~ bernoulli\ny ~ poisson\nt:m -> y\nmissing model\n",
}


def missing_data(spec, n=80, seed=4, share=0.2):
    """``data_for``'s data with x binary and each of x, t, m (and y when bernoulli) missing in ``share`` of the rows."""
    df = data_for(spec, n, seed)
    rng = np.random.default_rng(seed + 1)
    df["x"] = (df["x"] > 1).astype(float)
    binary = [v for v in ("x", "t", "m", "y") if model_ir(spec).family(v).name == "bernoulli"]
    for v in binary:
        df.loc[rng.random(n) < share, v] = np.nan
    return df


def confounded_model(spec_text, df, strength=1.5, strength_y=-0.8):
    """(ir, dataset, model) of ``spec_text`` with a confounder of m and y (dagmed.model.confounding)."""
    spec = dagmed.parse(spec_text)
    ir = confounding.confound(model_ir(spec), "m", strength, strength_y)
    dataset = confounding.confounded_data(data.load(model_ir(spec), df), ir)
    return ir, dataset, compiler.attach(compiler.build(ir, dataset.n_obs), dataset)


def assert_pymcs_density(fast, model, n_terms, points=5):
    """Likelihood and gradient of ``fast`` against PyMC's compiled ``model`` at random points.

    The likelihood (observed nodes and the incomplete rows' potential) against PyMC's; the priors
    are checked against scipy (test_prior_log_densities_match_scipy: pytensor's gammaln moves
    PyMC's default Student-t priors by ~1e-8). Both sides sum about ``n_terms`` terms (ours
    grouped, merged rows weighted), each within a few roundings: |difference| <= (4 n + 64) eps
    times the sum of the absolute terms (the potential, a sum of log-sum-exps of log
    probabilities, enters as one term: its terms share its sign for bernoulli nodes).
    The gradient against ``compile_dlogp`` with the same bound on ``sum |gradient|``.
    """
    dlogp = model.compile_dlogp()
    lik = model.logp(vars=model.observed_RVs + model.potentials, sum=False)
    elementwise = model.compile_fn(pt.concatenate([pt.flatten(t) for t in lik]), on_unused_input="ignore")
    priors_only = dataclasses.replace(fast, nodes=fast.nodes[:0], groups=fast.groups[:0])
    ip = model.initial_point()
    rng = np.random.default_rng(1)
    tol = (4 * n_terms + 64) * EPS
    for _ in range(points):
        x = rng.normal(0.0, 0.7, fast.n_dim)
        point = {n: x[s].reshape(np.shape(ip[n])) for n, s in zip(value_names(model), fast.slices)}
        ours, grad = fast.logp(x)
        terms = elementwise(point)
        assert abs((ours - priors_only.logp(x)[0]) - terms.sum()) <= tol * np.abs(terms).sum()
        expect = dlogp(point)
        assert np.all(np.abs(grad - expect) <= tol * (np.abs(terms).sum() + np.abs(expect).sum()))


@pytest.mark.parametrize("case", sorted(MISSING))
def test_incomplete_rows_density_and_gradient_are_pymcs(case):
    spec = dagmed.parse(BASE + MISSING[case])
    df = missing_data(spec)
    dataset = data.load(model_ir(spec), df)
    lay = missing.layout(dataset)
    assert max(b.b for b in lay.blocks) >= 2  # rows with several summed-out values
    model = compiler.attach(compiler.build(dataset.ir, dataset.n_obs), dataset)
    assert fastglm.why_not(dataset.ir, model, dataset) is None
    fast = fastglm.plan(dataset.ir, model, dataset)
    assert fast.names == tuple(v.name for v in model.free_RVs)
    assert fast.groups[:, 2].sum() == (~lay.complete).sum()  # every incomplete row, once (merged ones weighted)
    assert_pymcs_density(fast, model, len(df) * 4 + lay.n_terms * 4)


@pytest.mark.parametrize("families", ["m, y ~ bernoulli\nt ~ bernoulli\n", "t ~ bernoulli\nm, y ~ normal\n"])
def test_confounded_density_and_gradient_are_pymcs(families):
    """A sensitivity analysis's model: U summed out of every row, its known coefficients (times sigma for a normal node)."""
    text = BASE + families
    ir, dataset, model = confounded_model(text, data_for(dagmed.parse(text)))
    fast = fastglm.plan(ir, model, dataset)
    assert fast is not None
    assert fast.groups[:, 2].sum() == len(dataset["t"]) and (fast.groups[:, 1] == 2).all()
    # only U, m and y depend on U: t's rows stay plain rows (once per row, not once per value of U)
    assert (fast.target >= 0).sum() == 3 * 2 * len(fast.groups)
    assert_pymcs_density(fast, model, 4 * 4 * len(dataset["t"]))


def test_models_with_latent_values_are_named():
    spec = dagmed.parse(BASE + "t, m, y ~ bernoulli\nx ~ normal\nmissing model\n")
    df = data_for(dagmed.parse(BASE + "t, m, y ~ bernoulli\n"))
    df.loc[3, "x"] = np.nan
    dataset = data.load(model_ir(spec), df)
    model = compiler.attach(compiler.build(dataset.ir, dataset.n_obs), dataset)
    assert "latent variables: x" in fastglm.why_not(dataset.ir, model, dataset)
    assert fastglm.plan(dataset.ir, model, dataset) is None


@pytest.mark.slow
def test_sensitivity_fit_same_posterior_as_nutpie_on_the_pymc_model():
    """A confounded fit (tests/confounded.py, U of m1 and y at strength 2) on the fast density and on the
    compiled PyMC model: every parameter and effect agrees within Monte Carlo error."""
    spec = dagmed.parse(confounded.SPEC)
    plain = data.load(model_ir(spec), confounded.simulate(300, seed=2))
    ir = confounding.confound(plain.ir, "m1", confounded.STRENGTH)
    dataset = confounding.confounded_data(plain, ir)
    assert_same_posterior(dataset, ir, ("TE", "DE", "IIE[m1]", "IIE[m2]"))


@pytest.mark.slow
def test_missing_model_fit_same_posterior_as_nutpie_on_the_pymc_model():
    """``missing model`` with the treatment, a mediator and the outcome missing in 15 % of the rows each."""
    spec = dagmed.parse(confounded.SPEC + "missing model\n")
    df = confounded.simulate(300, seed=3)
    rng = np.random.default_rng(3)
    for v in ("t", "m1", "y"):
        df.loc[rng.random(len(df)) < 0.15, v] = np.nan
    dataset = data.load(model_ir(spec), df)
    assert_same_posterior(dataset, dataset.ir, ("TE", "DE", "IIE[m1]", "IIE[m2]"))
