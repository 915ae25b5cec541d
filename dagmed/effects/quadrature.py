r"""Regimes over the mediators' grids: any families, dependent or not (MATH.md section 6).

When the mediators are not all binary and the contraction with their means is not exact
(an outcome whose link is not affine, a mediator with levels, or dependent mediators whose
mean is not affine in their parents), every regime is the sum over each mediator's
distribution on a grid of values with weights (per draw, observation and treatment level):

* **finite** supports (bernoulli, ordinal with ``L`` levels): the levels themselves, with the
  family's level probabilities -- exact (the mixed-radix enumeration of section 6);
* **counts** (poisson, negbinomial): ``0, 1, ..., n`` with ``n`` the smallest count whose
  upper tail is below :data:`TAIL` at every draw, observation and treatment level of the
  chunk; the tail mass left out is reported (:attr:`Integrated.tail`);
* **normal**: Gauss--Hermite nodes ``mu + sqrt(2) sigma z_j`` with weights ``w_j / sqrt(pi)``;
* **studentt**: Gauss--Legendre nodes ``u_j`` on (0, 1) through the quantile function,
  ``mu + sigma F_nu^{-1}(u_j)`` with weights ``w_j / 2`` (the outcome's mean is bounded
  under its link, so the integrand is bounded and flat in both tails).

The continuous grids' error is estimated by doubling their nodes on up to
:data:`ERROR_DRAWS` draws, and the nodes are doubled until the estimate is below
:data:`TARGET` (:attr:`Integrated.error`; the effects' own error is computed from the same two
tables by :func:`dagmed.effects.decomposition.decompose_reporting`).

**Dependent mediators** (section 3b): the joint ``P(M = m | do(T = t*), x)`` is walked down the
mediator sub-DAG in topological order, each mediator's conditional grid taken at every
combination of its mediator parents' grid values; ``Ej(t; t*)`` is the outcome's mean summed
over that joint. A mediator's marginal under ``do(T = t)`` sums over its mediator ancestors:
for a finite or count support the probabilities of each value add up (the grid keeps its
size), a continuous mediator's marginal is the mixture of its conditional grids (a grid of
the product of the sizes). The outcome's mean is evaluated at every node with every term of
its equation, product terms included: nothing is linearised and no mediator's mean is
plugged into a non-linear outcome. A grid larger than :data:`MAX_CELLS` per draw and
observation is refused before anything is computed.

Examples
--------
>>> from dagmed.lang.families import FAMILIES
>>> from dagmed.model.draws import NodeDraws
>>> m = NodeDraws(FAMILIES["normal"], np.array([0.5]), np.array([[1.0]]), ("t",), {"sigma": np.array([0.8])})
>>> y = NodeDraws(FAMILIES["bernoulli"], np.array([-1.0]), np.array([[0.5, 0.7]]), ("t", "m"))
>>> out = integrate(RegimeInputs(y, (m,), ("m",), "t", {}, n_obs=1))
>>> out.table.shape, out.error < 1e-8, out.tail
((1, 2, 2), True, 0.0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import SpecError
from ..model.ir import split_factor
from . import gridkernel
from .regimes import DEFAULT_CHUNK_BYTES, RegimeInputs, independent_joint, observation_sum, predictor

TAIL = 1e-10  # a count mediator's upper tail left out, at most, per draw, observation and treatment level
NODES = 8  # nodes per continuous mediator to begin with; doubled to estimate the error, and while it is above TARGET
MAX_NODES = 160  # the continuous grids are doubled up to this many nodes while the error is above TARGET
TARGET = 1e-5  # the estimated error of any regime the nodes are doubled to reach (effects: at most a few times it)
ERROR_DRAWS = 100  # the error is estimated on at most this many draws, spread over the chains
MAX_COUNT = 10_000  # a count mediator whose tail needs more nodes is refused
MAX_CELLS = 2**21  # outcome evaluations per draw and observation, at most


@dataclass(frozen=True, eq=False)
class Integrated:
    """The regimes by summation over the mediators' grids.

    Attributes
    ----------
    table : numpy.ndarray
        ``E(t; t_1..t_K)`` per draw: ``(S, 2, ..., 2)``.
    joint : numpy.ndarray
        ``Ej(t; t*)`` per draw: ``(S, 2, 2)``.
    error : float
        The largest change of any regime when the continuous grids' nodes are doubled, on up
        to :data:`ERROR_DRAWS` draws evenly spaced (0 without a continuous mediator): the
        estimated error of the quadrature.
    tail : float
        The largest probability a count mediator's grid leaves out (0 without one).
    nodes : dict
        Each mediator's grid size that is not binary (a continuous one: its nodes).
    check : tuple or None
        ``(table, joint)`` at the nodes used and at twice as many, on the draws the error was
        estimated on: the effects' error is computed from them.
    """

    table: np.ndarray
    joint: np.ndarray
    error: float
    tail: float
    nodes: dict
    check: tuple | None = None


def continuous(fam) -> bool:
    """A family integrated by quadrature nodes (normal, studentt), not by its values."""
    return fam.support.name == "real"


def needed(inputs: RegimeInputs) -> bool:
    """Whether the regimes need grids: the contraction with the mediators' means is not exact.

    That contraction (:func:`dagmed.effects.regimes.regimes`) is exact for binary mediators,
    and for mediators of one value each (no levels) under an affine outcome, as long as a
    mediator with mediator parents has an affine link and no product of two mediators enters
    a dependent mediator's or the outcome's equation (MATH.md section 6).
    """
    if inputs.binary:
        return False
    if not inputs.outcome.link.affine or any(m.family.support.levels for m in inputs.mediators):
        return True
    if not inputs.dependent:
        return False
    names = set(inputs.mediator_names)
    parents = inputs.mediator_parents
    for name, m in zip(inputs.mediator_names, inputs.mediators):
        if parents[name] and not m.link.affine:
            return True
    return any(_multiplies_mediators(glm, names) for glm in (inputs.outcome, *inputs.mediators))


def _multiplies_mediators(glm, names: set) -> bool:
    """Some term of ``glm`` is a product of two or more of the mediators ``names``."""
    return any(len(names.intersection(split_factor(f)[0] for f in fs)) >= 2 for fs in glm.factors)


def _extras(m, s: slice, ndim: int) -> dict:
    """``m``'s extra parameters for draws ``s``, shaped to broadcast against a ``ndim`` predictor (levels last)."""
    out = {}
    for k, v in m.extras.items():
        v = v[s]
        out[k] = v.reshape((v.shape[0],) + (1,) * (ndim - 1) + v.shape[1:])
    return out


