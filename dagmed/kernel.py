"""Fused, compiled kernels for the regime table (numba; already required by pytensor).

Per draw and observation a kernel evaluates the outcome mean at all ``2^(K+1)`` corners in
a small buffer that stays in cache, contracts the K mediator axes in place with the
mediators' interventional marginals, and adds the result to the draw's row: the same
arithmetic as the named NumPy steps of :mod:`dagmed.decompose`, without the large
temporaries. Draws run in parallel.

Corner index convention: bit ``K`` is the treatment, bit ``K - 1 - j`` mediator ``j``
(C order of ``[t, m_0, ..., m_{K-1}]``). The link codes are :data:`dagmed.families.LINKS`'
``code`` (0 logit, 1 identity, 2 log).

Two kernels share the helpers:

* :func:`regime_kernel` takes the marginals ``q[k, s, i, t] = E[M_k | do(T=t), x_i]``
  (computed by :func:`dagmed.decompose.mediator_marginals`): independent mediators, or
  dependent ones whose means follow by substitution (affine links).
* :func:`dependent_regime_kernel` takes the binary mediators' own GLMs and their
  mediator-on-mediator coefficients, enumerates the joint ``P(M = m | do(T = t*), x_i)``
  down the mediator sub-DAG, and returns the marginal regimes and the joint regimes
  ``Ej(t; t*)`` (MATH.md section 3b).

Both average over the observations: with equal weights (``w`` of shape ``(0, 0)``, the
complete-data path, the arithmetic of before), or with a weight per draw and observation
``w[s, i]`` (missing covariates, MATH.md section 3c: an observation per value of a row's
missing binary covariates, weighted by its posterior probability), divided by the draw's
total weight.
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


@numba.njit(inline="always", cache=True)
def _predictor_corners(buf, base, coef, k):
    """The linear predictor at every corner by doubling, the terms added in the NumPy path's order."""
    cells = 1 << (k + 1)
    buf[0] = base
    for b in range(k, -1, -1):
        half = 1 << b
        for idx in range(0, cells, 2 * half):
            buf[idx + half] = buf[idx] + coef[b]


@numba.njit(inline="always", cache=True)
def _outcome_corners(buf, base, coef, k, link):
    """``buf[idx] = mu_Y`` at every corner, by doubling: one operation per corner.

    ``coef[b]`` is the coefficient of bit ``b``. Identity link: the linear predictor, one
    addition per corner, the terms added in the order of the NumPy path. Logit and log
    links: ``exp(a + b) = exp(a) exp(b)``, so the exponential at every corner is one
    multiplication from K + 2 exponentials (the relative error grows by at most (K + 1) eps);
    if a factor over- or underflows the corners fall back to one exponential each.
    """
    cells = 1 << (k + 1)
    if link == 1:
        _predictor_corners(buf, base, coef, k)
        return
    sign = -1.0 if link == 0 else 1.0  # logit needs exp(-eta), log exp(eta)
    buf[0] = np.exp(sign * base)
    finite = 0.0 < buf[0] < np.inf
    for b in range(k, -1, -1):
        f = np.exp(sign * coef[b])
        finite = finite and 0.0 < f < np.inf
        half = 1 << b
        for idx in range(0, cells, 2 * half):
            buf[idx + half] = buf[idx] * f
    if not finite:  # a factor of 0 or inf could meet its inverse: 0 * inf is NaN
        _predictor_corners(buf, base, coef, k)
        for idx in range(cells):
            buf[idx] = _inv(link, buf[idx])
        return
    if link == 0:
        for idx in range(cells):
            buf[idx] = 1.0 / (1.0 + buf[idx])


@numba.njit(inline="always", cache=True)
def _contract(buf, q, k):
    """Contract each mediator axis in place: its bit now indexes ``t_j`` instead of ``m_j``."""
    cells = 1 << (k + 1)
    for j in range(k):
        bit = 1 << (k - 1 - j)
        for start in range(0, cells, 2 * bit):  # the corners whose bit is 0, in blocks: no branch
            for idx in range(start, start + bit):
                r0 = buf[idx]
                d = buf[idx + bit] - r0
                buf[idx] = r0 + q[j, 0] * d
                buf[idx + bit] = r0 + q[j, 1] * d


@numba.njit(inline="always", cache=True)
def _outcome_coefs(coef, y_t, y_m, s, k):
    coef[k] = y_t[s]
    for j in range(k):
        coef[k - 1 - j] = y_m[s, j]


@numba.njit(inline="always", cache=True)
def _accumulate(acc, buf, w, s, i, cells):
    """``acc += w[s, i] buf`` (weighted), or ``acc += buf`` when ``w`` is empty; returns the weight."""
    if w.shape[0] == 0:
        for idx in range(cells):
            acc[idx] += buf[idx]
        return 1.0
    wi = w[s, i]
    for idx in range(cells):
        acc[idx] += wi * buf[idx]
    return wi


