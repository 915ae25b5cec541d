"""Progress bars for long work, on a terminal's stderr only (rich, which PyMC requires already)."""

from __future__ import annotations

import sys
from contextlib import contextmanager


@contextmanager
def progress(label: str, total: float, show: bool, eta: bool = False, done: float = 0):
    """A progress bar on a terminal's stderr that goes away when done; yields ``advance(amount=1)``.

    ``eta`` adds the time remaining; ``done`` is how much is done already (a resumed study).

    Nothing is shown when ``show`` is false or stderr is not a terminal (a log file, a pipe).

    Examples
    --------
    >>> with progress("work", 3, show=False) as advance:
    ...     advance()
    """
    if not show or not sys.stderr.isatty():
        yield lambda amount=1: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (TextColumn(f"{label}:"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    if eta:
        columns += (TextColumn("ETA"), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total, completed=done)
        yield lambda amount=1: bar.advance(task, amount)
