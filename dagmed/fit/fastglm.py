r"""The fit stage's fast path: the model's posterior sampled by nutpie through one cached log density.

When every node is observed (no ``missing model`` rows), dagmed's model is a set of GLMs,
one per node with a family, whose parameters appear in no other node's likelihood. Its log
density is then a short sum that one compiled function evaluates for *any* such model,
given the model as arrays: the design of each node, its family, the prior of each
parameter. That function is compiled by numba once and cached on disk (``cache=True``), so
a run pays no compilation, where ``nutpie.compile_pymc_model`` spends 10-15 s compiling
each model anew (the compiled C callback cannot be cached: it closes over the model).

The density is PyMC's own, term for term, in the same unconstrained space (log transform
for positive parameters, interval transform for uniform priors): ``tests/fit/test_fastglm.py``
checks the value and the gradient against ``model.compile_logp`` / ``compile_dlogp`` at
random points for every family and prior. Two changes of arithmetic, neither of which
changes the posterior:

* identical rows of a node (its parents' values and its own) are summed once, weighted by
  their count: the likelihood is a sum over rows, so this only reorders the sum;
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

import math
from dataclasses import dataclass

import numba
import numpy as np

from .. import compat
from ..lang.ir import Dist
from ..lang.priors import PRIORS
from ..model.compiler import distinct_rows

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


@numba.njit(cache=True, nogil=True)
def logp_grad(x, grad, value, dvalue, priors, prior_params, nodes, design, y, w, const, clusters):
    """The model's log density at the unconstrained point ``x``; its gradient into ``grad``.

    Parameters
    ----------
    x, grad : (D,) the unconstrained parameters; the gradient, written
    value, dvalue : (D,) scratch: each parameter's constrained value and ``d value / d x``
    priors : (D, 2) integers (any dtype), per parameter: prior code (``PriorDist.code``) and transform
        (``dagmed.lang.priors``: 0 none, 1 log, 2 interval)
    prior_params : (D, 4) the prior's parameters ``a, b, c`` and its log normalising constant
    nodes : (G, 8) integers (any dtype), per GLM: likelihood code (``Family.fast``), first and last row,
        number of coefficients P, index in ``x`` of its intercept (its P coefficients
        follow), index of its extra parameter, a scale (-1 if none), its number K of random
        intercepts and the first of their rows in ``clusters``
    design : (rows, Pmax) the parents' values of every distinct row; after a node's P terms,
        the row's cluster code of each of its K random intercepts
    clusters : (C, 2) integers (any dtype), per random intercept: the index in ``x`` of its sd
        and of its first standardised intercept ``z``; a row of cluster ``c`` adds ``sd * z[c]``
    y, w, const : (rows,) the node's value, how many data rows are alike, the part of the
        log likelihood that depends on the value alone (``Family.value_term``: ``-lgamma(y + 1)``
        for a count)
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
    for g in range(nodes.shape[0]):
        lik, r0, r1, p = int(nodes[g, 0]), int(nodes[g, 1]), int(nodes[g, 2]), int(nodes[g, 3])
        first, sig = int(nodes[g, 4]), int(nodes[g, 5])
        nk, k0 = int(nodes[g, 6]), int(nodes[g, 7])
        sigma = value[sig] if sig >= 0 else 1.0
        dsigma = 0.0
        for r in range(r0, r1):
            eta = value[first]
            for j in range(p):
                eta += value[first + 1 + j] * design[r, j]
            for k in range(nk):  # non-centred random intercepts: sd * z[the row's cluster]
                eta += value[int(clusters[k0 + k, 0])] * value[int(clusters[k0 + k, 1]) + int(design[r, p + k])]
            if lik == 0:  # bernoulli, logit link: softplus and sigmoid from one exponential
                e = math.exp(-abs(eta))
                ll = y[r] * eta - (max(eta, 0.0) + math.log1p(e))
                deta = y[r] - (1.0 / (1.0 + e) if eta >= 0.0 else e / (1.0 + e))
            elif lik == 1:  # normal, identity link
                z = (y[r] - eta) / sigma
                ll = -0.5 * _LOG_2PI - math.log(sigma) - 0.5 * z * z
                deta = z / sigma
                dsigma += w[r] * (z * z - 1.0) / sigma
            else:  # poisson, log link
                mu = math.exp(eta)
                ll = y[r] * eta - mu + const[r]
                deta = y[r] - mu
            total += w[r] * ll
            deta *= w[r]
            grad[first] += deta * dvalue[first]
            for j in range(p):
                grad[first + 1 + j] += deta * design[r, j] * dvalue[first + 1 + j]
            for k in range(nk):
                sd, z = int(clusters[k0 + k, 0]), int(clusters[k0 + k, 1]) + int(design[r, p + k])
                grad[sd] += deta * value[z] * dvalue[sd]
                grad[z] += deta * value[sd] * dvalue[z]
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
_HEADER = 14  # total length, D, G, rows, Pmax, C, then the offsets of the 8 arrays


