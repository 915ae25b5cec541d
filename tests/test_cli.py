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
