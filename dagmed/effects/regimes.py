"""Every interventional regime, per posterior draw (MATH.md sections 1, 3b, 5, 6).

Pure NumPy (and the compiled :mod:`dagmed.effects.kernel`) on posterior draws: no PyMC here. Per
draw ``s`` and observation ``i``, in named steps:

1. :func:`mediator_joint` -- binary mediators with a DAG among them: the joint
   ``P(M = m | do(T = t*), x_i)``, enumerated down the mediator sub-DAG (section 3b);
2. :func:`mediator_marginals` -- each mediator's interventional mean
   ``E[M_k | do(T = t), x_i]``: its own GLM when no mediator is its parent, the joint's
   margin for dependent binary mediators, its mean at its parents' means for an affine link;
3. :func:`outcome_corners` -- the outcome mean ``mu_Y(t, m, x_i)`` at all ``2^(K+1)`` corners;
4. :func:`contract` -- one mediator axis at a time with its marginal: ``E(t; t_1..t_K)`` in
   ``O(K 2^(K+1))``; :func:`joint_regimes` -- ``Ej(t; t*)`` from the joint.

The effects built from the regimes are :mod:`dagmed.effects.decomposition`'s.

The contraction ``R0 + q (R1 - R0)`` is exact for a binary mediator (``q = P(M_k = 1)``) and
for any mediator when ``mu_Y`` is affine in it (identity-link outcome, section 6).
:func:`regime_table` runs the steps fused in a compiled kernel (default) or as NumPy
arrays, chunked so that memory stays within ``chunk_bytes``.

Missing covariates (``missing model``, section 3c): a covariate column may hold one value
per draw and observation ``(S, N)`` (a latent variable's draws), and the observations may
carry a weight per draw ``(S, N)`` (a row with a missing binary covariate is one observation
per value, weighted by its posterior probability): every regime is then the weighted mean
over the observations. :func:`dagmed.effects.rows.regime_rows` builds both.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ..errors import SpecError
from ..model.draws import NodeDraws
from ..model.ir import factor_values, split_factor
from . import kernel

DEFAULT_CHUNK_BYTES = 256 * 2**20
# The compiled kernels' inputs per chunk of draws and kernel thread (the covariate predictors,
# the mediators' marginals and their NumPy temporaries): small enough to stay in a core's cache
# between the NumPy steps that make them and the kernel that reads them. Every draw is computed
# alone, so the chunks change no bit. three_mediators, 600 rows, 4000 draws, two processes of
# one thread side by side (as two study workers): 256 MiB (one chunk) about 1.6 s, 8 MiB 0.85 s.
KERNEL_CHUNK_BYTES = 8 * 2**20


@dataclass(frozen=True, eq=False)
class RegimeInputs:
    """What the regime table is computed from: the GLM draws of the outcome and of each
    mediator (spec order), the treatment's name, and the covariate columns.

    Examples
    --------
    >>> from dagmed.lang.families import FAMILIES
    >>> rng = np.random.default_rng(0)
    >>> m = NodeDraws(FAMILIES["bernoulli"], rng.normal(size=3), rng.normal(size=(3, 1)), ("t",))
    >>> y = NodeDraws(FAMILIES["bernoulli"], rng.normal(size=3), rng.normal(size=(3, 2)), ("t", "m"))
    >>> inputs = RegimeInputs(y, (m,), ("m",), "t", {}, n_obs=5)
    >>> regime_table(inputs).shape, inputs.dependent
    ((3, 2, 2), False)

    With weights, each draw's regimes are the weighted mean over the observations:

    >>> w = np.tile([0.25, 0.75, 1.0, 1.0, 1.0], (3, 1))
    >>> weighted = RegimeInputs(y, (m,), ("m",), "t", {}, n_obs=5, weights=w)
    >>> bool(np.allclose(regime_table(weighted), regime_table(inputs)))  # no covariate: rows alike
    True
    """

    outcome: NodeDraws
    mediators: tuple[NodeDraws, ...]
    mediator_names: tuple[str, ...]
    treatment: str
    covariates: dict  # name -> (N,) array, or (S, N): one value per draw (a missing value's draws)
    n_obs: int
    weights: np.ndarray | None = None  # (S, N) weight of each observation per draw; None: all equal
    contrast: tuple[float, float] = (1.0, 0.0)  # the treatment's (active, reference) values: t = 1 and t = 0

    @property
    def treatment_values(self) -> np.ndarray:
        """``[reference, active]``: the treatment's value at regime index ``t = 0`` and ``t = 1``."""
        active, reference = self.contrast
        return np.array([reference, active], dtype=float)

    @property
    def n_draws(self) -> int:
        return self.outcome.intercept.size

    @property
    def mediator_parents(self) -> dict[str, tuple[str, ...]]:
        """Each mediator's mediator parents, read from its GLM."""
        return {
            n: tuple(p for p in self.mediator_names if p in m.parents)
            for n, m in zip(self.mediator_names, self.mediators)
        }

    @property
    def dependent(self) -> bool:
        """Some mediator has a mediator parent (MATH.md section 3b)."""
        return any(self.mediator_parents.values())

    @property
    def binary(self) -> bool:
        """Every mediator is binary: the joint of the mediators can be enumerated."""
        return all(m.family.support.binary for m in self.mediators)

    def distinct(self) -> RegimeInputs:
        """The same regimes over the distinct rows, each weighted by how often it occurs.

        Rows with equal covariate values have equal regimes, so the mean over the rows is the
        count-weighted mean over the distinct ones (no covariate: one row). Inputs whose rows
        carry per-draw values or weights (missing covariates modelled) are returned as they are.

        Examples
        --------
        >>> from dagmed.lang.families import FAMILIES
        >>> m = NodeDraws(FAMILIES["bernoulli"], np.zeros(2), np.ones((2, 2)), ("t", "x"))
        >>> y = NodeDraws(FAMILIES["bernoulli"], np.zeros(2), np.ones((2, 3)), ("t", "m", "x"))
        >>> inputs = RegimeInputs(y, (m,), ("m",), "t", {"x": np.array([0.0, 1.0, 0.0, 0.0])}, n_obs=4)
        >>> d = inputs.distinct()
        >>> d.n_obs, d.weights[0].tolist()
        (2, [3.0, 1.0])
        """
        if self.weights is not None or any(x.ndim != 1 for x in self.covariates.values()):
            return self
        if not self.covariates:
            rows, counts = np.zeros((1, 0)), np.array([self.n_obs], dtype=float)
        else:
            table = np.column_stack(list(self.covariates.values()))
            rows, counts = np.unique(table, axis=0, return_counts=True)
        covariates = {c: rows[:, j].copy() for j, c in enumerate(self.covariates)}
        weights = np.broadcast_to(counts.astype(float), (self.n_draws, len(counts)))
        return RegimeInputs(
            self.outcome,
            self.mediators,
            self.mediator_names,
            self.treatment,
            covariates,
            len(counts),
            weights,
            self.contrast,
        )

    @property
    def additive(self) -> bool:
        """No product term multiplies the treatment or a mediator: the compiled kernels' model.

        The kernels build the outcome's linear predictor at the corners by doubling, one
        coefficient per mediator; a product term such as ``t:m`` or ``m1:m2`` takes the
        named NumPy steps, which evaluate every term at every corner.
        """
        active = {self.treatment, *self.mediator_names}
        return all(
            len(fs) == 1 or not ({split_factor(f)[0] for f in fs} & active)
            for glm in (self.outcome, *self.mediators)
            for fs in glm.factors
        )

    def topological_order(self) -> list[int]:
        """Mediator indices, parents before children."""
        parents = self.mediator_parents
        done: list[int] = []
        while len(done) < len(self.mediators):
            for j, n in enumerate(self.mediator_names):
                if j not in done and all(self.mediator_names.index(p) in done for p in parents[n]):
                    done.append(j)
        return done

    def draws(self, s: slice) -> RegimeInputs:
        """The same inputs restricted to draws ``s``."""
        covariates = {c: x[s] if x.ndim == 2 else x for c, x in self.covariates.items()}
        weights = None if self.weights is None else self.weights[s]
        return RegimeInputs(
            self.outcome.draws(s),
            tuple(m.draws(s) for m in self.mediators),
            self.mediator_names,
            self.treatment,
            covariates,
            self.n_obs,
            weights,
            self.contrast,
        )


