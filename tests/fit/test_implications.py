"""The graph's testable implications tested against data: likelihood-ratio tests, Holm-adjusted
(MATH.md section 3d; the implications themselves, from the graph alone: tests/graph/test_implied.py)."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import dagmed
from dagmed.fit import implications as imp
from dagmed.model import data
from dagmed.model.ir import ModelIR

from conftest import IMPLICATIONS_SPEC, IMPLIED, SPECS

SPEC = IMPLICATIONS_SPEC


def expit(eta):
    return 1 / (1 + np.exp(-eta))


def simulate(rng, n, missing=None):
    """Data from SPEC's DAG; ``missing`` adds one edge the spec lacks: (parent, child, coefficient)."""

    def more(child, cols):
        if missing and missing[1] == child:
            return missing[2] * cols[missing[0]]
        return 0.0

    d = {}
    d["x1"] = rng.normal(size=n)
    d["x2"] = rng.binomial(1, 0.4, n).astype(float)
    d["t"] = rng.binomial(1, expit(-0.2 + 0.8 * d["x1"] + more("t", d))).astype(float)
    d["m1"] = rng.binomial(1, expit(-0.5 + 1.0 * d["t"] + more("m1", d))).astype(float)
    d["m2"] = rng.poisson(np.exp(0.1 + 0.5 * d["t"] - 0.4 * d["x2"] + more("m2", d))).astype(float)
    d["y"] = 0.3 + 0.5 * d["t"] + 0.7 * d["m1"] + 0.2 * d["m2"] - 0.3 * d["x1"] + more("y", d) + rng.normal(size=n)
    return pd.DataFrame(d)


@pytest.fixture(scope="module")
def spec():
    return dagmed.parse(SPEC)


def run_tests(spec, df, alpha=0.05):
    return imp.test_implications(dagmed.load_data(spec, df), alpha=alpha)


# ---- calibration: implications that hold are rarely reported -------------------------------


@pytest.mark.slow  # 2,800 GLM fits: about a minute on 2 cores
def test_holm_family_wise_rate_when_every_implication_holds(spec):
    """Over 200 datasets from the DAG itself, datasets with any contradiction are about alpha or fewer.

    Holm's procedure keeps the family-wise error rate (any implication that holds reported)
    at most alpha = 0.05, the likelihood-ratio tests being asymptotically exact. The count of
    such datasets among 200 independent ones is then at most Binomial(200, 0.05): mean 10,
    sd sqrt(200 * 0.05 * 0.95) = 3.1. The limit is its 99.9% quantile (21, the mean plus 3.6
    sd): a calibrated procedure exceeds it with probability below 0.001. (Measured with this
    seed: 13 of 200.)
    """
    rng = np.random.default_rng(20240611)
    n_sets, alpha = 200, 0.05
    any_rejected, raw = 0, []
    for _ in range(n_sets):
        tests = run_tests(spec, simulate(rng, 150), alpha)
        assert len(tests) == len(IMPLIED) and all(t.tested for t in tests)
        any_rejected += any(t.rejected for t in tests)
        raw += [t.p for t in tests]
    limit = stats.binom.ppf(0.999, n_sets, alpha)
    assert any_rejected <= limit, f"{any_rejected} of {n_sets} datasets report a contradiction (limit {limit:g})"
    # Each raw p-value is about uniform: the fraction below 0.05 over 1400 tests is 0.05 give or
    # take sqrt(0.05 * 0.95 / 1400) = 0.006 (tests of one dataset are nearly independent here).
    assert np.mean(np.array(raw) < 0.05) <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / len(raw))


# ---- power: a missing edge is reported, the right one -------------------------------------


@pytest.mark.parametrize(
    "missing, word",
    [(("m1", "m2", 0.8), "log rate ratio"), (("x2", "t", 1.0), "log-odds"), (("x2", "y", 0.5), "slope")],
)
def test_missing_edge_is_named(spec, missing, word):
    parent, child, size = missing
    tests = run_tests(spec, simulate(np.random.default_rng(7), 600, missing))
    rejected = [t for t in tests if t.rejected]
    assert [(t.node, t.candidate) for t in rejected] == [(child, parent)]
    (t,) = rejected
    assert t.low < size < t.high, (t.estimate, t.low, t.high)
    line = imp.format_contradiction(t)
    assert line.startswith(f"the data contradict {t.implication}: {word} ")
    assert line.endswith(f"; consider {parent} -> {child}")


