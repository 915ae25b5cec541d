r"""Sensitivity to an unmeasured mediator-outcome confounder: one fit per grid point, tipping points.

For each mediator M asked for and each point ``(strength, strength_y)`` of the grid, the
model with a binary confounder ``U`` of M and the outcome (:func:`dagmed.model.confounding.confound`)
is fitted to the data and decomposed; the point ``(0, 0)`` is the plain model, fitted as
``dagmed run`` fits it (same sampler, same seed: the same numbers), once for every mediator.
The fits run one after another in this process, or on Dask workers
(:mod:`dagmed.study.engine`) when ``workers`` or ``scheduler`` is given. With ``out``, each
finished fit's rows are appended to ``sensitivity.csv`` at once (:class:`~dagmed.study.store.Store`):
Ctrl-C keeps them, and rerunning the same command resumes.

Per indirect effect, the **tipping point** (:func:`tipping_points`) is the smallest strength,
by absolute value, at which its 95% HDI includes the null (0 for a difference, 1 for a ratio),
or "beyond the grid". To judge whether such a confounder is plausible, compare it with the
measured covariates' coefficients on the same scale (:func:`measured_coefficients`).

Examples
--------
>>> parse_strengths("0,1,0.5"), parse_strengths("-1, 2")
([0.0, 0.5, 1.0], [-1.0, 2.0])
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__, compat
from ..effects import decomposition
from ..effects.kinds import CONVENTIONS
from ..errors import DagmedError, UsageError
from ..files import write_atomically
from ..fit import diagnostics, sampling
from ..graph.analysis import check
from ..lang import load
from ..lang.ir import Spec
from ..lang.vocabulary import SCALES
from ..model import compiler, confounding
from ..model import data as data_mod
from ..model.draws import Draws
from ..model.ir import ModelIR
from ..report import progress
from ..report.summary import HDI_PROB, effects_table, summarize
from . import engine, figures
from .store import Store

MANIFEST, RESULTS, TIPPING, COEFFICIENTS = "sensitivity.json", "sensitivity.csv", "tipping.csv", "coefficients.csv"
COLUMNS = (
    "mediator",
    "strength",
    "strength_y",
    "effect",
    "mean",
    "sd",
    "hdi_low",
    "hdi_high",
    "sampler",
    "divergences",
    "rhat_max",
    "seconds",
    "error",
)
SAMPLER_KEYS = ("draws", "tune", "chains", "cores", "target_accept", "sampler")
BEYOND = "beyond the grid"


def picture(mediator: str) -> str:
    """The file of a mediator's picture: ``sensitivity_<mediator>.png``."""
    return f"sensitivity_{mediator}.png"


def parse_strengths(text, option: str = "--strength") -> list[float]:
    """``"0,0.5,1"`` (or numbers) -> the sorted distinct finite numbers; refused otherwise, naming the option.

    Examples
    --------
    >>> parse_strengths("1,x")
    Traceback (most recent call last):
    dagmed.errors.UsageError: --strength must be numbers separated by commas, got '1,x'
    """
    items = str(text).split(",") if isinstance(text, str) else list(np.atleast_1d(text))
    try:
        values = [float(str(x).strip()) for x in items]
    except ValueError:
        raise UsageError(f"{option} must be numbers separated by commas, got {text!r}") from None
    if not values or not all(np.isfinite(values)):
        raise UsageError(f"{option} must be finite numbers, got {text!r}")
    return sorted(set(values))


@dataclass(frozen=True)
class Sweep:
    """What every fit of a sensitivity analysis shares: sent to a worker with each grid point."""

    dataset: object  # dagmed.model.data.Dataset, its model IR the plain one
    options: dict  # sampling options (SamplerSettings fields but seed and progressbar)
    seed: int
    convention: str
    scale: str
    hdi_prob: float
    progressbar: bool = False  # the sampler's bars: in this process only

    def settings(self) -> sampling.SamplerSettings:
        return sampling.SamplerSettings(**self.options, seed=self.seed, progressbar=self.progressbar)


