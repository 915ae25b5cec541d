"""Fused, compiled kernels for the regime table (numba; already required by pytensor).

Per draw and observation a kernel evaluates the outcome mean at all ``2^(K+1)`` corners in
a small buffer that stays in cache, contracts the K mediator axes with the mediators'
interventional marginals, and adds the result to the draw's row: the same arithmetic as the
named NumPy steps of :mod:`dagmed.effects.regimes` to rounding, without the large temporaries.
Draws run in parallel: blocks of draws on threads (:func:`_over_draws`).

The work is one treatment half (``2^K`` corners, 8 KiB for K = 10) at a time, in L1. The
corners come by doubling (one multiplication each, one division per four for the logit,
:func:`_mean4`); the contraction takes three mediators per pass with the 8 corners of a
step in registers (:func:`_butterfly8`), and each pass moves its mediators to the bottom
(Stockham, :func:`_rot8`) so that every pass is one long vectorised loop. The first pass
also makes the corners (:func:`_top_fused`). The helpers are compiled with fused
multiply-add allowed (``fastmath={"contract"}``, one rounding where there were two; nothing
reassociated) and numpy's error model (no division check, which would stop vectorising).

What a fresh install compiles (once; numba caches it on disk, ``cache=True``) is kept small:
no helper is inlined by numba (``inline="always"`` typed a helper anew inside every caller;
LLVM inlines the small ones all the same, to the same machine code: same speed, same bits),
and inlining the passes too was about 5% faster but tripled the compilation. A constant
argument from compiled code (``_rot8(..., 0)``) would compile a specialisation of its own for
the literal, so the constants are passed as ``np.int64``: each helper compiles once. Only
the kernel a run needs compiles (:func:`regime_kernel` or :func:`dependent_regime_kernel`).

For up to :data:`BY_OBS_MAX_K` = 4 mediators, :func:`regime_kernel` turns the loops around
(:func:`_regime_rows_by_obs`): a half of 2 to 16 corners fills a vector register badly and
its loops are mostly overhead, so the vectors run over a block of observations instead
(``OBS_BLOCK_BYTES`` of corner table, in L1), a row of the table per corner: the linear
predictor, the means by :mod:`dagmed.fit.vmath`'s exponential, each contraction over two
rows, each row's sum. One thread, 600 observations, ns per draw and observation (corners /
observations): K = 1 225 / 11, K = 3 252 / 52, K = 4 273 / 129, K = 5 321 / 400.

Corner index convention: bit ``K`` is the treatment, bit ``K - 1 - j`` mediator ``j``
(C order of ``[t, m_0, ..., m_{K-1}]``). The link codes are :data:`dagmed.lang.families.LINKS`'
``code`` (0 logit, 1 identity, 2 log).

Two kernels share the helpers:

* :func:`regime_kernel` takes the marginals ``q[k, s, i, t] = E[M_k | do(T=t), x_i]``
  (computed by :func:`dagmed.effects.regimes.mediator_marginals`): independent mediators, or
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

from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

from ..fit import vmath

# Every function: cached on disk, fused multiply-add, numpy's error model. See the module's
# docstring for why nothing is inlined and why constant arguments are passed as np.int64.
_OPT = dict(cache=True, fastmath={"contract"}, error_model="numpy")


@numba.njit(**_OPT)
def _inv(code, eta):
    """The inverse link by its code in :data:`dagmed.lang.families.LINKS`: 0 logit, 1 identity, 2 log."""
    if code == 0:
        return 1.0 / (1.0 + np.exp(-eta))
    if code == 1:
        return eta
    return np.exp(eta)


@numba.njit(**_OPT)
def _predictor_corners(buf, base, coef, k):
    """The linear predictor at every corner by doubling, the terms added in the NumPy path's order."""
    cells = 1 << (k + 1)
    buf[0] = base
    for b in range(k, -1, -1):
        half = 1 << b
        for idx in range(0, cells, 2 * half):
            buf[idx + half] = buf[idx] + coef[b]


@numba.njit(**_OPT)
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


@numba.njit(**_OPT)
def _pair(r0, r1, q0, q1):
    """Contract one mediator axis at one pair of corners: ``(r0 + q0 (r1 - r0), r0 + q1 (r1 - r0))``."""
    d = r1 - r0
    return r0 + q0 * d, r0 + q1 * d


