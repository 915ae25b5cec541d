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
