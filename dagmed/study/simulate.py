r"""Data drawn from a spec's own generative model, and the true effects at its parameter values.

:func:`simulate` draws ``n`` rows from the model that ``dagmed run`` fits
(:func:`dagmed.model.compiler.build`): every parameter at the value given (names as in the
posterior: ``y_intercept``, ``y_beta`` as a mapping parent: value, ``y_sigma``), or drawn
from its prior when none is given; then every modelled node, parents first. The true
effects at those parameter values are computed by the decomposition the run uses
(:func:`dagmed.effects.decomposition.decompose`, one "draw" that is the truth), exactly, for the rows
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
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import compat
from ..effects.decomposition import decompose, effects
from ..effects.kinds import regime_labels
from ..errors import UsageError
from ..files import check_distinct, check_new_file, read_mapping, write_atomically
from ..graph.analysis import check
from ..lang.ir import Spec
from ..model import compiler, names
from ..model import data as data_mod
from ..model.ir import ModelIR
from ..report.summary import json_number

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
        >>> spec = dagmed.parse("treatment t\\noutcome y\\nt, y ~ bernoulli\\nt -> y\\n")
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
            write_atomically(p, text)
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
        lines = [
            f"simulated {t['n_obs']} rows of {', '.join(self.data.columns)} from {t['spec']} (seed {t['seed']}){drawn}",
            f"true effects ({t['convention']} convention{_scale_words(t)}) at these parameter values, for these rows:",
        ]
        width = max(len(name) for name in t["effects"])
        for name, value in t["effects"].items():
            shown = "n/a" if value is None else f"{value:7.4f}"
            lines.append(f"  {name:<{width}}  {shown}")
        return "\n".join(lines)


def _scale_words(truth: dict) -> str:
    """``, rr scale`` for a truth on a ratio scale; nothing on the default (differences)."""
    scale = truth.get("scale", "diff")
    return "" if scale == "diff" else f", {scale} scale"


def simulate(
    spec: Spec, n: int | None, params=None, seed: int | None = None, clusters: Clusters | None = None
) -> Simulation:
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
    clusters : Clusters, optional
        How many clusters and rows each, for a spec with ``cluster`` statements (needed
        then, refused otherwise); ``n`` may then be None.

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
    >>> spec = dagmed.parse("treatment x\noutcome y\nx -> m ~ normal\nx, m -> y ~ normal\ncontrast 1 vs 0\n")
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
    return Simulator(spec, n, params, clusters).draw(seed)


@dataclass(frozen=True)
class Clusters:
    """The clusters a simulation draws (``dagmed simulate --clusters G --cluster-size n``).

    Each cluster column has ``count`` clusters labelled ``1..G``. The first column's clusters are
    ``size`` consecutive rows each; another column's (crossed groupings) cycle over the rows.
    Each node's intercepts (and slopes) per cluster are drawn from their distribution at the
    parameter values (``y_sd_school``, ...). ``by_cluster`` names nodes without a family (a
    cluster-randomised treatment) drawn once per cluster of the first column, as for a row.

    Examples
    --------
    >>> c = Clusters(3, 2)
    >>> c.n, c.codes(0).tolist(), c.codes(1).tolist()
    (6, [0, 0, 1, 1, 2, 2], [0, 1, 2, 0, 1, 2])
    """

    count: int
    size: int
    by_cluster: tuple[str, ...] = ()

    def __post_init__(self):
        for what, v in (("clusters", self.count), ("cluster size", self.size)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise UsageError(f"{what} must be a positive integer, got {v!r}")
        if self.count < 2:
            raise UsageError(f"clusters must be at least 2 (random intercepts need two clusters), got {self.count}")

    @property
    def n(self) -> int:
        return self.count * self.size

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(str(g + 1) for g in range(self.count))

    def codes(self, column_index: int) -> np.ndarray:
        """Each row's cluster in the ``column_index``-th cluster column."""
        rows = np.arange(self.n)
        return (rows // self.size if column_index == 0 else rows % self.count).astype(np.int64)


def _cluster_plan(ir: ModelIR, n: int | None, clusters: Clusters | None) -> tuple[int, dict]:
    """The rows to draw and each cluster column's ``(codes, labels)``: refused when they do not fit the spec."""
    if not ir.cluster_columns:
        if clusters is not None:
            raise UsageError("clusters given, but the spec has no cluster statement (add e.g. 'cluster school')")
        if n is None:
            raise UsageError("n is needed: how many rows to draw (--n)")
        return n, {}
    if clusters is None:
        raise UsageError(
            f"the spec has cluster statements ({', '.join(ir.cluster_columns)}): say how many clusters to draw "
            f"and their size (--clusters 40 --cluster-size 75)"
        )
    if n is not None and n != clusters.n:
        raise UsageError(f"n = {n}, but {clusters.count} clusters of {clusters.size} rows are {clusters.n} rows")
    for v in clusters.by_cluster:
        if v not in ir.data_nodes:
            raise UsageError(f"by-cluster {v}: not an observed node of the spec")
        if ir.is_modelled(v):
            raise UsageError(
                f"by-cluster {v}: {v} has a family, so it is drawn from its GLM row by row; only a node without "
                f"a family (e.g. a cluster-randomised treatment) can be drawn once per cluster"
            )
    return clusters.n, {c: (clusters.codes(j), clusters.labels) for j, c in enumerate(ir.cluster_columns)}


class Simulator:
    r"""One spec's generative model at one set of parameter values, compiled once, drawn from many times.

    :func:`simulate` is ``Simulator(spec, n, params).draw(seed)``. A simulation study draws
    hundreds of datasets of one spec: the model is built, the parameters checked and the
    forward-sampling function compiled once, then each :meth:`draw` only reseeds it. The
    same seed gives the same rows as :func:`simulate` (``dagmed simulate --seed``).

    Parameters
    ----------
    spec, n, params
        As for :func:`simulate`; refused alike, when the simulator is made.

    Examples
    --------
    >>> import dagmed
    >>> spec = dagmed.parse("treatment t\noutcome y\nt -> m -> y\nt -> y\nt, m, y ~ bernoulli\n")
    >>> sim = Simulator(spec, 50, params={"y_intercept": -1.0})
    >>> a, b = sim.draw(seed=1), sim.draw(seed=2)
    >>> a.data.equals(simulate(spec, 50, params={"y_intercept": -1.0}, seed=1).data), a.data.equals(b.data)
    (True, False)
    >>> sim.drawn
    ('t_intercept', 'm_intercept', 'm_beta', 'y_beta')
    """

    def __init__(self, spec: Spec, n: int | None, params=None, clusters: Clusters | None = None):
        import pymc as pm

        if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1):
            raise UsageError(f"n must be a positive integer, got {n!r}")
        source = "params"
        if isinstance(params, (str, os.PathLike)):
            source, params = str(params), read_params(params)
        self.ir = ModelIR.from_analysis(check(spec))
        n, self.clusters = _cluster_plan(self.ir, n, clusters)
        self.by_cluster = clusters.by_cluster if clusters is not None else ()
        self.n = int(n)
        self.model = compiler.build(self.ir, self.n, self.clusters)
        self.given = _checked(self.ir, self.model, dict(params or {}), source)
        self.fixed = pm.do(self.model, self.given) if self.given else self.model
        self.drawn = tuple(p.name for p in self.ir.params if p.name not in self.given)
        # each cluster's standardised intercepts (and slopes): drawn anew with every dataset
        self.effects = tuple(v for node in self.ir.nodes for c in node.clusters for v in c.effects)
        self._function = None  # compiled on the first draw

    def _compiled(self):
        """The forward-sampling function of the drawn parameters and the nodes, and its random generators."""
        if self._function is None:
            from pymc.pytensorf import collect_default_updates
            from pymc.pytensorf import compile as compile_pymc

            outputs = [self.fixed[v] for v in (*self.drawn, *self.effects, *(node.name for node in self.ir.nodes))]
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")
                function = compile_pymc(inputs=[], outputs=outputs, mode=compat.draw_mode())
            # the generators compile_pymc reseeds, in its order: pm.draw(random_seed=...) reseeds them alike
            self._function = function, list(collect_default_updates(inputs=[], outputs=outputs))
        return self._function

    def draw(self, seed: int | None = None) -> Simulation:
        """``n`` rows and their true effects; the parameters not given drawn anew from their priors.

        Parameters
        ----------
        seed : int, optional
            The same seed gives the same rows as :func:`simulate` with this seed.

        Raises
        ------
        UsageError
            ``seed`` is not an integer >= 0.
        """
        from pymc.pytensorf import reseed_rngs

        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
            raise UsageError(f"seed must be an integer >= 0, got {seed!r}")
        ir, n = self.ir, self.n
        rng = np.random.default_rng(seed)
        exogenous = _exogenous(ir, n, rng)
        if self.by_cluster:  # one value per cluster of the first column, as a row's would be drawn
            codes, labels = self.clusters[ir.cluster_columns[0]]
            per_cluster = _exogenous(ir, len(labels), rng)
            exogenous.update({v: per_cluster[v][codes] for v in self.by_cluster})
        for name, values in exogenous.items():  # pm.do's model has its own containers
            self.fixed[name].set_value(np.asarray(values, dtype=self.fixed[name].dtype))
        function, rngs = self._compiled()
        reseed_rngs(rngs, compat.chain_seed(rng))  # what pm.draw(random_seed=rng) does before drawing
        nodes = [node.name for node in ir.nodes]
        drawn = list(self.drawn)
        draws = dict(zip(drawn + list(self.effects) + nodes, function()))
        columns = {**exogenous, **{v: draws[v] for v in nodes}}
        order = [*ir.covariates, ir.treatment, *ir.mediators, ir.outcome, *ir.other]
        data = _as_written(ir, pd.DataFrame({v: columns[v] for v in order if v in columns}))
        for column, (codes, _) in reversed(self.clusters.items()):  # the cluster labels 1..G first
            data.insert(0, column, codes + 1)
        chosen = {**self.given, **{k: draws[k] for k in drawn}}
        params = {p.name: chosen[p.name] for p in ir.params}  # the model's order
        effects = {v: draws[v] for v in self.effects}
        truth = _truth(ir, data, params, seed, drawn, list(exogenous), effects, self.by_cluster)
        return Simulation(data, _readable(ir, params), tuple(drawn), truth)


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