@numba.njit(**_OPT)
def _marginals3(q, p):
    """The marginals of mediators ``p..p+2`` as six scalars, read before a loop.

    Inside the loop the compiler would reload them after every store (the output could
    alias ``q``), and did not vectorise: three times slower.
    """
    return q[p, 0], q[p, 1], q[p + 1, 0], q[p + 1, 1], q[p + 2, 0], q[p + 2, 1]


@numba.njit(**_OPT)
def _butterfly8(x0, x1, x2, x3, x4, x5, x6, x7, m):
    """Contract three axes (strides 4, 2, 1) of 8 corners held in registers; ``m`` from :func:`_marginals3`."""
    a0, a1, b0, b1, c0, c1 = m
    x0, x4 = _pair(x0, x4, a0, a1)
    x1, x5 = _pair(x1, x5, a0, a1)
    x2, x6 = _pair(x2, x6, a0, a1)
    x3, x7 = _pair(x3, x7, a0, a1)
    x0, x2 = _pair(x0, x2, b0, b1)
    x1, x3 = _pair(x1, x3, b0, b1)
    x4, x6 = _pair(x4, x6, b0, b1)
    x5, x7 = _pair(x5, x7, b0, b1)
    x0, x1 = _pair(x0, x1, c0, c1)
    x2, x3 = _pair(x2, x3, c0, c1)
    x4, x5 = _pair(x4, x5, c0, c1)
    x6, x7 = _pair(x6, x7, c0, c1)
    return x0, x1, x2, x3, x4, x5, x6, x7


@numba.njit(**_OPT)
def _grow(x, f, link):
    """One doubling step of :func:`_outcome_corners`: add the coefficient (identity) or multiply the factor."""
    return x + f if link == 1 else x * f


BIG = 2.0**250  # 1 + exp(-eta) is clipped here, so that a product of four stays finite


@numba.njit(**_OPT)
def _mean4(va, vb, vc, vd, link):
    """The inverse logit ``1 / (1 + v)`` of four corners with one division, or ``v`` for the other links.

    ``1 / a = b c d / (a b c d)``: division is the slowest vector operation, one per four
    corners instead of one per corner. Each result has a few more roundings (at most 5 eps
    relative instead of 1). ``1 + v >= 1``, so the product cannot underflow; clipping each
    factor at ``2^250`` keeps it finite, and a clipped corner's mean (below ``2^-250``) is off
    by less than ``2^-250`` in absolute value, far below any rounding of the table.
    """
    if link != 0:
        return va, vb, vc, vd
    a = min(1.0 + va, BIG)
    b = min(1.0 + vb, BIG)
    c = min(1.0 + vc, BIG)
    d = min(1.0 + vd, BIG)
    ab = a * b
    cd = c * d
    r = 1.0 / (ab * cd)
    rab = r * cd
    rcd = r * ab
    return b * rab, a * rab, d * rcd, c * rcd


@numba.njit(**_OPT)
def _corners8(v0, fa, fb, fc, link):
    """The 8 corners over ``v0`` of the top three bits (factors ``fa, fb, fc``), by :func:`_grow`, in corner order."""
    v4 = _grow(v0, fa, link)
    v2 = _grow(v0, fb, link)
    v6 = _grow(v4, fb, link)
    return v0, _grow(v0, fc, link), v2, _grow(v2, fc, link), v4, _grow(v4, fc, link), v6, _grow(v6, fc, link)


@numba.njit(**_OPT)
def _store8(dst, o, x0, x1, x2, x3, x4, x5, x6, x7):
    """``dst[o:o + 8] = x0..x7``, element by element (a slice assignment of a tuple would not vectorise)."""
    dst[o] = x0
    dst[o + 1] = x1
    dst[o + 2] = x2
    dst[o + 3] = x3
    dst[o + 4] = x4
    dst[o + 5] = x5
    dst[o + 6] = x6
    dst[o + 7] = x7


