"""End to end: recovery of known truth, reproducibility and the substance data with real
sampling (slow); identities that hold for any parameter values on prior draws (fast)."""

import itertools
import json
import subprocess
import sys
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import pytest

import dagmed
from dagmed import api, compiler, decompose, names
from dagmed.api import summarize
from dagmed.examples import LINEAR_TRUTH, linear_data

from conftest import SPECS

slow = pytest.mark.slow
QUIET = dict(progressbar=False, log=lambda msg: None)


@pytest.fixture(scope="module")
def linear():
    spec = dagmed.load(SPECS / "linear.dag")
    return dagmed.run(spec, linear_data(), draws=1000, tune=1500, chains=2, seed=42, target_accept=0.9, **QUIET)


@slow
def test_example1_truth_inside_the_hdis(linear):
    eff = linear.effects
    for name in ("DE", "IIE[m]", "TE"):
        lo, hi = eff.loc[name, ["hdi_low", "hdi_high"]]
        assert lo < LINEAR_TRUTH[name] < hi, (name, lo, hi)
    assert list(eff.index) == ["TE", "DE", "IIE[m]", "DEP", "PM[m]"]
    # the effect draws are in the InferenceData too
    med = linear.idata.mediation["effects"].sel(effect="IIE[m]").values.reshape(-1)
    np.testing.assert_array_equal(med, linear.effect_draws["IIE[m]"])


def test_example1_iie_equals_a_times_b_per_draw():
    """MATH.md 4: IIE = a b, DE = c', TE = c' + a b, DEP = 0 for any parameters, so prior draws test it."""
    spec = dagmed.load(SPECS / "linear.dag")
    analysis = dagmed.check(spec)
    dataset = dagmed.load_data(spec, linear_data())
    model = compiler.attach(compiler.build(analysis, dataset.n_obs), dataset)
    prior = pm.sample_prior_predictive(draws=200, model=model, random_seed=1).prior
    eff = api.decompose_idata(analysis, dataset, az.InferenceData(posterior=prior))[-1]

    def coef(node, parent):
        return prior[names.beta(node)].sel({names.parents_dim(node): parent}).values.reshape(-1)

    def intercept(node):
        return prior[names.intercept(node)].values.reshape(-1)

    a, b, c = coef("m", "x"), coef("y", "m"), coef("y", "x")
    assert np.ptp(a * b) > 0  # the draws vary
    # Per observation a regime is r0 + q (r1 - r0), with r0, r1 y's mean at m = 0, 1 and q m's
    # mean under the intervention; V bounds every term, so each is exact to a few eps V and
    # their average over N to (N + 4) eps V. An effect is at most three differences of two
    # regimes (DEP = TE - DE - IIE): 6 (N + 4) eps V and the subtractions, within 8 (N + 8) eps V.
    v = (np.abs(intercept("y")) + np.abs(b) + np.abs(c)) * (1 + np.abs(intercept("m")) + np.abs(a))
    tol = 8 * (dataset.n_obs + 8) * np.finfo(float).eps * v
    for name, want in (("IIE[m]", a * b), ("DE", c), ("TE", c + a * b), ("DEP", 0.0)):
        assert np.all(np.abs(eff[name] - want) <= tol), name


@slow
def test_fixed_seed_gives_the_same_numbers():
    spec = dagmed.load(SPECS / "linear.dag")
    runs = [dagmed.run(spec, linear_data(), draws=100, tune=200, chains=2, seed=7, **QUIET) for _ in range(2)]
    np.testing.assert_array_equal(runs[0].effect_draws["TE"], runs[1].effect_draws["TE"])


# ---- three binary mediators from fixed parameters --------------------------------------

