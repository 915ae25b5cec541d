"""The command line: `dagmed check` output, exit codes, one-line located errors, run options.

Everything runs in process (``cli.main`` with pytest's ``capsys``), from a temporary
directory rather than the repository; one test runs the installed console script end to end.
"""

import dataclasses
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

import dagmed
from dagmed import cli
from dagmed.cli import config
from dagmed.model.ir import ModelIR
from dagmed.report import rundir
from dagmed.report import text as report_text

from conftest import SPECS

TINY = "treatment t\noutcome y\nt -> y ~ bernoulli\n"
CHAIN = "treatment t\noutcome y\nt -> m -> y\nt -> y\nm, y ~ bernoulli\n"


class Ran(NamedTuple):
    code: int
    out: str
    err: str


@pytest.fixture
def dagmed_cli(tmp_path, monkeypatch, capsys):
    """``dagmed ARGS`` in process, run in ``tmp_path`` (not the repository)."""
    monkeypatch.chdir(tmp_path)

    def call(*args) -> Ran:
        code = cli.main([str(a) for a in args])
        return Ran(code, *capsys.readouterr())

    return call


@pytest.fixture
def tiny(tmp_path):
    spec = tmp_path / "s.dag"
    spec.write_text(TINY)
    (tmp_path / "d.csv").write_text("t,y\n0,1\n1,0\n1,1\n0,0\n")
    return spec, tmp_path / "d.csv"


def appended(tmp_path, extra: str) -> tuple[Path, int]:
    """The substance spec with one line appended, and that line's number."""
    text = (SPECS / "substance.dag").read_text()
    spec = tmp_path / "s.dag"
    spec.write_text(text + extra + "\n")
    return spec, text.count("\n") + 1


# ---- dagmed check ----------------------------------------------------------------------------


def test_check_substance(dagmed_cli):
    r = dagmed_cli("check", SPECS / "substance.dag")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    for line in [
        "treatment:    fam_int",
        "mediators:    dev_peer, sub_exp",
        "outcome:      sub_disorder",
        "covariates:   gender, conflict",
        "  sub_disorder ~ bernoulli(logit: fam_int, dev_peer, sub_exp, gender, conflict)",
        "independence: mediators conditionally independent given fam_int, gender, conflict (d-separation)",
        "regimes:      8 = 2^(2+1)",
        "ok:           the mediation analysis is well posed",
    ]:
        assert line in lines
    assert not any(line.startswith("meaning:") for line in lines)
    assert r.err == ""


@pytest.mark.parametrize(
    "extra, code, message",
    [
        ("dev_peer <-> sub_exp", 3, "latent common cause"),
        ("sub_disorder -> fam_int", 3, "cycle: fam_int -> dev_peer -> sub_disorder -> fam_int"),
        ("gender -> -> fam_int", 2, "unexpected '->'; expected a name"),
        ("sub_exp ~ bernouli", 3, "unknown family 'bernouli'"),
    ],
)
def test_appended_mistakes_give_located_errors(dagmed_cli, tmp_path, extra, code, message):
    spec, line = appended(tmp_path, extra)
    r = dagmed_cli("check", spec)
    assert r.code == code
    first = r.err.splitlines()[0]
    assert first.startswith(f"dagmed: error: {spec}:{line}:")
    assert message in first
    assert "Traceback" not in r.err


def test_a_directed_edge_between_mediators_is_accepted_and_shown(dagmed_cli, tmp_path):
    spec, _ = appended(tmp_path, "dev_peer -> sub_exp")
    r = dagmed_cli("check", spec)
    assert r.code == 0, r.err
    assert r.err == ""
    lines = r.out.splitlines()
    assert "  sub_exp ~ bernoulli(logit: fam_int, dev_peer, gender, conflict)" in lines
    assert (
        "independence: dependent mediators: dev_peer -> sub_exp "
        "(exact: marginal and joint regimes by enumeration down the mediator sub-DAG)"
    ) in lines
    meaning = [line for line in lines if line.startswith("meaning:")]
    assert meaning == [
        "meaning:      IIE[dev_peer] shifts dev_peer's marginal distribution only; "
        "what dev_peer passes on through sub_exp is in IIE[sub_exp], and what their dependence adds is in DEP"
    ]


