"""The baseline: Example 2 written by hand, the way users write it in a notebook today.

One scalar prior per coefficient, a ``Deterministic`` probability per observation,
``pm.sample``, and the decomposition through ``pm.do`` + ``sample_posterior_predictive``
over every corner. Independent of dagmed's code: it shares only PyMC and NumPy.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pymc as pm

MEDIATORS = ("dev_peer", "sub_exp")


def load(csv):
    df = pd.read_csv(csv).dropna().reset_index(drop=True)
    df["gender"] = (df["gender"] == "Male").astype(float)
    return df


def build(df):
    invlogit = pm.math.invlogit
    g, c = df["gender"].to_numpy(), df["conflict"].to_numpy()
    with pm.Model() as model:
        a0, ag, ac = (pm.Normal(n, 0, 1) for n in ("a0", "a_gender", "a_conflict"))
        p_fi = pm.Deterministic("p_fam_int", invlogit(a0 + ag * g + ac * c))
        fam_int = pm.Bernoulli("fam_int", p_fi, observed=df["fam_int"].to_numpy())

        b0, bt, bg, bc = (pm.Normal(n, 0, 1) for n in ("b0", "b_fam_int", "b_gender", "b_conflict"))
        p_dp = pm.Deterministic("p_dev_peer", invlogit(b0 + bt * fam_int + bg * g + bc * c))
        dev_peer = pm.Bernoulli("dev_peer", p_dp, observed=df["dev_peer"].to_numpy())

        c0, ct, cg, cc = (pm.Normal(n, 0, 1) for n in ("c0", "c_fam_int", "c_gender", "c_conflict"))
        p_se = pm.Deterministic("p_sub_exp", invlogit(c0 + ct * fam_int + cg * g + cc * c))
        sub_exp = pm.Bernoulli("sub_exp", p_se, observed=df["sub_exp"].to_numpy())

        d0, dt, dd, ds, dg, dc = (
            pm.Normal(n, 0, 1) for n in ("d0", "d_fam_int", "d_dev_peer", "d_sub_exp", "d_gender", "d_conflict")
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


def decompose(model, idata, n):
    q = {(m, t): _under_do(model, idata, {"fam_int": t}, f"p_{m}", n) for m in MEDIATORS for t in (0, 1)}
    mu = {
        (t, mv): _under_do(model, idata, {"fam_int": t, **dict(zip(MEDIATORS, mv))}, "p_sub_disorder", n)
        for t in (0, 1)
        for mv in itertools.product((0, 1), repeat=2)
    }

    def E(t, t1, t2):
        total = 0.0
        for m1, m2 in itertools.product((0, 1), repeat=2):
            w1 = q[("dev_peer", t1)] if m1 else 1 - q[("dev_peer", t1)]
            w2 = q[("sub_exp", t2)] if m2 else 1 - q[("sub_exp", t2)]
            total = total + w1 * w2 * mu[(t, (m1, m2))]
        return total.mean(axis=1)

    te = E(1, 1, 1) - E(0, 0, 0)
    de = E(1, 0, 0) - E(0, 0, 0)
    iie1 = E(0, 1, 0) - E(0, 0, 0)
    iie2 = E(0, 0, 1) - E(0, 0, 0)
    inter = E(0, 1, 1) - E(0, 1, 0) - E(0, 0, 1) + E(0, 0, 0)
    return {
        "TE": te,
        "DE": de,
        "IIE[dev_peer]": iie1,
        "IIE[sub_exp]": iie2,
        "INT[dev_peer,sub_exp]": inter,
        "DEP": te - de - iie1 - iie2 - inter,
    }


def run(csv, draws, tune, chains, seed, sampler="nutpie"):
    df = load(csv)
    model = build(df)
    with model:
        idata = pm.sample(draws=draws, tune=tune, chains=chains, random_seed=seed, nuts_sampler=sampler, progressbar=False)
    return decompose(model, idata, len(df))
