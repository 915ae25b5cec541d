r"""The fit stage's fast path: the model's posterior sampled by nutpie through one cached log density.

dagmed's model is a set of GLMs, one per node with a family, whose parameters appear in no
other node's likelihood; with ``missing model`` (or a sensitivity analysis's confounder, a
binary value missing in every row) each incomplete row adds the log-sum-exp, over the
combinations of its missing binary values, of its nodes' terms. Its log density is then a
short computation that one compiled function evaluates for *any* such model, given the
model as arrays: the design of each node, its family, the prior of each parameter, the
known coefficients, which rows' terms enter which log-sum-exp. That function is compiled by
numba once and cached on disk (``cache=True``), so a run pays no compilation, where
``nutpie.compile_pymc_model`` spends 10-15 s compiling each model anew (the compiled C
callback cannot be cached: it closes over the model). Missing continuous values (latent
variables), random slopes and clusters with incomplete rows are not covered (:func:`why_not`):
nutpie samples the compiled PyMC model instead.

The density is PyMC's own, term for term, in the same unconstrained space (log transform
for positive parameters, interval transform for uniform priors): ``tests/fit/test_fastglm.py``
checks the value and the gradient against ``model.compile_logp`` / ``compile_dlogp`` at
random points for every family and prior. Changes of arithmetic, none of which changes the
posterior:

* a node's rows are computed phase by phase (linear predictor, terms, weighted sums), each
  a loop LLVM vectorises: ``exp`` and ``log1p`` are :mod:`dagmed.fit.vmath`'s (within 2 and 6
  units in the last place of the C library's), and the sums over rows are added in SIMD
  lanes, another order than one by one. A logistic GLM's row costs about 2.4 ns instead of
  22 (three_mediators at 600 rows: 12 against 67 microseconds per density and gradient);
* identical rows of a node (its parents' values and its own) are summed once, weighted by
  their count: the likelihood is a sum over rows, so this only reorders the sum;
* in an incomplete row, a node whose value and parents do not change across the row's
  combinations has one term, outside the log-sum-exp (``log sum_c exp(a + l_c) = a + log
  sum_c exp(l_c)``): it joins the plain rows. Incomplete rows alike in every term left are one
  log-sum-exp, weighted by their count. The gradient of a log-sum-exp weighs each
  combination's terms by their softmax weight;
* nutpie adapts a low-rank modified mass matrix, which follows the correlations between an
  intercept and the coefficients of uncentred covariates (about 6 leapfrog steps per draw
  instead of 16 on the substance data).

:func:`plan` says whether a model qualifies (and why not); :func:`sample` draws from it
and returns what :func:`dagmed.fit.sampling.sample` returns.

Examples
--------
>>> import dagmed, pandas as pd
>>> spec = dagmed.parse("treatment t\noutcome y\nt -> y\nt, y ~ bernoulli\n")
>>> df = pd.DataFrame({"t": [0, 1, 1, 0, 1], "y": [1, 0, 1, 0, 1]})
>>> from dagmed.model.ir import ModelIR
>>> fast = plan(ModelIR.from_analysis(dagmed.check(spec)), dagmed.compile(spec, df))
>>> fast.n_dim, fast.names
(3, ('t_intercept', 'y_intercept', 'y_beta'))
>>> [int(n) for n in fast.rows]  # distinct rows per node: t has 2 values, (t, y) 4 pairs
[2, 4]
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numba
import numpy as np

from .. import compat
from ..lang.ir import Dist
from ..lang.priors import PRIORS
from ..model import compiler, missing, names
from . import vmath

# The branches of :func:`logp_grad` by family row (``Family.fast``) and of :func:`_prior_logp`
# by prior row (``PriorDist.code``): a row names its branch, the kernel holds its arithmetic.

_LOG_2PI = math.log(2 * math.pi)


def _prior_row(dist) -> tuple[int, int, tuple[float, float, float, float]]:
    """``(code, transform, (a, b, c, const))`` of a prior: its parameters and log normalising constant."""
    row = PRIORS[dist.name]
    params, const = row.kernel(dict(dist.kwargs))
    return row.code, row.transform, (*map(float, params), float(const))


@numba.njit(inline="always", cache=True)
def _softplus(x):
    """``log(1 + exp(x))`` without overflow."""
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


@numba.njit(inline="always", cache=True)
def _prior_logp(code, v, a, b, c):
    """Log density (without its constant) of a prior at ``v`` and its derivative in ``v``."""
    if code == 0:  # normal(mu=a, sigma=b)
        z = (v - a) / b
        return -0.5 * z * z, -z / b
    if code == 1:  # studentt(mu=a, sigma=b, nu=c)
        z = (v - a) / b
        return -0.5 * (c + 1.0) * math.log1p(z * z / c), -(c + 1.0) * z / (b * (c + z * z))
    if code == 2:  # cauchy(alpha=a, beta=b)
        z = (v - a) / b
        return -math.log1p(z * z), -2.0 * z / (b * (1.0 + z * z))
    if code == 3:  # laplace(mu=a, b=b)
        d = v - a
        return -abs(d) / b, (-1.0 if d > 0 else (1.0 if d < 0 else 0.0)) / b
    if code == 4:  # halfnormal(sigma=b)
        z = v / b
        return -0.5 * z * z, -z / b
    if code == 5:  # halfcauchy(beta=b)
        z = v / b
        return -math.log1p(z * z), -2.0 * z / (b * (1.0 + z * z))
    if code == 6:  # halfstudentt(sigma=b, nu=c)
        z = v / b
        return -0.5 * (c + 1.0) * math.log1p(z * z / c), -(c + 1.0) * z / (b * (c + z * z))
    if code == 7:  # exponential(lam=a)
        return -a * v, -a
    if code == 8:  # gamma(alpha=a, beta=b)
        return (a - 1.0) * math.log(v) - b * v, (a - 1.0) / v - b
    if code == 9:  # lognormal(mu=a, sigma=b)
        lv = math.log(v)
        z = (lv - a) / b
        return -lv - 0.5 * z * z, -(1.0 + z / b) / v
    return 0.0, 0.0  # uniform: flat inside its interval; the transform carries the density


@numba.njit(inline="always", cache=True)
def _shape(nodes, g):
    """GLM ``g``'s ``(P, intercept, first coefficient, K, first random intercept, has known coefficients)``."""
    return (
        int(nodes[g, 3]),
        int(nodes[g, 4]),
        int(nodes[g, 5]),
        int(nodes[g, 7]),
        int(nodes[g, 8]),
        nodes[g, 10] != 0,
    )


