"""Showing a result: the terminal table and the files of ``--out DIR``.

Files are written into a temporary directory beside ``DIR`` and renamed into place at the
end, so a failed or interrupted run leaves no half-written output.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from .errors import UsageError
from .tables import MISSING

FILES = ("effects.json", "effects.csv", "regimes.csv", "idata.nc", "spec.dag")
# Everything a run directory may hold: dagmed replaces such a directory, and nothing else.
RUN_ENTRIES = (*FILES, "report.html", "plots")


def describe(a) -> str:
    """What `dagmed check` prints: roles, equations, the independence verdict, regimes."""
    lines = []
    spec = a.spec
    p = lines.append
    p(f"spec:         {spec.source}")
    p(f"treatment:    {a.treatment}")
    p(f"mediators:    {', '.join(a.mediators) or '(none)'}")
    p(f"outcome:      {a.outcome}")
    p(f"covariates:   {', '.join(a.covariates) or '(none)'}")
    if a.latent:
        p(f"latent:       {', '.join(a.latent)}")
    if a.other:
        p(f"other:        {', '.join(a.other)} (after the treatment, not on a path to the outcome: "
          "modelled, not decomposed)")
    p("equations:")
    for n in a.modelled():
        p(f"  {a.equation(n)}")
    if len(a.mediators) < 2:
        verdict = "nothing to check (fewer than two mediators)"
    elif a.dependent:
        verdict = "DEPENDENT: " + "; ".join(f"{x}, {y} via {path}" for x, y, path in a.dependent)
    else:
        given = ", ".join([a.treatment, *a.covariates])
        verdict = f"mediators conditionally independent given {given} (d-separation)"
    p(f"independence: {verdict}")
    k = len(a.mediators)
    p(f"regimes:      {a.n_regimes} = 2^({k}+1)")
    if spec.data:
        p(f"data:         {spec.data}")
    p(f"missing:      {MISSING[spec.missing]}")
    return "\n".join(lines)


def format_table(result) -> str:
    """The effect table as the terminal shows it."""
    eff = result.effects
    pct = f"{result.hdi_prob:.0%} HDI"
    width = max(12, *(len(n) for n in eff.index))
    lines = [f"{'effect':<{width}}  {'mean':>8}  {'sd':>7}  {pct:^21}  {'P(<0)':>6}"]
    for name, r in eff.iterrows():
        hdi = f"[{r.hdi_low:8.3f}, {r.hdi_high:8.3f}]"
        lines.append(f"{name:<{width}}  {r['mean']:8.3f}  {r.sd:7.3f}  {hdi:^21}  {r.p_lt_0:6.3f}")
    a = result.analysis
    head = (
        f"{a.treatment} -> {a.outcome} through {', '.join(a.mediators) or '(no mediator)'}; "
        f"{result.dataset.n_obs} observations; convention: {result.convention}"
    )
    return head + "\n" + "\n".join(lines)


def foreign_files(out: Path) -> list[str]:
    """Entries of an existing directory ``out`` that a dagmed run did not write.

    A run directory holds only :data:`RUN_ENTRIES`, with nothing but PNG pictures in
    ``plots/``; anything else is the user's and must never be replaced.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "effects.json").write_text("{}")
    >>> _ = (d / "notes.txt").write_text("mine")
    >>> foreign_files(d)
    ['notes.txt']
    """
    foreign = [p.name for p in out.iterdir() if p.name not in RUN_ENTRIES]
    plots = out / "plots"
    if plots.is_dir():
        foreign += [f"plots/{p.name}" for p in plots.iterdir() if p.suffix != ".png" or not p.is_file()]
    elif plots.exists():
        foreign.append("plots")
    return sorted(foreign)


def _check_writable(out: Path) -> Path:
    parent = out.resolve().parent
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a directory")
    if out.is_dir():
        foreign = foreign_files(out)
        if foreign:
            shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
            raise UsageError(
                f"--out {out}: the directory holds files dagmed did not write ({shown}); dagmed replaces only "
                f"an empty directory or a previous run's output: choose another directory"
            )
    if not parent.is_dir():
        raise UsageError(f"--out {out}: the parent directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"--out {out}: cannot write in {parent}")
    return parent


def write(result, out, extra=None) -> Path:
    """Write effects.json, effects.csv, regimes.csv and idata.nc into ``out`` atomically.

    ``extra(tmpdir)`` may add more files before the directory is moved into place.
    """
    out = Path(out)
    parent = _check_writable(out)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=parent))
    try:
        (tmp / "effects.json").write_text(json.dumps(result.to_dict(), indent=2) + "\n")
        result.effects.rename_axis("name").reset_index().to_csv(tmp / "effects.csv", index=False)
        result.regimes.to_csv(tmp / "regimes.csv", index=False)
        result.idata.to_netcdf(str(tmp / "idata.nc"))
        (tmp / "spec.dag").write_text(result.analysis.spec.text, encoding="utf-8")
        if extra is not None:
            extra(tmp)
        if out.exists():
            _check_writable(out)  # again: a file may have appeared while sampling
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=parent))
            out.rename(old / out.name)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