def fit_point(sweep: Sweep, mediators: tuple, strength: float, strength_y: float) -> dict:
    """One grid point: fit, decompose, summarise. Returns ``{"rows": [...], "coefficients": [...]}``.

    ``mediators`` is the one mediator whose confounder the point has, or, at ``(0, 0)``, every
    mediator asked for: the plain model, whose rows are written once per mediator. A fit that
    fails gives a row carrying its error (the sweep goes on). The measured covariates'
    coefficients (:func:`measured_coefficients`) come with the plain fit only.
    """
    t0 = time.perf_counter()
    dataset, settings = sweep.dataset, sweep.settings()
    plain = strength == 0 and strength_y == 0
    base = {"strength": strength, "strength_y": strength_y}
    try:
        ir = dataset.ir if plain else confounding.confound(dataset.ir, mediators[0], strength, strength_y)
        data = dataset if plain else confounding.confounded_data(dataset, ir)
        model = compiler.attach(compiler.build(ir, data.n_obs), data)
        fast = sampling.fast_plan(model, settings, ir, data)
        idata = sampling.sample(model, settings, fast)
        diag = diagnostics.diagnostics(idata, ess=False)  # reported: R-hat and divergences
        _, _, eff = decomposition.decompose(compat.group(idata, "posterior"), data, sweep.convention, scale=sweep.scale)
    except DagmedError as exc:
        return {"rows": [{**base, "mediator": m, "error": str(exc)} for m in mediators], "coefficients": []}
    table = effects_table(eff, sweep.hdi_prob, SCALES[sweep.scale].null)
    how = {
        "sampler": settings.resolved_sampler() + (" (fast density)" if fast is not None else ""),
        "divergences": diag["divergences"],
        "rhat_max": diag["rhat_max"],
        "seconds": round(time.perf_counter() - t0, 2),
    }
    rows = [
        {
            **base,
            "mediator": m,
            "effect": name,
            **{k: float(r[k]) for k in ("mean", "sd", "hdi_low", "hdi_high")},
            **how,
        }
        for m in mediators
        for name, r in table.iterrows()
    ]
    coefficients = (
        measured_coefficients(compat.group(idata, "posterior"), dataset, mediators, sweep.hdi_prob) if plain else []
    )
    return {"rows": rows, "coefficients": coefficients}


def measured_coefficients(posterior, dataset, mediators, hdi_prob: float = HDI_PROB) -> list[dict]:
    """Each measured covariate's coefficient in each mediator's and the outcome's equation, on U's scale.

    U moves from 0 to 1; a binary covariate is taken from 0 to 1 too, a continuous one from one
    sd below its mean to one sd above (2 sd, as U's 0 to 1 is 2 of its sds). A normal or
    studentt node's coefficient is divided by its residual sd, as U's strength is in its units.

    Examples
    --------
    >>> import dagmed, pandas as pd, xarray as xr
    >>> spec = dagmed.parse("treatment t\\noutcome y\\nx -> t, m, y\\nt -> m -> y\\nt -> y\\nm, y ~ bernoulli\\n")
    >>> ds = dagmed.load_data(spec, pd.DataFrame({"x": [0, 1, 1, 0], "t": [0, 1, 0, 1], "m": [1, 0, 1, 1],
    ...                                           "y": [0, 1, 1, 0]}))
    >>> post = xr.Dataset({"m_intercept": (("chain", "draw"), [[0.0, 0.0]]),
    ...                    "m_beta": (("chain", "draw", "m_parents"), [[[1.0, 0.5], [1.0, 1.5]]]),
    ...                    "y_intercept": (("chain", "draw"), [[0.0, 0.0]]),
    ...                    "y_beta": (("chain", "draw", "y_parents"), [[[0.0, 0.0, 2.0], [0.0, 0.0, 2.0]]])},
    ...                   coords={"m_parents": ["t", "x"], "y_parents": ["t", "m", "x"]})
    >>> [(r["node"], r["covariate"], r["mean"]) for r in measured_coefficients(post, ds, ("m",))]
    [('m', 'x', 1.0), ('y', 'x', 2.0)]
    """
    ir = dataset.ir
    draws = Draws.from_posterior(posterior, ir)
    out = []
    for node in (*mediators, ir.outcome):
        d, model = draws[node], ir.node(node)
        unit = confounding.per(model)
        for c in ir.covariates:
            if c not in d.terms:
                continue
            x = dataset[c][np.isfinite(dataset[c])]
            binary = bool(np.isin(x, (0.0, 1.0)).all())
            step = 1.0 if binary else 2.0 * float(np.std(x))
            value = d.coef(c) * step / (d.extras[unit] if unit else 1.0)
            s = summarize(value, hdi_prob)
            out.append(
                {
                    "node": node,
                    "covariate": c,
                    "change": "0 to 1" if binary else f"mean - sd to mean + sd, {step:.3g}",
                    **{k: s[k] for k in ("mean", "hdi_low", "hdi_high")},
                }
            )
    return out


