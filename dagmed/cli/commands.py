"""Every ``dagmed`` command: ``check``, ``run`` (options from flags and ``--config`` YAML,
flags win), ``fmt``, ``simulate``, ``plot``, the studies ``power`` and ``calibrate``, and ``sensitivity``.

Each ``cmd_*`` takes the parsed arguments and returns the exit code; errors are raised as
:class:`~dagmed.errors.DagmedError` and reported by :func:`dagmed.cli.main`. PyMC is
imported only by the commands that fit or draw a model (the lazy imports below), so that
``dagmed check`` stays fast.
"""

from __future__ import annotations

import gc
import sys
from contextlib import contextmanager
from pathlib import Path

from .. import compat
from ..errors import UsageError
from ..files import check_distinct, check_new_file
from ..fit import implications
from ..graph.analysis import analyse, check
from ..graph.analysis import strict as strict_error
from ..lang import load, parse, parser, resolver
from ..lang.fmt import format_ir
from ..model.ir import ModelIR
from ..report import document, rundir, text
from .config import options


def cmd_check(args) -> int:
    """``dagmed check SPEC``: describe the analysis, then name every problem.

    Parameters
    ----------
    args : argparse.Namespace
        ``spec``: the spec file.

    Returns
    -------
    int
        0 when the mediation analysis is well posed, else the exit code of the first
        problem (each problem is printed to stderr).

    Examples
    --------
    >>> import argparse, tempfile
    >>> spec = Path(tempfile.mkdtemp()) / "s.dag"
    >>> _ = spec.write_text("treatment t\\noutcome y\\nt -> m -> y\\nt -> y\\nm, y ~ bernoulli\\n")
    >>> cmd_check(argparse.Namespace(spec=spec))
    spec:         .../s.dag
    treatment:    t
    mediators:    m
    ...
    ok:           the mediation analysis is well posed
    0
    """
    analysis = analyse(load(args.spec))
    ir = ModelIR.from_analysis(analysis)
    print(text.describe(ir))
    strict = bool(getattr(args, "strict", None))
    for problem in analysis.problems:
        print(text.format_error(problem), file=sys.stderr)
    for warning in analysis.warnings:
        print(text.format_error(strict_error(warning)) if strict else text.format_warning(warning), file=sys.stderr)
    if analysis.problems:
        return analysis.problems[0].exit_code
    if strict and analysis.warnings:
        return analysis.warnings[0].exit_code
    if getattr(args, "data", None) is not None:
        from ..model import data  # pandas: only now that there are data to read

        dataset = data.load(ir, args.data)
        print(f"data:         {dataset.source}: {dataset.summary()}")
        tests = implications.verdict(
            dataset,
            strict=bool(args.strict),
            log=lambda m: print(m, file=sys.stderr if m.startswith("dagmed:") else sys.stdout),
        )
        contradicted = sum(t.rejected for t in tests)
        if contradicted:
            print(
                f"ok:           the mediation analysis is well posed on the graph, but the data contradict "
                f"{contradicted} of its implications (see the warnings; --strict makes this an error)"
            )
            return 0
    if analysis.warnings:
        print(
            f"ok:           the mediation analysis is well posed, but {len(analysis.warnings)} name(s) look like "
            f"typos (see the warnings; --strict makes this an error)"
        )
        return 0
    print("ok:           the mediation analysis is well posed")
    return 0


def cmd_fmt(args) -> int:
    """``dagmed fmt SPEC``: print the spec in canonical form (comments are not kept).

    A spec that does not resolve is refused rather than formatted.

    Examples
    --------
    >>> import argparse, tempfile
    >>> spec = Path(tempfile.mkdtemp()) / "s.dag"
    >>> _ = spec.write_text("outcome y  # the outcome\\ntreatment t\\nt->m->y ~ bernoulli\\nt -> y\\n")
    >>> cmd_fmt(argparse.Namespace(spec=spec))
    outcome y
    treatment t
    t -> m -> y ~ bernoulli
    t -> y
    0
    """
    spec_ir = parser.read(args.spec)
    resolver.resolve(spec_ir)  # refuse to format a spec that does not resolve
    sys.stdout.write(format_ir(spec_ir))
    return 0


