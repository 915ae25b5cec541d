"""The pipeline end to end: ``run(spec, data)`` -> :class:`Result`; ``compile`` and ``load_data`` on the way.

Reads like the pipeline: check -> model IR -> load data -> compile -> sample -> decompose.
Each stage is its own folder (``lang``, ``graph``, ``model``, ``fit``, ``effects``,
``report``); this module only calls them in order.
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import compat
from .effects import clustered as cluster_effects
from .effects import decomposition
from .effects import regimes as regimes_mod
from .effects.kinds import CONVENTIONS, regime_labels
from .errors import UsageError
from .fit import diagnostics, implications, sampling, sensitivity
from .graph.analysis import Analysis, analyse, check
from .graph.analysis import strict as strict_error
from .lang.ir import Spec
from .lang.vocabulary import SCALES
from .model import compiler, names
from .model import data as data_mod
from .model.ir import ModelIR
from .report import document, progress, summary


@dataclass(eq=False)
class Result:
    """Everything a run produced.

    Attributes
    ----------
    idata : arviz.InferenceData or xarray.DataTree
        Posterior, sample stats, observed data; group ``mediation`` holds the draws of
        every effect and regime. An ``xarray.DataTree`` with ArviZ 1 (Python 3.12 and later,
        PyMC 6), an ``arviz.InferenceData`` with ArviZ 0.x (:mod:`dagmed.compat`).
    effects : pandas.DataFrame
        One row per effect (TE, DE, IIE[m], INT[...], DEP, PM[m]): mean, sd, hdi_low,
        hdi_high, p_lt_0.
    regimes : pandas.DataFrame
        One row per regime: t, one column per mediator's t_k, mean, sd, hdi_low, hdi_high.
    model : pymc.Model
    """

    ir: ModelIR
    dataset: data_mod.Dataset
    model: object
    idata: object
    settings: sampling.SamplerSettings
    convention: str
    hdi_prob: float
    effect_draws: dict = field(repr=False)
    regime_draws: np.ndarray = field(repr=False)
    joint_draws: np.ndarray = field(repr=False)  # Ej(t; t*) per draw, indexed [s, t, t*]
    diagnostics: dict = field(default_factory=dict)
    other_effect_draws: dict = field(default_factory=dict, repr=False)  # the other convention's
    implications: list = field(default_factory=list, repr=False)  # implications.ImplicationTest
    sensitivity: list = field(default_factory=list, repr=False)  # sensitivity.Sensitivity
    scale: str = "diff"  # the effects' scale: diff, rr or or
    integration: dict = field(
        default_factory=lambda: {"method": "enumeration", "error": 0.0, "regime_error": 0.0, "tail": 0.0, "nodes": {}}
    )
    clusters: str = "observed"  # with cluster statements: effects over the observed clusters, or in a new one

    @property
    def analysis(self) -> Analysis:
        """The checked analysis the model was built from."""
        return self.ir.analysis

    @property
    def effects_by_convention(self) -> dict[str, dict]:
        """Effect draws in both conventions (same regimes; TE and DE agree), the run's first."""
        other = next(c for c in CONVENTIONS if c != self.convention)
        return {self.convention: self.effect_draws, other: self.other_effect_draws}

    @property
    def effects(self) -> pd.DataFrame:
        return summary.effects_table(self.effect_draws, self.hdi_prob, SCALES[self.scale].null)

    @property
    def regimes(self) -> pd.DataFrame:
        return summary.regimes_table(self.ir.mediators, self.regime_draws, self.hdi_prob)

    @property
    def summary(self) -> str:
        """The paragraph that opens the report: the total effect, the direct effect, each mediator's share."""
        return self.to_dict()["summary"]

    def to_dict(self) -> dict:
        """The ``effects.json`` contract (:func:`dagmed.report.document.effects_document`)."""
        return document.effects_document(self)


