"""Files the user names: read a YAML mapping safely, write a new file atomically, never replace one.

The small rules every command that reads or writes a user's file follows: a YAML file is
read with ``yaml.safe_load`` (imported only then), an output file that exists is refused
(nothing of the user's is replaced), and a file is written beside its target and linked into
place, so it is never half-written.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import UsageError


def read_mapping(path, noun: str, form: str) -> dict:
    """A YAML mapping from a file, read safely (``yaml.safe_load``); an empty file is ``{}``.

    Parameters
    ----------
    path : str or path
    noun : str
        What the file is, for the messages (``"config"``, ``"params file"``).
    form : str
        What its entries look like, for the messages (``"option: value"``).

    Raises
    ------
    UsageError
        The file cannot be read, is not valid YAML (located) or is not a mapping.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "c.yaml"
    >>> _ = p.write_text("- 1\\n")
    >>> read_mapping(p, "config", "option: value")
    Traceback (most recent call last):
    dagmed.errors.UsageError: config .../c.yaml must be a mapping of option: value
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {noun} {path}: {exc}") from None
    import yaml  # only when a YAML file is read: ``import dagmed`` stays light

    try:
        value = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = {"line": mark.line + 1, "column": mark.column + 1} if mark else {}
        raise UsageError(
            f"{noun} is not valid YAML: {getattr(exc, 'problem', exc)}", source=str(path), **where
        ) from None
    if not isinstance(value, dict):
        raise UsageError(f"{noun} {path} must be a mapping of {form}")
    return value


def check_distinct(paths) -> None:
    """Refuse two outputs that are one file (``--out d.csv --truth d.csv``).

    Examples
    --------
    >>> check_distinct([Path("a.csv"), Path("./a.csv")])
    Traceback (most recent call last):
    dagmed.errors.UsageError: a.csv is given twice as an output (--out and --truth must differ)
    """
    seen = set()
    for p in paths:
        key = Path(p).resolve()
        if key in seen:
            raise UsageError(f"{p} is given twice as an output (--out and --truth must differ)")
        seen.add(key)


def check_new_file(path: Path) -> None:
    """Refuse an output file that exists or whose directory does not (nothing is replaced).

    Examples
    --------
    >>> check_new_file(Path("no/such/dir/data.csv"))
    Traceback (most recent call last):
    dagmed.errors.UsageError: no/such/dir/data.csv: the directory no/such/dir does not exist
    """
    path = Path(path)
    if path.exists():
        raise UsageError(f"{path} exists already: remove it or choose another name")
    if not path.parent.is_dir():
        raise UsageError(f"{path}: the directory {path.parent} does not exist")


def write_atomically(path: Path, text: str) -> None:
    """Write into a temporary file beside ``path``, then rename: never a half-written file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # the permissions of an ordinary new file, not mkstemp's 0600
        try:
            os.link(tmp, path)  # unlike a rename, a link never replaces a file that appeared meanwhile
        except FileExistsError:
            raise UsageError(f"{path} exists already: remove it or choose another name") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
