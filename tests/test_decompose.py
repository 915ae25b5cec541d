"""The regime table and effects on synthetic draws (no sampling): exactness and identities."""

import itertools

import numpy as np
import pytest

from dagmed import decompose as D

from reference import regimes_naive


def make_inputs(k, n_draws=7, n_obs=11, seed=0, outcome_link="logit", mediator_link="logit", edges=()):
    """Random GLM draws for K mediators; ``edges`` are (parent index, child index) among them."""
    rng = np.random.default_rng(seed)
    cov = {"x1": rng.normal(size=n_obs), "x2": rng.binomial(1, 0.4, size=n_obs).astype(float)}
    meds = tuple(f"m{j}" for j in range(k))
    mglms = []
    for j in range(k):
        parents = ("t", *(meds[a] for a, b in edges if b == j), "x1", "x2")
        mglms.append(D.GLMDraws(mediator_link, rng.normal(size=n_draws), rng.normal(size=(n_draws, len(parents))), parents))
    y = D.GLMDraws(
        outcome_link, rng.normal(size=n_draws), rng.normal(size=(n_draws, 3 + k)), ("t", *meds, "x1", "x2")
    )
    return D.RegimeInputs(y, tuple(mglms), meds, "t", cov, n_obs)


EPS = np.finfo(float).eps


def table_tolerance(p):
    """An absolute bound on the rounding error of any two ways of computing ``p``'s regime table.

    Each entry is a mean over N observations of a value built by K contractions
    ``r0 + q (r1 - r0)`` from the outcome mean at the corners. Every contraction adds at most
    a few roundings relative to ``B = max|mu| * prod_k (1 + 2 max|q_k|)`` (the largest
    intermediate value), and summing N terms in any order adds at most N - 1 more; two
    engines that order the operations differently (or one CPU's vectorised sum against
    another's) therefore differ by at most ``2 * 4 * (K + N) * eps * B``. The bound does not
    depend on the machine, only on the arithmetic.
    """
    every = slice(None)
    mu = D.outcome_corners(p, every, every)
    qs = D.mediator_marginals(p, every, every)
    bound = np.abs(mu).max()
    for q in qs:
        bound *= 1 + 2 * np.abs(q).max()
    # dependent binary mediators: each marginal and joint regime also sums 2^K products of
    # K + 1 factors in [0, 1], another (K + 1) 2^K roundings at most
    joint_terms = (len(qs) + 1) * 2 ** len(qs) if p.dependent else 0
    return 8 * (len(qs) + p.n_obs + joint_terms) * EPS * bound


def truth_by_hand(p):
    """Regimes straight from MATH.md section 1, one observation and draw at a time."""
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    k = len(p.mediators)
    out = np.zeros((p.n_draws,) + (2,) * (k + 1))
    for s in range(p.n_draws):
        for i in range(p.n_obs):
            x = {c: v[i] for c, v in p.covariates.items()}

            def lin(glm, values):
                return glm.intercept[s] + sum(glm.beta[s, j] * values[name] for j, name in enumerate(glm.parents))

            for t, *ts in itertools.product((0, 1), repeat=k + 1):
                # independent mediators: each one's own GLM at T = t_j (MATH.md section 1)
                pm_ = [sig(lin(m, {**x, "t": ts[j]})) for j, m in enumerate(p.mediators)]
                e = 0.0
                for mv in itertools.product((0, 1), repeat=k):
                    w = np.prod([pm_[j] if mv[j] else 1 - pm_[j] for j in range(k)])
                    e += w * sig(lin(p.outcome, {**x, "t": t, **dict(zip(p.mediator_names, mv))}))
                out[(s, t, *ts)] += e / p.n_obs
    return out


@pytest.mark.parametrize("engine", ["numba", "numpy"])
@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_contraction_equals_the_definition(k, engine):
    p = make_inputs(k)
    np.testing.assert_allclose(D.regime_table(p, engine=engine), truth_by_hand(p), rtol=0, atol=table_tolerance(p))