def _mediation_group(mediators, effect_draws, table, joint, chains, draws):
    """Effect and regime draws as an xarray Dataset shaped like the posterior."""
    import xarray as xr

    labels = [f"E({t};{','.join(map(str, ts))})" for t, ts in regime_labels(mediators)]
    names = list(effect_draws)
    eff = np.stack([effect_draws[n] for n in names], axis=-1).reshape(chains, draws, len(names))
    reg = table.reshape(chains, draws, len(labels))
    joint_labels = [f"Ej({t};{ts})" for t in (0, 1) for ts in (0, 1)]
    return xr.Dataset(
        {
            "effects": (("chain", "draw", "effect"), eff),
            "regimes": (("chain", "draw", "regime"), reg),
            "joint_regimes": (("chain", "draw", "joint_regime"), joint.reshape(chains, draws, 4)),
        },
        coords={
            "chain": np.arange(chains),
            "draw": np.arange(draws),
            "effect": names,
            "regime": labels,
            "joint_regime": joint_labels,
        },
    )


def _check_convention(convention: str) -> None:
    if convention not in CONVENTIONS:
        raise UsageError(f"unknown convention {convention!r}; valid options are {', '.join(CONVENTIONS)}")


def load_data(spec: Spec, data=None) -> data_mod.Dataset:
    """Load and code the data for ``spec`` (see :func:`dagmed.model.data.load`).

    Parameters
    ----------
    spec : Spec
    data : str, path or pandas.DataFrame, optional
        Overrides the spec's ``data`` statement.

    Examples
    --------
    >>> import dagmed, pandas as pd
    >>> spec = dagmed.parse("treatment t\\noutcome y\\nt -> y ~ bernoulli\\n")
    >>> ds = load_data(spec, pd.DataFrame({"t": [0, 1, 1, None], "y": [1, 0, 1, 1]}))
    >>> ds.n_obs, ds.n_dropped, ds["y"]
    (3, 1, array([1., 0., 1.]))
    """
    return data_mod.load(ModelIR.from_analysis(check(spec)), data)


def compile(spec: Spec, data=None):  # noqa: A001 - the documented API name
    """Compile ``spec`` into a ``pm.Model`` with ``data`` attached.

    The generative model of :func:`dagmed.model.compiler.build` with the data attached by
    :func:`dagmed.model.compiler.attach`.

    Examples
    --------
    >>> import dagmed, pandas as pd
    >>> spec = dagmed.parse("treatment t\\noutcome y\\nt -> y ~ bernoulli\\n")
    >>> model = compile(spec, pd.DataFrame({"t": [0, 1, 1, 0], "y": [1, 0, 1, 0]}))
    >>> sorted(v.name for v in model.free_RVs)
    ['y_beta', 'y_intercept']
    """
    dataset = load_data(spec, data)
    return compiler.attach(compiler.build(dataset.ir, dataset.n_obs), dataset)


def decompose_idata(
    dataset, idata, convention="control", chunk_bytes=regimes_mod.DEFAULT_CHUNK_BYTES, progress=None, scale="diff"
):
    """Marginal regimes, joint regimes and effect draws from a fitted posterior.

    ``dataset`` is the data the posterior was fitted to (:func:`load_data`; it carries the
    model IR). ``progress`` is called with the number of draws done, chunk by chunk.

    Returns ``(table, joint, effects)``: ``table[s, t, t_1..t_K]``, ``joint[s, t, t*]`` and a
    dict of effect draws (:func:`dagmed.effects.decomposition.effects`). Any InferenceData
    (or ArviZ 1 DataTree) with a ``posterior`` group holding the model's parameters works (prior draws too).
    """
    return decomposition.decompose(compat.group(idata, "posterior"), dataset, convention, chunk_bytes, progress, scale)


