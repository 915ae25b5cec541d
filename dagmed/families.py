"""The family table: one row per GLM family, one object per link.

Everything dagmed knows about a family lives in its row, as in bambi's family table: the
PyMC likelihood and the name of its mean parameter, the link (with its NumPy, pytensor and
numba forms), the extra parameters with their default priors, what the data may hold
(with the message that says so), and the default priors of the intercept and
coefficients. The resolver, the data loader, the compiler and the decomposition all read
these rows; none of them holds a table of its own.

Nothing here imports PyMC or pytensor at import time: the pytensor form of a link is
looked up when the compiler asks for it.

Examples
--------
>>> FAMILIES["bernoulli"].link.name
'logit'
>>> float(FAMILIES["bernoulli"].link.inverse(np.array(0.0)))
0.5
>>> [p.name for p in FAMILIES["normal"].extras]
['sigma']
>>> FAMILIES["poisson"].support.bad(np.array([0.0, 2.0, -1.0, 1.5])).tolist()
[False, False, True, True]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .tables import lookup


@dataclass(frozen=True)
class Link:
    """A link function, by its inverse (the mean as a function of the linear predictor).

    Attributes
    ----------
    name : str
    inverse : callable
        NumPy form, ``mu = inverse(eta)``.
    tensor_name : str or None
        The pytensor.tensor function of the same inverse (None: the identity).
    code : int
        The numba kernel's code for this link (``dagmed.kernel._inv``).
    affine : bool
        The mean is affine in the linear predictor, so the expectation of a mean over a
        parent's distribution is the mean at the parent's expectation (MATH.md section 6).
    """

    name: str
    inverse: Callable[[np.ndarray], np.ndarray]
    tensor_name: str | None
    code: int
    affine: bool

    def tensor(self, eta):
        """The pytensor form of :attr:`inverse`."""
        if self.tensor_name is None:
            return eta
        import pytensor.tensor as pt

        return getattr(pt, self.tensor_name)(eta)


def _logistic(eta):
    return 0.5 * (1.0 + np.tanh(0.5 * eta))  # stable for any eta, no overflow warning


LINKS = {
    "logit": Link("logit", _logistic, "sigmoid", 0, affine=False),
    "identity": Link("identity", lambda eta: eta, None, 1, affine=True),
    "log": Link("log", np.exp, "exp", 2, affine=False),
}


@dataclass(frozen=True)
class Support:
    """What a family's data column may hold, and the message for a value that it may not."""

    name: str  # "binary", "count" or "real"
    bad: Callable[[np.ndarray], np.ndarray]  # True where a value is outside the support
    expected: str  # "0 or 1 (bernoulli)": completes "value 7 is not ..."
    binary: bool = False


SUPPORTS = {
    "binary": Support("binary", lambda v: ~np.isin(v, (0.0, 1.0)), "0 or 1 (bernoulli)", binary=True),
    "count": Support("count", lambda v: (v < 0) | (v != np.round(v)) | ~np.isfinite(v),
                     "a non-negative integer (poisson)"),
    "real": Support("real", lambda v: ~np.isfinite(v), "a finite number"),
}


@dataclass(frozen=True)
class Param:
    """An extra parameter of a family's likelihood (beyond the mean), e.g. a normal's sigma."""

    name: str
    default_prior: tuple[str, tuple[float, ...]]
    positive: bool = True  # its prior must have positive support


@dataclass(frozen=True)
class Family:
    """One row of the family table."""

    name: str
    likelihood: str  # the PyMC distribution class
    mean_param: str  # the argument of ``likelihood`` that takes the mean
    link: Link
    extras: tuple[Param, ...]
    support: Support
    default_intercept: tuple[str, tuple[float, ...]]
    default_beta: tuple[str, tuple[float, ...]]

    def extra(self, name: str) -> Param | None:
        return next((p for p in self.extras if p.name == name), None)

    def default_prior(self, param: str) -> tuple[str, tuple[float, ...]]:
        """``(distribution, arguments)`` of the default prior of ``intercept``, ``beta`` or an extra."""
        if param == "intercept":
            return self.default_intercept
        if param == "beta":
            return self.default_beta
        return self.extra(param).default_prior


# Defaults reproduce the reference analyses: Normal(0, 1) on the logit scale
# (Example 2), Normal(0, 10) and HalfCauchy(1) for linear models (Example 1).
FAMILIES = {
    "bernoulli": Family("bernoulli", "Bernoulli", "p", LINKS["logit"], (), SUPPORTS["binary"],
                        ("normal", (0.0, 1.0)), ("normal", (0.0, 1.0))),
    "normal": Family("normal", "Normal", "mu", LINKS["identity"], (Param("sigma", ("halfcauchy", (1.0,))),),
                     SUPPORTS["real"], ("normal", (0.0, 10.0)), ("normal", (0.0, 10.0))),
    "poisson": Family("poisson", "Poisson", "mu", LINKS["log"], (), SUPPORTS["count"],
                      ("normal", (0.0, 1.0)), ("normal", (0.0, 1.0))),
}

# Every parameter a prior statement may target (``prior y.sigma = ...``).
PARAMS = {name: name for name in ("intercept", "beta", *sorted({p.name for f in FAMILIES.values() for p in f.extras}))}


def family(name: str, **loc) -> Family:
    """The row for ``name``, or one SpecError listing the valid families."""
    return lookup(FAMILIES, name, "family", **loc)
