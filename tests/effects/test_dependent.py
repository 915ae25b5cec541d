"""Dependent mediators (MATH.md section 3b), verified against an independent enumerator.

Every truth in this file comes from :func:`regimes` and :func:`effects` below, written
from MATH.md with NumPy and itertools only (never dagmed's decompose):

* the joint of the mediators under ``do(T = t)`` is the product of each mediator's
  conditional probability given ``T = t``, its mediator parents and the covariates, at
  every one of the ``2^K`` corners;
* a mediator's interventional marginal ``P(M_k = 1 | do(T = t), x)`` is that joint summed
  over the corners with ``m_k = 1`` (the same thing as forward enumeration down the
  mediator sub-DAG, without needing a topological order);
* ``E(t; t_1..t_K)`` mixes the K marginals independently, ``Ej(t; t*)`` uses the joint.

Three routes are compared with dagmed: the enumerator's identities alone (fast), the
regimes through ``pm.do`` + ``sample_posterior_predictive`` on the compiled model under
prior draws (fast, no NUTS), and recovery of a known truth from simulated data (slow).

Interface assumed (MATH.md 3b): ``dagmed.api.decompose_idata(dataset, idata, convention)``
(the dataset carries the model IR) returns ``(table, joint, effect_draws)`` with ``table`` of
shape ``(S, 2, ..., 2)`` indexed ``[s, t, t_1..t_K]`` (marginal regimes, mediators in
``analysis.mediators`` order) and ``joint`` of shape ``(S, 2, 2)`` indexed ``[s, t, t*]``;
``dagmed.run`` returns a result with ``effect_draws``, ``regime_draws`` and ``joint_draws``
of the same shapes, and ``analysis`` / ``dataset`` / ``idata`` attributes.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

import dagmed
from dagmed.compat import inference_data
from dagmed.report.summary import summarize

from conftest import SPECS

EPS = np.finfo(float).eps


# ---- the independent enumerator -------------------------------------------------------------


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def linear_predictor(par, values):
    """``par = (intercept, {parent: coefficient})``; ``values`` maps names to scalars or arrays."""
    intercept, coefs = par
    return intercept + sum(b * values[p] for p, b in coefs.items())


def corners(k):
    return list(itertools.product((0, 1), repeat=k))


def mediator_joint(params, treatment, mediators, x, t):
    """``P(M = m | do(T = t), x)`` for every corner ``m``: dict corner -> (N,) array.

    The product over mediators of ``P(M_k = m_k | T = t, pa_M(k) = m_pa, x)``; each
    mediator's GLM reads whatever it needs (treatment, other mediators, covariates) from
    one dictionary of values, so the mediator sub-DAG is implicit in the parameters.
    """
    out = {}
    for m in corners(len(mediators)):
        values = {**x, treatment: t, **dict(zip(mediators, m))}
        w = 1.0
        for mk, name in zip(m, mediators):
            p = sigmoid(linear_predictor(params[name], values))
            w = w * (p if mk else 1.0 - p)
        out[m] = w
    return out


def regimes(params, treatment, mediators, outcome, x):
    """Marginal ``E(t; t_1..t_K)`` as an array ``(2,) * (K + 1)`` and joint ``Ej(t; t*)`` ``(2, 2)``.

    All parameters are scalars (one draw); ``x`` maps each covariate to an (N,) array.
    Logistic links everywhere (the outcome too).
    """
    k = len(mediators)
    joint = {t: mediator_joint(params, treatment, mediators, x, t) for t in (0, 1)}
    # marginal P(M_k = 1 | do(T = t), x): the joint summed over the other mediators
    q = {(j, t): sum(w for m, w in joint[t].items() if m[j] == 1) for j in range(k) for t in (0, 1)}
    mu = {
        (t, m): sigmoid(linear_predictor(params[outcome], {**x, treatment: t, **dict(zip(mediators, m))}))
        for t in (0, 1)
        for m in corners(k)
    }
    E = np.empty((2,) * (k + 1))
    for t, *ts in corners(k + 1):
        total = 0.0
        for m in corners(k):
            w = 1.0
            for j in range(k):
                w = w * (q[(j, ts[j])] if m[j] else 1.0 - q[(j, ts[j])])
            total = total + w * mu[(t, m)]
        E[(t, *ts)] = np.mean(total)
    Ej = np.empty((2, 2))
    for t, ts in corners(2):
        Ej[t, ts] = np.mean(sum(joint[ts][m] * mu[(t, m)] for m in corners(k)))
    return E, Ej


def effects(E, Ej, mediators, convention):
    """Effects of MATH.md 3 / 3b from the regimes; ``E`` and ``Ej`` may carry leading draw axes."""
    mediators = tuple(mediators)

    def Em(t, on=()):
        return E[(Ellipsis, t, *(1 if m in on else 0 for m in mediators))]

    level = {"control": 0, "treated": 1}[convention]
    out = {"TE": Ej[..., 1, 1] - Ej[..., 0, 0], "DE": Ej[..., 1, 0] - Ej[..., 0, 0]}
    for m in mediators:
        out[f"IIE[{m}]"] = Em(level, (m,)) - Em(level)
    for r in range(2, len(mediators) + 1):
        for s in itertools.combinations(mediators, r):
            out[f"INT[{','.join(s)}]"] = sum(
                (-1) ** (len(s) - len(u)) * Em(level, u)
                for j in range(len(s) + 1)
                for u in itertools.combinations(s, j)
            )
    if convention == "control":
        out["DEP"] = out["TE"] - sum(v for n, v in out.items() if n != "TE")
    else:
        out["DEP"] = (Ej[..., 1, 1] - Em(1, mediators)) - (Ej[..., 1, 0] - Em(1))
    with np.errstate(divide="ignore", invalid="ignore"):
        for m in mediators:
            out[f"PM[{m}]"] = out[f"IIE[{m}]"] / out["TE"]
    return out


def effect_names(mediators):
    ints = [f"INT[{','.join(s)}]" for r in range(2, len(mediators) + 1) for s in itertools.combinations(mediators, r)]
    return ["TE", "DE", *(f"IIE[{m}]" for m in mediators), *ints, "DEP", *(f"PM[{m}]" for m in mediators)]


def components(eff):
    return [n for n in eff if n != "TE" and not n.startswith("PM[")]


def simulate(params, order, covariates, n, seed):
    """Data from the structural model: covariates, then ``order`` (topological), logistic links."""
    rng = np.random.default_rng(seed)
    v = {"x1": rng.normal(size=n), "x2": rng.binomial(1, 0.4, n).astype(float)}
    assert set(covariates) == set(v)
    for node in order:
        v[node] = rng.binomial(1, sigmoid(linear_predictor(params[node], v))).astype(float)
    return pd.DataFrame(v)


def table_tolerance(n, k):
    """Two correct routes to the regime table differ by at most this much (absolute).

    Every probability lies in [0, 1] and is computed to a few ulps; a marginal sums 2^(K-1)
    products of K of them, a regime's corner weight multiplies K + 1 factors, a regime sums
    2^K corners and then averages N rows (the mean adds at most N roundings of values <= 1).
    So each route is within about (N + 2^K (K + 1)) eps of the exact value; 8x margin for
    differently ordered sums.
    """
    return 8 * (n + 2**k * (k + 1)) * EPS


# ---- the fixed models -----------------------------------------------------------------------

# K = 3 with a chain t -> m1 -> m2 -> y (m2 has no edge from t), t -> m3 -> y, t -> y, m1 -> y,
# two covariates into every node. m1 -> y as well, so that m1 has an indirect effect of its own;
# strong m1 -> m2 and large outcome coefficients, so that the joint and marginal regimes differ
# by 0.02 to 0.05 (Ej(1;1) - E(1;1,1,1) = -0.018, Ej(0;0) - E(0;0,0,0) = -0.051 on the
# simulated covariates) and the dependence term is not negligible (treated DEP = 0.027).
CHAIN_TRUE = {
    "t": (-0.3, {"x1": 0.4, "x2": -0.3}),
    "m1": (-0.4, {"t": 2.0, "x1": 0.3, "x2": 0.3}),
    "m2": (-1.5, {"m1": 3.0, "x1": -0.3, "x2": 0.4}),
    "m3": (0.3, {"t": -1.5, "x1": 0.2, "x2": -0.4}),
    "y": (-1.5, {"t": -0.5, "m1": 2.5, "m2": 2.5, "m3": 1.2, "x1": 0.3, "x2": 0.4}),
}
CHAIN_MEDS = ("m1", "m2", "m3")
CHAIN_COVS = ("x1", "x2")
CHAIN_SPEC = """\
treatment t
outcome y
x1, x2 -> t, m1, m2, m3, y
t -> m1 -> m2 -> y
t -> m3 -> y
t, m1 -> y
t, m1, m2, m3, y ~ bernoulli
prior intercept = normal(0, 2.5)
prior beta = normal(0, 2.5)
"""
# The same graph, written so that the mediators' spec order (m3, m2, m1) is not topological.
CHAIN_SPEC_REVERSED = """\
treatment t
outcome y
x1, x2 -> t, m3, m2, m1, y
t -> m3 -> y
m1 -> m2 -> y
t -> m1 -> y
t -> y
t, m1, m2, m3, y ~ bernoulli
prior intercept = normal(0, 2.5)
prior beta = normal(0, 2.5)
"""


def random_params(rng, treatment, mediators, covariates, mediator_edges):
    """Random logistic parameters: every node has the treatment and covariates as parents, the
    outcome every mediator, and mediator k the mediator parents in ``mediator_edges[k]``."""
    params = {}
    for m in mediators:
        coefs = {treatment: rng.normal(0, 1.5), **{c: rng.normal() for c in covariates}}
        coefs.update({p: rng.normal(0, 2) for p in mediator_edges.get(m, ())})
        params[m] = (rng.normal(), coefs)
    params["y"] = (
        rng.normal(),
        {
            treatment: rng.normal(),
            **{m: rng.normal(0, 1.5) for m in mediators},
            **{c: rng.normal() for c in covariates},
        },
    )
    return params


# ---- a. the enumerator's own identities ------------------------------------------------------


@pytest.mark.parametrize(
    "edges",
    [
        {},
        {"m2": ("m1",)},
        {"m2": ("m1",), "m3": ("m1", "m2")},
        {"m1": ("m3",), "m2": ("m3",), "m4": ("m1", "m2")},
    ],
    ids=["independent", "one_edge", "complete", "k4_diamond"],
)
def test_enumerator_identities(edges):
    rng = np.random.default_rng(len(edges))
    k = 4 if "m4" in edges else 3
    meds = tuple(f"m{j}" for j in range(1, k + 1))
    x = {"x1": rng.normal(size=50), "x2": rng.binomial(1, 0.5, 50).astype(float)}
    params = random_params(rng, "t", meds, x, edges)
    E, Ej = regimes(params, "t", meds, "y", x)
    assert E.shape == (2,) * (k + 1) and Ej.shape == (2, 2)
    assert np.all((E > 0) & (E < 1)) and np.all((Ej > 0) & (Ej < 1))
    for conv in ("control", "treated"):
        eff = effects(E, Ej, meds, conv)
        assert list(eff) == effect_names(meds)
        # the components add up to TE in both conventions (a handful of roundings of values <= 1)
        assert abs(eff["TE"] - sum(eff[n] for n in components(eff))) < 2 ** (k + 2) * EPS
    ctl, trt = effects(E, Ej, meds, "control"), effects(E, Ej, meds, "treated")
    assert ctl["TE"] == trt["TE"] and ctl["DE"] == trt["DE"]  # both from the joint
    # K = 1 or independent mediators: the joint regime is the marginal one at t* everywhere
    if not edges:
        for t, ts in corners(2):
            assert abs(Ej[t, ts] - E[(t,) + (ts,) * k]) < 2 ** (k + 2) * EPS
        # MATH.md 3: treated DEP is then 0, control DEP the direct-mediator interaction
        assert abs(trt["DEP"]) < 2 ** (k + 2) * EPS
        want = E[(1,) + (1,) * k] - E[(0,) + (1,) * k] - E[(1,) + (0,) * k] + E[(0,) + (0,) * k]
        assert abs(ctl["DEP"] - want) < 2 ** (k + 2) * EPS
    else:
        # with an edge the joint really differs from the product of marginals
        assert abs(Ej[1, 1] - E[(1,) + (1,) * k]) > 1e-4


def test_enumerator_single_mediator_joint_is_marginal():
    rng = np.random.default_rng(5)
    x = {"x1": rng.normal(size=30), "x2": rng.binomial(1, 0.5, 30).astype(float)}
    params = random_params(rng, "t", ("m1",), x, {})
    E, Ej = regimes(params, "t", ("m1",), "y", x)
    np.testing.assert_allclose(Ej, E, rtol=0, atol=4 * EPS)


def test_enumerator_marginal_passes_on_nothing_through_descendants():
    """MATH.md 3b: IIE_k shifts only M_k's marginal. A mediator that reaches the outcome only
    through another mediator (t -> m1 -> m2 -> y, no m1 -> y) has IIE = 0 and every interaction
    with it is 0: what t does through the chain shows up in IIE[m2], because m2's marginal
    under do(T = t) moves with t through m1."""
    rng = np.random.default_rng(7)
    x = {"x1": rng.normal(size=40), "x2": rng.binomial(1, 0.5, 40).astype(float)}
    params = {
        "m1": (-0.2, {"t": 1.5, "x1": 0.3}),
        "m2": (-0.5, {"m1": 2.0, "x2": 0.5}),  # no t -> m2: all of t's effect on m2 goes through m1
        "y": (-0.3, {"t": 0.4, "m2": 1.2, "x1": -0.2}),
    }
    E, Ej = regimes(params, "t", ("m1", "m2"), "y", x)
    for conv in ("control", "treated"):
        eff = effects(E, Ej, ("m1", "m2"), conv)
        assert abs(eff["IIE[m1]"]) < 8 * EPS and abs(eff["INT[m1,m2]"]) < 8 * EPS
        assert abs(eff["IIE[m2]"]) > 1e-3  # m2's marginal moves with t (through m1)
    # No mediator-outcome interplay beyond the chain: with only m2 in the outcome, the joint and
    # the marginal regimes agree (the outcome sees m2's marginal either way), so DEP is 0 here.
    trt = effects(E, Ej, ("m1", "m2"), "treated")
    assert abs(trt["DEP"]) < 16 * EPS


def test_enumerator_against_brute_force_sums():
    """The joint sums to 1, and each mediator's marginal (the joint summed over the others)
    equals forward enumeration down the mediator sub-DAG in topological order (MATH.md 3b)."""
    rng = np.random.default_rng(11)
    meds = ("m1", "m2", "m3")
    edges = {"m2": ("m1",), "m3": ("m1", "m2")}
    x = {"x1": rng.normal(size=25), "x2": rng.binomial(1, 0.5, 25).astype(float)}
    params = random_params(rng, "t", meds, x, edges)
    for t in (0, 1):
        joint = mediator_joint(params, "t", meds, x, t)
        np.testing.assert_allclose(sum(joint.values()), 1.0, rtol=0, atol=16 * EPS)
        # forward enumeration in topological order m1, m2, m3
        p1 = sigmoid(linear_predictor(params["m1"], {**x, "t": t}))
        p2 = sum(
            (p1 if a else 1 - p1) * sigmoid(linear_predictor(params["m2"], {**x, "t": t, "m1": a})) for a in (0, 1)
        )
        p3 = 0.0
        for a, b in corners(2):
            pa = p1 if a else 1 - p1
            pb2 = sigmoid(linear_predictor(params["m2"], {**x, "t": t, "m1": a}))
            pb = pb2 if b else 1 - pb2
            p3 = p3 + pa * pb * sigmoid(linear_predictor(params["m3"], {**x, "t": t, "m1": a, "m2": b}))
        for j, want in enumerate((p1, p2, p3)):
            got = sum(w for m, w in joint.items() if m[j] == 1)
            np.testing.assert_allclose(got, want, rtol=0, atol=32 * EPS)


# ---- c. dagmed's regimes against pm.do on the compiled model, prior draws ---------------------


def _prior_as_posterior(model, draws, seed):
    import pymc as pm

    with model:
        prior = pm.sample_prior_predictive(draws=draws, random_seed=seed)
    return inference_data(posterior=prior.prior)


def _params_per_draw(idata, model, nodes):
    """Per draw, ``{node: (intercept, {parent: coefficient})}`` read by the documented names."""
    post = idata.posterior
    out = []
    n = post.sizes["chain"] * post.sizes["draw"]
    for s in range(n):
        c, d = divmod(s, post.sizes["draw"])
        params = {}
        for node in nodes:
            a = float(post[f"{node}_intercept"].values[c, d])
            parents = list(model.coords[f"{node}_parents"])
            beta = post[f"{node}_beta"].transpose("chain", "draw", f"{node}_parents").values[c, d]
            params[node] = (a, dict(zip(parents, map(float, beta))))
        out.append(params)
    return out


def _mean_under_do(model, idata, interventions, node, n):
    """The mean parameter of ``node`` per draw and observation, through pm.do + posterior predictive."""
    import pymc as pm

    dm = pm.do(model, {k: np.full(n, v, dtype=model[k].dtype) for k, v in interventions.items()})
    rv = dm[node]
    mean = rv.owner.op.dist_params(rv.owner)[0]
    with dm:
        pm.Deterministic(f"{node}__mean", mean, dims="obs_id")
    pp = pm.sample_posterior_predictive(idata, model=dm, var_names=[f"{node}__mean"], progressbar=False)
    return pp.posterior_predictive[f"{node}__mean"].values.reshape(-1, n)


def _regimes_by_pm_do(model, idata, treatment, mediators, outcome, n):
    """Marginal and joint regimes per draw, every conditional probability through pm.do."""
    k = len(mediators)
    med_parents = {m: [p for p in model.coords[f"{m}_parents"] if p in mediators] for m in mediators}
    # P(M_k = 1 | T = t, pa_M(k) = v, x_i): do() on the treatment and M_k's mediator parents
    cond = {
        (m, t, v): _mean_under_do(model, idata, {treatment: t, **dict(zip(med_parents[m], v))}, m, n)
        for m in mediators
        for t in (0, 1)
        for v in corners(len(med_parents[m]))
    }
    mu = {
        (t, mv): _mean_under_do(model, idata, {treatment: t, **dict(zip(mediators, mv))}, outcome, n)
        for t in (0, 1)
        for mv in corners(k)
    }

    def joint(t, mv):
        w = 1.0
        for j, m in enumerate(mediators):
            v = tuple(mv[mediators.index(p)] for p in med_parents[m])
            p1 = cond[(m, t, v)]
            w = w * (p1 if mv[j] else 1 - p1)
        return w

    joints = {(t, mv): joint(t, mv) for t in (0, 1) for mv in corners(k)}
    q = {(j, t): sum(joints[(t, mv)] for mv in corners(k) if mv[j]) for j in range(k) for t in (0, 1)}
    n_draws = next(iter(mu.values())).shape[0]
    table = np.empty((n_draws,) + (2,) * (k + 1))
    for t, *ts in corners(k + 1):
        total = 0.0
        for mv in corners(k):
            w = np.prod([q[(j, ts[j])] if mv[j] else 1 - q[(j, ts[j])] for j in range(k)], axis=0)
            total = total + w * mu[(t, mv)]
        table[(slice(None), t, *ts)] = total.mean(axis=1)
    jt = np.empty((n_draws, 2, 2))
    for t, ts in corners(2):
        jt[:, t, ts] = sum(joints[(ts, mv)] * mu[(t, mv)] for mv in corners(k)).mean(axis=1)
    return table, jt


def _check_effects_from_regimes(eff, table, joint, mediators, conv, tol):
    """dagmed's effect draws equal this file's effects of dagmed's own regimes."""
    mine = effects(table, joint, mediators, conv)
    assert list(eff) == effect_names(mediators)
    te = mine["TE"]
    for name in components(mine) + ["TE"]:
        # an INT sums 2^|S| regimes: its rounding is at most 2^K times a regime's
        np.testing.assert_allclose(eff[name], mine[name], rtol=0, atol=2 ** len(mediators) * tol, err_msg=name)
    for m in mediators:  # a ratio: compare PM * TE with IIE where TE is not tiny
        ok = np.abs(te) > 1e-3
        np.testing.assert_allclose(
            eff[f"PM[{m}]"][ok] * te[ok], mine[f"IIE[{m}]"][ok], rtol=1e-12, atol=2 ** len(mediators) * tol
        )
    total = sum(eff[n] for n in components(mine))
    np.testing.assert_allclose(eff["TE"], total, rtol=0, atol=2 ** len(mediators) * tol)