# ---- the substance data -------------------------------------------------------------------


def substance(text, csv):
    spec = dagmed.parse(text, str(SPECS / "substance.dag"))
    try:
        analysis = dagmed.check(spec)
    except dagmed.SpecError:
        analysis = dagmed.analyse(spec)
    return data.load(ModelIR.from_analysis(analysis), csv)


def test_substance_seed_dag_contradicted(substance_csv):
    ds = substance((SPECS / "substance.dag").read_text(), substance_csv)
    (t,) = imp.test_implications(ds)
    assert (t.node, t.candidate, t.given) == ("sub_exp", "dev_peer", ("fam_int", "gender", "conflict"))
    assert t.estimate == pytest.approx(2.38, abs=0.01) and t.rejected and t.n_obs == 410
    assert imp.format_contradiction(t) == (
        "the data contradict sub_exp ⟂ dev_peer | fam_int, gender, conflict: "
        "log-odds 2.38 [1.9, 2.9], p < 1e-20; consider dev_peer -> sub_exp"
    )


def test_substance_with_the_edge_agrees(substance_csv):
    ds = substance((SPECS / "substance.dag").read_text() + "dev_peer -> sub_exp\n", substance_csv)
    tests = imp.test_implications(ds)
    assert not any({t.node, t.candidate} == {"sub_exp", "dev_peer"} for t in tests)
    assert not any(t.rejected for t in tests)
    assert imp.lines(tests) == ["the graph implies no independence among the observed nodes that a model can test"]


# ---- the lines and the records ------------------------------------------------------------


def make(**kw):
    base = dict(
        node="y",
        candidate="x",
        given=(),
        link="logit",
        estimate=0.5,
        low=0.21,
        high=0.79,
        statistic=12.0,
        p=5e-4,
        p_holm=1e-3,
        rejected=True,
        alpha=0.05,
        n_obs=100,
    )
    return imp.ImplicationTest(**{**base, **kw})


def test_format_contradiction_words_and_numbers():
    assert (
        imp.format_contradiction(make())
        == "the data contradict y ⟂ x: log-odds 0.50 [0.2, 0.8], p = 0.001; consider x -> y"
    )
    line = imp.format_contradiction(
        make(link="identity", given=("t", "m"), estimate=-1.234, low=-2.04, high=-0.45, p_holm=0.0123)
    )
    assert line == "the data contradict y ⟂ x | t, m: slope -1.23 [-2.0, -0.5], p = 0.012; consider x -> y"
    assert " log rate ratio 0.50 " in imp.format_contradiction(make(link="log"))
    assert ", p < 1e-20;" in imp.format_contradiction(make(p_holm=1e-21))
    assert ", p = 1e-20;" in imp.format_contradiction(make(p_holm=1e-20))


def test_summary_counts_agreements_and_untested():
    ok = make(rejected=False, p=0.5, p_holm=1.0)
    nan = float("nan")
    untested = make(
        rejected=False,
        p=nan,
        p_holm=nan,
        estimate=nan,
        low=nan,
        high=nan,
        statistic=nan,
        note="not tested: x is constant in the rows used",
        candidate="z",
    )
    line = imp.format_summary([ok, make(), untested])
    assert line == (
        "the data agree with 1 of 2 independencies the graph implies (Holm-adjusted, alpha 0.05); "
        "1 not tested (y ⟂ z: not tested: x is constant in the rows used)"
    )
    assert imp.lines([ok, make()])[0].startswith("the data contradict y ⟂ x")


def test_as_dict_is_json():
    nan = float("nan")
    d = make(estimate=math.inf, low=nan, high=nan).as_dict()
    assert json.loads(json.dumps(d, allow_nan=False))["estimate"] is None
    assert d["implication"] == "y ⟂ x" and d["suggest"] == "x -> y" and d["scale"] == "log-odds"


# ---- fits that cannot be done, or diverge -------------------------------------------------


TWO = "treatment t\noutcome y\nx -> t\nt -> y\nt, y ~ bernoulli\n"  # implies y ⟂ x | t


