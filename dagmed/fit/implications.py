"""The data's verdict on the graph: the conditional independencies the DAG implies, tested.

Each :class:`~dagmed.graph.implied.Implication` (the graph's, :func:`dagmed.graph.implied.implications`)
is tested in its node's GLM, as the model IR has it (family, link, design terms): the
candidate is added and its coefficient tested with the likelihood-ratio test of the two
nested GLMs (statsmodels, fitted by maximum likelihood), Holm-adjusted over all
implications. A rejected implication names the edge that would explain the data, from the
candidate to the node. :func:`format_contradiction` and :func:`format_summary` give the
lines that people and scripts read.

Examples
--------
>>> import dagmed, numpy as np, pandas as pd
>>> spec = dagmed.parse("treatment t\\noutcome y\\nt -> m1, m2 -> y\\nt -> y\\nm1, m2, y ~ bernoulli\\n")
>>> rng = np.random.default_rng(1)
>>> t = rng.integers(0, 2, 500)
>>> m1 = rng.binomial(1, 0.3 + 0.4 * t)
>>> m2 = rng.binomial(1, 0.2 + 0.6 * m1)          # m1 -> m2, which the graph lacks
>>> y = rng.binomial(1, 0.2 + 0.2 * m1 + 0.3 * m2)
>>> dataset = dagmed.load_data(spec, pd.DataFrame({"t": t, "m1": m1, "m2": m2, "y": y}))
>>> for line in lines(test_implications(dataset)):
...     print(line)
the data contradict m2 ⟂ m1 | t: log-odds 2.50 [2.0, 3.0], p < 1e-20; consider m1 -> m2
the data agree with 0 of 1 independencies the graph implies (Holm-adjusted, alpha 0.05)
"""

from __future__ import annotations

import math
import sys
import warnings
from dataclasses import asdict, dataclass

import numpy as np

from ..errors import SpecError
from ..graph.implied import Implication, implications
from ..lang.families import LINKS, Family

ALPHA = 0.05
INTERVAL = 0.95  # the Wald interval of the added coefficient
P_FLOOR = 1e-20  # below it the p-value is written "p < 1e-20"
# A fitted mean this close to the edge of its range means the coefficients diverge (separation).
SEPARATION_EPS = 1e-8


@dataclass(frozen=True)
class ImplicationTest:
    """The likelihood-ratio test of one :class:`Implication` in ``node``'s GLM.

    Attributes
    ----------
    node, candidate, given
        As in :class:`Implication`.
    link : str
        The link of ``node``'s family: ``estimate`` is on its scale (log-odds for logit,
        log rate ratio for log, slope for identity).
    estimate, low, high : float
        The candidate's coefficient in the extended model and its 95% Wald interval;
        infinite (interval NaN) when the coefficient diverges (separation); NaN when untested.
    statistic : float
        The likelihood-ratio statistic ``2 (llf_extended - llf_nested)``, chi-squared with one
        degree of freedom under the implication.
    p : float
        Its raw p-value (NaN when the test could not be done, see ``note``).
    p_holm : float
        Holm-adjusted over every tested implication of the graph.
    rejected : bool
        ``p_holm`` at most ``alpha``: the data contradict the implication.
    alpha : float
        The family-wise level of the Holm procedure.
    n_obs : int
        Rows used.
    note : str or None
        Why the test was not done, or why its estimate is not finite.

    Examples
    --------
    >>> t = ImplicationTest("y", "x", (), "identity", 0.5, 0.3, 0.7, 25.0, 6e-7, 6e-7, True, 0.05, 100, None)
    >>> t.implication, t.tested
    (Implication(node='y', candidate='x', given=()), True)
    """

    node: str
    candidate: str
    given: tuple[str, ...]
    link: str
    estimate: float
    low: float
    high: float
    statistic: float
    p: float
    p_holm: float
    rejected: bool
    alpha: float
    n_obs: int
    note: str | None = None

    @property
    def implication(self) -> Implication:
        return Implication(self.node, self.candidate, self.given)

    @property
    def tested(self) -> bool:
        """The test was done: it has a p-value."""
        return not math.isnan(self.p)

    def as_dict(self) -> dict:
        """A JSON-ready record (NaN and infinities as None), with the implication as text.

        Examples
        --------
        >>> t = ImplicationTest("y", "x", (), "identity", 0.5, 0.3, 0.7, 25.0, 6e-7, 6e-7, True, 0.05, 100, None)
        >>> d = t.as_dict()
        >>> d["implication"], d["scale"], d["given"], d["suggest"]
        ('y ⟂ x', 'slope', [], 'x -> y')
        """
        d = asdict(self)
        d = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}
        d["given"] = list(self.given)
        d["implication"] = str(self.implication)
        d["scale"] = LINKS[self.link].scale if self.link in LINKS else self.link
        d["suggest"] = self.implication.edge
        return d