@pytest.mark.parametrize("links", [("logit", "logit"), ("identity", "log"), ("log", "identity")])
@pytest.mark.parametrize("k", [1, 4, 6])
def test_fused_kernel_equals_the_numpy_contraction(k, links):
    p = make_inputs(k, n_draws=9, n_obs=13, seed=k, outcome_link=links[0], mediator_link=links[1])
    fused, plain = D.regime_table(p, engine="numba"), D.regime_table(p, engine="numpy")
    np.testing.assert_allclose(fused, plain, rtol=0, atol=table_tolerance(p))


@pytest.mark.parametrize("k", [1, 3, 5])
def test_contraction_equals_naive_enumeration(k):
    p = make_inputs(k, n_draws=20, n_obs=30, seed=k)
    np.testing.assert_allclose(D.regime_table(p), regimes_naive(p)[0], rtol=0, atol=table_tolerance(p))


def test_chunking_does_not_change_the_numbers():
    p = make_inputs(4, n_draws=13, n_obs=17, seed=3)
    whole = D.regime_table(p, chunk_bytes=2**40, engine="numpy")
    for engine in ("numpy", "numba"):
        tiny = D.regime_table(p, chunk_bytes=1, engine=engine)  # one draw (and observation) per chunk
        some = D.regime_table(p, chunk_bytes=8 * 32 * 4 * 7, engine=engine)
        np.testing.assert_allclose(tiny, whole, rtol=0, atol=table_tolerance(p))
        np.testing.assert_allclose(some, whole, rtol=0, atol=table_tolerance(p))
    assert D.chunk_shape(4000, 410, 8, 256 * 2**20)[0] * 410 * 2**9 * 8 * 4 <= 256 * 2**20


def test_progress_counts_every_draw_once_per_chunk():
    p = make_inputs(3, n_draws=13, n_obs=17, seed=3)
    done = []
    D.regimes(p, chunk_bytes=1, progress=done.append)  # one draw per chunk
    assert done == [1] * 13
    done.clear()
    D.regimes(p, progress=done.append)  # all in one chunk
    assert done == [13]


@pytest.mark.parametrize("convention", ["control", "treated"])
@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_components_add_up_to_te_in_every_draw(k, convention):
    p = make_inputs(k, n_draws=50, seed=10 + k)
    r = D.regimes(p)
    eff = D.effects(r.table, p.mediator_names, convention, joint=r.joint)
    total = sum(eff[n] for n in D.components(eff))
    # every component is a signed sum of regimes in [0, 1]; INT over all sets uses 3^K - 2^K
    # of them and DEP repeats them all: (3^K + K + 4) additions of values <= 1 in total
    assert np.max(np.abs(eff["TE"] - total)) <= 2 * (3**k + k + 4) * EPS
    assert len([n for n in eff if n.startswith("INT[")]) == 2**k - k - 1
    if convention == "treated":
        assert np.all(eff["DEP"] == 0)


def test_effect_formulas_k2():
    p = make_inputs(2, n_draws=5)
    R = D.regime_table(p)
    eff = D.effects(R, ("m0", "m1"))
    E = lambda t, a, b: R[:, t, a, b]  # noqa: E731
    np.testing.assert_allclose(eff["TE"], E(1, 1, 1) - E(0, 0, 0))
    np.testing.assert_allclose(eff["DE"], E(1, 0, 0) - E(0, 0, 0))
    np.testing.assert_allclose(eff["IIE[m0]"], E(0, 1, 0) - E(0, 0, 0))
    np.testing.assert_allclose(eff["IIE[m1]"], E(0, 0, 1) - E(0, 0, 0))
    np.testing.assert_allclose(eff["INT[m0,m1]"], E(0, 1, 1) - E(0, 1, 0) - E(0, 0, 1) + E(0, 0, 0))
    # with independent mediators, DEP is the direct-path x mediators interaction
    # both sides are signed sums of at most 12 regimes in [0, 1]: at most 12 roundings of values <= 4
    np.testing.assert_allclose(eff["DEP"], E(1, 1, 1) - E(0, 1, 1) - E(1, 0, 0) + E(0, 0, 0), rtol=0, atol=2 * 12 * 4 * EPS)
    np.testing.assert_allclose(eff["PM[m0]"], eff["IIE[m0]"] / eff["TE"])
    assert list(eff) == ["TE", "DE", "IIE[m0]", "IIE[m1]", "INT[m0,m1]", "DEP", "PM[m0]", "PM[m1]"]


