"""dagmed benchmarks: one command, ratios against baselines measured in the same run.

    python bench/run.py            # everything (about 10 minutes on 2 cores)
    python bench/run.py --quick    # smaller draws and K, for a smoke test

1. End to end on the substance data: `dagmed run` (plots included; first with empty numba
   caches, then warm) against the hand-written notebook (bench/handwritten.py), same sampler,
   chains, draws and tuning; peak memory; the largest difference in effect means.
2. The regime table for K = 2..10 binary mediators, 4000 draws, N = 410 and 5000:
   seconds and peak memory (tracemalloc) against the naive O(4^K) enumeration.
3. Sampling efficiency: bulk ESS of TE per second, nutpie against PyMC's NUTS.
5. The first run after installing against a warm run: README's main job
   (`dagmed run specs/three_mediators.dag --seed 1`), each pair on an empty NUMBA_CACHE_DIR
   (numba's compiled code, as on a fresh install), the installed `dagmed` command; medians.
4. A mixed K = 3 table on grids (normal, bernoulli, poisson mediators, logit outcome with a
   t:m product, 4000 draws, N = 5000): seconds and error bound, against Monte Carlo over the
   mediators (bench/mixed.py).
6. Simulation studies: per-fit wall time of `dagmed power` on 2 workers against one
   `dagmed run --no-plots` (bench/studies.py).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CSV = REPO.parent / "shared" / "data" / "substance.csv"
sys.path.insert(0, str(HERE))


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def end_to_end(draws, tune, chains):
    """dagmed run (plots included) against the hand-written notebook, both in fresh interpreters.

    dagmed runs twice: first with empty numba caches (a fresh install: its compiled kernels
    and log density are compiled, then cached on disk), then with them warm (every later run).
    """
    import json
    import resource

    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "NUMBA_CACHE_DIR": f"{tmp}/numba"}  # empty: as on a fresh install
        for i in range(2):
            cmd = [
                sys.executable,
                "-m",
                "dagmed",
                "run",
                str(REPO / "specs" / "substance.dag"),
                "--data",
                str(CSV),
                "--draws",
                str(draws),
                "--tune",
                str(tune),
                "--chains",
                str(chains),
                "--seed",
                "1",
                "--sampler",
                "nutpie",
                "--out",
                f"{tmp}/out{i}",
                "--quiet",
            ]
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True, env=env)
            runs.append(time.perf_counter() - t0)
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KB on Linux
        ours = {e["name"]: e["mean"] for e in json.loads(Path(f"{tmp}/out1/effects.json").read_text())["effects"]}
    # the baseline in a fresh interpreter too, so both pay imports and compilation
    code = (
        f"import sys, json, numpy as np; sys.path.insert(0, {str(HERE)!r}); import handwritten as h;"
        f"eff = h.run({str(CSV)!r}, {draws:d}, {tune:d}, {chains:d}, 1, 'nutpie');"
        "print(json.dumps({k: float(np.mean(v)) for k, v in eff.items()}))"
    )
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    t_hand = time.perf_counter() - t0
    theirs = json.loads(r.stdout.strip().splitlines()[-1])
    diff = max(abs(ours[k] - theirs[k]) for k in theirs)
    cold, warm = runs
    print(f"1. end to end, substance data, nutpie, {chains} chains x {draws} draws ({tune} tuning), plots included")
    print(f"   dagmed run, numba caches empty   {cold:7.1f} s")
    print(f"   dagmed run, caches warm          {warm:7.1f} s   (peak memory {peak_mb:.0f} MB)")
    print(f"   hand-written                     {t_hand:7.1f} s")
    print(f"   ratio dagmed / hand-written = {warm / t_hand:.2f} warm, {cold / t_hand:.2f} first run  (goal <= 0.3)")
    print(f"   largest |difference| of effect means = {diff:.4f}")
    for k in theirs:
        print(f"     {k:<24} dagmed {ours[k]: .4f}   hand-written {theirs[k]: .4f}")
    return warm / t_hand


def synthetic(k, n_draws, n_obs, seed=0, chain=False):
    """Logistic GLM draws for K mediators; ``chain``: m0 -> m1 -> ... -> m(K-1) (dependent)."""
    from dagmed.effects.regimes import RegimeInputs
    from dagmed.lang.families import FAMILIES
    from dagmed.model.draws import NodeDraws

    bernoulli = FAMILIES["bernoulli"]  # logit link
    rng = np.random.default_rng(seed)
    cov = {"x1": rng.normal(size=n_obs), "x2": rng.binomial(1, 0.4, size=n_obs).astype(float)}
    meds = tuple(f"m{j}" for j in range(k))
    mglms = []
    for j in range(k):
        parents = ("t", *((meds[j - 1],) if chain and j else ()), "x1", "x2")
        mglms.append(
            NodeDraws(bernoulli, rng.normal(size=n_draws), rng.normal(size=(n_draws, len(parents))) * 0.5, parents)
        )
    y = NodeDraws(
        bernoulli, rng.normal(size=n_draws), rng.normal(size=(n_draws, 3 + k)) * 0.5, ("t", *meds, "x1", "x2")
    )
    return RegimeInputs(y, tuple(mglms), meds, "t", cov, n_obs)


def naive_chunked(p, chunk=50):
    """The naive enumeration (tests/reference.py), chunked over draws so that it fits in memory."""
    sys.path.insert(0, str(REPO / "tests"))
    from reference import regimes_naive_chunked

    return regimes_naive_chunked(p, chunk)[0]


def measure(fn, *args):
    tracemalloc.start()
    out, secs = timed(fn, *args)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, secs, peak


def regime_table(ks, n_draws, sizes, naive_budget):
    from dagmed.effects import regimes as R

    print(f"2. regime table, {n_draws} draws: dagmed contraction O(K 2^(K+1)) against naive O(4^K);")
    print("   'chain' is the same K with dependent mediators m0 -> m1 -> ... (joint and marginal regimes)")
    for n_obs in sizes:
        print(f"   N = {n_obs}")
        print(
            f"   {'K':>3} {'regimes':>8} {'dagmed s':>9} {'peak MB':>8} {'x prev K':>8} {'naive s':>9} "
            f"{'naive/dagmed':>12} {'chain s':>8} {'chain/indep':>11}"
        )
        prev, naive_ok = None, True
        for k in ks:
            p = synthetic(k, n_draws, n_obs)
            ours, secs, peak = measure(R.regime_table, p)
            growth = f"{secs / prev:8.2f}" if prev else f"{'':>8}"
            prev = secs
            naive = ""
            if naive_ok:
                theirs, nsecs = timed(naive_chunked, p)
                assert np.allclose(ours, theirs, rtol=0, atol=1e-12)
                naive = f"{nsecs:9.2f} {nsecs / secs:12.1f}"
                naive_ok = nsecs < naive_budget
            else:
                naive = f"{'skipped':>9} {'':>12}"
            _, csecs = timed(R.regimes, synthetic(k, n_draws, n_obs, chain=True)) if k >= 2 else (None, float("nan"))
            print(
                f"   {k:>3} {2 ** (k + 1):>8} {secs:9.2f} {peak / 2**20:8.0f} {growth} {naive} {csecs:8.2f} "
                f"{csecs / secs:11.2f}"
            )


def sampling_efficiency(draws, tune, chains):
    import arviz as az

    import dagmed

    spec = dagmed.load(REPO / "specs" / "substance.dag")
    print(f"3. sampling efficiency on the substance model, {chains} chains x {draws} draws ({tune} tuning)")
    rates = {}
    for sampler in ("nutpie", "pymc"):
        res, secs = timed(
            dagmed.run,
            spec,
            str(CSV),
            draws=draws,
            tune=tune,
            chains=chains,
            seed=1,
            sampler=sampler,
            progressbar=False,
            log=lambda m: None,
        )
        te = res.idata.mediation["effects"].sel(effect="TE")
        ess = float(az.ess(te.values, method="bulk"))
        rates[sampler] = ess / secs
        print(f"   {sampler:<7} {secs:6.1f} s (whole run)  bulk ESS(TE) {ess:7.0f}  ESS/s {ess / secs:7.1f}")
    print(f"   ratio nutpie / pymc ESS per second = {rates['nutpie'] / rates['pymc']:.2f}")


def first_run(repeats):
    """README's main job: a run on empty numba caches (the first after installing), then a warm one; medians.

    Each repeat takes a new empty ``NUMBA_CACHE_DIR``: numba then compiles what the run needs
    (dagmed's regime kernel and log density, and whatever else a library compiles) as on a
    fresh install, and the second run loads it from there. The ``dagmed`` command beside this
    Python, as a user runs it (install with ``pip install .``, not editable, to time what users get).
    """
    import shutil
    import statistics

    exe = shutil.which("dagmed", path=str(Path(sys.executable).parent)) or "dagmed"
    cold, warm = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, "NUMBA_CACHE_DIR": f"{tmp}/numba"}
            for times, out in ((cold, "first"), (warm, "warm")):
                cmd = [exe, "run", "specs/three_mediators.dag", "--seed", "1", "--out", f"{tmp}/{out}", "--quiet"]
                t0 = time.perf_counter()
                subprocess.run(cmd, check=True, capture_output=True, env=env, cwd=REPO)
                times.append(time.perf_counter() - t0)
    c, w = statistics.median(cold), statistics.median(warm)
    print(f"4. first run after installing against a warm run: README's main job, {repeats} pairs, medians")
    print(f"   numba caches empty (first run)   {c:7.1f} s   ({', '.join(f'{x:.1f}' for x in cold)})")
    print(f"   caches warm                      {w:7.1f} s   ({', '.join(f'{x:.1f}' for x in warm)})")
    print(f"   first / warm = {c / w:.2f}  (goal <= 1.5)")
    return c / w


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    ap.add_argument("--only", choices=["1", "2", "3", "4", "5", "6"], help="run one comparison")
    args = ap.parse_args(argv)
    print(f"dagmed benchmarks on {os.cpu_count()} cores, python {sys.version.split()[0]}")
    if args.only in (None, "1"):
        end_to_end(*((200, 200, 2) if args.quick else (1000, 1500, 6)))
    if args.only in (None, "2"):
        if args.quick:
            regime_table(range(2, 7), 400, (410,), naive_budget=5)
        else:
            regime_table(range(2, 11), 4000, (410, 5000), naive_budget=20)
    if args.only in (None, "3"):
        sampling_efficiency(*((200, 200, 2) if args.quick else (1000, 1000, 4)))
    if args.only in (None, "4"):
        import mixed

        mixed.main(["--draws", "200", "--rows", "500"] if args.quick else [])
    if args.only in (None, "5"):
        first_run(1 if args.quick else 3)
    if args.only in (None, "6"):
        import studies

        print("6. simulation studies (bench/studies.py)")
        studies.main(["--runs", "1", "--reps", "4"] if args.quick else [])


if __name__ == "__main__":
    main()