@numba.njit(cache=True, nogil=True)
def _unpack(user_data):
    """The arrays of :meth:`FastModel.packed` as views of the buffer at ``user_data``.

    One function that both callbacks call (not inlined into each: compiled once), the
    offsets read one by one (a list would compile a list type).
    """
    head = numba.carray(user_data, (_HEADER,), np.float64)
    buf = numba.carray(user_data, (int(head[0]),), np.float64)
    d, g, rows, pmax, c = int(head[1]), int(head[2]), int(head[3]), int(head[4]), int(head[5])
    o = head[6:]  # where the 8 arrays start
    return (
        buf[int(o[0]) : int(o[0]) + 2 * d].reshape((d, 2)),
        buf[int(o[1]) : int(o[1]) + 4 * d].reshape((d, 4)),
        buf[int(o[2]) : int(o[2]) + 8 * g].reshape((g, 8)),
        buf[int(o[3]) : int(o[3]) + rows * pmax].reshape((rows, pmax)),
        buf[int(o[4]) : int(o[4]) + rows],
        buf[int(o[5]) : int(o[5]) + rows],
        buf[int(o[6]) : int(o[6]) + rows],
        buf[int(o[7]) : int(o[7]) + 2 * c].reshape((c, 2)),
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
    priors, prior_params, nodes, design, y, w, const, clusters = _unpack(user_data)
    x = numba.carray(x_, (dim,))
    grad = numba.carray(grad_, (dim,))
    logp = numba.carray(logp_, (1,))
    value, dvalue = np.empty(dim), np.empty(dim)
    logp[0] = logp_grad(x, grad, value, dvalue, priors, prior_params, nodes, design, y, w, const, clusters)
    for d in range(dim):
        if not np.isfinite(grad[d]):
            return 3
    if not np.isfinite(logp[0]):
        return 4
    return 0


@numba.cfunc(_EXPAND_SIG, cache=True)
def _expand_callback(dim, expanded, x_, out_, user_data):
    """nutpie's draw callback: the constrained values of an unconstrained point."""
    priors, prior_params, nodes, design, y, w, const, _ = _unpack(user_data)
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

    @property
    def n_dim(self) -> int:
        return self.priors.shape[0]

    def logp(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """``(log density, gradient)`` at the unconstrained point ``x``."""
        x = np.asarray(x, dtype=np.float64)
        grad = np.empty(self.n_dim)
        value, dvalue = np.empty(self.n_dim), np.empty(self.n_dim)
        lp = logp_grad(
            x,
            grad,
            value,
            dvalue,
            self.priors,
            self.prior_params,
            self.nodes,
            self.design,
            self.y,
            self.w,
            self.const,
            self._clusters,
        )
        return lp, grad

    def constrained(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """The variables' values (constrained, shaped) at the unconstrained point ``x``."""
        v = np.empty(self.n_dim)
        constrain(np.asarray(x, dtype=np.float64), v, self.priors, self.prior_params)
        return {n: v[s].reshape(shape) for n, s, shape in zip(self.names, self.slices, self.shapes)}

    @property
    def _clusters(self) -> np.ndarray:
        return np.zeros((0, 2), dtype=np.int64) if self.clusters is None else self.clusters

    def packed(self) -> np.ndarray:
        """Every array in one float64 buffer, as nutpie's callbacks read it (:func:`_unpack`)."""
        parts = [self.priors, self.prior_params, self.nodes, self.design, self.y, self.w, self.const, self._clusters]
        sizes = np.cumsum([_HEADER] + [p.size for p in parts])
        head = [
            sizes[-1],
            self.n_dim,
            self.nodes.shape[0],
            self.y.shape[0],
            self.design.shape[1],
            self._clusters.shape[0],
            *sizes[:-1],
        ]
        return np.concatenate([np.array(head, dtype=np.float64)] + [np.ravel(p).astype(np.float64) for p in parts])


def why_not(ir, model) -> str | None:
    r"""Why ``model`` cannot take the fast path, or None if it can.

    It can when its free variables are exactly the IR's parameters (no latent missing
    values, no potential) and every family and prior has a branch in :func:`logp_grad`.

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
        return "the model has a potential (rows with missing values)"
    if any(node.known for node in ir.nodes):
        return "the model has known coefficients (a sensitivity analysis's confounder)"
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


def plan(ir, model) -> FastModel | None:
    """The fast-path arrays of ``model`` (data attached), or None when :func:`why_not` says no.

    The parameters are laid out in ``model.free_RVs`` order, the order PyMC's own samplers use.
    """
    if why_not(ir, model) is not None:
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
    blocks, node_rows, cluster_rows = [], [], []
    start = 0
    # the nodes' likelihoods summed in spec order, as since the fast path began: another order
    # rounds differently, and NUTS turns a last-bit difference into other draws for the same seed
    spec_order = {n.name: i for i, n in enumerate(ir.spec.nodes)}
    for node in sorted(ir.nodes, key=lambda n: spec_order[n.name]):
        design, yd, counts = distinct_rows(model, node, clusters=True)  # the codes after the terms
        padded = np.zeros((len(yd), pmax))
        padded[:, : design.shape[1]] = design
        blocks.append((padded, yd, counts.astype(np.float64), np.asarray(node.family.value_term(yd), dtype=np.float64)))
        extra = index[node.extras[0].name] if node.extras else -1
        p = len(node.terms)
        first = (len(node.clusters), len(cluster_rows))
        node_rows.append((node.family.fast, start, start + len(yd), p, index[node.intercept.name], extra, *first))
        cluster_rows += [(index[c.sd.name], index[c.z]) for c in node.clusters]
        start += len(yd)
    return FastModel(
        tuple(names_),
        tuple(shapes),
        tuple(slices),
        np.array(priors, dtype=np.int64).reshape(-1, 2),
        np.array(pparams, dtype=np.float64).reshape(-1, 4),
        np.array(node_rows, dtype=np.int64).reshape(-1, 8),
        np.concatenate([b[0] for b in blocks]),
        np.concatenate([b[1] for b in blocks]),
        np.concatenate([b[2] for b in blocks]),
        np.concatenate([b[3] for b in blocks]),
        np.array([r[2] - r[1] for r in node_rows]),
        tuple(all_dists),
        model,
        np.array(cluster_rows, dtype=np.int64).reshape(-1, 2),
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
