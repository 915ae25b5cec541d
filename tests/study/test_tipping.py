"""dagmed sensitivity (dagmed.study.tipping): tipping points, refusals before any fit, Ctrl-C and
resuming (a stand-in fit), and (slow) the issue's case end to end: the plain run misses IIE[m1],
strength 0 is ``dagmed run``'s numbers, the true strength recovers every true effect."""

import json

import numpy as np
import pandas as pd
import pytest

import dagmed
from dagmed import cli
from dagmed.errors import UsageError
from dagmed.study import tipping

import confounded


def table(rows):
    return pd.DataFrame(rows).assign(error="")


def test_the_tipping_point_is_the_smallest_strength_whose_hdi_holds_the_null():
    r = table(
        {
            "mediator": "m",
            "strength": [-1.0, 0.0, 0.5, 1.0, 2.0],
            "strength_y": [-1.0, 0.0, 0.5, 1.0, 2.0],
            "effect": "IIE[m]",
            "hdi_low": [0.2, 0.1, 0.05, -0.01, -0.2],
            "hdi_high": [0.5, 0.4, 0.3, 0.2, 0.1],
        }
    )
    t = tipping.tipping_points(r)
    assert t.loc[0, "tipping"] == 1.0 and not t.loc[0, "beyond"] and np.isnan(t.loc[0, "strength_y"])
    # by absolute value: -1 is as strong as 1 and comes first when its HDI holds 0
    r.loc[0, "hdi_low"] = -0.1
    assert tipping.tipping_points(r).loc[0, "tipping"] == -1.0
    r.loc[0, "error"] = "sampling failed"  # a failed fit is no evidence
    assert tipping.tipping_points(r).loc[0, "tipping"] == 1.0
    assert list(t.columns) == ["mediator", "effect", "strength_y", "tipping", "beyond", "grid_max"]


def test_beyond_the_grid_on_a_ratio_scale_and_per_strength_y():
    r = table(
        {
            "mediator": "m",
            "strength": [0.0, 1.0, 0.0, 1.0],
            "strength_y": [0.0, 0.0, 1.0, 1.0],
            "effect": "IIE[m]",
            "hdi_low": [1.2, 1.1, 1.1, 0.95],
            "hdi_high": [1.5, 1.4, 1.4, 1.2],
        }
    )
    t = tipping.tipping_points(r, null=1.0, joint=False)
    assert t["strength_y"].tolist() == [0.0, 1.0]
    assert t["beyond"].tolist() == [True, False] and np.isnan(t.loc[0, "tipping"]) and t.loc[1, "tipping"] == 1.0


SPEC = dagmed.parse(confounded.SPEC)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"mediators": ["x"]}, "--mediator x is not a mediator; the mediators are m1, m2"),
        ({"strength": "0,a"}, "--strength must be numbers separated by commas"),
        ({"strength_y": "inf"}, "--strength-y must be finite numbers"),
        ({"thin": 2}, "unknown sampling option 'thin'"),
        ({"workers": 2, "scheduler": "tcp://h:1"}, "--workers and --scheduler exclude each other"),
        ({"scale": "or", "convention": "both"}, "unknown convention 'both'"),
    ],
)
def test_refused_before_any_fit(kwargs, message, tmp_path, monkeypatch):
    monkeypatch.setattr(tipping, "fit_point", lambda *a: pytest.fail("fitted"))
    with pytest.raises(UsageError, match=message):
        tipping.sensitivity(SPEC, confounded.simulate(50, 1), out=tmp_path / "s", **kwargs)


