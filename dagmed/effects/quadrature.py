r"""Regimes with non-binary mediators and a non-linear outcome: each mediator's distribution on a grid.

Under a regime ``E(t; t_1..t_K)`` the mediators are drawn independently, mediator ``k`` from
its distribution under ``do(T = t_k)``, so

    E(t; t_1..t_K) = mean_i  sum over the grid  prod_k w_k(node_k | t_k, x_i)  mu_Y(t, node_1..node_K, x_i)

with, per mediator (its family's support):

* **binary**: nodes 0 and 1, weights ``1 - p`` and ``p``: exact;
* **counts** (``poisson``, ``negbinomial``): nodes ``0..n`` with ``n`` the smallest count whose
  upper tail is below :data:`TAIL` at every draw, observation and treatment level; the tail
  mass left out is reported (:attr:`Integrated.tail`);
* **normal**: Gauss--Hermite nodes ``mu + sqrt(2) sigma z_j`` with weights ``w_j / sqrt(pi)``;
  the error is estimated by doubling the nodes (:attr:`Integrated.error`).

The outcome's mean is evaluated at every node with every term of its equation, product
terms included: nothing is linearised and no mediator's mean is plugged into a non-linear
outcome. Mediators with mediator parents are not integrated here (the checks refuse them).

Examples
--------
>>> from dagmed.lang.families import FAMILIES
>>> from dagmed.model.draws import NodeDraws
>>> from dagmed.effects.regimes import RegimeInputs
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
from .regimes import DEFAULT_CHUNK_BYTES, RegimeInputs, independent_joint, predictor

TAIL = 1e-10  # a count mediator's upper tail left out, at most, per draw, observation and treatment level
GAUSS_HERMITE = 20  # nodes per normal mediator; doubled once to estimate the error
ERROR_DRAWS = 100  # the error is estimated on at most this many draws, spread over the chains
MAX_COUNT = 10_000  # a count mediator whose tail needs more nodes is refused


@dataclass(frozen=True, eq=False)
class Integrated:
    """The regimes by integration over the mediators' grids.

    Attributes
    ----------
    table : numpy.ndarray
        ``E(t; t_1..t_K)`` per draw: ``(S, 2, ..., 2)``.
    joint : numpy.ndarray
        ``Ej(t; t*)`` per draw: ``(S, 2, 2)`` (independent mediators: ``E(t; t*..t*)``).
    error : float
        The largest change of any regime when the Gauss--Hermite nodes are doubled, on up to
        :data:`ERROR_DRAWS` draws evenly spaced (0 without a normal mediator): the estimated
        error of the quadrature.
    tail : float
        The largest probability a count mediator's grid leaves out (0 without one).
    nodes : dict
        Each non-binary mediator's number of nodes.
    """

    table: np.ndarray
    joint: np.ndarray
    error: float
    tail: float
    nodes: dict


def needed(inputs: RegimeInputs) -> bool:
    """Whether the regimes need this integration: a non-binary mediator and an outcome whose link is not affine."""
    return not inputs.binary and not inputs.outcome.link.affine


def _grid(m, name: str, inputs: RegimeInputs, s: slice, i: slice, hermite: int, counts: dict):
    """``(values, weights)`` of mediator ``m`` on its grid: ``(s|1, n|1, 2, J)`` each, per treatment level."""
    eta = predictor(m, inputs, s, i, {inputs.treatment: inputs.treatment_values.reshape(1, 1, 2)})  # (s, n, 2)
    fam = m.family
    if fam.support.binary:
        p = m.link.inverse(eta)
        return np.array([0.0, 1.0]).reshape(1, 1, 1, 2), np.stack([1.0 - p, p], axis=-1)
    if fam.name == "normal":
        z, w = np.polynomial.hermite.hermgauss(hermite)
        sigma = m.extras["sigma"][s].reshape(-1, 1, 1, 1)
        return eta[..., None] + np.sqrt(2.0) * sigma * z, np.broadcast_to(w / np.sqrt(np.pi), eta.shape + (hermite,))
    if fam.support.name == "count":
        values = np.arange(counts[name] + 1, dtype=float).reshape(1, 1, 1, -1)
        extras = {k: v[s].reshape(-1, 1, 1, 1) for k, v in m.extras.items()}
        return values, np.exp(fam.logp(values, eta[..., None], extras))
    raise SpecError(f"a {fam.name} mediator cannot be integrated under a non-linear outcome")


def _count_nodes(m, inputs: RegimeInputs) -> int:
    """The largest count ``n`` such that ``P(M > n) < TAIL`` at every draw, observation and treatment level."""
    from scipy import stats

    every = slice(None)
    mu = np.exp(predictor(m, inputs, every, every, {inputs.treatment: inputs.treatment_values.reshape(1, 1, 2)}))
    if m.family.name == "poisson":
        n = stats.poisson.isf(TAIL, mu)
    else:
        alpha = m.extras["alpha"].reshape(-1, 1, 1)
        n = stats.nbinom.isf(TAIL, alpha, alpha / (alpha + mu))
    top = float(np.nanmax(n))
    if not np.isfinite(top) or top > MAX_COUNT:
        raise SpecError(
            f"a count mediator's distribution needs more than {MAX_COUNT} nodes to leave less than {TAIL:g} of "
            f"its probability out (its mean reaches {float(mu.max()):.3g}): too many to sum; model it as normal"
        )
    return int(top)


def _table(inputs: RegimeInputs, s: slice, i: slice, hermite: int, counts: dict) -> tuple[np.ndarray, float]:
    """``E(t; t_1..t_K)`` per draw and observation, before the mean: ``(s, n, 2, ..., 2)``; and the tail left out."""
    k = len(inputs.mediators)
    grids = [_grid(m, n, inputs, s, i, hermite, counts) for n, m in zip(inputs.mediator_names, inputs.mediators)]
    values = {inputs.treatment: inputs.treatment_values.reshape((1, 1, 2) + (1,) * (2 * k))}
    for j, (name, (v, _)) in enumerate(zip(inputs.mediator_names, grids)):
        shape = v.shape[:2] + (1,) * (1 + 2 * j) + v.shape[2:] + (1,) * (2 * (k - 1 - j))
        values[name] = v.reshape(shape)
    r = inputs.outcome.link.inverse(predictor(inputs.outcome, inputs, s, i, values))
    for j in reversed(range(k)):
        w = grids[j][1]
        w = w.reshape(w.shape[:2] + (1,) * (1 + 2 * j) + w.shape[2:] + (1,) * (k - 1 - j))
        r = (r * w).sum(axis=4 + 2 * j)
    tail = max([float(np.max(1.0 - g[1].sum(axis=-1))) for g, m in zip(grids, inputs.mediators)
                if m.family.support.name == "count"] + [0.0])  # fmt: skip
    return r, tail


def _mean(inputs: RegimeInputs, hermite: int, counts: dict, chunk_bytes: int, progress=None):
    k = len(inputs.mediators)
    cells = 2 * int(
        np.prod([2 * _size(m, n, hermite, counts) for n, m in zip(inputs.mediator_names, inputs.mediators)])
    )
    n_i = max(1, min(inputs.n_obs, chunk_bytes // (8 * cells * 4)))
    n_s = max(1, min(inputs.n_draws, chunk_bytes // (8 * cells * 4 * n_i)))
    table = np.zeros((inputs.n_draws,) + (2,) * (k + 1))
    tail = 0.0
    for s0 in range(0, inputs.n_draws, n_s):
        s = slice(s0, min(s0 + n_s, inputs.n_draws))
        for i0 in range(0, inputs.n_obs, n_i):
            i = slice(i0, min(i0 + n_i, inputs.n_obs))
            r, t = _table(inputs, s, i, hermite, counts)
            tail = max(tail, t)
            w = 1.0 if inputs.weights is None else inputs.weights[s, i].reshape(r.shape[:2] + (1,) * (k + 1))
            table[s] += (r * w).sum(axis=1)
        if progress is not None:
            progress(s.stop - s.start)
    total = inputs.n_obs if inputs.weights is None else inputs.weights.sum(axis=1).reshape((-1,) + (1,) * (k + 1))
    return table / total, tail


def _size(m, name: str, hermite: int, counts: dict) -> int:
    if m.family.support.binary:
        return 2
    if m.family.name == "normal":
        return hermite
    return counts[name] + 1


def integrate(inputs: RegimeInputs, chunk_bytes: int = DEFAULT_CHUNK_BYTES, progress=None,
              hermite: int = GAUSS_HERMITE) -> Integrated:  # fmt: skip
    """Every regime by integration over the mediators' grids, with the error estimated.

    Raises
    ------
    SpecError
        A mediator with mediator parents (refused by the checks before), a family that has no
        grid, or a count whose tail needs more than :data:`MAX_COUNT` nodes.
    """
    if inputs.dependent:
        raise SpecError("dependent mediators are not integrated under a non-linear outcome (the checks refuse them)")
    if any(m.family.support.name == "count" for m in inputs.mediators) and not np.isfinite(
        inputs.outcome.link.mean_range[1]
    ):
        raise SpecError(
            "a count mediator under a log-link outcome: the outcome's mean grows exponentially in the count, so "
            "its expectation may not exist and no truncation of the sum bounds its error"
        )
    counts = {
        n: _count_nodes(m, inputs)
        for n, m in zip(inputs.mediator_names, inputs.mediators)
        if m.family.support.name == "count"
    }
    table, tail = _mean(inputs, hermite, counts, chunk_bytes, progress)
    error = 0.0
    if any(m.family.name == "normal" for m in inputs.mediators):
        # the change when the nodes are doubled, on up to ERROR_DRAWS draws evenly spaced: the
        # quadrature's error depends on the draw only through smooth changes of the integrand
        step = max(1, -(-inputs.n_draws // ERROR_DRAWS))
        some = inputs.draws(slice(None, None, step))
        coarse, _ = _mean(some, hermite, counts, chunk_bytes)
        finer, _ = _mean(some, 2 * hermite, counts, chunk_bytes)
        error = float(np.max(np.abs(finer - coarse)))
    nodes = {n: _size(m, n, hermite, counts) for n, m in zip(inputs.mediator_names, inputs.mediators)
             if not m.family.support.binary}  # fmt: skip
    return Integrated(table, independent_joint(table), error, tail, nodes)