def _count_size(m, eta: np.ndarray, extras: dict) -> int:
    """The largest count ``n`` such that ``P(M > n) < TAIL`` at every cell of ``eta``."""
    from scipy import stats  # scipy's distributions only when a count is integrated

    mu = np.exp(eta)
    if m.family.name == "poisson":
        n = stats.poisson.isf(TAIL, mu)
    else:
        alpha = extras["alpha"]
        n = stats.nbinom.isf(TAIL, alpha, alpha / (alpha + mu))
    top = float(np.nanmax(n))
    if not np.isfinite(top) or top > MAX_COUNT:
        raise SpecError(
            f"a count mediator's distribution needs more than {MAX_COUNT} nodes to leave less than {TAIL:g} of "
            f"its probability out (its mean reaches {float(mu.max()):.3g}): too many to sum; model it as normal"
        )
    return int(top)


def _conditional(m, eta: np.ndarray, s: slice, nodes: int):
    """``(values, weights)`` of mediator ``m`` given its linear predictor ``eta``: a new last axis each.

    ``values`` broadcasts against ``weights``; a finite or count support's values are the
    same at every cell (shape ``(1, ..., 1, J)``), a continuous one's move with ``eta``.
    Returns the tail left out as a third item (counts; else 0).
    """
    fam = m.family
    nd = eta.ndim - 1 if fam.vector else eta.ndim  # a categorical node's eta has a level axis of its own
    extras = _extras(m, s, nd)
    if fam.support.finite:
        p = fam.probs(eta, extras)
        return np.arange(p.shape[-1], dtype=float).reshape((1,) * nd + (-1,)), p, 0.0
    if fam.support.name == "count":
        size = _count_size(m, eta, extras)
        values = np.arange(size + 1, dtype=float).reshape((1,) * eta.ndim + (-1,))
        w = np.exp(fam.logp(values, eta[..., None], {k: v[..., None] for k, v in extras.items()}))
        return values, w, float(np.max(1.0 - w.sum(axis=-1)))
    sigma = extras["sigma"][..., None]
    if fam.name == "normal":
        z, w = np.polynomial.hermite.hermgauss(nodes)
        return eta[..., None] + np.sqrt(2.0) * sigma * z, np.broadcast_to(w / np.sqrt(np.pi), eta.shape + (nodes,)), 0.0
    if fam.name == "studentt":
        from scipy import stats  # the quantile function only when a Student-t mediator is integrated

        x, w = np.polynomial.legendre.leggauss(nodes)
        q = stats.t.ppf(0.5 * (x + 1.0), extras["nu"][..., None])
        return eta[..., None] + sigma * q, np.broadcast_to(0.5 * w, eta.shape + (nodes,)), 0.0
    raise SpecError(f"a {fam.name} mediator has no grid")