def test_a_directory_with_other_files_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="holds files that are not a dagmed study's"):
        tipping.sensitivity(SPEC, confounded.simulate(50, 1), out=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def fake_fit(calls, stop_after=None):
    """A stand-in for a fit: rows of the right shape, no sampling; Ctrl-C after ``stop_after`` fits."""

    def fit_point(sweep, mediators, strength, strength_y):
        if stop_after is not None and len(calls) == stop_after:
            raise KeyboardInterrupt
        calls.append((mediators, strength, strength_y))
        rows = [
            {"mediator": m, "strength": strength, "strength_y": strength_y, "effect": e, "mean": 0.1 - 0.04 * strength,
             "sd": 0.01, "hdi_low": 0.08 - 0.05 * strength, "hdi_high": 0.12 - 0.03 * strength, "error": ""}
            for m in mediators
            for e in ("TE", "IIE[m1]", "IIE[m2]")
        ]  # fmt: skip
        coefficients = [
            {"node": "y", "covariate": "x", "change": "0 to 1", "mean": 0.4, "hdi_low": 0.3, "hdi_high": 0.5}
        ]
        return {"rows": rows, "coefficients": coefficients if strength == strength_y == 0 else []}

    return fit_point


def test_ctrl_c_keeps_the_finished_points_and_the_same_command_resumes(tmp_path, monkeypatch, capsys):
    data = tmp_path / "data.csv"
    confounded.simulate(60, 2).to_csv(data, index=False)
    spec = tmp_path / "s.dag"
    spec.write_text(confounded.SPEC)
    out = tmp_path / "sens"
    argv = ["sensitivity", str(spec), "--data", str(data), "--strength", "0,1,2", "--out", str(out), "--seed", "3"]
    calls = []
    monkeypatch.setattr(tipping, "fit_point", fake_fit(calls, stop_after=2))
    assert cli.main(argv) == 5
    assert "interrupted: 3 finished grid points kept" in capsys.readouterr().err  # (0, 0) for m1 and m2, m1 at 1
    assert calls == [(("m1", "m2"), 0.0, 0.0), (("m1",), 1.0, 1.0)]
    kept = pd.read_csv(out / "sensitivity.csv")
    assert len(kept) == 9 and json.loads((out / "sensitivity.json").read_text())["seed"] == 3
    calls.clear()
    monkeypatch.setattr(tipping, "fit_point", fake_fit(calls))
    assert cli.main(argv) == 0
    assert calls == [(("m2",), 1.0, 1.0), (("m1",), 2.0, 2.0), (("m2",), 2.0, 2.0)]
    captured = capsys.readouterr()
    assert "3 of 6 grid points done already" in captured.err
    assert "m1          IIE[m1]           = strength    0.100 [0.080, 0.120]        2" in captured.out
    assert "x -> y: 0.40 [0.30, 0.50] (0 to 1)" in captured.out
    points = pd.read_csv(out / "tipping.csv")
    assert points[["mediator", "effect", "tipping"]].values.tolist()[:2] == [
        ["m1", "IIE[m1]", 2.0],
        ["m1", "IIE[m2]", 2.0],
    ]
    assert {"sensitivity_m1.png", "sensitivity_m2.png", "coefficients.csv"} <= {p.name for p in out.iterdir()}
    # the same analysis with another seed is refused, naming the difference
    with pytest.raises(UsageError, match="another seed"):
        tipping.sensitivity(spec, data, out=out, seed=4)


@pytest.mark.slow
def test_the_issues_case_strength_0_is_the_plain_run_and_the_true_strength_recovers_the_truth(tmp_path, capsys):
    # the issue's command on its data at N = 2000 (bench/sensitivity.py runs N = 5000 and the full sampler)
    df = confounded.simulate(2000, seed=5)
    truth = confounded.truth(df)
    data, spec = tmp_path / "data.csv", tmp_path / "confounded.dag"
    df.to_csv(data, index=False)
    spec.write_text(confounded.SPEC)
    options = ["--data", data, "--draws", 400, "--tune", 400, "--chains", 2, "--seed", 7, "--quiet"]
    sens, run = tmp_path / "sens", tmp_path / "run"
    argv = ["sensitivity", spec, *options, "--mediator", "m1", "--strength", "0,2", "--out", sens]
    assert cli.main([str(a) for a in argv]) == 0
    assert "m1          IIE[m1]           = strength" in capsys.readouterr().out
    assert cli.main([str(a) for a in ["run", spec, *options, "--out", run, "--sensitivity", sens]]) == 0
    results = pd.read_csv(sens / "sensitivity.csv")
    at = {s: results[results.strength == s].set_index("effect") for s in (0.0, 2.0)}
    plain = pd.read_csv(run / "effects.csv", index_col="name")
    # the naive fit misses the indirect effect through m1 (3.4 sd above it here; 5.7 at N = 5000)
    assert plain.loc["IIE[m1]", "hdi_low"] > truth["IIE[m1]"]
    for name in plain.index:  # the same model, sampler and seed: the same numbers
        assert at[0.0].loc[name, "mean"] == plain.loc[name, "mean"], name
        assert at[0.0].loc[name, "hdi_low"] == plain.loc[name, "hdi_low"], name
    for name, value in truth.items():
        row = at[2.0].loc[name]
        assert abs(row["mean"] - value) <= 3 * row["sd"], (name, row["mean"], row["sd"], value)
    assert (sens / "tipping.csv").exists() and (sens / "sensitivity_m1.png").exists()
    report = (run / "report.html").read_text()
    assert "Sensitivity to an unmeasured mediator-outcome confounder" in report and "<td>IIE[m1]</td>" in report
