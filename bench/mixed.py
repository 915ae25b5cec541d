"""Comparison 4: a mixed K = 3 regime table on grids, against Monte Carlo over the mediators.

Three mediators of three families (normal, bernoulli, poisson), a logit outcome with a t:m1
product and a continuous covariate (so every row is distinct), 4000 posterior draws and
N = 5000 rows by default. dagmed sums the outcome's mean over the mediators' grids
(dagmed.effects.quadrature, compiled by dagmed.effects.gridkernel) with the quadrature error
estimated; the baseline is what the other tools do, Monte Carlo over the mediators with
1000 draws per posterior draw, row and regime (R mediation's default `sims`), timed on a
subset of draws and rows and compared per (draw, row) pair, with its error against the grid.

    python bench/mixed.py                 # 4000 draws x 5000 rows (about 15 minutes on 2 cores)
    python bench/mixed.py --draws 400 --rows 500
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np

SIMS = 1000  # Monte Carlo draws of the mediators per posterior draw, row and regime (R mediation's default)


def inputs(n_draws: int, n_obs: int, seed: int = 0):
    """Posterior-like draws of the three mediators' and the outcome's GLMs, and a continuous covariate."""
    from dagmed.effects.regimes import RegimeInputs
    from dagmed.lang.families import FAMILIES
    from dagmed.model.draws import NodeDraws

    rng = np.random.default_rng(seed)

    def glm(family, terms, centre, extras=None):
        beta = np.asarray(centre) + 0.05 * rng.normal(size=(n_draws, len(terms)))
        return NodeDraws(FAMILIES[family], rng.normal(-0.2, 0.05, n_draws), beta, terms, extras or {})

    m1 = glm("normal", ("t", "x"), [0.8, 0.3], {"sigma": 1.0 + 0.05 * rng.random(n_draws)})
    m2 = glm("bernoulli", ("t", "x"), [0.9, 0.2])
    m3 = glm("poisson", ("t", "x"), [0.5, 0.1])
    y = glm("bernoulli", ("t", "m1", "m2", "m3", "t:m1", "x"), [0.3, 0.4, 0.5, 0.2, 0.3, 0.2])
    x = rng.normal(size=n_obs)
    return RegimeInputs(y, (m1, m2, m3), ("m1", "m2", "m3"), "t", {"x": x}, n_obs)


def monte_carlo(inp, draws: np.ndarray, rows: np.ndarray, seed: int = 1) -> np.ndarray:
    """``E(t; t1, t2, t3)`` per (draw, row) by SIMS draws of each mediator: ``(len(draws), len(rows), 2, 2, 2, 2)``."""
    rng = np.random.default_rng(seed)
    x = inp.covariates["x"][rows]
    out = np.empty((len(draws), len(rows)) + (2,) * 4)

    def eta(glm, s, values):
        e = glm.intercept[s]
        for j, term in enumerate(glm.terms):
            v = 1.0
            for f in term.split(":"):
                v = v * values[f]
            e = e + glm.beta[s, j] * v
        return e

    m1, m2, m3 = inp.mediators
    for a, s in enumerate(draws):
        mediators = {}
        for t in (0, 1):
            base = {"t": float(t), "x": x[:, None]}
            mediators[("m1", t)] = rng.normal(eta(m1, s, base), m1.extras["sigma"][s], size=(len(rows), SIMS))
            p = 1 / (1 + np.exp(-eta(m2, s, base)))
            mediators[("m2", t)] = (rng.random((len(rows), SIMS)) < p).astype(float)
            mediators[("m3", t)] = rng.poisson(np.exp(eta(m3, s, base)), size=(len(rows), SIMS)).astype(float)
        for t, t1, t2, t3 in itertools.product((0, 1), repeat=4):
            values = {
                "t": float(t),
                "x": x[:, None],
                "m1": mediators[("m1", t1)],
                "m2": mediators[("m2", t2)],
                "m3": mediators[("m3", t3)],
            }
            out[(a, slice(None), t, t1, t2, t3)] = (1 / (1 + np.exp(-eta(inp.outcome, s, values)))).mean(axis=1)
    return out


def main(argv=None):
    from dagmed.effects import quadrature

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--draws", type=int, default=4000)
    ap.add_argument("--rows", type=int, default=5000)
    args = ap.parse_args(argv)
    inp = inputs(args.draws, args.rows)
    quadrature.integrate(inputs(20, 20))  # compile (cached on disk after the first run)
    t0 = time.perf_counter()
    got = quadrature.integrate(inp)
    secs = time.perf_counter() - t0
    pairs = args.draws * args.rows
    print(
        f"4. mixed K = 3 (normal, bernoulli, poisson; logit outcome with t:m1), {args.draws} draws x {args.rows} rows"
    )
    print(
        f"   dagmed grids: {secs:.1f} s ({secs / pairs * 1e6:.2f} us per draw and row); estimated quadrature "
        f"error {got.error:.1e}, count tail left out {got.tail:.1e}, nodes {got.nodes}"
    )
    draws, rows = np.arange(min(10, args.draws)), np.arange(min(200, args.rows))
    sub = quadrature.integrate(inputs_subset(inp, draws, rows))
    t0 = time.perf_counter()
    mc = monte_carlo(inp, draws, rows)
    mc_secs = time.perf_counter() - t0
    per_mc = mc_secs / (len(draws) * len(rows))
    mc_means = mc.mean(axis=1)  # the regimes: the mean over the rows
    gap = float(np.max(np.abs(mc_means - sub.table)))
    print(
        f"   Monte Carlo ({SIMS} mediator draws per draw, row and regime), on {len(draws)} x {len(rows)}: "
        f"{per_mc * 1e6:.1f} us per draw and row, largest regime error {gap:.1e}; "
        f"ratio dagmed / Monte Carlo {secs / pairs / per_mc:.3f}"
    )


def inputs_subset(inp, draws, rows):
    """The same inputs restricted to some draws and rows."""
    from dagmed.effects.regimes import RegimeInputs
    from dagmed.model.draws import NodeDraws

    def cut(glm):
        extras = {k: v[draws] for k, v in glm.extras.items()}
        return NodeDraws(glm.family, glm.intercept[draws], glm.beta[draws], glm.terms, extras)

    cov = {k: v[rows] for k, v in inp.covariates.items()}
    return RegimeInputs(cut(inp.outcome), tuple(cut(m) for m in inp.mediators), inp.mediator_names, "t", cov, len(rows))


if __name__ == "__main__":
    main()