def _flatten(x: np.ndarray) -> np.ndarray:
    """Merge the last two axes (configurations x grid values) into one."""
    return x.reshape(x.shape[:-2] + (x.shape[-2] * x.shape[-1],))


def _walk(inputs: RegimeInputs, s: slice, i: slice, members: list[int], nodes: int, tail: list):
    """The joint of the mediators ``members`` (topological order) under ``do(T = t*)``, on a flat axis of configurations.

    Returns ``(values, weights)``: per member, its value at each configuration
    (``(s|1, n|1, 2, C)``), and each configuration's probability ``(s, n, 2, C)``; ``t*`` is the
    third axis. The mediators' parents outside ``members`` must not be mediators.
    """
    t = {inputs.treatment: inputs.treatment_values.reshape(1, 1, 2, 1)}
    values: dict = {}
    weights = np.ones((1, 1, 2, 1))
    for j in members:
        m, name = inputs.mediators[j], inputs.mediator_names[j]
        eta = predictor(m, inputs, s, i, {**t, **values})  # (s, n, 2, C)
        v, w, left = _conditional(m, eta, s, nodes)
        tail.append(left)
        c, size = w.shape[-2], v.shape[-1]
        values = {k: _flatten(np.broadcast_to(x[..., None], x.shape + (size,))) for k, x in values.items()}
        values[name] = _flatten(np.broadcast_to(v, v.shape[:-2] + (c, size)))
        weights = _flatten(weights[..., None] * w)
    return values, weights


def _ancestors(inputs: RegimeInputs, j: int) -> list[int]:
    """Mediator ``j``'s mediator ancestors and ``j`` itself, in topological order."""
    parents = inputs.mediator_parents
    names = inputs.mediator_names
    keep, todo = {j}, [j]
    while todo:
        for p in parents[names[todo.pop()]]:
            if names.index(p) not in keep:
                keep.add(names.index(p))
                todo.append(names.index(p))
    return [k for k in inputs.topological_order() if k in keep]


def _marginal(inputs: RegimeInputs, s: slice, i: slice, j: int, nodes: int, tail: list):
    """Mediator ``j``'s marginal under ``do(T = t)`` on its union grid: ``(values (.., U), weights (.., 2, U))``.

    The union grid holds the values under both treatment levels (a finite or count support's
    values are the same under both; a continuous mediator's nodes move with the treatment,
    so its union is twice as long, each half weighted zero under the other level: MATH.md
    section 6). ``values`` is ``(s|1, n|1, U)``, ``weights`` ``(s, n, 2, U)`` indexed by ``t``.
    """
    m, name = inputs.mediators[j], inputs.mediator_names[j]
    members = _ancestors(inputs, j)
    vals, w = _walk(inputs, s, i, members, nodes, tail)
    v = vals[name]  # (.., 2, C)
    if not continuous(m.family):
        # equal values in every configuration: the probabilities of each value add up
        size = int(v.max()) + 1 if v.size else 1
        onehot = v[..., None] == np.arange(size)  # (.., 2, C, size)
        weights = (w[..., None] * onehot).sum(axis=-2)
        return np.arange(size, dtype=float).reshape(1, 1, -1), weights
    v = np.broadcast_to(v, w.shape)
    zero = np.zeros_like(w)
    values = np.concatenate([v[:, :, 0], v[:, :, 1]], axis=-1)  # (s, n, 2C)
    weights = np.stack(
        [np.concatenate([w[:, :, 0], zero[:, :, 1]], -1), np.concatenate([zero[:, :, 0], w[:, :, 1]], -1)], 2
    )
    return values, weights


def _outcome(inputs: RegimeInputs, s: slice, i: slice, values: dict) -> np.ndarray:
    """The outcome's mean at ``t`` = both treatment levels (a new third axis) and the mediators' ``values``."""
    k = max([np.ndim(v) for v in values.values()] + [2])
    t = inputs.treatment_values.reshape((1, 1, 2) + (1,) * (k - 2))
    vals = {n: np.expand_dims(v, 2) for n, v in values.items()}
    y = inputs.outcome
    return y.link.inverse(predictor(y, inputs, s, i, {inputs.treatment: t, **vals}))


def additive(inputs: RegimeInputs) -> bool:
    """No term of the outcome's equation multiplies two mediators: :mod:`dagmed.effects.gridkernel` takes it."""
    return not _multiplies_mediators(inputs.outcome, set(inputs.mediator_names))