def test_describe_names_each_mediator_with_mediator_descendants_in_spec_order():
    spec = dagmed.parse(
        "treatment t\noutcome y\nt -> a, b, c -> y\na -> c\nb -> c\nc -> d -> y\na, b, c, d, y ~ bernoulli\n"
    )
    text = report_text.describe(ModelIR.from_analysis(dagmed.analyse(spec)))
    assert "independence: dependent mediators: a -> c, b -> c, c -> d (exact:" in text
    meaning = [line.split(None, 1)[1] for line in text.splitlines() if line.startswith("meaning:")]
    assert [m.split(" shifts")[0] for m in meaning] == ["IIE[a]", "IIE[b]", "IIE[c]"]
    assert "what a passes on through c, d is in IIE[c], IIE[d], and what their dependence adds is in DEP" in meaning[0]


def test_describe_shows_a_dependence_the_mediator_sub_dag_does_not_explain():
    # two mediators without an edge between them, dependent through something else: the culprit path is shown
    a = dagmed.analyse(dagmed.parse("treatment t\noutcome y\nt -> m1, m2 -> y\nm1, m2, y ~ bernoulli\n"))
    a = dataclasses.replace(a, dependent=(("m1", "m2", "m1 <- u -> m2"),))
    lines = report_text.describe(ModelIR.from_analysis(a)).splitlines()
    assert "independence: DEPENDENT: m1, m2 via m1 <- u -> m2" in lines
    assert not any(line.startswith(("meaning:", "independence: dependent")) for line in lines)


def test_syntax_error_has_a_caret(dagmed_cli, tmp_path):
    spec = tmp_path / "s.dag"
    spec.write_text("treatment t\noutcome y\nt -> y ~ bernoulli)\n")
    r = dagmed_cli("check", spec)
    lines = r.err.splitlines()
    assert r.code == 2
    assert lines[0].startswith(f"dagmed: error: {spec}:3:19: unexpected ')'")
    assert lines[1].strip() == "t -> y ~ bernoulli)"
    assert lines[2].index("^") == lines[1].index(")")


def test_usage_errors_exit_2_without_traceback(dagmed_cli, tmp_path):
    r = dagmed_cli("frobnicate")
    assert r.code == 2 and "invalid choice: 'frobnicate'" in r.err and "Traceback" not in r.err
    r = dagmed_cli("check", tmp_path / "missing.dag")
    assert r.code == 2 and "spec file not found" in r.err
    r = dagmed_cli()
    assert r.code == 2 and "COMMAND" in r.err


