"""The regime table's steps and engines on synthetic draws (no sampling): exactness against the
definition and a brute-force enumeration, chunking, progress, the size check, dependent mediators."""

import itertools

import numpy as np
import pytest

from dagmed.effects import kernel
from dagmed.effects import regimes as R
from dagmed.lang.families import LINKS

from reference import regimes_naive
from synthetic_draws import DAGS, glm, make_inputs, table_tolerance


def _lin(g, s, values):
    """Draw ``s`` of ``g``'s linear predictor at ``values`` (term -> scalar)."""
    return g.intercept[s] + sum(g.beta[s, j] * values[name] for j, name in enumerate(g.terms))


def truth_by_hand(p):
    """Regimes straight from MATH.md section 1, one observation and draw at a time."""
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    k = len(p.mediators)
    out = np.zeros((p.n_draws,) + (2,) * (k + 1))
    for s in range(p.n_draws):
        for i in range(p.n_obs):
            x = {c: v[i] for c, v in p.covariates.items()}
            for t, *ts in itertools.product((0, 1), repeat=k + 1):
                # independent mediators: each one's own GLM at T = t_j (MATH.md section 1)
                pm_ = [sig(_lin(m, s, {**x, "t": ts[j]})) for j, m in enumerate(p.mediators)]
                e = 0.0
                for mv in itertools.product((0, 1), repeat=k):
                    w = np.prod([pm_[j] if mv[j] else 1 - pm_[j] for j in range(k)])
                    e += w * sig(_lin(p.outcome, s, {**x, "t": t, **dict(zip(p.mediator_names, mv))}))
                out[(s, t, *ts)] += e / p.n_obs
    return out


@pytest.mark.parametrize("engine", ["numba", "numpy"])
@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_contraction_equals_the_definition(k, engine):
    p = make_inputs(k)
    np.testing.assert_allclose(R.regime_table(p, engine=engine), truth_by_hand(p), rtol=0, atol=table_tolerance(p))


@pytest.mark.parametrize("links", [("logit", "logit"), ("identity", "log"), ("log", "identity")])
@pytest.mark.parametrize("k", [1, 4, 6])
def test_fused_kernel_equals_the_numpy_contraction(k, links):
    p = make_inputs(k, n_draws=9, n_obs=13, seed=k, outcome_link=links[0], mediator_link=links[1])
    assert p.outcome.link.name == links[0] and all(m.link.name == links[1] for m in p.mediators)
    fused, plain = R.regime_table(p, engine="numba"), R.regime_table(p, engine="numpy")
    np.testing.assert_allclose(fused, plain, rtol=0, atol=table_tolerance(p))


@pytest.mark.parametrize("by", ["observation", "corner"])
@pytest.mark.parametrize("links", [("logit", "logit"), ("identity", "log"), ("log", "identity")])
@pytest.mark.parametrize("k", [0, 1, 2, 3, 4, 5])
def test_both_kernels_equal_the_numpy_contraction(k, links, by, monkeypatch):
    # vectors over a block of observations (the default up to BY_OBS_MAX_K mediators) or over
    # one observation's corners; 70 observations: the by-observation kernel's blocks
    # (OBS_BLOCK_BYTES) shrunk to 16 observations, so that a block boundary falls inside
    monkeypatch.setattr(kernel, "BY_OBS_MAX_K", 99 if by == "observation" else -1)
    monkeypatch.setattr(kernel, "OBS_BLOCK_BYTES", 8 * 16 * 2 ** (k + 1))
    p = make_inputs(k, n_draws=7, n_obs=70, seed=k, outcome_link=links[0], mediator_link=links[1])
    fused, plain = R.regime_table(p, engine="numba"), R.regime_table(p, engine="numpy")
    np.testing.assert_allclose(fused, plain, rtol=0, atol=table_tolerance(p))


@pytest.mark.parametrize("k", [1, 3, 5])
def test_contraction_equals_naive_enumeration(k):
    p = make_inputs(k, n_draws=20, n_obs=30, seed=k)
    np.testing.assert_allclose(R.regime_table(p), regimes_naive(p)[0], rtol=0, atol=table_tolerance(p))


def test_chunking_does_not_change_the_numbers():
    p = make_inputs(4, n_draws=13, n_obs=17, seed=3)
    whole = R.regime_table(p, chunk_bytes=2**40, engine="numpy")
    for engine in ("numpy", "numba"):
        tiny = R.regime_table(p, chunk_bytes=1, engine=engine)  # one draw (and observation) per chunk
        some = R.regime_table(p, chunk_bytes=8 * 32 * 4 * 7, engine=engine)
        np.testing.assert_allclose(tiny, whole, rtol=0, atol=table_tolerance(p))
        np.testing.assert_allclose(some, whole, rtol=0, atol=table_tolerance(p))
    assert R.chunk_shape(4000, 410, 8, 256 * 2**20)[0] * 410 * 2**9 * 8 * 4 <= 256 * 2**20


