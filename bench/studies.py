"""Simulation studies: fits per minute of ``dagmed power`` against a loop of ``dagmed run --no-plots``.

    python bench/studies.py                # 600 rows, 4 runs in the loop, 16 fits in the study
    python bench/studies.py --reps 8 --runs 2

The baseline is what a user would otherwise script (docs/simulate.md, "Planning a study"):
one ``dagmed run --no-plots`` per dataset, each a fresh process, on the same spec, rows and
sampling options (4 chains x 1000 draws, 1000 tuning). The study is the whole command
``dagmed power --n 600 --reps R --workers 2`` in a fresh process, cluster start included.
The figure of the issue: per-fit wall time of the study / one run's wall time (goal <= 0.35).
Also printed: what a fit costs inside a worker, from ``results.csv``'s timing columns.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO / "specs" / "three_mediators.dag"
PARAMS = REPO / "examples" / "three_mediators" / "params.yaml"


def dagmed(*args, cwd=None) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "dagmed", *map(str, args)], check=True, capture_output=True, cwd=cwd)
    return time.perf_counter() - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=600)
    ap.add_argument("--runs", type=int, default=4, help="dagmed run --no-plots in the baseline loop")
    ap.add_argument("--reps", type=int, default=16, help="fits in the study")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    import pandas as pd

    print(f"studies: {os.cpu_count()} cores, python {sys.version.split()[0]}, n = {args.n}, 4 chains x 1000 draws")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        runs = []
        for i in range(args.runs):
            data = tmp / f"d{i}.csv"
            dagmed("simulate", SPEC, "--n", args.n, "--params", PARAMS, "--seed", 100 + i, "--out", data)
            runs.append(dagmed("run", SPEC, "--data", data, "--seed", i, "--no-plots", "--quiet"))
        run_s = sum(runs) / len(runs)
        print(
            f"   dagmed run --no-plots, {args.runs} runs: {', '.join(f'{r:.1f}' for r in runs)} s; mean {run_s:.2f} s"
        )
        study_s = dagmed(
            "power", SPEC, "--params", PARAMS, "--n", args.n, "--reps", args.reps, "--seed", 1,
            "--workers", args.workers, "--out", tmp / "study", "--quiet", "--no-plots",
        )  # fmt: skip
        per_fit = study_s / args.reps
        results = pd.read_csv(tmp / "study" / "results.csv").drop_duplicates(["n", "rep"])
        print(
            f"   dagmed power --workers {args.workers}, {args.reps} fits: {study_s:.1f} s (cluster start included); "
            f"{per_fit:.2f} s per fit; {60 / per_fit:.1f} fits per minute against {60 / run_s:.1f}"
        )
        print(f"   ratio per-fit wall time / one run = {per_fit / run_s:.2f}  (goal <= 0.35)")
        cols = ["seconds", "simulate_s", "setup_s", "sample_s", "decompose_s"]
        mean = results[cols].mean()
        first = results.sort_values("seconds").groupby("worker").tail(1)[cols].mean()
        print(
            "   inside a worker, mean per fit: "
            + ", ".join(f"{c.removesuffix('_s')} {mean[c]:.2f} s" for c in cols)
            + f"; workers used: {results['worker'].nunique()}"
        )
        print(f"   (setup is paid once per worker: {results['setup_s'].max():.2f} s at most; slowest fit per worker "
              f"{first['seconds']:.2f} s)")  # fmt: skip
    return per_fit / run_s


if __name__ == "__main__":
    main()