@numba.njit(inline="always", cache=True)
def _row_grad(r, d, dsig, grad, value, dvalue, shape, design, soff, clusters):
    """Add row ``r``'s gradient: ``d`` its weighted ``d ll / d eta``; returns ``dsig`` plus its part through sigma
    (a known coefficient in units of sigma: eta has ``sigma * soff``)."""
    p, icpt, beta0, nk, k0, known = shape
    if icpt >= 0:
        grad[icpt] += d * dvalue[icpt]
    for j in range(p):
        grad[beta0 + j] += d * design[r, j] * dvalue[beta0 + j]
    for k in range(nk):
        sd, z = int(clusters[k0 + k, 0]), int(clusters[k0 + k, 1]) + int(design[r, p + k])
        grad[sd] += d * value[z] * dvalue[sd]
        grad[z] += d * value[sd] * dvalue[z]
    if known:
        dsig += d * soff[r]
    return dsig


# One node's rows, phase by phase, each a loop LLVM vectorises (:mod:`dagmed.fit.vmath`).


@numba.njit(**vmath.VECTOR)
def _fill(a, v):
    for i in range(a.shape[0]):
        a[i] = v


@numba.njit(**vmath.VECTOR)
def _axpy(a, b, x):
    """``a += b * x``."""
    for i in range(a.shape[0]):
        a[i] += b * x[i]


@numba.njit(**vmath.VECTOR)
def _scale(a, b):
    """``a *= b``."""
    for i in range(a.shape[0]):
        a[i] *= b[i]


@numba.njit(**vmath.VECTOR)
def _known(eta, off, soff, sigma):
    """Known coefficients' part of the linear predictor: ``off + sigma * soff``."""
    for i in range(eta.shape[0]):
        eta[i] += off[i] + sigma * soff[i]


@numba.njit(**vmath.VECTOR)
def _bernoulli(eta, y, ll, deta, bits_hi, bits_lo):
    """Logit link: the log likelihood ``y eta - softplus(eta)`` and ``y - sigmoid(eta)``, from one exponential."""
    n = eta.shape[0]
    for i in range(n):
        deta[i] = -abs(eta[i])
    vmath.exp_into(deta, ll, bits_hi, bits_lo)  # not in place: LLVM vectorises a loop only where arrays cannot overlap
    for i in range(n):
        e, t = ll[i], eta[i]
        ll[i] = y[i] * t - (max(t, 0.0) + vmath.log1p_unit(e))
        inv = 1.0 / (1.0 + e)
        deta[i] = y[i] - (inv if t >= 0.0 else e * inv)


@numba.njit(**vmath.VECTOR)
def _normal(eta, y, sigma, ll, deta, dsig):
    """Identity link: the log likelihood, ``d / d eta`` and ``d / d sigma`` at fixed eta."""
    c = -0.5 * _LOG_2PI - math.log(sigma)
    for i in range(eta.shape[0]):
        z = (y[i] - eta[i]) / sigma
        ll[i] = c - 0.5 * z * z
        deta[i] = z / sigma
        dsig[i] = (z * z - 1.0) / sigma


@numba.njit(**vmath.VECTOR)
def _poisson(eta, y, const, ll, deta, bits_hi, bits_lo):
    """Log link: the log likelihood ``y eta - exp(eta) + const`` and ``y - exp(eta)``."""
    vmath.exp_into(eta, deta, bits_hi, bits_lo)
    for i in range(eta.shape[0]):
        mu = deta[i]
        ll[i] = y[i] * eta[i] - mu + const[i]
        deta[i] = y[i] - mu


