"""Where dagmed meets the libraries whose API moves: one module for ArviZ 0.x / 1.x, PyMC 5 / 6 and nutpie.

dagmed runs on two stacks from one code base (README, "Two stacks"):

* Python 3.10-3.11: PyMC 5, ArviZ 0.x: a run's posterior container is an ``arviz.InferenceData``;
* Python 3.12-3.13: PyMC 6, ArviZ 1.x (arviz-base, arviz-stats, arviz-plots): it is an
  ``xarray.DataTree``, the container ArviZ 1 and PyMC 6 use.

Every difference between them that dagmed meets is answered here, and only here, so that a new
release breaks this module and its tests (``tests/test_compat.py``), not the stages that use it:

* the posterior container: :func:`inference_data`, :func:`groups`, :func:`group`,
  :func:`set_group`, :func:`read_netcdf`;
* statistics: :func:`hdi`, :func:`psislw`, :func:`power_sensitivity`, :func:`kde`;
* plotting: :func:`plot_posterior` (``arviz.plot_posterior`` on 0.x, arviz-plots' ``plot_dist`` on 1.x);
* PyMC's and nutpie's private or changed parts, each named with the versions it was written
  against: :func:`chain_seed` (the seed ``pm.sample`` gives nutpie), :func:`data_groups` (the
  data groups ``pm.sample`` adds), :func:`compiled_model_class` and :func:`nutpie_model`
  (nutpie's compiled model, whose fields the fast density fills) and :func:`nutpie_options`
  (nutpie's mass-matrix argument);
* PyTensor's default compilation mode (numba in PyTensor 3): :func:`draw_mode`, with which a
  simulation draws the same data on both stacks.

PyMC's model transforms ``pm.do`` and ``pm.observe`` and the arguments dagmed gives ``pm.sample``
and the predictive samplers are the same in PyMC 5.16-5.28 and 6.x: they need no entry here.

Importing this module loads no heavy library: the versions are read from the installed
packages' metadata, and each function imports what it uses.

Examples
--------
>>> import numpy as np, xarray as xr
>>> post = xr.Dataset({"a": (("chain", "draw"), np.zeros((2, 3)))})
>>> idata = inference_data(posterior=post)
>>> groups(idata), group(idata, "posterior").sizes["draw"]
(['posterior'], 3)
"""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import warnings
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version

import numpy as np


def _major(distribution: str) -> int:
    try:
        return int(version(distribution).split(".")[0])
    except PackageNotFoundError:
        return 0


#: ArviZ 1.x installed: posterior containers are ``xarray.DataTree``.
ARVIZ_1 = _major("arviz") >= 1
#: PyMC 6.x installed.
PYMC_6 = _major("pymc") >= 6
#: The name of ArviZ's power-scaling sensitivity, as the run's log names it.
PSENS = "arviz.psense" if ARVIZ_1 else "arviz.psens"


def stack() -> str:
    """The installed stack in one line, as the run's report and the CI log show it.

    Examples
    --------
    >>> stack().startswith("Python 3.")
    True
    """
    import sys

    def v(name):
        try:
            return version(name)
        except PackageNotFoundError:
            return "absent"

    py = ".".join(map(str, sys.version_info[:3]))
    return f"Python {py}, PyMC {v('pymc')}, PyTensor {v('pytensor')}, ArviZ {v('arviz')}, nutpie {v('nutpie')}"


# ---------------------------------------------------------------------------------------------
# The posterior container: InferenceData (ArviZ 0.x) or DataTree (ArviZ 1.x)


def _is_tree(idata) -> bool:
    return type(idata).__name__ == "DataTree"


def _dataset(value):
    """A group's content as an ``xarray.Dataset`` (a DataTree node is turned into one)."""
    return value.to_dataset() if _is_tree(value) else value


def inference_data(**groups_):
    """The installed ArviZ's posterior container holding ``groups_`` (name -> ``xarray.Dataset``).

    An ``arviz.InferenceData`` on ArviZ 0.x, an ``xarray.DataTree`` with one child per group on
    ArviZ 1.x; a group given as a DataTree node (``pm.sample_prior_predictive(...).prior`` on
    PyMC 6) is taken as its dataset.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> idata = inference_data(posterior=xr.Dataset({"a": (("chain", "draw"), np.ones((1, 4)))}))
    >>> float(idata.posterior["a"].sum())
    4.0
    """
    content = {name: _dataset(ds) for name, ds in groups_.items()}
    if ARVIZ_1:
        import xarray as xr

        return xr.DataTree.from_dict(content)
    import arviz as az

    return az.InferenceData(**content)


