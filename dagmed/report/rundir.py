"""A run directory (``--out DIR``): what it may hold, whether dagmed may write it, and writing it atomically.

Files are written into a temporary directory beside ``DIR`` and renamed into place at the
end, so a failed or interrupted run leaves no half-written output; a directory holding a
file dagmed did not write is refused, so nothing of the user's is ever replaced.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from ..errors import UsageError
from .document import effects_document

FILES = ("effects.json", "effects.csv", "regimes.csv", "idata.nc", "spec.dag")
# Everything a run directory may hold: dagmed replaces such a directory, and nothing else.
RUN_ENTRIES = (*FILES, "report.html", "plots")


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


def check_writable(out: Path) -> Path:
    """Refuse ``--out DIR`` unless dagmed may write it; return the directory it will be written in.

    ``DIR`` may be absent, empty or a previous run's output (see :func:`foreign_files`).

    Raises
    ------
    UsageError
        ``DIR`` is a file, holds a file dagmed did not write, or its parent is missing or
        not writable.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> check_writable(d / "out") == d.resolve()
    True
    >>> check_writable(d / "no" / "out")
    Traceback (most recent call last):
    dagmed.errors.UsageError: --out .../no/out: the parent directory .../no does not exist
    """
    here = Path.cwd().resolve()
    if out.resolve() == here or out.resolve() in here.parents:
        # a run directory is replaced by a rename, and the directory you are in cannot be
        raise UsageError(
            f"--out {out}: that is the directory you are in (or one above it); choose a directory "
            f"inside it, e.g. --out out"
        )
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
    """Write :data:`FILES` into ``out`` atomically: all of them, or nothing.

    Parameters
    ----------
    result : dagmed.api.Result
    out : str or path
        The run directory; see :func:`check_writable` for which are accepted.
    extra : callable, optional
        ``extra(tmpdir)`` may add more files before the directory is moved into place.

    Examples
    --------
    >>> import dagmed, pandas as pd
    >>> spec = dagmed.parse("treatment t\\noutcome y\\nt -> y ~ bernoulli\\n")
    >>> res = dagmed.run(spec, pd.DataFrame({"t": [0, 1, 1, 0], "y": [1, 0, 1, 0]}))  # doctest: +SKIP
    >>> sorted(p.name for p in write(res, "out").iterdir())  # doctest: +SKIP
    ['effects.csv', 'effects.json', 'idata.nc', 'regimes.csv', 'spec.dag']
    """
    out = Path(out).resolve()  # a symlink's target is what gets replaced, not the link
    parent = check_writable(out)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=parent))
    try:
        (tmp / "effects.json").write_text(json.dumps(effects_document(result), indent=2) + "\n")
        result.effects.rename_axis("name").reset_index().to_csv(tmp / "effects.csv", index=False)
        result.regimes.to_csv(tmp / "regimes.csv", index=False)
        result.idata.to_netcdf(str(tmp / "idata.nc"))
        (tmp / "spec.dag").write_text(result.analysis.spec.text, encoding="utf-8")
        if extra is not None:
            extra(tmp)
        if out.exists():
            check_writable(out)  # again: a file may have appeared while sampling
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
