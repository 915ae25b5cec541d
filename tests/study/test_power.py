"""``dagmed power`` and ``dagmed calibrate``: fits on a real Dask cluster (2 worker processes, 1 thread
each), the results appended whole and resumed, refusals named, the Python API and the command line.

The cluster is started once for the module; the studies are tiny (a handful of rows, 100 draws).
"""

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

import dagmed
from dagmed import cli
from dagmed.fit import fastglm
from dagmed.model.ir import ModelIR
from dagmed.study import fitter, store
from dagmed.study.power import calibration_summary, format_summary, parse_sizes, power_summary, results_frame
from dagmed.study.simulate import Clusters, Simulator, read_params, simulate

from conftest import REPO, SPECS

CHAIN = "treatment t\noutcome y\nt -> m -> y\nt -> y\nt, m, y ~ bernoulli\n"
CHAIN_PARAMS = {"m_intercept": -0.5, "m_beta": {"t": 1.5}, "y_intercept": -0.5, "y_beta": {"t": 0.8, "m": 1.2}}
FAST = {"draws": 100, "tune": 100, "chains": 2}


@pytest.fixture(scope="module")
def scheduler():
    """A local Dask cluster of 2 single-threaded worker processes, as ``dagmed power`` starts by default."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=50
    )
    yield cluster.scheduler_address
    cluster.close()


@pytest.fixture
def chain_spec(tmp_path):
    path = tmp_path / "chain.dag"
    path.write_text(CHAIN)
    return path


def quiet(msg):
    pass


# ---- the pieces, without a cluster ----------------------------------------------------------


@pytest.mark.parametrize(
    "spec",
    [
        CHAIN,
        "treatment x\noutcome y\nx -> m ~ normal\nx, m -> y ~ normal\ncontrast 1 vs 0\n",
        "treatment t\noutcome y\nz -> t, m, y\nt -> m -> y\nt -> y\nt ~ bernoulli\nm ~ poisson\ny ~ normal\n",
    ],
)
def test_swapped_data_is_the_plan_of_the_attached_model(spec):
    spec = dagmed.parse(spec)
    ir = ModelIR.from_analysis(dagmed.check(spec))
    first, second = (simulate(spec, 60, seed=s).data for s in (1, 2))
    planned = fastglm.plan(ir, dagmed.compile(spec, second))
    swapped = fitter.swap_data(fastglm.plan(ir, dagmed.compile(spec, first)), ir, dagmed.load_data(spec, second))
    for name in ("priors", "prior_params", "nodes", "design", "y", "w", "const", "rows", "names", "slices"):
        a, b = getattr(swapped, name), getattr(planned, name)
        assert np.array_equal(np.asarray(a), np.asarray(b)), name


def test_simulator_draws_what_simulate_draws():
    spec = dagmed.load(SPECS / "three_mediators.dag")
    sim = Simulator(spec, 80, REPO / "examples" / "three_mediators" / "params.yaml")
    for seed in (3, 4, 3):
        again = simulate(spec, 80, params=REPO / "examples" / "three_mediators" / "params.yaml", seed=seed)
        got = sim.draw(seed)
        assert got.data.equals(again.data) and got.truth["effects"] == again.truth["effects"]


def test_rep_seeds_depend_on_seed_n_and_rep_only():
    seeds = {fitter.rep_seeds(1, n, r) for n in (100, 200) for r in range(50)}
    assert len(seeds) == 100
    assert fitter.rep_seeds(1, 100, 3) == fitter.rep_seeds(1, 100, 3) != fitter.rep_seeds(2, 100, 3)


def test_a_study_fit_is_a_run_on_the_simulated_data():
    """Rep r's row equals ``dagmed simulate --seed DATA_SEED`` then ``dagmed run --seed FIT_SEED``."""
    design = fitter.Design("power", CHAIN, "<string>", CHAIN_PARAMS, FAST, "control", 7)
    rows = fitter.fit_one(design, 80, 2)
    assert [r["effect"] for r in rows] == ["TE", "DE", "IIE[m]", "DEP", "PM[m]"] and not rows[0].get("error")
    data_seed, fit_seed = fitter.rep_seeds(7, 80, 2)
    assert (rows[0]["data_seed"], rows[0]["fit_seed"]) == (data_seed, fit_seed)
    sim = simulate(dagmed.parse(CHAIN), 80, params=CHAIN_PARAMS, seed=data_seed)
    result = dagmed.run(dagmed.parse(CHAIN), sim.data, seed=fit_seed, progressbar=False, log=quiet, cores=1, **FAST)
    for row in rows:
        assert row["mean"] == pytest.approx(result.effects.loc[row["effect"], "mean"], rel=1e-9)
        assert row["truth"] == pytest.approx(sim.truth["effects"][row["effect"]])
    # the second fit of the design reuses the cached model: no setup
    again = fitter.fit_one(design, 80, 3)
    assert again[0]["setup_s"] < 0.5 and again[0]["seconds"] > 0