def cmd_run(args) -> int:
    """``dagmed run SPEC``: fit, print the effect table and the summary paragraph and, with ``--out DIR``, write the files.

    Everything that can be refused (options, the spec, ``--out``) is refused before sampling.
    ``--quiet`` drops the progress lines and bars; warnings still reach stderr, one line each.

    Examples
    --------
    >>> from dagmed.cli import make_parser
    >>> cmd_run(make_parser().parse_args(["run", "s.dag", "--data", "d.csv", "--out", "out"]))  # doctest: +SKIP
    t -> y through m; 20 observations; risk difference, t 1 vs 0; convention: control
    effect        centre     value       sd         95% HDI          P(<0)
    TE            mean      -0.041    0.150  [  -0.325,    0.245]   0.612
    ...
    Treatment t (1 vs 0) changed the probability of y by −0.041 (95% HDI −0.325 to 0.245), an interval ...
    wrote effects.json, effects.csv, regimes.csv, idata.nc, spec.dag, plots/, report.html to out; open out/report.html
    0
    """
    opts = options(args)
    spec = load(args.spec)
    out = opts.pop("out", None)
    if out is not None:
        rundir.check_writable(Path(out))  # refuse before sampling, not after
    quiet = opts.pop("quiet", False)
    plots = not opts.pop("no_plots", False)
    data = opts.pop("data", None)
    sensitivity = _sensitivity_dir(opts.pop("sensitivity", None), out, plots)
    log = _warnings_only if quiet else _stderr
    with _imported_once():
        from ..api import run  # PyMC: only now that there is something to fit

    result = run(spec, data, progressbar=not quiet, log=log, **opts)
    doc = document.effects_document(result)
    print(text.format_table(result, see="effects.csv" if out is not None else None))
    for line in text.format_clusters(doc.get("clusters")):
        print(line)
    print(doc["summary"])
    if out is None:
        return 0
    extra = None
    if plots:
        from ..fit import sampling  # PyMC, imported above by run

        log("predictive checks: prior and posterior predictive draws")
        sampling.predictive(result.model, result.idata, seed=result.settings.seed, progressbar=not quiet)

        def extra(tmp: Path) -> None:
            _pictures_and_report(tmp, result.ir, result.idata, doc, log, progressbar=not quiet, sensitivity=sensitivity)

    rundir.write(result, out, extra=extra)
    written = list(rundir.FILES) + (["plots/", "report.html"] if plots else [])
    report = f"; open {Path(out) / 'report.html'}" if plots else ""
    print(f"wrote {', '.join(written)} to {out}{report}")
    return 0


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr)


def _warnings_only(msg: str) -> None:
    """``--quiet``'s log: progress is dropped, a warning (R-hat, ESS, divergences, prior-data conflict,
    a contradicted implication, a likely typo) still reaches stderr, one line each."""
    if msg.startswith("dagmed: warning:"):
        _stderr(" ".join(msg.split("\n")))


