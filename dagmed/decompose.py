"""Every interventional regime and the effects built from them (MATH.md sections 1, 3, 5, 6).

Pure NumPy on posterior draws: no PyMC here. For each draw ``s`` and observation ``i``
the outcome mean ``mu_Y(t, m, x_i)`` is evaluated once at all ``2^(K+1)`` corners; then one
mediator axis at a time is contracted with its interventional mean
``E[M_k | do(T = t_k), x_i]``, which turns the table into ``E(t; t_1..t_K)`` in
``O(K 2^(K+1))`` per draw and observation. The contraction ``R0 + q (R1 - R0)`` is exact
for a binary mediator (``q = P(M_k = 1)``) and for any mediator when ``mu_Y`` is affine in
it (identity-link outcome, section 6). Work is chunked over draws and observations so
that memory stays within ``chunk_bytes``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from typing import TYPE_CHECKING

from . import graph as G
from . import names
from .errors import SpecError
from .families import FAMILIES, LINKS

if TYPE_CHECKING:  # checks asks this module what it can decompose: no import cycle at run time
    from .checks import Analysis


def mediator_parents(g, mediators) -> dict[str, tuple[str, ...]]:
    """Each mediator's mediator parents (the mediator sub-DAG), in spec order.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.DiGraph([("t", "m1"), ("t", "m2"), ("m1", "m2"), ("m1", "y"), ("m2", "y")])
    >>> mediator_parents(g, ("m1", "m2"))
    {'m1': (), 'm2': ('m1',)}
    """
    meds = list(mediators)
    return {m: tuple(p for p in meds if g.has_edge(p, m)) for m in meds}


def unsupported(g, mediators, outcome) -> list[tuple[str, str]]:
    """What the exact decomposition cannot handle: ``(node, reason)`` pairs, empty if nothing.

    The checker asks this instead of holding the decomposition's limits itself. Exact are:
    binary mediators with any outcome (enumeration over their ``2^K`` values, dependent or
    not); any mediator when the outcome's link is affine (the outcome is then affine in each
    mediator, MATH.md section 6), provided that a mediator with mediator parents is binary
    among binary mediators or has an affine link itself (its interventional mean is then its
    mean at its parents' interventional means).

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.DiGraph([("t", "m"), ("m", "y"), ("t", "y")])
    >>> nx.set_node_attributes(g, {"t": None, "m": "poisson", "y": "bernoulli"}, "family")
    >>> unsupported(g, ("m",), "y")[0][1][:60]
    'mediator m has family poisson; with a bernoulli outcome only'
    """
    fam = {n: g.nodes[n]["family"] for n in (*mediators, outcome)}
    if fam[outcome] is None or any(fam[m] is None for m in mediators):
        return []  # a missing family is the checker's own complaint
    binary = {m: FAMILIES[fam[m]].support.binary for m in mediators}
    out = []
    yfam = FAMILIES[fam[outcome]]
    if not yfam.link.affine:
        for m in mediators:
            if not binary[m]:
                out.append((m, f"mediator {m} has family {fam[m]}; with a {yfam.name} outcome only bernoulli "
                               f"mediators can be decomposed exactly (a {fam[m]} mediator needs an outcome with an "
                               f"identity link, e.g. normal)"))
        return out
    if all(binary.values()):
        return out
    for m, parents in mediator_parents(g, mediators).items():
        mfam = FAMILIES[fam[m]]
        if parents and not mfam.link.affine:
            out.append((m, f"mediator {m} ({fam[m]}) depends on mediator(s) {', '.join(parents)} among mediators "
                           f"that are not all binary: its interventional distribution is not exact; give {m} an "
                           f"identity link (normal), or make every mediator bernoulli"))
    return out

DEFAULT_CHUNK_BYTES = 256 * 2**20


@dataclass(frozen=True, eq=False)
class GLMDraws:
    """Posterior draws of one node's GLM, flattened over chains: ``(S,)`` and ``(S, P)``."""

    link: str
    intercept: np.ndarray
    beta: np.ndarray
    parents: tuple[str, ...]

    def coef(self, parent: str) -> np.ndarray:
        """Draws of the coefficient of ``parent`` (zeros when it is not a parent)."""
        if parent in self.parents:
            return self.beta[:, self.parents.index(parent)]
        return np.zeros_like(self.intercept)


def glm_draws(posterior, analysis: Analysis, node: str) -> GLMDraws:
    """Read ``<node>_intercept`` and ``<node>_beta`` from an ArviZ posterior group."""
    g = analysis.graph
    parents = tuple(G.observed_parents(g, node))
    intercept = np.asarray(posterior[names.intercept(node)]).reshape(-1)
    if parents:
        beta = np.asarray(posterior[names.beta(node)].transpose("chain", "draw", names.parents_dim(node)))
        beta = beta.reshape(-1, len(parents))
    else:
        beta = np.zeros((intercept.size, 0))
    return GLMDraws(FAMILIES[g.nodes[node]["family"]].link.name, intercept, beta, parents)


@dataclass(frozen=True, eq=False)
class Problem:
    """What the regime table needs: the outcome's and mediators' GLM draws and the covariates."""

    outcome: GLMDraws
    mediators: tuple[GLMDraws, ...]
    mediator_names: tuple[str, ...]
    treatment: str
    covariates: dict  # name -> (N,) array
    n_obs: int

    @property
    def n_draws(self) -> int:
        return self.outcome.intercept.size


def problem_from(idata, analysis: Analysis, data) -> Problem:
    post = idata.posterior
    covs = {c: data[c] for c in analysis.covariates}
    return Problem(
        outcome=glm_draws(post, analysis, analysis.outcome),
        mediators=tuple(glm_draws(post, analysis, m) for m in analysis.mediators),
        mediator_names=analysis.mediators,
        treatment=analysis.treatment,
        covariates=covs,
        n_obs=data.n_obs,
    )


def _mediator_means(p: Problem, s: slice, i: slice) -> list[np.ndarray]:
    """``E[M_k | do(T=t), x_i]`` for t = 0, 1: one ``(s, n, 2)`` array per mediator."""
    out = []
    tv = np.array([0.0, 1.0])
    for m in p.mediators:
        base = _base(m, p, s, i)
        eta = base[:, :, None] + m.coef(p.treatment)[s, None, None] * tv
        out.append(LINKS[m.link].inverse(eta))
    return out


def _base(glm: GLMDraws, p: Problem, s: slice, i: slice) -> np.ndarray:
    out = np.broadcast_to(glm.intercept[s, None], (glm.intercept[s].size, len(range(*i.indices(p.n_obs))))).copy()
    for name, x in p.covariates.items():
        if name in glm.parents:
            out += glm.coef(name)[s, None] * x[i][None, :]
    return out


def _outcome_corners(p: Problem, s: slice, i: slice) -> np.ndarray:
    """``mu_Y(t, m, x_i)`` at every corner: ``(s, n, 2, 2, ..., 2)`` with K+1 binary axes."""
    y = p.outcome
    tv = np.array([0.0, 1.0])
    eta = _base(y, p, s, i)[:, :, None] + y.coef(p.treatment)[s, None, None] * tv
    for name in p.mediator_names:
        b = y.coef(name)[s].reshape((-1,) + (1,) * eta.ndim)
        eta = eta[..., None] + b * tv
    return LINKS[y.link].inverse(eta)


def _contract(mu: np.ndarray, means: list[np.ndarray]) -> np.ndarray:
    """Replace each mediator-value axis by a mediator-treatment axis (MATH.md section 5)."""
    r = mu
    for q in means:
        r0, r1 = r[:, :, :, 0], r[:, :, :, 1]
        qb = q.reshape(q.shape[:2] + (1,) * (r0.ndim - 2) + (2,))
        r = r0[..., None] + qb * (r1 - r0)[..., None]
    return r


def chunk_shape(n_draws: int, n_obs: int, k: int, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> tuple[int, int]:
    """Draws and observations per chunk so that the temporaries stay within ``chunk_bytes``."""
    cells = 2 ** (k + 1)
    pairs = max(1, chunk_bytes // (8 * cells * 4))  # about four tables alive at once
    n_i = min(n_obs, pairs)
    n_s = max(1, min(n_draws, pairs // n_i))
    return n_s, n_i


def regime_table(p: Problem, chunk_bytes: int = DEFAULT_CHUNK_BYTES, engine: str = "numba") -> np.ndarray:
    """``E(t; t_1..t_K)`` per draw: an array ``(S, 2, 2, ..., 2)`` indexed ``[s, t, t_1, ..., t_K]``.

    ``engine="numba"`` (default) runs the fused kernel of :mod:`dagmed.kernel`, chunked over
    draws; ``"numpy"`` the vectorised contraction, chunked over draws and observations.
    Both give the same numbers to floating point (tested).
    """
    if engine == "numba":
        return _regime_table_numba(p, chunk_bytes)
    if engine != "numpy":
        raise ValueError(f"unknown engine {engine!r}; valid options are numba, numpy")
    k = len(p.mediators)
    n_s, n_i = chunk_shape(p.n_draws, p.n_obs, k, chunk_bytes)
    out = np.empty((p.n_draws,) + (2,) * (k + 1))
    for s0 in range(0, p.n_draws, n_s):
        s = slice(s0, min(s0 + n_s, p.n_draws))
        acc = np.zeros((s.stop - s.start,) + (2,) * (k + 1))
        for i0 in range(0, p.n_obs, n_i):
            i = slice(i0, min(i0 + n_i, p.n_obs))
            acc += _contract(_outcome_corners(p, s, i), _mediator_means(p, s, i)).sum(axis=1)
        out[s] = acc / p.n_obs
    return out


def _regime_table_numba(p: Problem, chunk_bytes: int) -> np.ndarray:
    from .kernel import regime_kernel

    k = len(p.mediators)
    # the kernel's inputs are (K + 1) linear predictors of (s, N): chunk over draws to bound them
    n_s = max(1, min(p.n_draws, chunk_bytes // (8 * p.n_obs * (k + 1))))
    every = slice(None)
    y = p.outcome
    out = np.empty((p.n_draws, 2 ** (k + 1)))
    m_link = np.array([LINKS[m.link].code for m in p.mediators], dtype=np.int64)
    for s0 in range(0, p.n_draws, n_s):
        s = slice(s0, min(s0 + n_s, p.n_draws))
        m_base = np.stack([_base(m, p, s, every) for m in p.mediators]) if k else np.zeros((0, s.stop - s.start, p.n_obs))
        m_t = np.stack([m.coef(p.treatment)[s] for m in p.mediators]) if k else np.zeros((0, s.stop - s.start))
        y_m = np.stack([y.coef(name)[s] for name in p.mediator_names], axis=1) if k else np.zeros((s.stop - s.start, 0))
        out[s] = regime_kernel(
            _base(y, p, s, every), np.ascontiguousarray(y.coef(p.treatment)[s]), np.ascontiguousarray(y_m),
            LINKS[y.link].code, np.ascontiguousarray(m_base), np.ascontiguousarray(m_t), m_link,
        )
    return out.reshape((p.n_draws,) + (2,) * (k + 1))


def regime_table_naive(p: Problem) -> np.ndarray:
    """Reference implementation: every regime sums over every corner, ``O(4^K)``.

    For tests and benchmarks only; binary mediators.
    """
    k = len(p.mediators)
    every = slice(None)
    mu = _outcome_corners(p, every, every)  # (S, N, 2, 2..2)
    q = _mediator_means(p, every, every)
    out = np.empty((p.n_draws,) + (2,) * (k + 1))
    for t, *ts in itertools.product((0, 1), repeat=k + 1):
        total = 0.0
        for m in itertools.product((0, 1), repeat=k):
            w = 1.0
            for j in range(k):
                pj = q[j][:, :, ts[j]]
                w = w * (pj if m[j] else 1.0 - pj)
            total = total + w * mu[(every, every, t, *m)]
        out[(every, t, *ts)] = total.mean(axis=1)
    return out


# ---- effects (MATH.md section 3) -------------------------------------------------------


def interaction_sets(mediators) -> list[tuple[str, ...]]:
    """Every mediator set of size >= 2, smaller sets first, each in spec order."""
    return [s for r in range(2, len(mediators) + 1) for s in itertools.combinations(mediators, r)]


def effects(table: np.ndarray, mediators, convention: str = "control") -> dict[str, np.ndarray]:
    """Effect draws from a regime table, names as in ``effects.json``.

    ``control``: indirect effects and interactions at ``t = 0``; ``treated``: at ``t = 1``,
    with the joint mediator distribution for TE and DE, which equals the product because the
    mediators were checked conditionally independent, so the dependence term is 0.
    TE equals the sum of DE, IIE, INT and DEP in every draw.
    """
    def E(t, on=()):
        ts = tuple(1 if m in on else 0 for m in mediators)
        return table[(slice(None), t, *ts)]

    everything = tuple(mediators)
    level = {"control": 0, "treated": 1}[convention]
    out = {"TE": E(1, everything) - E(0, ())}
    out["DE"] = E(1, ()) - E(0, ())
    for m in mediators:
        out[f"IIE[{m}]"] = E(level, (m,)) - E(level, ())
    for s in interaction_sets(mediators):
        total = 0.0
        for r in range(len(s) + 1):
            for u in itertools.combinations(s, r):
                total = total + (-1) ** (len(s) - r) * E(level, u)
        out[f"INT[{','.join(s)}]"] = total
    if convention == "treated":
        # [E_joint(1;1) - E(1;1..1)] - [E_joint(1;0) - E(1;0..0)], joint == product here
        out["DEP"] = (E(1, everything) - E(1, everything)) - (E(1, ()) - E(1, ()))
    else:
        out["DEP"] = out["TE"] - sum(v for name, v in out.items() if name != "TE")
    te = out["TE"]
    with np.errstate(divide="ignore", invalid="ignore"):
        for m in mediators:
            out[f"PM[{m}]"] = out[f"IIE[{m}]"] / te
    return out


def components(effect_draws: dict[str, np.ndarray]) -> list[str]:
    """The names whose sum is TE: DE, every IIE, every INT, DEP."""
    return [n for n in effect_draws if n != "TE" and not n.startswith("PM[")]


def regime_labels(mediators) -> list[tuple[int, tuple[int, ...]]]:
    """``(t, (t_1..t_K))`` in the flattened order of :func:`regime_table`'s trailing axes."""
    return [(c[0], tuple(c[1:])) for c in itertools.product((0, 1), repeat=len(mediators) + 1)]


MAX_TABLE_BYTES = 4 * 2**30


def table_bytes(k: int, n_draws: int = 4000) -> int:
    """Bytes of the regime table itself, ``S * 2^(K+1)`` doubles (the part that cannot be chunked)."""
    return 8 * n_draws * 2 ** (k + 1)


def check_size(k: int, n_draws: int = 4000) -> None:
    """Refuse up front when the regime table for ``k`` mediators cannot fit in memory."""
    need = table_bytes(k, n_draws)
    if need > MAX_TABLE_BYTES:
        raise SpecError(
            f"{k} mediators give 2^{k + 1} = {2 ** (k + 1)} regimes: the regime table alone needs about "
            f"{need / 2**30:.1f} GiB for {n_draws} draws (limit {MAX_TABLE_BYTES / 2**30:.0f} GiB)"
        )
