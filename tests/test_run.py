"""End to end: recovery of known truth, reproducibility and the substance data with real
sampling (slow); identities that hold for any parameter values on prior draws (fast)."""

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pymc as pm
import pytest

import dagmed
from dagmed import api, compat
from dagmed.compat import inference_data
from dagmed.examples import LINEAR_TRUTH, linear_data
from dagmed.model import compiler, names
from dagmed.report import rundir
from dagmed.report import text as report_text

from conftest import REPO, SPECS

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
    dataset = dagmed.load_data(spec, linear_data())  # checks the spec; the dataset carries the model IR
    model = compiler.attach(compiler.build(dataset.ir, dataset.n_obs), dataset)
    prior = pm.sample_prior_predictive(draws=200, model=model, random_seed=1).prior
    eff = api.decompose_idata(dataset, inference_data(posterior=prior))[-1]

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


# ---- the README's main job, exactly as written ------------------------------------------------

# A line on stderr that is not dagmed's own ("data: ...", "dagmed: warning: ...") is noise:
# PyMC's "Sampling: [...]", matplotlib's "findfont: ...", Python warnings, tracebacks.
OWN_LINE = re.compile(r"^(dagmed: warning: |[a-z][a-z -]*: \S)")
NOISE = re.compile(r"Sampling: \[|findfont|Warning|Traceback|BLAS|^(INFO|WARNING|ERROR)\b")


def readme_main_job() -> list[str]:
    """The command between README.md's main-job markers, continuation lines joined, split as a shell would."""
    text = (REPO / "README.md").read_text()
    block = text.split("<!-- main-job -->", 1)[1].split("<!-- /main-job -->", 1)[0]
    return shlex.split(" ".join(line.strip().rstrip("\\") for line in block.strip().splitlines()))


def fresh_copy(dest: Path) -> Path:
    """The repository's files as a clone of it holds them (tracked or new, not ignored), nothing else."""
    r = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO, capture_output=True
    )
    if r.returncode != 0:
        pytest.skip("the repository is not a git work tree: no fresh copy to make")
    for rel in filter(None, r.stdout.decode().split("\0")):
        if (REPO / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, dest / rel)
    return dest


def test_readme_main_job_reads_only_the_repository():
    argv = readme_main_job()
    assert argv[:2] == ["dagmed", "run"], argv
    spec = dagmed.load(REPO / argv[2])
    assert "://" not in spec.data and (REPO / argv[2]).parent.joinpath(spec.data).resolve().is_relative_to(REPO)
    assert not any(".." in a for a in argv)


@slow
def test_readme_main_job_runs_as_written_in_a_fresh_copy(tmp_path):
    argv = readme_main_job()
    clone = fresh_copy(tmp_path / "dagmed")  # nothing beside it: no ../shared
    script = Path(sys.executable).with_name("dagmed")
    assert script.exists(), f"the console script is not installed beside {sys.executable}"
    r = subprocess.run([str(script), *argv[1:]], cwd=clone, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    noise = [line for line in r.stderr.splitlines() if NOISE.search(line) or not OWN_LINE.match(line)]
    assert not noise, r.stderr
    out = argv[argv.index("--out") + 1]
    assert r.stdout.splitlines()[-1] == (
        f"wrote {', '.join(rundir.FILES)}, plots/, report.html to {out}; open {Path(out) / 'report.html'}"
    )
    doc = json.loads((clone / out / "effects.json").read_text())
    truth = json.loads((clone / "examples" / "three_mediators" / "truth.json").read_text())["effects"]
    assert [e["name"] for e in doc["effects"]] == list(truth)
    for e in doc["effects"]:  # the run recovers the truth the example data were drawn at
        assert e["hdi_low"] < truth[e["name"]] < e["hdi_high"], (e, truth[e["name"]])
        assert e["hdi_low"] <= e["median"] <= e["hdi_high"]
    assert "PM[adherence]                 median" in r.stdout
    assert {p.name for p in (clone / out / "plots").glob("*.png")} >= {"dag.png", "model_graph.png", "forest.png"}


# ---- the substance data, through the command line -----------------------------------------


def dagmed_cli(*args, cwd):
    script = Path(sys.executable).with_name("dagmed")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "dagmed"]
    return subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True, timeout=900, cwd=cwd)