def groups(idata) -> list[str]:
    """The names of ``idata``'s groups, in its order.

    Examples
    --------
    >>> import xarray as xr
    >>> ds = xr.Dataset({"a": ("draw", [0.0])})
    >>> groups(inference_data(posterior=ds, observed_data=ds))
    ['posterior', 'observed_data']
    """
    return list(idata.children) if _is_tree(idata) else list(idata.groups())


def group(idata, name: str):
    """Group ``name`` of ``idata`` as an ``xarray.Dataset`` (a DataTree's node converted).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> ds = group(inference_data(posterior=xr.Dataset({"a": ("draw", np.arange(3.0))})), "posterior")
    >>> type(ds).__name__, list(ds.data_vars)
    ('Dataset', ['a'])
    """
    return _dataset(idata[name])


def set_group(idata, name: str, dataset) -> None:
    """Add group ``name`` to ``idata``, or replace it, in place.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> idata = inference_data(posterior=xr.Dataset({"a": ("draw", np.arange(3.0))}))
    >>> set_group(idata, "posterior", group(idata, "posterior").drop_vars("a"))
    >>> set_group(idata, "constant_data", xr.Dataset({"x": ("obs_id", [1.0, 2.0])}))
    >>> groups(idata), list(group(idata, "posterior").data_vars)
    (['posterior', 'constant_data'], [])
    """
    dataset = _dataset(dataset)
    if _is_tree(idata):
        import xarray as xr

        idata[name] = xr.DataTree(dataset)
    elif name in idata.groups():
        setattr(idata, name, dataset)
    else:
        idata.add_groups({name: dataset})


def read_netcdf(path):
    """A run's ``idata.nc``, read into memory (the file is closed): the container of the installed ArviZ.

    Examples
    --------
    >>> import numpy as np, tempfile, xarray as xr, os
    >>> idata = inference_data(posterior=xr.Dataset({"a": (("chain", "draw"), np.ones((1, 2)))}))
    >>> path = os.path.join(tempfile.mkdtemp(), "idata.nc")
    >>> _ = idata.to_netcdf(path)
    >>> groups(read_netcdf(path))
    ['posterior']
    """
    if ARVIZ_1:
        import xarray as xr

        with xr.open_datatree(str(path)) as tree:
            return tree.load()
    import arviz as az

    idata = az.from_netcdf(str(path))
    for name in idata.groups():
        idata[name].load()
    return idata


# ---------------------------------------------------------------------------------------------
# Statistics


def hdi(x, prob: float) -> tuple[float, float]:
    """The highest-density interval of draws ``x`` holding ``prob`` of them (``arviz.hdi``).

    Examples
    --------
    >>> hdi([0.0, 1.0, 2.0, 3.0, 100.0], 0.6)  # the narrowest of the intervals spanning floor(0.6 * 5) + 1 draws
    (0.0, 3.0)
    """
    import arviz as az

    x = np.asarray(x, dtype=float).reshape(-1)
    lo, hi = az.hdi(x, prob=prob) if ARVIZ_1 else az.hdi(x, hdi_prob=prob)
    return float(lo), float(hi)


def psislw(log_ratios) -> tuple[np.ndarray, float]:
    """Pareto-smoothed log importance weights of ``log_ratios`` (1-d), normalized, and the Pareto k.

    ``arviz.psislw`` on 0.x; on 1.x arviz-stats' ``psislw``, which takes the ratios' negative
    (the sign of a log-likelihood in leave-one-out). The weights agree to about 1e-5; the two
    fit the Pareto tail each its own way, so k differs in the second decimal (0.040 and 0.036
    on the 4000 draws of ``tests/test_compat.py``). Equal ratios have no tail to fit: equal
    weights and k = inf, as ArviZ 0.x gives (ArviZ 1 refuses them).

    Examples
    --------
    >>> import numpy as np
    >>> log_w, k = psislw(np.zeros(100))  # equal ratios: equal weights, and no tail to fit (ArviZ 0.x: k = inf)
    >>> bool(np.allclose(np.exp(log_w), 0.01)), k
    (True, inf)
    """
    x = np.asarray(log_ratios, dtype=float).reshape(-1)
    if x.size and np.ptp(x) == 0:  # ArviZ 1: "All tail values are the same"
        return np.full(x.size, -np.log(x.size)), float("inf")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a short tail's fit warns; k says how good it is
        if ARVIZ_1:
            import xarray as xr

            log_w, k = xr.DataArray(-x, dims=["sample"]).azstats.psislw(dim="sample")
            return np.asarray(log_w, dtype=float), float(k)
        import arviz as az

        log_w, k = az.psislw(x)
        return np.asarray(log_w, dtype=float), float(k)