@numba.njit(cache=True, nogil=True)
def logp_grad(
    x, grad, value, dvalue, priors, prior_params, nodes, design, y, w, const, clusters, off, soff, target, groups
):
    """The model's log density at the unconstrained point ``x``; its gradient into ``grad``.

    Parameters
    ----------
    x, grad : (D,) the unconstrained parameters; the gradient, written
    value, dvalue : (D,) scratch: each parameter's constrained value and ``d value / d x``
    priors : (D, 2) integers (any dtype), per parameter: prior code (``PriorDist.code``) and transform
        (``dagmed.lang.priors``: 0 none, 1 log, 2 interval)
    prior_params : (D, 4) the prior's parameters ``a, b, c`` and its log normalising constant
    nodes : (G, 11) integers (any dtype), per GLM: likelihood code (``Family.fast``), first and last row,
        number of coefficients P, index in ``x`` of its intercept (-1 if known) and of its first
        coefficient, of its extra parameter, a scale (-1 if none), its number K of random
        intercepts and the first of their rows in ``clusters``, its number of entry rows (its
        last rows) and whether it has known coefficients
    design : (rows, Pmax), column-major: the parents' values of every distinct row; after a node's P terms,
        the row's cluster code of each of its K random intercepts
    clusters : (C, 2) integers (any dtype), per random intercept: the index in ``x`` of its sd
        and of its first standardised intercept ``z``; a row of cluster ``c`` adds ``sd * z[c]``
    y, w, const : (rows,) the node's value, how many data rows are alike, the part of the
        log likelihood that depends on the value alone (``Family.value_term``: ``-lgamma(y + 1)``
        for a count)
    off, soff : (rows,) the known coefficients' part of the linear predictor: ``off + sigma * soff``
    target : (rows,) integers (any dtype): -1 for a row of the plain sum (weight ``w``), else the
        entry (one combination of one incomplete row's summed-out values) its term adds to
    groups : (Q, 3) per incomplete row (identical ones merged): its first entry, its number of
        entries (combinations) and how many data rows are alike; it adds the log-sum-exp of its entries
    """
    total = 0.0
    for d in range(x.shape[0]):
        code, transform = int(priors[d, 0]), int(priors[d, 1])
        a, b, c = prior_params[d, 0], prior_params[d, 1], prior_params[d, 2]
        u = x[d]
        if transform == 0:
            v, dv, jac, djac = u, 1.0, 0.0, 0.0
        elif transform == 1:  # log: v = exp(u), log|dv/du| = u
            v = math.exp(u)
            dv, jac, djac = v, u, 1.0
        else:  # interval (a, b): v = a + (b - a) sigmoid(u); the density is s (1 - s) in u
            s = 1.0 / (1.0 + math.exp(-u))
            v = a + (b - a) * s
            dv, jac, djac = (b - a) * s * (1.0 - s), -_softplus(-u) - _softplus(u), 1.0 - 2.0 * s
        lp, dlp = _prior_logp(code, v, a, b, c)
        total += prior_params[d, 3] + lp + jac
        value[d] = v
        dvalue[d] = dv
        grad[d] = dlp * dv + djac
    n_entries = 0
    for q in range(groups.shape[0]):
        n_entries += int(groups[q, 1])
    entry = np.zeros(n_entries)  # each combination's log likelihood, summed over the nodes
    at = y.shape[0] if n_entries else 0
    deta_at, dsig_at = np.empty(at), np.empty(at)  # an entry row's d ll / d eta, d ll / d sigma at fixed eta
    # scratch for one node's rows: the linear predictor, the terms and their derivatives
    most = 0
    for g in range(nodes.shape[0]):
        most = max(most, int(nodes[g, 2]) - int(nodes[g, 1]))
    eta_s, ll_s, deta_s, dsig_s = np.empty(most), np.empty(most), np.empty(most), np.empty(most)
    bits_hi, bits_lo = np.empty(most, np.int64), np.empty(most, np.int64)
    columns = design.T  # the design is column-major (:meth:`FastModel.packed`): a column's rows are contiguous
    for g in range(nodes.shape[0]):
        lik, r0, r1, p = int(nodes[g, 0]), int(nodes[g, 1]), int(nodes[g, 2]), int(nodes[g, 3])
        icpt, beta0, sig = int(nodes[g, 4]), int(nodes[g, 5]), int(nodes[g, 6])
        nk, k0 = int(nodes[g, 7]), int(nodes[g, 8])
        rm = r1 - int(nodes[g, 9])  # the plain rows, then the incomplete rows' entry rows
        known = nodes[g, 10] != 0
        sigma = value[sig] if sig >= 0 else 1.0
        n = r1 - r0
        eta, ll, deta, dsig = eta_s[:n], ll_s[:n], deta_s[:n], dsig_s[:n]
        # each row's linear predictor, column by column (vectorised): intercept, coefficients,
        # non-centred random intercepts (sd * z[the row's cluster]), known coefficients
        _fill(eta, value[icpt] if icpt >= 0 else 0.0)
        for j in range(p):
            _axpy(eta, value[beta0 + j], columns[j, r0:r1])
        for k in range(nk):
            sd, z0 = int(clusters[k0 + k, 0]), int(clusters[k0 + k, 1])
            for i in range(n):
                eta[i] += value[sd] * value[z0 + int(columns[p + k, r0 + i])]
        if known:  # a number, or a number times sigma
            _known(eta, off[r0:r1], soff[r0:r1], sigma)
        # each row's log likelihood and its derivatives in eta (and in sigma at fixed eta)
        if lik == 0:  # bernoulli, logit link
            _bernoulli(eta, y[r0:r1], ll, deta, bits_hi[:n], bits_lo[:n])
        elif lik == 1:  # normal, identity link
            _normal(eta, y[r0:r1], sigma, ll, deta, dsig)
        else:  # poisson, log link
            _poisson(eta, y[r0:r1], const[r0:r1], ll, deta, bits_hi[:n], bits_lo[:n])
        # the plain rows: weighted sums (vectorised)
        m = rm - r0
        wt = w[r0:rm]
        total += vmath.dot(wt, ll[:m])
        _scale(deta[:m], wt)  # d ll / d eta of a row, times its count
        dsigma = vmath.dot(wt, dsig[:m]) if lik == 1 else 0.0
        if icpt >= 0:
            grad[icpt] += vmath.total(deta[:m]) * dvalue[icpt]
        for j in range(p):
            grad[beta0 + j] += vmath.dot(deta[:m], columns[j, r0:rm]) * dvalue[beta0 + j]
        for k in range(nk):
            sd, z0 = int(clusters[k0 + k, 0]), int(clusters[k0 + k, 1])
            for i in range(m):
                z = z0 + int(columns[p + k, r0 + i])
                grad[sd] += deta[i] * value[z] * dvalue[sd]
                grad[z] += deta[i] * value[sd] * dvalue[z]
        if known:
            dsigma += vmath.dot(deta[:m], soff[r0:rm])
        # an incomplete row's terms: their weight is known after the log-sum-exp
        for i in range(m, n):
            entry[int(target[r0 + i])] += ll[i]
            deta_at[r0 + i], dsig_at[r0 + i] = deta[i], dsig[i] if lik == 1 else 0.0
        if sig >= 0:
            grad[sig] += dsigma * dvalue[sig]
    if n_entries == 0:
        return total
    # each incomplete row: the log-sum-exp of its entries; an entry's weight in the gradient is its softmax
    e0 = 0
    for q in range(groups.shape[0]):
        nc, wq = int(groups[q, 1]), groups[q, 2]
        top = entry[e0]
        for c in range(1, nc):
            top = max(top, entry[e0 + c])
        s = 0.0
        for c in range(nc):
            entry[e0 + c] = math.exp(entry[e0 + c] - top)
            s += entry[e0 + c]
        total += wq * (top + math.log(s))
        for c in range(nc):
            entry[e0 + c] *= wq / s
        e0 += nc
    for g in range(nodes.shape[0]):
        sig, r1, shape = int(nodes[g, 6]), int(nodes[g, 2]), _shape(nodes, g)
        dsigma = 0.0
        for r in range(r1 - int(nodes[g, 9]), r1):
            t = int(target[r])
            dsigma += entry[t] * dsig_at[r]
            dsigma = _row_grad(r, entry[t] * deta_at[r], dsigma, grad, value, dvalue, shape, design, soff, clusters)
        if sig >= 0:
            grad[sig] += dsigma * dvalue[sig]
    return total


