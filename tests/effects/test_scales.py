"""Effects on ratio scales (``scale rr``, ``scale or``): the same regimes, divided instead of subtracted."""

import itertools

import numpy as np
import pytest

from dagmed.effects.decomposition import effects
from dagmed.lang.families import FAMILIES
from dagmed.lang.vocabulary import SCALES

EPS = np.finfo(float).eps
MEDS = ("m1", "m2", "m3")


def _regimes(seed=0, draws=50):
    """A random marginal table E(t; t1, t2, t3) and joint table Ej(t; t*) of probabilities."""
    rng = np.random.default_rng(seed)
    table = rng.uniform(0.05, 0.95, size=(draws, 2, 2, 2, 2))
    joint = rng.uniform(0.05, 0.95, size=(draws, 2, 2))
    return table, joint


ODDS = {"rr": lambda p: p, "or": lambda p: p / (1 - p)}


@pytest.mark.parametrize("scale", ["rr", "or"])
@pytest.mark.parametrize("convention, level", [("control", 0), ("treated", 1)])
def test_each_effect_is_the_ratio_of_its_two_regimes(scale, convention, level):
    table, joint = _regimes()
    eff = effects(table, MEDS, convention, joint=joint, scale=scale)
    f = ODDS[scale]

    def E(t, on=()):
        return f(table[(slice(None), t, *(1 if m in on else 0 for m in MEDS))])

    # a log, a difference and an exponential: a few ulps, relative
    rel = 64 * EPS
    np.testing.assert_allclose(eff["TE"], f(joint[:, 1, 1]) / f(joint[:, 0, 0]), rtol=rel)
    np.testing.assert_allclose(eff["DE"], f(joint[:, 1, 0]) / f(joint[:, 0, 0]), rtol=rel)
    for m in MEDS:
        np.testing.assert_allclose(eff[f"IIE[{m}]"], E(level, (m,)) / E(level), rtol=rel)
    a, b = "m1", "m2"  # an interaction is a ratio of ratios
    np.testing.assert_allclose(
        eff["INT[m1,m2]"],
        (E(level, (a, b)) / E(level)) / ((E(level, (a,)) / E(level)) * (E(level, (b,)) / E(level))),
        rtol=rel,
    )
    three = 1.0
    for r in range(4):
        for u in itertools.combinations(MEDS, r):
            three = three * E(level, u) ** ((-1) ** (3 - r))
    np.testing.assert_allclose(eff["INT[m1,m2,m3]"], three, rtol=rel)


@pytest.mark.parametrize("scale", ["rr", "or"])
@pytest.mark.parametrize("convention", ["control", "treated"])
def test_te_is_the_product_of_its_components(scale, convention):
    table, joint = _regimes(seed=1)
    eff = effects(table, MEDS, convention, joint=joint, scale=scale)
    product = np.prod([v for n, v in eff.items() if n not in ("TE",) and not n.startswith("PM[")], axis=0)
    # eleven factors, each within a few ulps: the product within about 11 * 8 ulps, relative
    np.testing.assert_allclose(product, eff["TE"], rtol=128 * EPS)


def test_pm_on_a_ratio_scale_is_the_share_of_the_log_total():
    table, joint = _regimes(seed=2)
    eff = effects(table, MEDS, joint=joint, scale="rr")
    np.testing.assert_allclose(eff["PM[m1]"], np.log(eff["IIE[m1]"]) / np.log(eff["TE"]), rtol=1e-10)


def test_diff_is_unchanged_by_the_scale_machinery():
    table, joint = _regimes(seed=3)
    a, b = effects(table, MEDS, joint=joint), effects(table, MEDS, joint=joint, scale="diff")
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])


def test_which_outcome_each_scale_takes():
    # an outcome with levels (ordinal) is refused by the checks whatever the scale
    outcomes = [f for f in FAMILIES if not FAMILIES[f].support.levels]
    ok = {(s, f): SCALES[s].refusal("y", FAMILIES[f]) is None for s in SCALES for f in outcomes}
    assert ok == {
        ("diff", "bernoulli"): True, ("diff", "normal"): True, ("diff", "poisson"): True,
        ("rr", "bernoulli"): True, ("rr", "normal"): False, ("rr", "poisson"): True,
        ("or", "bernoulli"): True, ("or", "normal"): False, ("or", "poisson"): False,
        ("diff", "studentt"): True, ("rr", "studentt"): False, ("or", "studentt"): False,
        ("diff", "negbinomial"): True, ("rr", "negbinomial"): True, ("or", "negbinomial"): False,
    }  # fmt: skip
    assert "use rr or diff" in SCALES["or"].refusal("y", FAMILIES["poisson"])
