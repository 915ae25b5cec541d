"""The ``dagmed`` command line: the argument parser, :func:`main` and error reporting.

The commands themselves are in :mod:`dagmed.cli.commands`, ``--config`` files in :mod:`dagmed.cli.config`. Exit codes: 0 success, 2 usage or spec syntax, 3 model or assumptions, 4 data,
5 sampling (or interrupted), 1 anything unexpected.
"""

from __future__ import annotations

import argparse
import sys

from .. import __version__
from ..effects.kinds import CONVENTIONS
from ..errors import DagmedError, UsageError
from ..lang.vocabulary import SCALES
from ..report.text import format_error
from . import commands

EXIT_CODES = """exit codes:
  0  success (check: the analysis is well posed)
  2  usage error or spec syntax error
  3  the model or its assumptions are not sound
  4  the data cannot be used
  5  sampling failed or was interrupted
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own usage errors exit 2 with one line, as ours do
        self.print_usage(sys.stderr)
        raise UsageError(message)


def make_parser() -> argparse.ArgumentParser:
    """The ``dagmed`` argument parser: one subcommand per ``cmd_*`` of :mod:`dagmed.cli.commands`.

    A usage error raises :class:`~dagmed.errors.UsageError` (exit code 2) instead of exiting.

    Examples
    --------
    >>> args = make_parser().parse_args(["run", "s.dag", "--draws", "500", "--no-plots"])
    >>> args.func.__name__, args.draws, args.no_plots, args.tune
    ('cmd_run', 500, True, None)
    """
    ap = _Parser(
        prog="dagmed",
        description="Bayesian causal mediation analysis from a DAG spec.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--version", action="version", version=f"dagmed {__version__}")
    ap.add_argument("--debug", action="store_true", help="show Python tracebacks")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    c = sub.add_parser("check", help="parse a spec and check that the mediation analysis is well posed")
    c.add_argument("spec", help="the spec file (.dag)")
    c.add_argument("--data", help="CSV path or URL: also test every independence the graph implies against the data")
    c.add_argument(
        "--strict",
        action="store_true",
        default=None,
        help="a name that looks like a typo of another node's is an error (exit 3), and with --data so is a "
        "contradiction between the data and the graph",
    )
    c.set_defaults(func=commands.cmd_check)

    r = sub.add_parser("run", help="compile, fit and decompose: the effect table and output files")
    r.add_argument("spec", help="the spec file (.dag)")
    r.add_argument("--data", help="CSV path or URL (overrides the spec's data statement)")
    r.add_argument("--config", help="YAML file with any of the options below (flags win)")
    r.add_argument("--draws", type=int, help="posterior draws per chain (default 1000)")
    r.add_argument("--tune", type=int, help="tuning steps per chain (default 1000)")
    r.add_argument("--chains", type=int, help="chains (default 4)")
    r.add_argument("--cores", type=int, help="chains run in parallel (default: all cores)")
    r.add_argument("--seed", type=int, help="random seed (default: none, i.e. not reproducible)")
    r.add_argument("--target-accept", type=float, dest="target_accept", help="NUTS target acceptance (default 0.8)")
    r.add_argument("--sampler", choices=["auto", "nutpie", "pymc"], help="auto: nutpie when installed (default)")
    r.add_argument("--convention", choices=sorted(CONVENTIONS), help="effect convention (default control)")
    r.add_argument("--hdi", type=float, dest="hdi_prob", help="HDI probability (default 0.95)")
    r.add_argument(
        "--scale",
        choices=list(SCALES),
        help="effects as differences (diff, the default), mean or risk "
        "ratios (rr) or odds ratios (or, binary outcome); overrides the spec's scale statement",
    )
    r.add_argument(
        "--clusters",
        choices=["observed", "new"],
        help="with cluster statements: the effects over the observed rows with their own clusters' intercepts "
        "(observed, the default), or in a new cluster drawn from the fitted distribution, its intercepts "
        "integrated out by Gauss-Hermite quadrature with the error reported (new)",
    )
    r.add_argument(
        "--strict",
        action="store_true",
        default=None,
        help="a contradiction between the data and an independence the graph implies, or a name that looks "
        "like a typo of another node's, is an error (exit 3, before sampling) instead of a warning",
    )
    r.add_argument(
        "--out",
        help="directory for effects.json/.csv, regimes.csv, idata.nc, plots/ and report.html; "
        "it must not exist, be empty, or hold a previous run's output (which is replaced): a directory "
        "with any other file is refused, so nothing of yours is overwritten",
    )
    # default=None, not False: an option is taken from the YAML config only when the flag is absent
    r.add_argument(
        "--no-plots",
        action="store_true",
        default=None,
        dest="no_plots",
        help="with --out: skip plots/, report.html and the predictive checks",
    )
    r.add_argument(
        "--quiet",
        action="store_true",
        default=None,
        help="no progress lines or bars; warnings (R-hat, ESS, divergences, prior sensitivity, contradicted "
        "implications, likely typos) still reach stderr",
    )
    r.add_argument(
        "--sensitivity",
        metavar="DIR",
        help="a 'dagmed sensitivity --out DIR' directory: its tipping points and pictures become a section of report.html",
    )
    r.set_defaults(func=commands.cmd_run)

    f = sub.add_parser("fmt", help="print a spec in canonical form (comments are not kept)")
    f.add_argument("spec", help="the spec file (.dag)")
    f.set_defaults(func=commands.cmd_fmt)

    s = sub.add_parser("simulate", help="draw a dataset from the spec's own model, and the true effects")
    s.add_argument("spec", help="the spec file (.dag)")
    s.add_argument("--n", type=int, help="rows to draw (or --clusters G --cluster-size n)")
    s.add_argument("--out", required=True, help="the CSV file to write (an existing file is refused)")
    s.add_argument(
        "--params",
        help="YAML file of parameter values, names as in the posterior "
        "(y_intercept: -0.5, y_beta: {t: 0.5, m: 1.2}); parameters not given are drawn from their priors",
    )
    s.add_argument("--truth", help="JSON file for the true effects at these parameter values")
    s.add_argument("--seed", type=int, help="random seed (default: none, i.e. not reproducible)")
    s.add_argument(
        "--clusters",
        type=int,
        help="with cluster statements: how many clusters to draw (labels 1..G, with --cluster-size rows each; "
        "--n is then G x size); each cluster's intercepts are drawn from Normal(0, sd)",
    )
    s.add_argument("--cluster-size", type=int, dest="cluster_size", help="rows per cluster (with --clusters)")
    s.add_argument(
        "--by-cluster",
        dest="by_cluster",
        help="nodes without a family (comma-separated, e.g. the treatment of a cluster-randomised trial) drawn "
        "once per cluster of the first cluster column instead of once per row",
    )
    s.set_defaults(func=commands.cmd_simulate)

    for name, helptext in (
        ("power", "simulation study: power, coverage, bias and RMSE of every effect at each sample size"),
        ("calibrate", "simulation-based calibration: parameters drawn from the priors, ranks and HDI coverage"),
    ):
        st = sub.add_parser(name, help=helptext)
        st.add_argument("spec", help="the spec file (.dag)")
        if name == "power":
            st.add_argument(
                "--params",
                help="YAML file of parameter values (as for simulate); parameters not given are drawn from their "
                "priors, anew for each rep",
            )
            st.add_argument("--n", required=True, help="sample sizes, comma-separated (200,400,800)")
        else:
            st.add_argument("--n", required=True, help="the sample size (or sizes, comma-separated)")
        st.add_argument("--reps", type=int, required=True, help="datasets per sample size")
        st.add_argument(
            "--out",
            required=True,
            help="directory for study.json, results.csv, summary.csv and the picture; rerunning into it resumes "
            "(finished fits are kept), one made with another spec, parameters or options is refused",
        )
        st.add_argument(
            "--seed", type=int, help="every rep's seeds derive from it (default: one is chosen and recorded)"
        )
        st.add_argument(
            "--cluster-size",
            type=int,
            dest="cluster_size",
            help="with cluster statements: rows per cluster; each --n is then n / size clusters, their intercepts "
            "drawn anew for each rep",
        )
        st.add_argument(
            "--by-cluster",
            dest="by_cluster",
            help="nodes without a family (comma-separated, e.g. the treatment of a cluster-randomised trial) drawn "
            "once per cluster instead of once per row",
        )
        _fit_options(st, "local Dask worker processes, one thread each (default: one per core)")
        st.set_defaults(func=commands.cmd_study)

    se = sub.add_parser(
        "sensitivity",
        help="how strong an unmeasured mediator-outcome confounder would have to be to explain each indirect effect away",
    )
    se.add_argument("spec", help="the spec file (.dag)")
    se.add_argument("--data", help="CSV path or URL (overrides the spec's data statement)")
    se.add_argument(
        "--mediator",
        action="append",
        dest="mediators",
        help="the mediator whose confounder with the outcome is assumed (repeatable; default every mediator)",
    )
    se.add_argument(
        "--strength",
        default="0,0.5,1,1.5,2",
        help="the confounder's coefficient in the mediator's equation, comma-separated (default 0,0.5,1,1.5,2); "
        "log-odds for bernoulli, log for counts, residual sds for normal nodes",
    )
    se.add_argument(
        "--strength-y",
        dest="strength_y",
        help="its coefficient in the outcome's equation, comma-separated: every pair with --strength is fitted "
        "(default: equal to --strength)",
    )
    se.add_argument(
        "--out",
        required=True,
        help="directory for sensitivity.json, sensitivity.csv, tipping.csv, coefficients.csv and a picture per "
        "mediator; rerunning into it resumes (finished grid points are kept)",
    )
    se.add_argument("--seed", type=int, help="every fit's seed (default: one is chosen and recorded)")
    se.add_argument("--scale", choices=list(SCALES), help="the effects' scale (default: the spec's, else diff)")
    se.add_argument("--hdi", type=float, dest="hdi_prob", help="HDI probability (default 0.95)")
    _fit_options(se, "fit the grid points on local Dask worker processes (default: one after another in this process)")
    se.set_defaults(func=commands.cmd_sensitivity)

    pl = sub.add_parser("plot", help="redraw DIR/plots/*.png and DIR/report.html from a finished run")
    pl.add_argument("dir", help="a run directory written by 'dagmed run --out DIR'")
    pl.add_argument("--sensitivity", metavar="DIR", help="add a 'dagmed sensitivity --out DIR' section to report.html")
    pl.set_defaults(func=commands.cmd_plot)
    return ap


def _fit_options(p, workers_help: str) -> None:
    """The engine's and the sampler's options of the commands that fit many times (power, calibrate, sensitivity)."""
    p.add_argument("--workers", type=int, help=workers_help)
    p.add_argument("--scheduler", help="address of a running Dask scheduler (tcp://host:port) instead of local workers")
    p.add_argument("--draws", type=int, help="posterior draws per chain (default 1000)")
    p.add_argument("--tune", type=int, help="tuning steps per chain (default 1000)")
    p.add_argument("--chains", type=int, help="chains (default 4)")
    p.add_argument("--cores", type=int, help="chains run in parallel (on a Dask worker default: its threads, 1)")
    p.add_argument("--target-accept", type=float, dest="target_accept", help="NUTS target acceptance (default 0.8)")
    p.add_argument("--sampler", choices=["auto", "nutpie", "pymc"], help="auto: nutpie when installed (default)")
    p.add_argument("--convention", choices=sorted(CONVENTIONS), help="effect convention (default control)")
    p.add_argument("--no-plots", action="store_true", dest="no_plots", help="skip the pictures")
    p.add_argument("--quiet", action="store_true", help="no progress lines or bar")


def main(argv=None) -> int:
    """Run ``dagmed ARGV`` and return the exit code; errors are one located line on stderr.

    Parameters
    ----------
    argv : list of str, optional
        The arguments after ``dagmed`` (default ``sys.argv[1:]``). ``--debug`` shows
        Python tracebacks instead of one-line errors.

    Returns
    -------
    int
        0 success, 2 usage or syntax, 3 model or assumptions, 4 data, 5 sampling or
        interrupted.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> spec = Path(tempfile.mkdtemp()) / "s.dag"
    >>> _ = spec.write_text("treatment t\\noutcome y\\nt -> m -> y\\nt -> y\\nm, y ~ bernoulli\\nm -> t\\n")
    >>> main(["check", str(spec)])  # the error goes to stderr: dagmed: error: .../s.dag:6:1: the graph has a cycle ...
    3
    """
    ap = make_parser()
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    try:
        args = ap.parse_args(argv)
        if not getattr(args, "func", None):
            ap.print_help(sys.stderr)
            return 2
        return args.func(args)
    except DagmedError as err:
        if debug:
            raise
        print(format_error(err), file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        if debug:
            raise
        print("dagmed: error: interrupted; nothing was written", file=sys.stderr)
        return 5


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