# ---- tests against the data ---------------------------------------------------------------


@dataclass(frozen=True)
class _Fit:
    llf: float
    estimate: float  # of the last column
    se: float
    separated: bool


class _Collinear(ValueError):
    """The design matrix is rank-deficient: a column is a combination of the others (or constant)."""


def _fit(y: np.ndarray, X: np.ndarray, family: Family) -> _Fit:
    """One GLM by maximum likelihood; raises ValueError (:class:`_Collinear` for a rank-deficient design) with a reason."""
    # statsmodels.api would import all of statsmodels (a third of a second more)
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM
    from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise _Collinear()
    sm_family = getattr(families, family.statsmodels)()  # its canonical link, which is the family row's
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = GLM(y, X, family=sm_family).fit()
        except (np.linalg.LinAlgError, FloatingPointError, ValueError) as exc:
            raise ValueError(f"{type(exc).__name__}: {exc}") from None
    llf = float(res.llf)
    if not np.isfinite(llf) or not np.all(np.isfinite(res.params)):
        raise ValueError("the fit did not give a finite likelihood")
    mu = np.asarray(res.fittedvalues)
    separated = any(issubclass(w.category, PerfectSeparationWarning) for w in caught)
    low, high = family.link.mean_range  # a mean at the edge of its range: the coefficients diverge
    separated |= bool(np.any(mu < low + SEPARATION_EPS)) if np.isfinite(low) else False
    separated |= bool(np.any(mu > high - SEPARATION_EPS)) if np.isfinite(high) else False
    return _Fit(llf, float(res.params[-1]), float(res.bse[-1]), separated)


def _one_test(node, candidate, given, family, y, X0, x, nested):
    """``(estimate, low, high, statistic, p, note)`` for one implication; ``nested`` is the node's fit or the reason it failed."""
    from scipy import stats

    nan = float("nan")
    untested = lambda why: (nan, nan, nan, nan, nan, f"not tested: {why}")  # noqa: E731
    if isinstance(nested, str):
        return untested(nested)
    if nested.separated:
        return untested(
            f"{node}'s model without {candidate} already separates (fitted means at the edge of "
            f"their range): a likelihood-ratio test of an added coefficient is not valid there"
        )
    if np.ptp(x) == 0:
        return untested(f"{candidate} is constant in the rows used")
    try:
        ext = _fit(y, np.column_stack([X0, x]), family)
    except _Collinear:
        return untested(f"{candidate} is collinear with {', '.join(given) or 'the intercept'} in the rows used")
    except ValueError as exc:
        return untested(f"{node}'s model with {candidate} could not be fitted ({exc})")
    statistic = max(2.0 * (ext.llf - nested.llf), 0.0)
    p = float(stats.chi2.sf(statistic, df=1))
    if ext.separated:
        # The coefficient diverges; the likelihood ratio has a finite limit and stays valid.
        note = f"separation: {candidate} predicts {node} perfectly in part, so its coefficient is infinite"
        return math.copysign(math.inf, ext.estimate), nan, nan, statistic, p, note
    z = float(stats.norm.ppf(0.5 + INTERVAL / 2))
    return ext.estimate, ext.estimate - z * ext.se, ext.estimate + z * ext.se, statistic, p, None


