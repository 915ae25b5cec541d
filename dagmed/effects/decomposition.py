"""The effects, per posterior draw, from the regimes (MATH.md sections 3 and 3b).

:func:`decompose` is the stage end to end: the posterior read through the model IR
(:class:`~dagmed.model.draws.Draws`), the rows the regimes average over (every row; with
missing covariates, :func:`dagmed.effects.rows.regime_rows`), every regime
(:func:`dagmed.effects.regimes.regimes`) and the effects in a convention (:func:`effects`).

Examples
--------
>>> table = np.array([0.1, 0.2, 0.3, 0.5, 0.4, 0.5, 0.6, 0.9]).reshape(1, 2, 2, 2)
>>> eff = effects(table, ("m1", "m2"))
>>> list(eff)
['TE', 'DE', 'IIE[m1]', 'IIE[m2]', 'INT[m1,m2]', 'DEP', 'PM[m1]', 'PM[m2]']
>>> components(eff)
['DE', 'IIE[m1]', 'IIE[m2]', 'INT[m1,m2]', 'DEP']
"""

from __future__ import annotations

import itertools

import numpy as np

from ..errors import UsageError
from ..lang.vocabulary import SCALES
from ..model import data, missing
from ..model.draws import Draws
from . import clustered as cluster_effects
from . import quadrature, rows
from . import regimes as reg
from .kinds import CONVENTIONS, DE, DEP, IIE, INT, PM, TE, Effect, interaction_sets, kind_of


def effects(
    table: np.ndarray,
    mediators,
    convention: str = "control",
    joint: np.ndarray | None = None,
    scale: str = "diff",
) -> dict[str, np.ndarray]:
    """Effect draws from the regime draws, names as in ``effects.json``.

    TE and DE come from the joint regimes ``Ej`` (``joint[s, t, t*]``; None: independent
    mediators, ``Ej(t; t*) = E(t; t*..t*)``). ``control``: indirect effects and interactions
    at ``t = 0``, DEP the remainder; ``treated`` (intmed): at ``t = 1``, with
    ``DEP = [Ej(1;1) - E(1;1..1)] - [Ej(1;0) - E(1;0..0)]``. In both, TE equals the sum of
    DE, IIE, INT and DEP in every draw.

    On a ratio ``scale`` (``rr``, ``or``: :data:`dagmed.lang.vocabulary.SCALES`) the same
    formulas are taken of the log means (``rr``) or log odds (``or``) and exponentiated:
    TE = Ej(1;1) / Ej(0;0), IIE = E(0;e_k) / E(0;0), an interaction is a ratio of ratios,
    and TE = DE x IIEs x INTs x DEP in every draw. PM is then the share of the log TE,
    log IIE / log TE.

    Examples
    --------
    >>> table = np.array([0.1, 0.2, 0.3, 0.5, 0.4, 0.5, 0.6, 0.9]).reshape(1, 2, 2, 2)
    >>> eff = effects(table, ("m1", "m2"))
    >>> [round(float(eff[n][0]), 3) for n in ("TE", "DE", "IIE[m1]", "IIE[m2]", "INT[m1,m2]", "DEP")]
    [0.8, 0.3, 0.2, 0.1, 0.1, 0.1]
    >>> rr = effects(table, ("m1", "m2"), scale="rr")
    >>> [round(float(rr[n][0]), 3) for n in ("TE", "DE", "IIE[m1]", "IIE[m2]", "INT[m1,m2]")]  # 0.9 / 0.1, ...
    [9.0, 4.0, 3.0, 2.0, 0.833]
    """
    sc = SCALES[scale]
    if joint is None:
        joint = reg.independent_joint(table)
    if sc.ratio:
        with np.errstate(divide="ignore", invalid="ignore"):
            table, joint = sc.transform(table), sc.transform(joint)

    def E(t, on=()):
        ts = tuple(1 if m in on else 0 for m in mediators)
        return table[(slice(None), t, *ts)]

    def Ej(t, ts):
        return joint[:, t, ts]

    everything = tuple(mediators)
    level = CONVENTIONS[convention].level
    out = {Effect(TE).name: Ej(1, 1) - Ej(0, 0), Effect(DE).name: Ej(1, 0) - Ej(0, 0)}
    for m in mediators:
        out[Effect(IIE, (m,)).name] = E(level, (m,)) - E(level, ())
    for s in interaction_sets(mediators):
        total = 0.0
        for r in range(len(s) + 1):
            for u in itertools.combinations(s, r):
                total = total + (-1) ** (len(s) - r) * E(level, u)
        out[Effect(INT, s).name] = total
    te = out[Effect(TE).name]
    if convention == "treated":
        out[Effect(DEP).name] = (Ej(1, 1) - E(1, everything)) - (Ej(1, 0) - E(1, ()))
    else:
        out[Effect(DEP).name] = te - sum(v for name, v in out.items() if kind_of(name).component)
    with np.errstate(divide="ignore", invalid="ignore"):
        for m in mediators:
            out[Effect(PM, (m,)).name] = out[Effect(IIE, (m,)).name] / te
    if sc.ratio:
        out = {name: v if kind_of(name).ratio else np.exp(v) for name, v in out.items()}
    return out