def tipping_points(results: pd.DataFrame, null: float = 0.0, joint: bool = True) -> pd.DataFrame:
    """Per (mediator, strength_y, indirect effect): the smallest strength, by absolute value, whose HDI holds ``null``.

    ``joint``: ``strength_y`` equals ``strength`` (one axis), and the tipping point is over
    that axis (``strength_y`` is left empty); else one tipping point per ``strength_y``
    value, over ``strength``. ``tipping`` is NaN and ``beyond`` True when no strength of the
    grid brings the null into the HDI. Failed fits are skipped.

    Examples
    --------
    >>> r = pd.DataFrame({"mediator": "m", "strength": [0.0, 1.0, 2.0], "strength_y": [0.0, 1.0, 2.0],
    ...                   "effect": "IIE[m]", "mean": [0.3, 0.2, 0.05], "hdi_low": [0.1, 0.02, -0.1],
    ...                   "hdi_high": [0.5, 0.4, 0.2], "error": ""})
    >>> tipping_points(r)[["mediator", "effect", "tipping", "beyond"]].to_dict("records")
    [{'mediator': 'm', 'effect': 'IIE[m]', 'tipping': 2.0, 'beyond': False}]
    """
    ok = results[results["error"].astype(object).fillna("").astype(str) == ""]
    ok = ok[ok["effect"].astype(str).str.startswith("IIE[")]
    rows = []
    groups = ["mediator", "effect"] if joint else ["mediator", "strength_y", "effect"]
    for key, g in ok.groupby(groups, sort=False):
        key = dict(zip(groups, key))
        g = g.iloc[np.argsort(np.abs(g["strength"].to_numpy()), kind="stable")]
        holds = (g["hdi_low"] <= null) & (null <= g["hdi_high"])
        at = g["strength"][holds]
        rows.append(
            {
                "mediator": key["mediator"],
                "effect": key["effect"],
                "strength_y": np.nan if joint else key["strength_y"],
                "tipping": float(at.iloc[0]) if len(at) else np.nan,
                "beyond": not len(at),
                "grid_max": float(np.abs(g["strength"]).max()),
            }
        )
    return pd.DataFrame(rows, columns=["mediator", "effect", "strength_y", "tipping", "beyond", "grid_max"])


