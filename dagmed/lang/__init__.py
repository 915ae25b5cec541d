"""Stage 1, the spec language: text -> statements (:mod:`.parser`) -> a resolved :class:`~dagmed.lang.ir.Spec`.

Its vocabulary is in rows: families (:mod:`.families`), prior distributions
(:mod:`.priors`), roles and policies (:mod:`.vocabulary`); :mod:`.fmt` prints a spec back.
"""

from __future__ import annotations

from pathlib import Path

from . import parser, resolver
from .ir import Spec


def parse(text: str, source: str = "<string>") -> Spec:
    """Parse and resolve spec text into a :class:`~dagmed.lang.ir.Spec`.

    Parameters
    ----------
    text : str
        The spec, in the language of the README.
    source : str
        The name errors are located in (a file name, or ``"<string>"``).

    Raises
    ------
    SpecSyntaxError
        The text does not follow the grammar (located, with the offending token).
    SpecError
        A statement does not resolve (an unknown family, a second treatment, ...).

    Examples
    --------
    >>> spec = parse("treatment t\\noutcome y\\nt -> m -> y ~ bernoulli\\nt -> y\\nm ~ bernoulli\\n")
    >>> spec.treatment, spec.outcome
    ('t', 'y')
    >>> parse("treatment t\\noutcome y\\nt -> -> y\\n")
    Traceback (most recent call last):
    dagmed.errors.SpecSyntaxError: <string>:3:6: unexpected '->'; expected a name
    """
    return resolver.resolve(parser.parse(text, source))


def load(path) -> Spec:
    """Read, parse and resolve a spec file; errors are located in ``path``.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "s.dag"
    >>> _ = path.write_text("treatment t\\noutcome y\\nt -> y ~ bernoulli\\n")
    >>> load(path) == parse(path.read_text())
    True
    """
    return resolver.resolve(parser.read(Path(path)))