def two(df):
    return imp.test_implications(dagmed.load_data(dagmed.parse(TWO), df))


def test_separation_by_the_candidate_is_infinite_but_tested():
    rng = np.random.default_rng(2)
    x = rng.binomial(1, 0.3, 300)
    t = rng.binomial(1, 0.5, 300)
    y = np.where(x == 1, 1, rng.binomial(1, 0.3, 300))  # x = 1 always gives y = 1
    (test,) = two(pd.DataFrame({"x": x, "t": t, "y": y}))
    assert test.tested and test.rejected and test.estimate == math.inf and math.isnan(test.low)
    assert test.note.startswith("separation: x predicts y perfectly in part")
    assert "log-odds +inf (separation), p < 1e-20; consider x -> y" in imp.format_contradiction(test)


def test_separated_node_model_is_not_tested():
    rng = np.random.default_rng(3)
    t = rng.binomial(1, 0.5, 200)
    x = rng.binomial(1, 0.5, 200)
    (test,) = two(pd.DataFrame({"x": x, "t": t, "y": t}))  # y copies its parent t
    assert not test.tested and not test.rejected and math.isnan(test.p_holm)
    assert test.note.startswith("not tested: y's model without x already separates")


def test_constant_candidate_is_not_tested_and_left_out_of_holm():
    spec = dagmed.parse("treatment t\noutcome y\nx, z -> t\nt -> y\nt, y ~ bernoulli\n")
    rng = np.random.default_rng(4)
    n = 300
    z = rng.normal(size=n)
    t = rng.binomial(1, expit(z))
    x = np.ones(n)  # constant
    y = rng.binomial(1, expit(-1 + t + 1.5 * z))  # the missing edge z -> y
    tests = imp.test_implications(dagmed.load_data(spec, pd.DataFrame({"x": x, "z": z, "t": t, "y": y})))
    by = {t_.candidate: t_ for t_ in tests}
    assert by["x"].note == "not tested: x is constant in the rows used" and not by["x"].tested
    assert by["z"].rejected and by["z"].p_holm == by["z"].p  # the only p-value in the Holm family