TRUE = {
    "treat": (-0.2, {"age": 0.3, "baseline": -0.4}),
    "adherence": (-0.5, {"treat": 1.2, "age": 0.3, "baseline": 0.2}),
    "support": (0.2, {"treat": -0.8, "age": -0.2, "baseline": 0.4}),
    "sleep": (-0.3, {"treat": 0.6, "age": 0.1, "baseline": -0.3}),
    "relapse": (
        -0.4,
        {"treat": -0.5, "adherence": -0.9, "support": 0.7, "sleep": -0.6, "age": 0.3, "baseline": 0.5},
    ),
}
MEDS = ("adherence", "support", "sleep")


def _sig(z):
    return 1 / (1 + np.exp(-z))


def _lin(node, values):
    a, betas = TRUE[node]
    return a + sum(b * values[p] for p, b in betas.items())


def simulate(n, seed):
    rng = np.random.default_rng(seed)
    v = {"age": rng.normal(size=n), "baseline": rng.binomial(1, 0.5, n).astype(float)}
    for node in ("treat", *MEDS, "relapse"):
        v[node] = rng.binomial(1, _sig(_lin(node, v))).astype(float)
    return pd.DataFrame(v)


def true_regimes(df):
    """E(t; t1, t2, t3) from the true parameters, by brute force over observations and corners."""
    x = {"age": df["age"].to_numpy(), "baseline": df["baseline"].to_numpy()}
    out = {}
    for t, *ts in itertools.product((0, 1), repeat=4):
        p = [_sig(_lin(m, {**x, "treat": ts[j]})) for j, m in enumerate(MEDS)]
        e = 0.0
        for mv in itertools.product((0, 1), repeat=3):
            w = np.prod([p[j] if mv[j] else 1 - p[j] for j in range(3)], axis=0)
            e = e + w * _sig(_lin("relapse", {**x, "treat": t, **dict(zip(MEDS, mv))}))
        out[(t, *ts)] = float(np.mean(e))
    return out


@slow
def test_three_binary_mediators_recover_the_true_regimes():
    df = simulate(3000, seed=2024)
    spec = dagmed.load(SPECS / "three_mediators.dag")
    res = dagmed.run(spec, df, draws=500, tune=500, chains=2, seed=11, **QUIET)
    truth = true_regimes(df)
    assert len(res.regimes) == 16
    # 16 regimes at once: Bonferroni-adjusted HDIs give 95% simultaneous coverage
    flat = res.regime_draws.reshape(res.regime_draws.shape[0], -1)
    for j, key in enumerate(itertools.product((0, 1), repeat=4)):
        s = summarize(flat[:, j], 1 - 0.05 / 16)
        assert s["hdi_low"] < truth[key] < s["hdi_high"], (key, truth[key], s)
    true_table = np.array([truth[k] for k in itertools.product((0, 1), repeat=4)]).reshape((1,) + (2,) * 4)
    true_eff = decompose.effects(true_table, MEDS)
    names = ("TE", "DE", *(f"IIE[{m}]" for m in MEDS), "INT[adherence,support,sleep]")
    for name in names:
        s = summarize(res.effect_draws[name], 1 - 0.05 / len(names))
        assert s["hdi_low"] < true_eff[name][0] < s["hdi_high"], (name, true_eff[name][0], s)
    # and the effects are not trivially wide: adherence's indirect effect is clearly negative
    assert res.effects.loc["IIE[adherence]", "hdi_high"] < 0


# ---- the substance data, through the command line -----------------------------------------


def dagmed_cli(*args, cwd):
    script = Path(sys.executable).with_name("dagmed")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "dagmed"]
    return subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True, timeout=900, cwd=cwd)


@pytest.fixture(scope="module")
def substance_run(tmp_path_factory, substance_csv):
    tmp = tmp_path_factory.mktemp("substance")
    out = tmp / "out"
    r = dagmed_cli("run", SPECS / "substance.dag", "--data", substance_csv, "--draws", 300, "--tune", 300,
                   "--chains", 2, "--seed", 1, "--out", out, "--quiet", cwd=tmp)
    assert r.returncode == 0, r.stderr
    return out, r