def sensitivity(
    spec,
    data=None,
    *,
    mediators=None,
    strength=(0.0, 0.5, 1.0, 1.5, 2.0),
    strength_y=None,
    out=None,
    seed: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    convention: str = "control",
    scale: str | None = None,
    hdi_prob: float = HDI_PROB,
    progressbar: bool = True,
    log=None,
    plots: bool = True,
    **sampler,
) -> pd.DataFrame:
    """How strong an unmeasured mediator-outcome confounder would have to be to explain each indirect effect away.

    For each mediator in ``mediators`` and each grid point, the model with a binary
    confounder ``U ~ Bernoulli(1/2)`` adding ``strength`` to the mediator's linear predictor
    and ``strength_y`` to the outcome's (link scale; a normal or studentt node's in units of
    its residual sd) is fitted and decomposed (docs/sensitivity.md).

    Parameters
    ----------
    spec : Spec, str or path
    data : str, path or pandas.DataFrame, optional
        Overrides the spec's ``data`` statement.
    mediators : sequence of str, optional
        The mediators whose confounder is assumed (default every mediator).
    strength : sequence of float or str
        U's coefficient in the mediator's equation: the grid (``"0,0.5,1"`` too).
    strength_y : sequence of float or str, optional
        U's coefficient in the outcome's; not given: equal to ``strength`` (one axis), given:
        every pair of the two (a grid).
    out : str or path, optional
        Directory for ``sensitivity.json``, ``sensitivity.csv``, ``tipping.csv``,
        ``coefficients.csv`` and a picture per mediator. A directory of the same analysis
        is resumed; one made otherwise is refused, naming the difference.
    seed : int, optional
        Every fit's seed (the point ``(0, 0)`` then gives ``dagmed run --seed`` 's numbers);
        None picks one, recorded in ``sensitivity.json``.
    workers, scheduler : optional
        Fit on Dask (:mod:`dagmed.study.engine`): local worker processes, or a running
        scheduler's address. Neither: one fit after another in this process.
    convention, scale, hdi_prob
        As for :func:`dagmed.run`.
    progressbar : bool
    log : callable, optional
        Receives progress lines (default: stderr).
    plots : bool
        Draw the pictures (with ``out``).
    **sampler
        draws, tune, chains, cores, target_accept, sampler (as for :func:`dagmed.run`).

    Returns
    -------
    pandas.DataFrame
        ``sensitivity.csv``: one row per (mediator, strength, strength_y, effect); its
        attributes ``tipping`` and ``coefficients`` (``df.attrs``) hold the tipping points and
        the measured covariates' coefficients.

    Raises
    ------
    UsageError, SpecError, DataError
        Before any fit: a bad option, spec or data, named.

    Examples
    --------
    >>> import dagmed
    >>> spec = dagmed.parse("treatment t\\noutcome y\\nt -> m -> y\\nt -> y\\nm, y ~ bernoulli\\n")
    >>> sensitivity(spec, "data.csv", mediators=["y"])
    Traceback (most recent call last):
    dagmed.errors.UsageError: --mediator y is not a mediator; the mediators are m
    """
    log = log or (lambda msg: print(msg, file=sys.stderr))
    if not isinstance(spec, Spec):
        spec = load(spec)
    if convention not in CONVENTIONS:
        raise UsageError(f"unknown convention {convention!r}; valid options are {', '.join(CONVENTIONS)}")
    if not 0 < hdi_prob < 1:
        raise UsageError(f"hdi_prob must be between 0 and 1, got {hdi_prob!r}")
    engine.check_options(workers, scheduler)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise UsageError(f"--seed must be an integer >= 0, got {seed!r}")
    unknown = sorted(set(sampler) - set(SAMPLER_KEYS))
    if unknown:
        raise UsageError(f"unknown sampling option {unknown[0]!r}; valid options are {', '.join(SAMPLER_KEYS)}")
    ir = ModelIR.from_analysis(check(spec))
    mediators = _mediators(ir, mediators)
    strengths = parse_strengths(strength)
    joint = strength_y is None
    strengths_y = None if joint else parse_strengths(strength_y, "--strength-y")
    scale = _scale(ir, scale if scale is not None else spec.scale)
    for m in mediators:  # refused before any fit: a family the confounder cannot enter
        confounding.confound(ir, m, 1.0)
    dataset = data_mod.load(ir, data)
    data_mod.refuse_unstated_contrast(dataset)
    options = {k: v for k, v in sampler.items() if v is not None}
    settings = sampling.SamplerSettings(**options, progressbar=False)  # refuses bad options now
    manifest = {
        "command": "sensitivity",
        "spec": spec.text,
        "spec_file": spec.source,
        "data": _fingerprint(dataset),
        "data_file": dataset.source,
        "sampling": {k: v for k, v in settings.as_dict().items() if k not in ("cores", "seed")},
        "convention": convention,
        "scale": scale,
        "seed": seed,
        "dagmed": __version__,
    }
    recorded = _recorded_seed(out)
    manifest["seed"] = seed if seed is not None else recorded
    if manifest["seed"] is None:
        manifest["seed"] = int(np.random.SeedSequence().entropy % 2**31)
    own = (MANIFEST, RESULTS, TIPPING, COEFFICIENTS, *(picture(m) for m in ir.mediators))
    store = Store(out, manifest, COLUMNS, key=_key, files=(MANIFEST, RESULTS, own))
    points = [(s, s) for s in strengths] if joint else [(s, sy) for sy in strengths_y for s in strengths]
    tasks = []
    for s, sy in points:
        for group in [tuple(mediators)] if s == 0 and sy == 0 else [(m,) for m in mediators]:
            if any((m, s, sy) not in store.done for m in group):
                tasks.append((group, s, sy))
    total = len(points) * len(mediators)
    kept = total - sum(len(g) for g, _, _ in tasks)
    where = f" into {out}" if out is not None else ""
    if kept:
        log(f"sensitivity: {kept} of {total} grid points done already{where}; {len(tasks)} fits to do")
    sweep = Sweep(dataset, options, manifest["seed"], convention, scale, hdi_prob)
    coefficients = _read_coefficients(out)
    if tasks:
        log(
            f"sensitivity: {len(tasks)} fits ({', '.join(mediators)}; {len(points)} grid points) on {dataset.source}: "
            f"{dataset.summary()}; {settings.chains} chains x {settings.draws} draws, seed {manifest['seed']}"
        )

        def finished(task, result):
            store.append(result["rows"])
            if result["coefficients"]:  # a plain fit for more mediators (a resumed run): merged, same values
                merged = {(c["node"], c["covariate"]): c for c in [*coefficients, *result["coefficients"]]}
                coefficients[:] = list(merged.values())
                if out is not None:
                    write_atomically(Path(out) / COEFFICIENTS, pd.DataFrame(coefficients).to_csv(index=False))
            for r in result["rows"][:1]:
                if r.get("error"):
                    log(f"dagmed: warning: {r['mediator']} at strength {r['strength']:g}: {r['error']}")

        t0 = time.perf_counter()
        with progress.progress("grid points", len(tasks), progressbar, eta=True) as advance:
            if workers is None and scheduler is None:
                for task in tasks:
                    finished(task, fit_point(sweep, *task))
                    advance()
            else:
                with engine.cluster(workers, scheduler) as client:
                    sweep = Sweep(dataset, {"cores": 1, **options}, manifest["seed"], convention, scale, hdi_prob)

                    def on_result(task, result):
                        finished(task, result)
                        advance()

                    lost = engine.run_all(client, fit_point, [(sweep, *t) for t in tasks], on_result)
                    if lost:
                        log(f"dagmed: warning: {lost} fits did not finish (a worker was lost); rerun to do them")
        log(f"sensitivity: {len(tasks)} fits in {time.perf_counter() - t0:.1f} s")
    results = _frame(store.rows, mediators, points)
    tipping = tipping_points(results, SCALES[scale].null, joint)
    results.attrs.update(
        tipping=tipping,
        coefficients=pd.DataFrame(coefficients),
        joint=joint,
        scale=scale,
        null=SCALES[scale].null,
        hdi_prob=hdi_prob,
    )
    if out is not None:
        _write(Path(out), results, tipping, mediators, joint, plots)
    return results


