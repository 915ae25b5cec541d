"""Every use of a third-party library's private or unstable parts, in one place.

dagmed reaches past the public API of PyMC and nutpie at three points; each is named here
with the version range it was written against, so that a new release breaks one module and
its tests (``tests/fit/test_compat.py``), not the sampler:

* :func:`chain_seed` -- the seed ``pm.sample`` derives for nutpie from ``random_seed``
  (``pymc.sampling.mcmc._get_seeds_per_chain``), so that the fast path draws what
  ``pm.sample(nuts_sampler="nutpie")`` would;
* :func:`compiled_model_class` and :func:`nutpie_model` -- nutpie's ``CompiledPyMCModel``
  and its private fields, which the fast density fills with its own callbacks instead of
  ones compiled from a PyMC model;
* :func:`data_groups` -- the ``constant_data`` and ``observed_data`` groups as
  ``pm.sample`` builds them (``pymc.backends.arviz``).
"""

from __future__ import annotations

import dataclasses
import importlib.util

import numpy as np

# The fields of nutpie's CompiledPyMCModel that the fast density fills (nutpie 0.13 - 0.16).
NUTPIE_FIELDS = frozenset(
    {
        "compiled_logp_func",
        "compiled_expand_func",
        "initial_point_func",
        "user_data",
        "n_expanded",
        "shape_info",
        "_n_dim",
        "_shapes",
        "_coords",
        "dims",
    }
)


def chain_seed(seed: int | None) -> int | None:
    """The seed nutpie receives from ``pm.sample(random_seed=seed, nuts_sampler="nutpie")``.

    Examples
    --------
    >>> chain_seed(None) is None, isinstance(chain_seed(1), int)
    (True, True)
    """
    if seed is None:
        return None
    from pymc.sampling.mcmc import _get_seeds_per_chain

    return int(_get_seeds_per_chain(seed, 1)[0])


def compiled_model_class():
    """nutpie's ``CompiledPyMCModel`` when it has the fields dagmed fills, else None.

    Examples
    --------
    >>> compiled_model_class() is None or compiled_model_class().__name__ == "CompiledPyMCModel"
    True
    """
    if importlib.util.find_spec("nutpie") is None:
        return None
    try:
        from nutpie.compile_pymc import CompiledPyMCModel
    except ImportError:
        return None
    if not NUTPIE_FIELDS <= {f.name for f in dataclasses.fields(CompiledPyMCModel)}:
        return None
    return CompiledPyMCModel


def nutpie_model(*, dims, coords, shapes, logp_callback, expand_callback, initial_point, user_data, layout):
    """A ``CompiledPyMCModel`` of nutpie's, given compiled callbacks and their user data.

    Parameters
    ----------
    dims, coords : dict
        Each variable's dimensions, and the coordinates (``pandas.Index``) of every dimension,
        ``unconstrained_parameter`` included.
    shapes : dict
        Each variable's shape.
    logp_callback, expand_callback : numba cfunc
        nutpie's log density and draw callbacks, reading the model from ``user_data``.
    initial_point : callable
        ``chain_seed -> x``: a chain's starting point in the unconstrained space.
    user_data : numpy.ndarray
        The buffer both callbacks read.
    layout : (names, slices, shapes)
        Where each variable sits in the unconstrained vector.
    """
    n_dim = sum(int(np.prod(s)) for s in shapes.values())
    return compiled_model_class()(
        dims=dims,
        _coords=coords,
        _n_dim=n_dim,
        _shapes=shapes,
        compiled_logp_func=logp_callback,
        compiled_expand_func=expand_callback,
        initial_point_func=initial_point,
        shared_data={},
        user_data=user_data,
        n_expanded=n_dim,
        shape_info=layout,
        logp_func=None,
        expand_func=None,
    )


def data_groups(model) -> dict:
    """``constant_data`` and ``observed_data`` of ``model`` as ``pm.sample`` makes them: group -> Dataset."""
    import pymc as pm
    from pymc.backends.arviz import (
        coords_and_dims_for_inferencedata,
        dict_to_dataset,
        find_constants,
        find_observations,
    )

    coords, dims = coords_and_dims_for_inferencedata(model)
    return {
        group: dict_to_dataset(find(model), library=pm, coords=coords, dims=dims, default_dims=[])
        for group, find in (("constant_data", find_constants), ("observed_data", find_observations))
    }
