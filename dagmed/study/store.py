r"""A study's directory: what it was made with (``study.json``) and its fits (``results.csv``), appended whole.

Nothing finished is lost and nothing is done twice:

* ``results.csv`` is only ever appended to, by one writer (the driver process), each fit's rows
  in one ``write`` with SIGINT held back meanwhile, then flushed to disk (``fsync``): a kill
  leaves whole fits, never half a line. A last line without its newline (a power cut
  mid-write) is cut off when the study is resumed.
* ``study.json`` records the spec's text, the parameters, the sampling options, the
  convention and the seed. Rerunning into the same directory resumes: the (n, rep) pairs in
  ``results.csv`` are kept and not fitted again. A directory made with anything else is
  refused, naming the difference, since mixing fits of two designs would mean nothing
  (unless no fit of it finished: then it is simply started anew).
* A directory holding anything but a study's own files is refused: nothing of the user's
  is overwritten.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> d = Path(tempfile.mkdtemp()) / "study"
>>> store = Store(d, {"command": "power", "seed": 1}, ["n", "rep", "effect", "mean"])
>>> store.done
set()
>>> store.append([{"n": 100, "rep": 0, "effect": "TE", "mean": 0.25}])
>>> Store(d, {"command": "power", "seed": 1}, ["n", "rep", "effect", "mean"]).done
{(100, 0)}
>>> Store(d, {"command": "power", "seed": 2}, ["n", "rep", "effect", "mean"])
Traceback (most recent call last):
dagmed.errors.UsageError: .../study was made with another seed (1 there, 2 here): choose another --out, or rerun with the options it was made with
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import signal
from contextlib import contextmanager
from pathlib import Path

from ..errors import UsageError
from ..files import write_atomically

MANIFEST = "study.json"
RESULTS = "results.csv"
# the files a study writes: a directory holding only these (or nothing) is a study's
OWN = (MANIFEST, RESULTS, "summary.csv", "power.png", "ranks.png")
# what a difference in study.json is called in the refusal
WHAT = {
    "command": "another command",
    "spec": "another spec (its text differs)",
    "params": "other parameters",
    "sampling": "other sampling options",
    "convention": "another convention",
    "seed": "another seed",
    "data": "other data",
    "scale": "another scale",
}


class Store:
    """A study's directory, opened for resuming; or, with ``out=None``, its fits kept in memory only.

    Parameters
    ----------
    out : path or None
        The directory (made if absent).
    manifest : dict
        What the study is made with (written to ``study.json``; compared with an existing one).
    columns : sequence of str
        The columns of ``results.csv``.
    key : callable, optional
        A row's fit: the key :attr:`done` collects (default ``(n, rep)``).
    files : tuple of (str, str, tuple of str), optional
        The manifest's and the results' file names and every file the directory may hold
        (default ``study.json``, ``results.csv`` and a study's own).

    Raises
    ------
    UsageError
        ``out`` is a file, holds files that are not a study's, or was made with another
        design (the first difference is named).
    """

    def __init__(self, out, manifest: dict, columns, key=None, files=(MANIFEST, RESULTS, OWN)):
        self.out = None if out is None else Path(out)
        self.manifest = manifest
        self.columns = list(columns)
        self.rows: list[dict] = []
        self.key = key or (lambda r: (int(r["n"]), int(r["rep"])))
        manifest_name, self.results, own = files
        if self.out is None:
            return
        if self.out.exists() and not self.out.is_dir():
            raise UsageError(f"--out {self.out} is a file: choose a directory")
        self.out.mkdir(parents=True, exist_ok=True)
        strange = sorted(p.name for p in self.out.iterdir() if p.name not in own and not p.name.startswith("."))
        if strange:
            raise UsageError(
                f"--out {self.out} holds files that are not a dagmed study's ({', '.join(strange[:3])}"
                f"{', ...' if len(strange) > 3 else ''}): choose another directory"
            )
        path = self.out / manifest_name
        if path.exists():
            try:
                old = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise UsageError(f"{path} cannot be read ({exc}): choose another --out") from None
            if read_results(self.out / self.results, self.columns):
                _refuse_difference(self.out, old, manifest)
            else:  # no fit finished under the old design: nothing to keep, nothing to mix
                path.unlink()
                write_atomically(path, json.dumps(manifest, indent=2) + "\n")
        elif (self.out / self.results).exists():
            raise UsageError(f"--out {self.out} has {self.results} but no {manifest_name}: choose another directory")
        else:
            write_atomically(path, json.dumps(manifest, indent=2) + "\n")
        self.rows = read_results(self.out / self.results, self.columns)

    @property
    def done(self) -> set:
        """The fits done already: the (n, rep) pairs, or the keys of ``key``."""
        return {self.key(r) for r in self.rows}

    def append(self, rows: list[dict]) -> None:
        """One fit's rows, appended whole: one write, SIGINT held back until it is on disk."""
        self.rows.extend(rows)
        if self.out is None:
            return
        path = self.out / self.results
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=self.columns, extrasaction="ignore", lineterminator="\n")
        new = not path.exists() or path.stat().st_size == 0
        if new:
            writer.writeheader()
        writer.writerows({k: _cell(r.get(k)) for k in self.columns} for r in rows)
        data = buf.getvalue().encode("utf-8")
        with _sigint_held():
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)