# ---- the named steps (NumPy) -------------------------------------------------------------


def exogenous_predictor(glm: NodeDraws, inputs: RegimeInputs, s: slice, i: slice) -> np.ndarray:
    """Intercept plus the terms of covariates alone: ``(s, n)``, without treatment and mediators.

    A categorical node's has a trailing axis: one predictor per level but the first.
    """
    n = len(range(*i.indices(inputs.n_obs)))
    vector = glm.family.vector
    intercept = glm.intercept[s]
    lead = intercept.shape[0]
    out = np.broadcast_to(intercept[:, None], (lead, n) + intercept.shape[1:]).copy()
    for j, factors in enumerate(glm.factors):
        if all(split_factor(f)[0] in inputs.covariates for f in factors):
            value = 1.0
            for f in factors:
                x = inputs.covariates[split_factor(f)[0]]
                x = x[s, i] if x.ndim == 2 else x[i][None, :]
                value = value * factor_values(f, {split_factor(f)[0]: x})
            coef = glm.beta[s, j]
            out += coef[:, None, :] * np.asarray(value)[..., None] if vector else coef[:, None] * value
    return out


def predictor(glm: NodeDraws, inputs: RegimeInputs, s: slice, i: slice, values: dict) -> np.ndarray:
    """``glm``'s linear predictor, every term included (product terms too): ``(s, n, *regime axes)``.

    ``values`` gives the treatment's and the mediators' values: arrays whose first two axes
    broadcast against ``(s, n)`` (length 1 or full) and whose other axes are the regime axes
    (a treatment level, a mediator corner); covariates come from ``inputs``. A term is its
    coefficient times the product of its factors' values, so the predictor is exact at every
    corner whatever the product terms are.

    Raises
    ------
    KeyError
        A factor of ``glm`` is neither in ``values`` nor a covariate.
    """
    ndim = max([2] + [np.ndim(v) for v in values.values()])
    ns, n = glm.intercept[s].shape[0], len(range(*i.indices(inputs.n_obs)))
    pad = (1,) * (ndim - 2)
    levels = glm.intercept.shape[1:]  # a categorical node's predictor per level but the first: a last axis

    def column(factor):
        node = split_factor(factor)[0]
        if node in values:
            x = values[node]
        else:
            x = inputs.covariates[node]
            x = (x[s, i] if x.ndim == 2 else x[i][None, :]).reshape((-1, n) + pad)
        return factor_values(factor, {node: x})

    eta = exogenous_predictor(glm, inputs, s, i).reshape((ns, n) + pad + levels)
    for j, factors in enumerate(glm.factors):
        if all(split_factor(f)[0] in inputs.covariates for f in factors):
            continue  # in the exogenous part already
        value = 1.0
        for f in factors:
            value = value * column(f)
        if levels:
            value = np.asarray(value)[..., None]
        eta = eta + glm.beta[s, j].reshape((ns,) + (1,) * (ndim - 1) + levels) * value
    shape = np.broadcast_shapes(eta.shape[: eta.ndim - len(levels)], *(np.shape(v) for v in values.values()))
    return np.broadcast_to(eta, (ns, n) + shape[2:] + levels)


