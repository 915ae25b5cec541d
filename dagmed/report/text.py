"""What the terminal shows: ``dagmed check``'s description, the effect table and one-line errors."""

from __future__ import annotations

import json

import networkx as nx

from ..effects.kinds import CONVENTIONS, IIE, Effect, kind_of
from ..lang.vocabulary import MISSING, SCALES
from . import prose
from .summary import effects_table

# A proportion mediated PM = IIE / TE is a ratio of draws: where TE is near 0 its draws explode,
# so its mean and sd are unstable while its median and HDI are not. The table shows the median.
PM_NOTE = (
    "PM = IIE / TE per draw is shown by its median: a ratio of draws has no stable mean or sd "
    "where TE is near 0 (both are in effects.json)"
)
# On a ratio scale a proportion mediated is the share of the total on the log scale.
PM_NOTE_RATIO = (
    "PM = log IIE / log TE per draw on a ratio scale, shown by its median: a ratio of draws has no stable "
    "mean or sd where TE is near 1 (both are in effects.json)"
)


def pm_note(scale: str) -> str:
    """The note under a table with proportions mediated, for the run's scale.

    Examples
    --------
    >>> pm_note("rr").startswith("PM = log IIE / log TE")
    True
    """
    return PM_NOTE_RATIO if SCALES[scale].ratio else PM_NOTE


def centre(name: str) -> str:
    """Which centre the table shows for effect ``name``: its kind's (the median for a ratio, else the mean).

    Examples
    --------
    >>> centre("TE"), centre("PM[m]")
    ('mean', 'median')
    """
    return kind_of(name).centre


def describe(ir) -> str:
    """What ``dagmed check`` prints: roles, equations and priors, the independence verdict, regimes.

    Parameters
    ----------
    ir : dagmed.model.ir.ModelIR
        Of an analysis from :func:`dagmed.analyse` or :func:`dagmed.check` (problems allowed).

    Returns
    -------
    str
        One ``label: value`` line per item, without a trailing newline.

    Examples
    --------
    >>> import dagmed
    >>> from dagmed.model.ir import ModelIR
    >>> spec = dagmed.parse("treatment t\\noutcome y\\nx -> t, m, y\\nt -> m -> y\\nt -> y\\nt, m, y ~ bernoulli\\n")
    >>> print(describe(ModelIR.from_analysis(dagmed.check(spec))))
    spec:         <string>
    treatment:    t
    mediators:    m
    outcome:      y
    covariates:   x
    equations:
      t ~ bernoulli(logit: x)
      m ~ bernoulli(logit: t, x)
      y ~ bernoulli(logit: t, m, x)
    priors:
      t: intercept normal(mu=0, sigma=1); beta[x] normal(mu=0, sigma=1)
      m: intercept normal(mu=0, sigma=1); beta[t, x] normal(mu=0, sigma=1)
      y: intercept normal(mu=0, sigma=1); beta[t, m, x] normal(mu=0, sigma=1)
    independence: nothing to check (fewer than two mediators)
    regimes:      4 = 2^(1+1)
    missing:      complete cases: rows with a missing value in a modelled column are dropped

    Dependent mediators: the mediator sub-DAG, and what the effects then mean.

    >>> spec = dagmed.parse("treatment t\\noutcome y\\nt -> m1, m2 -> y\\nm1 -> m2\\nt, m1, m2, y ~ bernoulli\\n")
    >>> print(describe(ModelIR.from_analysis(dagmed.analyse(spec))))
    spec:         <string>
    ...
    independence: dependent mediators: m1 -> m2 (exact: marginal and joint regimes by enumeration down the mediator sub-DAG)
    meaning:      IIE[m1] shifts m1's marginal distribution only; what m1 passes on through m2 is in IIE[m2], and what their dependence adds is in DEP
    regimes:      8 = 2^(2+1) marginal, and 4 joint Ej(t; t*)
    ...
    """
    a = ir.analysis
    spec = a.spec
    lines = [
        f"spec:         {spec.source}",
        f"treatment:    {a.treatment}",
        f"mediators:    {', '.join(a.mediators) or '(none)'}",
        f"outcome:      {a.outcome}",
        f"covariates:   {', '.join(a.covariates) or '(none)'}",
    ]
    if a.latent:
        lines.append(f"latent:       {', '.join(a.latent)}")
    if a.other:
        lines.append(
            f"other:        {', '.join(a.other)} (after the treatment, not on a path to the outcome: "
            "modelled, not decomposed)"
        )
    lines.append("equations:")
    lines += [f"  {node.equation()}" for node in ir.nodes]
    lines += _priors(ir)
    lines += _independence(a)
    if ir.cluster_columns:
        lines.append(
            f"clusters:     {', '.join(ir.cluster_columns)} (each row's cluster enters as a covariate: the "
            f"independence above holds given it; docs/clusters.md)"
        )
    joint = "" if a.independent else " marginal, and 4 joint Ej(t; t*)"
    lines.append(f"regimes:      {a.n_regimes} = 2^({len(a.mediators)}+1){joint}")
    if spec.contrast is not None:
        active, reference = spec.contrast
        lines.append(f"contrast:     {a.treatment} = {active:g} (active, t = 1) vs {reference:g} (reference, t = 0)")
    if spec.data:
        lines.append(f"data:         {spec.data}")
    lines.append(f"missing:      {MISSING[spec.missing]}")
    if spec.na:
        codes = ", ".join(json.dumps(c, ensure_ascii=False) for c in spec.na)
        lines.append(f"na:           cells holding {codes} are missing values (blank and NA cells always are)")
    return "\n".join(lines)