def test_substance_dependent_regimes_equal_the_pm_do_route(substance_csv):
    from dagmed.api import decompose_idata

    spec = dagmed.load(SPECS / "substance_dependent.dag")
    analysis = dagmed.check(spec)
    dataset = dagmed.load_data(spec, str(substance_csv))
    model = dagmed.compile(spec, str(substance_csv))
    t, y, meds = analysis.treatment, analysis.outcome, tuple(analysis.mediators)
    assert meds == ("dev_peer", "sub_exp")
    assert "dev_peer" in model.coords["sub_exp_parents"]
    n, k = dataset.n_obs, len(meds)
    idata = _prior_as_posterior(model, 50, seed=20)
    want_table, want_joint = _regimes_by_pm_do(model, idata, t, meds, y, n)
    tol = table_tolerance(n, k)
    for conv in ("control", "treated"):
        table, joint, eff = decompose_idata(dataset, idata, conv)
        assert table.shape == (50,) + (2,) * (k + 1) and joint.shape == (50, 2, 2)
        np.testing.assert_allclose(table, want_table, rtol=0, atol=tol)
        np.testing.assert_allclose(joint, want_joint, rtol=0, atol=tol)
        _check_effects_from_regimes(eff, table, joint, meds, conv, tol)
    # a third route: this file's enumerator at each prior draw's parameters
    x = {c: np.asarray(model[c].get_value(), dtype=float) for c in analysis.covariates}
    for s, params in enumerate(_params_per_draw(idata, model, (*meds, y))):
        E, Ej = regimes(params, t, meds, y, x)
        np.testing.assert_allclose(want_table[s], E, rtol=0, atol=tol)
        np.testing.assert_allclose(want_joint[s], Ej, rtol=0, atol=tol)
    # the dependence is real: the joint differs from the product of the marginals
    assert np.abs(want_joint[:, 1, 1] - want_table[:, 1, 1, 1]).max() > 5e-4


