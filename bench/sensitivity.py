"""Issue 22's "done when": an unmeasured confounder of m1 and y, and ``dagmed sensitivity`` at its true strength.

    python bench/sensitivity.py                  # N = 5000, 4 chains x 1000 draws (about 3 minutes on 2 cores)
    python bench/sensitivity.py --n 2000 --draws 500

Data (tests/confounded.py): two binary mediators, a covariate x, and U ~ Bernoulli(1/2) adding 2
to the log-odds of m1 and of y; U is left out of the data. The truth is computed by NumPy
enumeration over m1, m2 at each row's x and both values of U. Then, as a user would, in fresh
processes: ``dagmed run SPEC --data D --seed S --out RUN --no-plots`` and
``dagmed sensitivity SPEC --data D --mediator m1 --strength 0,2 --seed S --out SENS``.

Printed: per effect the truth, the plain run's mean and sd and its distance from the truth in sds,
the same at strength 2, and whether strength 0 reproduces the plain run's numbers; the wall times.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

import confounded  # noqa: E402 - the tests' data and truth, one copy


def dagmed(*args) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "dagmed", *map(str, args)], check=True, capture_output=True)
    return time.perf_counter() - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    df = confounded.simulate(args.n, seed=args.seed)
    truth = confounded.truth(df)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data, spec = tmp / "data.csv", tmp / "confounded.dag"
        df.to_csv(data, index=False)
        spec.write_text(confounded.SPEC)
        common = ["--data", data, "--seed", args.seed, "--draws", args.draws, "--tune", args.draws]
        t_run = dagmed("run", spec, *common, "--out", tmp / "run", "--no-plots")
        t_sens = dagmed("sensitivity", spec, *common, "--mediator", "m1", "--strength", "0,2", "--out", tmp / "sens")
        plain = pd.read_csv(tmp / "run" / "effects.csv", index_col=0)
        sens = pd.read_csv(tmp / "sens" / "sensitivity.csv")
        tipping = pd.read_csv(tmp / "sens" / "tipping.csv")
        written = sorted(p.name for p in (tmp / "sens").iterdir())
    at = {s: sens[sens.strength == s].set_index("effect") for s in (0.0, 2.0)}
    print(
        f"N = {args.n}, {args.draws} draws x 4 chains, seed {args.seed}; U adds {confounded.STRENGTH} to m1's and y's log-odds"
    )
    print(
        f"{'effect':<12}{'truth':>9}{'plain':>9}{'sd':>8}{'z':>7}{'at 2':>9}{'sd':>8}{'z':>7}  strength 0 = plain run"
    )
    for name, value in truth.items():
        p, s = plain.loc[name], at[2.0].loc[name]
        same = at[0.0].loc[name, "mean"] == p["mean"] and at[0.0].loc[name, "sd"] == p["sd"]
        print(
            f"{name:<12}{value:9.4f}{p['mean']:9.4f}{p['sd']:8.4f}{(p['mean'] - value) / p['sd']:7.1f}"
            f"{s['mean']:9.4f}{s['sd']:8.4f}{(s['mean'] - value) / s['sd']:7.1f}  {same}"
        )
    print(tipping.to_string(index=False))
    print(f"wrote {', '.join(written)}")
    print(f"dagmed run --no-plots {t_run:.1f} s; dagmed sensitivity --strength 0,2 {t_sens:.1f} s")


if __name__ == "__main__":
    main()