def _corner_bits(k: int) -> np.ndarray:
    """``(2^K, K)``: the value of each mediator at each mediator corner, C order."""
    return np.array(list(itertools.product((0.0, 1.0), repeat=k))).reshape(2**k, k)


def mediator_joint(inputs: RegimeInputs, s: slice, i: slice) -> np.ndarray:
    """``P(M = m | do(T = t*), x_i)`` for binary mediators: ``(s, n, 2, 2^K)`` indexed ``[.., t*, m]``.

    Each mediator's conditional probability given the treatment and its mediator parents,
    multiplied over the mediators (MATH.md section 3b). Independent mediators are the
    special case with no mediator parents.
    """
    k = len(inputs.mediators)
    bits = _corner_bits(k)  # (2^K, K)
    values = {inputs.treatment: inputs.treatment_values.reshape(1, 1, 2, 1)}  # t* along the first corner axis
    values.update({name: bits[:, j].reshape(1, 1, 1, -1) for j, name in enumerate(inputs.mediator_names)})
    joint = 1.0
    for j, m in enumerate(inputs.mediators):
        p1 = m.link.inverse(predictor(m, inputs, s, i, values))
        joint = joint * np.where(bits[:, j] == 1.0, p1, 1.0 - p1)
    return joint


def mediator_marginals(inputs: RegimeInputs, s: slice, i: slice, joint: np.ndarray | None = None) -> list[np.ndarray]:
    """``E[M_k | do(T = t), x_i]`` for t = 0, 1: one ``(s, n, 2)`` array per mediator.

    A mediator without mediator parents: its own GLM at ``T = t``. With mediator parents:
    the margin of ``joint`` (binary mediators), or, for an affine link, its mean at its
    parents' interventional means (exact: the mean is affine in each parent, and no product
    term multiplies two mediators: :func:`dagmed.effects.quadrature.needed` sends those to the grids).
    """
    t = {inputs.treatment: inputs.treatment_values.reshape(1, 1, 2)}
    parents = inputs.mediator_parents
    bits = _corner_bits(len(inputs.mediators))
    out: dict[int, np.ndarray] = {}
    for j in inputs.topological_order():
        m, name = inputs.mediators[j], inputs.mediator_names[j]
        if parents[name] and joint is not None:
            out[j] = joint @ bits[:, j]
            continue
        means = {p: out[inputs.mediator_names.index(p)] for p in parents[name]}
        out[j] = m.link.inverse(predictor(m, inputs, s, i, {**t, **means}))
    return [out[j] for j in range(len(inputs.mediators))]