def test_linear_gaussian_iie_is_a_times_b_per_draw():
    rng = np.random.default_rng(1)
    s, n = 100, 40
    a, b, c = rng.normal(size=s), rng.normal(size=s), rng.normal(size=s)
    m = D.GLMDraws("identity", rng.normal(size=s), a[:, None], ("x",))
    y = D.GLMDraws("identity", rng.normal(size=s), np.stack([c, b], axis=1), ("x", "m"))
    p = D.RegimeInputs(y, (m,), ("m",), "x", {}, n)
    eff = D.effects(D.regime_table(p), ("m",))
    tol = 2 * table_tolerance(p)  # each effect is a difference of two regimes
    np.testing.assert_allclose(eff["IIE[m]"], a * b, rtol=0, atol=tol)
    np.testing.assert_allclose(eff["DE"], c, rtol=0, atol=tol)
    np.testing.assert_allclose(eff["TE"], c + a * b, rtol=0, atol=tol)


def test_refuses_tables_that_cannot_fit():
    from dagmed.errors import SpecError

    D.check_size(10, 4000)
    with pytest.raises(SpecError, match=r"2\^26 = 67108864 regimes: the regime table alone needs about 2000.0 GiB"):
        D.check_size(25, 4000)


# ---- dependent mediators (MATH.md section 3b) ---------------------------------------------

DAGS = {
    "chain": (3, ((0, 1),)),  # m0 -> m1, m2 independent
    "long_chain": (4, ((0, 1), (1, 2), (2, 3))),
    "two_parents": (3, ((0, 2), (1, 2))),
    "fork_and_skip": (4, ((0, 1), (0, 2), (1, 3), (0, 3))),
    "spec_order_not_topological": (3, ((2, 0), (1, 0))),
}


@pytest.mark.parametrize("dag", sorted(DAGS))
def test_dependent_regimes_equal_the_naive_enumeration_in_both_engines(dag):
    k, edges = DAGS[dag]
    p = make_inputs(k, n_draws=6, n_obs=9, seed=len(edges), edges=edges)
    assert p.dependent
    want_table, want_joint = regimes_naive(p)
    tol = table_tolerance(p)
    for engine in ("numba", "numpy"):
        r = D.regimes(p, engine=engine)
        np.testing.assert_allclose(r.table, want_table, rtol=0, atol=tol)
        np.testing.assert_allclose(r.joint, want_joint, rtol=0, atol=tol)
    # chunking over draws and observations changes nothing
    tiny = D.regimes(p, chunk_bytes=1, engine="numpy")
    np.testing.assert_allclose(tiny.joint, want_joint, rtol=0, atol=tol)


def test_dependence_is_real_the_joint_differs_from_the_product():
    p = make_inputs(2, n_draws=5, n_obs=7, seed=3, edges=((0, 1),))
    r = D.regimes(p)
    prod = D.independent_joint(r.table)
    assert np.max(np.abs(r.joint - prod)) > 1e-3
    # the marginal of the child averages over its parent: not its GLM at the parent's value 0
    q = D.mediator_marginals(p, slice(None), slice(None), D.mediator_joint(p, slice(None), slice(None)))
    parent_zero = D.mediator_marginals(D.RegimeInputs(p.outcome, (p.mediators[0], D.GLMDraws(
        "logit", p.mediators[1].intercept, p.mediators[1].beta[:, [0, 2, 3]], ("t", "x1", "x2"))),
        p.mediator_names, "t", p.covariates, p.n_obs), slice(None), slice(None))
    assert np.max(np.abs(q[1] - parent_zero[1])) > 1e-3


def test_independent_mediators_joint_is_the_diagonal_exactly():
    p = make_inputs(3, seed=4)
    r = D.regimes(p)
    assert not p.dependent
    for t in (0, 1):
        for ts in (0, 1):
            assert np.array_equal(r.joint[:, t, ts], r.table[:, t, ts, ts, ts])
    eff = D.effects(r.table, p.mediator_names, "treated", joint=r.joint)
    assert np.all(eff["DEP"] == 0)