def _cell(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return value


@contextmanager
def _sigint_held():
    """Ctrl-C waits until the block is done (POSIX main thread); elsewhere nothing changes."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    try:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    except (ValueError, OSError):
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _refuse_difference(out: Path, old: dict, new: dict) -> None:
    for key, what in WHAT.items():
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            names = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            detail = "; ".join(f"{k} {_shown(a.get(k))} there, {_shown(b.get(k))} here" for k in names[:4])
        elif key == "spec":
            detail = _first_line_differing(a or "", b or "")
        else:
            detail = f"{_shown(a)} there, {_shown(b)} here"
        raise UsageError(
            f"{out} was made with {what} ({detail}): choose another --out, or rerun with the options it was made with"
        )


def _shown(v) -> str:
    return "none" if v is None else json.dumps(v) if isinstance(v, (dict, list)) else str(v)


def _first_line_differing(a: str, b: str) -> str:
    la, lb = a.splitlines(), b.splitlines()
    for i in range(max(len(la), len(lb))):
        x = la[i] if i < len(la) else ""
        y = lb[i] if i < len(lb) else ""
        if x != y:
            return f"line {i + 1}: {x.strip()!r} there, {y.strip()!r} here"
    return "whitespace"


def read_results(path: Path, columns) -> list[dict]:
    """The rows of a ``results.csv``; a last line cut short (no newline) is removed from the file first.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "results.csv"
    >>> _ = p.write_text("n,rep,effect\\n100,0,TE\\n100,1,T")
    >>> read_results(p, ["n", "rep", "effect"]), p.read_text()
    ([{'n': '100', 'rep': '0', 'effect': 'TE'}], 'n,rep,effect\\n100,0,TE\\n')
    """
    path = Path(path)
    if not path.exists():
        return []
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        keep = data.rfind(b"\n") + 1
        with open(path, "r+b") as f:
            f.truncate(keep)
        data = data[:keep]
    reader = csv.DictReader(io.StringIO(data.decode("utf-8")))
    if reader.fieldnames is not None and list(reader.fieldnames) != list(columns):
        raise UsageError(f"{path}: its columns are not this study's: choose another --out")
    return list(reader)


def fits_done(out) -> int:
    """How many (n, rep) fits a study directory's ``results.csv`` holds (0 when there is none).

    Examples
    --------
    >>> fits_done("no/such/dir")
    0
    """
    path = Path(out) / RESULTS
    if not path.is_file():
        return 0
    with open(path, encoding="utf-8", newline="") as f:
        return len({(r.get("n"), r.get("rep")) for r in csv.DictReader(f)})