def _priors(ir) -> list[str]:
    """The priors in effect for every modelled node, defaults resolved; coefficients grouped by prior."""
    lines = ["priors:"]
    for node in ir.nodes:
        parts = [f"intercept {node.intercept.priors[0]}"]
        if node.beta is not None:
            groups: dict[str, list[str]] = {}
            for term, dist in zip(node.beta.coords, node.beta.priors):
                groups.setdefault(str(dist), []).append(term)
            parts += [f"beta[{', '.join(ts)}] {dist}" for dist, ts in groups.items()]
        parts += [f"{p.kind} {p.priors[0]}" for p in node.extras]
        for c in node.clusters:
            parts += [f"{p.name.removeprefix(node.name + '_')} {p.priors[0]}" for p in c.params]
        lines.append(f"  {node.name}: {'; '.join(parts)}")
    return lines


def _independence(a) -> list[str]:
    """The ``independence:`` verdict; for dependent mediators, their sub-DAG and what the effects mean."""
    if len(a.mediators) < 2:
        return ["independence: nothing to check (fewer than two mediators)"]
    if not a.dependent:
        given = ", ".join([a.treatment, *a.covariates])
        return [f"independence: mediators conditionally independent given {given} (d-separation)"]
    parents = a.mediator_parents
    edges = [(p, m) for m, ps in parents.items() for p in ps]  # spec order, as the equations are shown
    sub = nx.DiGraph(edges)
    sub.add_nodes_from(a.mediators)
    lines = []
    if edges:
        shown = ", ".join(f"{p} -> {m}" for p, m in edges)
        lines.append(
            f"independence: dependent mediators: {shown} "
            "(exact: marginal and joint regimes by enumeration down the mediator sub-DAG)"
        )
    for m in a.mediators:
        below = nx.descendants(sub, m)
        if below:
            through = ", ".join(d for d in a.mediators if d in below)  # spec order, not set order
            # the marginal of a descendant under do(T) already carries what m passes on to it
            iies = ", ".join(Effect(IIE, (d,)).name for d in a.mediators if d in below)
            lines.append(
                f"meaning:      IIE[{m}] shifts {m}'s marginal distribution only; what {m} passes on "
                f"through {through} is in {iies}, and what their dependence adds is in DEP"
            )
    # A pair the sub-DAG does not connect depends through something else (a latent common
    # cause, say), which the checks refuse: show the open path as the culprit.
    component = {m: i for i, comp in enumerate(nx.weakly_connected_components(sub)) for m in comp}
    apart = [(x, y, path) for x, y, path in a.dependent if component[x] != component[y]]
    if apart:
        lines.append("independence: DEPENDENT: " + "; ".join(f"{x}, {y} via {path}" for x, y, path in apart))
    return lines