def test_check_does_not_import_pymc(tmp_path):
    # the module cache of this process already holds PyMC: ask a fresh interpreter
    code = "import sys; from dagmed import cli; cli.main(['check', sys.argv[1]]); print('pymc' in sys.modules)"
    r = subprocess.run(
        [sys.executable, "-c", code, str(SPECS / "substance.dag")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.stdout.splitlines()[-1] == "False", r.stderr


def test_fmt_prints_canonical_text_that_checks_the_same(dagmed_cli, tmp_path):
    r = dagmed_cli("fmt", SPECS / "three_mediators.dag")
    assert r.code == 0, r.err
    assert r.out.splitlines()[:2] == ["exposure treat", "response relapse"]
    (tmp_path / "f.dag").write_text(r.out)
    assert dagmed.load(tmp_path / "f.dag") == dagmed.load(SPECS / "three_mediators.dag")


# ---- dagmed run: refused before sampling -------------------------------------------------------


def test_unwritable_output_directory_is_refused_before_sampling(dagmed_cli, tiny, tmp_path):
    spec, csv = tiny
    r = dagmed_cli("run", spec, "--data", csv, "--out", tmp_path / "no" / "such" / "dir")
    assert r.code == 2
    assert r.err.startswith("dagmed: error: --out ") and "does not exist" in r.err
    assert "sampling" not in r.err


def test_too_many_mediators_are_refused_up_front(dagmed_cli, tmp_path):
    meds = [f"m{j}" for j in range(25)]
    spec = tmp_path / "big.dag"
    spec.write_text(f"treatment t\noutcome y\nt -> {', '.join(meds)} -> y ~ bernoulli\n{', '.join(meds)} ~ bernoulli\n")
    r = dagmed_cli("run", spec, "--data", tmp_path / "never-read.csv")
    assert r.code == 3
    assert "25 mediators give 2^26 = 67108864 regimes" in r.err and "GiB" in r.err


def test_data_errors_exit_4(dagmed_cli, tmp_path):
    spec = tmp_path / "s.dag"
    spec.write_text(TINY)
    (tmp_path / "d.csv").write_text("t,y\n0,1\n1,7\n")
    r = dagmed_cli("run", spec, "--data", tmp_path / "d.csv", "--out", tmp_path / "out")
    assert r.code == 4
    assert r.err.strip().splitlines() == [
        f"dagmed: error: {tmp_path / 'd.csv'}: column y, row 2: value 7 is not 0 or 1 (bernoulli)"
    ]
    assert not (tmp_path / "out").exists()


def test_ctrl_c_during_sampling_leaves_nothing(dagmed_cli, tiny, tmp_path, monkeypatch):
    from dagmed.fit import sampling

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sampling, "sample", interrupted)
    before = sorted(tmp_path.iterdir())
    spec, csv = tiny
    r = dagmed_cli("run", spec, "--data", csv, "--out", "out")
    assert r.code == 5
    assert r.err.splitlines()[-1] == "dagmed: error: interrupted; nothing was written"
    assert "Traceback" not in r.err
    assert sorted(tmp_path.iterdir()) == before  # no out/, no temporary directory either


@pytest.mark.parametrize(
    "flag, value, message",
    [
        ("--draws", "0", "draws must be a positive integer, got 0"),
        ("--chains", "0", "chains must be a positive integer, got 0"),
        ("--tune", "-1", "tune must be a non-negative integer, got -1"),
        ("--cores", "0", "cores must be an integer >= 1, got 0"),
        ("--seed", "-3", "seed must be an integer >= 0, got -3"),
        ("--hdi", "0", "hdi_prob must be between 0 and 1, got 0.0"),
        ("--target-accept", "0", "target_accept must be between 0 and 1, got 0.0"),
    ],
)
def test_an_explicit_zero_or_negative_option_is_refused_not_replaced(dagmed_cli, tiny, flag, value, message):
    spec, csv = tiny
    r = dagmed_cli("run", spec, "--data", csv, flag, value)
    assert r.code == 2
    assert r.err.strip() == f"dagmed: error: {message}"


def test_out_directory_with_a_users_file_is_refused_and_kept(dagmed_cli, tiny):
    spec, csv = tiny
    out = spec.parent / "out"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    (out / "effects.json").write_text("{}")
    r = dagmed_cli("run", spec, "--data", csv, "--out", out)
    assert r.code == 2
    assert "holds files dagmed did not write (notes.txt)" in r.err
    assert (out / "notes.txt").read_text() == "my notes" and (out / "effects.json").read_text() == "{}"


def test_a_previous_run_directory_may_be_replaced_but_not_a_users_picture_folder(tmp_path):
    run = tmp_path / "run"
    (run / "plots").mkdir(parents=True)
    for name in rundir.FILES + ("report.html",):
        (run / name).write_text("x")
    (run / "plots" / "dag.png").write_bytes(b"png")
    assert rundir.foreign_files(run) == []
    (run / "plots" / "holiday.jpg").write_bytes(b"jpg")
    assert rundir.foreign_files(run) == ["plots/holiday.jpg"]
    with pytest.raises(dagmed.UsageError, match="plots/holiday.jpg"):
        rundir.check_writable(run)


# ---- run options: the config file, then the flags (no sampling) --------------------------------


def test_flags_win_over_the_config_and_absent_flags_do_not(tmp_path):
    conf = tmp_path / "c.yaml"
    conf.write_text("draws: 50\ntune: 60\nseed: 3\nquiet: true\nno_plots: true\n")
    args = cli.make_parser().parse_args(["run", "s.dag", "--config", str(conf), "--draws", "0", "--seed", "0"])
    opts = config.options(args)
    # 0 is a value, not "absent": it overrides the config (and is then refused by the settings)
    assert opts["draws"] == 0 and opts["seed"] == 0
    assert opts["tune"] == 60 and opts["quiet"] is True and opts["no_plots"] is True
    args = cli.make_parser().parse_args(["run", "s.dag", "--config", str(conf), "--quiet"])
    assert config.options(args) == {"draws": 50, "tune": 60, "seed": 3, "quiet": True, "no_plots": True}


def test_config_data_path_is_relative_to_the_config_file(tmp_path):
    sub = tmp_path / "conf"
    sub.mkdir()
    (sub / "c.yaml").write_text("data: d.csv\n")
    assert config.read_config(sub / "c.yaml")["data"] == str(sub / "d.csv")


class Stop(dagmed.SamplingError):
    """Raised by the stand-in for ``api.run``: the options reached it, nothing is sampled."""


def test_run_receives_the_configs_options_with_flags_winning(dagmed_cli, tiny, tmp_path, monkeypatch):
    from dagmed import api

    seen = {}

    def fake_run(spec, data, **opts):
        seen.update(opts, data=data, spec=spec)
        raise Stop("stopped before sampling")

    monkeypatch.setattr(api, "run", fake_run)
    spec, _ = tiny
    (tmp_path / "conf").mkdir()
    # in a directory the command does not run in: its data path is relative to it, not to the cwd
    (tmp_path / "conf" / "c.yaml").write_text("data: d.csv\ndraws: 50\ntune: 60\nseed: 3\nconvention: treated\n")
    r = dagmed_cli("run", spec.name, "--config", "conf/c.yaml", "--draws", "7", "--quiet")
    assert (r.code, r.err.strip()) == (5, "dagmed: error: stopped before sampling")
    assert seen["data"] == str(Path("conf") / "d.csv")
    assert (seen["draws"], seen["tune"], seen["seed"], seen["convention"]) == (7, 60, 3, "treated")
    assert seen["progressbar"] is False and seen["spec"] == dagmed.parse(TINY)


def test_config_is_read_safely_and_checked(dagmed_cli, tiny, tmp_path):
    spec, csv = tiny
    conf = tmp_path / "c.yaml"
    # unsafe loading would run the command (in the cwd, tmp_path) and read draws: 0
    conf.write_text("draws: !!python/object/apply:os.system ['touch pwned']\n")
    r = dagmed_cli("run", spec, "--data", csv, "--config", conf)
    assert r.code == 2 and r.err.startswith(f"dagmed: error: {conf}:1:8: config is not valid YAML")
    assert not (tmp_path / "pwned").exists()
    conf.write_text("draws: 10\nchains: two\n")
    r = dagmed_cli("run", spec, "--data", csv, "--config", conf)
    assert (r.code, r.err.strip()) == (2, f"dagmed: error: config {conf}: chains must be int, got 'two'")


# ---- the installed console script, end to end ---------------------------------------------------


@pytest.mark.slow
def test_console_script_runs_end_to_end(tmp_path):
    rng = np.random.default_rng(0)
    t = rng.integers(0, 2, 40)
    m = rng.binomial(1, 0.3 + 0.4 * t)
    y = rng.binomial(1, 0.2 + 0.3 * m + 0.2 * t)
    (tmp_path / "d.csv").write_text("t,m,y\n" + "".join(f"{a},{b},{c}\n" for a, b, c in zip(t, m, y)))
    (tmp_path / "s.dag").write_text(CHAIN)
    script = Path(sys.executable).with_name("dagmed")
    assert script.exists(), f"the console script is not installed beside {sys.executable}"
    r = subprocess.run(
        [
            str(script),
            "run",
            "s.dag",
            "--data",
            "d.csv",
            "--draws",
            "50",
            "--tune",
            "50",
            "--chains",
            "1",
            "--seed",
            "1",
            "--out",
            "out",
            "--no-plots",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr and "error" not in r.stderr.lower(), r.stderr
    data, sampling, decomposing = [
        line for line in r.stderr.splitlines() if line.startswith(("data: ", "sampling: ", "decomposing: "))
    ]
    assert data == "data: d.csv: 40 rows, none missing"
    assert sampling.startswith("sampling: ") and sampling.endswith(", 1 chains x 50 draws (50 tuning), seed 1")
    assert decomposing == "decomposing: 4 regimes over 50 draws"
    assert (
        r.stdout.splitlines()[0] == "t -> y through m; 40 observations; risk difference, t 1 vs 0; convention: control"
    )
    assert r.stdout.splitlines()[-2].startswith("Treatment t (1 vs 0) changed the probability of y by ")
    assert r.stdout.splitlines()[-1] == f"wrote {', '.join(rundir.FILES)} to out"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(rundir.FILES)


# ---- the data's verdict on the graph (MATH.md 3d) ---------------------------------------------

CONTRADICTION = (
    "the data contradict sub_exp ⟂ dev_peer | fam_int, gender, conflict: log-odds 2.38 [1.9, 2.9], "
    "p < 1e-20; consider dev_peer -> sub_exp"
)


def test_check_with_data_names_the_contradicted_independence(dagmed_cli, substance_csv):
    r = dagmed_cli("check", SPECS / "substance.dag", "--data", substance_csv)
    assert r.code == 0, r.err
    assert r.err.strip() == f"dagmed: warning: {CONTRADICTION}"
    assert "implications: the data agree with 0 of 1 independencies the graph implies" in r.out
    assert "the data contradict 1 of its implications" in r.out


def test_strict_makes_the_contradiction_an_error(dagmed_cli, substance_csv):
    r = dagmed_cli("check", SPECS / "substance.dag", "--data", substance_csv, "--strict")
    assert r.code == 3
    first = r.err.splitlines()[0]
    assert first.startswith(f"dagmed: error: {SPECS / 'substance.dag'}:") and CONTRADICTION in first


def test_with_the_suggested_edge_the_contradiction_is_gone(dagmed_cli, tmp_path, substance_csv):
    spec, _ = appended(tmp_path, "dev_peer -> sub_exp")
    r = dagmed_cli("check", spec, "--data", substance_csv, "--strict")
    assert r.code == 0, r.err
    assert "contradict" not in r.err + r.out


def test_strict_without_data_checks_the_spec_alone(dagmed_cli):
    r = dagmed_cli("check", SPECS / "substance.dag", "--strict")
    assert r.code == 0, r.err
    assert r.out.splitlines()[-1] == "ok:           the mediation analysis is well posed"


def test_run_strict_refuses_before_sampling_and_writes_nothing(dagmed_cli, tmp_path, substance_csv):
    r = dagmed_cli("run", SPECS / "substance.dag", "--data", substance_csv, "--strict", "--out", tmp_path / "out")
    assert r.code == 3 and CONTRADICTION in r.err
    assert "sampling:" not in r.err
    assert not (tmp_path / "out").exists()


def test_out_may_not_be_the_directory_you_are_in(dagmed_cli, tiny):
    # a run directory is replaced by a rename: the current directory cannot be, so refuse up front
    spec, csv = tiny
    r = dagmed_cli("run", spec, "--data", csv, "--out", ".")
    assert r.code == 2 and "that is the directory you are in" in r.err
    assert "sampling:" not in r.err


def test_simulate_refuses_one_file_for_both_outputs(dagmed_cli, tiny):
    spec, _ = tiny
    r = dagmed_cli("simulate", spec, "--n", "10", "--out", "d2.csv", "--truth", "./d2.csv")
    assert r.code == 2 and "given twice as an output" in r.err
    assert not (spec.parent / "d2.csv").exists()


def test_run_on_the_odds_ratio_scale_reports_ratios(dagmed_cli, tmp_path):
    import json

    spec = tmp_path / "s.dag"
    spec.write_text(CHAIN)
    rng = np.random.default_rng(3)
    t = rng.binomial(1, 0.5, 300)
    m = rng.binomial(1, 0.3 + 0.4 * t)
    y = rng.binomial(1, 0.2 + 0.2 * t + 0.3 * m)
    (tmp_path / "d.csv").write_text("t,m,y\n" + "".join(f"{a},{b},{c}\n" for a, b, c in zip(t, m, y)))
    r = dagmed_cli("run", spec, "--data", "d.csv", "--scale", "or", "--draws", "200", "--tune", "200",
                   "--chains", "1", "--seed", "1", "--out", "out", "--no-plots", "--quiet")  # fmt: skip
    assert r.code == 0, r.err
    assert "; odds ratio, t 1 vs 0 (scale or: ratios of the outcome's odds" in r.out.splitlines()[0]
    assert "P(<1)" in r.out
    doc = json.loads((tmp_path / "out" / "effects.json").read_text())
    assert doc["scale"] == "or"
    te = next(e for e in doc["effects"] if e["name"] == "TE")
    assert te["mean"] > 1 and "p_lt_1" in te and "p_lt_0" not in te  # the data's true odds ratio is above 1


def test_a_scale_that_does_not_suit_the_outcome_is_refused_before_sampling(dagmed_cli, tmp_path):
    spec = tmp_path / "s.dag"
    spec.write_text("treatment t\noutcome y\nt -> y ~ normal\n")
    (tmp_path / "d.csv").write_text("t,y\n0,1.5\n1,0.2\n1,1.1\n0,0.3\n")
    r = dagmed_cli("run", spec, "--data", "d.csv", "--scale", "rr", "--out", "out")
    assert r.code == 2 and "scale rr needs an outcome whose mean is positive" in r.err and "sampling" not in r.err
    assert not (tmp_path / "out").exists()


# ---- what a newcomer trips on ------------------------------------------------------------------

TYPO = CHAIN + "mm -> y\n"  # mm: a covariate written nowhere else, one letter from the mediator m


def test_check_warns_of_a_name_that_looks_like_a_typo(dagmed_cli, tmp_path):
    (tmp_path / "s.dag").write_text(TYPO)
    r = dagmed_cli("check", "s.dag")
    assert r.code == 0, r.err
    assert r.err.splitlines() == ["dagmed: warning: s.dag:6:1: `mm` appears only once, in an edge: did you mean `m`? "
                                  "(a node of its own otherwise)"]  # fmt: skip
    assert "1 name(s) look like typos" in r.out.splitlines()[-1]


def test_check_strict_makes_a_typo_an_error(dagmed_cli, tmp_path):
    (tmp_path / "s.dag").write_text(TYPO)
    r = dagmed_cli("check", "s.dag", "--strict")
    assert r.code == 3
    assert r.err.splitlines()[0].startswith("dagmed: error: s.dag:6:1: `mm` appears only once")
    assert r.err.splitlines()[0].endswith("did you mean `m`? (a node of its own otherwise) (--strict)")
    assert r.err.splitlines()[1:] == ["    mm -> y", "    ^"]


def test_a_misspelt_family_names_both_spellings(dagmed_cli, tmp_path):
    (tmp_path / "s.dag").write_text("treatment t\noutcome y\nt -> m -> y\nt -> y\nt, m, yy ~ bernoulli\n")
    r = dagmed_cli("check", "s.dag")
    assert r.code == 3
    assert "dagmed: error: s.dag:2:1: outcome y has parents but no family" in r.err
    assert "dagmed: warning: s.dag:5:1: `yy` appears only once, in a family statement: did you mean `y`?" in r.err


def test_run_names_the_likely_typo_behind_an_error(dagmed_cli, tmp_path):
    (tmp_path / "s.dag").write_text("treatment t\noutcome y\nt -> m -> y\nt -> y\nt, m, yy ~ bernoulli\n")
    r = dagmed_cli("run", "s.dag", "--data", "never-read.csv", "--quiet")
    assert r.code == 3
    assert r.err.splitlines()[0].startswith("dagmed: warning: s.dag:5:1: `yy` appears only once")
    assert "outcome y has parents but no family" in r.err.splitlines()[1]


def test_run_strict_refuses_a_typo_before_reading_data(dagmed_cli, tmp_path):
    (tmp_path / "s.dag").write_text(TYPO)
    r = dagmed_cli("run", "s.dag", "--data", "never-read.csv", "--strict")
    assert r.code == 3 and "`mm` appears only once" in r.err and "(--strict)" in r.err and "not found" not in r.err


def _binary_chain_csv(path, n=60, seed=0, sep=",", header=("t", "m", "y"), missing_every=None):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 2, n)
    m = rng.binomial(1, 0.3 + 0.4 * t)
    y = rng.binomial(1, 0.2 + 0.3 * m + 0.2 * t)
    rows = [[str(a), str(b), str(c)] for a, b, c in zip(t, m, y)]
    if missing_every:
        for i in range(0, n, missing_every):
            rows[i][1] = "."
    path.write_text(sep.join(header) + "\n" + "".join(sep.join(r) + "\n" for r in rows))


def test_quiet_silences_progress_but_not_warnings(dagmed_cli, tmp_path):
    (tmp_path / "s.dag").write_text(CHAIN)
    _binary_chain_csv(tmp_path / "d.csv")
    # 30 draws of 2 chains: bulk ESS far below 400, so the run must warn
    r = dagmed_cli("run", "s.dag", "--data", "d.csv", "--draws", "30", "--tune", "30", "--chains", "2",
                   "--seed", "1", "--quiet")  # fmt: skip
    assert r.code == 0, r.err
    lines = r.err.splitlines()
    assert lines and all(line.startswith("dagmed: warning: ") for line in lines), r.err
    assert any("bulk ESS as low as" in line for line in lines)
    loud = dagmed_cli("run", "s.dag", "--data", "d.csv", "--draws", "30", "--tune", "30", "--chains", "2",
                      "--seed", "1")  # fmt: skip
    assert any(line.startswith("sampling: ") for line in loud.err.splitlines())
    assert [x for x in loud.err.splitlines() if x.startswith("dagmed: warning:")] == lines


def test_a_quoted_column_with_a_space_semicolons_and_dot_codes_run(dagmed_cli, tmp_path):
    import json

    (tmp_path / "s.dag").write_text(
        "treatment `got treatment`\noutcome relapse\n`got treatment` -> `met peers` -> relapse\n"
        "`got treatment` -> relapse\n`met peers`, relapse ~ bernoulli\n"
        'data "d.csv"\nna "."\n'
    )
    _binary_chain_csv(tmp_path / "d.csv", n=80, sep=";", header=("got treatment", "met peers", "relapse"),
                      missing_every=10)  # fmt: skip
    r = dagmed_cli("run", "s.dag", "--draws", "100", "--tune", "100", "--chains", "1", "--seed", "1",
                   "--out", "out", "--quiet")  # fmt: skip
    assert r.code == 0, r.err
    out = r.out.splitlines()
    assert out[0] == (
        "got treatment -> relapse through met peers; 72 observations; risk difference, got treatment 1 vs 0; "
        "convention: control"
    )
    assert any(line.startswith("IIE[met peers] ") for line in out)
    doc = json.loads((tmp_path / "out" / "effects.json").read_text(encoding="utf-8"))
    assert (doc["n_obs"], doc["n_dropped"]) == (72, 8)
    assert doc["measure"] == "risk difference" and doc["scale"] == "diff"
    assert doc["contrast"] == {"treatment": "got treatment", "active": 1.0, "reference": 0.0}
    assert out[-2] == doc["summary"] and doc["summary"].startswith(
        "Treatment got treatment (1 vs 0) changed the probability of relapse by "
    )
    report = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    body = report[report.index("<body>") :]
    assert (
        body.index('id="summary"')
        < body.index("<table>")
        < body.index('alt="forest.png"')
        < body.index("Spec and assumptions")
    )
    assert (tmp_path / "out" / "spec.dag").read_text().startswith("treatment `got treatment`\n")


def test_a_semicolon_file_with_a_broken_row_names_the_delimiter(dagmed_cli, tmp_path):
    (tmp_path / "s.dag").write_text(CHAIN)
    (tmp_path / "d.csv").write_text("t;m;y\n1;0;1\n0;1\n")
    r = dagmed_cli("run", "s.dag", "--data", "d.csv")
    assert r.code == 4 and "Traceback" not in r.err
    assert "holding a semicolon: the file looks semicolon-separated" in r.err and "sampling" not in r.err


def test_fmt_requotes_names(dagmed_cli, tmp_path):
    (tmp_path / "s.dag").write_text('treatment `got treatment`\noutcome y\n`got treatment`->y~bernoulli\nna "."\n')
    r = dagmed_cli("fmt", "s.dag")
    assert r.code == 0, r.err
    assert r.out == 'treatment `got treatment`\noutcome y\n`got treatment` -> y ~ bernoulli\nna "."\n'


def test_check_shows_the_na_codes(dagmed_cli, tmp_path):
    (tmp_path / "s.dag").write_text(TINY + 'na ".", "-99"\n')
    r = dagmed_cli("check", "s.dag")
    assert r.code == 0, r.err
    assert 'na:           cells holding ".", "-99" are missing values (blank and NA cells always are)' in r.out


def test_run_sensitivity_needs_a_finished_sensitivity_directory_and_out(dagmed_cli, tiny, tmp_path):
    spec, csv = tiny
    r = dagmed_cli("run", spec, "--data", csv, "--sensitivity", tmp_path)
    assert r.code == 2 and "--sensitivity adds a section to report.html: it needs --out" in r.err
    r = dagmed_cli("run", spec, "--data", csv, "--out", tmp_path / "out", "--sensitivity", tmp_path / "none")
    assert r.code == 2 and "no tipping.csv there" in r.err and "sampling:" not in r.err


def test_sensitivity_refuses_a_non_mediator_before_fitting(dagmed_cli, tmp_path):
    spec = tmp_path / "m.dag"
    spec.write_text("treatment t\noutcome y\nt -> m -> y\nt -> y\nm, y ~ bernoulli\n")
    (tmp_path / "d.csv").write_text("t,m,y\n0,1,1\n1,0,0\n1,1,1\n0,0,0\n")
    r = dagmed_cli("sensitivity", spec, "--data", tmp_path / "d.csv", "--mediator", "t", "--out", tmp_path / "s")
    assert r.code == 2 and "--mediator t is not a mediator; the mediators are m" in r.err
    assert not (tmp_path / "s").exists()


def test_run_clusters_option_is_refused_without_cluster_statements(dagmed_cli, tiny):
    spec, data = tiny
    r = dagmed_cli("run", spec, "--data", data, "--clusters", "new")
    assert r.code == 2 and "clusters 'new': the spec has no cluster statement" in r.err and "Traceback" not in r.err


def test_run_refuses_an_absent_cluster_column_before_sampling(dagmed_cli, tiny):
    spec, data = tiny
    spec.write_text(TINY + "cluster school\n")
    r = dagmed_cli("run", spec, "--data", data)
    assert r.code == 4 and "cluster column school not found (the spec says 'cluster school')" in r.err
    assert "sampling" not in r.err
