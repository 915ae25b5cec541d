"""Reference implementations for tests and benchmarks: slow, obvious, independent of the
named steps and kernels of ``dagmed.effects.regimes`` and ``dagmed.effects.kernel``.

``regimes_naive`` sums every regime over every mediator corner, ``O(4^K)``: the joint of
the mediators under ``do(T = t*)`` by brute force over the corners, each mediator's
marginal from it, then MATH.md sections 1 and 3b term by term. It reads only the GLM draws
(intercept, coefficients, term names, the link's name) of the inputs.
"""

from __future__ import annotations

import itertools

import numpy as np

INVERSE = {"logit": lambda z: 1.0 / (1.0 + np.exp(-z)), "identity": lambda z: z, "log": np.exp}


def _eta(glm, values, s):
    """Linear predictor of ``glm`` for draws ``s``; ``values`` maps node -> (N,) or scalar.

    A term ``a:b`` (a product term) is the product of its factors' values.
    """
    out = glm.intercept[s, None] + 0.0
    for j, name in enumerate(glm.terms):
        value = 1.0
        for factor in name.split(":"):
            value = value * values[factor]
        out = out + glm.beta[s, j, None] * value
    return out


def regimes_naive(inputs, s=slice(None)):
    """``(table[s, t, t_1..t_K], joint[s, t, t*])`` by brute force over every corner."""
    k = len(inputs.mediators)
    names = inputs.mediator_names
    x = dict(inputs.covariates)
    corners = list(itertools.product((0, 1), repeat=k))
    active, reference = inputs.contrast
    tv = {0: reference, 1: active}  # the treatment's value at regime index t (a contrast "active vs reference")
    # P(M = m | do(T = t*)) for every corner m: a product of each mediator's conditional
    joint = {}
    for ts in (0, 1):
        for m in corners:
            w = 1.0
            for j, glm in enumerate(inputs.mediators):
                p = INVERSE[glm.link.name](_eta(glm, {**x, inputs.treatment: tv[ts], **dict(zip(names, m))}, s))
                w = w * (p if m[j] else 1.0 - p)
            joint[ts, m] = w
    marg = {(j, ts): sum(joint[ts, m] for m in corners if m[j]) for j in range(k) for ts in (0, 1)}
    mu = {
        (t, m): INVERSE[inputs.outcome.link.name](
            _eta(inputs.outcome, {**x, inputs.treatment: tv[t], **dict(zip(names, m))}, s)
        )
        for t in (0, 1)
        for m in corners
    }
    n_s = len(range(*s.indices(inputs.n_draws)))
    table = np.empty((n_s,) + (2,) * (k + 1))
    for t, *tk in itertools.product((0, 1), repeat=k + 1):
        total = 0.0
        for m in corners:
            w = 1.0
            for j in range(k):
                w = w * (marg[j, tk[j]] if m[j] else 1.0 - marg[j, tk[j]])
            total = total + w * mu[t, m]
        table[(slice(None), t, *tk)] = np.broadcast_to(total, (n_s, inputs.n_obs)).mean(axis=1)
    jt = np.empty((n_s, 2, 2))
    for t in (0, 1):
        for ts in (0, 1):
            jt[:, t, ts] = np.broadcast_to(sum(joint[ts, m] * mu[t, m] for m in corners), (n_s, inputs.n_obs)).mean(
                axis=1
            )
    return table, jt


def regimes_naive_chunked(inputs, chunk=50):
    """:func:`regimes_naive` over chunks of draws, so that it fits in memory."""
    parts = [regimes_naive(inputs, slice(s0, s0 + chunk)) for s0 in range(0, inputs.n_draws, chunk)]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
