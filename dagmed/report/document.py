"""The ``effects.json`` contract: what other tools read from a run, with its schema version.

The version changes when a field is renamed or removed or its meaning changes; new fields
may appear within a version.
"""

from __future__ import annotations

import numpy as np

from ..effects.kinds import CONVENTIONS
from ..fit import implications
from ..lang.vocabulary import SCALES
from ..model.clusters import icc
from ..model.draws import Draws
from . import prose
from .summary import effects_table, json_number, summarize

SCHEMA_VERSION = 1


def effects_document(result) -> dict:
    """The ``effects.json`` contract: what other tools read from a run.

    Parameters
    ----------
    result : dagmed.api.Result

    Returns
    -------
    dict
        ``schema_version`` (:data:`SCHEMA_VERSION`), ``spec``, ``treatment``, ``outcome``, ``mediators``, ``covariates``, ``n_obs``,
        ``n_dropped``, ``n_missing`` (missing values modelled, per column), ``contrast`` (the
        treatment's ``active`` and ``reference`` values: ``t = 1`` and ``t = 0`` of the regimes),
        ``measure`` (what an effect is: ``risk difference``, ``mean difference``, ``risk ratio``,
        ``mean ratio`` or ``odds ratio``), ``summary`` (the paragraph that opens the report:
        :func:`dagmed.report.prose.summary_paragraph`), ``scale`` and ``scale_description`` (``diff``, ``rr`` or ``or``: on a ratio scale each
        effect has ``p_lt_1`` instead of ``p_lt_0``), ``integration`` (how the regimes were
        computed and how accurately: :func:`dagmed.effects.decomposition.decompose_reporting`), ``missing`` (the
        policy; with ``missing model`` also ``incomplete_rows``, each column's ``method``,
        ``likelihood_terms`` and a ``summary``), ``data``, ``convention``, ``convention_description``, ``hdi_prob``,
        ``sampler``, ``effects`` (one entry per effect, with its ``name``), ``regimes`` (one
        entry per marginal regime ``E(t; t_1..t_K)``, with ``t`` and the mediators' ``t_k``),
        ``joint_regimes`` (``Ej(t; t*)``, with ``t`` and ``t_star``), ``mediator_parents``
        (which mediators depend on which: each mediator's mediator parents), ``dependent``,
        ``effects_by_convention`` (the effects in both conventions, the run's own first) and
        ``diagnostics``. Numbers that are not finite are ``None`` (JSON ``null``).

    Examples
    --------
    >>> import dagmed, pandas as pd
    >>> spec = dagmed.parse("treatment t\\noutcome y\\nt -> m -> y\\nt -> y\\nm, y ~ bernoulli\\n")
    >>> df = pd.DataFrame({"t": [0, 1] * 10, "m": [0, 1, 1, 0, 1] * 4, "y": [0, 0, 1, 1] * 5})
    >>> res = dagmed.run(spec, df, draws=50, tune=50, chains=1, seed=1)  # doctest: +SKIP
    >>> doc = effects_document(res)  # doctest: +SKIP
    >>> [e["name"] for e in doc["effects"]], len(doc["regimes"])  # doctest: +SKIP
    (['TE', 'DE', 'IIE[m]', 'DEP', 'PM[m]'], 4)
    """
    a = result.analysis
    doc = _document(result, a)
    doc["summary"] = prose.summary_paragraph(doc)
    return doc


