"""Posterior summaries: one quantity's draws -> mean, median, sd, HDI, P(< 0); the effect and regime tables.

pandas and ArviZ are imported where a table is built, so that ``dagmed check`` stays light.
"""

from __future__ import annotations

import numpy as np

from .. import compat
from ..effects.kinds import regime_labels

HDI_PROB = 0.95
SUMMARY = ("mean", "median", "sd", "hdi_low", "hdi_high", "p_lt_0")


def below(null: float = 0.0) -> str:
    """The name of ``P(effect < null)``: ``p_lt_0`` for differences, ``p_lt_1`` for ratios.

    Examples
    --------
    >>> below(0.0), below(1.0)
    ('p_lt_0', 'p_lt_1')
    """
    return f"p_lt_{null:g}"


def json_number(v):
    """A JSON number: NaN and infinities become None (JSON has no NaN).

    Examples
    --------
    >>> json_number(0.5), json_number(float("nan")), json_number(float("inf"))
    (0.5, None, None)
    """
    v = float(v)
    return None if not np.isfinite(v) else v


def summarize(draws, hdi_prob: float = HDI_PROB, null: float = 0.0) -> dict:
    """Mean, median, sd, HDI and P(< 0) of one quantity's draws.

    Non-finite draws (e.g. a proportion mediated where TE = 0) are dropped first.

    Parameters
    ----------
    draws : array_like
        The posterior draws of one quantity, any shape.
    hdi_prob : float
        Probability mass of the highest-density interval.
    null : float
        The value of no effect: 0 for a difference, 1 for a ratio; ``P(< null)`` is reported
        as ``p_lt_0`` or ``p_lt_1`` (:func:`below`).

    Returns
    -------
    dict
        ``mean``, ``median``, ``sd``, ``hdi_low``, ``hdi_high``, ``p_lt_0``: floats, all NaN
        when no draw is finite.

    Examples
    --------
    >>> s = summarize([-1.0, 0.5, 1.0, 1.5, 2.0, float("nan")], hdi_prob=0.8)
    >>> s["mean"], s["p_lt_0"]
    (0.8, 0.2)
    >>> summarize([float("nan")])["sd"]
    nan
    """
    x = np.asarray(draws, dtype=float).reshape(-1)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return dict.fromkeys((*SUMMARY[:-1], below(null)), float("nan"))
    lo, hi = compat.hdi(x, hdi_prob)
    return {
        "mean": float(x.mean()),
        "median": float(np.median(x)),
        "sd": float(x.std(ddof=1)) if x.size > 1 else 0.0,
        "hdi_low": float(lo),
        "hdi_high": float(hi),
        below(null): float((x < null).mean()),
    }


def effects_table(effect_draws: dict, hdi_prob: float = HDI_PROB, null: float = 0.0):
    """One row per effect: mean, median, sd, hdi_low, hdi_high, p_lt_0 (what ``Result.effects`` is).

    Parameters
    ----------
    effect_draws : dict of str to numpy.ndarray
        Draws of each effect, in the order of the rows.
    hdi_prob : float
        Probability mass of the HDIs.
    null : float
        The value of no effect (:func:`summarize`).

    Returns
    -------
    pandas.DataFrame
        Indexed by effect name; NaN where no draw is finite.

    Examples
    --------
    >>> import numpy as np
    >>> draws = {"TE": np.array([0.1, 0.2, 0.3]), "DE": np.array([-0.1, 0.0, 0.4])}
    >>> effects_table(draws)[["mean", "p_lt_0"]].round(3)
        mean  p_lt_0
    TE   0.2   0.000
    DE   0.1   0.333
    """
    import pandas as pd

    rows = {name: summarize(d, hdi_prob, null) for name, d in effect_draws.items()}
    return pd.DataFrame.from_dict(rows, orient="index", columns=[*SUMMARY[:-1], below(null)])


def regimes_table(mediators, regime_draws: np.ndarray, hdi_prob: float = HDI_PROB):
    """One row per regime ``E(t; t_1..t_K)``: t, each mediator's t_k, mean, sd, hdi_low, hdi_high.

    Parameters
    ----------
    mediators : sequence of str
        The K mediators, in the order of the regime axes.
    regime_draws : numpy.ndarray
        Shape ``(S, 2, ..., 2)``: S draws, then the treatment and one axis per mediator.
    hdi_prob : float
        Probability mass of the HDIs.

    Returns
    -------
    pandas.DataFrame
        In the order of :func:`dagmed.effects.decomposition.regime_labels`: ``(t, t_1..t_K)`` counting
        in binary, ``t_K`` fastest.

    Examples
    --------
    >>> import numpy as np
    >>> draws = np.array([[[0.2, 0.3], [0.4, 0.5]], [[0.4, 0.5], [0.6, 0.7]]])  # 2 draws, K = 1
    >>> regimes_table(["m"], draws)[["t", "m", "mean"]]
       t  m  mean
    0  0  0   0.3
    1  0  1   0.4
    2  1  0   0.5
    3  1  1   0.6
    """
    import pandas as pd

    flat = regime_draws.reshape(regime_draws.shape[0], -1)
    rows = [
        {"t": t, **dict(zip(mediators, ts)), **summarize(flat[:, j], hdi_prob)}
        for j, (t, ts) in enumerate(regime_labels(mediators))
    ]
    return pd.DataFrame(rows).drop(columns=["p_lt_0"])
