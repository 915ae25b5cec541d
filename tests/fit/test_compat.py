"""The third-party private API dagmed relies on (:mod:`dagmed.fit._compat`), checked against the installed versions.

When PyMC or nutpie change one of these parts, these tests say which, before a run does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import dagmed
from dagmed.fit import _compat


def test_chain_seed_is_what_pm_sample_derives():
    from pymc.sampling.mcmc import _get_seeds_per_chain

    assert _compat.chain_seed(None) is None
    for seed in (0, 1, 12345):
        assert _compat.chain_seed(seed) == int(_get_seeds_per_chain(seed, 1)[0])
        assert _compat.chain_seed(seed) == _compat.chain_seed(seed)


def test_nutpie_compiled_model_has_the_fields_the_fast_density_fills():
    pytest.importorskip("nutpie")
    import dataclasses

    from nutpie.compile_pymc import CompiledPyMCModel

    fields = {f.name for f in dataclasses.fields(CompiledPyMCModel)}
    missing = _compat.NUTPIE_FIELDS - fields
    assert not missing, f"nutpie's CompiledPyMCModel lacks {sorted(missing)}: the fast path falls back to PyMC's model"
    assert _compat.compiled_model_class() is CompiledPyMCModel


def test_data_groups_are_those_pm_sample_makes():
    pm = pytest.importorskip("pymc")
    spec = dagmed.parse("treatment t\noutcome y\nx -> t, y\nt -> y\nt, y ~ bernoulli\n")
    df = pd.DataFrame({"x": [0.5, -1.0, 2.0, 0.1], "t": [0, 1, 1, 0], "y": [1, 0, 1, 1]})
    model = dagmed.compile(spec, df)
    groups = _compat.data_groups(model)
    with model:
        idata = pm.sample(draws=5, tune=5, chains=1, random_seed=1, progressbar=False, compute_convergence_checks=False)
    for name, ds in groups.items():
        ref = idata[name]
        assert sorted(ds.data_vars) == sorted(ref.data_vars), name
        for v in ds.data_vars:
            np.testing.assert_array_equal(ds[v].values, ref[v].values)
            assert ds[v].dims == ref[v].dims