def _document(result, a) -> dict:
    return {
        "schema_version": SCHEMA_VERSION,
        "spec": a.spec.source,
        "treatment": a.treatment,
        "outcome": a.outcome,
        "mediators": list(a.mediators),
        "covariates": list(a.covariates),
        "n_obs": result.dataset.n_obs,
        "n_dropped": result.dataset.n_dropped,
        "n_missing": result.dataset.n_missing,
        "missing": result.dataset.missing_document(),
        "data": result.dataset.source,
        "contrast": dict(zip(("treatment", "active", "reference"), (a.treatment, *result.ir.contrast))),
        "scale": result.scale,
        "measure": prose.measure(result.scale, result.ir.node(a.outcome).family.support.binary),
        "integration": result.integration,
        "scale_description": SCALES[result.scale].description,
        "convention": result.convention,
        "convention_description": CONVENTIONS[result.convention].description,
        "hdi_prob": result.hdi_prob,
        "sampler": result.settings.as_dict(),
        "effects": _effect_rows(result.effects),
        "regimes": [
            {
                "t": int(r["t"]),
                "mediators": {m: int(r[m]) for m in a.mediators},
                **{k: json_number(r[k]) for k in ("mean", "sd", "hdi_low", "hdi_high")},
            }
            for _, r in result.regimes.iterrows()
        ],
        "joint_regimes": [
            {
                "t": t,
                "t_star": ts,
                "label": f"Ej({t};{ts})",
                **{
                    k: json_number(v)
                    for k, v in summarize(result.joint_draws[:, t, ts], result.hdi_prob).items()
                    if k != "p_lt_0"
                },
            }
            for t in (0, 1)
            for ts in (0, 1)
        ],
        "mediator_parents": {m: list(p) for m, p in a.mediator_parents.items()},
        "dependent": not a.independent,
        "effects_by_convention": {
            conv: _effect_rows(effects_table(draws, result.hdi_prob, SCALES[result.scale].null))
            for conv, draws in result.effects_by_convention.items()
        },
        "diagnostics": {k: v if isinstance(v, int) else json_number(v) for k, v in result.diagnostics.items()},
        # the data's verdict on the graph and on the priors (MATH.md 3d)
        "implications": [
            {**t.as_dict(), "message": implications.format_contradiction(t) if t.rejected else None}
            for t in result.implications
        ],
        "implications_summary": implications.format_summary(result.implications) if result.implications else None,
        "prior_sensitivity": [x.as_dict() for x in result.sensitivity],
        "clusters": cluster_document(result),
    }


def cluster_document(result) -> dict | None:
    """The ``clusters`` entry of ``effects.json``: None without ``cluster`` statements.

    ``effects_over`` (``observed``: the observed rows with their own clusters' intercepts;
    ``new``: a new cluster, its intercepts integrated out, with ``integration``: the
    Gauss--Hermite nodes per dimension and the estimated error), ``columns`` (each cluster
    column's number of clusters and smallest and largest size), and ``nodes``: one entry per
    node and column with the posterior summary of the intercepts' ``sd``, the intraclass
    correlation ``icc`` on the linear predictor's scale (None for a count node), and with a
    random slope its ``slope_sd`` and the correlation ``corr``; ``implications`` says how the
    tests of the graph's independencies treat the clusters (as fixed effects).
    """
    ir = result.ir
    if not ir.cluster_columns:
        return None
    draws = Draws.from_posterior(result.idata.posterior, ir)
    nodes = []
    for node in ir.nodes:
        d = draws[node.name]
        if not d.clusters:
            continue
        iccs = icc(node.family, {c: x.sd for c, x in d.clusters.items()}, d.extras)
        for column, c in d.clusters.items():
            entry = {"node": node.name, "column": column, "family": node.family.name}
            entry["sd"] = _summary(c.sd, result.hdi_prob)
            entry["icc"] = None if iccs[column] is None else _summary(iccs[column], result.hdi_prob)
            if c.slope is not None:
                entry.update(slope=c.slope, slope_sd=_summary(c.slope_sd, result.hdi_prob))
                entry["corr"] = _summary(c.corr, result.hdi_prob)
            nodes.append(entry)
    columns = {}
    for column, (codes, labels) in result.dataset.clusters.items():
        sizes = np.bincount(codes, minlength=len(labels))
        columns[column] = {"clusters": len(labels), "smallest": int(sizes.min()), "largest": int(sizes.max())}
    doc = {
        "effects_over": result.clusters,
        "columns": columns,
        "nodes": nodes,
        "implications": "the tests of the independencies the graph implies take each node's clusters as fixed effects",
    }
    if "new_cluster" in result.integration:
        doc["integration"] = result.integration["new_cluster"]
    return doc


def _summary(draws, hdi_prob: float) -> dict:
    return {
        k: json_number(v) for k, v in summarize(draws, hdi_prob).items() if k in ("mean", "sd", "hdi_low", "hdi_high")
    }


def _effect_rows(table) -> list[dict]:
    return [{"name": n, **{k: json_number(v) for k, v in row.items()}} for n, row in table.iterrows()]
