"""A fused, compiled kernel for the regime table (numba; already required by pytensor).

Per draw and observation it evaluates the outcome mean at all ``2^(K+1)`` corners in a
small buffer that stays in cache, contracts the K mediator axes in place, and adds the
result to the draw's row: the same arithmetic as :func:`dagmed.decompose.regime_table`
without the large temporaries. Draws run in parallel.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(inline="always", cache=True)
def _inv(code, eta):
    """The inverse link by its code in :data:`dagmed.families.LINKS`: 0 logit, 1 identity, 2 log."""
    if code == 0:
        return 1.0 / (1.0 + np.exp(-eta))
    if code == 1:
        return eta
    return np.exp(eta)


@numba.njit(parallel=True, cache=True)
def regime_kernel(y_base, y_t, y_m, y_link, m_base, m_t, m_link):
    """``E(t; t_1..t_K)`` per draw, flattened: ``(S, 2^(K+1))`` in C order of ``[t, t_1..t_K]``.

    Parameters
    ----------
    y_base : (S, N) outcome linear predictor without treatment and mediators
    y_t : (S,) outcome coefficient of the treatment
    y_m : (S, K) outcome coefficients of the mediators
    m_base : (K, S, N) mediator linear predictors without the treatment
    m_t : (K, S) mediator coefficients of the treatment
    y_link, m_link : link codes (``dagmed.families.LINKS[name].code``); m_link has one per mediator
    """
    n_s, n_obs = y_base.shape
    k = y_m.shape[1]
    cells = 1 << (k + 1)
    out = np.zeros((n_s, cells))
    for s in numba.prange(n_s):
        buf = np.empty(cells)
        q = np.empty((k, 2))
        acc = np.zeros(cells)
        # bit b of a corner's index adds coef[b]: bit k is the treatment, bit k - 1 - j mediator j
        coef = np.empty(k + 1)
        coef[k] = y_t[s]
        for j in range(k):
            coef[k - 1 - j] = y_m[s, j]
        for i in range(n_obs):
            # outcome linear predictor at every corner, by doubling: one addition per corner,
            # the terms added in the order of the NumPy path (treatment, then each mediator)
            buf[0] = y_base[s, i]
            for b in range(k, -1, -1):
                half = 1 << b
                for idx in range(0, cells, 2 * half):
                    buf[idx + half] = buf[idx] + coef[b]
            for idx in range(cells):
                buf[idx] = _inv(y_link, buf[idx])
            for j in range(k):
                q[j, 0] = _inv(m_link[j], m_base[j, s, i])
                q[j, 1] = _inv(m_link[j], m_base[j, s, i] + m_t[j, s])
            # contract mediator j: its bit now indexes t_j instead of m_j
            for j in range(k):
                bit = 1 << (k - 1 - j)
                for idx in range(cells):
                    if idx & bit:
                        continue
                    r0 = buf[idx]
                    d = buf[idx | bit] - r0
                    buf[idx] = r0 + q[j, 0] * d
                    buf[idx | bit] = r0 + q[j, 1] * d
            for idx in range(cells):
                acc[idx] += buf[idx]
        for idx in range(cells):
            out[s, idx] = acc[idx] / n_obs
    return out