def points_done(out) -> int:
    """How many (mediator, strength, strength_y) points ``out``'s ``sensitivity.csv`` holds (0 when none).

    Examples
    --------
    >>> points_done("no/such/dir")
    0
    """
    path = Path(out) / RESULTS if out is not None else None
    if path is None or not path.is_file():
        return 0
    return len({_key(r) for r in pd.read_csv(path, dtype=str).to_dict("records")})


def _key(row) -> tuple:
    return (str(row["mediator"]), float(row["strength"]), float(row["strength_y"]))


def _mediators(ir: ModelIR, mediators) -> tuple[str, ...]:
    if not ir.mediators:
        raise UsageError("the model has no mediator: there is no indirect effect to test")
    if mediators is None or len(mediators) == 0:
        return ir.mediators
    mediators = [mediators] if isinstance(mediators, str) else list(mediators)
    for m in mediators:
        if m not in ir.mediators:
            raise UsageError(f"--mediator {m} is not a mediator; the mediators are {', '.join(ir.mediators)}")
    return tuple(dict.fromkeys(mediators))


def _scale(ir: ModelIR, scale: str | None) -> str:
    scale = scale or "diff"
    if scale not in SCALES:
        raise UsageError(f"unknown scale {scale!r}; valid options are {', '.join(SCALES)}")
    why = SCALES[scale].refusal(ir.outcome, ir.node(ir.outcome).family)
    if why:
        raise UsageError(why)
    return scale


def _fingerprint(dataset) -> str:
    """A hash of the data as the model reads them: a resumed analysis must fit the same rows."""
    h = hashlib.sha256()
    for c in sorted(dataset.columns):
        h.update(c.encode())
        h.update(np.ascontiguousarray(dataset[c], dtype=float).tobytes())
    return h.hexdigest()[:16]


def _recorded_seed(out):
    path = Path(out) / MANIFEST if out is not None else None
    if path is None or not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("seed")
    except (OSError, ValueError):
        return None


def _read_coefficients(out) -> list[dict]:
    path = Path(out) / COEFFICIENTS if out is not None else None
    if path is None or not path.is_file():
        return []
    return pd.read_csv(path).to_dict("records")


