"""Data with a known unmeasured confounder of one mediator and the outcome, and their true effects.

The issue's case: two binary mediators, a covariate ``x``, and a binary ``U ~ Bernoulli(1/2)``,
independent of ``t`` and ``x``, adding ``STRENGTH`` (2) to the log-odds of ``m1`` and of ``y``.
``U`` is not in the data. The true effects are computed here by NumPy alone (never dagmed's
decomposition): every regime enumerated over ``m1, m2`` at each data row's ``x`` and at both
values of ``U`` (weight 1/2 each), which is the estimand dagmed's regimes average over.
Used by ``tests/effects/test_rows.py``, ``tests/study/test_confounding.py`` and ``bench/sensitivity.py``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

STRENGTH = 2.0
SPEC = """treatment t
outcome y
x -> t, m1, m2, y
t -> m1, m2, y
m1, m2 -> y
t, m1, m2, y ~ bernoulli
"""
# the true coefficients on the log-odds scale: intercept, then the named terms; U's last
PARAMS = {
    "t": (0.0, {"x": 0.3}),
    "m1": (-1.5, {"t": 1.0, "x": 0.5, "U": STRENGTH}),
    "m2": (-0.5, {"t": 0.8, "x": 0.3}),
    "y": (-2.0, {"t": 0.5, "m1": 1.0, "m2": 0.8, "x": 0.4, "U": STRENGTH}),
}


def _p(node: str, **values) -> np.ndarray:
    intercept, coef = PARAMS[node]
    eta = intercept + sum(b * np.asarray(values[k], dtype=float) for k, b in coef.items())
    return 1.0 / (1.0 + np.exp(-eta))


def simulate(n: int, seed: int) -> pd.DataFrame:
    """``n`` rows of ``x, t, m1, m2, y``; ``U`` drawn and left out."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    u = rng.binomial(1, 0.5, n)
    t = rng.binomial(1, _p("t", x=x))
    m1 = rng.binomial(1, _p("m1", t=t, x=x, U=u))
    m2 = rng.binomial(1, _p("m2", t=t, x=x))
    y = rng.binomial(1, _p("y", t=t, m1=m1, m2=m2, x=x, U=u))
    return pd.DataFrame({"x": x, "t": t, "m1": m1, "m2": m2, "y": y})


def regime(x: np.ndarray, t: int, t1: int, t2: int) -> float:
    """``E(t; t1, t2)``: the mean over the rows' ``x`` and ``U`` in {0, 1} (1/2 each) of
    ``sum_{m1, m2} P(y = 1 | t, m1, m2, x, U) P(m1 | t1, x, U) P(m2 | t2, x)``."""
    total = 0.0
    for u in (0, 1):
        q1, q2 = _p("m1", t=t1, x=x, U=u), _p("m2", t=t2, x=x)
        for m1, m2 in itertools.product((0, 1), repeat=2):
            w = (q1 if m1 else 1 - q1) * (q2 if m2 else 1 - q2)
            total += 0.5 * np.mean(w * _p("y", t=t, m1=m1, m2=m2, x=x, U=u))
    return total


def truth(data: pd.DataFrame) -> dict[str, float]:
    """TE, DE, IIE[m1], IIE[m2], INT[m1,m2] and DEP (the remainder) in the control convention (docs/effects.md)."""
    x = data["x"].to_numpy(float)
    E = {k: regime(x, *k) for k in itertools.product((0, 1), repeat=3)}
    return {
        "TE": E[1, 1, 1] - E[0, 0, 0],
        "DE": E[1, 0, 0] - E[0, 0, 0],
        "IIE[m1]": E[0, 1, 0] - E[0, 0, 0],
        "IIE[m2]": E[0, 0, 1] - E[0, 0, 0],
        "INT[m1,m2]": E[0, 1, 1] - E[0, 1, 0] - E[0, 0, 1] + E[0, 0, 0],
        "DEP": E[1, 1, 1] - E[1, 0, 0] - (E[0, 1, 1] - E[0, 0, 0]),
    }