@numba.njit(inline="always", cache=True)
def _store_mean(out, acc, s, weight, w, n_obs):
    """``out[s] = acc / total weight`` (N when unweighted); returns the total weight."""
    if w.shape[0] == 0:
        weight = float(n_obs)
    for idx in range(acc.shape[0]):
        out[s, idx] = acc[idx] / weight
    return weight


LANES = 4  # observations processed side by side: the inner loops run over them (SIMD)


@numba.njit(inline="always", cache=True)
def _corners_block(bufb, base, coef, fac, factors_finite, k, link, tmp):
    """:func:`_outcome_corners` for :data:`LANES` observations at once, one per lane (``base[lane]``).

    ``fac[b] = exp(+-coef[b])`` is computed once per draw; a lane whose own exponential (or
    a factor) over- or underflows is redone with one exponential per corner.
    """
    cells = 1 << (k + 1)
    if link == 1:
        for b in range(LANES):
            bufb[0, b] = base[b]
        for bit in range(k, -1, -1):
            half = 1 << bit
            c = coef[bit]
            for idx in range(0, cells, 2 * half):
                for b in range(LANES):
                    bufb[idx + half, b] = bufb[idx, b] + c
        return
    sign = -1.0 if link == 0 else 1.0
    for b in range(LANES):
        bufb[0, b] = np.exp(sign * base[b])
    for bit in range(k, -1, -1):
        half = 1 << bit
        f = fac[bit]
        for idx in range(0, cells, 2 * half):
            for b in range(LANES):
                bufb[idx + half, b] = bufb[idx, b] * f
    if link == 0:
        for idx in range(cells):
            for b in range(LANES):
                bufb[idx, b] = 1.0 / (1.0 + bufb[idx, b])
    for b in range(LANES):  # a factor of 0 or inf could meet its inverse (0 * inf is NaN): redo the lane
        e0 = np.exp(sign * base[b])
        if not (factors_finite and 0.0 < e0 < np.inf):
            _outcome_corners(tmp, base[b], coef, k, link)
            for idx in range(cells):
                bufb[idx, b] = tmp[idx]


@numba.njit(inline="always", cache=True)
def _contract_block(bufb, qb, k):
    """:func:`_contract` for :data:`LANES` observations side by side (``qb[j, t, lane]``)."""
    cells = 1 << (k + 1)
    for j in range(k):
        bit = 1 << (k - 1 - j)
        for start in range(0, cells, 2 * bit):
            for idx in range(start, start + bit):
                for b in range(LANES):
                    r0 = bufb[idx, b]
                    d = bufb[idx + bit, b] - r0
                    bufb[idx, b] = r0 + qb[j, 0, b] * d
                    bufb[idx + bit, b] = r0 + qb[j, 1, b] * d


@numba.njit(parallel=True, cache=True)
def regime_kernel(y_base, y_t, y_m, y_link, q_all, w):
    """``E(t; t_1..t_K)`` per draw, flattened: ``(S, 2^(K+1))`` in C order of ``[t, t_1..t_K]``.

    Observations are processed :data:`LANES` at a time, each in its own lane, so that the
    corner and contraction loops vectorise; each lane sums its observations and the lanes
    are added at the end (another summation order than one observation at a time: the
    same numbers to rounding, see ``tests/test_decompose.py::table_tolerance``).

    Parameters
    ----------
    y_base : (S, N) outcome linear predictor without treatment and mediators
    y_t : (S,) outcome coefficient of the treatment
    y_m : (S, K) outcome coefficients of the mediators
    y_link : the outcome's link code
    q_all : (K, S, N, 2) the mediators' interventional marginals ``E[M_k | do(T=t), x_i]``
    w : (S, N) weight of each observation per draw, or (0, 0): every observation weight 1
    """
    n_s, n_obs = y_base.shape
    k = y_m.shape[1]
    cells = 1 << (k + 1)
    out = np.zeros((n_s, cells))
    sign = -1.0 if y_link == 0 else 1.0
    for s in numba.prange(n_s):
        bufb = np.empty((cells, LANES))
        accb = np.zeros((cells, LANES))
        acc = np.zeros(cells)
        tmp = np.empty(cells)
        base = np.empty(LANES)
        qb = np.empty((k, 2, LANES))
        coef = np.empty(k + 1)
        fac = np.empty(k + 1)
        _outcome_coefs(coef, y_t, y_m, s, k)
        finite = True
        for bit in range(k + 1):
            fac[bit] = np.exp(sign * coef[bit])
            finite = finite and 0.0 < fac[bit] < np.inf
        weight = 0.0
        for i0 in range(0, n_obs, LANES):
            nb = min(LANES, n_obs - i0)
            for b in range(LANES):  # a partial block repeats its last observation; not accumulated
                ii = i0 + min(b, nb - 1)
                base[b] = y_base[s, ii]
                for j in range(k):
                    qb[j, 0, b] = q_all[j, s, ii, 0]
                    qb[j, 1, b] = q_all[j, s, ii, 1]
            _corners_block(bufb, base, coef, fac, finite, k, y_link, tmp)
            _contract_block(bufb, qb, k)
            for b in range(nb):
                wi = 1.0 if w.shape[0] == 0 else w[s, i0 + b]
                weight += wi
                for idx in range(cells):
                    accb[idx, b] += wi * bufb[idx, b]
        for idx in range(cells):
            total = 0.0
            for b in range(LANES):
                total += accb[idx, b]
            acc[idx] = total
        _store_mean(out, acc, s, weight, w, n_obs)
    return out