def power_sensitivity(idata, component: str):
    """Power-scaling sensitivity of each posterior variable to ``component`` ("prior" or "likelihood").

    ``arviz.psens`` on 0.x, ``arviz.psense`` on 1.x: the same statistic (the cumulative
    Jensen-Shannon distance between the posterior and its power-scaled versions at alpha
    0.99 and 1.01, per unit of ``log2 alpha``, averaged), an ``xarray.Dataset`` shaped like a
    draw. The two smooth the power-scaling weights' tails each their own way: the scores agree
    to about 1e-4. A constant density (a likelihood that says nothing) moves nothing: 0 for
    every variable on both (ArviZ 1 refuses it).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> a = np.random.default_rng(0).normal(size=(2, 400))
    >>> idata = inference_data(posterior=xr.Dataset({"a": (("chain", "draw"), a)}),
    ...                        log_prior=xr.Dataset({"a": (("chain", "draw"), -0.5 * a**2)}),
    ...                        log_likelihood=xr.Dataset({"y": (("chain", "draw"), np.zeros((2, 400)))}))
    >>> round(float(power_sensitivity(idata, "likelihood")["a"]), 3)
    0.0
    """
    import arviz as az

    log_density = group(idata, f"log_{component}")
    total = sum(v.sum([d for d in v.dims if d not in ("chain", "draw")]) for v in log_density.data_vars.values())
    if np.ptp(np.asarray(total)) == 0:
        # a constant density: power-scaling it moves nothing (ArviZ 1 refuses it: "All tail values are the same")
        return _zeros_like_a_draw(group(idata, "posterior"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if ARVIZ_1:
            return _dataset(az.psense(idata, group=component))
        return az.psens(idata, component=component)


def _zeros_like_a_draw(posterior):
    """Zeros shaped like one draw of ``posterior``: each variable without its ``chain`` and ``draw`` dimensions."""
    return (posterior.isel(chain=0, draw=0, drop=True) * 0.0).astype(float)


@contextmanager
def _arviz_without_numba():
    """ArviZ 0.x's densities with its numba switched off, then restored (arviz-stats uses numba only when asked).

    ArviZ 0.x's numba histogram compiled for about 3 s on the first run after installing;
    NumPy's gives the same densities in the same time (they could differ only by a draw within
    a rounding of a bin edge: NumPy corrects its bin to the edge's side, numba does not).
    """
    from arviz import Numba

    flag = Numba.numba_flag
    Numba.disable_numba()
    try:
        yield
    finally:
        Numba.numba_flag = flag


def kde(x) -> tuple[np.ndarray, np.ndarray]:
    """ArviZ's kernel density estimate of draws ``x``: ``(grid, density)``, 512 points each.

    Examples
    --------
    >>> import numpy as np
    >>> grid, density = kde(np.random.default_rng(0).normal(size=2000))
    >>> grid.shape, bool(abs(float(np.sum(density) * (grid[1] - grid[0])) - 1) < 0.01)
    ((512,), True)
    """
    x = np.asarray(x, dtype=float).reshape(-1)
    if ARVIZ_1:
        from arviz_stats.base import array_stats

        grid, density, _ = array_stats.kde(x)
        return np.asarray(grid), np.asarray(density)
    from arviz import kde as kde0

    with _arviz_without_numba():
        grid, density = kde0(x)
    return np.asarray(grid), np.asarray(density)


# ---------------------------------------------------------------------------------------------
# Plotting


def plot_posterior(draws, ax, prob: float, ref_val: float) -> None:
    """One quantity's posterior into matplotlib axes ``ax``: its density, HDI, mean and a reference line.

    ``arviz.plot_posterior`` on 0.x; on 1.x arviz-plots' ``plot_dist`` (with ``add_lines`` for
    the reference) drawn into the same axes. The caller sets the title.

    Examples
    --------
    >>> import numpy as np, matplotlib
    >>> from matplotlib.figure import Figure
    >>> ax = Figure().subplots()
    >>> plot_posterior(np.random.default_rng(0).normal(size=500), ax, 0.95, 0.0)
    >>> len(ax.lines) > 0
    True
    """
    x = np.asarray(draws, dtype=float).reshape(-1)
    if ARVIZ_1:
        import arviz as az
        import xarray as xr
        from arviz_plots import PlotCollection

        ds = xr.Dataset({"x": (("sample",), x)})
        # every variable into the one given axes: the collection's figure and plot are these
        viz = xr.DataTree(xr.Dataset({"figure": np.array(ax.figure, dtype=object), "plot": np.array(ax, dtype=object)}))
        pc = PlotCollection(ds, viz, backend="matplotlib")
        az.plot_dist(
            ds,
            sample_dims=["sample"],
            plot_collection=pc,
            kind="kde",
            point_estimate="mean",
            ci_kind="hdi",
            ci_prob=prob,
            visuals={"title": False},
        )
        az.add_lines(pc, ref_val, visuals={"ref_line": {"color": "C1"}})
        # what plot_posterior of ArviZ 0.x writes beside its reference line: the share of draws on each side
        below = float(np.mean(x < ref_val))
        ax.text(0.5, 0.7, f"{below:.1%} <{ref_val:g}< {1 - below:.1%}", transform=ax.transAxes, ha="center", color="C1")
        ax.locator_params(axis="x", nbins=5)  # arviz-plots' style ticks more densely than a small panel holds
        return
    import arviz as az

    with _arviz_without_numba():
        az.plot_posterior(x, ax=ax, hdi_prob=prob, ref_val=ref_val, point_estimate="mean")


# ---------------------------------------------------------------------------------------------
# PyMC's and nutpie's private or changed parts

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


def chain_seed(seed) -> int | None:
    """The seed nutpie receives from ``pm.sample(random_seed=seed, nuts_sampler="nutpie")``.

    PyMC's private ``pymc.sampling.mcmc._get_seeds_per_chain`` (PyMC 5.16 - 6.4), so that the
    fast path draws what ``pm.sample`` would.

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

    nutpie 0.16.9 added the field ``shared_var_keys`` (the shared variables' keys in the user
    data; none here: the fast density's data are in ``user_data`` itself).

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
    cls = compiled_model_class()
    n_dim = sum(int(np.prod(s)) for s in shapes.values())
    optional = {"shared_var_keys": {}} if "shared_var_keys" in {f.name for f in dataclasses.fields(cls)} else {}
    return cls(
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
        **optional,
    )


def nutpie_options() -> dict:
    """``nutpie.sample``'s argument for the low-rank modified mass matrix adaptation dagmed uses.

    ``low_rank_modified_mass_matrix=True`` up to nutpie 0.16.8, ``adaptation="low_rank"`` from
    0.16.9 (the old name is deprecated there).

    Examples
    --------
    >>> nutpie_options() in ({"adaptation": "low_rank"}, {"low_rank_modified_mass_matrix": True}, {})
    True
    """
    if importlib.util.find_spec("nutpie") is None:
        return {}
    import nutpie

    params = inspect.signature(nutpie.sample).parameters
    return {"adaptation": "low_rank"} if "adaptation" in params else {"low_rank_modified_mass_matrix": True}


def draw_mode():
    """The PyTensor mode that forward-samples a model with NumPy's samplers, on either stack.

    PyTensor 3 (PyMC 6) compiles with numba by default, whose Bernoulli sampler takes other
    values than NumPy's from the same generator: the same seed would simulate other data on
    the two stacks. The Python linker calls NumPy's samplers (as PyTensor 2's default C linker
    does for random variables), so that :func:`dagmed.simulate` with a seed writes the same
    rows on both (``examples/*/data.csv``). Without graph rewriting: compiling then takes
    milliseconds instead of about 0.6 s (paid by every study worker for every sample size),
    and the rows are the same bytes (compared: every spec in ``specs/`` at seed 4, three_mediators at 1-3).

    Examples
    --------
    >>> draw_mode().linker.__class__.__name__
    'PerformLinker'
    """
    from pytensor.compile.mode import Mode

    return Mode(linker="py", optimizer=None)


def data_groups(model) -> dict:
    """``constant_data`` and ``observed_data`` of ``model`` as ``pm.sample`` makes them: group -> Dataset.

    From ``pymc.backends.arviz`` (PyMC 5.16 - 6.4), whose ``dict_to_dataset`` renamed its
    arguments in PyMC 6 (``library`` -> ``inference_library``, ``default_dims`` -> ``sample_dims``).
    """
    import pymc as pm
    from pymc.backends.arviz import (
        coords_and_dims_for_inferencedata,
        dict_to_dataset,
        find_constants,
        find_observations,
    )

    coords, dims = coords_and_dims_for_inferencedata(model)
    kwargs = dict(inference_library=pm, sample_dims=[]) if PYMC_6 else dict(library=pm, default_dims=[])
    return {
        group: dict_to_dataset(find(model), coords=coords, dims=dims, **kwargs)
        for group, find in (("constant_data", find_constants), ("observed_data", find_observations))
    }