def run(
    spec: Spec,
    data=None,
    *,
    convention: str = "control",
    hdi_prob: float = summary.HDI_PROB,
    strict: bool = False,
    log=None,
    scale: str | None = None,
    clusters: str | None = None,
    **sampler,
) -> Result:
    """Check, load the data, compile, sample, decompose.

    Parameters
    ----------
    spec : Spec
        From :func:`dagmed.load` or :func:`dagmed.parse`.
    data : str, path or pandas.DataFrame, optional
        Overrides the spec's ``data`` statement.
    convention : {"control", "treated"}
        Effect convention (MATH.md section 3).
    hdi_prob : float
        Probability mass of the reported HDIs.
    log : callable, optional
        Receives progress lines (default: print to stderr).
    strict : bool
        A contradiction between the data and an independence the graph implies, or a name
        that looks like a typo (:func:`dagmed.graph.analysis.typos`), is an error (before
        sampling) instead of a warning.
    scale : {"diff", "rr", "or"}, optional
        The effects' scale (docs/effects.md); the spec's ``scale`` statement when not given,
        else ``diff``. ``or`` needs a binary outcome, ``rr`` one with a positive mean.
    clusters : {"observed", "new"}, optional
        With ``cluster`` statements (docs/clusters.md): the effects over the observed rows with
        their own clusters' intercepts (``observed``, the default), or in a new cluster whose
        intercepts are integrated out (``new``). Refused for a spec without clusters.
    **sampler
        :class:`dagmed.fit.sampling.SamplerSettings` fields: draws, tune, chains, cores, seed,
        target_accept, sampler, progressbar.

    Examples
    --------
    >>> import dagmed
    >>> from dagmed.examples import linear_data
    >>> spec = dagmed.parse("treatment x\\noutcome y\\nx -> m ~ normal\\nx, m -> y ~ normal\\n")
    >>> result = run(spec, linear_data(), draws=500, chains=2, seed=1, progressbar=False, log=lambda m: None)  # doctest: +SKIP
    >>> result.effects.loc[["TE", "DE", "IIE[m]"], ["mean", "hdi_low", "hdi_high"]].round(2)  # doctest: +SKIP
            mean  hdi_low  hdi_high
    TE      0.62     0.48      0.78
    DE      0.34     0.20      0.49
    IIE[m]  0.28     0.16      0.40

    A spec that is not well posed is refused before the data are read:

    >>> run(dagmed.parse("treatment t\\noutcome y\\nt -> m -> y ~ bernoulli\\nt -> y\\n"), "never-read.csv")
    Traceback (most recent call last):
    dagmed.errors.SpecError: <string>:3:1: mediator m has parents but no family; add e.g. 'm ~ bernoulli' ...
    """
    log = log or (lambda msg: print(msg, file=sys.stderr))
    if not 0 < hdi_prob < 1:
        raise UsageError(f"hdi_prob must be between 0 and 1, got {hdi_prob!r}")
    _check_convention(convention)  # before sampling, not after
    settings = sampling.SamplerSettings(**sampler)
    analysis = analyse(spec)
    for w in analysis.warnings:  # before a problem is raised: a typo is often its cause
        log(f"dagmed: warning: {w}")
    if analysis.problems:
        raise analysis.problems[0]
    if strict and analysis.warnings:
        raise strict_error(analysis.warnings[0])
    ir = ModelIR.from_analysis(analysis)
    scale = _scale(ir, scale)
    clusters = _clusters(ir, clusters)
    regimes_mod.check_size(len(ir.mediators), settings.chains * settings.draws)
    dataset = data_mod.load(ir, data)
    data_mod.refuse_unstated_contrast(dataset)  # before sampling: the effects need it
    tests = implications.verdict(dataset, strict, log)
    log(f"data: {dataset.source}: {dataset.summary()}")
    if dataset.clusters:
        over = "a new cluster (intercepts integrated out)" if clusters == "new" else "the observed clusters"
        log(f"clusters: {dataset.cluster_summary()}; effects over {over}")
    outside = data_mod.contrast_outside(dataset)
    if outside:
        log(f"dagmed: warning: {outside}")
    model = compiler.attach(compiler.build(ir, dataset.n_obs), dataset)
    fast = sampling.fast_plan(model, settings, ir, dataset)
    how = " (dagmed's compiled GLM density)" if fast is not None else ""
    log(
        f"sampling: {settings.resolved_sampler()}{how}, {settings.chains} chains x {settings.draws} draws "
        f"({settings.tune} tuning), seed {settings.seed}"
    )
    idata = sampling.sample(model, settings, fast)
    diag = diagnostics.diagnostics(idata)
    for w in diagnostics.warnings_for(diag):
        log(f"dagmed: warning: {w}")
    log(
        f"decomposing: {ir.analysis.n_regimes} regimes over {idata.posterior.sizes['chain'] * idata.posterior.sizes['draw']} draws"
    )
    n_draws = idata.posterior.sizes["chain"] * idata.posterior.sizes["draw"]
    with progress.progress("regimes", n_draws, settings.progressbar) as advance:
        table, joint, effect_draws, accuracy = decomposition.decompose_reporting(
            compat.group(idata, "posterior"), dataset, convention, progress=advance, scale=scale, clusters=clusters
        )
    if accuracy["method"] == "grid":
        log(f"integration: {_integration_line(accuracy)}")
    if "new_cluster" in accuracy:
        new = accuracy["new_cluster"]
        log(
            f"new cluster: Gauss-Hermite, {new['nodes']} nodes in each of {new['dimensions']} dimensions; estimated "
            f"error of the effects {new['error']:.1e} (their change when the nodes are halved)"
        )
    group = _mediation_group(
        ir.mediators, effect_draws, table, joint, idata.posterior.sizes["chain"], idata.posterior.sizes["draw"]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "mediation" is not an ArviZ schema group
        compat.set_group(idata, "mediation", group)
    other = next(c for c in CONVENTIONS if c != convention)
    other_draws = decomposition.effects(table, ir.mediators, other, joint=joint, scale=scale)
    sens = _prior_sensitivity(idata, effect_draws, model, ir, log)
    return Result(
        ir,
        dataset,
        model,
        idata,
        settings,
        convention,
        hdi_prob,
        effect_draws,
        table,
        joint,
        diag,
        other_draws,
        tests,
        sens,
        scale,
        accuracy,
        clusters,
    )


def _clusters(ir: ModelIR, clusters: str | None) -> str:
    """The clusters the effects are over: the one given (refused without cluster statements), else ``observed``."""
    if clusters is None:
        return "observed"
    if clusters not in cluster_effects.MODES:
        raise UsageError(f"unknown clusters {clusters!r}; valid options are {', '.join(cluster_effects.MODES)}")
    if not ir.cluster_columns:
        raise UsageError(f"clusters {clusters!r}: the spec has no cluster statement, so there are no clusters")
    return clusters


def _integration_line(accuracy: dict) -> str:
    """One line on how the non-binary mediators were integrated and how accurately."""
    nodes = ", ".join(f"{m} {n}" for m, n in accuracy["nodes"].items())
    return (
        f"mediators on grids (levels or quadrature nodes: {nodes or 'none'}); largest change of an effect when the quadrature "
        f"nodes are doubled {accuracy['error']:.1e}; count probability left out at most {accuracy['tail']:.1e}"
    )


def _scale(ir: ModelIR, scale: str | None) -> str:
    """The scale of the effects: the one given, else the spec's, else ``diff``; refused when it does not suit the outcome."""
    if scale is None:
        return ir.spec.scale or "diff"
    if scale not in SCALES:
        raise UsageError(f"unknown scale {scale!r}; valid options are {', '.join(SCALES)}")
    why = SCALES[scale].refusal(ir.outcome, ir.node(ir.outcome).family)
    if why:
        raise UsageError(why)
    return scale


def _prior_sensitivity(idata, effect_draws, model, ir, log) -> list:
    """Power-scaling sensitivity of every parameter and effect; one warning line for those above 0.05."""
    if names.INCOMPLETE_ROWS in model.named_vars:
        # the incomplete rows' likelihood is a potential that psens' log_likelihood group does
        # not hold, and their latent values are not parameters: the scores would mislead
        log(
            "prior sensitivity: not computed under 'missing model' with incomplete rows "
            "(run with 'missing drop' to see it for the complete cases)"
        )
        return []
    log(f"prior sensitivity: power-scaling the prior and the likelihood ({compat.PSENS})")
    with warnings.catch_warnings():  # the log densities compile with pytensor's C backend: its BLAS notice is noise
        warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")
        sens = sensitivity.prior_sensitivity(idata, effect_draws, model=model, ir=ir)
    line = sensitivity.format_sensitivity(sens)
    if line:
        log(f"dagmed: warning: {line}")
    return sens
