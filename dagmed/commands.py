"""``dagmed run``: options from flags and ``--config`` YAML (flags win), then the API."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from . import load, output
from .errors import UsageError

# Options a --config YAML file may hold, with their types.
CONFIG_KEYS = {
    "data": str,
    "draws": int,
    "tune": int,
    "chains": int,
    "cores": int,
    "seed": int,
    "target_accept": float,
    "sampler": str,
    "convention": str,
    "hdi_prob": float,
    "out": str,
    "quiet": bool,
    "no_plots": bool,
}


def read_config(path) -> dict:
    """A YAML mapping of run options (``yaml.safe_load``; never executes anything)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read config {path}: {exc}") from None
    try:
        conf = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = {"line": mark.line + 1, "column": mark.column + 1} if mark else {}
        raise UsageError(f"config is not valid YAML: {getattr(exc, 'problem', exc)}", source=str(path), **where) from None
    if not isinstance(conf, dict):
        raise UsageError(f"config {path} must be a mapping of option: value")
    for key, value in conf.items():
        if key not in CONFIG_KEYS:
            raise UsageError(f"config {path}: unknown option {key!r}; valid options are {', '.join(CONFIG_KEYS)}")
        want = CONFIG_KEYS[key]
        ok = isinstance(value, want) and not (want is int and isinstance(value, bool))
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if not ok:
            raise UsageError(f"config {path}: {key} must be {want.__name__}, got {value!r}")
    if "data" in conf and not Path(conf["data"]).is_absolute() and "://" not in conf["data"]:
        conf["data"] = str(Path(path).parent / conf["data"])
    return conf


def options(args) -> dict:
    """Run options: the ``--config`` file's, then every flag given on the command line.

    A flag that was not given is None (never a falsy default), so ``--draws 0`` reaches the
    validation and is refused rather than silently replaced by the default.
    """
    conf = read_config(args.config) if args.config else {}
    for key in CONFIG_KEYS:
        value = getattr(args, key, None)
        if value is not None:
            conf[key] = value
    return conf


def cmd_run(args) -> int:
    from .api import run

    opts = options(args)
    spec = load(args.spec)
    out = opts.pop("out", None)
    if out is not None:
        output._check_writable(Path(out))  # refuse before sampling, not after
    quiet = opts.pop("quiet", False)
    plots = not opts.pop("no_plots", False)
    data = opts.pop("data", None)
    log = (lambda msg: None) if quiet else (lambda msg: print(msg, file=sys.stderr))
    result = run(spec, data, progressbar=not quiet, log=log, **opts)
    print(output.format_table(result))
    if out is None:
        return 0
    extra = None
    if plots:
        from . import fit

        log("predictive checks: prior and posterior predictive draws")
        fit.predictive(result.model, result.idata, seed=result.settings.seed, progressbar=not quiet)

        def extra(tmp: Path) -> None:
            _pictures_and_report(tmp, result.analysis, result.idata, result.to_dict(), result.model, log)

    output.write(result, out, extra=extra)
    written = list(output.FILES) + (["plots/", "report.html"] if plots else [])
    print(f"wrote {', '.join(written)} to {out}")
    return 0


def _pictures_and_report(run_dir: Path, analysis, idata, doc, model, log) -> None:
    from . import plots, report

    log("plots: drawing")
    drawn = plots.draw_all(run_dir, analysis, idata, doc, model=model, log=log)
    html = report.render(doc, output.describe(analysis), run_dir / "plots")
    (run_dir / "report.html").write_text(html, encoding="utf-8")
    log(f"plots: {len(drawn)} pictures and report.html")


def cmd_plot(args) -> int:
    """Redraw the pictures and the report of a finished run without refitting."""
    import json

    import arviz as az

    from . import checks, parse

    run_dir = Path(args.dir)
    needed = [run_dir / n for n in ("effects.json", "idata.nc", "spec.dag")]
    missing = [p.name for p in needed if not p.exists()]
    if missing:
        raise UsageError(f"{run_dir} is not a dagmed run directory: {', '.join(missing)} missing")
    doc = json.loads((run_dir / "effects.json").read_text())
    spec = parse((run_dir / "spec.dag").read_text(encoding="utf-8"), str(run_dir / "spec.dag"))
    idata = az.from_netcdf(run_dir / "idata.nc")
    analysis = checks.check(spec)
    _pictures_and_report(run_dir, analysis, idata, doc, None, lambda m: print(m, file=sys.stderr))
    print(f"wrote plots/ and report.html to {run_dir}")
    return 0