def outcome_corners(inputs: RegimeInputs, s: slice, i: slice) -> np.ndarray:
    """``mu_Y(t, m, x_i)`` at every corner: ``(s, n, 2, 2, ..., 2)`` with K+1 binary axes."""
    k = len(inputs.mediators)
    corners = (inputs.treatment_values, *([np.array([0.0, 1.0])] * k))  # the treatment's two values, each mediator's
    names = (inputs.treatment, *inputs.mediator_names)
    values = {
        name: c.reshape((1, 1) + (1,) * a + (2,) + (1,) * (k - a)) for a, (name, c) in enumerate(zip(names, corners))
    }
    y = inputs.outcome
    return y.link.inverse(predictor(y, inputs, s, i, values))


def contract(mu: np.ndarray, marginals: list[np.ndarray]) -> np.ndarray:
    """Replace each mediator-value axis by a mediator-treatment axis (MATH.md section 5)."""
    r = mu
    for q in marginals:
        r0, r1 = r[:, :, :, 0], r[:, :, :, 1]
        qb = q.reshape(q.shape[:2] + (1,) * (r0.ndim - 2) + (2,))
        r = r0[..., None] + qb * (r1 - r0)[..., None]
    return r


def joint_regimes(mu: np.ndarray, joint: np.ndarray) -> np.ndarray:
    """``Ej(t; t*)`` per draw and observation: ``(s, n, 2, 2)`` indexed ``[.., t, t*]``."""
    flat = mu.reshape(mu.shape[:3] + (-1,))  # (s, n, t, m)
    return np.einsum("sntm,snum->sntu", flat, joint)


# ---- the whole table ---------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Regimes:
    """The regime draws: ``table[s, t, t_1..t_K]`` (marginal) and ``joint[s, t, t*]``."""

    table: np.ndarray
    joint: np.ndarray


def independent_joint(table: np.ndarray) -> np.ndarray:
    """``Ej(t; t*) = E(t; t*, ..., t*)``: exact when no mediator is another's parent."""
    k = table.ndim - 2
    return np.stack([np.stack([table[(slice(None), t) + (ts,) * k] for ts in (0, 1)], axis=-1) for t in (0, 1)], axis=1)


