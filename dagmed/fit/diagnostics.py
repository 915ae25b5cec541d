"""Convergence diagnostics of a fit and the warnings they give (R-hat, bulk ESS, divergences).

R-hat is computed here in NumPy (:func:`rhat`), the rank-normalised split R-hat of Vehtari et
al. (2021) as ArviZ computes it (``az.rhat``, method ``"rank"``, ArviZ 0.x and arviz-stats
alike), for every parameter at once: a study reads it after each of hundreds of fits, and
ArviZ's per-variable ``xarray`` machinery cost more than the arithmetic.
``tests/fit/test_diagnostics.py`` checks it against ``az.rhat``.
"""

from __future__ import annotations

import warnings

import arviz as az
import numpy as np
from scipy import stats

from .. import compat

# Thresholds of a warning: R-hat above, bulk ESS below (Vehtari et al. 2021).
RHAT_MAX = 1.01
ESS_MIN = 400
BLOM = 3 / 8  # the ranks' fractional offset before the normal quantile (Blom 1958), ArviZ's


def rhat(draws) -> np.ndarray:
    """Rank-normalised split R-hat of each column of ``draws``: ``(chain, draw, ...)`` -> ``(...)``.

    Each chain is split in halves (the middle draw of an odd count left out); the draws are
    ranked over all chains, the ranks mapped to normal quantiles, and the classic R-hat taken
    of them (bulk) and of the folded draws ``|x - median|`` (tail); the larger of the two.
    NaN with fewer than 2 chains or 4 draws, or where a column holds a NaN, as ArviZ gives.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> r = rhat(rng.normal(size=(4, 500, 3)))
    >>> r.shape, bool((r < 1.01).all())
    ((3,), True)
    >>> shifted = rng.normal(size=(4, 500)) + np.arange(4)[:, None]  # chains that disagree
    >>> float(rhat(shifted)) > 1.1
    True
    >>> float(rhat(rng.normal(size=(1, 500))))
    nan
    """
    x = np.asarray(draws, dtype=float)
    shape = x.shape[2:]
    n_chain, n_draw = x.shape[:2]
    if n_chain < 2 or n_draw < 4:
        return np.full(shape, np.nan)
    x = x.reshape(n_chain, n_draw, -1)
    half = n_draw // 2
    split = np.concatenate([x[:, :half], x[:, n_draw - half :]], axis=0)  # (2 chains, half, columns)
    bulk = _rhat_of(_z_scale(split))
    folded = np.abs(split - np.median(split, axis=(0, 1)))
    tail = _rhat_of(_z_scale(folded))
    out = np.where(tail > bulk, tail, bulk)  # Python's max(bulk, tail), as ArviZ takes it: NaN bulk stays NaN
    out[np.isnan(x).any(axis=(0, 1))] = np.nan
    return out.reshape(shape)


def _z_scale(split: np.ndarray) -> np.ndarray:
    """The draws' ranks over chains and draws, per column, as normal quantiles (ArviZ's ``_z_scale``)."""
    rows = np.ascontiguousarray(split.reshape(-1, split.shape[2]).T)  # a column's draws contiguous: faster sorts
    rank = average_ranks(rows)
    z = stats.norm.ppf((rank - BLOM) / (rows.shape[1] - 2 * BLOM + 1))
    return z.T.reshape(split.shape)


def average_ranks(rows: np.ndarray) -> np.ndarray:
    """The ranks of each row's values, 1 to n, ties given the mean of their ranks (``scipy.stats.rankdata``'s "average").

    The same numbers as scipy's (a tie's mean rank, a whole or a half, is exact), from an
    unstable sort: scipy sorts stably, which took twice as long and changes nothing here.

    Examples
    --------
    >>> average_ranks(np.array([[0.3, 0.1, 0.3, 0.2]])).tolist()
    [[3.5, 1.0, 3.5, 2.0]]
    """
    order = np.argsort(rows, axis=1)
    ordered = np.take_along_axis(rows, order, axis=1)
    n = rows.shape[1]
    position = np.broadcast_to(np.arange(n), rows.shape)
    starts = np.ones(rows.shape, dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]  # a run of equal values begins
    ends = np.ones(rows.shape, dtype=bool)
    ends[:, :-1] = starts[:, 1:]
    first = np.maximum.accumulate(np.where(starts, position, 0), axis=1)
    last = np.minimum.accumulate(np.where(ends, position, n - 1)[:, ::-1], axis=1)[:, ::-1]
    ranks = np.empty(rows.shape)
    np.put_along_axis(ranks, order, (first + last) / 2 + 1, axis=1)
    return ranks