@slow
def test_substance_end_to_end(substance_run):
    out, r = substance_run
    assert sorted(p.name for p in out.iterdir()) == [
        "effects.csv", "effects.json", "idata.nc", "plots", "regimes.csv", "report.html", "spec.dag"
    ]
    doc = json.loads((out / "effects.json").read_text())
    assert (doc["treatment"], doc["outcome"]) == ("fam_int", "sub_disorder")
    assert doc["mediators"] == ["dev_peer", "sub_exp"] and doc["covariates"] == ["gender", "conflict"]
    assert (doc["n_obs"], doc["n_dropped"]) == (410, 143)
    names = [e["name"] for e in doc["effects"]]
    assert names == ["TE", "DE", "IIE[dev_peer]", "IIE[sub_exp]", "INT[dev_peer,sub_exp]", "DEP",
                     "PM[dev_peer]", "PM[sub_exp]"]
    assert len(doc["regimes"]) == 8
    assert set(doc["diagnostics"]) == {"rhat_max", "ess_bulk_min", "divergences"}
    assert doc["sampler"]["sampler"] in ("nutpie", "pymc") and doc["sampler"]["seed"] == 1
    eff = {e["name"]: e for e in doc["effects"]}
    # the family intervention lowers disorder through deviant peers (the reference analysis' finding)
    assert eff["IIE[dev_peer]"]["hdi_high"] < 0
    # the table printed equals the file
    assert f"{eff['TE']['mean']:8.3f}" in r.stdout
    import arviz as az

    idata = az.from_netcdf(out / "idata.nc")
    assert {"posterior", "observed_data", "constant_data", "mediation", "posterior_predictive"} <= set(idata.groups())
    assert idata.observed_data["sub_disorder"].size == 410
    csv = pd.read_csv(out / "effects.csv")
    assert csv["name"].tolist() == names


def _nonblank(png: Path) -> bool:
    import matplotlib.image as mpimg

    return float(np.var(mpimg.imread(png)[..., :3])) > 1e-3


@slow
def test_pictures_and_report(substance_run):
    out, _ = substance_run
    pngs = sorted((out / "plots").glob("*.png"))
    names = {p.name for p in pngs}
    assert {"dag.png", "model_graph.png", "data.png", "rates_by_treatment.png", "prior_predictive.png",
            "trace.png", "posterior_predictive.png", "effects.png", "forest.png"} <= names
    assert all(_nonblank(p) for p in pngs), [p.name for p in pngs if not _nonblank(p)]
    report = (out / "report.html").read_text()
    doc = json.loads((out / "effects.json").read_text())
    for e in doc["effects"]:
        assert f"<td>{e['name']}</td><td>{e['mean']:.3f}</td>" in report
    assert report.count("data:image/png;base64,") == len(pngs)
    assert "410 observations used; 143 rows dropped" in report
    assert "mediators conditionally independent" in report


@slow
def test_plot_redraws_a_copied_run_directory(substance_run, tmp_path):
    import shutil

    out, _ = substance_run
    copy = tmp_path / "copied"
    shutil.copytree(out, copy)
    shutil.rmtree(copy / "plots")
    (copy / "report.html").unlink()
    r = dagmed_cli("plot", copy, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert len(list((copy / "plots").glob("*.png"))) >= 9
    assert all(_nonblank(p) for p in (copy / "plots").glob("*.png"))
    assert "forest.png" in (copy / "report.html").read_text()


@slow
def test_linear_run_has_a_pair_plot(tmp_path):
    csv = tmp_path / "linear.csv"
    linear_data().to_csv(csv, index=False)
    r = dagmed_cli("run", SPECS / "linear.dag", "--data", csv, "--config", SPECS / "linear.yaml", "--tune", 500,
                   "--draws", 300, "--chains", 2, "--out", tmp_path / "out", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert _nonblank(tmp_path / "out" / "plots" / "pair.png")
    doc = json.loads((tmp_path / "out" / "effects.json").read_text())
    assert doc["sampler"]["target_accept"] == 0.9 and doc["sampler"]["seed"] == 42  # from the YAML
    assert doc["sampler"]["tune"] == 500  # the flag wins