@numba.njit(parallel=True, cache=True)
def dependent_regime_kernel(y_base, y_t, y_m, y_link, m_base, m_t, m_m, m_link, order, parent_mask, w):
    """Marginal and joint regimes for binary mediators with a DAG among them.

    Parameters
    ----------
    y_base, y_t, y_m, y_link : the outcome, as in :func:`regime_kernel`
    m_base : (K, S, N) mediator linear predictors without treatment and mediators
    m_t : (K, S) mediator coefficients of the treatment
    m_m : (K, K, S) ``m_m[k, j]``: coefficient of mediator j in mediator k's GLM (0 if none)
    m_link : (K,) link codes (each maps to a probability: binary mediators)
    order : (K,) the mediators in a topological order of the mediator sub-DAG
    parent_mask : (K,) corner bits of each mediator's mediator parents
    w : (S, N) observation weights per draw, or (0, 0), as in :func:`regime_kernel`

    Returns
    -------
    table : (S, 2^(K+1)) ``E(t; t_1..t_K)`` as :func:`regime_kernel`
    joint : (S, 4) ``Ej(t; t*)`` at index ``2 t + t*``
    """
    n_s, n_obs = y_base.shape
    k = y_m.shape[1]
    cells = 1 << (k + 1)
    half = 1 << k
    out = np.zeros((n_s, cells))
    joint_out = np.zeros((n_s, 4))
    for s in numba.prange(n_s):
        buf = np.empty(cells)
        q = np.empty((k, 2))
        acc = np.zeros(cells)
        acc_j = np.zeros(4)
        coef = np.empty(k + 1)
        jt = np.empty((2, half))  # P(M = m | do(T = t*), x_i)
        cond = np.empty(half)  # P(M_k = 1 | t*, its mediator parents' values), by masked corner
        _outcome_coefs(coef, y_t, y_m, s, k)
        weight = 0.0
        for i in range(n_obs):
            wi = 1.0 if w.shape[0] == 0 else w[s, i]
            _outcome_corners(buf, y_base[s, i], coef, k, y_link)
            for ts in range(2):
                jt[ts, 0] = 1.0
                done = 0
                for r in range(k):
                    kk = order[r]
                    bit = 1 << (k - 1 - kk)
                    pmask = parent_mask[kk]
                    # one probability per configuration of the parents (submasks of pmask)
                    sub = pmask
                    while True:
                        eta = m_base[kk, s, i] + m_t[kk, s] * ts
                        for j in range(k):
                            if sub & (1 << (k - 1 - j)):
                                eta += m_m[kk, j, s]
                        cond[sub] = _inv(m_link[kk], eta)
                        if sub == 0:
                            break
                        sub = (sub - 1) & pmask
                    # extend the joint by mediator kk: the parents are already in it (topological order)
                    sub = done
                    while True:
                        p = cond[sub & pmask]
                        jt[ts, sub | bit] = jt[ts, sub] * p
                        jt[ts, sub] = jt[ts, sub] * (1.0 - p)
                        if sub == 0:
                            break
                        sub = (sub - 1) & done
                    done |= bit
                # marginals from the joint: P(M_j = 1) sums the corners whose bit j is 1
                for j in range(k):
                    bit = 1 << (k - 1 - j)
                    total = 0.0
                    for start in range(bit, half, 2 * bit):
                        for m in range(start, start + bit):
                            total += jt[ts, m]
                    q[j, ts] = total
            # joint regimes, before the contraction overwrites the corners
            for t in range(2):
                for ts in range(2):
                    e = 0.0
                    for m in range(half):
                        e += jt[ts, m] * buf[t * half + m]
                    if w.shape[0] == 0:
                        acc_j[2 * t + ts] += e
                    else:
                        acc_j[2 * t + ts] += wi * e
            _contract(buf, q, k)
            weight += _accumulate(acc, buf, w, s, i, cells)
        weight = _store_mean(out, acc, s, weight, w, n_obs)
        for idx in range(4):
            joint_out[s, idx] = acc_j[idx] / weight
    return out, joint_out
