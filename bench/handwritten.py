"""The baseline: Example 2 written by hand, the way users write it in a notebook today.

One scalar prior per coefficient, a ``Deterministic`` probability per observation,
``pm.sample``, and the decomposition through ``pm.do`` + ``sample_posterior_predictive``
over every corner. Independent of dagmed's code: it shares only PyMC, ArviZ and NumPy.

Options: ``edge=True`` adds the edge ``dev_peer -> sub_exp`` (dependent mediators,
MATH.md section 3b); ``prior_sigma`` is the sd of the Normal(0, sd) prior on every
intercept and coefficient (1 by default, 10 for "wide" priors). The effects come in the
control or the treated (intmed) convention, or both from the same regimes.

    python bench/handwritten.py --edge --prior-sigma 10       # both conventions, table
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np
import pandas as pd
import pymc as pm

MEDIATORS = ("dev_peer", "sub_exp")
CONVENTIONS = ("control", "treated")


def load(csv):
    df = pd.read_csv(csv).dropna().reset_index(drop=True)
    df["gender"] = (df["gender"] == "Male").astype(float)
    return df


def build(df, edge=False, prior_sigma=1.0):
    invlogit = pm.math.invlogit
    g, c = df["gender"].to_numpy(), df["conflict"].to_numpy()

    def normal(name):
        return pm.Normal(name, 0, prior_sigma)

    with pm.Model() as model:
        a0, ag, ac = (normal(n) for n in ("a0", "a_gender", "a_conflict"))
        p_fi = pm.Deterministic("p_fam_int", invlogit(a0 + ag * g + ac * c))
        fam_int = pm.Bernoulli("fam_int", p_fi, observed=df["fam_int"].to_numpy())

        b0, bt, bg, bc = (normal(n) for n in ("b0", "b_fam_int", "b_gender", "b_conflict"))
        p_dp = pm.Deterministic("p_dev_peer", invlogit(b0 + bt * fam_int + bg * g + bc * c))
        dev_peer = pm.Bernoulli("dev_peer", p_dp, observed=df["dev_peer"].to_numpy())

        c0, ct, cg, cc = (normal(n) for n in ("c0", "c_fam_int", "c_gender", "c_conflict"))
        eta_se = c0 + ct * fam_int + cg * g + cc * c
        if edge:
            eta_se = eta_se + normal("c_dev_peer") * dev_peer
        p_se = pm.Deterministic("p_sub_exp", invlogit(eta_se))
        sub_exp = pm.Bernoulli("sub_exp", p_se, observed=df["sub_exp"].to_numpy())

        d0, dt, dd, ds, dg, dc = (
            normal(n) for n in ("d0", "d_fam_int", "d_dev_peer", "d_sub_exp", "d_gender", "d_conflict")
        )
        p_sd = pm.Deterministic(
            "p_sub_disorder", invlogit(d0 + dt * fam_int + dd * dev_peer + ds * sub_exp + dg * g + dc * c)
        )
        pm.Bernoulli("sub_disorder", p_sd, observed=df["sub_disorder"].to_numpy())
    return model


def _under_do(model, idata, values, var, n):
    dm = pm.do(model, {k: np.full(n, v, dtype=model[k].dtype) for k, v in values.items()})
    pp = pm.sample_posterior_predictive(idata, model=dm, var_names=[var], progressbar=False)
    return pp.posterior_predictive[var].values.reshape(-1, n)


def regimes(model, idata, n, edge=False):
    """Marginal ``E[(t, t1, t2)]`` and joint ``Ej[(t, t_star)]`` per draw (MATH.md 1 and 3b).

    ``P(dev_peer | do(T=t))`` from the model under do(fam_int=t); ``P(sub_exp | T=t,
    dev_peer=d)`` under do(fam_int=t, dev_peer=d) (with the edge; without it one call per t);
    the outcome under do() on the treatment and both mediators.
    """
    p_dp = {t: _under_do(model, idata, {"fam_int": t}, "p_dev_peer", n) for t in (0, 1)}
    if edge:
        p_se = {
            (t, d): _under_do(model, idata, {"fam_int": t, "dev_peer": d}, "p_sub_exp", n)
            for t in (0, 1)
            for d in (0, 1)
        }
    else:  # sub_exp does not depend on dev_peer: one call per t
        p_se = {}
        for t in (0, 1):
            p_se[(t, 0)] = p_se[(t, 1)] = _under_do(model, idata, {"fam_int": t}, "p_sub_exp", n)
    mu = {
        (t, mv): _under_do(model, idata, {"fam_int": t, **dict(zip(MEDIATORS, mv))}, "p_sub_disorder", n)
        for t in (0, 1)
        for mv in itertools.product((0, 1), repeat=2)
    }

    def bern(p, v):
        return p if v else 1 - p

    # joint of (dev_peer, sub_exp) under do(fam_int = t): P(dev_peer | t) P(sub_exp | t, dev_peer)
    joint = {(t, m1, m2): bern(p_dp[t], m1) * bern(p_se[(t, m1)], m2) for t in (0, 1) for m1 in (0, 1) for m2 in (0, 1)}
    # marginals under do(fam_int = t): dev_peer's own; sub_exp's summed over dev_peer
    q = {("dev_peer", t): p_dp[t] for t in (0, 1)}
    q.update({("sub_exp", t): p_dp[t] * p_se[(t, 1)] + (1 - p_dp[t]) * p_se[(t, 0)] for t in (0, 1)})

    E = {}
    for t, t1, t2 in itertools.product((0, 1), repeat=3):
        total = 0.0
        for m1, m2 in itertools.product((0, 1), repeat=2):
            total = total + bern(q[("dev_peer", t1)], m1) * bern(q[("sub_exp", t2)], m2) * mu[(t, (m1, m2))]
        E[(t, t1, t2)] = total.mean(axis=1)
    Ej = {}
    for t, ts in itertools.product((0, 1), repeat=2):
        total = 0.0
        for m1, m2 in itertools.product((0, 1), repeat=2):
            total = total + joint[(ts, m1, m2)] * mu[(t, (m1, m2))]
        Ej[(t, ts)] = total.mean(axis=1)
    return E, Ej


def effects(E, Ej, convention="control"):
    """MATH.md 3b: TE and DE from the joint; IIE and INT at t = 0 (control) or t = 1 (treated)."""
    lv = {"control": 0, "treated": 1}[convention]
    te = Ej[(1, 1)] - Ej[(0, 0)]
    de = Ej[(1, 0)] - Ej[(0, 0)]
    iie1 = E[(lv, 1, 0)] - E[(lv, 0, 0)]
    iie2 = E[(lv, 0, 1)] - E[(lv, 0, 0)]
    inter = E[(lv, 1, 1)] - E[(lv, 1, 0)] - E[(lv, 0, 1)] + E[(lv, 0, 0)]
    if convention == "control":
        dep = te - de - iie1 - iie2 - inter
    else:
        dep = (Ej[(1, 1)] - E[(1, 1, 1)]) - (Ej[(1, 0)] - E[(1, 0, 0)])
    return {
        "TE": te,
        "DE": de,
        "IIE[dev_peer]": iie1,
        "IIE[sub_exp]": iie2,
        "INT[dev_peer,sub_exp]": inter,
        "DEP": dep,
    }


def decompose(model, idata, n, edge=False, convention="control"):
    """Effect draws in one convention, or ``{convention: effects}`` for ``convention="both"``."""
    E, Ej = regimes(model, idata, n, edge)
    if convention == "both":
        return {conv: effects(E, Ej, conv) for conv in CONVENTIONS}
    return effects(E, Ej, convention)


def run(csv, draws, tune, chains, seed, sampler="nutpie", *, edge=False, prior_sigma=1.0, convention="control"):
    df = load(csv)
    model = build(df, edge=edge, prior_sigma=prior_sigma)
    with model:
        idata = pm.sample(
            draws=draws, tune=tune, chains=chains, random_seed=seed, nuts_sampler=sampler, progressbar=False
        )
    return decompose(model, idata, len(df), edge=edge, convention=convention)


def main(argv=None):
    import time
    from pathlib import Path

    import arviz as az

    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(here.parent.parent / "shared" / "data" / "substance.csv"))
    ap.add_argument("--edge", action="store_true", help="add dev_peer -> sub_exp")
    ap.add_argument("--prior-sigma", type=float, default=1.0, help="sd of the Normal(0, sd) priors")
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--tune", type=int, default=1000)
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sampler", default="nutpie")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    eff = run(
        args.data,
        args.draws,
        args.tune,
        args.chains,
        args.seed,
        args.sampler,
        edge=args.edge,
        prior_sigma=args.prior_sigma,
        convention="both",
    )
    secs = time.perf_counter() - t0
    print(
        f"hand-written PyMC, substance data (complete cases), edge dev_peer -> sub_exp: {args.edge}, "
        f"Normal(0, {args.prior_sigma:g}) priors, {args.sampler}, {args.chains} x {args.draws} draws "
        f"({args.tune} tuning), seed {args.seed}, {secs:.0f} s"
    )
    for conv in CONVENTIONS:
        print(f"{conv} convention")
        print(f"  {'effect':<24}{'mean':>9}{'hdi95 low':>10}{'hdi95 high':>11}")
        for name, d in eff[conv].items():
            lo, hi = az.hdi(np.asarray(d), hdi_prob=0.95)
            print(f"  {name:<24}{np.mean(d):9.4f}{lo:10.4f}{hi:11.4f}")
        total = eff[conv]["TE"] - sum(v for k, v in eff[conv].items() if k != "TE")
        print(f"  max |TE - sum of components| = {np.abs(total).max():.1e}")


if __name__ == "__main__":
    main()