def _compiled(inputs: RegimeInputs, s: slice, i: slice, grids: list) -> np.ndarray:
    """The marginal regimes' sums over the observations by the compiled kernel: ``(s, 2, ..., 2)``.

    The outcome's predictor is split into ``A(t)`` (every mediator at 0, where each of its
    terms vanishes: a value 0 or the first level) and one ``H_k(t, u)`` per mediator.
    """
    y = inputs.outcome
    t = {inputs.treatment: inputs.treatment_values.reshape(1, 1, 2)}
    zero = {n: np.zeros((1, 1, 1)) for n in inputs.mediator_names}
    base = predictor(y, inputs, s, i, {**t, **zero})  # (s, n, 2)
    hs = []
    for name, (v, _) in zip(inputs.mediator_names, grids):
        at = {**zero, name: v[:, :, None, :]}
        values = {inputs.treatment: inputs.treatment_values.reshape(1, 1, 2, 1)}
        values.update({n: x if n == name else x[..., None] for n, x in at.items()})
        hs.append(predictor(y, inputs, s, i, values) - base[..., None])
    weights = None if inputs.weights is None else inputs.weights[s, i]
    return gridkernel.table(base, hs, [g[1] for g in grids], y.link.code, weights)


def _chunk(inputs: RegimeInputs, s: slice, i: slice, nodes: int, tail: list):
    """``E(t; t_1..t_K)`` and ``Ej(t; t*)`` (None: independent), each summed over the observations with their weights."""
    k = len(inputs.mediators)
    grids = [_marginal(inputs, s, i, j, nodes, tail) for j in range(k)]
    joint = None
    if inputs.dependent:
        vals, w = _walk(inputs, s, i, inputs.topological_order(), nodes, tail)  # (.., 2 [t*], C)
        mu = _outcome(inputs, s, i, vals)  # (s, n, 2 [t], 2 [t*], C)
        joint = observation_sum((mu * w[:, :, None]).sum(axis=-1), inputs, s, i)
    if additive(inputs) and inputs.outcome.link.code >= 0:
        return _compiled(inputs, s, i, grids), joint
    values = {}
    for j, (name, (v, _)) in enumerate(zip(inputs.mediator_names, grids)):
        values[name] = v.reshape(v.shape[:2] + (1,) * j + v.shape[2:] + (1,) * (k - 1 - j))
    r = _outcome(inputs, s, i, values)  # (s, n, 2, U_1, ..., U_K)
    for j in range(k):  # contract U_j (always axis 3) into t_j, which goes last
        w = np.moveaxis(grids[j][1], 2, -1)  # (s, n, U_j, 2)
        w = w.reshape(w.shape[:2] + (1, w.shape[2]) + (1,) * (k - 1) + (2,))
        r = (r[..., None] * w).sum(axis=3)
    return observation_sum(r, inputs, s, i), joint


def _sizes(inputs: RegimeInputs, nodes: int) -> list[int]:
    """Each mediator's conditional grid size: its levels, its nodes, or a count's values (estimated when it has mediator parents)."""
    out = []
    for m in inputs.mediators:
        if m.family.support.finite:
            out.append(_levels(m))
        elif continuous(m.family):
            out.append(nodes)
        else:
            out.append(_COUNT_GUESS)
    return out


_COUNT_GUESS = 32  # a count's grid size for sizing the chunks only (the real one is found per chunk)


def cells(inputs: RegimeInputs, nodes: int = NODES) -> int:
    """Outcome evaluations per draw and observation: what :data:`MAX_CELLS` bounds.

    ``2 x prod_k U_k`` for the marginal regimes, ``U_k`` mediator ``k``'s union grid (its
    levels or values; a continuous one's nodes times its mediator ancestors' grid sizes, under
    both treatment levels), and ``4 x prod_k J_k`` for the joint when the mediators depend on
    each other.
    """
    cond = _sizes(inputs, nodes)
    union = []
    for j, m in enumerate(inputs.mediators):
        if continuous(m.family):
            union.append(2 * int(np.prod([cond[a] for a in _ancestors(inputs, j)])))
        else:
            union.append(cond[j])
    total = 2 * int(np.prod(union))
    if inputs.dependent:
        total += 4 * int(np.prod(cond))
    return total


def _levels(m) -> int:
    """A finite support's number of levels, read off the draws (an ordinal node's gaps, a categorical node's intercepts)."""
    if m.family.support.binary:
        return 2
    if m.family.vector:
        return m.intercept.shape[-1] + 1
    return m.extras["gaps"].shape[-1] + 2


