"""The unmeasured-confounder transform (dagmed.model.confounding): the IR it builds, its refusals,
the compiled model's log density against a brute-force sum over U, strength 0 against the plain
model, and the posterior reader's known columns."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy.special import expit, logsumexp
from scipy.stats import norm

import dagmed
from dagmed.errors import UsageError
from dagmed.model import compiler, confounding
from dagmed.model.draws import Draws
from dagmed.model.ir import INTERCEPT, Known, ModelIR

# prior draws stand in for a posterior; PyMC warns that they ignore the potential
pytestmark = pytest.mark.filterwarnings("ignore:The effect of Potentials:UserWarning")

SPEC = "treatment t\noutcome y\nx -> t, m, y\nt -> m -> y\nt -> y\nt, m, y ~ bernoulli\n"
NORMAL_SPEC = "treatment t\noutcome y\nx -> m, y\nt -> m -> y\nt -> y\nm ~ bernoulli\ny ~ normal\n"
DATA = pd.DataFrame(
    {
        "x": [0.3, -1.0, 0.5, 1.2, -0.2, 0.1],
        "t": [0, 1, 1, 0, 1, 0],
        "m": [1, 0, 1, 0, 0, 1],
        "y": [0, 1, 1, 1, 0, 1],
    }
)


def loaded(spec=SPEC, df=DATA):
    return dagmed.load_data(dagmed.parse(spec), df)


def confounded_model(ds, mediator, strength, strength_y=None):
    ir = confounding.confound(ds.ir, mediator, strength, strength_y)
    data = confounding.confounded_data(ds, ir)
    return compiler.attach(compiler.build(ir, data.n_obs), data), ir


def test_the_ir_gains_a_known_binary_covariate_and_two_known_coefficients():
    ds = loaded()
    ir = confounding.confound(ds.ir, "m", 1.5, -0.5)
    assert ir.covariates == ("U_m", "x") and ir.data_nodes[0] == "U_m"
    u = ir.node("U_m")
    assert u.params == () and u.intercept is None and u.known == (Known(INTERCEPT, 0.0),)
    assert ir.node("m").known == (Known("U_m", 1.5),) and ir.node("y").known == (Known("U_m", -0.5),)
    assert ir.node("t").known == ()  # the treatment is independent of U
    assert ir.node("m").parents[-1] == "U_m"
    assert ds.ir.node("m").known == ()  # the plain IR is unchanged
    assert confounding.confounder_of(ir) == "U_m" and confounding.confounder_of(ds.ir) is None


def test_a_normal_nodes_strength_is_in_residual_sds():
    ir = confounding.confound(loaded(NORMAL_SPEC, DATA.assign(y=DATA.y + 0.5)).ir, "m", 2.0)
    assert ir.node("y").known == (Known("U_m", 2.0, "sigma"),) and ir.node("m").known == (Known("U_m", 2.0),)


def test_refusals():
    ir = loaded().ir
    with pytest.raises(UsageError, match="x is not a mediator of this model; its mediators are m"):
        confounding.confound(ir, "x", 1.0)
    with pytest.raises(UsageError, match="--strength must be a finite number"):
        confounding.confound(ir, "m", float("nan"))
    cat = dagmed.check(dagmed.parse("treatment t\noutcome y\nt -> m -> y\nt -> y\nm ~ categorical(3)\ny ~ bernoulli\n"))
    with pytest.raises(UsageError, match="m is categorical"):
        confounding.confound(ModelIR.from_analysis(cat), "m", 1.0)


def test_the_confounder_is_named_apart_from_the_specs_nodes():
    spec = SPEC.replace("x -> t, m, y", "U_m -> t, m, y")
    ir = confounding.confound(loaded(spec, DATA.rename(columns={"x": "U_m"})).ir, "m", 1.0)
    assert ir.covariates == ("U_m_", "U_m")


def random_point(model, seed):
    rng = np.random.default_rng(seed)
    return {k: rng.normal(size=np.shape(v)) for k, v in model.initial_point().items()}


def _brute_logp(point, ds, a, b, sigma=None):
    """The log density by hand: priors, and per row log sum_u 1/2 prod_nodes p(node | parents, u)."""
    x, t, m, y = (ds[c] for c in ("x", "t", "m", "y"))
    lp = sum(norm.logpdf(v, 0, 1).sum() for k, v in point.items() if not k.endswith("sigma_log__"))
    rows = []
    for u in (0.0, 1.0):
        pt_ = expit(point["t_intercept"] + point["t_beta"][0] * x) if sigma is None else None
        pm_ = expit(point["m_intercept"] + point["m_beta"] @ np.vstack([t, x]) + a * u)
        ll = np.log(np.where(m == 1, pm_, 1 - pm_)) + np.log(0.5)
        if sigma is None:
            ll += np.log(np.where(t == 1, pt_, 1 - pt_))
            py = expit(point["y_intercept"] + point["y_beta"] @ np.vstack([t, m, x]) + b * u)
            ll += np.log(np.where(y == 1, py, 1 - py))
        else:
            mu = point["y_intercept"] + point["y_beta"] @ np.vstack([t, m, x]) + b * sigma * u
            ll += norm.logpdf(y, mu, sigma)
        rows.append(ll)
    return lp + logsumexp(np.array(rows), axis=0).sum()


@pytest.mark.parametrize("a, b", [(2.0, 2.0), (1.0, -0.7)])
def test_the_log_density_is_the_sum_over_u_of_each_rows_likelihood(a, b):
    ds = loaded()
    model, _ = confounded_model(ds, "m", a, b)
    assert [v.name for v in model.free_RVs] == [
        "t_intercept",
        "t_beta",
        "m_intercept",
        "m_beta",
        "y_intercept",
        "y_beta",
    ]
    point = random_point(model, 1)
    got = model.compile_logp()(point)
    assert got == pytest.approx(_brute_logp(point, ds, a, b), rel=1e-10)


def test_a_normal_outcome_moves_by_strength_times_sigma():
    # against strength 0 the priors cancel (PyMC computes some of their constants in float32)
    ds = loaded(NORMAL_SPEC, DATA.assign(y=DATA.y + np.linspace(0, 1, 6)))
    model, _ = confounded_model(ds, "m", 1.0, 2.0)
    null, _ = confounded_model(ds, "m", 0.0, 0.0)
    point = random_point(model, 2)
    sigma = np.exp(point["y_sigma_log__"])
    plain = {k: v for k, v in point.items() if k != "y_sigma_log__"}
    expected = _brute_logp(plain, ds, 1.0, 2.0, sigma=sigma) - _brute_logp(plain, ds, 0.0, 0.0, sigma=sigma)
    got = model.compile_logp()(point) - null.compile_logp()(point)
    assert got == pytest.approx(expected, rel=1e-10)


def test_at_strength_0_the_log_density_is_the_plain_models():
    ds = loaded()
    model, _ = confounded_model(ds, "m", 0.0)
    plain = compiler.attach(compiler.build(ds.ir, ds.n_obs), ds)
    point = random_point(model, 3)
    assert model.compile_logp()(point) == pytest.approx(plain.compile_logp()(point), rel=1e-13)


def test_the_posterior_reader_adds_the_known_coefficients_as_columns():
    ds = loaded(NORMAL_SPEC, DATA.assign(y=DATA.y + 0.5))
    ir = confounding.confound(ds.ir, "m", 1.5, 2.0)
    post = xr.Dataset(
        {
            "m_intercept": (("chain", "draw"), [[0.1, 0.2]]),
            "m_beta": (("chain", "draw", "m_parents"), [[[1.0, 2.0], [3.0, 4.0]]]),
            "y_intercept": (("chain", "draw"), [[0.0, 0.0]]),
            "y_beta": (("chain", "draw", "y_parents"), np.ones((1, 2, 3))),
            "y_sigma": (("chain", "draw"), [[0.5, 2.0]]),
        },
        coords={"m_parents": ["t", "x"], "y_parents": ["t", "m", "x"]},
    )
    d = Draws.from_posterior(post, ir)
    assert d["m"].terms == ("t", "x", "U_m") and d["m"].coef("U_m").tolist() == [1.5, 1.5]
    assert d["y"].terms == ("t", "m", "x", "U_m") and d["y"].coef("U_m").tolist() == [1.0, 4.0]  # 2 sigma
    assert d["U_m"].intercept.tolist() == [0.0, 0.0] and d["U_m"].beta.shape == (2, 0)
