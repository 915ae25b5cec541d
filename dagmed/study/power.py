r"""Simulation studies at scale: power (:func:`power`) and simulation-based calibration (:func:`calibrate`).

For every sample size n and rep, a worker draws a dataset from the spec's own model
(:class:`~dagmed.study.simulate.Simulator`), fits it, decomposes the effects and compares
them with that dataset's true effects (:func:`dagmed.study.fitter.fit_one`). The fits run on
Dask (:mod:`dagmed.study.engine`): a local cluster of single-threaded worker processes, or a
running cluster. The driver (this process) writes each fit's rows as it finishes
(:mod:`dagmed.study.store`), so a study can be stopped and resumed, and then summarises:

* ``power``: per (n, effect), the share of reps whose 95% HDI excludes the null (0 for a
  difference, 1 for a ratio) with its Monte Carlo standard error, the coverage of the 95%
  HDI, the bias and RMSE of the posterior mean;
* ``calibrate``: every parameter drawn from its prior for each rep; per (n, effect) the
  coverage of the 50, 80 and 95% HDIs and the ranks of the truths among the posterior
  draws, which are uniform when the fit is calibrated (Talts et al. 2018).

Examples
--------
>>> import pandas as pd
>>> rows = pd.DataFrame({"n": [100] * 4, "rep": [0, 1, 2, 3], "effect": ["TE"] * 4,
...                      "mean": [0.2, 0.3, 0.1, 0.25], "truth": [0.2] * 4, "covered": [True, True, False, True],
...                      "excludes_zero": [True, True, False, True], "error": [None] * 4})
>>> power_summary(rows)[["n", "effect", "reps", "power", "power_mcse", "coverage"]]
     n effect  reps  power  power_mcse  coverage
0  100     TE     4   0.75    0.216506      0.75
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import UsageError
from ..files import write_atomically
from ..fit import sampling
from ..lang import load
from ..lang.ir import Spec
from ..report import progress
from . import engine, figures, fitter
from .simulate import read_params
from .store import Store


class Study(NamedTuple):
    """What :func:`power` and :func:`calibrate` return: ``results, summary = dagmed.power(...)``.

    Attributes
    ----------
    results : pandas.DataFrame
        One row per (n, rep, effect) of the requested fits (``results.csv``).
    summary : pandas.DataFrame
        One row per (n, effect) (``summary.csv``).
    missing : int
        Requested fits that did not finish (a worker was lost): a rerun does them.
    """

    results: pd.DataFrame
    summary: pd.DataFrame
    missing: int = 0


SAMPLER_KEYS = ("draws", "tune", "chains", "cores", "target_accept", "sampler")


def power(
    spec,
    params=None,
    n=(200, 400, 800),
    reps: int = 100,
    *,
    out=None,
    seed: int | None = None,
    workers: int | None = None,
    scheduler=None,
    convention: str = "control",
    progressbar: bool = True,
    log=None,
    plots: bool = True,
    cluster_size: int | None = None,
    by_cluster=(),
    **sampler,
) -> Study:
    """Power, coverage, bias and RMSE of every effect at each sample size, by simulation.

    For each n in ``n`` and rep ``0 .. reps-1``: simulate from ``spec`` at ``params`` (the
    parameters not given drawn from their priors, anew for each rep, as :func:`dagmed.simulate`
    does), fit, decompose, compare with that dataset's true effects.

    Parameters
    ----------
    spec : Spec, str or path
        A spec (:func:`dagmed.load`) or its file.
    params : dict, str or path, optional
        Parameter values or their YAML file (:func:`dagmed.study.simulate.read_params`).
    n : sequence of int
        Sample sizes.
    reps : int
        Datasets per sample size.
    out : str or path, optional
        Directory for ``study.json``, ``results.csv``, ``summary.csv`` and ``power.png``. An
        existing study directory of the same design is resumed; one of another design is
        refused, naming the difference.
    seed : int, optional
        Every rep's seeds derive from it (:func:`dagmed.study.fitter.rep_seeds`); None picks one,
        recorded in ``study.json`` (a resume without a seed reuses it).
    workers : int, optional
        Local worker processes (default: one per core).
    scheduler : str or distributed.Client, optional
        Address of a running Dask scheduler, ``tcp://host:port``, or a client connected to one
        (left open), instead of a local cluster.
    convention : {"control", "treated"}
    progressbar : bool
        A bar of fits done, with the time remaining, on a terminal's stderr.
    log : callable, optional
        Receives progress lines (default: stderr).
    plots : bool
        Draw ``power.png`` (with ``out``).
    cluster_size : int, optional
        With cluster statements (and only then): rows per cluster. Each n is a number of rows,
        ``n / cluster_size`` clusters, each cluster's intercepts drawn anew for each rep
        (:class:`dagmed.study.simulate.Clusters`, as ``dagmed simulate --clusters``).
    by_cluster : sequence of str
        Nodes without a family drawn once per cluster (the treatment of a cluster-randomised trial).
    **sampler
        draws, tune, chains, cores, target_accept, sampler (as for :func:`dagmed.run`); ``cores``
        defaults to the worker's threads (1).

    Returns
    -------
    Study
        ``results`` and ``summary`` DataFrames.

    Raises
    ------
    UsageError, SpecError, DataError
        Before any fit: a bad option, spec or parameter, named.

    Examples
    --------
    >>> import dagmed
    >>> spec = dagmed.parse("treatment t\\noutcome y\\nt -> y\\nt, y ~ bernoulli\\n")
    >>> results, summary = power(spec, {"y_beta": {"t": 1.0}}, n=[50, 200], reps=4, draws=200, tune=200,
    ...                          chains=2, seed=1, workers=2, progressbar=False)  # doctest: +SKIP
    >>> summary.loc[summary.effect == "TE", ["n", "power", "coverage"]]  # doctest: +SKIP
    >>> power(spec, n=[50], reps=0)
    Traceback (most recent call last):
    dagmed.errors.UsageError: --reps must be a positive integer, got 0
    """
    clusters = (cluster_size, tuple(by_cluster))
    return _study(
        fitter.POWER, spec, params, n, reps, out, seed, workers, scheduler, convention, progressbar, log, plots,
        clusters, sampler,
    )  # fmt: skip


def calibrate(
    spec,
    n: int = 200,
    reps: int = 100,
    *,
    out=None,
    seed: int | None = None,
    workers: int | None = None,
    scheduler=None,
    convention: str = "control",
    progressbar: bool = True,
    log=None,
    plots: bool = True,
    cluster_size: int | None = None,
    by_cluster=(),
    **sampler,
) -> Study:
    """Simulation-based calibration: every parameter drawn from its prior for each rep, then fitted.

    When the fit is right, each effect's true value is a draw from its posterior: its rank
    among the posterior draws is uniform and each HDI covers it as often as its probability
    says. ``results`` adds ``rank``, ``draws`` and ``covered_50``, ``covered_80``,
    ``covered_95``; ``summary`` has per effect ``coverage_50``, ``coverage_80``,
    ``coverage_95``, the mean normalised rank and a chi-square test of the ranks'
    uniformity (``rank_p``). Options as for :func:`power`; ``n`` one size (or several).

    Examples
    --------
    >>> import dagmed
    >>> spec = dagmed.parse("treatment t\\noutcome y\\nt -> y\\nt, y ~ bernoulli\\n")
    >>> results, summary = calibrate(spec, n=100, reps=20, draws=200, chains=2, seed=1)  # doctest: +SKIP
    >>> calibrate(spec, n=0)
    Traceback (most recent call last):
    dagmed.errors.UsageError: --n must be positive integers, got 0
    """
    return _study(
        fitter.CALIBRATE,
        spec,
        None,
        n,
        reps,
        out,
        seed,
        workers,
        scheduler,
        convention,
        progressbar,
        log,
        plots,
        (cluster_size, tuple(by_cluster)),
        sampler,
    )


def parse_sizes(text) -> list[int]:
    """``--n 200,400,800`` -> ``[200, 400, 800]``; refused unless positive integers, each once.

    Examples
    --------
    >>> parse_sizes("600,150"), parse_sizes(300)
    ([150, 600], [300])
    >>> parse_sizes("100,abc")
    Traceback (most recent call last):
    dagmed.errors.UsageError: --n must be positive integers, got '100,abc'
    """
    items = str(text).split(",") if isinstance(text, str) else list(np.atleast_1d(text))
    try:
        sizes = [int(str(x).strip()) for x in items]
    except ValueError:
        raise UsageError(f"--n must be positive integers, got {text!r}") from None
    if not sizes or any(s < 1 for s in sizes):
        raise UsageError(f"--n must be positive integers, got {text!r}")
    return sorted(set(sizes))


def _study(
    mode, spec, params, n, reps, out, seed, workers, scheduler, convention, progressbar, log, plots, clusters, sampler
):
    log = log or (lambda msg: print(msg, file=sys.stderr))
    sizes = parse_sizes(n)
    if isinstance(reps, bool) or not isinstance(reps, (int, np.integer)) or reps < 1:
        raise UsageError(f"--reps must be a positive integer, got {reps!r}")
    engine.check_options(workers, scheduler)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise UsageError(f"--seed must be an integer >= 0, got {seed!r}")
    unknown = sorted(set(sampler) - set(SAMPLER_KEYS))
    if unknown:
        raise UsageError(f"unknown sampling option {unknown[0]!r}; valid options are {', '.join(SAMPLER_KEYS)}")
    if not isinstance(spec, Spec):
        spec = load(spec)
    params_source = None
    if isinstance(params, (str, os.PathLike)):
        params_source, params = str(params), read_params(params)
    options = {k: v for k, v in sampler.items() if v is not None}
    manifest = {
        "command": mode,
        "spec": spec.text,
        "spec_file": spec.source,
        "params": params,
        "params_file": params_source,
        "sampling": _sampling(options),
        "convention": convention,
        "seed": seed,
        "dagmed": __version__,
    }
    cluster_size, by_cluster = clusters
    if cluster_size is not None or by_cluster:  # only then: a study.json of before has neither key
        manifest["cluster_size"], manifest["by_cluster"] = cluster_size, list(by_cluster)
    store_seed = _recorded_seed(out) if seed is None else seed
    manifest["seed"] = store_seed if store_seed is not None else int(np.random.SeedSequence().entropy % 2**31)
    design = fitter.Design(
        mode, spec.text, spec.source, params, options, convention, manifest["seed"], cluster_size, by_cluster
    )
    for size in sizes:  # each n a whole number of clusters
        design.clusters(size)
    fitter.check_design(design, min(sizes))  # every refusal before a fit starts or a file is written
    store = Store(out, manifest, design.columns)
    todo = [(s, r) for r in range(reps) for s in sizes if (s, r) not in store.done]
    total = len(sizes) * reps
    kept = total - len(todo)
    where = f" into {out}" if out is not None else ""
    if kept:
        log(f"{mode}: {kept} of {total} fits done already{where}; {len(todo)} to do")
    missing = 0
    if todo:
        t0 = time.perf_counter()
        with engine.cluster(workers, scheduler) as client:
            nw = engine.n_workers(client)
            log(
                f"{mode}: {len(todo)} fits ({', '.join(f'n={s}' for s in sizes)}; reps {reps}) on "
                f"{nw} Dask worker{'s' if nw != 1 else ''}{engine.where(client)}{where}"
            )
            with progress.progress("fits", total, progressbar, eta=True, done=kept) as advance:

                def finished(task, rows):
                    store.append(rows)
                    advance()

                missing = engine.run_all(client, fitter.fit_one, [(design, s, r) for s, r in todo], finished)
        done = len(todo) - missing
        log(
            f"{mode}: {done} fits in {time.perf_counter() - t0:.1f} s ({(time.perf_counter() - t0) / max(done, 1):.2f} s per fit)"
        )
    results = results_frame(store.rows, design.columns)
    wanted = results["n"].isin(sizes) & (results["rep"] < reps)
    results = results[wanted].sort_values(["n", "rep"], kind="stable").reset_index(drop=True)
    summary = power_summary(results) if mode == fitter.POWER else calibration_summary(results)
    if out is not None:
        _write(Path(out), summary, results, mode, plots)
    if missing:
        log(f"dagmed: warning: {missing} fits did not finish (a worker was lost); rerun the same command to do them")
    return Study(results, summary, missing)


def _sampling(options: dict) -> dict:
    """The sampling options as they will run (defaults filled in, the sampler resolved), for ``study.json``.

    ``cores`` is left out: it changes how fast the chains run, not their draws.
    """
    settings = sampling.SamplerSettings(**options, progressbar=False).as_dict()
    return {k: v for k, v in settings.items() if k not in ("cores", "seed")}


def _recorded_seed(out):
    """The seed of an existing study directory, for a resume without ``--seed``."""
    import json

    path = Path(out) / "study.json" if out is not None else None
    if path is None or not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("seed")
    except (OSError, ValueError):
        return None


def _write(out: Path, summary, results, mode, plots) -> None:
    target = out / "summary.csv"
    target.unlink(missing_ok=True)  # summary.csv is derived from results.csv: made anew each time
    write_atomically(target, summary.to_csv(index=False))
    if not plots or results.empty:
        return
    if mode == fitter.POWER:
        figures.power_figure(summary, out / "power.png")
    elif results["rank"].notna().any():
        figures.ranks_figure(results, out / "ranks.png")


NUMERIC = ("n", "rep", "mean", "sd", "hdi_low", "hdi_high", "truth", "seconds", "divergences", "rhat_max")
BOOLEAN = ("covered", "excludes_zero", *fitter.CALIBRATION_COLUMNS[2:])


def results_frame(rows, columns) -> pd.DataFrame:
    """Rows (from ``results.csv`` as text, or from the workers) as a typed DataFrame.

    Examples
    --------
    >>> results_frame([{"n": "100", "rep": "0", "effect": "TE", "covered": "True", "error": ""}],
    ...               ["n", "rep", "effect", "covered", "error"]).dtypes.astype(str).tolist()
    ['int64', 'int64', 'str', 'boolean', 'object']
    """
    df = pd.DataFrame(list(rows), columns=list(columns))
    for c in df.columns:
        if c in ("n", "rep"):
            df[c] = pd.to_numeric(df[c]).astype("int64")
        elif c in BOOLEAN:
            df[c] = df[c].map(_boolean).astype("boolean")
        elif c in ("effect",):
            df[c] = df[c].astype("str")
        elif c in ("worker", "error"):
            df[c] = df[c].map(
                lambda v: None if v is None or v == "" or (isinstance(v, float) and np.isnan(v)) else str(v)
            )
            df[c] = df[c].astype(object)
        else:
            df[c] = pd.to_numeric(df[c].replace("", np.nan))
    return df


def _boolean(v):
    if v is None or v == "" or (isinstance(v, float) and np.isnan(v)):
        return pd.NA
    if isinstance(v, str):
        return v == "True"
    return bool(v)


def _by_n_effect(results):
    """(n, effect, successful rows, failed fits at n) in the order of the results."""
    failed = results[results["error"].notna()].groupby("n")["rep"].nunique()
    ok = results[results["error"].isna()]
    effects = list(dict.fromkeys(ok["effect"]))
    for n in sorted(results["n"].unique()):
        for e in effects:
            yield int(n), e, ok[(ok["n"] == n) & (ok["effect"] == e)], int(failed.get(n, 0))


def power_summary(results) -> pd.DataFrame:
    """Per (n, effect): reps, failed, power and its Monte Carlo se, coverage, bias, RMSE, the mean truth.

    ``power`` is the share of reps whose 95% HDI excludes the null; its Monte Carlo standard
    error ``sqrt(power (1 - power) / reps)``. ``coverage``: the share whose 95% HDI holds the
    truth. ``bias`` and ``rmse`` of the posterior mean against the truth.
    """
    rows = []
    for n, e, g, failed in _by_n_effect(results):
        k = len(g)
        p = g["excludes_zero"].astype("float").mean() if k else np.nan
        cov = g["covered"].astype("float").mean() if k else np.nan
        err = (g["mean"] - g["truth"]).astype(float)
        rows.append(
            {
                "n": n,
                "effect": e,
                "reps": k,
                "failed": failed,
                "power": p,
                "power_mcse": float(np.sqrt(p * (1 - p) / k)) if k else np.nan,
                "coverage": cov,
                "coverage_mcse": float(np.sqrt(cov * (1 - cov) / k)) if k and np.isfinite(cov) else np.nan,
                "bias": float(err.mean()) if k else np.nan,
                "rmse": float(np.sqrt((err**2).mean())) if k else np.nan,
                "truth_mean": float(g["truth"].mean()) if k else np.nan,
            }
        )
    return pd.DataFrame(rows, columns=POWER_SUMMARY)


POWER_SUMMARY = [
    "n",
    "effect",
    "reps",
    "failed",
    "power",
    "power_mcse",
    "coverage",
    "coverage_mcse",
    "bias",
    "rmse",
    "truth_mean",
]
LEVELS = [f"coverage_{round(100 * p)}" for p in fitter.CALIBRATION_LEVELS]
CALIBRATION_SUMMARY = ["n", "effect", "reps", "failed", *LEVELS, "rank_mean", "rank_p", "bias", "rmse"]


def calibration_summary(results) -> pd.DataFrame:
    """Per (n, effect): reps, failed, coverage of the 50/80/95% HDIs, mean normalised rank, uniformity p, bias, RMSE.

    ``rank_mean`` is the mean of ``(rank + 0.5) / (draws + 1)`` (0.5 when calibrated);
    ``rank_p`` the p-value of a chi-square test that the ranks are uniform over
    :func:`~dagmed.study.figures.rank_bins` bins.
    """
    from scipy.stats import chisquare

    rows = []
    for n, e, g, failed in _by_n_effect(results):
        g = g[g["rank"].notna()]
        k = len(g)
        u = (g["rank"].to_numpy(float) + 0.5) / (g["draws"].to_numpy(float) + 1)
        counts = np.histogram(u, bins=np.linspace(0, 1, figures.rank_bins(k) + 1))[0] if k else []
        err = (g["mean"] - g["truth"]).astype(float)
        rows.append(
            {
                "n": n,
                "effect": e,
                "reps": k,
                "failed": failed,
                **{c: g[f"covered_{c.split('_')[1]}"].astype("float").mean() if k else np.nan for c in LEVELS},
                "rank_mean": float(u.mean()) if k else np.nan,
                "rank_p": float(chisquare(counts).pvalue) if k > 1 else np.nan,
                "bias": float(err.mean()) if k else np.nan,
                "rmse": float(np.sqrt((err**2).mean())) if k else np.nan,
            }
        )
    return pd.DataFrame(rows, columns=CALIBRATION_SUMMARY)


def format_summary(summary, mode: str = fitter.POWER, hide_interactions: bool = True) -> str:
    """The terminal's table: one line per effect, one column per n.

    Power: ``power ± Monte Carlo se`` and the 95% HDI's coverage; calibration: the coverage of
    the 50/80/95% HDIs and the ranks' uniformity p-value. Interaction terms are left to
    ``summary.csv`` unless ``hide_interactions`` is false.

    Examples
    --------
    >>> s = pd.DataFrame({"n": [100, 400], "effect": ["TE", "TE"], "reps": [8, 8], "failed": [0, 0],
    ...                   "power": [0.5, 1.0], "power_mcse": [0.177, 0.0], "coverage": [1.0, 0.875]})
    >>> print(format_summary(s))
    power: P(95% HDI excludes the null) ± Monte Carlo se [coverage of the 95% HDI]; 8 reps per n
    effect         n = 100            n = 400
    TE         0.50±0.18 [1.00]   1.00±0.00 [0.88]
    """
    if summary.empty:
        return "no fits to summarise"
    effects = list(dict.fromkeys(summary["effect"]))
    if hide_interactions:
        effects = [e for e in effects if not e.startswith("INT[")] or effects
    sizes = sorted(summary["n"].unique())
    width = max(len("effect"), *(len(e) for e in effects)) + 2
    reps = sorted(set(int(r) for r in summary["reps"]))
    reps_text = f"{reps[0]} reps per n" if len(reps) == 1 else f"{reps[0]}-{reps[-1]} reps per n"
    failed = int(summary.groupby("n")["failed"].first().sum()) if "failed" in summary else 0
    if failed:
        reps_text += f"; {failed} fits failed (their errors are in results.csv)"
    if mode == fitter.POWER:
        head = f"power: P(95% HDI excludes the null) ± Monte Carlo se [coverage of the 95% HDI]; {reps_text}"

        def cell(r):
            return f"{r['power']:.2f}±{r['power_mcse']:.2f} [{r['coverage']:.2f}]"
    else:
        head = f"calibration: coverage of the 50/80/95% HDIs, and P of uniform ranks; {reps_text}"

        def cell(r):
            return f"{r['coverage_50']:.2f}/{r['coverage_80']:.2f}/{r['coverage_95']:.2f} p={r['rank_p']:.2f}"

    cells = {(e, s): cell(r) for (e, s), r in summary.set_index(["effect", "n"]).iterrows()}
    col = max(len(v) for v in cells.values()) + 3
    lines = [head, f"{'effect':<{width}}" + "".join(f"{f'n = {s}':>{col}}" for s in sizes)]
    for e in effects:
        lines.append(f"{e:<{width}}" + "".join(f"{cells.get((e, s), '-'):>{col}}" for s in sizes))
    hidden = len(set(summary["effect"])) - len(effects)
    if hidden:
        lines.append(f"{hidden} interaction term{'s' if hidden != 1 else ''} not shown; see summary.csv")
    return "\n".join(lines)
