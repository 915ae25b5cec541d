r"""The compiled sum over the mediators' grids (MATH.md section 6), for an outcome additive in the mediators.

When no term of the outcome's equation multiplies two mediators, its linear predictor at
treatment level ``t`` and mediator values ``u_1..u_K`` is

    eta(t, u) = A(t) + H_1(t, u_1) + ... + H_K(t, u_K)

(``A`` the intercept, the treatment's and the covariates' terms; ``H_k`` every term holding
mediator ``k``, a product with the treatment included). :func:`grid_table` evaluates the
outcome's mean at every point of the product of the mediators' union grids, each point
once, and contracts one mediator axis at a time with its weights under ``t_k = 0, 1``:

    E(t; t_1..t_K) = sum_u mu_Y(t, u) prod_k W_k(t_k, u_k)

per draw and observation, summed over the observations with their weights. The numbers are
:func:`dagmed.effects.quadrature`'s NumPy steps', to rounding (tested); the kernel saves
their temporaries (a predictor per term and point) and walks the points like an odometer,
adding only the terms of the mediators whose value changed.
"""

from __future__ import annotations

import numba
import numpy as np

_OPT = dict(cache=True, nogil=True, error_model="numpy")


@numba.njit(inline="always", **_OPT)
def _inverse(eta, link):
    if link == 0:  # logit
        return 0.5 * (1.0 + np.tanh(0.5 * eta))
    if link == 2:  # log
        return np.exp(eta)
    return eta  # identity


@numba.njit(parallel=True, **_OPT)
def grid_table(base, h, w, sizes, link, row_weights):  # pragma: no cover - compiled; tested through its results
    """``(S, 2^(K+1))`` sums over the observations of ``E(t; t_1..t_K)``, C order ``[t, t_1, .., t_K]``.

    Parameters
    ----------
    base : (S, N, 2) float64
        ``A(t)``.
    h : (S, N, 2, U) float64
        ``H_k(t, u)`` for every mediator, their union grids one after the other (``U = sum U_k``).
    w : (S, N, 2, U) float64
        ``W_k(t_k, u)``: each mediator's weight of each grid value under ``t_k = 0, 1``.
    sizes : (K,) int64
        ``U_k``.
    link : int
        The outcome's link code (``Link.code``: 0 logit, 1 identity, 2 log).
    row_weights : (S, N) float64
        Each observation's weight.
    """
    n_s, n_obs = base.shape[0], base.shape[1]
    k = sizes.shape[0]
    offsets = np.zeros(k + 1, dtype=np.int64)
    for j in range(k):
        offsets[j + 1] = offsets[j] + sizes[j]
    points = 1
    for j in range(k):
        points *= sizes[j]
    corners = 1 << k
    out = np.zeros((n_s, 2 * corners))
    cap = 2 * points * corners  # a grid of size 1 doubles a buffer instead of halving it
    for s in numba.prange(n_s):  # draws in parallel, each with buffers of its own
        mu = np.empty(cap)
        buf = np.empty(cap)
        partial = np.empty(k + 1)
        digit = np.zeros(k, dtype=np.int64)
        for i in range(n_obs):
            wr = row_weights[s, i]
            for t in range(2):
                # the outcome's mean at every point: an odometer over the digits, the last fastest
                partial[0] = base[s, i, t]
                for j in range(k):
                    digit[j] = 0
                for j in range(k - 1):
                    partial[j + 1] = partial[j] + h[s, i, t, offsets[j]]
                last = k - 1
                p = 0
                while p < points:
                    head = partial[last]
                    o = offsets[last]
                    for u in range(sizes[last]):
                        mu[p] = _inverse(head + h[s, i, t, o + u], link)
                        p += 1
                    # carry into the earlier digits
                    j = last - 1
                    while j >= 0:
                        digit[j] += 1
                        if digit[j] < sizes[j]:
                            break
                        digit[j] = 0
                        j -= 1
                    if j < 0:
                        break
                    for jj in range(j, last):
                        partial[jj + 1] = partial[jj] + h[s, i, t, offsets[jj] + digit[jj]]
                # contract the mediator axes from the last: [outer, u, inner] -> [outer, t_j, inner]
                cur = mu
                inner = 1
                outer = points
                for j in range(k - 1, -1, -1):
                    size = sizes[j]
                    outer //= size
                    o = offsets[j]
                    nxt = buf if cur is mu else mu
                    for a in range(outer):
                        for tj in range(2):
                            for b in range(inner):
                                acc = 0.0
                                for u in range(size):
                                    acc += cur[(a * size + u) * inner + b] * w[s, i, tj, o + u]
                                nxt[(a * 2 + tj) * inner + b] = acc
                    cur = nxt
                    inner *= 2
                for c in range(corners):
                    out[s, t * corners + c] += wr * cur[c]
    return out


def table(base: np.ndarray, hs: list, ws: list, link: int, row_weights: np.ndarray | None) -> np.ndarray:
    """:func:`grid_table` from per-mediator arrays: ``(S, 2, ..., 2)`` sums over the observations.

    Examples
    --------
    >>> base = np.zeros((1, 1, 2))
    >>> h = [np.array([0.0, 1.0]).reshape(1, 1, 1, 2).repeat(2, axis=2)]
    >>> w = [np.array([[1.0, 0.0], [0.5, 0.5]]).reshape(1, 1, 2, 2)]
    >>> out = table(base, h, w, 1, None)  # identity link: the mean of u under each weight
    >>> out.reshape(2, 2).tolist()
    [[0.0, 0.5], [0.0, 0.5]]
    """
    n_s, n = base.shape[:2]
    k = len(hs)
    h = np.ascontiguousarray(np.concatenate([np.broadcast_to(x, (n_s, n, 2, x.shape[-1])) for x in hs], axis=-1))
    w = np.ascontiguousarray(np.concatenate([np.broadcast_to(x, (n_s, n, 2, x.shape[-1])) for x in ws], axis=-1))
    sizes = np.array([x.shape[-1] for x in hs], dtype=np.int64)
    rw = np.ones((n_s, n)) if row_weights is None else np.ascontiguousarray(row_weights, dtype=float)
    out = grid_table(np.ascontiguousarray(base, dtype=float), h, w, sizes, int(link), rw)
    return out.reshape((n_s,) + (2,) * (k + 1))