def _mean(inputs: RegimeInputs, nodes: int, chunk_bytes: int, progress=None):
    k = len(inputs.mediators)
    per_pair = 8 * 4 * max(cells(inputs, nodes), 2)
    n_i = max(1, min(inputs.n_obs, chunk_bytes // per_pair))
    n_s = max(1, min(inputs.n_draws, chunk_bytes // (per_pair * n_i)))
    table = np.zeros((inputs.n_draws,) + (2,) * (k + 1))
    joint = np.zeros((inputs.n_draws, 2, 2))
    tail: list = [0.0]
    for s0 in range(0, inputs.n_draws, n_s):
        s = slice(s0, min(s0 + n_s, inputs.n_draws))
        for i0 in range(0, inputs.n_obs, n_i):
            i = slice(i0, min(i0 + n_i, inputs.n_obs))
            r, jt = _chunk(inputs, s, i, nodes, tail)
            table[s] += r
            if jt is not None:
                joint[s] += jt
        if progress is not None:
            progress(s.stop - s.start)
    total = inputs.n_obs if inputs.weights is None else inputs.weights.sum(axis=1)
    total = np.reshape(total, np.shape(total) + (1,) * (k + 1)) if np.ndim(total) else total
    table = table / total
    joint = (
        joint / (total.reshape(-1, 1, 1) if np.ndim(total) else total) if inputs.dependent else independent_joint(table)
    )
    return table, joint, max(tail)


def refusal(inputs: RegimeInputs) -> str | None:
    """Why the grids cannot give these regimes, or None: a count or Student-t mediator under an unbounded outcome mean.

    Under a log link the outcome's mean grows exponentially in the mediator: a Student-t
    mediator's expectation of it does not exist, and a count's truncated sum has no error
    bound the tail alone gives.
    """
    if np.isfinite(inputs.outcome.link.mean_range[1]) or inputs.outcome.link.affine:
        return None
    for name, m in zip(inputs.mediator_names, inputs.mediators):
        if m.family.support.name == "count" or m.family.name == "studentt":
            return (
                f"a {m.family.name} mediator ({name}) under a {inputs.outcome.link.name}-link outcome: the outcome's "
                f"mean grows exponentially in it, so its expectation may not exist and no truncation bounds the error"
            )
    return None


def integrate(inputs: RegimeInputs, chunk_bytes: int = DEFAULT_CHUNK_BYTES, progress=None,
              nodes: int = NODES, target: float = TARGET) -> Integrated:  # fmt: skip
    """Every regime by summation over the mediators' grids, with the error estimated.

    ``nodes`` continuous nodes to begin with, doubled while the estimated error is above
    ``target`` (``numpy.inf``: never) and the grid stays within :data:`MAX_NODES` and
    :data:`MAX_CELLS`.

    Raises
    ------
    SpecError
        A family that has no grid, a count or Student-t mediator under a log-link outcome, a
        count whose tail needs more than :data:`MAX_COUNT` values, or a grid larger than
        :data:`MAX_CELLS` per draw and observation.
    """
    why = refusal(inputs)
    if why:
        raise SpecError(why)
    size = cells(inputs, nodes)
    if size > MAX_CELLS:
        raise SpecError(
            f"the mediators' grids need {size:,} outcome evaluations per draw and observation (at most "
            f"{MAX_CELLS:,}): too many; make a dependent continuous mediator bernoulli or break a mediator chain"
        )
    error, check = 0.0, None
    if any(continuous(m.family) for m in inputs.mediators):
        # the change when the nodes are doubled, on up to ERROR_DRAWS draws evenly spaced: the
        # quadrature's error depends on the draw only through smooth changes of the integrand
        step = max(1, -(-inputs.n_draws // ERROR_DRAWS))
        some = inputs.draws(slice(None, None, step))
        coarse = _mean(some, nodes, chunk_bytes)
        while True:
            finer = _mean(some, 2 * nodes, chunk_bytes)
            error = float(max(np.max(np.abs(finer[0] - coarse[0])), np.max(np.abs(finer[1] - coarse[1]))))
            if error <= target or 2 * nodes > MAX_NODES or cells(inputs, 2 * nodes) > MAX_CELLS:
                break
            nodes, coarse = 2 * nodes, finer
        check = (coarse[0], coarse[1], finer[0], finer[1])
    table, joint, tail = _mean(inputs, nodes, chunk_bytes, progress)
    sizes = {}
    for name, m in zip(inputs.mediator_names, inputs.mediators):
        if continuous(m.family):
            sizes[name] = nodes
        elif m.family.support.levels:
            sizes[name] = _levels(m)
    return Integrated(table, joint, error, tail, sizes, check)