@numba.njit(**_OPT)
def _top_fused(eh, dst, op, q, link):
    """The corners of the top three bits from ``eh``, their means, and their contraction.

    ``eh`` from :func:`_half_table`; ``op[0..2]`` are the factors of the top three bits
    (mediators 0..2). The 8 corners over ``eh[j]`` are made, turned into means and
    contracted in registers, and stored as :func:`_rot8` stores them: one pass instead of
    the corners, the means and a first contraction pass.
    """
    fa = op[0]
    fb = op[1]
    fc = op[2]
    m = _marginals3(q, np.int64(0))  # not a literal 0: see _OPT
    for j in range(eh.shape[0]):
        v0, v1, v2, v3, v4, v5, v6, v7 = _corners8(eh[j], fa, fb, fc, link)
        m0, m1, m2, m3 = _mean4(v0, v1, v2, v3, link)
        m4, m5, m6, m7 = _mean4(v4, v5, v6, v7, link)
        x0, x1, x2, x3, x4, x5, x6, x7 = _butterfly8(m0, m1, m2, m3, m4, m5, m6, m7, m)
        _store8(dst, 8 * j, x0, x1, x2, x3, x4, x5, x6, x7)


@numba.njit(**_OPT)
def _rot2(src, dst, q, p):
    """Contract the top bit of ``src`` (mediator ``p``) and move it to the bottom of ``dst``; see :func:`_rot8`."""
    s = src.shape[0] >> 1
    y0, y1 = src[:s], src[s:]
    a0 = q[p, 0]
    a1 = q[p, 1]
    for j in range(s):
        x0, x1 = _pair(y0[j], y1[j], a0, a1)
        dst[2 * j] = x0
        dst[2 * j + 1] = x1


@numba.njit(**_OPT)
def _rot4(src, dst, q, p):
    """:func:`_rot2` for the top two bits (mediators ``p, p + 1``)."""
    s = src.shape[0] >> 2
    y0, y1, y2, y3 = src[:s], src[s : 2 * s], src[2 * s : 3 * s], src[3 * s :]
    a0 = q[p, 0]
    a1 = q[p, 1]
    b0 = q[p + 1, 0]
    b1 = q[p + 1, 1]
    for j in range(s):
        x0, x2 = _pair(y0[j], y2[j], a0, a1)
        x1, x3 = _pair(y1[j], y3[j], a0, a1)
        x0, x1 = _pair(x0, x1, b0, b1)
        x2, x3 = _pair(x2, x3, b0, b1)
        o = 4 * j
        dst[o] = x0
        dst[o + 1] = x1
        dst[o + 2] = x2
        dst[o + 3] = x3


@numba.njit(**_OPT)
def _top_means(eh, dst, op, link):
    """The means at all corners of a half, from ``eh`` as in :func:`_top_fused`, without contracting.

    The 8 corners over ``eh[j]`` are stored ``len / 8`` apart (corner order): contiguous
    vector stores, one pass with one division per four corners.
    """
    s = eh.shape[0]
    z0, z1, z2, z3 = dst[:s], dst[s : 2 * s], dst[2 * s : 3 * s], dst[3 * s : 4 * s]
    z4, z5, z6, z7 = dst[4 * s : 5 * s], dst[5 * s : 6 * s], dst[6 * s : 7 * s], dst[7 * s :]
    fa = op[0]
    fb = op[1]
    fc = op[2]
    for j in range(s):
        v0, v1, v2, v3, v4, v5, v6, v7 = _corners8(eh[j], fa, fb, fc, link)
        z0[j], z1[j], z2[j], z3[j] = _mean4(v0, v1, v2, v3, link)
        z4[j], z5[j], z6[j], z7[j] = _mean4(v4, v5, v6, v7, link)


@numba.njit(**_OPT)
def _rot8(src, dst, q, p):
    """Contract the top three bits of ``src`` (mediators ``p..p+2``) and move them to the bottom of ``dst``.

    A Stockham pass: the 8 corners of a step are contiguous vector loads over ``j`` (``len / 8``
    apart), contracted in registers, and stored side by side, so that the next mediators are
    on top for the next pass and every pass runs over the whole half in one long loop.

    Measured slower: passes over the blocks below a bit without moving it (short loops, the
    compiler's alias checks), radix 16 (the interleaved stores of 16 rows), 2-d indexing of
    a reshaped slice instead of 1-d row slices, and a last pass that adds to the sums
    instead of storing (neither vectorised).
    """
    s = src.shape[0] >> 3
    y0, y1, y2, y3 = src[:s], src[s : 2 * s], src[2 * s : 3 * s], src[3 * s : 4 * s]
    y4, y5, y6, y7 = src[4 * s : 5 * s], src[5 * s : 6 * s], src[6 * s : 7 * s], src[7 * s :]
    m = _marginals3(q, p)
    for j in range(s):
        x0, x1, x2, x3, x4, x5, x6, x7 = _butterfly8(y0[j], y1[j], y2[j], y3[j], y4[j], y5[j], y6[j], y7[j], m)
        _store8(dst, 8 * j, x0, x1, x2, x3, x4, x5, x6, x7)


