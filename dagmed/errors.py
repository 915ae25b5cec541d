"""Every error dagmed reports, in one small hierarchy.

Each error carries where it happened (a spec file's line and column, or a data file's
column, row and value) and formats itself as the one line the command line prints.
Exit codes: 2 usage and spec syntax, 3 model and assumptions, 4 data, 5 sampling.
"""

from __future__ import annotations


class DagmedError(Exception):
    """Base class: a message plus an optional location in a source file.

    Parameters
    ----------
    message : str
        What is wrong, naming the culprit.
    source : str, optional
        The file (or ``"<string>"``) the error is located in.
    line, column : int, optional
        1-based position in ``source``.
    text : str, optional
        The full source text, used to print the offending line with a caret.
    """

    exit_code = 1

    def __init__(self, message, *, source=None, line=None, column=None, text=None):
        super().__init__(message)
        self.message = message
        self.source = source
        self.line = line
        self.column = column
        self.text = text

    def location(self) -> str:
        parts = [str(p) for p in (self.source, self.line, self.column) if p is not None]
        return ":".join(parts)

    def __str__(self) -> str:
        loc = self.location()
        return f"{loc}: {self.message}" if loc else self.message

    def excerpt(self) -> str:
        """The offending source line with a caret under the column ('' if unknown)."""
        if self.text is None or self.line is None:
            return ""
        lines = self.text.splitlines()
        if not 1 <= self.line <= len(lines):
            return ""
        src = lines[self.line - 1].expandtabs(1)
        col = max(1, self.column or 1)
        return f"    {src}\n    {' ' * (col - 1)}^"


class UsageError(DagmedError):
    """Bad command-line usage or configuration."""

    exit_code = 2


class SpecSyntaxError(DagmedError):
    """The spec text does not follow the grammar."""

    exit_code = 2


class SpecError(DagmedError):
    """The spec is well formed but the model or its assumptions are not sound."""

    exit_code = 3


class DataError(DagmedError):
    """The data cannot be used for this spec."""

    exit_code = 4


class SamplingError(DagmedError):
    """Sampling failed or was interrupted."""

    exit_code = 5