@pytest.fixture(scope="module")
def substance_run(tmp_path_factory, substance_csv):
    tmp = tmp_path_factory.mktemp("substance")
    out = tmp / "out"
    r = dagmed_cli(
        "run",
        SPECS / "substance.dag",
        "--data",
        substance_csv,
        "--draws",
        300,
        "--tune",
        300,
        "--chains",
        2,
        "--seed",
        1,
        "--out",
        out,
        "--quiet",
        cwd=tmp,
    )
    assert r.returncode == 0, r.stderr
    return out, r


@slow
def test_substance_end_to_end(substance_run):
    out, r = substance_run
    assert sorted(p.name for p in out.iterdir()) == [
        "effects.csv",
        "effects.json",
        "idata.nc",
        "plots",
        "regimes.csv",
        "report.html",
        "spec.dag",
    ]
    doc = json.loads((out / "effects.json").read_text())
    assert (doc["treatment"], doc["outcome"]) == ("fam_int", "sub_disorder")
    assert doc["mediators"] == ["dev_peer", "sub_exp"] and doc["covariates"] == ["gender", "conflict"]
    assert (doc["n_obs"], doc["n_dropped"]) == (410, 143)
    names = [e["name"] for e in doc["effects"]]
    assert names == [
        "TE",
        "DE",
        "IIE[dev_peer]",
        "IIE[sub_exp]",
        "INT[dev_peer,sub_exp]",
        "DEP",
        "PM[dev_peer]",
        "PM[sub_exp]",
    ]
    assert len(doc["regimes"]) == 8
    assert set(doc["diagnostics"]) == {"rhat_max", "ess_bulk_min", "divergences"}
    assert doc["sampler"]["sampler"] in ("nutpie", "pymc") and doc["sampler"]["seed"] == 1
    eff = {e["name"]: e for e in doc["effects"]}
    # the family intervention lowers disorder through deviant peers (the reference analysis' finding)
    assert eff["IIE[dev_peer]"]["hdi_high"] < 0
    # the table printed equals the file
    assert f"{eff['TE']['mean']:8.3f}" in r.stdout
    idata = compat.read_netcdf(out / "idata.nc")
    assert {"posterior", "observed_data", "constant_data", "mediation", "posterior_predictive"} <= set(
        compat.groups(idata)
    )
    assert compat.group(idata, "observed_data")["sub_disorder"].size == 410
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
    assert {
        "dag.png",
        "model_graph.png",
        "data.png",
        "rates_by_treatment.png",
        "prior_predictive.png",
        "trace.png",
        "posterior_predictive.png",
        "effects.png",
        "forest.png",
    } <= names
    assert all(_nonblank(p) for p in pngs), [p.name for p in pngs if not _nonblank(p)]
    report = (out / "report.html").read_text()
    doc = json.loads((out / "effects.json").read_text())
    for e in doc["effects"]:  # each row shows its centre: the median for a proportion mediated
        c = report_text.centre(e["name"])
        assert f"<td>{e['name']}</td><td>{c}</td><td>{e[c]:.3f}</td>" in report
    assert "docs/effects.md" in report and "../shared" not in report
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
    r = dagmed_cli(
        "run",
        SPECS / "linear.dag",
        "--data",
        csv,
        "--config",
        SPECS / "linear.yaml",
        "--tune",
        500,
        "--draws",
        300,
        "--chains",
        2,
        "--out",
        tmp_path / "out",
        "--quiet",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert _nonblank(tmp_path / "out" / "plots" / "pair.png")
    doc = json.loads((tmp_path / "out" / "effects.json").read_text())
    assert doc["sampler"]["target_accept"] == 0.9 and doc["sampler"]["seed"] == 42  # from the YAML
    assert doc["sampler"]["tune"] == 500  # the flag wins
