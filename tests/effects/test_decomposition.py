"""The effects from the regimes on synthetic draws (no sampling): the formulas, the identity
TE = DE + IIEs + INTs + DEP in every draw, closed forms of linear models; and the stage end to
end (``decompose``) on a posterior-shaped Dataset."""

import numpy as np
import pandas as pd
import pytest

from dagmed.effects import regimes as R
from dagmed.effects.decomposition import components, decompose, effects, inputs_from

from synthetic_draws import DAGS, EPS, glm, make_inputs, table_tolerance


@pytest.mark.parametrize("convention", ["control", "treated"])
@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_components_add_up_to_te_in_every_draw(k, convention):
    p = make_inputs(k, n_draws=50, seed=10 + k)
    r = R.regimes(p)
    eff = effects(r.table, p.mediator_names, convention, joint=r.joint)
    total = sum(eff[n] for n in components(eff))
    # every component is a signed sum of regimes in [0, 1]; INT over all sets uses 3^K - 2^K
    # of them and DEP repeats them all: (3^K + K + 4) additions of values <= 1 in total
    assert np.max(np.abs(eff["TE"] - total)) <= 2 * (3**k + k + 4) * EPS
    assert len([n for n in eff if n.startswith("INT[")]) == 2**k - k - 1
    if convention == "treated":
        assert np.all(eff["DEP"] == 0)


def test_effect_formulas_k2():
    p = make_inputs(2, n_draws=5)
    T = R.regime_table(p)
    eff = effects(T, ("m0", "m1"))
    E = lambda t, a, b: T[:, t, a, b]  # noqa: E731
    np.testing.assert_allclose(eff["TE"], E(1, 1, 1) - E(0, 0, 0))
    np.testing.assert_allclose(eff["DE"], E(1, 0, 0) - E(0, 0, 0))
    np.testing.assert_allclose(eff["IIE[m0]"], E(0, 1, 0) - E(0, 0, 0))
    np.testing.assert_allclose(eff["IIE[m1]"], E(0, 0, 1) - E(0, 0, 0))
    np.testing.assert_allclose(eff["INT[m0,m1]"], E(0, 1, 1) - E(0, 1, 0) - E(0, 0, 1) + E(0, 0, 0))
    # with independent mediators, DEP is the direct-path x mediators interaction
    # both sides are signed sums of at most 12 regimes in [0, 1]: at most 12 roundings of values <= 4
    np.testing.assert_allclose(
        eff["DEP"], E(1, 1, 1) - E(0, 1, 1) - E(1, 0, 0) + E(0, 0, 0), rtol=0, atol=2 * 12 * 4 * EPS
    )
    np.testing.assert_allclose(eff["PM[m0]"], eff["IIE[m0]"] / eff["TE"])
    assert list(eff) == ["TE", "DE", "IIE[m0]", "IIE[m1]", "INT[m0,m1]", "DEP", "PM[m0]", "PM[m1]"]
    assert components(eff) == ["DE", "IIE[m0]", "IIE[m1]", "INT[m0,m1]", "DEP"]


def test_linear_gaussian_iie_is_a_times_b_per_draw():
    rng = np.random.default_rng(1)
    s, n = 100, 40
    a, b, c = rng.normal(size=s), rng.normal(size=s), rng.normal(size=s)
    m = glm("identity", rng.normal(size=s), a[:, None], ("x",))
    y = glm("identity", rng.normal(size=s), np.stack([c, b], axis=1), ("x", "m"))
    p = R.RegimeInputs(y, (m,), ("m",), "x", {}, n)
    eff = effects(R.regime_table(p), ("m",))
    tol = 2 * table_tolerance(p)  # each effect is a difference of two regimes
    np.testing.assert_allclose(eff["IIE[m]"], a * b, rtol=0, atol=tol)
    np.testing.assert_allclose(eff["DE"], c, rtol=0, atol=tol)
    np.testing.assert_allclose(eff["TE"], c + a * b, rtol=0, atol=tol)


# ---- dependent mediators (MATH.md section 3b) ---------------------------------------------


def test_independent_mediators_joint_is_the_diagonal_exactly():
    p = make_inputs(3, seed=4)
    r = R.regimes(p)
    assert not p.dependent
    for t in (0, 1):
        for ts in (0, 1):
            assert np.array_equal(r.joint[:, t, ts], r.table[:, t, ts, ts, ts])
    eff = effects(r.table, p.mediator_names, "treated", joint=r.joint)
    assert np.all(eff["DEP"] == 0)


@pytest.mark.parametrize("convention", ["control", "treated"])
@pytest.mark.parametrize("dag", sorted(DAGS))
def test_dependent_components_add_up_to_te_in_every_draw(dag, convention):
    k, edges = DAGS[dag]
    p = make_inputs(k, n_draws=40, n_obs=5, seed=7, edges=edges)
    r = R.regimes(p)
    eff = effects(r.table, p.mediator_names, convention, joint=r.joint)
    total = sum(eff[n] for n in components(eff))
    assert np.max(np.abs(eff["TE"] - total)) <= 2 * (3**k + k + 8) * EPS
    np.testing.assert_array_equal(eff["TE"], r.joint[:, 1, 1] - r.joint[:, 0, 0])
    np.testing.assert_array_equal(eff["DE"], r.joint[:, 1, 0] - r.joint[:, 0, 0])
    level = {"control": 0, "treated": 1}[convention]
    e_k = (slice(None), level, 1) + (0,) * (k - 1)
    np.testing.assert_array_equal(eff["IIE[m0]"], r.table[e_k] - r.table[(slice(None), level) + (0,) * k])
    if convention == "treated":
        np.testing.assert_array_equal(
            eff["DEP"],
            (r.joint[:, 1, 1] - r.table[(slice(None), 1) + (1,) * k])
            - (r.joint[:, 1, 0] - r.table[(slice(None), 1) + (0,) * k]),
        )