@numba.njit(**_OPT)
def _rest_pass(src, dst, q, p, kp):
    """One pass of :func:`_contract_rest` from mediator ``p``: three of them, or the last one or two."""
    left = kp - p
    if left >= 3:
        _rot8(src, dst, q, p)
        return p + 3
    if left == 2:
        _rot4(src, dst, q, p)
        return p + 2
    _rot2(src, dst, q, p)
    return p + 1


@numba.njit(**_OPT)
def _contract_rest(a, b, q, kp):
    """Contract mediators ``3 .. kp - 1`` of one treatment half in ``a``; returns the array holding the result.

    Stockham passes (:func:`_rot8`) alternating between ``a`` and ``b`` (in place, the
    compiler could not prove the loads and stores apart and did not vectorise). After all
    ``kp`` bits have moved to the bottom the corners are back in their order.
    """
    p = np.int64(3)  # not a literal 3: see _OPT
    while p < kp:
        p = _rest_pass(a, b, q, p, kp)
        if p >= kp:
            return b
        p = _rest_pass(b, a, q, p, kp)
    return a


@numba.njit(**_OPT)
def _add_contraction(a, b, acc, wi, q, kp):
    """``acc += wi *`` the contraction of one treatment half in ``a`` whose top three mediators are done.

    A separate loop: adding in the last pass of :func:`_contract_rest` instead did not vectorise.
    """
    res = _contract_rest(a, b, q, kp)
    for j in range(acc.shape[0]):
        acc[j] += wi * res[j]


@numba.njit(**_OPT)
def _padded_coefs(coef, y_t, y_m, s, k, kp):
    """``coef[b]``: the outcome coefficient of corner bit ``b`` for ``kp >= k`` mediator bits.

    Mediators ``k .. kp - 1`` are padding (coefficient 0, marginals 0): the corners and the
    contraction always have at least the three bits of :func:`_top_fused`, and a padded
    bit's ``t`` = 0 entries are the table of the ``k`` real mediators.
    """
    coef[:] = 0.0
    coef[kp] = y_t[s]
    for j in range(k):
        coef[kp - 1 - j] = y_m[s, j]


@numba.njit(**_OPT)
def _half_table(eh, e0, op, kp, link):
    """``eh[j]``: ``exp(-+eta)`` (identity: ``eta``) at corner ``j`` of a half, ``j`` below ``2^(kp - 3)``.

    From ``e0`` by doubling, low bits first; bit ``b`` is mediator ``kp - 1 - b`` (``op`` is
    by mediator). :func:`_top_fused` adds the top three bits.
    """
    eh[0] = e0
    for b in range(kp - 3):
        h = 1 << b
        f = op[kp - 1 - b]
        lo, hi = eh[:h], eh[h : 2 * h]  # separate slices: a loop the compiler vectorises
        for j in range(h):
            hi[j] = _grow(lo[j], f, link)


@numba.njit(**_OPT)
def _factors(op, coef, kp, link):
    """``op[p]``: the doubling factor ``exp(-+coef)`` of mediator ``p`` (identity: the coefficient).

    Returns the treatment's factor and whether every factor is finite and nonzero (else the
    corners take one exponential each, see :func:`_outcome_corners`).
    """
    sign = -1.0 if link == 0 else 1.0
    finite = True
    for p in range(kp):
        c = coef[kp - 1 - p]
        op[p] = c if link == 1 else np.exp(sign * c)
        finite = finite and (link == 1 or 0.0 < op[p] < np.inf)
    ft = coef[kp] if link == 1 else np.exp(sign * coef[kp])
    return ft, finite and (link == 1 or 0.0 < ft < np.inf)