def chunk_shape(n_draws: int, n_obs: int, k: int, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> tuple[int, int]:
    """Draws and observations per chunk so that the temporaries stay within ``chunk_bytes``."""
    cells = 2 ** (k + 1)
    pairs = max(1, chunk_bytes // (8 * cells * 4))  # about four tables alive at once
    n_i = min(n_obs, pairs)
    n_s = max(1, min(n_draws, pairs // n_i))
    return n_s, n_i


def regimes(
    inputs: RegimeInputs, chunk_bytes: int = DEFAULT_CHUNK_BYTES, engine: str = "auto", progress=None
) -> Regimes:
    """Every marginal regime ``E(t; t_1..t_K)`` and joint regime ``Ej(t; t*)``, per draw.

    ``engine="numba"`` runs the fused kernels of :mod:`dagmed.effects.kernel`, chunked over
    draws (within ``chunk_bytes`` and :data:`KERNEL_CHUNK_BYTES`, whichever is smaller: the
    chunk stays in cache); ``"numpy"`` the named steps as arrays, chunked over draws and observations. Both
    give the same numbers to floating point (tested). ``"auto"`` (default) takes the kernels
    when they cover the model (:attr:`RegimeInputs.additive`: no product term of the
    treatment or a mediator), the named steps otherwise. ``progress``, if given, is called with
    the number of draws done after each chunk (a progress bar's ``advance``): many mediators
    and observations take minutes.

    Examples
    --------
    >>> from dagmed.lang.families import FAMILIES
    >>> rng = np.random.default_rng(1)
    >>> b = FAMILIES["bernoulli"]
    >>> m1 = NodeDraws(b, rng.normal(size=4), rng.normal(size=(4, 1)), ("t",))
    >>> m2 = NodeDraws(b, rng.normal(size=4), rng.normal(size=(4, 2)), ("t", "m1"))
    >>> y = NodeDraws(b, rng.normal(size=4), rng.normal(size=(4, 3)), ("t", "m1", "m2"))
    >>> r = regimes(RegimeInputs(y, (m1, m2), ("m1", "m2"), "t", {}, n_obs=1))
    >>> r.table.shape, r.joint.shape
    ((4, 2, 2, 2), (4, 2, 2))
    """
    if engine not in ("auto", "numba", "numpy"):
        raise ValueError(f"unknown engine {engine!r}; valid options are auto, numba, numpy")
    if engine == "numba" and not inputs.additive:
        raise ValueError(
            "engine 'numba': the compiled kernels take no product term of the treatment or a "
            "mediator; use engine 'numpy' (or 'auto')"
        )
    if engine == "auto":
        engine = "numba" if inputs.additive else "numpy"
    k = len(inputs.mediators)
    joint_needed = inputs.dependent and inputs.binary
    run = _chunk_numba if engine == "numba" else _chunk_numpy
    table = np.empty((inputs.n_draws, 2 ** (k + 1)))
    joint = np.empty((inputs.n_draws, 2, 2))
    per_draw = 8 * inputs.n_obs * (k + 1) * (4 if joint_needed else 3)  # the kernel's inputs per draw
    if inputs.weights is not None:  # and the weights and per-draw covariates
        per_draw += 8 * inputs.n_obs * (1 + sum(x.ndim == 2 for x in inputs.covariates.values()))
    budget = min(chunk_bytes, KERNEL_CHUNK_BYTES * kernel.threads()) if engine == "numba" else chunk_bytes
    n_s = max(1, min(inputs.n_draws, budget // per_draw))  # the same bits whatever the chunks
    for s0 in range(0, inputs.n_draws, n_s):
        s = slice(s0, min(s0 + n_s, inputs.n_draws))
        table[s], joint[s] = run(inputs.draws(s), joint_needed, chunk_bytes)
        if progress is not None:
            progress(s.stop - s.start)
    table = table.reshape((inputs.n_draws,) + (2,) * (k + 1))
    if not joint_needed:
        joint = independent_joint(table)
    return Regimes(table, joint)


def regime_table(inputs: RegimeInputs, chunk_bytes: int = DEFAULT_CHUNK_BYTES, engine: str = "auto") -> np.ndarray:
    """``E(t; t_1..t_K)`` per draw: ``(S, 2, ..., 2)`` indexed ``[s, t, t_1, ..., t_K]`` (see :func:`regimes`)."""
    return regimes(inputs, chunk_bytes, engine).table


def observation_sum(r: np.ndarray, inputs: RegimeInputs, s: slice, i: slice) -> np.ndarray:
    """Sum ``r[s, i, ...]`` over the observations, each with its weight when there are weights."""
    if inputs.weights is None:
        return r.sum(axis=1)
    w = inputs.weights[s, i]
    return (r * w.reshape(w.shape + (1,) * (r.ndim - 2))).sum(axis=1)


def _chunk_numpy(inputs: RegimeInputs, joint_needed: bool, chunk_bytes: int):
    k = len(inputs.mediators)
    n_s, n_i = chunk_shape(inputs.n_draws, inputs.n_obs, k, chunk_bytes)
    table = np.zeros((inputs.n_draws, 2 ** (k + 1)))
    joint = np.zeros((inputs.n_draws, 2, 2))
    for s0 in range(0, inputs.n_draws, n_s):
        s = slice(s0, min(s0 + n_s, inputs.n_draws))
        for i0 in range(0, inputs.n_obs, n_i):
            i = slice(i0, min(i0 + n_i, inputs.n_obs))
            mu = outcome_corners(inputs, s, i)
            jt = mediator_joint(inputs, s, i) if joint_needed else None
            if jt is not None:
                joint[s] += observation_sum(joint_regimes(mu, jt), inputs, s, i)
            r = contract(mu, mediator_marginals(inputs, s, i, jt))
            table[s] += observation_sum(r, inputs, s, i).reshape(s.stop - s.start, -1)
    if inputs.weights is None:
        return table / inputs.n_obs, joint / inputs.n_obs
    total = inputs.weights.sum(axis=1)
    return table / total[:, None], joint / total[:, None, None]


def _treatment_part(glm: NodeDraws, inputs: RegimeInputs) -> tuple[np.ndarray, np.ndarray]:
    """``(base, slope)`` with ``eta = base + slope * t`` at the kernels' ``t`` = 0, 1: the contrast's two values.

    The kernels take the treatment as 0 and 1; a contrast ``a vs b`` is the same line through
    ``b`` and ``a``: ``base + c b`` and ``c (a - b)`` for the coefficient ``c``.
    """
    every = slice(None)
    base, slope = exogenous_predictor(glm, inputs, every, every), glm.coef(inputs.treatment)
    if inputs.contrast != (1.0, 0.0):  # the default leaves the arithmetic as it was, bit for bit
        active, reference = inputs.contrast
        base, slope = base + slope[:, None] * reference, slope * (active - reference)
    return base, np.ascontiguousarray(slope)


def _chunk_numba(inputs: RegimeInputs, joint_needed: bool, chunk_bytes: int):
    k = len(inputs.mediators)
    n = inputs.n_obs
    every = slice(None)
    w = np.zeros((0, 0)) if inputs.weights is None else np.ascontiguousarray(inputs.weights, dtype=float)
    y = inputs.outcome
    y_base, y_t = _treatment_part(y, inputs)
    y_m = np.ascontiguousarray(np.array([y.coef(m) for m in inputs.mediator_names]).T.reshape(inputs.n_draws, k))
    if not joint_needed:
        q = mediator_marginals(inputs, every, every)
        q_all = np.stack(q) if k else np.zeros((0, inputs.n_draws, n, 2))
        table = kernel.regime_kernel(y_base, y_t, y_m, y.link.code, np.ascontiguousarray(q_all), w)
        return table, np.zeros((inputs.n_draws, 2, 2))
    meds, names_ = inputs.mediators, inputs.mediator_names
    m_base, m_t = (np.stack(parts) for parts in zip(*(_treatment_part(m, inputs) for m in meds)))
    m_m = np.stack([np.stack([m.coef(p) for p in names_]) for m in meds])  # (K, K, S)
    m_link = np.array([m.link.code for m in meds], dtype=np.int64)
    order = np.array(inputs.topological_order(), dtype=np.int64)
    parents = inputs.mediator_parents
    mask = np.array([sum(1 << (k - 1 - names_.index(p)) for p in parents[nm]) for nm in names_], dtype=np.int64)
    table, joint = kernel.dependent_regime_kernel(
        y_base,
        y_t,
        y_m,
        y.link.code,
        m_base,
        np.ascontiguousarray(m_t),
        np.ascontiguousarray(m_m),
        m_link,
        order,
        mask,
        w,
    )
    return table, joint.reshape(-1, 2, 2)


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