def _rhat_of(z: np.ndarray) -> np.ndarray:
    """Classic R-hat of each column of ``z`` ``(chain, draw, column)``: between- against within-chain variance."""
    n = z.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):  # a constant column: 0 / 0, NaN as in ArviZ
        between = n * np.var(np.mean(z, axis=1), axis=0, ddof=1)
        within = np.mean(np.var(z, axis=1, ddof=1), axis=0)
        return np.sqrt((between / within + n - 1) / n)


def rhat_max(posterior) -> float:
    """The worst R-hat over every parameter of ``posterior`` (a ``posterior`` group); NaN for one chain.

    Examples
    --------
    >>> import xarray as xr
    >>> rng = np.random.default_rng(0)
    >>> post = xr.Dataset({"a": (("chain", "draw"), rng.normal(size=(2, 500))),
    ...                    "b": (("chain", "draw", "k"), rng.normal(size=(2, 500, 3)))})
    >>> rhat_max(post) < 1.01
    True
    """
    # every parameter's columns in one array: one ranking and one quantile call for the lot
    columns = [posterior[v].transpose("chain", "draw", ...).values for v in posterior.data_vars]
    if not columns:
        return float("nan")
    n_chain, n_draw = columns[0].shape[:2]
    r = rhat(np.concatenate([np.asarray(c, dtype=float).reshape(n_chain, n_draw, -1) for c in columns], axis=2))
    return float(np.nanmax(r)) if r.size and not np.isnan(r).all() else float("nan")


def divergences(idata) -> int:
    """The number of divergent transitions of a fit (0 without ``sample_stats``).

    Examples
    --------
    >>> import xarray as xr
    >>> from dagmed.compat import inference_data
    >>> stats_ = xr.Dataset({"diverging": (("chain", "draw"), np.eye(2, 5, dtype=bool))})
    >>> divergences(inference_data(sample_stats=stats_))
    2
    """
    stats_ = compat.group(idata, "sample_stats") if "sample_stats" in compat.groups(idata) else {}
    return int(stats_["diverging"].sum()) if "diverging" in stats_ else 0


def diagnostics(idata, ess: bool = True) -> dict:
    """Worst R-hat and bulk ESS over the model's parameters, and the number of divergences.

    R-hat is NaN for a single chain (it compares chains). ``ess=False`` leaves the bulk ESS
    out (``ess_bulk_min`` is not in the result): a simulation study reports R-hat and
    divergences only, and ESS costs more than both.

    Examples
    --------
    >>> import xarray as xr
    >>> from dagmed.compat import inference_data
    >>> rng = np.random.default_rng(0)
    >>> idata = inference_data(posterior=xr.Dataset({"a": (("chain", "draw"), rng.normal(size=(2, 500)))}),
    ...                        sample_stats=xr.Dataset({"diverging": (("chain", "draw"), np.zeros((2, 500), bool))}))
    >>> d = diagnostics(idata)
    >>> d["rhat_max"] < 1.01, d["ess_bulk_min"] > 400, d["divergences"]
    (True, True, 0)
    >>> sorted(diagnostics(idata, ess=False))
    ['divergences', 'rhat_max']
    """
    post = compat.group(idata, "posterior")
    out = {"rhat_max": rhat_max(post)}
    if ess:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            values = az.ess(post, method="bulk")
        out["ess_bulk_min"] = min(float(np.nanmin(values[v].values)) for v in values.data_vars)
    out["divergences"] = divergences(idata)
    return out


def warnings_for(diag: dict) -> list[str]:
    """Human warnings for bad diagnostics (R-hat > 1.01, bulk ESS < 400, divergences).

    A diagnostic that is not in ``diag`` (no bulk ESS from ``diagnostics(..., ess=False)``)
    gives no warning.

    Examples
    --------
    >>> warnings_for({"rhat_max": 1.0, "ess_bulk_min": 1500.0, "divergences": 0})
    []
    >>> warnings_for({"rhat_max": 1.0, "ess_bulk_min": 1500.0, "divergences": 3})
    ['3 divergent transitions: raise --target-accept or reparameterise']
    """
    out = []
    if diag.get("rhat_max", np.nan) > RHAT_MAX:
        out.append(f"R-hat up to {diag['rhat_max']:.3f} (> 1.01): the chains disagree; sample longer")
    if diag.get("ess_bulk_min", np.inf) < ESS_MIN:
        out.append(f"bulk ESS as low as {diag['ess_bulk_min']:.0f} (< 400): more draws are needed for stable intervals")
    if diag.get("divergences"):
        out.append(f"{diag['divergences']} divergent transitions: raise --target-accept or reparameterise")
    return out