def test_linear_chain_of_gaussian_mediators_by_substitution():
    """t -> m1 -> m2 -> y, all identity links: every effect is a product of path coefficients."""
    rng = np.random.default_rng(5)
    s, n = 50, 20
    a1, c1, a2, c2, b21 = (rng.normal(size=s) for _ in range(5))
    y0, ct, b1, b2 = (rng.normal(size=s) for _ in range(4))
    m1 = glm("identity", a1, c1[:, None], ("t",))
    m2 = glm("identity", a2, np.stack([c2, b21], axis=1), ("t", "m1"))
    y = glm("identity", y0, np.stack([ct, b1, b2], axis=1), ("t", "m1", "m2"))
    p = R.RegimeInputs(y, (m1, m2), ("m1", "m2"), "t", {}, n)
    for engine in ("numba", "numpy"):
        r = R.regimes(p, engine=engine)
        eff = effects(r.table, ("m1", "m2"), "control", joint=r.joint)
        tol = 2 * table_tolerance(p)
        # IIE[m1] moves m1's marginal only (b1 c1); IIE[m2] moves m2's marginal, which includes
        # what m1 passes on to it (b2 (c2 + b21 c1)); TE = ct + b1 c1 + b2 (c2 + b21 c1)
        np.testing.assert_allclose(eff["IIE[m1]"], b1 * c1, rtol=0, atol=tol)
        np.testing.assert_allclose(eff["IIE[m2]"], b2 * (c2 + b21 * c1), rtol=0, atol=tol)
        np.testing.assert_allclose(eff["TE"], ct + b1 * c1 + b2 * (c2 + b21 * c1), rtol=0, atol=tol)
        np.testing.assert_allclose(eff["DE"], ct, rtol=0, atol=tol)


# ---- the stage end to end: a posterior through the model IR -------------------------------


LINEAR = "treatment t\noutcome y\nt -> m -> y\nt -> y\nm, y ~ normal\n"


def _linear_posterior(a, b, c):
    """A posterior-shaped Dataset (1 chain) of the linear model with m = a t + ..., y = c t + b m + ..."""
    import xarray as xr

    s = len(a)
    zeros, ones = np.zeros((1, s)), np.ones((1, s))
    return xr.Dataset(
        {
            "m_intercept": (("chain", "draw"), zeros + 0.5),
            "m_beta": (("chain", "draw", "m_parents"), np.asarray(a, float).reshape(1, s, 1)),
            "m_sigma": (("chain", "draw"), ones),
            "y_intercept": (("chain", "draw"), zeros - 0.25),
            "y_beta": (("chain", "draw", "y_parents"), np.stack([c, b], axis=-1).reshape(1, s, 2)),
            "y_sigma": (("chain", "draw"), ones),
        },
        coords={"m_parents": ["t"], "y_parents": ["t", "m"]},
    )


def test_decompose_reads_the_posterior_through_the_model_ir():
    import dagmed

    spec = dagmed.parse(LINEAR)
    dataset = dagmed.load_data(
        spec, pd.DataFrame({"t": [0, 1, 0, 1, 1], "m": [0.1, 0.4, -0.2, 1.0, 0.3], "y": [1.0, 2.0, 0.5, 0.0, 1.5]})
    )
    a, b, c = np.array([0.5, -1.0, 2.0]), np.array([1.5, 0.25, -0.5]), np.array([0.1, 0.2, 0.3])
    post = _linear_posterior(a, b, c)
    inputs = inputs_from(post, dataset)
    assert inputs.mediator_names == ("m",) and inputs.treatment == "t" and inputs.n_obs == 5
    assert inputs.outcome.terms == ("t", "m") and inputs.mediators[0].terms == ("t",)
    table, joint, eff = decompose(post, dataset, "control")
    assert table.shape == (3, 2, 2) and joint.shape == (3, 2, 2)
    # identity links: IIE = a b, DE = c, TE = c + a b per draw, to a few roundings of values <= 4
    np.testing.assert_allclose(eff["IIE[m]"], a * b, rtol=0, atol=64 * EPS)
    np.testing.assert_allclose(eff["DE"], c, rtol=0, atol=64 * EPS)
    np.testing.assert_allclose(eff["TE"], c + a * b, rtol=0, atol=64 * EPS)


def test_decompose_refuses_an_unknown_convention_and_another_models_posterior():
    import dagmed
    from dagmed.errors import UsageError

    spec = dagmed.parse(LINEAR)
    dataset = dagmed.load_data(spec, pd.DataFrame({"t": [0, 1, 0], "m": [0.1, 0.4, -0.2], "y": [1.0, 2.0, 0.5]}))
    post = _linear_posterior([0.5], [1.0], [0.0])
    with pytest.raises(UsageError, match="unknown convention 'natural'; valid options are control, treated"):
        decompose(post, dataset, "natural")
    with pytest.raises(UsageError, match="the posterior has no y_sigma: it was not fitted to this model"):
        decompose(post.drop_vars("y_sigma"), dataset)
    other = post.assign_coords(y_parents=["m", "t"])
    with pytest.raises(UsageError, match="it was not fitted to this model"):
        decompose(other, dataset)
