"""Showing a result: ``dagmed check``'s text, the effect table, ``effects.json`` and ``--out DIR``.

Files are written into a temporary directory beside ``DIR`` and renamed into place at the
end, so a failed or interrupted run leaves no half-written output. Nothing here imports
PyMC; pandas and ArviZ are imported where a table is built, so that ``dagmed check``
(which prints :func:`describe`) stays light.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import sys
from contextlib import contextmanager
from pathlib import Path

import networkx as nx
import numpy as np

from . import decompose
from .errors import UsageError
from .tables import CONVENTIONS, MISSING

FILES = ("effects.json", "effects.csv", "regimes.csv", "idata.nc", "spec.dag")
# Everything a run directory may hold: dagmed replaces such a directory, and nothing else.
RUN_ENTRIES = (*FILES, "report.html", "plots")
HDI_PROB = 0.95
SUMMARY = ("mean", "median", "sd", "hdi_low", "hdi_high", "p_lt_0")
# A proportion mediated PM = IIE / TE is a ratio of draws: where TE is near 0 its draws explode,
# so its mean and sd are unstable while its median and HDI are not. The table shows the median.
PM_NOTE = ("PM = IIE / TE per draw is shown by its median: a ratio of draws has no stable mean or sd "
           "where TE is near 0 (both are in effects.json)")


def centre(name: str) -> str:
    """Which centre the table shows for effect ``name``: ``"median"`` for a proportion mediated, else ``"mean"``.

    Examples
    --------
    >>> centre("TE"), centre("PM[m]")
    ('mean', 'median')
    """
    return "median" if name.startswith("PM[") else "mean"


def describe(a) -> str:
    """What ``dagmed check`` prints: roles, equations, the independence verdict, regimes.

    Parameters
    ----------
    a : dagmed.checks.Analysis
        From :func:`dagmed.analyse` or :func:`dagmed.check`.

    Returns
    -------
    str
        One ``label: value`` line per item, without a trailing newline.

    Examples
    --------
    >>> import dagmed
    >>> spec = dagmed.parse("treatment t\\noutcome y\\nx -> t, m, y\\nt -> m -> y\\nt -> y\\nt, m, y ~ bernoulli\\n")
    >>> print(describe(dagmed.check(spec)))
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
    >>> print(describe(dagmed.analyse(spec)))
    spec:         <string>
    ...
    independence: dependent mediators: m1 -> m2 (exact: marginal and joint regimes by enumeration down the mediator sub-DAG)
    meaning:      IIE[m1] shifts m1's marginal distribution only; what m1 passes on through m2 is in IIE[m2], and what their dependence adds is in DEP
    regimes:      8 = 2^(2+1) marginal, and 4 joint Ej(t; t*)
    ...
    """
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
        lines.append(f"other:        {', '.join(a.other)} (after the treatment, not on a path to the outcome: "
                     "modelled, not decomposed)")
    lines.append("equations:")
    lines += [f"  {a.equation(n)}" for n in a.modelled()]
    lines += _priors(a)
    lines += _independence(a)
    joint = "" if a.independent else " marginal, and 4 joint Ej(t; t*)"
    lines.append(f"regimes:      {a.n_regimes} = 2^({len(a.mediators)}+1){joint}")
    if spec.data:
        lines.append(f"data:         {spec.data}")
    lines.append(f"missing:      {MISSING[spec.missing]}")
    return "\n".join(lines)


def _priors(a) -> list[str]:
    """The priors in effect for every modelled node, defaults resolved; coefficients grouped by prior."""
    from . import graph

    lines = ["priors:"]
    edge_prior = {(e.parent, e.child): e.prior for e in a.spec.edges}
    for n in a.modelled():
        node = a.spec.node_priors(n)
        parts = [f"intercept {node.intercept}"]
        groups: dict[str, list[str]] = {}
        for p in graph.observed_parents(a.graph, n):
            groups.setdefault(str(edge_prior[(p, n)]), []).append(p)
        parts += [f"beta[{', '.join(ps)}] {dist}" for dist, ps in groups.items()]
        parts += [f"{name} {dist}" for name, dist in node.extras]
        lines.append(f"  {n}: {'; '.join(parts)}")
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
        lines.append(f"independence: dependent mediators: {shown} "
                     "(exact: marginal and joint regimes by enumeration down the mediator sub-DAG)")
    for m in a.mediators:
        below = nx.descendants(sub, m)
        if below:
            through = ", ".join(d for d in a.mediators if d in below)  # spec order, not set order
            # the marginal of a descendant under do(T) already carries what m passes on to it
            iies = ", ".join(f"IIE[{d}]" for d in a.mediators if d in below)
            lines.append(f"meaning:      IIE[{m}] shifts {m}'s marginal distribution only; what {m} passes on "
                         f"through {through} is in {iies}, and what their dependence adds is in DEP")
    # A pair the sub-DAG does not connect depends through something else (a latent common
    # cause, say), which the checks refuse: show the open path as the culprit.
    component = {m: i for i, comp in enumerate(nx.weakly_connected_components(sub)) for m in comp}
    apart = [(x, y, path) for x, y, path in a.dependent if component[x] != component[y]]
    if apart:
        lines.append("independence: DEPENDENT: " + "; ".join(f"{x}, {y} via {path}" for x, y, path in apart))
    return lines


def summarize(draws, hdi_prob: float = HDI_PROB) -> dict:
    """Mean, median, sd, HDI and P(< 0) of one quantity's draws.

    Non-finite draws (e.g. a proportion mediated where TE = 0) are dropped first.

    Parameters
    ----------
    draws : array_like
        The posterior draws of one quantity, any shape.
    hdi_prob : float
        Probability mass of the highest-density interval.

    Returns
    -------
    dict
        ``mean``, ``median``, ``sd``, ``hdi_low``, ``hdi_high``, ``p_lt_0``: floats, all NaN
        when no draw is finite.

    Examples
    --------
    >>> s = summarize([-1.0, 0.5, 1.0, 1.5, 2.0, float("nan")], hdi_prob=0.8)
    >>> s["mean"], s["p_lt_0"]
    (0.8, 0.2)
    >>> summarize([float("nan")])["sd"]
    nan
    """
    import arviz as az

    x = np.asarray(draws, dtype=float).reshape(-1)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return dict.fromkeys(SUMMARY, float("nan"))
    lo, hi = az.hdi(x, hdi_prob=hdi_prob)
    return {
        "mean": float(x.mean()),
        "median": float(np.median(x)),
        "sd": float(x.std(ddof=1)) if x.size > 1 else 0.0,
        "hdi_low": float(lo),
        "hdi_high": float(hi),
        "p_lt_0": float((x < 0).mean()),
    }


def effects_table(effect_draws: dict, hdi_prob: float = HDI_PROB):
    """One row per effect: mean, median, sd, hdi_low, hdi_high, p_lt_0 (what ``Result.effects`` is).

    Parameters
    ----------
    effect_draws : dict of str to numpy.ndarray
        Draws of each effect, in the order of the rows.
    hdi_prob : float
        Probability mass of the HDIs.

    Returns
    -------
    pandas.DataFrame
        Indexed by effect name; NaN where no draw is finite.

    Examples
    --------
    >>> import numpy as np
    >>> draws = {"TE": np.array([0.1, 0.2, 0.3]), "DE": np.array([-0.1, 0.0, 0.4])}
    >>> effects_table(draws)[["mean", "p_lt_0"]].round(3)
        mean  p_lt_0
    TE   0.2   0.000
    DE   0.1   0.333
    """
    import pandas as pd

    rows = {name: summarize(d, hdi_prob) for name, d in effect_draws.items()}
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(SUMMARY))


def regimes_table(mediators, regime_draws: np.ndarray, hdi_prob: float = HDI_PROB):
    """One row per regime ``E(t; t_1..t_K)``: t, each mediator's t_k, mean, sd, hdi_low, hdi_high.

    Parameters
    ----------
    mediators : sequence of str
        The K mediators, in the order of the regime axes.
    regime_draws : numpy.ndarray
        Shape ``(S, 2, ..., 2)``: S draws, then the treatment and one axis per mediator.
    hdi_prob : float
        Probability mass of the HDIs.

    Returns
    -------
    pandas.DataFrame
        In the order of :func:`dagmed.decompose.regime_labels`: ``(t, t_1..t_K)`` counting
        in binary, ``t_K`` fastest.

    Examples
    --------
    >>> import numpy as np
    >>> draws = np.array([[[0.2, 0.3], [0.4, 0.5]], [[0.4, 0.5], [0.6, 0.7]]])  # 2 draws, K = 1
    >>> regimes_table(["m"], draws)[["t", "m", "mean"]]
       t  m  mean
    0  0  0   0.3
    1  0  1   0.4
    2  1  0   0.5
    3  1  1   0.6
    """
    import pandas as pd

    flat = regime_draws.reshape(regime_draws.shape[0], -1)
    rows = [
        {"t": t, **dict(zip(mediators, ts)), **summarize(flat[:, j], hdi_prob)}
        for j, (t, ts) in enumerate(decompose.regime_labels(mediators))
    ]
    return pd.DataFrame(rows).drop(columns=["p_lt_0"])


def effects_document(result) -> dict:
    """The ``effects.json`` contract: what other tools read from a run.

    Parameters
    ----------
    result : dagmed.api.Result

    Returns
    -------
    dict
        ``spec``, ``treatment``, ``outcome``, ``mediators``, ``covariates``, ``n_obs``,
        ``n_dropped``, ``n_missing`` (missing values modelled, per column), ``missing`` (the
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
    from . import implications

    a = result.analysis
    return {
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
        "convention": result.convention,
        "convention_description": CONVENTIONS[result.convention],
        "hdi_prob": result.hdi_prob,
        "sampler": result.settings.as_dict(),
        "effects": _effect_rows(result.effects),
        "regimes": [
            {
                "t": int(r["t"]),
                "mediators": {m: int(r[m]) for m in a.mediators},
                **{k: _num(r[k]) for k in ("mean", "sd", "hdi_low", "hdi_high")},
            }
            for _, r in result.regimes.iterrows()
        ],
        "joint_regimes": [
            {"t": t, "t_star": ts, "label": f"Ej({t};{ts})",
             **{k: _num(v) for k, v in summarize(result.joint_draws[:, t, ts], result.hdi_prob).items() if k != "p_lt_0"}}
            for t in (0, 1) for ts in (0, 1)
        ],
        "mediator_parents": {m: list(p) for m, p in a.mediator_parents.items()},
        "dependent": not a.independent,
        "effects_by_convention": {
            conv: _effect_rows(effects_table(draws, result.hdi_prob))
            for conv, draws in result.effects_by_convention.items()
        },
        "diagnostics": {k: v if isinstance(v, int) else _num(v) for k, v in result.diagnostics.items()},
        # the data's verdict on the graph and on the priors (MATH.md 3d)
        "implications": [
            {**t.as_dict(), "message": implications.format_contradiction(t) if t.rejected else None}
            for t in result.implications
        ],
        "implications_summary": implications.format_summary(result.implications) if result.implications else None,
        "prior_sensitivity": [x.as_dict() for x in result.sensitivity],
    }


def _effect_rows(table) -> list[dict]:
    return [{"name": n, **{k: _num(v) for k, v in row.items()}} for n, row in table.iterrows()]


def _num(v):
    """A JSON number: NaN and infinities become None (JSON has no NaN)."""
    v = float(v)
    return None if not np.isfinite(v) else v


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


def format_table(result) -> str:
    """The effect table as the terminal shows it, under a line naming the analysis.

    Each row says which centre it shows (:func:`centre`): the mean, or for a proportion
    mediated the median, without its sd.

    Parameters
    ----------
    result : dagmed.api.Result

    Examples
    --------
    >>> import dagmed, pandas as pd
    >>> spec = dagmed.parse("treatment t\\noutcome y\\nt -> m -> y\\nt -> y\\nm, y ~ bernoulli\\n")
    >>> df = pd.DataFrame({"t": [0, 1] * 10, "m": [0, 1, 1, 0, 1] * 4, "y": [0, 0, 1, 1] * 5})
    >>> print(format_table(dagmed.run(spec, df, seed=1)))  # doctest: +SKIP
    t -> y through m; 20 observations; convention: control
    effect        centre     value       sd         95% HDI          P(<0)
    TE            mean      -0.041    0.150  [  -0.325,    0.245]   0.612
    ...
    PM[m]         median     0.310        -  [  -2.211,    3.104]   0.402
    PM = IIE / TE per draw is shown by its median: ...
    """
    eff = result.effects
    pct = f"{result.hdi_prob:.0%} HDI"
    width = max(12, *(len(n) for n in eff.index))
    header = f"{'effect':<{width}}  {'centre':<6}  {'value':>8}  {'sd':>7}  {pct:^21}  {'P(<0)':>6}"
    a = result.analysis
    head = (
        f"{a.treatment} -> {a.outcome} through {', '.join(a.mediators) or '(no mediator)'}; "
        f"{result.dataset.n_obs} observations"
        f"{f' ({sum(result.dataset.n_missing.values())} missing values modelled)' if result.dataset.missing else ''}"
        f"; convention: {result.convention}"
    )
    lines = [head, header, *_rows(eff, width)]
    if not a.independent:
        # dependent mediators: the conventions differ in more than the level of the indirect
        # effects, so the other one is shown too (TE and DE are the same in both)
        other, draws = list(result.effects_by_convention.items())[1]
        table = effects_table(draws, result.hdi_prob)
        lines += ["", f"convention: {other} ({CONVENTIONS[other]})",
                  *_rows(table.drop(index=["TE", "DE"]), width)]
    if any(centre(name) == "median" for name in eff.index):
        lines.append(PM_NOTE)
    return "\n".join(lines)


def _rows(table, width: int) -> list[str]:
    out = []
    for name, r in table.iterrows():
        hdi = f"[{r.hdi_low:8.3f}, {r.hdi_high:8.3f}]"
        c = centre(name)
        sd = f"{r.sd:7.3f}" if c == "mean" else "-"
        out.append(f"{name:<{width}}  {c:<6}  {r[c]:8.3f}  {sd:>7}  {hdi:^21}  {r.p_lt_0:6.3f}")
    return out


def foreign_files(out: Path) -> list[str]:
    """Entries of an existing directory ``out`` that a dagmed run did not write.

    A run directory holds only :data:`RUN_ENTRIES`, with nothing but PNG pictures in
    ``plots/``; anything else is the user's and must never be replaced.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "effects.json").write_text("{}")
    >>> _ = (d / "notes.txt").write_text("mine")
    >>> foreign_files(d)
    ['notes.txt']
    """
    foreign = [p.name for p in out.iterdir() if p.name not in RUN_ENTRIES]
    plots = out / "plots"
    if plots.is_dir():
        foreign += [f"plots/{p.name}" for p in plots.iterdir() if p.suffix != ".png" or not p.is_file()]
    elif plots.exists():
        foreign.append("plots")
    return sorted(foreign)


def check_writable(out: Path) -> Path:
    """Refuse ``--out DIR`` unless dagmed may write it; return the directory it will be written in.

    ``DIR`` may be absent, empty or a previous run's output (see :func:`foreign_files`).

    Raises
    ------
    UsageError
        ``DIR`` is a file, holds a file dagmed did not write, or its parent is missing or
        not writable.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> check_writable(d / "out") == d.resolve()
    True
    >>> check_writable(d / "no" / "out")
    Traceback (most recent call last):
    dagmed.errors.UsageError: --out .../no/out: the parent directory .../no does not exist
    """
    here = Path.cwd().resolve()
    if out.resolve() == here or out.resolve() in here.parents:
        # a run directory is replaced by a rename, and the directory you are in cannot be
        raise UsageError(f"--out {out}: that is the directory you are in (or one above it); choose a directory "
                         f"inside it, e.g. --out out")
    parent = out.resolve().parent
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a directory")
    if out.is_dir():
        foreign = foreign_files(out)
        if foreign:
            shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
            raise UsageError(
                f"--out {out}: the directory holds files dagmed did not write ({shown}); dagmed replaces only "
                f"an empty directory or a previous run's output: choose another directory"
            )
    if not parent.is_dir():
        raise UsageError(f"--out {out}: the parent directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"--out {out}: cannot write in {parent}")
    return parent


def write(result, out, extra=None) -> Path:
    """Write :data:`FILES` into ``out`` atomically: all of them, or nothing.

    Parameters
    ----------
    result : dagmed.api.Result
    out : str or path
        The run directory; see :func:`check_writable` for which are accepted.
    extra : callable, optional
        ``extra(tmpdir)`` may add more files before the directory is moved into place.

    Examples
    --------
    >>> import dagmed, pandas as pd
    >>> spec = dagmed.parse("treatment t\\noutcome y\\nt -> y ~ bernoulli\\n")
    >>> res = dagmed.run(spec, pd.DataFrame({"t": [0, 1, 1, 0], "y": [1, 0, 1, 0]}))  # doctest: +SKIP
    >>> sorted(p.name for p in write(res, "out").iterdir())  # doctest: +SKIP
    ['effects.csv', 'effects.json', 'idata.nc', 'regimes.csv', 'spec.dag']
    """
    out = Path(out).resolve()  # a symlink's target is what gets replaced, not the link
    parent = check_writable(out)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=parent))
    try:
        (tmp / "effects.json").write_text(json.dumps(effects_document(result), indent=2) + "\n")
        result.effects.rename_axis("name").reset_index().to_csv(tmp / "effects.csv", index=False)
        result.regimes.to_csv(tmp / "regimes.csv", index=False)
        result.idata.to_netcdf(str(tmp / "idata.nc"))
        (tmp / "spec.dag").write_text(result.analysis.spec.text, encoding="utf-8")
        if extra is not None:
            extra(tmp)
        if out.exists():
            check_writable(out)  # again: a file may have appeared while sampling
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=parent))
            out.rename(old / out.name)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


@contextmanager
def progress(label: str, total: float, show: bool):
    """A progress bar on a terminal's stderr that goes away when done; yields ``advance(amount=1)``.

    Nothing is shown when ``show`` is false or stderr is not a terminal (a log file, a pipe).

    Examples
    --------
    >>> with progress("work", 3, show=False) as advance:
    ...     advance()
    """
    if not show or not sys.stderr.isatty():
        yield lambda amount=1: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn(f"{label}:"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda amount=1: bar.advance(task, amount)
