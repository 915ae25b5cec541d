r"""Data drawn from a spec's own generative model, and the true effects at its parameter values.

:func:`simulate` draws ``n`` rows from the model that ``dagmed run`` fits
(:func:`dagmed.compiler.build`): every parameter at the value given (names as in the
posterior: ``y_intercept``, ``y_beta`` as a mapping parent: value, ``y_sigma``), or drawn
from its prior when none is given; then every modelled node, parents first. The true
effects at those parameter values are computed by the decomposition the run uses
(:func:`dagmed.api.decompose_idata`, one "draw" that is the truth), exactly, for the rows
drawn: they are what a fit of the data estimates, so a run should recover them.

A node without a family (a covariate, or a continuous treatment, that the spec does not
model) has no distribution in the spec: it is drawn from Normal(0, 1), or, when a ``code``
statement names its levels, as one of its two levels with probability 1/2 each. Latent
nodes are not simulated (they are not in the compiled model either). Continuous values are
written to 6 significant digits; the truth is computed from the values as written.

Examples
--------
>>> import dagmed
>>> spec = dagmed.parse("treatment t\noutcome y\nt -> m -> y\nt -> y\nt, m, y ~ bernoulli\n")
>>> params = {"m_intercept": -1.0, "m_beta": {"t": 2.0}, "y_intercept": -1.0, "y_beta": {"t": 0.5, "m": 1.0}}
>>> sim = simulate(spec, 200, params=params, seed=1)
>>> sim.data.head(3)
   t  m  y
0  0  0  0
1  0  1  1
2  1  0  1
>>> round(sim.truth["effects"]["IIE[m]"], 4), sim.drawn
(0.1068, ('t_intercept',))
"""

from __future__ import annotations

import difflib
import json
import math
import os
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from . import checks, names
from .errors import UsageError
from .families import FAMILIES
from .ir import Spec
from .output import _num

SIGNIFICANT_DIGITS = 6
EXOGENOUS = "normal(0, 1)"


@dataclass(frozen=True, eq=False)
class Simulation:
    """A simulated dataset, the parameter values it was drawn at and the true effects.

    Attributes
    ----------
    data : pandas.DataFrame
        One column per observed node: covariates, treatment, mediators, outcome, other; binary and count nodes as integers,
        coded columns as their level names.
    params : dict
        Every parameter of the model, in the model's order: a number, or for ``<node>_beta``
        a mapping parent: number. The same format as a params file.
    drawn : tuple of str
        The parameters that were drawn from their priors (not given).
    truth : dict
        The ``truth.json`` document: ``effects`` (the control convention),
        ``effects_by_convention``, ``regimes`` and ``joint_regimes`` at these parameter
        values for these rows, with the spec, ``n_obs``, ``seed``, ``params``, ``drawn``
        and how the exogenous nodes were drawn.
    """

    data: pd.DataFrame
    params: dict
    drawn: tuple[str, ...]
    truth: dict = field(repr=False)

    def write(self, csv, truth=None) -> list[Path]:
        """Write the data to ``csv`` and, if given, the truth document to ``truth`` (JSON).

        An existing file is never replaced: it is refused before anything is written.

        Raises
        ------
        UsageError
            A target exists already, or its directory does not.

        Examples
        --------
        >>> import dagmed, tempfile
        >>> spec = dagmed.parse("treatment t\\noutcome y\\nt -> y ~ bernoulli\\n")
        >>> sim = simulate(spec, 20, seed=3)
        >>> d = Path(tempfile.mkdtemp())
        >>> [p.name for p in sim.write(d / "data.csv", d / "truth.json")]
        ['data.csv', 'truth.json']
        >>> sim.write(d / "data.csv")
        Traceback (most recent call last):
        dagmed.errors.UsageError: .../data.csv exists already: remove it or choose another name
        """
        targets = [Path(p) for p in (csv, truth) if p is not None]
        check_distinct(targets)
        for p in targets:
            check_new_file(p)
        texts = [self.data.to_csv(index=False), json.dumps(self.truth, indent=2) + "\n"]
        for p, text in zip(targets, texts):
            _write_atomically(p, text)
        return targets

    def describe(self) -> str:
        """What ``dagmed simulate`` prints: the rows drawn and the true effects.

        Examples
        --------
        >>> import dagmed
        >>> spec = dagmed.parse("treatment t\\noutcome y\\nt -> y\\nt, y ~ bernoulli\\n")
        >>> print(simulate(spec, 50, params={"y_intercept": 0.0, "y_beta": {"t": 1.0}}, seed=1).describe())
        simulated 50 rows of t, y from <string> (seed 1); drawn from the priors: t_intercept
        true effects (control convention) at these parameter values, for these rows:
          TE    0.2311
          DE    0.2311
          DEP   0.0000
        """
        t = self.truth
        if self.drawn and len(self.drawn) == len(self.params):
            drawn = "; every parameter drawn from its prior"
        else:
            drawn = f"; drawn from the priors: {', '.join(self.drawn)}" if self.drawn else ""
        lines = [f"simulated {t['n_obs']} rows of {', '.join(self.data.columns)} from {t['spec']} "
                 f"(seed {t['seed']}){drawn}",
                 f"true effects ({t['convention']} convention) at these parameter values, for these rows:"]
        width = max(len(name) for name in t["effects"])
        for name, value in t["effects"].items():
            shown = "n/a" if value is None else f"{value:7.4f}"
            lines.append(f"  {name:<{width}}  {shown}")
        return "\n".join(lines)