def test_holm_adjustment_matches_the_definition(spec):
    tests = run_tests(spec, simulate(np.random.default_rng(11), 300, ("m1", "m2", 0.4)))
    p = np.array([t.p for t in tests])
    order = np.argsort(p)
    m = len(p)
    holm = np.empty(m)
    holm[order] = np.minimum(1, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    np.testing.assert_allclose([t.p_holm for t in tests], holm)
    assert [t.rejected for t in tests] == list(holm <= 0.05)


def test_lr_statistic_matches_the_binomial_likelihoods():
    rng = np.random.default_rng(5)
    n = 400
    x = rng.normal(size=n)
    t = rng.binomial(1, expit(x))
    y = rng.binomial(1, expit(-0.5 + t + 0.3 * x))
    (test,) = two(pd.DataFrame({"x": x, "t": t, "y": y}))

    def max_loglik(X):
        from scipy.optimize import minimize

        nll = lambda b: -np.sum(y * (X @ b) - np.logaddexp(0, X @ b))  # noqa: E731
        return -minimize(nll, np.zeros(X.shape[1]), method="BFGS").fun

    X0 = np.column_stack([np.ones(n), t])
    lr = 2 * (max_loglik(np.column_stack([X0, x])) - max_loglik(X0))
    # Both maxima come from iterative fits that stop at a gradient norm g <= 1e-5 (BFGS's gtol;
    # statsmodels' IRLS is tighter): each log-likelihood is then within g^2 / (2 lambda_min)
    # of its optimum, far below 1e-4 of a statistic of order 10 for any conditioning this design
    # has. p = chi2.sf(lr): d log p / d lr = -1/2 - ..., so p's relative error is at most about
    # lr's absolute error (1e-3 at lr ~ 10 and rel 1e-4).
    assert test.statistic == pytest.approx(lr, rel=1e-4)
    assert test.p == pytest.approx(stats.chi2.sf(lr, 1), rel=1e-3)


def test_alpha_must_be_a_level(spec):
    with pytest.raises(ValueError, match="alpha"):
        run_tests(spec, simulate(np.random.default_rng(0), 50), alpha=1.5)


def test_rows_with_a_missing_value_are_left_out_of_that_test_only(spec):
    df = simulate(np.random.default_rng(12), 300, ("m1", "m2", 0.8))
    full = dagmed.load_data(spec, df)
    columns = {c: full[c].copy() for c in df.columns}
    columns["x1"][:40] = np.nan  # as if x1's missing values were modelled, not dropped
    holed = imp.test_implications(data.Dataset(columns, full.ir, "<test>", 300, 0, 300))
    complete = imp.test_implications(dagmed.load_data(spec, df.iloc[40:]))
    with_x1 = [i for i, t in enumerate(holed) if "x1" in (t.candidate, *t.given)]
    assert with_x1 and all(holed[i].n_obs == 260 and holed[i].p == pytest.approx(complete[i].p) for i in with_x1)
    assert all(t.n_obs == 300 for i, t in enumerate(holed) if i not in with_x1)


def test_a_node_with_product_terms_is_tested_in_its_own_design():
    """y's model holds t:m, so an implication of y is tested with the product in the nested model too."""
    spec = dagmed.parse(
        "treatment t\noutcome y\nx -> t\nz -> y\nt -> m ~ bernoulli\nt:m -> y ~ bernoulli\nt ~ bernoulli\n"
    )
    rng = np.random.default_rng(4)
    n = 2000
    x, z = rng.normal(size=n), rng.normal(size=n)
    t = rng.binomial(1, 1 / (1 + np.exp(-x)))
    m = rng.binomial(1, 0.3 + 0.4 * t)
    y = rng.binomial(1, 1 / (1 + np.exp(-(-1 + 0.5 * t + 0.5 * m + 1.5 * t * m + 0.3 * z))))
    dataset = dagmed.load_data(spec, pd.DataFrame({"x": x, "z": z, "t": t, "m": m, "y": y}))
    tests = {str(r.implication): r for r in imp.test_implications(dataset)}
    assert "y ⟂ x | t, m, z" in tests
    r = tests["y ⟂ x | t, m, z"]
    assert r.tested and not r.rejected  # true: x acts on y only through t


def _shared_schools(seed: int, g: int = 30, size: int = 40) -> pd.DataFrame:
    """Two mediators sharing school intercepts (sd 1.5), independent given the treatment and the school;
    the treatment given to whole schools."""
    rng = np.random.default_rng(seed)
    school = np.repeat(np.arange(g), size)
    t = rng.integers(0, 2, g)[school]
    u1, u2 = rng.normal(0, 1.5, g)[school], rng.normal(0, 1.5, g)[school]
    m1 = rng.binomial(1, 1 / (1 + np.exp(-(0.5 * t + u1))))
    m2 = rng.binomial(1, 1 / (1 + np.exp(-(0.5 * t + u1 + u2))))  # m1's school intercept, not m1, enters m2
    return pd.DataFrame({"school": school, "t": t, "m1": m1, "m2": m2, "y": rng.binomial(1, 0.3, g * size)})


def test_clusters_enter_the_tests_as_fixed_effects():
    """Ignoring the schools, m2 ⟂ m1 | t is contradicted; with each node's clusters as fixed effects the
    test is done (the treatment, spanned by the schools, is left out rather than made collinear)."""
    text = "treatment t\noutcome y\nt -> m1, m2 -> y\nt -> y\nm1, m2, y ~ bernoulli\n"
    (ignored,) = imp.test_implications(dagmed.load_data(dagmed.parse(text), _shared_schools(0)))
    (clustered,) = imp.test_implications(dagmed.load_data(dagmed.parse(text + "cluster school\n"), _shared_schools(0)))
    assert ignored.rejected and clustered.note is None and clustered.p > ignored.p


@pytest.mark.slow
def test_with_clusters_as_fixed_effects_the_tests_hold_their_level():
    """Over 20 datasets at most 3 rejections at alpha 0.05 (0.05 + 3 binomial sds of 20 draws: 0.196)."""
    spec = dagmed.parse("treatment t\noutcome y\nt -> m1, m2 -> y\nt -> y\nm1, m2, y ~ bernoulli\ncluster school\n")
    tests = [imp.test_implications(dagmed.load_data(spec, _shared_schools(seed)))[0] for seed in range(20)]
    assert all(t.note is None for t in tests)
    assert sum(t.rejected for t in tests) <= 3