def test_a_failed_fit_is_a_row_with_its_error(monkeypatch):
    design = fitter.Design("power", CHAIN, "<string>", CHAIN_PARAMS, FAST, "control", 7)

    def broken(*args, **kwargs):
        raise RuntimeError("the sampler broke\nsecond line")

    monkeypatch.setattr(fitter.sampling, "sample", broken)
    rows = fitter.fit_one(design, 40, 0)
    assert len(rows) == 1 and rows[0]["error"] == "RuntimeError: the sampler broke" and rows[0]["n"] == 40


def test_compare_ranks_and_coverage():
    rng = np.random.default_rng(1)
    draws = {"TE": rng.normal(0.0, 1.0, 2000), "PM[m]": np.full(2000, np.nan)}
    rows = fitter.compare(draws, {"TE": 10.0, "PM[m]": None}, mode="calibrate", rng=rng)
    te, pm = rows
    assert te["rank"] == 2000 and te["covered_50"] is False and te["covered_95"] is False
    assert te["excludes_zero"] is False
    assert pm["rank"] is None and pm["covered"] is None


def test_store_appends_whole_fits_and_resumes(tmp_path):
    columns = ["n", "rep", "effect", "mean"]
    manifest = {"command": "power", "spec": CHAIN, "params": None, "sampling": {}, "convention": "control", "seed": 1}
    s = store.Store(tmp_path / "st", manifest, columns)
    s.append([{"n": 10, "rep": 0, "effect": "INT[a,b]", "mean": 0.5}, {"n": 10, "rep": 0, "effect": "TE", "mean": 1}])
    with open(tmp_path / "st" / "results.csv", "a") as f:
        f.write("10,1,TE,0.")  # a fit cut short mid-line
    again = store.Store(tmp_path / "st", manifest, columns)
    assert again.done == {(10, 0)} and [r["effect"] for r in again.rows] == ["INT[a,b]", "TE"]
    assert (tmp_path / "st" / "results.csv").read_text().endswith("TE,1\n")


@pytest.mark.parametrize(
    "change, words",
    [
        ({"spec": CHAIN + "t -> m\n"}, "another spec (its text differs) (line 6: '' there, 't -> m' here)"),
        ({"params": {"y_intercept": 1.0}}, "other parameters (y_intercept none there, 1.0 here)"),
        ({"sampling": {"draws": 500}}, "other sampling options (draws none there, 500 here)"),
        ({"seed": 2}, "another seed (1 there, 2 here)"),
        ({"command": "calibrate"}, "another command (power there, calibrate here)"),
    ],
)
def test_store_refuses_another_design(tmp_path, change, words):
    manifest = {"command": "power", "spec": CHAIN, "params": {}, "sampling": {}, "convention": "control", "seed": 1}
    store.Store(tmp_path, manifest, ["n", "rep"]).append([{"n": 10, "rep": 0}])
    with pytest.raises(dagmed.UsageError, match="made with " + words.replace("(", r"\(").replace(")", r"\)")):
        store.Store(tmp_path, {**manifest, **change}, ["n", "rep"])


def test_a_study_without_finished_fits_starts_anew(tmp_path):
    manifest = {"command": "power", "seed": 1}
    store.Store(tmp_path, manifest, ["n", "rep"])
    store.Store(tmp_path, {**manifest, "seed": 2}, ["n", "rep"])  # nothing to keep: not refused
    assert '"seed": 2' in (tmp_path / "study.json").read_text()