def simulate(spec: Spec, n: int, params=None, seed: int | None = None) -> Simulation:
    r"""Draw ``n`` rows from ``spec``'s generative model and compute the true effects.

    Parameters
    ----------
    spec : Spec
        From :func:`dagmed.load` or :func:`dagmed.parse`; it must pass :func:`dagmed.check`.
    n : int
        Rows to draw (>= 1).
    params : dict, str or path, optional
        Parameter values, or a YAML file holding them (:func:`read_params`): names as in
        the posterior, ``<node>_beta`` a mapping parent: value. Parameters not given are
        drawn from their priors (see :attr:`Simulation.drawn`).
    seed : int, optional
        The same seed, spec and parameters give the same rows; None is not reproducible.

    Returns
    -------
    Simulation

    Raises
    ------
    UsageError
        ``n`` or ``seed`` invalid; a parameter unknown (the valid ones are listed), of the
        wrong shape, not a finite number, a scale not > 0, or outside its prior's support.
    SpecError
        The spec is not a well-posed mediation analysis.

    Examples
    --------
    >>> import dagmed
    >>> spec = dagmed.parse("treatment x\noutcome y\nx -> m ~ normal\nx, m -> y ~ normal\n")
    >>> params = {"m_intercept": 2.0, "m_beta": {"x": 0.5}, "m_sigma": 0.5,
    ...           "y_intercept": 0.0, "y_beta": {"x": 0.3, "m": 0.6}, "y_sigma": 0.5}
    >>> sim = simulate(spec, 75, params=params, seed=42)
    >>> {k: round(v, 12) + 0.0 for k, v in sim.truth["effects"].items()}  # + 0.0: no "-0.0"
    {'TE': 0.6, 'DE': 0.3, 'IIE[m]': 0.3, 'DEP': 0.0, 'PM[m]': 0.5}
    >>> simulate(spec, 75, params={"y_betta": {"x": 0.3}})
    Traceback (most recent call last):
    dagmed.errors.UsageError: params: unknown parameter 'y_betta' (did you mean 'y_beta'?); valid options are m_intercept, m_beta, m_sigma, y_intercept, y_beta, y_sigma
    >>> simulate(spec, 75, params={"y_sigma": -1.0})
    Traceback (most recent call last):
    dagmed.errors.UsageError: params: y_sigma must be > 0, got -1.0
    """
    import pymc as pm

    from . import compiler

    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise UsageError(f"n must be a positive integer, got {n!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise UsageError(f"seed must be an integer >= 0, got {seed!r}")
    source = "params"
    if isinstance(params, (str, os.PathLike)):
        source, params = str(params), read_params(params)
    analysis = checks.check(spec)
    model = compiler.build(analysis, n)
    given = _checked(analysis, model, dict(params or {}), source)
    rng = np.random.default_rng(seed)
    exogenous = _exogenous(analysis, model, n, rng)
    for name, values in exogenous.items():
        model.set_data(name, values)
    nodes = [v for v in compiler.data_nodes(model) if v not in exogenous]
    fixed = pm.do(model, given) if given else model
    drawn = [v.name for v in model.free_RVs if v.name not in given and v.name not in nodes]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")
        draws = dict(zip(drawn + nodes, pm.draw([fixed[v] for v in drawn + nodes], random_seed=rng)))
    columns = {**exogenous, **{n: draws[n] for n in nodes}}
    order = [*analysis.covariates, analysis.treatment, *analysis.mediators, analysis.outcome, *analysis.other]
    data = _as_written(analysis, pd.DataFrame({n: columns[n] for n in order if n in columns}))
    chosen = {**given, **{k: draws[k] for k in drawn}}
    params = {v.name: chosen[v.name] for v in model.free_RVs if v.name in chosen}  # the model's order
    return Simulation(data, _readable(model, params), tuple(drawn),
                      _truth(analysis, model, data, params, seed, drawn, list(exogenous)))


def read_params(path) -> dict:
    """Parameter values from a YAML file (``yaml.safe_load``: never executes anything).

    Parameters
    ----------
    path : str or path
        A YAML mapping: ``name: value``, or ``<node>_beta: {parent: value, ...}``.

    Raises
    ------
    UsageError
        The file cannot be read or is not a YAML mapping.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "params.yaml"
    >>> _ = p.write_text("y_intercept: -0.5\\ny_beta: {t: 0.5, m: 1.2}\\n")
    >>> read_params(p)
    {'y_intercept': -0.5, 'y_beta': {'t': 0.5, 'm': 1.2}}
    """
    return read_mapping(path, "params file", "parameter: value")


def read_mapping(path, noun: str, form: str) -> dict:
    """A YAML mapping from a file, read safely (``yaml.safe_load``); an empty file is ``{}``.

    Parameters
    ----------
    path : str or path
    noun : str
        What the file is, for the messages (``"config"``, ``"params file"``).
    form : str
        What its entries look like, for the messages (``"option: value"``).

    Raises
    ------
    UsageError
        The file cannot be read, is not valid YAML (located) or is not a mapping.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "c.yaml"
    >>> _ = p.write_text("- 1\\n")
    >>> read_mapping(p, "config", "option: value")
    Traceback (most recent call last):
    dagmed.errors.UsageError: config .../c.yaml must be a mapping of option: value
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {noun} {path}: {exc}") from None
    try:
        value = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = {"line": mark.line + 1, "column": mark.column + 1} if mark else {}
        raise UsageError(f"{noun} is not valid YAML: {getattr(exc, 'problem', exc)}", source=str(path), **where) from None
    if not isinstance(value, dict):
        raise UsageError(f"{noun} {path} must be a mapping of {form}")
    return value


def parameters(model) -> dict[str, tuple[str, ...]]:
    """The model's parameters in creation order: name -> the coordinates along its dimension.

    ``()`` for a scalar; the parent names for ``<node>_beta``.

    Examples
    --------
    >>> import dagmed
    >>> from dagmed import compiler
    >>> spec = dagmed.parse("treatment t\\noutcome y\\nt -> m -> y\\nt -> y\\nm, y ~ bernoulli\\n")
    >>> parameters(compiler.build(dagmed.check(spec), n_obs=1))
    {'m_intercept': (), 'm_beta': ('t',), 'y_intercept': (), 'y_beta': ('t', 'm')}
    """
    out = {}
    for v in model.free_RVs:
        dims = tuple(model.named_vars_to_dims.get(v.name, ()))
        if dims == (names.OBS_DIM,):
            continue  # a node, not a parameter
        out[v.name] = tuple(model.coords[dims[0]]) if dims else ()
    return out


def check_distinct(paths) -> None:
    """Refuse two outputs that are one file (``--out d.csv --truth d.csv``).

    Examples
    --------
    >>> check_distinct([Path("a.csv"), Path("./a.csv")])
    Traceback (most recent call last):
    dagmed.errors.UsageError: a.csv is given twice as an output (--out and --truth must differ)
    """
    seen = set()
    for p in paths:
        key = Path(p).resolve()
        if key in seen:
            raise UsageError(f"{p} is given twice as an output (--out and --truth must differ)")
        seen.add(key)


def check_new_file(path: Path) -> None:
    """Refuse an output file that exists or whose directory does not (nothing is replaced).

    Examples
    --------
    >>> check_new_file(Path("no/such/dir/data.csv"))
    Traceback (most recent call last):
    dagmed.errors.UsageError: no/such/dir/data.csv: the directory no/such/dir does not exist
    """
    path = Path(path)
    if path.exists():
        raise UsageError(f"{path} exists already: remove it or choose another name")
    if not path.parent.is_dir():
        raise UsageError(f"{path}: the directory {path.parent} does not exist")


# ---- the steps ---------------------------------------------------------------------------


def _checked(analysis, model, params: dict, source: str) -> dict[str, np.ndarray]:
    """The given values as arrays in the model's shapes; every problem refused by name."""
    valid = parameters(model)
    positive = {names.extra(n, p.name) for n in analysis.modelled()
                for p in FAMILIES[analysis.graph.nodes[n]["family"]].extras if p.positive}
    out = {}
    for name, value in params.items():
        if name not in valid:
            close = difflib.get_close_matches(str(name), list(valid), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise UsageError(f"{source}: unknown parameter {name!r}{hint}; valid options are {', '.join(valid)}")
        parents = valid[name]
        if not parents:
            out[name] = np.asarray(_number(value, name, source))
            if name in positive and out[name] <= 0:
                raise UsageError(f"{source}: {name} must be > 0, got {value!r}")
            continue
        example = ", ".join(f"{p}: 0.5" for p in parents)
        if not isinstance(value, dict):
            raise UsageError(f"{source}: {name} must be a mapping of parent: value, e.g. {name}: {{{example}}}")
        unknown = [p for p in value if p not in parents]
        if unknown:
            raise UsageError(f"{source}: {name}: unknown parent {unknown[0]!r}; valid options are {', '.join(parents)}")
        absent = [p for p in parents if p not in value]
        if absent:
            raise UsageError(f"{source}: {name} needs a value for every parent ({', '.join(parents)}); "
                             f"missing {', '.join(absent)}")
        out[name] = np.array([_number(value[p], f"{name}[{p}]", source) for p in parents])
    _refuse_outside_support(model, out, source)
    return out


def _number(value, name: str, source: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UsageError(f"{source}: {name} must be a finite number, got {value!r}")
    return float(value)


def _refuse_outside_support(model, values: dict, source: str) -> None:
    """A value where its prior has no density can never be recovered: refuse it."""
    if not values:
        return
    import pymc as pm
    import pytensor.tensor as pt

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")
        logp = pt.stack([pm.logp(model[k], pt.constant(v)).sum() for k, v in values.items()]).eval()
    for (name, value), lp in zip(values.items(), logp):
        if not np.isfinite(lp):
            shown = ", ".join(f"{x:g}" for x in np.atleast_1d(value))
            raise UsageError(f"{source}: {name} = {shown} is outside the support of its prior "
                             f"{model[name].owner.op.name}")


def _exogenous(analysis, model, n: int, rng) -> dict[str, np.ndarray]:
    """Draw every node without a family: a coded one as 0/1 with probability 1/2, else Normal(0, 1)."""
    out = {}
    for v in model.data_vars:
        if analysis.spec.code_for(v.name) is not None:
            out[v.name] = rng.integers(0, 2, n).astype(float)
        else:
            out[v.name] = _rounded(rng.normal(size=n))
    return out


def _rounded(x: np.ndarray) -> np.ndarray:
    """``x`` to :data:`SIGNIFICANT_DIGITS` significant digits: the values a CSV file holds."""
    return np.array([float(f"{v:.{SIGNIFICANT_DIGITS}g}") for v in np.asarray(x, dtype=float)])


def _as_written(analysis, frame: pd.DataFrame) -> pd.DataFrame:
    """Columns as a data file holds them: integers, level names, or rounded numbers."""
    out = {}
    g = analysis.graph
    for name, col in frame.items():
        fam = g.nodes[name]["family"]
        levels = analysis.spec.code_for(name)
        if levels is not None:
            out[name] = _levels(col.to_numpy(), levels)
        elif fam is not None and FAMILIES[fam].support.name in ("binary", "count"):
            out[name] = col.to_numpy().astype(np.int64)
        else:
            out[name] = _rounded(col.to_numpy())
    return pd.DataFrame(out)


def _levels(values: np.ndarray, levels) -> np.ndarray:
    """0/1 -> the level names of a ``code`` statement (one level given: its complement is 'not <level>')."""
    by_value = {float(v): str(level) for level, v in levels}
    if len(by_value) == 1:
        (value, level), = by_value.items()
        by_value[1.0 - value] = f"not {level}"
    return np.array([by_value[float(v)] for v in values], dtype=object)


def _readable(model, values: dict) -> dict:
    """Arrays -> numbers, and ``<node>_beta`` -> a mapping parent: number (the params file format)."""
    valid = parameters(model)
    out = {}
    for name, v in values.items():
        v = np.asarray(v, dtype=float)
        out[name] = dict(zip(valid[name], map(float, v))) if valid[name] else float(v)
    return out


def _truth(analysis, model, data: pd.DataFrame, values: dict, seed, drawn, exogenous) -> dict:
    """The effects at ``values`` for ``data``'s rows, by the run's own decomposition (one draw)."""
    import arviz as az
    import xarray as xr

    from . import api, data as data_mod, decompose

    dims = {k: tuple(model.named_vars_to_dims.get(k, ())) for k in values}
    posterior = xr.Dataset(
        {k: (("chain", "draw", *dims[k]), np.asarray(v, dtype=float)[None, None]) for k, v in values.items()},
        coords={d: list(model.coords[d]) for ds in dims.values() for d in ds},
    )
    dataset = data_mod.load(analysis, data)
    table, joint, control = api.decompose_idata(analysis, dataset, az.InferenceData(posterior=posterior))
    by_convention = {"control": control,
                     "treated": decompose.effects(table, analysis.mediators, "treated", joint=joint)}

    def scalars(effects):
        return {k: _num(v[0]) for k, v in effects.items()}

    flat = table.reshape(-1)
    return {
        "spec": analysis.spec.source,
        "treatment": analysis.treatment,
        "outcome": analysis.outcome,
        "mediators": list(analysis.mediators),
        "covariates": list(analysis.covariates),
        "n_obs": dataset.n_obs,
        "seed": seed,
        "convention": "control",
        "effects": scalars(control),
        "effects_by_convention": {c: scalars(e) for c, e in by_convention.items()},
        "regimes": [{"t": t, "mediators": dict(zip(analysis.mediators, ts)), "value": _num(flat[j])}
                    for j, (t, ts) in enumerate(decompose.regime_labels(analysis.mediators))],
        "joint_regimes": [{"t": t, "t_star": ts, "label": f"Ej({t};{ts})", "value": _num(joint[0, t, ts])}
                          for t in (0, 1) for ts in (0, 1)],
        "params": _readable(model, values),
        "drawn_from_prior": list(drawn),
        "exogenous": {name: "two levels, probability 1/2 each" if analysis.spec.code_for(name) is not None
                      else EXOGENOUS for name in exogenous},
        "meaning": "the effects at these parameter values, averaged over these rows' covariates: "
                   "what 'dagmed run' estimates from this data",
    }


def _write_atomically(path: Path, text: str) -> None:
    """Write into a temporary file beside ``path``, then rename: never a half-written file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # the permissions of an ordinary new file, not mkstemp's 0600
        try:
            os.link(tmp, path)  # unlike a rename, a link never replaces a file that appeared meanwhile
        except FileExistsError:
            raise UsageError(f"{path} exists already: remove it or choose another name") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