@pytest.mark.parametrize("text", [CHAIN_SPEC, CHAIN_SPEC_REVERSED], ids=["spec_order", "reversed_order"])
def test_chain_regimes_equal_the_enumerator_under_prior_draws(text):
    """K = 3 with a chain, no sampling: dagmed's marginal and joint regimes and both conventions'
    effects at 40 prior draws against this file's enumerator, whatever the mediators' spec order."""
    from dagmed.api import decompose_idata

    df = simulate(CHAIN_TRUE, ("t", *CHAIN_MEDS, "y"), CHAIN_COVS, 150, seed=3)
    spec = dagmed.parse(text)
    analysis = dagmed.check(spec)
    meds = tuple(analysis.mediators)
    assert set(meds) == set(CHAIN_MEDS) and analysis.outcome == "y" and analysis.treatment == "t"
    dataset = dagmed.load_data(spec, df)
    model = dagmed.compile(spec, df)
    idata = _prior_as_posterior(model, 40, seed=4)
    x = {c: df[c].to_numpy(dtype=float) for c in CHAIN_COVS}
    draws = _params_per_draw(idata, model, (*meds, "y"))
    assert "t" not in draws[0]["m2"][1] and "m1" in draws[0]["m2"][1]
    mine = [regimes(p, "t", meds, "y", x) for p in draws]
    want_table = np.stack([e for e, _ in mine])
    want_joint = np.stack([j for _, j in mine])
    tol = table_tolerance(len(df), 3)
    for conv in ("control", "treated"):
        table, joint, eff = decompose_idata(dataset, idata, conv)
        np.testing.assert_allclose(table, want_table, rtol=0, atol=tol)
        np.testing.assert_allclose(joint, want_joint, rtol=0, atol=tol)
        _check_effects_from_regimes(eff, table, joint, meds, conv, tol)


