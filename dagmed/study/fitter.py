r"""One fit of a simulation study, as a worker runs it: simulate, fit, decompose, compare with the truth.

A study fits hundreds of datasets of one spec. What does not depend on the dataset is made
once per worker process and kept in a module-level cache keyed by the study's
:attr:`Design.key` (the spec's text, the parameters and the sampling options): the checked
spec and its model IR, a :class:`~dagmed.study.simulate.Simulator` per sample size (the
generative model, the parameters checked, the forward-sampling function compiled), and the
model with data attached and its fast density's plan (:mod:`dagmed.fit.fastglm`), made from the
first dataset. Every later dataset is *swapped in*: only the arrays of distinct rows that
the cached numba density reads are made anew (:func:`swap_data`); nothing is rebuilt or
compiled. Each fit then costs its simulation, its sampling and its decomposition; no
pictures, predictive draws, implication tests or prior sensitivity.

:func:`fit_one` never raises for a problem of the fit itself: a dataset that cannot be fitted
gives one row carrying its error, so that a study goes on.

Examples
--------
>>> rep_seeds(1, 200, 0) == rep_seeds(1, 200, 0), rep_seeds(1, 200, 0) == rep_seeds(1, 200, 1)
(True, False)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
import warnings
from dataclasses import dataclass

import numpy as np

from .. import compat
from ..effects import decomposition, regimes
from ..effects.kinds import CONVENTIONS
from ..errors import DagmedError, DataError, UsageError
from ..fit import diagnostics, sampling
from ..graph.analysis import check
from ..lang import parse
from ..lang.vocabulary import SCALES
from ..model import compiler
from ..model import data as data_mod
from ..report.summary import summarize
from .simulate import Clusters, Simulator

POWER, CALIBRATE = "power", "calibrate"
HDI_PROB = 0.95  # power: the 95% HDI excludes the null
CALIBRATION_LEVELS = (0.5, 0.8, 0.95)  # calibrate: coverage of these HDIs

# results.csv: one row per (n, rep, effect); the columns first, then what reproduces or explains a row.
RESULT_COLUMNS = (
    "n",
    "rep",
    "effect",
    "mean",
    "sd",
    "hdi_low",
    "hdi_high",
    "truth",
    "covered",
    "excludes_zero",
    "seconds",
    "worker",
    "divergences",
    "rhat_max",
    "error",
    "data_seed",
    "fit_seed",
    "simulate_s",
    "setup_s",
    "sample_s",
    "decompose_s",
)
CALIBRATION_COLUMNS = ("rank", "draws", *(f"covered_{round(100 * p)}" for p in CALIBRATION_LEVELS))


@dataclass(frozen=True)
class Design:
    """What a study fits, the same for every (n, rep): sent to the workers with each fit.

    Attributes
    ----------
    mode : {"power", "calibrate"}
        ``calibrate`` draws every parameter from its prior for each rep (``params`` is None).
    spec_text, spec_source : str
        The spec's text and where it came from (for messages).
    params : dict or None
        Parameter values (the params file's mapping); those not given are drawn from their
        priors for each rep.
    sampler : dict
        :class:`~dagmed.fit.sampling.SamplerSettings` fields: draws, tune, chains, cores,
        target_accept, sampler.
    convention : {"control", "treated"}
    seed : int
        The study's seed: every rep's seeds derive from it (:func:`rep_seeds`).
    cluster_size : int or None
        With cluster statements: rows per cluster; a dataset of n rows has ``n / cluster_size``
        clusters (:class:`~dagmed.study.simulate.Clusters`). None without.
    by_cluster : tuple of str
        Nodes without a family drawn once per cluster (a cluster-randomised treatment).
    """

    mode: str
    spec_text: str
    spec_source: str
    params: dict | None
    sampler: dict
    convention: str
    seed: int
    cluster_size: int | None = None
    by_cluster: tuple = ()

    @property
    def key(self) -> str:
        """The worker cache's key: everything but the seed (the compiled model does not depend on it)."""
        what = [
            self.mode,
            self.spec_text,
            self.params,
            self.sampler,
            self.convention,
            self.cluster_size,
            self.by_cluster,
        ]
        return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()

    def clusters(self, n: int) -> Clusters | None:
        """The clusters of a dataset of ``n`` rows, or None without ``cluster_size``.

        Raises
        ------
        UsageError
            ``n`` is not a multiple of ``cluster_size`` of at least two clusters.

        Examples
        --------
        >>> d = Design("power", "", "", None, {}, "control", 1, cluster_size=25)
        >>> d.clusters(200).count
        8
        >>> d.clusters(210)
        Traceback (most recent call last):
        dagmed.errors.UsageError: --n 210 is not a whole number of clusters of 25 rows (--cluster-size); try 200 or 225
        """
        m = self.cluster_size
        if m is None:
            if self.by_cluster:
                raise UsageError("--by-cluster needs --cluster-size (and a spec with cluster statements)")
            return None
        if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
            raise UsageError(f"--cluster-size must be a positive integer, got {m!r}")
        if n % m or n < 2 * m:
            near = sorted({max(2, n // m) * m, max(2, -(-n // m)) * m})
            raise UsageError(
                f"--n {n} is not a whole number of clusters of {m} rows (--cluster-size); try {' or '.join(map(str, near))}"
            )
        return Clusters(n // m, m, tuple(self.by_cluster))

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns of ``results.csv`` for this mode."""
        return RESULT_COLUMNS + (CALIBRATION_COLUMNS if self.mode == CALIBRATE else ())


def rep_seeds(seed: int, n: int, rep: int) -> tuple[int, int]:
    """The seeds of one rep: ``(data_seed, fit_seed)``, from the study's seed, n and rep alone.

    Which worker fits a rep, and in which order, changes nothing: ``dagmed simulate --n N
    --seed DATA_SEED`` draws the rep's data again, ``dagmed run --seed FIT_SEED`` fits them alike.

    Examples
    --------
    >>> rep_seeds(1, 200, 0)
    (..., ...)
    >>> all(0 <= s < 2**31 for s in rep_seeds(1, 200, 0))
    True
    """
    state = np.random.SeedSequence([int(seed), int(n), int(rep)]).generate_state(2)
    return int(state[0] >> 1), int(state[1] >> 1)


# ---- the worker's cache ---------------------------------------------------------------------


class Prepared:
    """A study's per-worker state: the checked spec, a simulator per n, the attached model and fast plan per n."""

    def __init__(self, design: Design):
        self.design = design
        self.spec = parse(design.spec_text, design.spec_source)
        self.ir = None
        self.simulators: dict[int, Simulator] = {}
        self.models: dict[int, tuple] = {}  # n -> (model with the first dataset, its fast plan or None)

    def simulator(self, n: int) -> Simulator:
        if n not in self.simulators:
            clusters = self.design.clusters(n)
            self.simulators[n] = Simulator(self.spec, None if clusters else n, self.design.params, clusters)
            self.ir = self.simulators[n].ir
        return self.simulators[n]

    def model_for(self, n: int, dataset, settings):
        """The model and fast plan for ``dataset``: the first dataset's model, the data swapped in."""
        if n not in self.models:
            model = compiler.attach(self.simulator(n).model, dataset)
            self.models[n] = (model, sampling.fast_plan(model, settings, self.ir, dataset))
            return self.models[n]
        model, fast = self.models[n]
        if fast is None:  # no fast density (PyMC's sampler, or a family without one): the model is rebuilt
            return compiler.attach(self.simulator(n).model, dataset), None
        if fast.groups is not None or self.ir.cluster_columns:  # swap_data rebuilds plain, unclustered rows only
            model = compiler.attach(self.simulator(n).model, dataset)
            return model, sampling.fast_plan(model, settings, self.ir, dataset)
        return model, swap_data(fast, self.ir, dataset)


_CACHE: dict[str, Prepared] = {}


def prepared(design: Design) -> Prepared:
    """The cached :class:`Prepared` of ``design`` in this process, made on first use."""
    if design.key not in _CACHE:
        _CACHE.clear()  # one study at a time per worker: an old study's models are dropped
        _CACHE[design.key] = Prepared(design)
    return _CACHE[design.key]


def swap_data(fast, ir, dataset):
    """``fast`` (a :class:`~dagmed.fit.fastglm.FastModel`) with ``dataset``'s distinct rows in place of its own.

    The arrays :func:`dagmed.fit.fastglm.plan` makes from a model's data, made from the
    dataset's columns instead (the same values: an attached model holds the dataset's
    columns), in the same layout; the priors, names and shapes are the model's and stay.
    ``tests/study/test_fitter.py`` checks the result against :func:`~dagmed.fit.fastglm.plan`
    of the model with the dataset attached.

    Examples
    --------
    >>> import dagmed, pandas as pd
    >>> from dagmed.fit import fastglm
    >>> from dagmed.model.ir import ModelIR
    >>> spec = dagmed.parse("treatment t\\noutcome y\\nt -> y\\nt, y ~ bernoulli\\n")
    >>> ir = ModelIR.from_analysis(dagmed.check(spec))
    >>> first = fastglm.plan(ir, dagmed.compile(spec, pd.DataFrame({"t": [0, 1], "y": [1, 1]})))
    >>> other = dagmed.load_data(spec, pd.DataFrame({"t": [0, 1, 1, 0, 1], "y": [1, 0, 1, 0, 1]}))
    >>> [int(r) for r in swap_data(first, ir, other).rows]
    [2, 4]
    """
    columns = {name: np.asarray(dataset[name], dtype=np.float64) for name in ir.data_nodes}
    pmax = fast.design.shape[1]
    spec_order = {n.name: i for i, n in enumerate(ir.spec.nodes)}  # as plan() orders the nodes
    design, ys, ws, consts, nodes = [], [], [], [], []
    start = 0
    for g, node in enumerate(sorted(ir.nodes, key=lambda n: spec_order[n.name])):
        table = np.column_stack([*(t.values(columns) for t in node.terms), columns[node.name]])
        rows, counts = np.unique(table, axis=0, return_counts=True)
        padded = np.zeros((len(rows), pmax))
        padded[:, : rows.shape[1] - 1] = rows[:, :-1]
        y = rows[:, -1]
        design.append(padded)
        ys.append(y)
        ws.append(counts.astype(np.float64))
        consts.append(np.asarray(node.family.value_term(y), dtype=np.float64))
        row = fast.nodes[g].copy()
        row[1], row[2] = start, start + len(y)
        nodes.append(row)
        start += len(y)
    nodes = np.array(nodes, dtype=fast.nodes.dtype).reshape(-1, fast.nodes.shape[1])
    return dataclasses.replace(
        fast,
        nodes=nodes,
        design=np.concatenate(design),
        y=np.concatenate(ys),
        w=np.concatenate(ws),
        const=np.concatenate(consts),
        rows=nodes[:, 2] - nodes[:, 1],
    )


# ---- one fit --------------------------------------------------------------------------------


def worker_name() -> str:
    """The Dask worker running this fit (its address), or ``local`` outside a worker.

    Examples
    --------
    >>> worker_name()
    'local'
    """
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return "local"


def _threads() -> int:
    """Threads this worker may use: its Dask thread count (1 in a default study), else every core."""
    try:
        from distributed import get_worker

        return max(1, int(get_worker().state.nthreads))
    except (ImportError, ValueError, AttributeError):
        return 0


def fit_one(design: Design, n: int, rep: int) -> list[dict]:
    """Simulate rep ``rep`` of size ``n``, fit it, decompose, compare with its truth: one row per effect.

    A problem with this dataset (an error while simulating, fitting or decomposing) gives one
    row with the error in ``error`` instead of raising. Ctrl-C and the like are not caught.

    Examples
    --------
    >>> import dagmed
    >>> d = Design("power", "treatment t\\noutcome y\\nt -> y\\nt, y ~ bernoulli\\n", "<string>", None,
    ...            {"draws": 100, "tune": 100, "chains": 2}, "control", 1)
    >>> rows = fit_one(d, 40, 0)  # doctest: +SKIP
    >>> [r["effect"] for r in rows]  # doctest: +SKIP
    ['TE', 'DE', 'DEP']
    """
    t0 = time.perf_counter()
    data_seed, fit_seed = rep_seeds(design.seed, n, rep)
    base = {"n": int(n), "rep": int(rep), "worker": worker_name(), "data_seed": data_seed, "fit_seed": fit_seed}
    times = {"simulate_s": 0.0, "setup_s": 0.0, "sample_s": 0.0, "decompose_s": 0.0}
    threads = _threads()
    if threads:
        import numba

        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        with warnings.catch_warnings(), sampling.quiet():
            warnings.simplefilter("ignore")
            rows = _fit(design, n, data_seed, fit_seed, times, threads)
    except DagmedError as exc:
        rows = [{"error": str(exc)}]
    except Exception as exc:  # a study goes on: the failed fit is a row with its error
        rows = [{"error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"}]
    seconds = time.perf_counter() - t0
    return [{**base, **times, "seconds": round(seconds, 3), **row} for row in rows]


def _fit(design: Design, n: int, data_seed: int, fit_seed: int, times: dict, threads: int) -> list[dict]:
    t = time.perf_counter()
    state = prepared(design)
    simulator = state.simulator(n)
    ir = state.ir
    settings = sampling.SamplerSettings(
        **{"cores": threads or None, **design.sampler}, seed=fit_seed, progressbar=False
    )
    times["setup_s"] += time.perf_counter() - t
    t = time.perf_counter()
    sim = simulator.draw(data_seed)
    dataset = data_mod.load(ir, sim.data)
    times["simulate_s"] = time.perf_counter() - t
    t = time.perf_counter()
    model, fast = state.model_for(n, dataset, settings)
    times["setup_s"] += time.perf_counter() - t
    t = time.perf_counter()
    idata = sampling.sample(model, settings, fast)
    diag = diagnostics.diagnostics(idata, ess=False)  # a study reports R-hat and divergences, not ESS
    times["sample_s"] = time.perf_counter() - t
    t = time.perf_counter()
    scale = ir.spec.scale or "diff"  # the truth's scale (simulate's)
    _, _, effect_draws = decomposition.decompose(
        compat.group(idata, "posterior"), dataset, design.convention, scale=scale
    )
    truth = sim.truth["effects_by_convention"][design.convention]
    rows = compare(effect_draws, truth, SCALES[scale].null, design.mode, np.random.default_rng(fit_seed))
    times["decompose_s"] = time.perf_counter() - t
    for k in times:
        times[k] = round(times[k], 3)
    return [{**row, "divergences": diag["divergences"], "rhat_max": diag["rhat_max"]} for row in rows]


def compare(effect_draws: dict, truth: dict, null: float = 0.0, mode: str = POWER, rng=None) -> list[dict]:
    """Each effect's posterior summary against its true value: one row per effect.

    ``covered``: the 95% HDI holds the truth; ``excludes_zero``: it excludes the null (0 for
    a difference, 1 for a ratio). ``calibrate`` adds the truth's ``rank`` among the ``draws``
    (ties broken at random) and ``covered_50``, ``covered_80``, ``covered_95``. A truth that
    is not a number (a proportion mediated where TE is 0) is compared with nothing.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> draws = {"TE": rng.normal(0.3, 0.1, 4000)}
    >>> row = compare(draws, {"TE": 0.25})[0]
    >>> row["covered"], row["excludes_zero"], round(row["mean"], 2)
    (True, True, 0.3)
    >>> row = compare(draws, {"TE": 0.25}, mode="calibrate", rng=rng)[0]
    >>> row["draws"], 1000 < row["rank"] < 2000, row["covered_50"]
    (4000, True, True)
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    rows = []
    for name, draws in effect_draws.items():
        x = np.asarray(draws, dtype=float).reshape(-1)
        s = summarize(x, HDI_PROB, null)
        true = truth.get(name)
        true = float("nan") if true is None else float(true)
        known = np.isfinite(true) and np.isfinite(s["hdi_low"])
        row = {
            "effect": name,
            "mean": s["mean"],
            "sd": s["sd"],
            "hdi_low": s["hdi_low"],
            "hdi_high": s["hdi_high"],
            "truth": true,
            "covered": bool(s["hdi_low"] <= true <= s["hdi_high"]) if known else None,
            "excludes_zero": bool(s["hdi_low"] > null or s["hdi_high"] < null) if np.isfinite(s["hdi_low"]) else None,
        }
        if mode == CALIBRATE:
            finite = x[np.isfinite(x)]
            if known:
                below, ties = int((finite < true).sum()), int((finite == true).sum())
                row["rank"] = below + int(rng.integers(0, ties + 1))
            else:
                row["rank"] = None
            row["draws"] = int(finite.size)
            for p in CALIBRATION_LEVELS:
                lo, hi = (s["hdi_low"], s["hdi_high"]) if p == HDI_PROB else _hdi(finite, p)
                row[f"covered_{round(100 * p)}"] = bool(lo <= true <= hi) if known else None
        rows.append(row)
    return rows


def _hdi(x: np.ndarray, prob: float) -> tuple[float, float]:
    summary = summarize(x, prob)
    return summary["hdi_low"], summary["hdi_high"]


DESIGN_DRAWS = 5  # datasets check_design tries before it calls a design unfittable


def check_design(design: Design, n: int) -> None:
    """Refuse, before any fit starts, what every fit would refuse: the spec, the parameters, the options.

    Draws one small dataset of ``n`` rows in this process and asks of it what ``dagmed run``
    asks before sampling (a stated contrast for a treatment other than 0/1, a regime table
    that fits in memory).

    Raises
    ------
    DagmedError
        The spec is not well posed, a parameter is refused (named), a sampling option is
        out of range, the convention unknown, or the simulated data cannot be fitted.

    Examples
    --------
    >>> d = Design("power", "treatment t\\noutcome y\\nt -> y\\nt, y ~ bernoulli\\n", "<string>",
    ...            {"y_betta": 1.0}, {}, "control", 1)
    >>> check_design(d, 20)
    Traceback (most recent call last):
    dagmed.errors.UsageError: params: unknown parameter 'y_betta' (did you mean 'y_beta'?); valid options are t_intercept, y_intercept, y_beta
    """
    if design.convention not in CONVENTIONS:
        raise UsageError(f"unknown convention {design.convention!r}; valid options are {', '.join(CONVENTIONS)}")
    settings = sampling.SamplerSettings(**design.sampler, seed=design.seed, progressbar=False)
    settings.resolved_sampler()
    spec = parse(design.spec_text, design.spec_source)
    check(spec)
    if spec.clusters and design.cluster_size is None:
        columns = ", ".join(dict.fromkeys(c.column for c in spec.clusters))
        raise UsageError(
            f"the spec has cluster statements ({columns}): say how many rows each cluster has (--cluster-size 25); "
            f"each --n is then a number of rows, n / 25 clusters"
        )
    if design.cluster_size is not None and not spec.clusters:
        raise UsageError("--cluster-size given, but the spec has no cluster statement (add e.g. 'cluster school')")
    clusters = design.clusters(n)
    simulator = Simulator(spec, None if clusters else n, design.params, clusters)
    regimes.check_size(len(simulator.ir.mediators), settings.chains * settings.draws)
    # A small draw can be degenerate by chance (a treatment constant in 10 rows): that rep's row
    # will say so; the design is refused only when no draw of a few can be loaded.
    for attempt in range(DESIGN_DRAWS):
        try:
            dataset = data_mod.load(simulator.ir, simulator.draw(design.seed + attempt).data)
        except DataError:
            if attempt == DESIGN_DRAWS - 1:
                raise
        else:
            break
    data_mod.refuse_unstated_contrast(dataset)