def test_the_kernels_chunks_of_draws_change_no_bit(monkeypatch):
    """Each draw is computed alone: KERNEL_CHUNK_BYTES (and any chunk) gives the table bit for bit."""
    p = make_inputs(3, n_draws=40, n_obs=25, seed=5)
    monkeypatch.setattr(R, "KERNEL_CHUNK_BYTES", 2**40)
    whole = R.regimes(p, chunk_bytes=2**40, engine="numba")
    monkeypatch.setattr(R, "KERNEL_CHUNK_BYTES", 8 * 25 * 4 * 3 * 7)  # 7 draws a chunk per kernel thread
    chunked = R.regimes(p, chunk_bytes=2**40, engine="numba")
    assert np.array_equal(chunked.table, whole.table) and np.array_equal(chunked.joint, whole.joint)


def test_the_logistic_in_one_array_is_the_formula_bit_for_bit():
    eta = np.random.default_rng(0).normal(0, 20, size=(50, 7, 2))
    assert np.array_equal(LINKS["logit"].inverse(eta), 0.5 * (1.0 + np.tanh(0.5 * eta)))
    assert LINKS["logit"].inverse(0.0) == 0.5 and LINKS["logit"].inverse(np.float64(2.0)) == 0.5 * (1 + np.tanh(1.0))


def test_progress_counts_every_draw_once_per_chunk():
    p = make_inputs(3, n_draws=13, n_obs=17, seed=3)
    done = []
    R.regimes(p, chunk_bytes=1, progress=done.append)  # one draw per chunk
    assert done == [1] * 13
    done.clear()
    R.regimes(p, progress=done.append)  # all in one chunk
    assert done == [13]


def test_refuses_tables_that_cannot_fit():
    from dagmed.errors import SpecError

    R.check_size(10, 4000)
    with pytest.raises(SpecError, match=r"2\^26 = 67108864 regimes: the regime table alone needs about 2000.0 GiB"):
        R.check_size(25, 4000)


def test_refuses_an_unknown_engine():
    with pytest.raises(ValueError, match="unknown engine 'cuda'; valid options are auto, numba, numpy"):
        R.regimes(make_inputs(1), engine="cuda")


# ---- dependent mediators (MATH.md section 3b) ---------------------------------------------


@pytest.mark.parametrize("dag", sorted(DAGS))
def test_dependent_regimes_equal_the_naive_enumeration_in_both_engines(dag):
    k, edges = DAGS[dag]
    p = make_inputs(k, n_draws=6, n_obs=9, seed=len(edges), edges=edges)
    assert p.dependent
    want_table, want_joint = regimes_naive(p)
    tol = table_tolerance(p)
    for engine in ("numba", "numpy"):
        r = R.regimes(p, engine=engine)
        np.testing.assert_allclose(r.table, want_table, rtol=0, atol=tol)
        np.testing.assert_allclose(r.joint, want_joint, rtol=0, atol=tol)
    # chunking over draws and observations changes nothing
    tiny = R.regimes(p, chunk_bytes=1, engine="numpy")
    np.testing.assert_allclose(tiny.joint, want_joint, rtol=0, atol=tol)


def test_dependence_is_real_the_joint_differs_from_the_product():
    p = make_inputs(2, n_draws=5, n_obs=7, seed=3, edges=((0, 1),))
    r = R.regimes(p)
    prod = R.independent_joint(r.table)
    assert np.max(np.abs(r.joint - prod)) > 1e-3
    # the marginal of the child averages over its parent: not its GLM at the parent's value 0
    q = R.mediator_marginals(p, slice(None), slice(None), R.mediator_joint(p, slice(None), slice(None)))
    parent_zero = R.mediator_marginals(
        R.RegimeInputs(
            p.outcome,
            (
                p.mediators[0],
                glm("logit", p.mediators[1].intercept, p.mediators[1].beta[:, [0, 2, 3]], ("t", "x1", "x2")),
            ),
            p.mediator_names,
            "t",
            p.covariates,
            p.n_obs,
        ),
        slice(None),
        slice(None),
    )
    assert np.max(np.abs(q[1] - parent_zero[1])) > 1e-3


@pytest.mark.parametrize("link", ["logit", "log"])
def test_kernel_falls_back_when_an_exponential_factor_overflows(link):
    # a coefficient of 800 overflows exp(800): the product trick would meet 0 * inf = NaN
    p = make_inputs(2, n_draws=3, n_obs=4, seed=2, outcome_link=link)
    p.outcome.beta[:, 1] = -800.0 if link == "logit" else -50.0
    p.outcome.beta[:, 2] = 800.0 if link == "logit" else 50.0
    fused, plain = R.regime_table(p, engine="numba"), R.regime_table(p, engine="numpy")
    assert np.all(np.isfinite(fused))
    np.testing.assert_allclose(fused, plain, rtol=0, atol=table_tolerance(p))