@pytest.mark.parametrize("convention", ["control", "treated"])
@pytest.mark.parametrize("dag", sorted(DAGS))
def test_dependent_components_add_up_to_te_in_every_draw(dag, convention):
    k, edges = DAGS[dag]
    p = make_inputs(k, n_draws=40, n_obs=5, seed=7, edges=edges)
    r = D.regimes(p)
    eff = D.effects(r.table, p.mediator_names, convention, joint=r.joint)
    total = sum(eff[n] for n in D.components(eff))
    assert np.max(np.abs(eff["TE"] - total)) <= 2 * (3**k + k + 8) * EPS
    np.testing.assert_array_equal(eff["TE"], r.joint[:, 1, 1] - r.joint[:, 0, 0])
    np.testing.assert_array_equal(eff["DE"], r.joint[:, 1, 0] - r.joint[:, 0, 0])
    level = {"control": 0, "treated": 1}[convention]
    e_k = (slice(None), level, 1) + (0,) * (k - 1)
    np.testing.assert_array_equal(eff["IIE[m0]"], r.table[e_k] - r.table[(slice(None), level) + (0,) * k])
    if convention == "treated":
        np.testing.assert_array_equal(
            eff["DEP"],
            (r.joint[:, 1, 1] - r.table[(slice(None), 1) + (1,) * k]) - (r.joint[:, 1, 0] - r.table[(slice(None), 1) + (0,) * k]),
        )


def test_linear_chain_of_gaussian_mediators_by_substitution():
    """t -> m1 -> m2 -> y, all identity links: every effect is a product of path coefficients."""
    rng = np.random.default_rng(5)
    s, n = 50, 20
    a1, c1, a2, c2, b21 = (rng.normal(size=s) for _ in range(5))
    y0, ct, b1, b2 = (rng.normal(size=s) for _ in range(4))
    m1 = D.GLMDraws("identity", a1, c1[:, None], ("t",))
    m2 = D.GLMDraws("identity", a2, np.stack([c2, b21], axis=1), ("t", "m1"))
    y = D.GLMDraws("identity", y0, np.stack([ct, b1, b2], axis=1), ("t", "m1", "m2"))
    p = D.RegimeInputs(y, (m1, m2), ("m1", "m2"), "t", {}, n)
    for engine in ("numba", "numpy"):
        r = D.regimes(p, engine=engine)
        eff = D.effects(r.table, ("m1", "m2"), "control", joint=r.joint)
        tol = 2 * table_tolerance(p)
        # IIE[m1] moves m1's marginal only (b1 c1); IIE[m2] moves m2's marginal, which includes
        # what m1 passes on to it (b2 (c2 + b21 c1)); TE = ct + b1 c1 + b2 (c2 + b21 c1)
        np.testing.assert_allclose(eff["IIE[m1]"], b1 * c1, rtol=0, atol=tol)
        np.testing.assert_allclose(eff["IIE[m2]"], b2 * (c2 + b21 * c1), rtol=0, atol=tol)
        np.testing.assert_allclose(eff["TE"], ct + b1 * c1 + b2 * (c2 + b21 * c1), rtol=0, atol=tol)
        np.testing.assert_allclose(eff["DE"], ct, rtol=0, atol=tol)


@pytest.mark.parametrize("link", ["logit", "log"])
def test_kernel_falls_back_when_an_exponential_factor_overflows(link):
    # a coefficient of 800 overflows exp(800): the product trick would meet 0 * inf = NaN
    p = make_inputs(2, n_draws=3, n_obs=4, seed=2, outcome_link=link)
    p.outcome.beta[:, 1] = -800.0 if link == "logit" else -50.0
    p.outcome.beta[:, 2] = 800.0 if link == "logit" else 50.0
    fused, plain = D.regime_table(p, engine="numba"), D.regime_table(p, engine="numpy")
    assert np.all(np.isfinite(fused))
    np.testing.assert_allclose(fused, plain, rtol=0, atol=table_tolerance(p))
