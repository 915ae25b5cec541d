"""dagmed: Bayesian causal mediation analysis from a checked DAG.

The pipeline, one module per stage::

    text --parser--> SpecIR --resolver--> Spec --graph/checks--> Analysis
         --data--> Dataset --compiler--> pm.Model --fit--> InferenceData
         --decompose--> regimes and effects --output--> files

Only ``compiler`` and ``fit`` import PyMC; :func:`load`, :func:`parse` and :func:`check`
stay light.
"""

from __future__ import annotations

from pathlib import Path

from . import checks, parser, resolver
from .errors import DagmedError, DataError, SamplingError, SpecError, SpecSyntaxError, UsageError
from .ir import Spec
from .simulate import simulate  # binds the function over the submodule of the same name (PyMC imported on call)

__version__ = "0.1.0"

__all__ = [
    "DagmedError",
    "DataError",
    "SamplingError",
    "Spec",
    "SpecError",
    "SpecSyntaxError",
    "UsageError",
    "analyse",
    "check",
    "compile",
    "load",
    "load_data",
    "parse",
    "run",
    "simulate",
]


def parse(text: str, source: str = "<string>") -> Spec:
    """Parse and resolve spec text into a :class:`~dagmed.ir.Spec`.

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


def analyse(spec: Spec) -> checks.Analysis:
    """Roles and check verdicts for ``spec`` (problems collected, not raised).

    Only a cycle or an outcome the treatment cannot reach is raised: roles mean nothing then.

    Examples
    --------
    >>> a = analyse(parse("treatment t\\noutcome y\\nt -> m -> y\\nm, y ~ bernoulli\\nt <-> y\\n"))
    >>> a.mediators, a.ok
    (('m',), False)
    >>> print(a.problems[0])
    <string>:5:1: latent node U_t_y is a common cause of t and y: the effects are not identified (t <- U_t_y -> y)
    """
    return checks.analyse(spec)


def check(spec: Spec) -> checks.Analysis:
    """Roles for ``spec``; raises the first problem that makes the analysis ill posed.

    Examples
    --------
    >>> a = check(parse("treatment t\\noutcome y\\nx -> t, y\\nt -> m -> y\\nt -> y\\nm, y ~ bernoulli\\n"))
    >>> a.mediators, a.covariates
    (('m',), ('x',))
    >>> check(parse("treatment t\\noutcome y\\nt -> m -> y\\nm, y ~ bernoulli\\nt <-> y\\n"))
    Traceback (most recent call last):
    dagmed.errors.SpecError: <string>:5:1: latent node U_t_y is a common cause of t and y: ...
    """
    return checks.check(spec)


def load_data(spec: Spec, data=None):
    """Load and code the data for ``spec`` (see :func:`dagmed.data.load`).

    Parameters
    ----------
    spec : Spec
    data : str, path or pandas.DataFrame, optional
        Overrides the spec's ``data`` statement.

    Examples
    --------
    >>> import pandas as pd
    >>> spec = parse("treatment t\\noutcome y\\nt -> y ~ bernoulli\\n")
    >>> ds = load_data(spec, pd.DataFrame({"t": [0, 1, 1, None], "y": [1, 0, 1, 1]}))
    >>> ds.n_obs, ds.n_dropped, ds["y"]
    (3, 1, array([1., 0., 1.]))
    """
    from . import data as _data

    return _data.load(checks.check(spec), data)


def compile(spec: Spec, data=None):  # noqa: A001 - the documented API name
    """Compile ``spec`` into a ``pm.Model`` with ``data`` attached.

    The generative model of :func:`dagmed.compiler.build` with the data attached by
    :func:`dagmed.compiler.attach`.

    Examples
    --------
    >>> import pandas as pd
    >>> spec = parse("treatment t\\noutcome y\\nt -> y ~ bernoulli\\n")
    >>> model = compile(spec, pd.DataFrame({"t": [0, 1, 1, 0], "y": [1, 0, 1, 0]}))
    >>> sorted(v.name for v in model.free_RVs)
    ['y_beta', 'y_intercept']
    """
    from . import compiler as _compiler
    from . import data as _data

    analysis = checks.check(spec)
    dataset = _data.load(analysis, data)
    return _compiler.attach(_compiler.build(analysis, dataset.n_obs), dataset)


def run(spec: Spec, data=None, **options):
    """Check, compile, fit and decompose; returns a :class:`dagmed.api.Result`.

    ``options`` are those of :func:`dagmed.api.run`: draws, tune, chains, cores, seed,
    target_accept, sampler, progressbar, convention, hdi_prob, log.

    Examples
    --------
    >>> import pandas as pd
    >>> spec = parse("treatment t\\noutcome y\\nt -> m -> y\\nt -> y\\nm, y ~ bernoulli\\n")
    >>> df = pd.DataFrame({"t": [0, 1] * 10, "m": [0, 1, 1, 0, 1] * 4, "y": [0, 0, 1, 1] * 5})
    >>> res = run(spec, df, draws=500, chains=2, seed=1)  # doctest: +SKIP
    >>> list(res.effects.index)  # doctest: +SKIP
    ['TE', 'DE', 'IIE[m]', 'DEP', 'PM[m]']
    """
    from . import api

    return api.run(spec, data, **options)
