"""The data's verdict on the priors: power-scaling sensitivity of every parameter and effect.

Power-scaling (Kallioinen et al. 2023; ``arviz.psens``, ``arviz.psense`` on ArviZ 1, MATH.md section 3d) raises the prior,
or the likelihood, to a power ``alpha`` near 1 and measures how far the posterior of each
quantity moves, by importance weighting the draws already there: no refit. A prior score
above 0.05 (priorsense's threshold) marks a quantity as prior-sensitive; whether the
likelihood is sensitive too tells the two causes apart:

* prior and likelihood both sensitive: **prior-data conflict** (an informative prior that
  the data pull against);
* prior sensitive, likelihood not: **weak likelihood** (the data say little; the prior
  decides).

Effects (TE, DE, IIE[m], ...) are functions of the parameters: their draws are put beside
the posterior so that they are scored the same way. For the report, :func:`prior_sensitivity`
also gives each quantity's mean when the prior is power-scaled by ``alpha`` = 0.8 and 1.25,
with weights proportional to ``p(theta)^(alpha - 1)``, Pareto-smoothed (``arviz.psislw``).

Examples
--------
A normal mean with a tight prior far from the data, and with a wide prior; the posterior
draws are exact (conjugate), so no sampler is needed:

>>> import numpy as np, xarray as xr
>>> from scipy import stats
>>> from dagmed.compat import inference_data
>>> rng = np.random.default_rng(0)
>>> y = rng.normal(-1.0, 1.0, 30)
>>> def conjugate(prior_mu, prior_sd):
...     precision = 1 / prior_sd**2 + len(y)
...     mean = (prior_mu / prior_sd**2 + y.sum()) / precision
...     mu = rng.normal(mean, precision**-0.5, (2, 2000))
...     loglik = stats.norm.logpdf(y[:, None, None], mu, 1.0).sum(axis=0)
...     return inference_data(
...         posterior=xr.Dataset({"mu": (("chain", "draw"), mu)}),
...         log_prior=xr.Dataset({"mu": (("chain", "draw"), stats.norm.logpdf(mu, prior_mu, prior_sd))}),
...         log_likelihood=xr.Dataset({"y": (("chain", "draw"), loglik)}))
>>> tight = prior_sensitivity(conjugate(2.0, 0.5))
>>> print(format_sensitivity(tight))
prior-sensitive: mu (0.30)
>>> s = tight[0]
>>> s.diagnosis, round(s.likelihood, 2), round(s.mean, 2), round(s.scaled_mean(0.8), 2), round(s.scaled_mean(1.25), 2)
('prior-data conflict', 0.31, -0.76, -0.82, -0.68)
>>> print(format_sensitivity(prior_sensitivity(conjugate(0.0, 10.0))))
None

The moved means estimate the exact ones: the prior Normal(2, 0.5) raised to the power
``alpha`` is Normal(2, 0.5 / sqrt(alpha)), so the posterior mean is then

>>> [round(float(2 * 4 * alpha + y.sum()) / (4 * alpha + len(y)), 2) for alpha in (0.8, 1.0, 1.25)]
[-0.82, -0.75, -0.68]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import compat
from ..model import names
from ..model.clusters import offset
from ..model.compiler import distinct_rows, node_values
from ..model.draws import SAMPLE_DIMS, Draws

THRESHOLD = 0.05  # priorsense's: above it a quantity is sensitive to the power-scaled component
ALPHAS = (0.8, 1.25)  # the power-scalings whose moved means the report shows
PARETO_K_OK = 0.7  # above it importance-weighted means are unreliable (PSIS)
_EFFECTS = "__dagmed_effects__"  # the posterior variable that holds the effect draws

CONFLICT = "prior-data conflict"
WEAK = "weak likelihood"


@dataclass(frozen=True)
class Sensitivity:
    """How much one parameter or effect moves when the prior, or the likelihood, is power-scaled.

    Attributes
    ----------
    name : str
        A parameter (``sub_disorder_intercept``, ``y_beta[t]``) or an effect (``TE``, ``IIE[m]``).
    prior, likelihood : float
        The power-scaling sensitivity (``arviz.psens``) to the prior and to the likelihood;
        NaN when it cannot be computed (draws not finite).
    flagged : bool
        ``prior`` above the threshold: prior-sensitive.
    diagnosis : str or None
        For a flagged quantity: ``"prior-data conflict"`` when the likelihood score is above
        the threshold too, ``"weak likelihood"`` when it is not; None otherwise.
    mean : float
        The posterior mean.
    scaled : tuple of (float, float, float)
        ``(alpha, mean, pareto_k)``: the mean when the prior is raised to the power ``alpha``,
        and the Pareto k of its importance weights (above 0.7 the mean is unreliable).

    Examples
    --------
    >>> s = Sensitivity("TE", 0.08, 0.2, True, "prior-data conflict", -0.061, ((0.8, -0.058, 0.1), (1.25, -0.064, 0.2)))
    >>> s.scaled_mean(1.25)
    -0.064
    >>> s.as_dict()["scaled_means"]
    {'0.8': -0.058, '1.25': -0.064}
    """

    name: str
    prior: float
    likelihood: float
    flagged: bool
    diagnosis: str | None
    mean: float
    scaled: tuple[tuple[float, float, float], ...]

    def scaled_mean(self, alpha: float) -> float:
        """The mean under the prior power-scaled by ``alpha`` (one of those computed)."""
        for a, mean, _ in self.scaled:
            if math.isclose(a, alpha):
                return mean
        raise KeyError(
            f"no power-scaled mean at alpha = {alpha}; computed: {', '.join(str(a) for a, _, _ in self.scaled)}"
        )

    def as_dict(self) -> dict:
        """A JSON-ready record (NaN as None); alphas as text keys."""
        clean = lambda v: None if isinstance(v, float) and not math.isfinite(v) else v  # noqa: E731
        return {
            "name": self.name,
            "prior": clean(self.prior),
            "likelihood": clean(self.likelihood),
            "flagged": self.flagged,
            "diagnosis": self.diagnosis,
            "mean": clean(self.mean),
            "scaled_means": {f"{a:g}": clean(m) for a, m, _ in self.scaled},
            "pareto_k": {f"{a:g}": clean(k) for a, _, k in self.scaled},
        }


def diagnose(prior: float, likelihood: float, threshold: float = THRESHOLD) -> str | None:
    """Why a quantity is prior-sensitive: conflict or weak likelihood; None when it is not.

    Examples
    --------
    >>> diagnose(0.19, 0.12), diagnose(0.19, 0.01), diagnose(0.004, 0.1)
    ('prior-data conflict', 'weak likelihood', None)
    """
    if not prior > threshold:
        return None
    return CONFLICT if likelihood > threshold else WEAK


def log_densities(idata, model, ir):
    """A new container: ``idata``'s posterior with the ``log_prior`` and ``log_likelihood`` groups psens needs.

    ``log_prior`` holds the log prior density of each parameter (the model's free variables
    without the ``obs_id`` dimension) at each draw, ``log_likelihood`` each observed node's
    log likelihood summed over the observations (psens only uses their total): what
    ``pm.compute_log_prior`` and ``pm.compute_log_likelihood`` give, in a fraction of their
    time (they compile the whole model and call it once per draw). ``idata`` is not changed.

    Parameters
    ----------
    idata : arviz.InferenceData or xarray.DataTree
        With the ``posterior`` of ``model``.
    model : pymc.Model
        The model sampled, with its data (:func:`dagmed.compile`).
    ir : dagmed.model.ir.ModelIR
        Its IR: each node's GLM.

    Returns
    -------
    arviz.InferenceData or xarray.DataTree
        As ``idata`` (:func:`dagmed.compat.inference_data`).

    Raises
    ------
    ValueError
        ``model`` has rows with missing values modelled (``missing model``): their
        likelihood is a potential, which the ``log_likelihood`` group does not hold.

    Examples
    --------
    >>> import dagmed, pandas as pd, pymc as pm
    >>> from dagmed.compat import inference_data
    >>> from dagmed.model.ir import ModelIR
    >>> spec = dagmed.parse("treatment t\\noutcome y\\nt -> y ~ bernoulli\\n")
    >>> model = dagmed.compile(spec, pd.DataFrame({"t": [0, 1, 1, 0], "y": [1, 0, 1, 0]}))
    >>> prior = pm.sample_prior_predictive(draws=10, model=model, random_seed=1)
    >>> dens = log_densities(inference_data(posterior=prior.prior), model, ModelIR.from_analysis(dagmed.check(spec)))
    >>> sorted(dens.log_prior.data_vars), sorted(dens.log_likelihood.data_vars), dens.log_likelihood["y"].dims
    (['y_beta', 'y_intercept'], ['y'], ('chain', 'draw'))
    """
    if names.INCOMPLETE_ROWS in model.named_vars:
        raise ValueError(
            "the model has rows with missing values modelled: their likelihood is a potential, "
            "not a log_likelihood group"
        )
    posterior = compat.group(idata, "posterior")
    # the clusters' standardised effects are Normal(0, 1) by construction (non-centred), not a prior
    # anyone chose: power-scaling them would scale the hierarchy itself; their sds' priors are scaled
    params = [
        v
        for v in model.free_RVs
        if not any(d == names.OBS_DIM or names.is_cluster_dim(d) for d in model.named_vars_to_dims.get(v.name, ()))
    ]
    return compat.inference_data(
        posterior=posterior,
        log_prior=_log_prior(posterior, params),
        log_likelihood=_log_likelihood(posterior, model, ir),
    )


def _log_prior(posterior, params):
    """Each parameter's log prior density at every draw: PyMC's own, for all the draws at once.

    ``pm.logp`` of each prior at the array of its draws, evaluated by pytensor's Python
    linker without graph rewriting: compiling takes milliseconds, where the optimised C
    function of ``pm.compute_log_prior`` takes a second, and it is called once, not once
    per draw. The values agree with ``pm.compute_log_prior`` to rounding (tested).
    """
    import pymc as pm
    import pytensor
    import pytensor.tensor as pt
    import xarray as xr
    from pytensor.compile.mode import Mode

    draws = [posterior[v.name].transpose(*SAMPLE_DIMS, ...) for v in params]  # a prior's shape last
    logps = pytensor.function(
        [], [pm.logp(v, pt.constant(d.values)) for v, d in zip(params, draws)], mode=Mode(linker="py", optimizer=None)
    )()
    return xr.Dataset({d.name: d.copy(data=lp) for d, lp in zip(draws, logps)})


def _log_likelihood(posterior, model, ir, chunk: int = 2**22):
    """Each observed node's log likelihood at every draw, summed over the observations (NumPy).

    Every observed node of a dagmed model is a GLM of the IR: its family's log density
    (``Family.logp``) at the linear predictor ``intercept + beta . terms`` and its extra
    parameters. Observations alike (the same terms' values and the same value) have the same
    log likelihood: each distinct one is evaluated once and weighted by its count. The draws
    are taken in blocks of about ``chunk`` draw-observation pairs, so that memory stays bounded.
    """
    import xarray as xr

    chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
    size = chains * draws
    every = Draws.from_posterior(posterior, ir)
    out = {}
    for node in ir.nodes:
        d = every[node.name]
        if node.clusters:
            out[node.name] = (SAMPLE_DIMS, _clustered_loglik(model, node, d, chunk).reshape(chains, draws))
            continue
        design, y, count = distinct_rows(model, node)
        design = design.T
        total = np.empty(size)
        step = max(1, chunk // len(y))
        for s in range(0, size, step):
            block = slice(s, s + step)
            if node.family.vector:  # a categorical node: one predictor per level but the first, last
                eta = d.intercept[block, None, :] + np.einsum("spl,pn->snl", d.beta[block], design)
            else:
                eta = d.intercept[block, None] + d.beta[block] @ design
            extras = {k: x[block, None] for k, x in d.extras.items()}
            total[block] = node.family.logp(y, eta, extras) @ count
        out[node.name] = (SAMPLE_DIMS, total.reshape(chains, draws))
    return xr.Dataset(out, coords={d: posterior[d].values for d in SAMPLE_DIMS})


def _clustered_loglik(model, node, d, chunk: int) -> np.ndarray:
    """A node with cluster effects: its log likelihood per draw over its distinct (terms, clusters, value) rows."""
    columns = {p: node_values(model, p) for p in node.parents}
    slopes = list(dict.fromkeys(c.slope for c in node.clusters if c.slope is not None))
    codes = [np.asarray(model[names.cluster_codes(c.column)].get_value(), dtype=float) for c in node.clusters]
    parts = [*(t.values(columns) for t in node.terms), *codes, *(node_values(model, v) for v in slopes)]
    rows, count = np.unique(np.column_stack([*parts, node_values(model, node.name)]), axis=0, return_counts=True)
    p, k = len(node.terms), len(node.clusters)
    design, y = rows[:, :p].T, rows[:, -1]
    at = {c.column: rows[:, p + j].astype(np.int64) for j, c in enumerate(node.clusters)}
    values = {v: rows[:, p + k + j] for j, v in enumerate(slopes)}
    total = np.empty(d.n_draws)
    step = max(1, chunk // len(y))
    for s in range(0, d.n_draws, step):
        block = slice(s, s + step)
        part = d.draws(block)
        eta = part.intercept[:, None] + part.beta @ design + offset(part.clusters, at, values)
        total[block] = node.family.logp(y, eta, {k_: x[:, None] for k_, x in part.extras.items()}) @ count
    return total


def _effects_array(effect_draws: dict, chains: int, draws: int):
    """Effect draws (each of shape ``(chains * draws,)``, chain-major, or ``(chains, draws)``) as one DataArray."""
    import xarray as xr

    names_ = list(effect_draws)
    try:
        stacked = np.stack([np.asarray(effect_draws[n], dtype=float).reshape(chains, draws) for n in names_], axis=-1)
    except ValueError:
        shapes = {n: np.shape(effect_draws[n]) for n in names_}
        raise ValueError(
            f"effect draws must have {chains} x {draws} values each, like the posterior; got {shapes}"
        ) from None
    return xr.DataArray(stacked, dims=(*SAMPLE_DIMS, "effect"), coords={"effect": names_})


def _quantities(posterior, effects) -> list[tuple[str, str, dict, np.ndarray]]:
    """``(name, variable, selection, draws of shape (chain, draw))`` for every scalar parameter and effect."""
    out = []
    for var in [*posterior.data_vars, *([_EFFECTS] if effects is not None else [])]:
        da = effects if var == _EFFECTS else posterior[var]
        other = [d for d in da.dims if d not in SAMPLE_DIMS]
        if names.OBS_DIM in other or not np.issubdtype(da.dtype, np.number):
            continue
        if any(names.is_cluster_dim(d) for d in other):
            continue  # each cluster's standardised effect: their sd carries the clusters' sensitivity

        da = da.transpose(*SAMPLE_DIMS, *other)
        for index in np.ndindex(*(da.sizes[d] for d in other)):
            sel = {d: da[d].values[i] for d, i in zip(other, index)}
            labels = ", ".join(str(v) for v in sel.values())
            name = labels if var == _EFFECTS else (f"{var}[{labels}]" if other else var)
            out.append((name, var, sel, np.asarray(da.values[(slice(None), slice(None), *index)], dtype=float)))
    return out


def _scores(idata, dataset, component: str) -> dict:
    log_density = f"log_{component}"
    container = compat.inference_data(posterior=dataset, **{log_density: compat.group(idata, log_density)})
    return compat.power_sensitivity(container, component)


def _total(group) -> np.ndarray:
    """A log density group summed over its variables and non-sample dimensions: shape (chain, draw)."""
    return sum(
        v.sum([d for d in v.dims if d not in SAMPLE_DIMS]).transpose(*SAMPLE_DIMS).values
        for v in group.data_vars.values()
    )


def _scaled_weights(log_prior_total: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """Normalized Pareto-smoothed weights ``∝ p(theta)^(alpha - 1)`` over the flattened draws, and their Pareto k."""
    log_w, k = compat.psislw((alpha - 1.0) * log_prior_total.reshape(-1))
    w = np.exp(log_w - np.max(log_w))
    return w / w.sum(), float(k)


def prior_sensitivity(
    idata, effect_draws=None, threshold: float = THRESHOLD, *, model=None, ir=None, alphas=ALPHAS
) -> list[Sensitivity]:
    """Power-scaling sensitivity to the prior and to the likelihood of every parameter and effect.

    Parameters
    ----------
    idata : arviz.InferenceData or xarray.DataTree
        With ``posterior``, ``log_prior`` and ``log_likelihood`` groups; when the last two are
        missing, ``model`` is used to compute them (:func:`log_densities`).
    effect_draws : dict of str to array, optional
        Effect draws (:attr:`dagmed.api.Result.effect_draws`): each ``chains * draws`` values
        in the posterior's order (chain-major), or shaped ``(chains, draws)``.
    threshold : float
        A prior (or likelihood) score above it is sensitive.
    model : pymc.Model, optional
        The model sampled, needed only when ``idata`` lacks the log density groups.
    ir : dagmed.model.ir.ModelIR, optional
        Its IR, needed with ``model``.
    alphas : tuple of float
        The power-scalings of the prior whose moved means are computed.

    Returns
    -------
    list of Sensitivity
        The model's parameters in posterior order (one per coordinate: ``y_beta[t]``; no
        variable along ``obs_id``), then the effects in the order given.

    Raises
    ------
    ValueError
        The log density groups are missing and no ``model`` was given, or the effect draws
        do not match the posterior's shape.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from dagmed.compat import inference_data
    >>> rng = np.random.default_rng(1)
    >>> a = rng.normal(0.0, 1.0, (2, 500))
    >>> lp = -0.5 * a**2                     # a ~ Normal(0, 1), and nothing learnt from the data
    >>> idata = inference_data(posterior=xr.Dataset({"a": (("chain", "draw"), a)}),
    ...                        log_prior=xr.Dataset({"a": (("chain", "draw"), lp)}),
    ...                        log_likelihood=xr.Dataset({"y": (("chain", "draw"), np.zeros((2, 500)))}))
    >>> [(s.name, s.flagged, s.diagnosis) for s in prior_sensitivity(idata, {"TE": 2 * a.reshape(-1)})]
    [('a', True, 'weak likelihood'), ('TE', True, 'weak likelihood')]
    """
    groups = set(compat.groups(idata))
    if not {"log_prior", "log_likelihood"} <= groups:
        if model is None or ir is None:
            raise ValueError(
                "prior sensitivity needs the log_prior and log_likelihood groups; pass the model and its IR "
                "(prior_sensitivity(idata, model=model, ir=ir)) or add them with dagmed.fit.sensitivity.log_densities"
            )
        idata = log_densities(idata, model, ir)
    posterior = compat.group(idata, "posterior")
    chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
    effects = _effects_array(effect_draws, chains, draws) if effect_draws else None
    quantities = _quantities(posterior, effects)
    scored = [(name, var, sel) for name, var, sel, x in quantities if np.all(np.isfinite(x)) and np.ptp(x) > 0]
    dataset = posterior[sorted({var for _, var, _ in scored} - {_EFFECTS})]
    scored_effects = [sel["effect"] for _, var, sel in scored if var == _EFFECTS]
    if scored_effects:
        dataset = dataset.assign({_EFFECTS: effects.sel(effect=scored_effects)})
    scores = {c: _scores(idata, dataset, c) for c in ("prior", "likelihood")} if scored else {}
    weights = [(a, *_scaled_weights(_total(compat.group(idata, "log_prior")), a)) for a in alphas]
    out = []
    for name, var, sel, x in quantities:
        if np.all(np.isfinite(x)) and np.ptp(x) > 0:
            prior, lik = (float(scores[c][var].sel(sel)) for c in ("prior", "likelihood"))
        elif np.all(np.isfinite(x)):  # a constant: nothing moves
            prior = lik = 0.0
        else:
            prior = lik = float("nan")
        flat = x.reshape(-1)
        scaled = tuple((float(a), float(np.dot(w, flat)), k) for a, w, k in weights)
        out.append(
            Sensitivity(
                name, prior, lik, bool(prior > threshold), diagnose(prior, lik, threshold), float(np.mean(flat)), scaled
            )
        )
    return out


def format_sensitivity(sensitivities: list[Sensitivity]) -> str | None:
    """The one warning line naming every prior-sensitive quantity with its score, or None.

    Examples
    --------
    >>> s = [Sensitivity("sub_disorder_intercept", 0.19, 0.3, True, "prior-data conflict", -1.2, ()),
    ...      Sensitivity("sub_disorder_beta[fam_int]", 0.01, 0.3, False, None, -0.4, ()),
    ...      Sensitivity("TE", 0.081, 0.2, True, "prior-data conflict", -0.061, ())]
    >>> format_sensitivity(s)
    'prior-sensitive: sub_disorder_intercept (0.19); TE (0.08)'
    >>> format_sensitivity([Sensitivity("DE", 0.053, 0.13, True, "prior-data conflict", -0.035, ())])
    'prior-sensitive: DE (0.053)'
    >>> format_sensitivity(s[1:2]) is None
    True
    """
    flagged = [s for s in sensitivities if s.flagged]
    if not flagged:
        return None
    return "prior-sensitive: " + "; ".join(f"{s.name} ({_score(s.prior)})" for s in flagged)


def _score(value: float) -> str:
    """Two decimals; three when two would not show the value above the threshold (0.053, not 0.05)."""
    text = f"{value:.2f}"
    return f"{value:.3f}" if float(text) <= THRESHOLD else text