@numba.njit(cache=True, nogil=True)
def constrain(x, out, priors, prior_params):
    """Each parameter's constrained value at the unconstrained point ``x``, into ``out``."""
    for d in range(x.shape[0]):
        transform = int(priors[d, 1])
        if transform == 0:
            out[d] = x[d]
        elif transform == 1:
            out[d] = math.exp(x[d])
        else:
            a, b = prior_params[d, 0], prior_params[d, 1]
            out[d] = a + (b - a) / (1.0 + math.exp(-x[d]))


# nutpie's C callbacks read the model from one float64 buffer (its ``user_data`` pointer):
# a header of sizes and offsets, then the arrays. One module-level function, so numba caches it.
_HEADER = 19  # total length, D, G, rows, Pmax, C, Q, then the offsets of the 12 arrays


@numba.njit(cache=True, nogil=True)
def _unpack(user_data):
    """The arrays of :meth:`FastModel.packed` as views of the buffer at ``user_data``.

    One function that both callbacks call (not inlined into each: compiled once), the
    offsets read one by one (a list would compile a list type).
    """
    head = numba.carray(user_data, (_HEADER,), np.float64)
    buf = numba.carray(user_data, (int(head[0]),), np.float64)
    d, g, rows, pmax, c, q = int(head[1]), int(head[2]), int(head[3]), int(head[4]), int(head[5]), int(head[6])
    o = head[7:]  # where the 12 arrays start
    return (
        buf[int(o[0]) : int(o[0]) + 2 * d].reshape((d, 2)),
        buf[int(o[1]) : int(o[1]) + 4 * d].reshape((d, 4)),
        buf[int(o[2]) : int(o[2]) + 11 * g].reshape((g, 11)),
        buf[int(o[3]) : int(o[3]) + rows * pmax].reshape((pmax, rows)).T,  # column-major
        buf[int(o[4]) : int(o[4]) + rows],
        buf[int(o[5]) : int(o[5]) + rows],
        buf[int(o[6]) : int(o[6]) + rows],
        buf[int(o[7]) : int(o[7]) + 2 * c].reshape((c, 2)),
        buf[int(o[8]) : int(o[8]) + rows],
        buf[int(o[9]) : int(o[9]) + rows],
        buf[int(o[10]) : int(o[10]) + rows],
        buf[int(o[11]) : int(o[11]) + 3 * q].reshape((q, 3)),
    )


