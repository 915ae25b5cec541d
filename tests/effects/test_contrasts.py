"""Exposure contrasts (``contrast 2 vs 0``): regime index t = 1 is the active value, t = 0 the reference."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

import dagmed
from dagmed.effects import regimes as R
from dagmed.effects.decomposition import effects
from dagmed.errors import DataError
from dagmed.model import data

from reference import regimes_naive
from synthetic_draws import DAGS, make_inputs, table_tolerance


@pytest.mark.parametrize("engine", ["numba", "numpy"])
@pytest.mark.parametrize("dag", ["independent", "chain", "two_parents"])
@pytest.mark.parametrize("contrast", [(2.0, 0.0), (0.5, -1.5), (0.0, 1.0)])
def test_regimes_at_the_contrast_equal_brute_force(engine, dag, contrast):
    k, edges = (2, ()) if dag == "independent" else DAGS[dag]
    inputs = dataclasses.replace(make_inputs(k, edges=edges, outcome_link="log"), contrast=contrast)
    got = R.regimes(inputs, engine=engine)
    table, joint = regimes_naive(inputs)
    tol = table_tolerance(inputs)
    np.testing.assert_allclose(got.table, table, rtol=0, atol=tol)
    np.testing.assert_allclose(got.joint, joint, rtol=0, atol=tol)


def test_the_default_contrast_is_one_versus_zero_bit_for_bit():
    inputs = make_inputs(3)
    explicit = dataclasses.replace(inputs, contrast=(1.0, 0.0))
    np.testing.assert_array_equal(R.regimes(inputs).table, R.regimes(explicit).table)


def test_linear_effects_scale_with_the_contrast():
    """x -> m -> y, all linear: TE = (c + a b) (active - reference), IIE = a b (active - reference)."""
    spec = "treatment x\noutcome y\nx -> m ~ normal\nx, m -> y ~ normal\ncontrast 2 vs 0.5\n"
    params = {
        "m_intercept": 1.0,
        "m_beta": {"x": 0.5},
        "m_sigma": 0.5,
        "y_intercept": 0.0,
        "y_beta": {"x": 0.3, "m": 0.6},
        "y_sigma": 0.5,
    }
    truth = dagmed.simulate(dagmed.parse(spec), 200, params=params, seed=3).truth["effects"]
    step = 2 - 0.5
    # sums of 200 terms of order 1: within a few hundred eps
    assert truth["TE"] == pytest.approx((0.3 + 0.5 * 0.6) * step, abs=1e-12)
    assert truth["IIE[m]"] == pytest.approx(0.5 * 0.6 * step, abs=1e-12)
    assert truth["DE"] == pytest.approx(0.3 * step, abs=1e-12)


def test_a_treatment_that_is_not_binary_needs_a_contrast():
    spec = dagmed.parse("treatment t\noutcome y\nt -> y ~ normal\n")
    ds = dagmed.load_data(spec, pd.DataFrame({"t": [0.0, 1.0, 0.0, 3.5], "y": [1.0, 2.0, 2.5, 0.1]}))
    with pytest.raises(DataError, match=r"column t, row 4: value 3.5: .* add a line 'contrast ACTIVE vs REFERENCE'"):
        data.refuse_unstated_contrast(ds)
    with pytest.raises(DataError, match="contrast 3.5 vs 0"):
        dagmed.run(spec, pd.DataFrame({"t": [0.0, 1.0, 0.0, 3.5], "y": [1.0, 2.0, 2.5, 0.1]}), log=lambda m: None)


def test_the_row_named_is_the_files_after_dropping_rows():
    spec = dagmed.parse("treatment t\noutcome y\nt -> y ~ normal\n")
    df = pd.DataFrame({"t": [0.0, None, 1.0, 2.0], "y": [1.0, 2.0, None, 0.5]})
    with pytest.raises(DataError, match="row 4: value 2"):
        data.refuse_unstated_contrast(dagmed.load_data(spec, df))


def test_a_contrast_outside_the_data_warns_and_inside_does_not():
    def warning(contrast):
        spec = dagmed.parse(f"treatment t\noutcome y\nt -> y ~ normal\ncontrast {contrast}\n")
        return data.contrast_outside(dagmed.load_data(spec, pd.DataFrame({"t": [0.0, 1.0, 3.0], "y": [1.0, 2.0, 2.5]})))

    assert warning("3 vs 0") is None
    assert "4 lies outside the observed range of t (0 to 3)" in warning("4 vs 0")
    assert "-1 and 5 lie outside" in warning("-1 vs 5")


def test_effects_of_a_contrast_keep_te_as_the_sum():
    inputs = dataclasses.replace(make_inputs(3, edges=((0, 1),)), contrast=(2.0, -1.0))
    r = R.regimes(inputs)
    eff = effects(r.table, inputs.mediator_names, joint=r.joint)
    parts = sum(v for n, v in eff.items() if n not in ("TE",) and not n.startswith("PM["))
    np.testing.assert_allclose(parts, eff["TE"], rtol=0, atol=1e-12)