def parameters(ir: ModelIR) -> dict[str, tuple[str, ...]]:
    """The model's parameters in creation order: name -> the coordinates along its dimension.

    ``()`` for a scalar; the names of the design terms for ``<node>_beta``.

    Examples
    --------
    >>> import dagmed
    >>> spec = dagmed.parse("treatment t\\noutcome y\\nt -> m -> y\\nt -> y\\nm, y ~ bernoulli\\n")
    >>> parameters(ModelIR.from_analysis(dagmed.check(spec)))
    {'m_intercept': (), 'm_beta': ('t',), 'y_intercept': (), 'y_beta': ('t', 'm')}
    """
    return {p.name: p.coords for p in ir.params}


# ---- the steps ---------------------------------------------------------------------------


def _checked(ir: ModelIR, model, params: dict, source: str) -> dict[str, np.ndarray]:
    """The given values as arrays in the model's shapes; every problem refused by name."""
    valid = parameters(ir)
    by_name = {p.name: p for p in ir.params}
    positive = {p.name for p in ir.params if p.positive}
    out = {}
    for name, value in params.items():
        if name not in valid:
            close = difflib.get_close_matches(str(name), list(valid), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise UsageError(f"{source}: unknown parameter {name!r}{hint}; valid options are {', '.join(valid)}")
        param = by_name[name]
        axes = [(param.coords, "parent")] if param.dim is not None else []
        if param.level_dim is not None:
            axes.append((param.levels, "level"))
        if name.endswith("_gaps"):  # an ordinal node's gaps run over its levels
            axes = [(param.coords, "level")]
        out[name] = np.asarray(_values(value, axes, name, source))
        if not axes and name in positive and out[name] <= 0:
            raise UsageError(f"{source}: {name} must be > 0, got {value!r}")
        if param.kind == "corr" and not -1 < out[name] < 1:
            raise UsageError(f"{source}: {name} is a correlation, between -1 and 1 (exclusive), got {value!r}")
    _refuse_outside_support(model, out, source)
    return out


def _values(value, axes: list, name: str, source: str):
    """``value`` read along ``axes`` (each ``(coordinates, what they are)``): nested mappings -> nested lists.

    A coefficient of a categorical node is a mapping of parent to a mapping of level to value
    (``m_beta: {t: {1: 0.5, 2: -0.3}}``).
    """
    if not axes:
        return _number(value, name, source)
    (coords, what), rest = axes[0], axes[1:]
    example = ", ".join(f"{c}: 0.5" for c in coords)
    if not isinstance(value, dict):
        raise UsageError(f"{source}: {name} must be a mapping of {what}: value, e.g. {name}: {{{example}}}")
    value = {str(k): v for k, v in value.items()}  # YAML reads a level 2 as the integer 2
    unknown = [c for c in value if c not in coords]
    if unknown:
        raise UsageError(f"{source}: {name}: unknown {what} {unknown[0]!r}; valid options are {', '.join(coords)}")
    absent = [c for c in coords if c not in value]
    if absent:
        raise UsageError(
            f"{source}: {name} needs a value for every {what} ({', '.join(coords)}); missing {', '.join(absent)}"
        )
    return [_values(value[c], rest, f"{name}[{c}]", source) for c in coords]


def _number(value, name: str, source: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UsageError(f"{source}: {name} must be a finite number, got {value!r}")
    return float(value)


def _refuse_outside_support(model, values: dict, source: str) -> None:
    """A value where its prior has no density can never be recovered: refuse it."""
    if not values:
        return
    import pymc as pm
    import pytensor
    import pytensor.tensor as pt
    from pytensor.compile.mode import Mode

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")
        logp = pt.stack([pm.logp(model[k], pt.constant(v)).sum() for k, v in values.items()])
        # evaluated once: Python's linker without graph rewriting compiles in milliseconds, where
        # the C linker took about 0.9 s (its module cache and rewrites) in every study worker
        logp = pytensor.function([], logp, mode=Mode(linker="py", optimizer=None))()
    for (name, value), lp in zip(values.items(), logp):
        if not np.isfinite(lp):
            shown = ", ".join(f"{x:g}" for x in np.atleast_1d(value))
            raise UsageError(
                f"{source}: {name} = {shown} is outside the support of its prior {model[name].owner.op.name}"
            )


def _exogenous(ir: ModelIR, n: int, rng) -> dict[str, np.ndarray]:
    """Draw every node without a family: a coded one as 0/1 with probability 1/2, else Normal(0, 1)."""
    out = {}
    for v in ir.exogenous:
        if ir.spec.code_for(v) is not None:
            out[v] = rng.integers(0, 2, n).astype(float)
        else:
            out[v] = _rounded(rng.normal(size=n))
    return out


def _rounded(x: np.ndarray) -> np.ndarray:
    """``x`` to :data:`SIGNIFICANT_DIGITS` significant digits: the values a CSV file holds."""
    return np.array([float(f"{v:.{SIGNIFICANT_DIGITS}g}") for v in np.asarray(x, dtype=float)])


def _as_written(ir: ModelIR, frame: pd.DataFrame) -> pd.DataFrame:
    """Columns as a data file holds them: integers, level names, or rounded numbers."""
    out = {}
    for name, col in frame.items():
        fam = ir.family(name)
        levels = ir.spec.code_for(name)
        if levels is not None:
            out[name] = _levels(col.to_numpy(), levels)
        elif fam is not None and fam.support.integer:
            out[name] = col.to_numpy().astype(np.int64)
        else:
            out[name] = _rounded(col.to_numpy())
    return pd.DataFrame(out)


def _levels(values: np.ndarray, levels) -> np.ndarray:
    """0/1 -> the level names of a ``code`` statement (one level given: its complement is 'not <level>')."""
    by_value = {float(v): str(level) for level, v in levels}
    if len(by_value) == 1:
        ((value, level),) = by_value.items()
        by_value[1.0 - value] = f"not {level}"
    return np.array([by_value[float(v)] for v in values], dtype=object)


def _readable(ir: ModelIR, values: dict) -> dict:
    """Arrays -> numbers, and ``<node>_beta`` -> a mapping parent: number (the params file format)."""
    params = {p.name: p for p in ir.params}

    def nested(v, axes):
        if not axes:
            return float(v)
        return {c: nested(x, axes[1:]) for c, x in zip(axes[0], v)}

    out = {}
    for name, v in values.items():
        p = params[name]
        axes = ([p.coords] if p.dim else []) + ([p.levels] if p.level_dim else [])
        out[name] = nested(np.asarray(v, dtype=float), axes)
    return out


def _truth(
    ir: ModelIR, data: pd.DataFrame, values: dict, seed, drawn, exogenous, cluster_effects=None, by_cluster=()
) -> dict:
    """The effects at ``values`` for ``data``'s rows, by the run's own decomposition (one draw).

    With clusters, ``cluster_effects`` holds the clusters' standardised intercepts (and slopes) drawn:
    the effects are over the rows with their own clusters' (``dagmed run``'s default), and
    ``effects_new_cluster`` those in a new cluster (``--clusters new``) at these parameters.
    """
    import xarray as xr

    params = {p.name: p for p in ir.params}
    coords = {p.dim: list(p.coords) for p in ir.params if p.dim}
    coords.update({p.level_dim: list(p.levels) for p in ir.params if p.level_dim})
    dims = {k: params[k].dims for k in values}
    for node in ir.nodes:
        for c in node.clusters:
            dims.update({v: (c.dim,) for v in c.effects})
    variables = {}
    for k, v in {**values, **(cluster_effects or {})}.items():
        v = np.asarray(v, dtype=float)
        variables[k] = (("chain", "draw", *dims[k]), v[None, None])
    dataset = data_mod.load(ir, data)
    coords.update({names.cluster_dim(c): list(labels) for c, (_, labels) in dataset.clusters.items()})
    posterior = xr.Dataset(variables, coords=coords)
    scale = ir.spec.scale or "diff"
    table, joint, control = decompose(posterior, dataset, scale=scale)
    by_convention = {"control": control, "treated": effects(table, ir.mediators, "treated", joint=joint, scale=scale)}

    def scalars(effect_draws):
        return {k: json_number(v[0]) for k, v in effect_draws.items()}

    flat = table.reshape(-1)
    return {
        "spec": ir.spec.source,
        "treatment": ir.treatment,
        "outcome": ir.outcome,
        "mediators": list(ir.mediators),
        "covariates": list(ir.covariates),
        "n_obs": dataset.n_obs,
        "seed": seed,
        "convention": "control",
        "scale": scale,
        "effects": scalars(control),
        "effects_by_convention": {c: scalars(e) for c, e in by_convention.items()},
        "regimes": [
            {"t": t, "mediators": dict(zip(ir.mediators, ts)), "value": json_number(flat[j])}
            for j, (t, ts) in enumerate(regime_labels(ir.mediators))
        ],
        "joint_regimes": [
            {"t": t, "t_star": ts, "label": f"Ej({t};{ts})", "value": json_number(joint[0, t, ts])}
            for t in (0, 1)
            for ts in (0, 1)
        ],
        "params": _readable(ir, values),
        "drawn_from_prior": list(drawn),
        "exogenous": {
            name: ("two levels, probability 1/2 each" if ir.spec.code_for(name) is not None else EXOGENOUS)
            + (", one value per cluster" if name in by_cluster else "")
            for name in exogenous
        },
        "meaning": "the effects at these parameter values, averaged over these rows' covariates: "
        "what 'dagmed run' estimates from this data",
        **_cluster_truth(dataset, posterior, cluster_effects, by_cluster, scale, scalars),
    }


def _cluster_truth(dataset, posterior, effects, by_cluster, scale, scalars) -> dict:
    """With clusters: how they were drawn, their intercepts, and the effects in a new cluster."""
    if not dataset.clusters:
        return {}
    new = decompose(posterior, dataset, scale=scale, clusters="new")[2]
    sizes = {c: int(np.bincount(codes).max()) for c, (codes, _) in dataset.clusters.items()}
    return {
        "clusters": {c: {"clusters": len(labels), "size": sizes[c]} for c, (_, labels) in dataset.clusters.items()},
        "by_cluster": list(by_cluster),
        "cluster_effects": {k: [float(x) for x in np.asarray(v).reshape(-1)] for k, v in (effects or {}).items()},
        "effects_new_cluster": scalars(new),
        "meaning_clusters": "effects: over these rows, each with its own cluster's intercepts (what 'dagmed run' "
        "estimates by default); effects_new_cluster: in a new cluster drawn from the clusters' distribution "
        "(what 'dagmed run --clusters new' estimates)",
    }