_LOGP_SIG = numba.types.int64(
    numba.types.uint64,
    numba.types.CPointer(numba.types.double),
    numba.types.CPointer(numba.types.double),
    numba.types.CPointer(numba.types.double),
    numba.types.voidptr,
)
_EXPAND_SIG = numba.types.int64(
    numba.types.uint64,
    numba.types.uint64,
    numba.types.CPointer(numba.types.double),
    numba.types.CPointer(numba.types.double),
    numba.types.voidptr,
)


@numba.cfunc(_LOGP_SIG, cache=True)
def _logp_callback(dim, x_, grad_, logp_, user_data):
    """nutpie's log density callback: 0 on success, 3 or 4 for a non-finite gradient or value (nutpie's codes)."""
    arrays = _unpack(user_data)
    x = numba.carray(x_, (dim,))
    grad = numba.carray(grad_, (dim,))
    logp = numba.carray(logp_, (1,))
    value, dvalue = np.empty(dim), np.empty(dim)
    logp[0] = logp_grad(x, grad, value, dvalue, *arrays)
    for d in range(dim):
        if not np.isfinite(grad[d]):
            return 3
    if not np.isfinite(logp[0]):
        return 4
    return 0


@numba.cfunc(_EXPAND_SIG, cache=True)
def _expand_callback(dim, expanded, x_, out_, user_data):
    """nutpie's draw callback: the constrained values of an unconstrained point."""
    arrays = _unpack(user_data)
    priors, prior_params = arrays[0], arrays[1]
    constrain(numba.carray(x_, (dim,)), numba.carray(out_, (expanded,)), priors, prior_params)
    return 0