def components(effect_draws: dict[str, np.ndarray]) -> list[str]:
    """The names whose sum is TE: DE, every IIE, every INT, DEP."""
    return [n for n in effect_draws if kind_of(n).component]


def inputs_from(posterior, dataset, clusters: str = "observed") -> reg.RegimeInputs:
    """The regime table's inputs from a posterior and the data it was fitted to.

    The parameters are read through the dataset's model IR (:meth:`Draws.from_posterior`).
    With missing covariates (``missing model``) every row is used: the rows and weights of
    :func:`dagmed.effects.rows.regime_rows`. Rows missing only a treatment, mediator or
    outcome value enter through their covariates like every row. A covariate of known
    distribution (a sensitivity analysis's confounder) is averaged over its two values
    (:func:`dagmed.effects.rows.average_known`).

    Raises
    ------
    UsageError
        The posterior lacks a parameter or latent variable of the model (it was fitted to
        another model or other data).
    DataError
        The treatment is not 0/1 and the spec states no ``contrast``.
    """
    ir = dataset.ir
    if clusters not in cluster_effects.MODES:
        raise UsageError(f"unknown clusters {clusters!r}; valid options are {', '.join(cluster_effects.MODES)}")
    data.refuse_unstated_contrast(dataset)
    known = rows.known_covariates(ir)  # a sensitivity analysis's confounder, missing everywhere by design
    measured = [c for c in ir.covariates if c not in known]
    lay = missing.layout(dataset) if any(c in dataset.missing for c in measured) else None
    try:
        draws = Draws.from_posterior(posterior, ir, latent=lay.latent_rows if lay else ())
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None
    covariates, weights, n_obs = {c: dataset[c] for c in measured}, None, dataset.n_obs
    row_of = np.arange(n_obs)
    if lay is not None:
        covariates, weights, row_of = rows.regime_rows(draws, lay, dataset)
        n_obs = weights.shape[1]
    covariates, weights, expanded = rows.average_known(covariates, weights, n_obs, known)
    row_of = np.tile(row_of, expanded // n_obs)  # a known covariate's copies of the rows: the same clusters
    n_obs = expanded
    inputs = reg.RegimeInputs(
        outcome=draws[ir.outcome],
        mediators=tuple(draws[m] for m in ir.mediators),
        mediator_names=ir.mediators,
        treatment=ir.treatment,
        covariates=covariates,
        n_obs=n_obs,
        weights=weights,
        contrast=ir.contrast,
    )
    if clusters == "observed" and dataset.clusters:
        inputs = cluster_effects.observed(inputs, {c: codes[row_of] for c, (codes, _) in dataset.clusters.items()})
    return inputs


def decompose(
    posterior,
    dataset,
    convention: str = "control",
    chunk_bytes: int = reg.DEFAULT_CHUNK_BYTES,
    progress=None,
    scale: str = "diff",
    clusters: str = "observed",
):
    """Marginal regimes, joint regimes and effect draws from a posterior.

    Parameters
    ----------
    posterior : xarray.Dataset
        The ``posterior`` group of a fit (any draws of the model's parameters: prior draws,
        or one "draw" at the true values, work too).
    dataset : dagmed.model.data.Dataset
        The data, loaded for the model (its ``ir``).
    convention : {"control", "treated"}
    chunk_bytes : int
        Memory for the temporaries of one chunk (:func:`dagmed.effects.regimes.regimes`).
    progress : callable, optional
        Called with the number of draws done after each chunk.
    scale : {"diff", "rr", "or"}
        The effects' scale (:func:`effects`).
    clusters : {"observed", "new"}
        With ``cluster`` statements: the effects over the observed rows with their own
        clusters' intercepts, or in a new cluster, its intercepts integrated out
        (:mod:`dagmed.effects.clustered`). Ignored without clusters.

    Returns
    -------
    (table, joint, effects)
        ``table[s, t, t_1..t_K]``, ``joint[s, t, t*]`` and a dict of effect draws
        (:func:`effects`).

    Raises
    ------
    UsageError
        An unknown convention, or a posterior of another model.
    """
    table, joint, eff, _ = decompose_reporting(posterior, dataset, convention, chunk_bytes, progress, scale, clusters)
    return table, joint, eff


def decompose_reporting(
    posterior,
    dataset,
    convention: str = "control",
    chunk_bytes: int = reg.DEFAULT_CHUNK_BYTES,
    progress=None,
    scale: str = "diff",
    clusters: str = "observed",
):
    """:func:`decompose`, and how the regimes were computed: ``(table, joint, effects, accuracy)``.

    ``accuracy`` is what ``effects.json`` reports as ``integration``: the ``method``
    (``"enumeration"``: exact, every mediator binary or an affine outcome; ``"grid"``:
    :func:`dagmed.effects.quadrature.integrate`), the estimated ``error`` of any effect (on
    the run's scale, PM aside: the largest change when the continuous grids' nodes are
    doubled, on up to 100 draws) and of any regime (``regime_error``), the count mediators'
    ``tail`` left out, and each integrated mediator's grid size (``nodes``).
    """
    if convention not in CONVENTIONS:
        raise UsageError(f"unknown convention {convention!r}; valid options are {', '.join(CONVENTIONS)}")
    inputs = inputs_from(posterior, dataset, clusters)
    new = None
    if clusters == "new" and dataset.clusters:

        def effects_of(few):
            r, _ = _regimes(few, chunk_bytes, None, dataset.ir.mediators, convention, scale)
            return effects(r.table, dataset.ir.mediators, convention, joint=r.joint, scale=scale)

        nodes, error = cluster_effects.choose_nodes(inputs, effects_of)
        new = {"nodes": nodes, "dimensions": cluster_effects.n_dimensions(inputs), "error": error}
        inputs = cluster_effects.new_cluster(inputs, nodes)
    r, accuracy = _regimes(inputs, chunk_bytes, progress, dataset.ir.mediators, convention, scale)
    if new is not None:
        accuracy["new_cluster"] = new
    eff = effects(r.table, dataset.ir.mediators, convention, joint=r.joint, scale=scale)
    return r.table, r.joint, eff, accuracy


def _regimes(inputs, chunk_bytes, progress, mediators, convention, scale):
    """The regimes of ``inputs`` (enumerated, or on the mediators' grids) and how accurately."""
    if quadrature.needed(inputs):
        r = quadrature.integrate(inputs.distinct(), chunk_bytes=chunk_bytes, progress=progress)
        error = 0.0
        if r.check is not None:  # the effects at the nodes used against twice as many, on the same draws
            coarse = effects(r.check[0], mediators, convention, joint=r.check[1], scale=scale)
            fine = effects(r.check[2], mediators, convention, joint=r.check[3], scale=scale)
            with np.errstate(invalid="ignore"):
                gaps = [np.nanmax(np.abs(fine[n] - coarse[n]), initial=0.0) for n in fine if not n.startswith("PM[")]
            error = float(max(gaps, default=0.0))
        accuracy = {"method": "grid", "error": error, "regime_error": r.error, "tail": r.tail, "nodes": r.nodes}
    else:
        r = reg.regimes(inputs, chunk_bytes=chunk_bytes, progress=progress)
        accuracy = {"method": "enumeration", "error": 0.0, "regime_error": 0.0, "tail": 0.0, "nodes": {}}
    return r, accuracy