@contextmanager
def _imported_once():
    """Import without the cyclic garbage collector, then leave what was imported out of later collections.

    Importing PyMC makes about a million objects that live as long as the process: the
    collector's passes over them, during the import and in every later full collection, cost
    about half a second of a run and free nothing.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def _sensitivity_dir(directory, out, plots: bool) -> Path | None:
    """``--sensitivity DIR``: a finished ``dagmed sensitivity`` directory for report.html, checked before sampling."""
    if directory is None:
        return None
    if out is None or not plots:
        raise UsageError("--sensitivity adds a section to report.html: it needs --out, and not --no-plots")
    directory = Path(directory)
    if not (directory / "tipping.csv").is_file():
        raise UsageError(f"--sensitivity {directory}: no tipping.csv there; write it with 'dagmed sensitivity --out'")
    return directory


def _pictures_and_report(run_dir: Path, ir, idata, doc, log, progressbar: bool = True, sensitivity=None) -> None:
    from ..report import html, plots  # matplotlib and PyMC: only now that there is something to draw

    log("plots: drawing the pictures and report.html")
    plots.draw_all(run_dir, ir, idata, doc, log=log, progressbar=progressbar)
    page = html.render(doc, text.describe(ir), run_dir / "plots", sensitivity)
    (run_dir / "report.html").write_text(page, encoding="utf-8")


def cmd_plot(args) -> int:
    """``dagmed plot DIR``: redraw the pictures and the report of a finished run without refitting.

    Examples
    --------
    >>> import argparse, tempfile
    >>> cmd_plot(argparse.Namespace(dir=tempfile.mkdtemp()))
    Traceback (most recent call last):
    dagmed.errors.UsageError: ... is not a dagmed run directory: effects.json, idata.nc, spec.dag missing
    """
    import json

    run_dir = Path(args.dir)
    needed = [run_dir / n for n in ("effects.json", "idata.nc", "spec.dag")]
    missing = [p.name for p in needed if not p.exists()]
    if missing:
        raise UsageError(f"{run_dir} is not a dagmed run directory: {', '.join(missing)} missing")
    sensitivity = _sensitivity_dir(getattr(args, "sensitivity", None), run_dir, True)
    doc = json.loads((run_dir / "effects.json").read_text())
    spec = parse((run_dir / "spec.dag").read_text(encoding="utf-8"), str(run_dir / "spec.dag"))
    idata = compat.read_netcdf(run_dir / "idata.nc")
    _pictures_and_report(run_dir, ModelIR.from_analysis(check(spec)), idata, doc, _stderr, sensitivity=sensitivity)
    print(f"wrote plots/ and report.html to {run_dir}")
    return 0


def cmd_simulate(args) -> int:
    """``dagmed simulate SPEC``: draw a dataset from the spec's model; the true effects with ``--truth``.

    Parameter values come from ``--params`` (YAML, names as in the posterior); any not given
    are drawn from their priors (and named on stderr). Existing files are refused before
    anything is drawn.

    Examples
    --------
    >>> import argparse, tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "s.dag").write_text("treatment t\\noutcome y\\nt -> y\\nt, y ~ bernoulli\\n")
    >>> args = argparse.Namespace(spec=d / "s.dag", n=40, seed=1, params=None, out=d / "data.csv", truth=d / "truth.json")
    >>> cmd_simulate(args)  # doctest: +ELLIPSIS
    simulated 40 rows of t, y from .../s.dag (seed 1); every parameter drawn from its prior
    ...
    wrote .../data.csv (40 rows) and .../truth.json
    0
    """
    from ..study.simulate import Clusters, simulate  # PyMC: only now that there is something to draw

    targets = [Path(p) for p in (args.out, args.truth) if p is not None]
    check_distinct(targets)
    for p in targets:
        check_new_file(p)
    clusters = _simulated_clusters(args, Clusters)
    sim = simulate(load(args.spec), args.n, params=args.params, seed=args.seed, clusters=clusters)
    sim.write(args.out, args.truth)
    print(sim.describe())
    print(f"wrote {args.out} ({len(sim.data)} rows)" + (f" and {args.truth}" if args.truth else ""))
    return 0


def _simulated_clusters(args, clusters_class):
    """``--clusters G --cluster-size n [--by-cluster t]``: both or neither of the first two; refused otherwise."""
    count, size, by_cluster = (getattr(args, k, None) for k in ("clusters", "cluster_size", "by_cluster"))
    given = [f for f, v in (("--clusters", count), ("--cluster-size", size)) if v is not None]
    if len(given) == 1:
        missing = "--cluster-size" if given[0] == "--clusters" else "--clusters"
        raise UsageError(f"{given[0]} needs {missing} too (e.g. --clusters 40 --cluster-size 75)")
    if not given:
        if by_cluster:
            raise UsageError("--by-cluster needs --clusters and --cluster-size")
        if args.n is None:
            raise UsageError("--n is required (or --clusters G --cluster-size n for a spec with cluster statements)")
        return None
    by = tuple(v.strip() for v in by_cluster.split(",")) if by_cluster else ()
    return clusters_class(count, size, by)


def cmd_study(args) -> int:
    """``dagmed power SPEC`` and ``dagmed calibrate SPEC``: a simulation study on Dask workers, resumable.

    Every refusal (options, spec, parameters, an ``--out`` of another study) comes before a
    fit starts or a file is written; the workers start first, so that they import PyMC while
    this process does. Ctrl-C stops the study; every finished fit stays in ``results.csv`` and
    the same command resumes it (exit code 5).

    Examples
    --------
    >>> from dagmed.cli import make_parser
    >>> args = make_parser().parse_args(["power", "s.dag", "--n", "150,600", "--reps", "8", "--out", "st"])
    >>> cmd_study(args)  # doctest: +SKIP
    power: 16 fits (n=150, n=600; reps 8) on 2 Dask workers into st
    ...
    wrote study.json, results.csv, summary.csv, power.png to st
    0
    """
    from ..study import engine  # Dask: only now that there is something to fit
    from ..study.store import fits_done

    common = _fit_options(args)
    spec = load(args.spec)
    engine.check_options(args.workers, args.scheduler)
    try:
        # the workers start first and import the fit stage (PyMC, about 2 s) while this
        # process imports it too and checks the study; a refusal then closes them
        with engine.cluster(args.workers, args.scheduler) as client:
            engine.warm(client, "dagmed.study.fitter")
            from ..study import power as study  # PyMC

            sizes = study.parse_sizes(args.n)
            common.update(workers=None, scheduler=client, cluster_size=args.cluster_size)
            if args.by_cluster:
                common["by_cluster"] = tuple(v.strip() for v in args.by_cluster.split(","))
            if args.command == "power":
                result = study.power(spec, args.params, sizes, args.reps, **common)
            else:
                result = study.calibrate(spec, sizes, args.reps, **common)
    except KeyboardInterrupt:
        kept = fits_done(args.out)
        print(
            f"dagmed: interrupted: {kept} finished fit{'s' if kept != 1 else ''} kept in {Path(args.out) / 'results.csv'}; "
            "rerun the same command to resume",
            file=sys.stderr,
        )
        return 5
    print(study.format_summary(result.summary, args.command))
    picture = [] if args.no_plots else ["power.png" if args.command == "power" else "ranks.png"]
    written = [p for p in ("study.json", "results.csv", "summary.csv", *picture) if (Path(args.out) / p).exists()]
    print(f"wrote {', '.join(written)} to {args.out}")
    return 5 if result.missing else 0


def _fit_options(args) -> dict:
    """The engine's and the sampler's options, and the log, of ``power``, ``calibrate`` and ``sensitivity``."""
    quiet = bool(args.quiet)
    sampler = {k: getattr(args, k) for k in ("draws", "tune", "chains", "cores", "target_accept", "sampler")}
    return dict(
        out=args.out,
        seed=args.seed,
        workers=args.workers,
        scheduler=args.scheduler,
        convention=args.convention or "control",
        progressbar=not quiet,
        log=_warnings_only if quiet else _stderr,
        plots=not args.no_plots,
        **sampler,
    )


def cmd_sensitivity(args) -> int:
    """``dagmed sensitivity SPEC``: one fit per grid point of an unmeasured confounder's strength; tipping points.

    Every refusal (options, spec, data, an ``--out`` made otherwise) comes before the first fit.
    Ctrl-C keeps every finished grid point in ``sensitivity.csv``; the same command resumes (exit code 5).

    Examples
    --------
    >>> from dagmed.cli import make_parser
    >>> args = make_parser().parse_args(["sensitivity", "s.dag", "--mediator", "m1", "--strength", "0,2", "--out", "d"])
    >>> args.mediators, args.strength, args.strength_y, args.func.__name__
    (['m1'], '0,2', None, 'cmd_sensitivity')
    """
    with _imported_once():
        from ..study import tipping  # PyMC: only now that there is something to fit

    common = _fit_options(args)
    spec = load(args.spec)
    try:
        results = tipping.sensitivity(
            spec,
            args.data,
            mediators=args.mediators,
            strength=args.strength,
            strength_y=args.strength_y,
            scale=args.scale,
            hdi_prob=args.hdi_prob if args.hdi_prob is not None else tipping.HDI_PROB,
            **common,
        )
    except KeyboardInterrupt:
        kept = tipping.points_done(args.out)
        print(
            f"dagmed: interrupted: {kept} finished grid point{'s' if kept != 1 else ''} kept in "
            f"{Path(args.out) / tipping.RESULTS}; rerun the same command to resume",
            file=sys.stderr,
        )
        return 5
    print(tipping.format_tipping(results))
    written = [
        p
        for p in (tipping.MANIFEST, tipping.RESULTS, tipping.TIPPING, tipping.COEFFICIENTS)
        if (Path(args.out) / p).exists()
    ]
    pictures = [tipping.picture(m) for m in dict.fromkeys(results["mediator"])]
    written += [p for p in pictures if (Path(args.out) / p).exists()]
    print(f"wrote {', '.join(written)} to {args.out}")
    failed = int((results["error"] != "").sum())
    return 5 if failed else 0