# ---- b. recovery of a known truth (slow) ----------------------------------------------------


@pytest.mark.slow
def test_chain_recovers_the_true_regimes_and_effects_in_both_conventions():
    from dagmed.api import decompose_idata

    df = simulate(CHAIN_TRUE, ("t", *CHAIN_MEDS, "y"), CHAIN_COVS, 4000, seed=2025)
    x = {c: df[c].to_numpy() for c in CHAIN_COVS}
    E, Ej = regimes(CHAIN_TRUE, "t", CHAIN_MEDS, "y", x)
    truth = {conv: effects(E, Ej, CHAIN_MEDS, conv) for conv in ("control", "treated")}

    spec = dagmed.parse(CHAIN_SPEC)
    res = dagmed.run(
        spec, df, draws=500, tune=500, chains=2, seed=8, convention="treated", progressbar=False, log=lambda m: None
    )
    assert tuple(res.analysis.mediators) == CHAIN_MEDS
    n_draws = 1000
    assert res.regime_draws.shape == (n_draws,) + (2,) * 4 and res.joint_draws.shape == (n_draws, 2, 2)
    table, joint, control = decompose_idata(res.dataset, res.idata, "control")
    np.testing.assert_array_equal(table, res.regime_draws)
    np.testing.assert_array_equal(joint, res.joint_draws)
    draws = {"treated": res.effect_draws, "control": control}
    tol = table_tolerance(len(df), 3)
    for conv in ("control", "treated"):
        _check_effects_from_regimes(draws[conv], table, joint, CHAIN_MEDS, conv, tol)

    # Every check at once, Bonferroni-adjusted: 16 marginal and 4 joint regimes, TE and DE, and
    # per convention 3 IIE, 4 INT and DEP.
    checks = [(f"E{key}", table[(slice(None), *key)], E[key]) for key in corners(4)]
    checks += [(f"Ej{key}", joint[(slice(None), *key)], Ej[key]) for key in corners(2)]
    checks += [(n, control[n], truth["control"][n]) for n in ("TE", "DE")]
    for conv in ("control", "treated"):
        checks += [(f"{conv} {n}", draws[conv][n], truth[conv][n]) for n in components(truth[conv]) if n != "DE"]
    assert len(checks) == 38
    prob = 1 - 0.05 / len(checks)
    missed = []
    for name, d, true in checks:
        s = summarize(d, prob)
        if not s["hdi_low"] < true < s["hdi_high"]:
            missed.append((name, true, s["hdi_low"], s["hdi_high"]))
    assert not missed, missed
    # informative, not trivially wide: m3's indirect effect (true about -0.05) excludes 0
    # even at the adjusted level, in both conventions; so does the treated convention's DEP
    # (true 0.027), what the dependence of m2 on m1 adds beyond the mediators' marginals
    for conv in ("control", "treated"):
        assert truth[conv]["IIE[m3]"] < -0.02
        assert summarize(draws[conv]["IIE[m3]"], prob)["hdi_high"] < 0
    assert abs(truth["treated"]["DEP"]) > 0.02
    s = summarize(draws["treated"]["DEP"], prob)
    assert s["hdi_low"] > 0 or s["hdi_high"] < 0