@dataclass(frozen=True, eq=False)
class FastModel:
    """A model as the arrays :func:`logp_grad` reads, with the names and shapes of its draws.

    Attributes
    ----------
    names : tuple of str
        The model's free variables in creation order (the order of ``x``).
    shapes : tuple of tuple of int
    slices : tuple of slice
        Where each variable sits in ``x``.
    rows : numpy.ndarray
        Distinct rows per node.
    model : pymc.Model
        The model it was planned from (coordinates, dims, data for ``observed_data``).
    """

    names: tuple
    shapes: tuple
    slices: tuple
    priors: np.ndarray
    prior_params: np.ndarray
    nodes: np.ndarray
    design: np.ndarray
    y: np.ndarray
    w: np.ndarray
    const: np.ndarray
    rows: np.ndarray
    dists: tuple  # the prior of each element of ``x``
    model: object
    clusters: np.ndarray = None  # (C, 2): each random intercept's sd and first z in ``x``
    # summed-out values and known coefficients (None for a model without either): per row its
    # known offset, its offset in units of sigma and its entry (-1: plain row); per incomplete row (Q, 3)
    off: np.ndarray = None
    soff: np.ndarray = None
    target: np.ndarray = None
    groups: np.ndarray = None

    @property
    def n_dim(self) -> int:
        return self.priors.shape[0]

    def logp(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """``(log density, gradient)`` at the unconstrained point ``x``."""
        x = np.asarray(x, dtype=np.float64)
        grad = np.empty(self.n_dim)
        value, dvalue = np.empty(self.n_dim), np.empty(self.n_dim)
        lp = logp_grad(x, grad, value, dvalue, *self._arrays)
        return lp, grad

    def constrained(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """The variables' values (constrained, shaped) at the unconstrained point ``x``."""
        v = np.empty(self.n_dim)
        constrain(np.asarray(x, dtype=np.float64), v, self.priors, self.prior_params)
        return {n: v[s].reshape(shape) for n, s, shape in zip(self.names, self.slices, self.shapes)}

    @property
    def _arrays(self) -> tuple:
        """The arrays in :func:`logp_grad`'s order, the optional ones filled in."""
        rows = self.y.shape[0]
        zero = np.zeros(rows)
        return (
            self.priors,
            self.prior_params,
            self.nodes,
            np.asfortranarray(self.design),  # a column's rows contiguous: the kernel's loops run down columns
            self.y,
            self.w,
            self.const,
            np.zeros((0, 2), dtype=np.int64) if self.clusters is None else self.clusters,
            zero if self.off is None else self.off,
            zero if self.soff is None else self.soff,
            np.full(rows, -1, dtype=np.int64) if self.target is None else self.target,
            np.zeros((0, 3)) if self.groups is None else self.groups,
        )

    def packed(self) -> np.ndarray:
        """Every array in one float64 buffer, as nutpie's callbacks read it (:func:`_unpack`)."""
        parts = self._arrays
        sizes = np.cumsum([_HEADER] + [p.size for p in parts])
        head = [
            sizes[-1],
            self.n_dim,
            self.nodes.shape[0],
            self.y.shape[0],
            self.design.shape[1],
            parts[7].shape[0],
            parts[11].shape[0],
            *sizes[:-1],
        ]
        return np.concatenate(
            [np.array(head, dtype=np.float64)] + [np.ravel(p, order="K").astype(np.float64) for p in parts]
        )


def why_not(ir, model, dataset=None) -> str | None:
    r"""Why ``model`` cannot take the fast path, or None if it can.

    It can when its free variables are exactly the IR's parameters (no latent missing
    values), every family and prior has a branch in :func:`logp_grad`, and its only potential
    is the incomplete rows' (``missing model`` or a sensitivity analysis's confounder), whose
    values are then read from ``dataset`` (the data ``model`` was attached to).

    Examples
    --------
    >>> import dagmed, pandas as pd
    >>> from dagmed.model.ir import ModelIR
    >>> spec = dagmed.parse("treatment t\noutcome y\nt -> y\nt, y ~ bernoulli\n")
    >>> model = dagmed.compile(spec, pd.DataFrame({"t": [0, 1], "y": [1, 0]}))
    >>> why_not(ModelIR.from_analysis(dagmed.check(spec)), model) is None
    True
    """
    if model.potentials:
        if [p.name for p in model.potentials] != [names.INCOMPLETE_ROWS]:
            return "the model has a potential other than the incomplete rows' likelihood"
        if dataset is None:
            return "the model has a potential (rows with missing values) and no dataset to read them from"
        lay = missing.layout(dataset)
        if lay.latent_rows:
            # documented fallback (docs/missing.md): the latent values are sampled on the compiled PyMC model
            return f"no fast density for missing continuous values (latent variables: {', '.join(lay.latent_rows)})"
        if any(node.clusters for node in ir.nodes):
            return "no fast density for clusters with incomplete rows"
    for node in ir.nodes:
        extra = [p.kind for p in node.extras]
        if any(k.per is not None and k.per not in extra for k in node.known):
            return f"no fast density for {node.name}'s known coefficient in units of a parameter it does not have"
    if any(c.slope is not None for node in ir.nodes for c in node.clusters):
        # documented fallback (docs/clusters.md): nutpie samples the compiled PyMC model instead
        return "no fast density for random slopes (cluster statements with '->')"
    if sorted(v.name for v in model.free_RVs) != sorted(_parameters(ir)):
        return "the model has free variables other than the GLMs' parameters"
    for node in ir.nodes:
        if node.family.fast < 0:
            return f"no fast density for family {node.family.name}"
        if len(node.extras) > 1:
            return f"no fast density for family {node.family.name}: more than one extra parameter"
    return None


def _parameters(ir) -> list[str]:
    """The model's free variables: the IR's parameters and each random intercept's standardised ``z``."""
    return [p.name for p in ir.params] + [c.z for node in ir.nodes for c in node.clusters]


_STANDARD_NORMAL = Dist("normal", (), (("mu", 0.0), ("sigma", 1.0)))


def _table(node, columns, codes=()) -> np.ndarray:
    """``(..., P + K + 3)``: a node's terms, its rows' cluster codes, its known offset, its known offset
    per unit of its extra parameter (``Known.per``), its value; ``columns`` any arrays of one shape."""
    y = np.asarray(columns[node.name], dtype=np.float64)
    off = dataclasses.replace(node, known=tuple(k for k in node.known if k.per is None)).known_predictor(columns, {})
    soff = dataclasses.replace(node, known=tuple(k for k in node.known if k.per is not None)).known_predictor(
        columns, {k.per: 1.0 for k in node.known}
    )
    return np.stack(
        [
            *(np.broadcast_to(t.values(columns), y.shape) for t in node.terms),
            *codes,
            np.broadcast_to(off, y.shape),
            np.broadcast_to(soff, y.shape),
            y,
        ],
        axis=-1,
    ).astype(np.float64)


def _incomplete(ir, nodes, lay) -> tuple[dict, dict, list]:
    """The incomplete rows of ``lay``: per node its rows that are alike in every combination (a plain
    row each), its entry rows and their entries; and per distinct incomplete row ``(first entry, 2^b, count)``.

    A node whose values and parents' do not change across a row's combinations has the same term
    in each: it leaves the log-sum-exp (``log sum_c exp(a + l_c) = a + log sum_c exp(l_c)``) and
    joins the plain rows. Incomplete rows alike in every term left are one group, weighted.
    """
    plain = {node.name: [] for node in nodes}
    entries = {node.name: ([], []) for node in nodes}
    groups, e0 = [], 0
    for block in lay.blocks:
        n, nc = len(block.rows), block.n_comb
        tables, varying = {}, {}
        for node in nodes:
            t = _table(node, block.values)  # (n, nc, P + 3)
            tables[node.name], varying[node.name] = t, np.any(t != t[:, :1], axis=(1, 2))
            plain[node.name].append(t[~varying[node.name], 0])
        key = np.concatenate(
            [np.column_stack([varying[v], (tables[v] * varying[v][:, None, None]).reshape(n, -1)]) for v in tables],
            axis=1,
        )
        _, first, counts = np.unique(key, axis=0, return_index=True, return_counts=True)
        for i, count in zip(first, counts):
            for v, t in tables.items():
                if varying[v][i]:
                    entries[v][0].append(t[i])
                    entries[v][1].append(np.arange(e0, e0 + nc))
            groups.append((e0, nc, count))
            e0 += nc
    return plain, entries, groups


def plan(ir, model, dataset=None) -> FastModel | None:
    r"""The fast-path arrays of ``model`` (data attached), or None when :func:`why_not` says no.

    The parameters are laid out in ``model.free_RVs`` order, the order PyMC's own samplers use.
    A model with incomplete rows (a potential) needs ``dataset``, the data it was attached to.

    Examples
    --------
    >>> import dagmed, pandas as pd
    >>> from dagmed.model import compiler
    >>> spec = dagmed.parse("treatment t\noutcome y\nt -> y\nt, y ~ bernoulli\nmissing model\n")
    >>> ds = dagmed.load_data(spec, pd.DataFrame({"t": [0, 1, None, None], "y": [1, 0, 1, 1]}))
    >>> fast = plan(ds.ir, compiler.attach(compiler.build(ds.ir, ds.n_obs), ds), ds)
    >>> fast.groups.tolist()  # rows 2 and 3 alike: one log-sum-exp over t = 0, 1, weighted 2
    [[0.0, 2.0, 2.0]]
    >>> fast.target.tolist()  # t's rows, then y's: two complete rows each, then one per entry
    [-1, -1, 0, 1, -1, -1, 0, 1]
    """
    if why_not(ir, model, dataset) is not None:
        return None
    params = {p.name: (p.shape, p.priors) for p in ir.params}
    for node in ir.nodes:  # the standardised intercepts: Normal(0, 1), one per cluster
        for c in node.clusters:
            g = len(model.coords[c.dim])
            params[c.z] = ((g,), (_STANDARD_NORMAL,) * g)
    names_, shapes, slices, priors, pparams, all_dists = [], [], [], [], [], []
    offset = 0
    for var in model.free_RVs:
        shape, dists = params[var.name]
        names_.append(var.name)
        shapes.append(shape)
        slices.append(slice(offset, offset + len(dists)))
        offset += len(dists)
        all_dists += dists
        for dist in dists:
            code, transform, row = _prior_row(dist)
            priors.append((code, transform))
            pparams.append(row)
    index = {n: s.start for n, s in zip(names_, slices)}
    pmax = max([len(node.terms) + len(node.clusters) for node in ir.nodes] + [1])
    # the nodes' likelihoods summed in spec order, as since the fast path began: another order
    # rounds differently, and NUTS turns a last-bit difference into other draws for the same seed
    # (a transform's confounder, in no spec, first)
    spec_order = {n.name: i for i, n in enumerate(ir.spec.nodes)}
    nodes = sorted(ir.nodes, key=lambda n: spec_order.get(n.name, -1))
    lay = missing.layout(dataset) if model.potentials else None
    plain, entries, groups = _incomplete(ir, nodes, lay) if lay is not None else ({}, {}, [])
    blocks, node_rows, cluster_rows = [], [], []
    start = 0
    for node in nodes:
        columns = {p: compiler.node_values(model, p) for p in (*node.parents, node.name)}
        codes = [model[names.cluster_codes(c.column)].get_value() for c in node.clusters]
        table = np.concatenate([_table(node, columns, codes), *plain.get(node.name, [])])
        rows, inverse = np.unique(table, axis=0, return_inverse=True)
        counts = np.bincount(inverse.ravel(), minlength=len(rows)).astype(np.float64)
        at, targets = entries.get(node.name, ([], []))
        if at:  # the incomplete rows' terms, one per combination, weighted after the log-sum-exp
            rows = np.concatenate([rows, *at])
            counts = np.concatenate([counts, np.ones(sum(len(t) for t in targets))])
        target = np.concatenate([np.full(len(counts) - sum(len(t) for t in targets), -1), *targets])
        k = len(node.terms) + len(node.clusters)
        padded = np.zeros((len(rows), pmax))
        padded[:, :k] = rows[:, :k]
        yd = rows[:, -1]
        value_term = np.asarray(node.family.value_term(yd), dtype=np.float64)
        blocks.append((padded, yd, counts, value_term, rows[:, -3], rows[:, -2], target))
        extra = index[node.extras[0].name] if node.extras else -1
        icpt = index[node.intercept.name] if node.intercept is not None else -1
        beta0 = index[node.beta.name] if node.beta is not None else -1
        first = (len(node.clusters), len(cluster_rows))
        n_at = int((target >= 0).sum())
        known = int(bool(node.known))
        node_rows.append(
            (node.family.fast, start, start + len(yd), len(node.terms), icpt, beta0, extra, *first, n_at, known)
        )
        cluster_rows += [(index[c.sd.name], index[c.z]) for c in node.clusters]
        start += len(yd)
    extended = lay is not None or any(node.known for node in ir.nodes)
    return FastModel(
        tuple(names_),
        tuple(shapes),
        tuple(slices),
        np.array(priors, dtype=np.int64).reshape(-1, 2),
        np.array(pparams, dtype=np.float64).reshape(-1, 4),
        np.array(node_rows, dtype=np.int64).reshape(-1, 11),
        *(np.concatenate([b[i] for b in blocks]) for i in range(4)),
        np.array([r[2] - r[1] for r in node_rows]),
        tuple(all_dists),
        model,
        np.array(cluster_rows, dtype=np.int64).reshape(-1, 2),
        *((np.concatenate([b[i] for b in blocks]) for i in (4, 5)) if extended else (None, None)),
        np.concatenate([b[6] for b in blocks]).astype(np.int64) if extended else None,
        np.array(groups, dtype=np.float64).reshape(-1, 3) if extended else None,
    )


def _initial_value(dist) -> float:
    """Where a chain starts for a parameter with this prior, before jitter: the prior's centre."""
    return float(PRIORS[dist.name].centre(dict(dist.kwargs)))


def _nutpie_model(fast: FastModel):
    """A nutpie model of ``fast``: its cached C callbacks, the packed arrays as their user data.

    It is nutpie's own class for compiled PyMC models (``CompiledPyMCModel``), given our
    callbacks instead of ones compiled from the model: nutpie's sampler calls them without
    Python in between, from every chain's thread. :func:`nutpie_supported` checks that
    nutpie still has that class with these fields.
    """
    model = fast.model
    t = fast.priors[:, 1]
    centre = np.array([_initial_value(d) for d in fast.dists])
    start = np.where(t == 1, np.log(np.where(t == 1, centre, 1.0)), centre)  # log transform
    start = np.where(t == 2, 0.0, start)  # interval transform: 0 is the interval's middle

    def initial_point(chain_seed):  # PyMC's jitter: uniform(-1, 1) in the unconstrained space
        return start + np.random.default_rng(chain_seed).uniform(-1.0, 1.0, fast.n_dim)

    import pandas as pd

    coords = {d: pd.Index(list(model.coords[d])) for n in fast.names for d in model.named_vars_to_dims.get(n, ())}
    coords["unconstrained_parameter"] = pd.Index(  # as nutpie names the elements of x
        [
            e
            for n, shape in zip(fast.names, fast.shapes)
            for e in ([n] if not shape else [f"{n}_{i}" for i in range(shape[0])])
        ]
    )
    dims = {n: tuple(model.named_vars_to_dims[n]) for n in fast.names if n in model.named_vars_to_dims}
    return compat.nutpie_model(
        dims=dims,
        coords=coords,
        shapes=dict(zip(fast.names, fast.shapes)),
        logp_callback=_logp_callback,
        expand_callback=_expand_callback,
        initial_point=initial_point,
        user_data=fast.packed(),
        layout=(list(fast.names), list(fast.slices), list(fast.shapes)),
    )


def nutpie_supported() -> bool:
    """Whether the installed nutpie takes :func:`_nutpie_model`'s model (else the fit stage compiles the PyMC model).

    Examples
    --------
    >>> isinstance(nutpie_supported(), bool)
    True
    """
    return compat.compiled_model_class() is not None


def sample(fast: FastModel, settings, seed: int | None, progressbar: bool = False):
    """Draw from ``fast``'s posterior with nutpie; the container ``pm.sample`` gives (:func:`dagmed.compat.inference_data`).

    Parameters
    ----------
    fast : FastModel
        From :func:`plan`.
    settings : dagmed.fit.sampling.SamplerSettings
        Draws, tuning, chains, cores, target acceptance.
    seed : int or None
        nutpie's seed (:func:`dagmed.fit.sampling.sample` derives it as ``pm.sample`` does).
    progressbar : bool
        Show nutpie's progress bar.

    Returns
    -------
    arviz.InferenceData or xarray.DataTree
        ``posterior`` (the model's variables, its dims and coordinates), ``sample_stats``,
        ``observed_data`` and ``constant_data``; warm-up draws dropped by the caller.
    """
    import nutpie

    model = fast.model
    compiled = _nutpie_model(fast)
    kwargs = {} if settings.cores is None else {"cores": settings.cores}
    idata = nutpie.sample(
        compiled,
        draws=settings.draws,
        tune=settings.tune,
        chains=settings.chains,
        seed=seed,
        target_accept=settings.target_accept,
        progress_bar=progressbar,
        **compat.nutpie_options(),
        **kwargs,
    )
    for name, group in compat.data_groups(model).items():  # as pm.sample does for nutpie: the data it never sees
        compat.set_group(idata, name, group)
    return idata