def format_error(err) -> str:
    """An error as the command line prints it: one located line, then the source line and a caret.

    Parameters
    ----------
    err : dagmed.DagmedError

    Examples
    --------
    >>> from dagmed import SpecSyntaxError
    >>> print(format_error(SpecSyntaxError("unexpected '('", source="s.dag", line=1, column=10, text="t -> y ~ (\\n")))
    dagmed: error: s.dag:1:10: unexpected '('
        t -> y ~ (
                 ^
    """
    excerpt = err.excerpt()
    return f"dagmed: error: {err}" + (f"\n{excerpt}" if excerpt else "")


def format_warning(err) -> str:
    """A warning as the command line prints it: one located line (``dagmed: warning: FILE:LINE:COL: ...``).

    Parameters
    ----------
    err : dagmed.DagmedError
        The problem, located as an error would be.

    Examples
    --------
    >>> from dagmed import SpecError
    >>> print(format_warning(SpecError("`yy` appears only once", source="s.dag", line=5, column=1)))
    dagmed: warning: s.dag:5:1: `yy` appears only once
    """
    return f"dagmed: warning: {err}"


def format_table(result, see: str | None = None) -> str:
    """The effect table as the terminal shows it, under a line naming the analysis.

    Each row says which centre it shows (:func:`centre`): the mean, or for a proportion
    mediated the median, without its sd. The header names what the effects measure and the
    contrast (``risk difference, t 1 vs 0``). Indirect effects, interactions and DEP whose
    whole HDI lies within ±0.001 of no effect are folded into one line
    (:func:`dagmed.report.prose.folded_line`); the files keep every row.

    Parameters
    ----------
    result : dagmed.api.Result
    see : str, optional
        Where the folded rows are (``effects.csv`` when the run writes files).

    Examples
    --------
    >>> import dagmed, pandas as pd
    >>> spec = dagmed.parse("treatment t\\noutcome y\\nt -> m -> y\\nt -> y\\nm, y ~ bernoulli\\n")
    >>> df = pd.DataFrame({"t": [0, 1] * 10, "m": [0, 1, 1, 0, 1] * 4, "y": [0, 0, 1, 1] * 5})
    >>> print(format_table(dagmed.run(spec, df, seed=1)))  # doctest: +SKIP
    t -> y through m; 20 observations; risk difference, t 1 vs 0; convention: control
    effect        centre     value       sd         95% HDI          P(<0)
    TE            mean      -0.041    0.150  [  -0.325,    0.245]   0.612
    ...
    PM[m]         median     0.310        -  [  -2.211,    3.104]   0.402
    PM = IIE / TE per draw is shown by its median: ...
    """
    eff = result.effects
    null = SCALES[result.scale].null
    pct = f"{result.hdi_prob:.0%} HDI"
    width = max(12, *(len(n) for n in eff.index))
    header = f"{'effect':<{width}}  {'centre':<6}  {'value':>8}  {'sd':>7}  {pct:^21}  {f'P(<{null:g})':>6}"
    a = result.analysis
    what = prose.measure(result.scale, result.ir.node(a.outcome).family.support.binary)
    active, reference = result.ir.contrast
    head = (
        f"{a.treatment} -> {a.outcome} through {', '.join(a.mediators) or '(no mediator)'}; "
        f"{result.dataset.n_obs} observations"
        f"{f' ({sum(result.dataset.n_missing.values())} missing values modelled)' if result.dataset.missing else ''}"
        f"; {what}, {prose.contrast_label(a.treatment, active, reference)}"
        f"{'' if result.scale == 'diff' else f' (scale {result.scale}: {SCALES[result.scale].description})'}"
        f"; convention: {result.convention}"
    )
    lines = [head, header, *_folded_rows(eff, width, null, see)]
    if not a.independent:
        # dependent mediators: the conventions differ in more than the level of the indirect
        # effects, so the other one is shown too (TE and DE are the same in both)
        other, draws = list(result.effects_by_convention.items())[1]
        table = effects_table(draws, result.hdi_prob, null)
        lines += [
            "",
            f"convention: {other} ({CONVENTIONS[other].description})",
            *_folded_rows(table.drop(index=["TE", "DE"]), width, null, see),
        ]
    if any(centre(name) == "median" for name in eff.index):
        lines.append(pm_note(result.scale))
    return "\n".join(lines)