def _informative(node, dataset, y: np.ndarray) -> np.ndarray:
    """The rows outside any of the node's clusters whose values all sit at an edge of its mean's range.

    With a cluster's fixed effect (:func:`_with_clusters`), a cluster whose binary node is all 0
    or all 1 (a count all 0) is fitted exactly, its coefficient infinite: the rows add nothing to
    either likelihood of the test and would only make the fit separate, so they are left out.
    """
    keep = np.ones(len(y), dtype=bool)
    low, high = node.family.link.mean_range
    for c in node.clusters:
        codes = dataset.clusters[c.column][0]
        for edge in (low, high):
            if np.isfinite(edge):
                off = np.bincount(codes, weights=(y != edge) & np.isfinite(y), minlength=codes.max() + 1)
                keep &= off[codes] > 0
    return keep


def _with_clusters(X0: np.ndarray, node, dataset, used: np.ndarray) -> np.ndarray:
    """The node's design with its clusters as fixed effects: one indicator per cluster but the first, per column.

    The graph's independencies hold given each row's cluster (its intercepts are a common cause
    of the nodes they enter), so the test conditions on it. A column that the others span (the
    treatment of a cluster-randomised trial, constant within its clusters) is left out: the
    fitted values, and so the likelihood-ratio test, are the same without it.
    """
    if not node.clusters:
        return X0
    columns = list(X0.T)
    for c in node.clusters:
        codes = dataset.clusters[c.column][0][used]
        columns += [(codes == g).astype(float) for g in np.unique(codes)[1:]]
    kept, basis = [], np.zeros((X0.shape[0], 0))
    for col in columns:  # greedy Gram-Schmidt: keep a column when it adds a direction (twice, for rounding)
        r = col - basis @ (basis.T @ col)
        r = r - basis @ (basis.T @ r)
        norm = np.linalg.norm(r)
        if norm > 1e-9 * max(np.linalg.norm(col), 1.0):
            kept.append(col)
            basis = np.column_stack([basis, r / norm])
    return np.column_stack(kept)


def _nested_fit(y, X0, family):
    try:
        return _fit(y, X0, family)
    except _Collinear:
        return "its parents are collinear in the rows used"
    except ValueError as exc:
        return f"its model could not be fitted ({exc})"