@numba.njit(**_OPT)
def _first_factor(base, finite, link):
    """``exp(-+base)`` (identity: ``base``) of an observation, and whether its corners may be made by doubling."""
    e0 = base if link == 1 else np.exp((-1.0 if link == 0 else 1.0) * base)
    return e0, finite and (link == 1 or 0.0 < e0 < np.inf)  # else 0 * inf could meet: NaN


def _over_draws(rows, args):
    """``rows(*args, s0, s1)`` over every draw, blocks of draws on :func:`threads` threads.

    The row functions release the GIL (``nogil``), so the blocks run side by side; each draw
    is computed as alone, so the result does not depend on the blocks. Threads instead of
    numba's ``parallel=True``: the parallel lowering of a kernel took about 2.5 s more
    compilation on a fresh install, for the same speed (the draws are independent).
    """
    n_s = args[0].shape[0]
    rows(*args, 0, 0)  # compiled, or loaded from the cache, once before the threads start
    n_threads = min(threads(), n_s)
    if n_threads <= 1:
        rows(*args, 0, n_s)
        return
    step = -(-n_s // (4 * n_threads))  # a few blocks a thread: one slowed thread does not hold up the rest
    with ThreadPoolExecutor(n_threads) as pool:
        for done in pool.map(lambda s0: rows(*args, s0, min(s0 + step, n_s)), range(0, n_s, step)):
            del done


def threads() -> int:
    """Threads for the kernels: numba's setting (``NUMBA_NUM_THREADS``, by default every core)."""
    return numba.config.NUMBA_NUM_THREADS


# Observation-vectorised kernel (:func:`_regime_rows_by_obs`): for few mediators a half has
# too few corners to fill vector registers, so the vectors run over a block of observations.
OBS_BLOCK_BYTES = 32 * 2**10  # a block's corner table (2^(K+1) rows of its observations): in L1
BY_OBS_MAX_K = 4  # up to here the observation-vectorised kernel is faster (bench: README, issue 21)


@numba.njit(**_OPT)
def _copy(dst, src):
    """``dst[:] = src``, as a loop: the slice assignment compiled its shape-mismatch message (about 2 s on a fresh install)."""
    for i in range(dst.shape[0]):
        dst[i] = src[i]


@numba.njit(**_OPT)
def _add_to(row, v):
    """``row += v``."""
    for i in range(row.shape[0]):
        row[i] += v


@numba.njit(**_OPT)
def _corner_means(row, link, scratch, bits_hi, bits_lo):
    """``row`` (a corner's linear predictor) replaced by the outcome mean: the inverse link, elementwise."""
    n = row.shape[0]
    if link == 1:
        return
    if link == 2:
        for i in range(n):
            scratch[i] = row[i]
        vmath.exp_into(scratch[:n], row, bits_hi[:n], bits_lo[:n])
        return
    for i in range(n):
        scratch[i] = -row[i]
    vmath.exp_into(scratch[:n], row, bits_hi[:n], bits_lo[:n])
    for i in range(n):
        row[i] = 1.0 / (1.0 + row[i])


@numba.njit(**_OPT)
def _contract_rows(r0, r1, q0, q1):
    """One mediator axis over a block of observations: ``(r0, r1) <- (r0 + q0 (r1 - r0), r0 + q1 (r1 - r0))``."""
    for i in range(r0.shape[0]):
        a = r0[i]
        d = r1[i] - a
        r0[i] = a + q0[i] * d
        r1[i] = a + q1[i] * d


@numba.njit(**_OPT)
def _split_pairs(pairs, q0, q1):
    """``q0, q1 = pairs[:, 0], pairs[:, 1]`` into contiguous arrays."""
    for i in range(q0.shape[0]):
        q0[i] = pairs[i, 0]
        q1[i] = pairs[i, 1]


@numba.njit(nogil=True, **_OPT)
def _regime_rows_by_obs(y_base, y_t, y_m, y_link, q_all, w, blk, out, s0, s1):
    """:func:`regime_kernel` for draws ``s0 .. s1 - 1`` with vectors over observations, into their rows of ``out``.

    Per draw and block of observations: the linear predictor at every corner (the base, then
    the treatment's and the mediators' coefficients added in the order of the NumPy path),
    the means (:mod:`dagmed.fit.vmath`'s exponential, vectorised), the K contractions, each
    over pairs of corner rows, and each corner's sum over the block. ``blk``: observations per
    block (:func:`regime_kernel`).
    """
    n_obs = y_base.shape[1]
    k = y_m.shape[1]
    cells = 1 << (k + 1)
    table = np.empty((cells, blk))
    q0 = np.empty((max(k, 1), blk))
    q1 = np.empty((max(k, 1), blk))
    scratch = np.empty(blk)
    bits_hi = np.empty(blk, np.int64)
    bits_lo = np.empty(blk, np.int64)
    acc = np.empty(cells)
    for s in range(s0, s1):
        for c in range(cells):
            acc[c] = 0.0
        weight = 0.0
        for i0 in range(0, n_obs, blk):
            i1 = min(n_obs, i0 + blk)
            nb = i1 - i0
            base = y_base[s, i0:i1]
            for c in range(cells):
                row = table[c, :nb]
                _copy(row, base)
                if (c >> k) & 1:
                    _add_to(row, y_t[s])
                for j in range(k):
                    if (c >> (k - 1 - j)) & 1:
                        _add_to(row, y_m[s, j])
                _corner_means(row, y_link, scratch, bits_hi, bits_lo)
            for j in range(k):
                _split_pairs(q_all[j, s, i0:i1], q0[j, :nb], q1[j, :nb])
                h = 1 << (k - 1 - j)
                for c in range(cells):
                    if c & h == 0:
                        _contract_rows(table[c, :nb], table[c + h, :nb], q0[j, :nb], q1[j, :nb])
            if w.shape[0] == 0:
                for c in range(cells):
                    acc[c] += vmath.total(table[c, :nb])
            else:
                wb = w[s, i0:i1]
                weight += vmath.total(wb)
                for c in range(cells):
                    acc[c] += vmath.dot(wb, table[c, :nb])
        if w.shape[0] == 0:
            weight = float(n_obs)
        for c in range(cells):
            out[s, c] = acc[c] / weight


def regime_kernel(y_base, y_t, y_m, y_link, q_all, w, by=None):
    """``E(t; t_1..t_K)`` per draw, flattened: ``(S, 2^(K+1))`` in C order of ``[t, t_1..t_K]``.

    Per observation and treatment half: :func:`_half_table` makes the factors of the corners
    below the top three mediator bits, :func:`_top_fused` the means at all corners and the
    contraction of mediators 0..2 in one pass, :func:`_add_contraction` the other mediators
    (Stockham passes, :func:`_rot8`) and the addition to the draw's sums. A half of ``2^K``
    doubles (8 KiB for K = 10) and its second buffer stay in L1. If a factor or an
    observation's ``exp(-+eta)`` over- or underflows, :func:`_outcome_corners` makes the
    corners one exponential each.

    Same numbers to rounding as the NumPy path (``tests/effects/synthetic_draws.py::table_tolerance``,
    ``8 (K + N) eps B``): a corner's mean carries at most ``(K + 1) eps`` relative error from
    the doubling and ``5 eps`` from :func:`_mean4`; the contractions are the same operations
    (a fused multiply-add rounds once where two roundings were) on linear maps of separate
    axes, so their order does not matter beyond rounding; the sums over the observations
    are in the same order.

    Parameters
    ----------
    y_base : (S, N) outcome linear predictor without treatment and mediators
    y_t : (S,) outcome coefficient of the treatment
    y_m : (S, K) outcome coefficients of the mediators
    y_link : the outcome's link code
    q_all : (K, S, N, 2) the mediators' interventional marginals ``E[M_k | do(T=t), x_i]``
    w : (S, N) weight of each observation per draw, or (0, 0): every observation weight 1
    by : {"observation", "corner"}, optional
        Vectors over a block of observations (:func:`_regime_rows_by_obs`) or over the corners
        of one observation (the passes above). Default: over observations up to
        :data:`BY_OBS_MAX_K` mediators, where one observation's corners are too few to fill
        the vectors.
    """
    k = y_m.shape[1]
    out = np.zeros((y_base.shape[0], 1 << (k + 1)))
    if by is None:
        by = "observation" if k <= BY_OBS_MAX_K else "corner"
    if by == "observation":
        block = np.int64(max(1, min(y_base.shape[1], OBS_BLOCK_BYTES // (8 << (k + 1)))))
        _over_draws(_regime_rows_by_obs, (y_base, y_t, y_m, y_link, q_all, w, block, out))
    else:
        _over_draws(_regime_rows, (y_base, y_t, y_m, y_link, q_all, w, out))
    return out


@numba.njit(nogil=True, **_OPT)
def _regime_rows(y_base, y_t, y_m, y_link, q_all, w, out, s0, s1):
    """:func:`regime_kernel` for draws ``s0 .. s1 - 1``, into their rows of ``out``."""
    n_obs = y_base.shape[1]
    k = y_m.shape[1]
    kp = max(k, 3)
    pad = kp - k
    n = 1 << kp  # corners of a treatment half
    cells = 1 << (k + 1)
    for s in range(s0, s1):
        a = np.empty(n)
        b = np.empty(n)
        eh = np.empty(n >> 3)
        tmp = np.empty(2 * n)
        acc = np.zeros(2 * n)
        q = np.zeros((kp, 2))
        coef = np.empty(kp + 1)
        _padded_coefs(coef, y_t, y_m, s, k, kp)
        op = np.empty(kp)
        ft, finite = _factors(op, coef, kp, y_link)
        weight = 0.0
        for i in range(n_obs):
            wi = 1.0 if w.shape[0] == 0 else w[s, i]
            weight += wi
            for j in range(k):
                q[j, 0] = q_all[j, s, i, 0]
                q[j, 1] = q_all[j, s, i, 1]
            base = y_base[s, i]
            e0, ok = _first_factor(base, finite, y_link)
            if not ok:
                _outcome_corners(tmp, base, coef, kp, y_link)
            for t in range(2):
                if ok:
                    _half_table(eh, e0 if t == 0 else _grow(e0, ft, y_link), op, kp, y_link)
                    _top_fused(eh, a, op, q, y_link)
                else:
                    _rot8(tmp[t * n : (t + 1) * n], a, q, np.int64(0))
                _add_contraction(a, b, acc[t * n : (t + 1) * n], wi, q, kp)
        if w.shape[0] == 0:
            weight = float(n_obs)
        for c in range(cells):
            out[s, c] = acc[c << pad] / weight


@numba.njit(**_OPT)
def _marginals_from_joint(q, jt, fold, order, k):
    """``q[j, t*] = P(M_j = 1 | do(T = t*))``: the sum of the joint ``jt[t*]`` over the corners with M_j = 1.

    ``jt`` is indexed in topological order (mediator ``order[r]`` at bit ``r``). By folding:
    the top bit's marginal is the sum of the upper half; adding the upper half to the lower
    one leaves the joint of the others, whose top bit is next. ``2^K`` additions in all
    instead of ``K 2^(K-1)``, and the two ``t*`` in one loop (independent sums); the order
    of the additions differs, each sum is still of at most ``2^(K-1)`` probabilities.
    """
    size = 1 << k
    fold[:, :size] = jt[:, :size]
    for r in range(k - 1, -1, -1):
        h = size >> 1
        t0 = 0.0
        t1 = 0.0
        for m in range(h, size):
            t0 += fold[0, m]
            t1 += fold[1, m]
        q[order[r], 0] = t0
        q[order[r], 1] = t1
        for ts in range(2):
            lo, hi = fold[ts, :h], fold[ts, h:size]
            for m in range(h):
                lo[m] += hi[m]
        size = h


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
    n_s, k = y_m.shape
    out, joint_out = np.zeros((n_s, 1 << (k + 1))), np.zeros((n_s, 4))
    args = (y_base, y_t, y_m, y_link, m_base, m_t, m_m, m_link, order, parent_mask, w, out, joint_out)
    _over_draws(_dependent_rows, args)
    return out, joint_out


@numba.njit(nogil=True, **_OPT)
def _dependent_rows(y_base, y_t, y_m, y_link, m_base, m_t, m_m, m_link, order, parent_mask, w, out, joint_out, s0, s1):
    """:func:`dependent_regime_kernel` for draws ``s0 .. s1 - 1``, into their rows of ``out`` and ``joint_out``."""
    n_obs = y_base.shape[1]
    k = y_m.shape[1]
    cells = 1 << (k + 1)
    half = 1 << k
    kp = max(k, 3)  # padded as in regime_kernel
    pad = kp - k
    n = 1 << kp
    # the joint is indexed in topological order, mediator order[r] at bit r: a mediator's
    # parents are the bits below its own, and extending the joint is one contiguous loop
    pos = np.empty(k, dtype=np.int64)
    for r in range(k):
        pos[order[r]] = r
    parent_pos = np.zeros(k, dtype=np.int64)  # the parents' bits in that index
    for kk in range(k):
        for j in range(k):
            if parent_mask[kk] & (1 << (k - 1 - j)):
                parent_pos[kk] |= 1 << pos[j]
    corner = np.zeros(half, dtype=np.int64)  # the corner (in a treatment half) of a joint index
    for m in range(half):
        for r in range(k):
            if m & (1 << r):
                corner[m] |= 1 << (kp - 1 - order[r])
    for s in range(s0, s1):
        buf = np.empty(2 * n)
        a = np.empty(n)
        b = np.empty(n)
        q = np.zeros((kp, 2))
        acc = np.zeros(2 * n)
        acc_j = np.zeros(4)
        coef = np.empty(kp + 1)
        jt = np.empty((2, half))  # P(M = m | do(T = t*), x_i)
        fold = np.empty((2, half))
        cond = np.empty(half)  # P(M_k = 1 | t*, its mediator parents' values), by their bits in jt's index
        eh = np.empty(n >> 3)
        op = np.empty(kp)
        _padded_coefs(coef, y_t, y_m, s, k, kp)
        ft, finite = _factors(op, coef, kp, y_link)
        weight = 0.0
        for i in range(n_obs):
            wi = 1.0 if w.shape[0] == 0 else w[s, i]
            weight += wi
            e0, ok = _first_factor(y_base[s, i], finite, y_link)
            if ok:
                for t in range(2):
                    _half_table(eh, e0 if t == 0 else _grow(e0, ft, y_link), op, kp, y_link)
                    _top_means(eh, buf[t * n : (t + 1) * n], op, y_link)
            else:
                _outcome_corners(buf, y_base[s, i], coef, kp, y_link)
            for ts in range(2):
                jt[ts, 0] = 1.0
                for r in range(k):
                    kk = order[r]
                    pm = parent_pos[kk]
                    # one probability per configuration of the parents (submasks of pm)
                    eta0 = m_base[kk, s, i] + m_t[kk, s] * ts
                    sub = pm
                    while True:
                        eta = eta0
                        for j in range(k):
                            if sub & (1 << pos[j]):
                                eta += m_m[kk, j, s]
                        cond[sub] = _inv(m_link[kk], eta)
                        if sub == 0:
                            break
                        sub = (sub - 1) & pm
                    # extend the joint by mediator kk (bit r): its parents are below r
                    bit = 1 << r
                    lo, hi = jt[ts, :bit], jt[ts, bit : 2 * bit]
                    for sub in range(bit):
                        p = cond[sub & pm]
                        hi[sub] = lo[sub] * p
                        lo[sub] = lo[sub] * (1.0 - p)
            _marginals_from_joint(q, jt, fold, order, k)
            # joint regimes, before the contraction overwrites the corners: four independent
            # sums in one loop (each in the order of before), not one after the other
            e00 = 0.0
            e01 = 0.0
            e10 = 0.0
            e11 = 0.0
            for m in range(half):
                c0 = buf[corner[m]]
                c1 = buf[n + corner[m]]
                e00 += jt[0, m] * c0
                e01 += jt[1, m] * c0
                e10 += jt[0, m] * c1
                e11 += jt[1, m] * c1
            acc_j[0] += wi * e00
            acc_j[1] += wi * e01
            acc_j[2] += wi * e10
            acc_j[3] += wi * e11
            for t in range(2):
                _rot8(buf[t * n : (t + 1) * n], a, q, np.int64(0))
                _add_contraction(a, b, acc[t * n : (t + 1) * n], wi, q, kp)
        if w.shape[0] == 0:
            weight = float(n_obs)
        for c in range(cells):
            out[s, c] = acc[c << pad] / weight
        for idx in range(4):
            joint_out[s, idx] = acc_j[idx] / weight