def test_store_refuses_a_directory_of_other_files(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(dagmed.UsageError, match="holds files that are not a dagmed study's \\(notes.txt\\)"):
        store.Store(tmp_path, {"command": "power"}, ["n", "rep"])
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_summaries():
    rows = []
    for rep in range(4):
        for effect, truth in (("TE", 0.2), ("DE", 0.1)):
            rows.append(
                {
                    "n": 50,
                    "rep": rep,
                    "effect": effect,
                    "mean": truth + 0.1 * (rep - 1.5),
                    "truth": truth,
                    "covered": rep != 0,
                    "excludes_zero": rep >= 2,
                    "rank": 100 * rep,
                    "draws": 400,
                    "covered_50": rep in (1, 2),
                    "covered_80": rep != 3,
                    "covered_95": True,
                }
            )
    rows.append({"n": 50, "rep": 4, "error": "SamplingError: it broke"})
    results = results_frame(rows, fitter.RESULT_COLUMNS + fitter.CALIBRATION_COLUMNS)
    p = power_summary(results).set_index("effect")
    assert p.loc["TE", "reps"] == 4 and p.loc["TE", "failed"] == 1
    assert p.loc["TE", "power"] == 0.5 and p.loc["TE", "power_mcse"] == pytest.approx(0.25)
    assert p.loc["TE", "coverage"] == 0.75 and abs(p.loc["TE", "bias"]) < 1e-12
    assert p.loc["TE", "rmse"] == pytest.approx(np.sqrt(np.mean((0.1 * (np.arange(4) - 1.5)) ** 2)))
    c = calibration_summary(results).set_index("effect")
    assert list(c.loc["TE", ["coverage_50", "coverage_80", "coverage_95"]]) == [0.5, 0.75, 1.0]
    assert "failed (their errors are in results.csv)" in format_summary(power_summary(results))


def test_sizes_are_checked():
    assert parse_sizes("150, 600,150") == [150, 600]
    for bad in ("", "0,100", "1.5"):
        with pytest.raises(dagmed.UsageError, match="--n must be positive integers"):
            parse_sizes(bad)


# ---- on the cluster ---------------------------------------------------------------------------


def test_power_spreads_over_the_workers_and_resumes(tmp_path, scheduler, chain_spec):
    out = tmp_path / "study"
    kw = dict(out=out, seed=3, scheduler=scheduler, progressbar=False, log=quiet, **FAST)
    results, summary = dagmed.power(chain_spec, CHAIN_PARAMS, n=[30, 120], reps=3, **kw)[:2]
    assert len(results) == 2 * 3 * 5 and results["error"].isna().all()
    assert results["worker"].nunique() == 2, "both workers fitted"
    assert set(summary["n"]) == {30, 120} and {"power", "power_mcse", "coverage", "bias", "rmse"} <= set(summary)
    assert (out / "power.png").stat().st_size > 0 and (out / "summary.csv").exists()
    before = (out / "results.csv").read_bytes()
    logged = []
    results2, _ = dagmed.power(chain_spec, CHAIN_PARAMS, n=[30, 120], reps=4, **{**kw, "log": logged.append})[:2]
    after = (out / "results.csv").read_bytes()
    assert after.startswith(before), "the first rows are unchanged"
    assert "6 of 8 fits done already" in logged[0]
    new = pd.read_csv(out / "results.csv")
    assert len(new) == 8 * 5 and not new.duplicated(["n", "rep", "effect"]).any()
    # the kept rows are those of the first run
    old = results.set_index(["n", "rep", "effect"])["mean"]
    assert np.allclose(results2.set_index(["n", "rep", "effect"]).loc[old.index, "mean"], old)
    # nothing to do: no cluster is even contacted
    logged.clear()
    dagmed.power(
        chain_spec, CHAIN_PARAMS, n=[30], reps=2, **{**kw, "scheduler": "tcp://127.0.0.1:1", "log": logged.append}
    )
    assert logged == ["power: 2 of 2 fits done already into " + str(out) + "; 0 to do"]


def test_results_do_not_depend_on_the_workers(tmp_path, scheduler, chain_spec):
    """The same seed gives the same rows whichever worker fitted them (here: a fit in this process)."""
    results = dagmed.power(
        chain_spec, CHAIN_PARAMS, n=[40], reps=2, seed=5, scheduler=scheduler, progressbar=False, log=quiet, **FAST
    ).results
    design = fitter.Design("power", CHAIN, str(chain_spec), CHAIN_PARAMS, FAST, "control", 5)
    local = pd.DataFrame(fitter.fit_one(design, 40, 1))
    assert np.allclose(results[results["rep"] == 1]["mean"].to_numpy(), local["mean"].to_numpy())


def test_cli_power_and_calibrate(tmp_path, scheduler, chain_spec, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    params = tmp_path / "params.yaml"
    params.write_text("y_beta: {t: 0.8, m: 1.2}\n")
    common = ["--reps", "2", "--draws", "100", "--tune", "100", "--chains", "2", "--seed", "1"]
    common += ["--scheduler", scheduler]
    code = cli.main(["power", str(chain_spec), "--params", str(params), "--n", "30,60", "--out", "p", *common])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "power: P(95% HDI excludes the null)" in out
    assert "wrote study.json, results.csv, summary.csv, power.png to p" in out
    assert "TE " in out and "n = 60" in out
    code = cli.main(["calibrate", str(chain_spec), "--n", "40", "--out", "c", "--no-plots", *common])
    out, err = capsys.readouterr()
    assert code == 0, err
    summary = pd.read_csv(tmp_path / "c" / "summary.csv")
    assert {"coverage_50", "coverage_80", "coverage_95", "rank_mean", "rank_p"} <= set(summary.columns)
    assert list(summary["effect"]) == ["TE", "DE", "IIE[m]", "DEP", "PM[m]"]
    results = pd.read_csv(tmp_path / "c" / "results.csv")
    assert results["rank"].between(0, results["draws"]).all()
    # another parameter file into the same --out: refused, named
    params.write_text("y_beta: {t: 0.1, m: 1.2}\n")
    code = cli.main(["power", str(chain_spec), "--params", str(params), "--n", "30,60", "--out", "p", *common])
    err = capsys.readouterr().err
    assert code == 2 and "p was made with other parameters (y_beta" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "args, message",
    [
        (["--n", "0", "--reps", "2"], "--n must be positive integers, got '0'"),
        (["--n", "10", "--reps", "0"], "--reps must be a positive integer, got 0"),
        (["--n", "10", "--reps", "2", "--workers", "0"], "--workers must be an integer >= 1, got 0"),
        (["--n", "10", "--reps", "2", "--workers", "2", "--scheduler", "x"], "--workers and --scheduler exclude"),
        (["--n", "10", "--reps", "2", "--params", "nope.yaml"], "cannot read params file nope.yaml"),
        (["--n", "10", "--reps", "2", "--draws", "0"], "draws must be a positive integer, got 0"),
    ],
)
def test_cli_refusals_are_one_line(tmp_path, chain_spec, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    code = cli.main(["power", str(chain_spec), "--out", "st", "--seed", "1", *args])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err, err
    assert not (tmp_path / "st" / "results.csv").exists()


def test_import_dagmed_stays_light():
    code = "import sys, dagmed; print(sorted(m for m in ('dask', 'distributed', 'pymc') if m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "[]"


def _fits_on_disk(results) -> bool:
    """Some fit's rows are in ``results.csv`` (a header and at least one row: each fit's rows are one write)."""
    return results.exists() and results.read_text().count("\n") >= 2


@pytest.mark.slow
def test_ctrl_c_keeps_finished_fits_and_the_rerun_completes(tmp_path, chain_spec):
    """SIGINT to a ``--workers 2`` run (its process group, as a terminal's Ctrl-C): results.csv parses, the rerun fills it."""
    # The signal goes as soon as the first fit's rows are on disk (the file polled every 20 ms,
    # no fixed sleep): the 79 fits left take about 2 s on two workers (each 47 ms at least, measured
    # on an idle machine), a hundred times the poll, however fast the machine or idle the cores.
    reps = 40
    cmd = [sys.executable, "-m", "dagmed", "power", str(chain_spec), "--n", "30,60", "--reps", str(reps), "--out", "st"]
    cmd += ["--seed", "1", "--workers", "2", "--draws", "100", "--tune", "100", "--chains", "2", "--quiet"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stderr=subprocess.PIPE, text=True, start_new_session=True)
    results = tmp_path / "st" / "results.csv"
    deadline = time.time() + 180
    while time.time() < deadline and proc.poll() is None and not _fits_on_disk(results):
        time.sleep(0.02)
    assert proc.poll() is None, "the study ended before its first fit's rows were seen"
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 5, err
    assert re.search(r"finished fits? kept", err) and "Traceback" not in err  # "1 finished fit kept" at the first
    with open(results, newline="") as f:
        rows = list(csv.DictReader(f))
    kept = {(r["n"], r["rep"]) for r in rows}
    assert 0 < len(kept) < 2 * reps and len(rows) == 5 * len(kept)
    rerun = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    final = pd.read_csv(results)
    assert len(final) == 2 * reps * 5 and not final.duplicated(["n", "rep", "effect"]).any()


CLUSTERED = (REPO / "specs" / "clustered.dag").read_text()
CLUSTERED_PARAMS = REPO / "examples" / "clustered" / "params.yaml"


def test_a_clustered_study_fit_is_a_run_on_the_clustered_data():
    """With ``cluster_size``, rep r's row equals ``dagmed simulate --clusters G --cluster-size m`` then ``dagmed run``."""
    params = read_params(CLUSTERED_PARAMS)
    design = fitter.Design("power", CLUSTERED, "<string>", params, FAST, "control", 3, 10, ("program",))
    spec = dagmed.parse(CLUSTERED)
    for rep in (0, 1):  # the second fit: the cached model, its density planned anew (clusters are not swapped)
        rows = fitter.fit_one(design, 60, rep)
        assert not rows[0].get("error"), rows[0].get("error")
        data_seed, fit_seed = fitter.rep_seeds(3, 60, rep)
        sim = simulate(spec, None, params=params, seed=data_seed, clusters=Clusters(6, 10, ("program",)))
        assert sim.data["school"].nunique() == 6 and (sim.data.groupby("school")["program"].nunique() == 1).all()
        result = dagmed.run(spec, sim.data, seed=fit_seed, progressbar=False, log=quiet, cores=1, **FAST)
        for row in rows:
            assert row["mean"] == pytest.approx(result.effects.loc[row["effect"], "mean"], rel=1e-9)
            assert row["truth"] == pytest.approx(sim.truth["effects"][row["effect"]])


@pytest.mark.parametrize(
    "spec, n, size, by, message",
    [
        (CLUSTERED, [60], None, (), r"the spec has cluster statements \(school\): say how many rows each cluster has"),
        (CHAIN, [60], 10, (), "--cluster-size given, but the spec has no cluster statement"),
        (
            CLUSTERED,
            [60, 65],
            10,
            (),
            r"--n 65 is not a whole number of clusters of 10 rows \(--cluster-size\); try 60 or 70",
        ),
        (CLUSTERED, [10], 10, (), "--n 10 is not a whole number of clusters of 10 rows .*; try 20"),
        (CLUSTERED, [60], 0, (), "--cluster-size must be a positive integer, got 0"),
        (CLUSTERED, [60], None, ("program",), "--by-cluster needs --cluster-size"),
        (CLUSTERED, [60], 10, ("attendance",), "by-cluster attendance: attendance has a family"),
    ],
)
def test_clustered_studies_are_refused_before_anything_starts(tmp_path, spec, n, size, by, message):
    with pytest.raises(dagmed.errors.UsageError, match=message):
        dagmed.power(dagmed.parse(spec), {}, n=n, reps=1, out=tmp_path / "st", cluster_size=size, by_cluster=by,
                     seed=1, progressbar=False, log=quiet, **FAST)  # fmt: skip
    assert not (tmp_path / "st").exists()


def test_cli_power_of_a_cluster_randomised_trial(tmp_path, scheduler, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = ["power", str(SPECS / "clustered.dag"), "--params", str(CLUSTERED_PARAMS), "--n", "40,80"]
    argv += ["--cluster-size", "10", "--by-cluster", "program", "--reps", "1", "--out", "st", "--seed", "2"]
    argv += ["--scheduler", scheduler, "--draws", "100", "--tune", "100", "--chains", "2", "--no-plots"]
    assert cli.main(argv) == 0, capsys.readouterr().err
    results = pd.read_csv(tmp_path / "st" / "results.csv")
    assert sorted(results["n"].unique()) == [40, 80] and results["error"].isna().all()
    manifest = json.loads((tmp_path / "st" / "study.json").read_text())
    assert manifest["cluster_size"] == 10 and manifest["by_cluster"] == ["program"]
    capsys.readouterr()
    assert cli.main(argv) == 0  # resumed: nothing left to fit
    assert "2 of 2 fits done already" in capsys.readouterr().err
