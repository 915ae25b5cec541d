"""The one reader of the posterior: draws in chain-major order, by the IR's names and coordinates."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import dagmed
from dagmed.model.draws import Draws, NodeDraws
from dagmed.model.ir import ModelIR

SPEC = "treatment t\noutcome y\nx -> t, m, y\nt -> m -> y\nt -> y\nm ~ bernoulli\ny ~ normal\n"


def _posterior(ir, rng, chains=3, draws=4, coords=None):
    data, all_coords = {}, {}
    for p in ir.params:
        shape = (chains, draws, *p.shape)
        data[p.name] = (("chain", "draw", *([p.dim] if p.dim else [])), rng.normal(size=shape))
        if p.dim:
            all_coords[p.dim] = list(coords.get(p.dim, p.coords) if coords else p.coords)
    return xr.Dataset(data, coords=all_coords)


def test_every_parameter_flattened_chain_major():
    ir = ModelIR.from_analysis(dagmed.check(dagmed.parse(SPEC)))
    post = _posterior(ir, np.random.default_rng(1))
    d = Draws.from_posterior(post, ir)
    assert d.n_draws == 12 and set(d.nodes) == {"m", "y"}
    y = d["y"]
    assert y.terms == ("t", "m", "x") and y.family.name == "normal"
    np.testing.assert_array_equal(y.intercept, post["y_intercept"].values.reshape(-1))
    for j, term in enumerate(y.terms):  # chain 0's draws first, each coefficient by its coordinate
        np.testing.assert_array_equal(y.coef(term), post["y_beta"].sel(y_parents=term).values.reshape(-1))
        np.testing.assert_array_equal(y.beta[:, j], y.coef(term))
    np.testing.assert_array_equal(y.extras["sigma"], post["y_sigma"].values.reshape(-1))
    assert np.all(d["m"].coef("x") == d["m"].beta[:, 1]) and np.all(d["m"].coef("y") == 0.0)


def test_a_transposed_posterior_reads_the_same():
    ir = ModelIR.from_analysis(dagmed.check(dagmed.parse(SPEC)))
    post = _posterior(ir, np.random.default_rng(2))
    a = Draws.from_posterior(post, ir)["y"]
    b = Draws.from_posterior(post.transpose("draw", "chain", ...), ir)["y"]
    np.testing.assert_array_equal(a.beta, b.beta)


def test_a_posterior_of_another_model_is_refused_by_name():
    ir = ModelIR.from_analysis(dagmed.check(dagmed.parse(SPEC)))
    post = _posterior(ir, np.random.default_rng(3)).drop_vars("m_intercept")
    with pytest.raises(KeyError, match="m_intercept"):
        Draws.from_posterior(post, ir)
    swapped = _posterior(ir, np.random.default_rng(3), coords={"y_parents": ["m", "t", "x"]})
    with pytest.raises(KeyError, match="coordinates"):
        Draws.from_posterior(swapped, ir)


def test_restricting_draws_keeps_every_part():
    ir = ModelIR.from_analysis(dagmed.check(dagmed.parse(SPEC)))
    y = Draws.from_posterior(_posterior(ir, np.random.default_rng(4)), ir)["y"]
    part = y.draws(slice(2, 5))
    assert isinstance(part, NodeDraws) and part.n_draws == 3
    np.testing.assert_array_equal(part.extras["sigma"], y.extras["sigma"][2:5])
    np.testing.assert_array_equal(part.beta, y.beta[2:5])