def _folded_rows(table, width: int, null: float, see: str | None) -> list[str]:
    """The table's rows, the effects whose HDI lies within ``null ± 0.001`` folded into one line."""
    tiny = [
        name
        for name, r in table.iterrows()
        if prose.negligible({"name": name, "hdi_low": r.hdi_low, "hdi_high": r.hdi_high}, null)
    ]
    line = prose.folded_line(tiny, null, see)
    return _rows(table.drop(index=tiny), width) + ([line] if line else [])


def _rows(table, width: int) -> list[str]:
    out = []
    p_below = table.columns[-1]  # P(< 0) for differences, P(< 1) for ratios
    for name, r in table.iterrows():
        hdi = f"[{r.hdi_low:8.3f}, {r.hdi_high:8.3f}]"
        c = centre(name)
        sd = f"{r.sd:7.3f}" if c == "mean" else "-"
        out.append(f"{name:<{width}}  {c:<6}  {r[c]:8.3f}  {sd:>7}  {hdi:^21}  {r[p_below]:6.3f}")
    return out


def format_clusters(clusters: dict | None) -> list[str]:
    """The cluster sds and intraclass correlations as terminal lines (none without clusters).

    ``clusters`` is the ``clusters`` entry of ``effects.json``
    (:func:`dagmed.report.document.cluster_document`).

    Examples
    --------
    >>> doc = {"effects_over": "observed", "columns": {"school": {"clusters": 40, "smallest": 75, "largest": 75}},
    ...        "nodes": [{"node": "y", "column": "school", "sd": {"mean": 0.8, "hdi_low": 0.6, "hdi_high": 1.0},
    ...                   "icc": {"mean": 0.16, "hdi_low": 0.1, "hdi_high": 0.23}}],
    ...        "implications": "the tests of the independencies the graph implies take each node's clusters as fixed effects"}
    >>> print("\\n".join(format_clusters(doc)))
    clusters: school (40 clusters of 75 rows); effects over the observed clusters, each row with its own cluster's intercepts
      y by school: sd 0.800 [0.600, 1.000], ICC 0.160 [0.100, 0.230]
    """
    if not clusters:
        return []
    cols = "; ".join(
        f"{c} ({x['clusters']} clusters of {x['smallest']}"
        + ("" if x["smallest"] == x["largest"] else f" to {x['largest']}")
        + " rows)"
        for c, x in clusters["columns"].items()
    )
    over = (
        "a new cluster, its intercepts integrated out"
        if clusters["effects_over"] == "new"
        else "the observed clusters, each row with its own cluster's intercepts"
    )
    lines = [f"clusters: {cols}; effects over {over}"]

    def show(x):
        return f"{x['mean']:.3f} [{x['hdi_low']:.3f}, {x['hdi_high']:.3f}]"

    for n in clusters["nodes"]:
        icc = f"ICC {show(n['icc'])}" if n["icc"] else "ICC not defined for a count"
        line = f"  {n['node']} by {n['column']}: sd {show(n['sd'])}, {icc}"
        if n.get("slope"):
            line += f"; slope of {n['slope']}: sd {show(n['slope_sd'])}, correlation {show(n['corr'])}"
        lines.append(line)
    return lines
