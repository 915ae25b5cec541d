"""The command line: `dagmed check` output, exit codes and one-line located errors."""

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SPECS


def dagmed(*args, cwd):
    """Run the installed console script (from another directory than the repository)."""
    script = Path(sys.executable).with_name("dagmed")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "dagmed"]
    return subprocess.run(cmd + [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_check_substance(tmp_path):
    r = dagmed("check", SPECS / "substance.dag", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "treatment:    fam_int" in out
    assert "mediators:    dev_peer, sub_exp" in out
    assert "outcome:      sub_disorder" in out
    assert "covariates:   gender, conflict" in out
    assert "sub_disorder ~ bernoulli(logit: fam_int, dev_peer, sub_exp, gender, conflict)" in out
    assert "conditionally independent" in out
    assert "regimes:      8 = 2^(2+1)" in out
    assert r.stderr == ""


@pytest.mark.parametrize(
    "extra, code, message",
    [
        ("dev_peer -> sub_exp", 3, "open path dev_peer -> sub_exp"),
        ("sub_disorder -> fam_int", 3, "cycle: fam_int -> dev_peer -> sub_disorder -> fam_int"),
        ("gender -> -> fam_int", 2, "unexpected '->'; expected a name"),
        ("sub_exp ~ bernouli", 3, "unknown family 'bernouli'"),
    ],
)
def test_appended_mistakes_give_located_errors(tmp_path, extra, code, message):
    text = (SPECS / "substance.dag").read_text()
    n_lines = text.count("\n")
    spec = tmp_path / "s.dag"
    spec.write_text(text + extra + "\n")
    r = dagmed("check", spec, cwd=tmp_path)
    assert r.returncode == code
    first = r.stderr.splitlines()[0]
    assert first.startswith(f"dagmed: error: {spec}:{n_lines + 1}:")
    assert message in first
    assert "Traceback" not in r.stderr


def test_syntax_error_has_a_caret(tmp_path):
    spec = tmp_path / "s.dag"
    spec.write_text("treatment t\noutcome y\nt -> y ~ bernoulli(\n")
    r = dagmed("check", spec, cwd=tmp_path)
    lines = r.stderr.splitlines()
    assert r.returncode == 2
    assert lines[0].startswith(f"dagmed: error: {spec}:3:19: unexpected '('")
    assert lines[1].strip() == "t -> y ~ bernoulli("
    assert lines[2].index("^") == lines[1].index("(")


def test_usage_errors_exit_2_without_traceback(tmp_path):
    r = dagmed("frobnicate", cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    r = dagmed("check", tmp_path / "missing.dag", cwd=tmp_path)
    assert r.returncode == 2 and "spec file not found" in r.stderr


def test_fmt_prints_canonical_text_that_checks_the_same(tmp_path):
    r = dagmed("fmt", SPECS / "three_mediators.dag", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[:2] == ["exposure treat", "response relapse"]
    (tmp_path / "f.dag").write_text(r.stdout)
    import dagmed as api

    assert api.load(tmp_path / "f.dag") == api.load(SPECS / "three_mediators.dag")


def test_unwritable_output_directory_is_refused_before_sampling(tmp_path, substance_csv):
    r = dagmed("run", SPECS / "substance.dag", "--data", substance_csv, "--out", tmp_path / "no" / "such" / "dir",
               cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.startswith("dagmed: error: --out ") and "does not exist" in r.stderr
    assert "sampling" not in r.stderr


def test_too_many_mediators_are_refused_up_front(tmp_path):
    meds = [f"m{j}" for j in range(25)]
    spec = tmp_path / "big.dag"
    spec.write_text(f"treatment t\noutcome y\nt -> {', '.join(meds)} -> y ~ bernoulli\n{', '.join(meds)} ~ bernoulli\n")
    r = dagmed("run", spec, "--data", tmp_path / "never-read.csv", cwd=tmp_path)
    assert r.returncode == 3
    assert "25 mediators give 2^26 = 67108864 regimes" in r.stderr and "GiB" in r.stderr


def test_data_errors_exit_4(tmp_path):
    spec = tmp_path / "s.dag"
    spec.write_text("treatment t\noutcome y\nt -> y ~ bernoulli\n")
    (tmp_path / "d.csv").write_text("t,y\n0,1\n1,7\n")
    r = dagmed("run", spec, "--data", tmp_path / "d.csv", "--out", tmp_path / "out", cwd=tmp_path)
    assert r.returncode == 4
    assert r.stderr.strip().splitlines() == [f"dagmed: error: {tmp_path / 'd.csv'}: column y, row 2: value 7 is not 0 or 1 (bernoulli)"]
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_ctrl_c_during_sampling_leaves_nothing(tmp_path, substance_csv):
    import signal
    import time

    script = Path(sys.executable).with_name("dagmed")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "dagmed"]
    p = subprocess.Popen(
        cmd + ["run", str(SPECS / "substance.dag"), "--data", str(substance_csv), "--draws", "20000",
               "--tune", "5000", "--chains", "2", "--out", "out"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    seen = ""
    while "sampling:" not in seen:
        line = p.stderr.readline()
        assert line, "dagmed ended before sampling"
        seen += line
    time.sleep(3)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=300)
    assert p.returncode == 5
    assert "dagmed: error: interrupted; nothing was written" in err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


# ---- in process: options given explicitly are used or refused; the user's files are kept ----

from dagmed import cli, commands, output  # noqa: E402

TINY = "treatment t\noutcome y\nt -> y ~ bernoulli\n"


@pytest.fixture
def tiny(tmp_path):
    spec = tmp_path / "s.dag"
    spec.write_text(TINY)
    (tmp_path / "d.csv").write_text("t,y\n0,1\n1,0\n1,1\n0,0\n")
    return spec, tmp_path / "d.csv"


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
def test_an_explicit_zero_or_negative_option_is_refused_not_replaced(tiny, capsys, flag, value, message):
    spec, csv = tiny
    assert cli.main(["run", str(spec), "--data", str(csv), flag, value]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"dagmed: error: {message}"


def test_flags_win_over_the_config_and_absent_flags_do_not(tmp_path):
    conf = tmp_path / "c.yaml"
    conf.write_text("draws: 50\ntune: 60\nseed: 3\nquiet: true\nno_plots: true\n")
    args = cli.make_parser().parse_args(["run", "s.dag", "--config", str(conf), "--draws", "0", "--seed", "0"])
    opts = commands.options(args)
    # 0 is a value, not "absent": it overrides the config (and is then refused by the settings)
    assert opts["draws"] == 0 and opts["seed"] == 0
    assert opts["tune"] == 60 and opts["quiet"] is True and opts["no_plots"] is True
    args = cli.make_parser().parse_args(["run", "s.dag", "--config", str(conf), "--quiet"])
    assert commands.options(args) == {"draws": 50, "tune": 60, "seed": 3, "quiet": True, "no_plots": True}


def test_config_data_path_is_relative_to_the_config_file(tmp_path):
    sub = tmp_path / "conf"
    sub.mkdir()
    (sub / "c.yaml").write_text("data: d.csv\n")
    assert commands.read_config(sub / "c.yaml")["data"] == str(sub / "d.csv")


def test_out_directory_with_a_users_file_is_refused_and_kept(tiny, capsys):
    spec, csv = tiny
    out = spec.parent / "out"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    (out / "effects.json").write_text("{}")
    assert cli.main(["run", str(spec), "--data", str(csv), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "holds files dagmed did not write (notes.txt)" in err
    assert (out / "notes.txt").read_text() == "my notes" and (out / "effects.json").read_text() == "{}"


def test_a_previous_run_directory_may_be_replaced_but_not_a_users_picture_folder(tmp_path):
    run = tmp_path / "run"
    (run / "plots").mkdir(parents=True)
    for name in output.FILES + ("report.html",):
        (run / name).write_text("x")
    (run / "plots" / "dag.png").write_bytes(b"png")
    assert output.foreign_files(run) == []
    (run / "plots" / "holiday.jpg").write_bytes(b"jpg")
    assert output.foreign_files(run) == ["plots/holiday.jpg"]
    with pytest.raises(__import__("dagmed").UsageError, match="plots/holiday.jpg"):
        output._check_writable(run)