def _frame(rows, mediators, points) -> pd.DataFrame:
    """The rows of the requested (mediator, point)s, typed and sorted."""
    df = pd.DataFrame(rows, columns=list(COLUMNS))
    for c in ("strength", "strength_y", "mean", "sd", "hdi_low", "hdi_high", "divergences", "rhat_max", "seconds"):
        df[c] = pd.to_numeric(df[c], errors="coerce")
    df["error"] = df["error"].astype(object).fillna("").astype(str)
    wanted = {(m, float(s), float(sy)) for m in mediators for s, sy in points}
    keep = [_key(r) in wanted for r in df.to_dict("records")]
    df = df[keep]
    order = {m: i for i, m in enumerate(mediators)}
    df = df.assign(_m=df["mediator"].map(order)).sort_values(["_m", "strength_y", "strength"], kind="stable")
    return df.drop(columns="_m").reset_index(drop=True)


def _write(out: Path, results, tipping, mediators, joint, plots) -> None:
    target = out / TIPPING
    target.unlink(missing_ok=True)  # derived from sensitivity.csv: made anew each time
    write_atomically(target, tipping.to_csv(index=False))
    if not plots:
        return
    for m in mediators:
        rows = results[(results["mediator"] == m) & (results["error"] == "")]
        if not rows.empty:
            figures.sensitivity_figure(rows, m, joint, out / picture(m), results.attrs["null"])


def format_tipping(results: pd.DataFrame) -> str:
    """The terminal's table: every indirect effect's tipping point per confounder, and the measured covariates beside them.

    Examples
    --------
    >>> r = pd.DataFrame({"mediator": "m", "strength": [0.0, 1.0], "strength_y": [0.0, 1.0], "effect": "IIE[m]",
    ...                   "mean": [0.3, 0.1], "sd": 0.05, "hdi_low": [0.2, -0.01], "hdi_high": [0.4, 0.2], "error": ""})
    >>> r.attrs.update(tipping=tipping_points(r), coefficients=pd.DataFrame(), joint=True, scale="diff")
    >>> print(format_tipping(r))
    tipping points: the smallest strength of U (its coefficient in the mediator's and the outcome's equation) at which the 95% HDI includes 0
    U of        effect            strength_y    at 0 (plain)                tipping
    m           IIE[m]            = strength    0.300 [0.200, 0.400]        1
    """
    tipping, coefficients = results.attrs["tipping"], results.attrs["coefficients"]
    null, hdi = SCALES[results.attrs["scale"]].null, results.attrs.get("hdi_prob", HDI_PROB)
    lines = [
        "tipping points: the smallest strength of U (its coefficient in the mediator's and the outcome's equation) "
        f"at which the {hdi:.0%} HDI includes {null:g}",
        f"{'U of':<12}{'effect':<18}{'strength_y':<14}{'at 0 (plain)':<28}tipping",
    ]
    for _, t in tipping.iterrows():
        plain = results[
            (results["mediator"] == t["mediator"])
            & (results["effect"] == t["effect"])
            & (results["strength"] == 0)
            & (results["strength_y"] == 0)
        ]
        at0 = (
            f"{plain['mean'].iloc[0]:.3f} [{plain['hdi_low'].iloc[0]:.3f}, {plain['hdi_high'].iloc[0]:.3f}]"
            if len(plain)
            else "not in the grid"
        )
        sy = "= strength" if pd.isna(t["strength_y"]) else f"{t['strength_y']:g}"
        tip = f"{BEYOND} (|strength| <= {t['grid_max']:g})" if t["beyond"] else f"{t['tipping']:g}"
        lines.append(f"{t['mediator']:<12}{t['effect']:<18}{sy:<14}{at0:<28}{tip}")
    if len(coefficients):
        lines.append(
            f"measured covariates on the same scale (posterior mean [{hdi:.0%} HDI] of the change in the linear predictor; "
            "normal nodes in residual sds):"
        )
        for _, c in coefficients.iterrows():
            lines.append(
                f"  {c['covariate']} -> {c['node']}: {c['mean']:.2f} [{c['hdi_low']:.2f}, {c['hdi_high']:.2f}] ({c['change']})"
            )
    elif not ((results["strength"] == 0) & (results["strength_y"] == 0)).any():
        lines.append("(strength 0 is not in the grid: no plain fit to compare the measured covariates with)")
    return "\n".join(lines)