def _holm(p: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Holm-adjusted p-values and rejections over the finite entries of ``p`` (NaN stays NaN, not rejected)."""
    from statsmodels.stats.multitest import multipletests

    adjusted = np.full(len(p), np.nan)
    rejected = np.zeros(len(p), dtype=bool)
    ok = np.isfinite(p)
    if ok.any():
        rejected[ok], adjusted[ok], _, _ = multipletests(p[ok], alpha=alpha, method="holm")
    return adjusted, rejected


def test_implications(dataset, alpha: float = ALPHA) -> list[ImplicationTest]:
    """Test every implication of the graph against the data (likelihood-ratio tests, Holm-adjusted).

    For each :class:`Implication` ``node ⟂ candidate | given``, two GLMs of ``node`` in its
    family are fitted by maximum likelihood (statsmodels): on an intercept and its design
    terms (the node's own model, as the IR has it), and with ``candidate`` added. Twice their log-likelihood
    difference is referred to chi-squared with one degree of freedom; the p-values are
    Holm-adjusted over every implication tested, so the chance that any implication that
    holds is reported is at most ``alpha`` (asymptotically).

    Parameters
    ----------
    dataset : dagmed.model.data.Dataset
        The data (:func:`dagmed.load_data`), one float column per observed node, loaded for
        the model IR whose nodes are tested (``dataset.ir``).
    alpha : float
        Family-wise level.

    Returns
    -------
    list of ImplicationTest
        In the order of :func:`implications`. A test that cannot be done (a collinear or
        constant candidate, a node model that separates or fails to fit) has NaN p-values,
        is not rejected, is left out of the Holm adjustment, and says why in ``note``.

    Examples
    --------
    A candidate that copies a parent cannot be tested, and the test says so:

    >>> import dagmed, numpy as np, pandas as pd
    >>> spec = dagmed.parse("treatment t\\noutcome y\\nx -> t\\nt -> y\\nt, y ~ bernoulli\\n")
    >>> rng = np.random.default_rng(0)
    >>> x = rng.integers(0, 2, 50)
    >>> df = pd.DataFrame({"x": x, "t": x, "y": rng.integers(0, 2, 50)})
    >>> [t.note for t in test_implications(dagmed.load_data(spec, df))]
    ['not tested: x is collinear with t in the rows used']
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha!r}")
    ir = dataset.ir
    nested_fits = {}  # one fit of each node's own model per set of rows
    rows = []
    for imp in implications(ir.analysis):
        node = ir.node(imp.node)
        columns = {c: dataset[c] for c in (imp.node, *node.parents, imp.candidate)}
        used = np.all(
            np.isfinite(list(columns.values())), axis=0
        )  # complete rows (all, unless missing values are modelled)
        used &= _informative(node, dataset, columns[imp.node])
        kept = {c: v[used] for c, v in columns.items()}
        y, x = kept[imp.node], kept[imp.candidate]
        X0 = np.column_stack([np.ones(int(used.sum())), *(t.values(kept) for t in node.terms)])
        X0 = _with_clusters(X0, node, dataset, used)
        key = (imp.node, None if used.all() else imp.candidate)
        if node.family.statsmodels is None:  # a family row without a statsmodels family
            nested_fits[key] = f"no likelihood-ratio test for family {node.family.name}"
        elif key not in nested_fits:
            nested_fits[key] = _nested_fit(y, X0, node.family)
        result = _one_test(imp.node, imp.candidate, imp.given, node.family, y, X0, x, nested_fits[key])
        rows.append((imp, node.family.link.name, int(used.sum()), result))
    adjusted, rejected = _holm(np.array([r[3][4] for r in rows], dtype=float), alpha)
    return [
        ImplicationTest(
            imp.node, imp.candidate, imp.given, link, est, low, high, stat, p, float(adj), bool(rej), alpha, n, note
        )
        for (imp, link, n, (est, low, high, stat, p, note)), adj, rej in zip(rows, adjusted, rejected)
    ]


test_implications.__test__ = False  # a library function, not a pytest test


# ---- the lines people and scripts read ----------------------------------------------------


def format_p(p: float) -> str:
    """``p < 1e-20`` below the floor, else ``p = `` with two significant digits.

    Examples
    --------
    >>> format_p(3e-26), format_p(0.003), format_p(0.01234), format_p(4.56e-7)
    ('p < 1e-20', 'p = 0.003', 'p = 0.012', 'p = 4.6e-07')
    """
    return "p < 1e-20" if p < P_FLOOR else f"p = {p:.2g}"


def format_contradiction(test: ImplicationTest) -> str:
    """The one line for a rejected implication: what the data contradict, by how much, which edge to consider.

    The p-value shown is the Holm-adjusted one, the one compared with ``alpha``.

    Examples
    --------
    >>> t = ImplicationTest("sub_exp", "dev_peer", ("fam_int", "gender", "conflict"), "logit",
    ...                     2.3829, 1.8999, 2.8659, 112.2, 3e-26, 3e-26, True, 0.05, 410)
    >>> format_contradiction(t)
    'the data contradict sub_exp ⟂ dev_peer | fam_int, gender, conflict: log-odds 2.38 [1.9, 2.9], p < 1e-20; consider dev_peer -> sub_exp'
    >>> t = ImplicationTest("m2", "x", (), "log", -0.412, -0.61, -0.21, 9.1, 0.0031, 0.0062, True, 0.05, 200)
    >>> format_contradiction(t)
    'the data contradict m2 ⟂ x: log rate ratio -0.41 [-0.6, -0.2], p = 0.0062; consider x -> m2'
    """
    word = LINKS[test.link].scale if test.link in LINKS else test.link
    if math.isinf(test.estimate):
        size = f"{word} {'+' if test.estimate > 0 else '-'}inf (separation)"
    else:
        size = f"{word} {test.estimate:.2f} [{test.low:.1f}, {test.high:.1f}]"
    return f"the data contradict {test.implication}: {size}, {format_p(test.p_holm)}; consider {test.implication.edge}"


def format_summary(tests: list[ImplicationTest]) -> str:
    """One line for the implications the data do not contradict (and those not tested).

    Examples
    --------
    >>> ok = ImplicationTest("y", "x", (), "identity", 0.01, -0.1, 0.1, 0.1, 0.8, 1.0, False, 0.05, 100)
    >>> bad = ImplicationTest("y", "z", (), "identity", 0.5, 0.3, 0.7, 25.0, 6e-7, 1e-6, True, 0.05, 100)
    >>> format_summary([ok, ok, bad])
    'the data agree with 2 of 3 independencies the graph implies (Holm-adjusted, alpha 0.05)'
    >>> format_summary([])
    'the graph implies no independence among the observed nodes that a model can test'
    """
    if not tests:
        return "the graph implies no independence among the observed nodes that a model can test"
    done = [t for t in tests if t.tested]
    agree = sum(not t.rejected for t in done)
    line = f"the data agree with {agree} of {len(done)} independencies the graph implies (Holm-adjusted, alpha {tests[0].alpha:g})"
    untested = [t for t in tests if not t.tested]
    if untested:
        line += f"; {len(untested)} not tested ({'; '.join(f'{t.implication}: {t.note}' for t in untested)})"
    return line


def lines(tests: list[ImplicationTest]) -> list[str]:
    """The contradictions, one line each, then the summary line: what ``check --data`` and ``run`` print.

    Examples
    --------
    >>> ok = ImplicationTest("y", "x", (), "identity", 0.01, -0.1, 0.1, 0.1, 0.8, 1.0, False, 0.05, 100)
    >>> lines([ok])
    ['the data agree with 1 of 1 independencies the graph implies (Holm-adjusted, alpha 0.05)']
    """
    return [format_contradiction(t) for t in tests if t.rejected] + [format_summary(tests)]


def verdict(dataset, strict: bool = False, log=None) -> list:
    r"""The data's verdict on the graph: every testable independence it implies (MATH.md 3d).

    Each contradiction is logged as a warning line (``the data contradict ...``), the
    passing ones summarised in one line; with ``strict`` the first contradiction is raised
    instead, located at the node whose model it was tested in.

    Returns
    -------
    list of ImplicationTest

    Examples
    --------
    >>> import dagmed, numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> t = rng.binomial(1, 0.5, 300); m1 = rng.binomial(1, 0.3 + 0.4 * t); m2 = rng.binomial(1, 0.2 + 0.6 * m1)
    >>> y = rng.binomial(1, 0.2 + 0.2 * m1 + 0.2 * m2)
    >>> spec = dagmed.parse("treatment t\noutcome y\nt -> m1, m2 -> y\nt -> y\nm1, m2, y ~ bernoulli\n")
    >>> df = pd.DataFrame({"t": t, "m1": m1, "m2": m2, "y": y})
    >>> tests = verdict(dagmed.load_data(spec, df), log=print)
    dagmed: warning: the data contradict m2 ⟂ m1 | t: log-odds ...; consider m1 -> m2
    implications: the data agree with 0 of 1 independencies the graph implies (Holm-adjusted, alpha 0.05)
    """
    log = log or (lambda msg: print(msg, file=sys.stderr))
    tests = test_implications(dataset)
    rejected = [t for t in tests if t.rejected]
    if strict and rejected:
        t = rejected[0]
        raise SpecError(f"{format_contradiction(t)} (--strict)", **dataset.ir.loc_of(t.node))
    for t in rejected:
        log(f"dagmed: warning: {format_contradiction(t)}")
    # said here rather than left for the reader to guess: how the tests treat the clusters (docs/clusters.md)
    given = " (each node's clusters as fixed effects in its tests)"
    log(f"implications: {format_summary(tests)}{given if dataset.clusters else ''}")
    return tests
