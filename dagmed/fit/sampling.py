"""Sampling: nutpie when installed, PyMC's NUTS otherwise; predictive draws.

Examples
--------
>>> settings = SamplerSettings(draws=500, chains=2, seed=1, sampler="pymc")
>>> settings.as_dict()["sampler"], settings.draws
('pymc', 500)
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import warnings
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import numpy as np
import pymc as pm

from .. import compat
from ..errors import SamplingError, UsageError
from ..model import names
from . import fastglm

SAMPLERS = ("auto", "nutpie", "pymc")


@dataclass(frozen=True)
class SamplerSettings:
    """What to sample with; every field is checked when the settings are made.

    Attributes
    ----------
    draws, tune, chains : int
        Draws kept per chain (>= 1), warm-up steps per chain (>= 0), chains (>= 1).
    cores : int, optional
        Chains run in parallel; None lets the sampler decide.
    seed : int, optional
        None is not reproducible.
    target_accept : float
        NUTS' target acceptance rate, in (0, 1).
    sampler : {"auto", "nutpie", "pymc"}
        ``"auto"``: nutpie when installed, else PyMC's NUTS.
    progressbar : bool

    Raises
    ------
    UsageError
        A field out of range or of the wrong type, or an unknown sampler (named).

    Examples
    --------
    >>> SamplerSettings(draws=500, seed=1).draws
    500
    >>> SamplerSettings(draws=0)
    Traceback (most recent call last):
    dagmed.errors.UsageError: draws must be a positive integer, got 0
    """

    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    cores: int | None = None
    seed: int | None = None
    target_accept: float = 0.8
    sampler: str = "auto"
    progressbar: bool = True

    def __post_init__(self):
        for name in ("draws", "tune", "chains"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < (0 if name == "tune" else 1):
                raise UsageError(
                    f"{name} must be a {'non-negative' if name == 'tune' else 'positive'} integer, got {value!r}"
                )
        for name in ("cores", "seed"):  # optional, but when given they are used, so they must be valid
            value = getattr(self, name)
            low = 1 if name == "cores" else 0
            if value is not None and (
                not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low
            ):
                raise UsageError(f"{name} must be an integer >= {low}, got {value!r}")
        if not 0 < self.target_accept < 1:
            raise UsageError(f"target_accept must be between 0 and 1, got {self.target_accept!r}")
        if self.sampler not in SAMPLERS:
            raise UsageError(f"unknown sampler {self.sampler!r}; valid options are {', '.join(SAMPLERS)}")

    def resolved_sampler(self) -> str:
        """The sampler that will run: ``"auto"`` resolved; nutpie asked for but missing is refused.

        Examples
        --------
        >>> SamplerSettings(sampler="pymc").resolved_sampler()
        'pymc'
        """
        has_nutpie = importlib.util.find_spec("nutpie") is not None
        if self.sampler == "nutpie" and not has_nutpie:
            raise UsageError("--sampler nutpie: nutpie is not installed (pip install nutpie, or use --sampler pymc)")
        if self.sampler == "auto":
            return "nutpie" if has_nutpie else "pymc"
        return self.sampler

    def as_dict(self) -> dict:
        """The settings as run (sampler resolved, no progress bar), for ``effects.json``.

        Examples
        --------
        >>> SamplerSettings(sampler="pymc", seed=1).as_dict()
        {'draws': 1000, 'tune': 1000, 'chains': 4, 'cores': None, 'seed': 1, 'target_accept': 0.8, 'sampler': 'pymc'}
        """
        d = asdict(self)
        d.pop("progressbar")
        d["sampler"] = self.resolved_sampler()
        return d


def bar(progressbar: bool) -> bool:
    """Show a progress bar only where someone watches: on a terminal, not in a log file or a pipe.

    Examples
    --------
    >>> bar(False)
    False
    """
    return bool(progressbar) and sys.stderr.isatty()


@contextmanager
def quiet():
    """PyMC's log lines and warnings off for the block; its progress bars stay.

    dagmed says itself what runs ("sampling: ...", "predictive checks: ...") and replaces
    PyMC's convergence warnings with its own (:func:`dagmed.fit.diagnostics.warnings_for`), so PyMC's
    ``Sampling: [...]``, ``Auto-assigning NUTS sampler...`` and the like are noise.

    Examples
    --------
    >>> with quiet():
    ...     logging.getLogger("pymc.sampling.forward").isEnabledFor(logging.INFO)  # "Sampling: [y]" is INFO
    False
    """
    logger = logging.getLogger("pymc")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        logger.setLevel(level)


def sample(model: pm.Model, settings: SamplerSettings, fast=None):
    """Sample the posterior of ``model``.

    Given its :mod:`dagmed.fit.fastglm` plan (:func:`fast_plan`: nutpie, and a model of observed
    GLMs, every model dagmed builds except with rows whose missing values are modelled), it
    is sampled through the compiled and cached log density instead of compiling the model
    with numba on every run: the same posterior, with no compilation wait.

    Parameters
    ----------
    model : pymc.Model
        With its data attached (:func:`dagmed.model.compiler.attach`).
    settings : SamplerSettings
    fast : dagmed.fit.fastglm.FastModel, optional
        ``model``'s plan from :func:`fast_plan`; None samples ``model`` itself.

    Returns
    -------
    arviz.InferenceData or xarray.DataTree
        The installed ArviZ's container (:mod:`dagmed.compat`): posterior, sample stats, observed data and the covariates (``constant_data``, which
        nutpie leaves out); warm-up draws dropped.

    Raises
    ------
    SamplingError
        The sampler failed (its message in one line).

    Examples
    --------
    >>> import dagmed, pandas as pd
    >>> spec = dagmed.parse("treatment t\\noutcome y\\nt -> y ~ bernoulli\\n")
    >>> model = dagmed.compile(spec, pd.DataFrame({"t": [0, 1, 1, 0], "y": [1, 0, 1, 0]}))
    >>> idata = sample(model, SamplerSettings(draws=200, chains=2, seed=1, progressbar=False))  # doctest: +SKIP
    >>> idata.posterior["y_beta"].shape  # doctest: +SKIP
    (2, 200, 1)
    """
    name = settings.resolved_sampler()
    kwargs = dict(
        draws=settings.draws,
        tune=settings.tune,
        chains=settings.chains,
        random_seed=settings.seed,
        target_accept=settings.target_accept,
        progressbar=bar(settings.progressbar),
        nuts_sampler=name,
        model=model,
    )
    if settings.cores is not None:
        kwargs["cores"] = settings.cores
    try:
        with quiet():  # PyMC's own convergence warnings are replaced by dagmed's (see diagnostics())
            if fast is not None:
                idata = fastglm.sample(
                    fast, settings, compat.chain_seed(settings.seed), progressbar=bar(settings.progressbar)
                )
            else:
                idata = pm.sample(**kwargs, compute_convergence_checks=False)
    except Exception as exc:  # the sampler's own failure in one line (Ctrl-C is not an Exception)
        raise SamplingError(f"sampling with {name} failed: {type(exc).__name__}: {str(exc).splitlines()[0]}") from exc
    for group in [g for g in compat.groups(idata) if g.startswith("warmup")]:
        del idata[group]
    # nutpie on a compiled PyMC model keeps the unconstrained values too (``y_alpha_log__``):
    # the posterior holds the model's own variables, as PyMC's sampler and the fast path give it
    values = {model.rvs_to_values[rv].name for rv in model.free_RVs} - {rv.name for rv in model.free_RVs}
    extra = [v for v in idata.posterior.data_vars if v in values]
    if extra:
        compat.set_group(idata, "posterior", compat.group(idata, "posterior").drop_vars(extra))
    if model.data_vars and "constant_data" not in compat.groups(idata):  # nutpie leaves it out
        import xarray as xr

        compat.set_group(
            idata,
            "constant_data",
            xr.Dataset(
                {v.name: ((names.OBS_DIM,), np.asarray(v.get_value())) for v in model.data_vars},
                coords={names.OBS_DIM: np.asarray(model.coords[names.OBS_DIM])},
            ),
        )
    return idata


def fast_plan(model: pm.Model, settings: SamplerSettings, ir=None, dataset=None):
    """The :mod:`dagmed.fit.fastglm` plan when ``settings`` resolve to nutpie and the model qualifies, else None.

    ``dataset`` (the data ``model`` was attached to) lets a model with incomplete rows qualify.

    Examples
    --------
    >>> fast_plan(None, SamplerSettings(sampler="pymc")) is None
    True
    """
    if ir is None or settings.resolved_sampler() != "nutpie" or not fastglm.nutpie_supported():
        return None
    return fastglm.plan(ir, model, dataset)


def predictive(
    model: pm.Model,
    idata,
    seed=None,
    prior_draws: int = 500,
    progressbar=True,
    posterior_draws: int = 600,
) -> None:
    """Add prior and posterior predictive draws of the observed nodes to ``idata`` (in place).

    Parameters
    ----------
    model : pymc.Model
        The model ``idata`` was sampled from, data attached.
    idata : arviz.InferenceData or xarray.DataTree
        With a posterior; gains groups ``prior``, ``prior_predictive`` and
        ``posterior_predictive``.
    seed : int, optional
    prior_draws : int
        Draws from the prior.
    progressbar : bool
    posterior_draws : int
        At most about this many posterior draws are simulated from (every chain thinned
        alike): a picture of simulated means needs hundreds, not thousands.

    Notes
    -----
    The forward-sampling functions are compiled for pytensor's Python linker without graph
    rewriting: compiling then takes milliseconds instead of about a second, and the few
    hundred calls cost the same. The draws are the same (the random generators are called
    alike).

    Examples
    --------
    >>> import dagmed, pandas as pd
    >>> df = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "y": [0.1, 0.9, 2.2, 2.8]})
    >>> model = dagmed.compile(dagmed.parse("treatment x\\noutcome y\\nx -> y ~ normal\\n"), df)
    >>> idata = sample(model, SamplerSettings(draws=100, chains=1, seed=2, progressbar=False))  # doctest: +SKIP
    >>> predictive(model, idata, seed=2, prior_draws=50, progressbar=False)  # doctest: +SKIP
    >>> idata.prior_predictive["y"].shape, idata.posterior_predictive["y"].shape  # doctest: +SKIP
    ((1, 50, 4), (1, 100, 4))
    >>> predictive(model, idata, seed=2, progressbar=False, posterior_draws=20)  # doctest: +SKIP
    >>> idata.posterior_predictive["y"].shape  # doctest: +SKIP
    (1, 20, 4)
    """
    from pytensor.compile.mode import Mode

    fast_compile = {"mode": Mode(linker="py", optimizer=None)}
    with model, quiet():
        prior = pm.sample_prior_predictive(draws=prior_draws, random_seed=seed, compile_kwargs=fast_compile)
        compat.set_group(idata, "prior_predictive", prior.prior_predictive)
        compat.set_group(idata, "prior", prior.prior)
        post = compat.group(idata, "posterior")
        step = max(1, -(-post.sizes["chain"] * post.sizes["draw"] // posterior_draws))
        thinned = post.isel(draw=slice(None, None, step))
        pp = pm.sample_posterior_predictive(
            thinned, random_seed=seed, progressbar=bar(progressbar), compile_kwargs=fast_compile
        )
        compat.set_group(idata, "posterior_predictive", pp.posterior_predictive)
