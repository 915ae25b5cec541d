"""The family table: one row per GLM family, one object per link and per support.

Everything dagmed knows about a family lives in its row, as in bambi's family table: the
PyMC likelihood and the name of its mean parameter, the link (its NumPy, pytensor and
numba forms, the scale its coefficients are on, the range of the mean), the extra
parameters with their default priors, what the data may hold (with the message that says
so, and how a missing value is modelled), the default priors of the intercept and
coefficients, the NumPy log density, the branch of the fast compiled density and the
statsmodels family of the implication tests. The resolver, the data loader, the compiler,
the fast density, the implication tests, the decomposition and the pictures all read these
rows; none of them holds a table of its own. Adding a family is adding a row (and a branch
to the compiled density, whose code the row names).

Nothing here imports PyMC, pytensor or statsmodels at import time: the pytensor form of a
link is looked up when the compiler asks for it, the statsmodels family by its name.

Examples
--------
>>> FAMILIES["bernoulli"].link.name, FAMILIES["bernoulli"].link.scale
('logit', 'log-odds')
>>> float(FAMILIES["bernoulli"].link.inverse(np.array(0.0)))
0.5
>>> [p.name for p in FAMILIES["normal"].extras]
['sigma']
>>> FAMILIES["poisson"].support.bad(np.array([0.0, 2.0, -1.0, 1.5])).tolist()
[False, False, True, True]
>>> round(float(FAMILIES["poisson"].logp(np.array(2.0), np.array(0.0), {})), 6)  # log(e^-1 / 2!)
-1.693147
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .vocabulary import lookup


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
        The compiled regime kernel's code for this link (``dagmed.effects.kernel._inv``).
    affine : bool
        The mean is affine in the linear predictor, so the expectation of a mean over a
        parent's distribution is the mean at the parent's expectation (MATH.md section 6).
    scale : str
        What a coefficient is on this link's scale, in words (``log-odds``).
    mean_range : tuple of float
        The open range of the mean; a fitted mean at its edge means separation.
    """

    name: str
    inverse: Callable[[np.ndarray], np.ndarray]
    tensor_name: str | None
    code: int
    affine: bool
    scale: str
    mean_range: tuple[float, float]
    tensor_fn: Callable | None = None  # the pytensor form when it is not one function of pytensor.tensor
    vector: bool = False  # one linear predictor per level but the first (a categorical node's)

    def tensor(self, eta):
        """The pytensor form of :attr:`inverse`."""
        if self.tensor_fn is not None:
            return self.tensor_fn(eta)
        if self.tensor_name is None:
            return eta
        import pytensor.tensor as pt

        return getattr(pt, self.tensor_name)(eta)


def _logistic(eta):
    # 0.5 (1 + tanh(eta / 2)): stable for any eta, no overflow warning. Computed in one array,
    # in place (the same operations in the same order: the same bits), so that a large eta
    # makes one new array instead of three (the decomposition's marginals, per draw and row).
    out = np.multiply(eta, 0.5)
    if np.ndim(out) == 0:
        return 0.5 * (1.0 + np.tanh(0.5 * eta))
    np.tanh(out, out=out)
    out += 1.0
    out *= 0.5
    return out


LINKS = {
    "logit": Link("logit", _logistic, "sigmoid", 0, False, "log-odds", (0.0, 1.0)),
    # an ordinal node's, P(Y > l) = logistic(eta - c_l): the likelihood (OrderedLogistic) takes the
    # linear predictor itself, and the decomposition the level probabilities (Family.probs)
    "cumulative logit": Link(
        "cumulative logit", lambda eta: eta, None, -1, False, "cumulative log-odds", (-np.inf, np.inf)
    ),
    "identity": Link("identity", lambda eta: eta, None, 1, True, "slope", (-np.inf, np.inf)),
    "log": Link("log", np.exp, "exp", 2, False, "log rate ratio", (0.0, np.inf)),
}


def _softmax_reference(eta):
    """Level probabilities from the predictors of the levels but the first (whose predictor is 0): last axis."""
    eta = np.asarray(eta, dtype=float)
    full = np.concatenate([np.zeros(eta.shape[:-1] + (1,)), eta], axis=-1)
    full = np.exp(full - full.max(axis=-1, keepdims=True))
    return full / full.sum(axis=-1, keepdims=True)


def _tensor_softmax_reference(eta):
    import pytensor.tensor as pt  # only when a model is built: ``import dagmed`` stays light

    zero = pt.zeros_like(eta[..., :1])
    return pt.special.softmax(pt.concatenate([zero, eta], axis=-1), axis=-1)


# a categorical node's: one linear predictor per level but the first, the probabilities their softmax
LINKS["multinomial logit"] = Link(
    "multinomial logit",
    _softmax_reference,
    None,
    -1,
    False,
    "log-odds against the first level",
    (0.0, 1.0),
    tensor_fn=_tensor_softmax_reference,
    vector=True,
)

# How a missing value of a node is modelled (``missing model``), by its support.
SUMMED, SAMPLED = "summed out", "sampled"


@dataclass(frozen=True)
class Support:
    """What a family's data column may hold, and what follows from it.

    Attributes
    ----------
    name : str
        ``"binary"``, ``"ordinal"`` (the integers ``0..L-1``, ``L`` given by the spec),
        ``"count"`` or ``"real"``.
    bad : callable
        True where a value is outside the support.
    expected : str
        Completes "value 7 is not ...", e.g. ``"0 or 1 (bernoulli)"``.
    binary : bool
        Two values, 0 and 1: enumerated exactly by the decomposition.
    levels : bool
        Finitely many levels ``0..L-1``, their number a property of the node (``ordinal(5)``):
        enumerated exactly, and a parent enters its children's equations by one indicator per
        level but the first.
    integer : bool
        Integer values: written without a decimal point.
    missing : str or None
        How a missing value is modelled: :data:`SUMMED` (a finite support, summed out of
        the row's likelihood), :data:`SAMPLED` (a latent variable for NUTS), or None when
        neither can be done.
    """

    name: str
    bad: Callable[[np.ndarray], np.ndarray]
    expected: str
    binary: bool = False
    integer: bool = False
    missing: str | None = None
    levels: bool = False

    @property
    def finite(self) -> bool:
        """Finitely many values: a mediator's distribution is enumerated exactly."""
        return self.binary or self.levels


SUPPORTS = {
    "binary": Support(
        "binary", lambda v: ~np.isin(v, (0.0, 1.0)), "0 or 1 (bernoulli)", binary=True, integer=True, missing=SUMMED
    ),
    "count": Support(
        "count",
        lambda v: (v < 0) | (v != np.round(v)) | ~np.isfinite(v),
        "a non-negative integer (a count)",
        integer=True,
    ),
    "real": Support("real", lambda v: ~np.isfinite(v), "a finite number", missing=SAMPLED),
    # the number of levels is the node's: the data loader checks the upper end
    "ordinal": Support(
        "ordinal",
        lambda v: (v < 0) | (v != np.round(v)) | ~np.isfinite(v),
        "an integer level 0, 1, ... (ordinal)",
        integer=True,
        levels=True,
    ),
    "categorical": Support(
        "categorical",
        lambda v: (v < 0) | (v != np.round(v)) | ~np.isfinite(v),
        "a level 0, 1, ... (categorical)",
        integer=True,
        levels=True,
    ),
}


@dataclass(frozen=True)
class Param:
    """An extra parameter of a family's likelihood (beyond the mean), e.g. a normal's sigma.

    ``per_level``: one value per level above the second (an ordinal node's gaps between
    its cutpoints), a vector along ``<node>_gaps``; else a scalar.
    """

    name: str
    default_prior: tuple[str, tuple[float, ...]]
    positive: bool = True  # its prior must have positive support
    per_level: bool = False


def _logp_bernoulli(v, eta, extras):
    return v * eta - np.logaddexp(0.0, eta)


def _logp_normal(v, eta, extras):
    sigma = extras["sigma"]
    return -0.5 * ((v - eta) / sigma) ** 2 - np.log(sigma) - 0.5 * np.log(2 * np.pi)


def _logp_studentt(v, eta, extras):
    from scipy.special import gammaln  # scipy only when a Student-t node is evaluated: ``import dagmed`` stays light

    sigma, nu = extras["sigma"], extras["nu"]
    z = (v - eta) / sigma
    return (
        gammaln(0.5 * (nu + 1.0))
        - gammaln(0.5 * nu)
        - 0.5 * np.log(nu * np.pi)
        - np.log(sigma)
        - 0.5 * (nu + 1.0) * np.log1p(z * z / nu)
    )


def _logp_negbinomial(v, eta, extras):
    from scipy.special import gammaln  # scipy only when a count is evaluated: ``import dagmed`` stays light

    alpha = extras["alpha"]  # PyMC's: the variance is mu + mu^2 / alpha
    log_mu = eta
    return (
        gammaln(v + alpha)
        - gammaln(alpha)
        - gammaln(v + 1.0)
        + alpha * (np.log(alpha) - np.logaddexp(np.log(alpha), log_mu))
        + v * (log_mu - np.logaddexp(np.log(alpha), log_mu))
    )


def _logp_poisson(v, eta, extras):
    return v * eta - np.exp(eta) + _log_factorial_term(v)


def _log_factorial_term(v):
    from scipy.special import gammaln  # scipy only when a count is evaluated: ``import dagmed`` stays light

    return -gammaln(np.asarray(v, dtype=float) + 1.0)


def _probs_bernoulli(eta, extras):
    p = _logistic(eta)
    return np.stack([1.0 - p, p], axis=-1)


def _cutpoints(gaps):
    """``[0, g_1, g_1 + g_2, ...]``: an ordinal node's cutpoints from its positive gaps (last axis)."""
    zero = np.zeros(np.shape(gaps)[:-1] + (1,))
    return np.concatenate([zero, np.cumsum(gaps, axis=-1)], axis=-1)


def _probs_ordinal(eta, extras):
    """``P(Y = l)``, ``l = 0..L-1``, on a new last axis: ``P(Y > l) = logistic(eta - c_l)``.

    ``extras["gaps"]`` holds the ``L - 2`` positive gaps between the cutpoints on its last
    axis (its other axes broadcast against ``eta``); the first cutpoint is 0, the intercept
    in ``eta`` taking its place.
    """
    c = _cutpoints(np.asarray(extras["gaps"], dtype=float))
    above = _logistic(np.asarray(eta)[..., None] - c)  # P(Y > l), l = 0..L-2
    one = np.ones(above.shape[:-1] + (1,))
    zero = np.zeros(above.shape[:-1] + (1,))
    return np.concatenate([one, above], axis=-1) - np.concatenate([above, zero], axis=-1)


def _logp_ordinal(v, eta, extras):
    p = _probs_ordinal(eta, extras)
    v = np.broadcast_to(np.asarray(v, dtype=np.int64), p.shape[:-1])
    return np.log(np.take_along_axis(p, v[..., None], axis=-1)[..., 0])


def _probs_categorical(eta, extras):
    """``P(Y = l)``, ``l = 0..L-1``: the softmax of ``[0, eta_1, ..., eta_{L-1}]`` (``eta``'s last axis)."""
    return _softmax_reference(eta)


def _logp_categorical(v, eta, extras):
    eta = np.asarray(eta, dtype=float)
    full = np.concatenate([np.zeros(eta.shape[:-1] + (1,)), eta], axis=-1)
    v = np.broadcast_to(np.asarray(v, dtype=np.int64), full.shape[:-1])
    top = full.max(axis=-1)
    lse = top + np.log(np.exp(full - top[..., None]).sum(axis=-1))
    return np.take_along_axis(full, v[..., None], axis=-1)[..., 0] - lse


def _tensor_ordinal(extras):
    """PyMC's ``OrderedLogistic`` arguments from the gaps: the cutpoints ``[0, cumsum(gaps)]``."""
    import pytensor.tensor as pt  # only when a model is built: ``import dagmed`` stays light

    gaps = extras["gaps"]
    return {"cutpoints": pt.concatenate([pt.zeros(1), pt.cumsum(gaps)])}


def _no_term(v):
    return np.zeros(np.shape(v))


@dataclass(frozen=True)
class Family:
    """One row of the family table.

    Attributes
    ----------
    name : str
    likelihood : str
        The PyMC distribution class.
    mean_param : str
        The argument of ``likelihood`` that takes the mean.
    link : Link
    extras : tuple of Param
        Parameters beyond the mean (a normal's sigma), with their default priors.
    support : Support
    default_intercept, default_beta : (str, tuple of float)
        Default priors of the intercept and the coefficients.
    logp : callable
        NumPy log density ``logp(value, eta, extras)`` in the linear predictor ``eta``,
        ``extras`` mapping each extra parameter's name to its value.
    fast : int
        The branch of the fast compiled density (:func:`dagmed.fit.fastglm.logp_grad`).
    value_term : callable
        ``value -> `` the part of the log density that depends on the value alone
        (``-log y!`` for a count): the fast density adds it once per distinct row.
    statsmodels : str
        The class in ``statsmodels.genmod.families`` with this family's canonical link.
    probs : callable or None
        A finite support's level probabilities ``probs(eta, extras) -> (..., L)``: what the
        decomposition enumerates (None for infinite supports).
    tensor_extras : callable or None
        The likelihood's arguments from the extra parameters' tensors, when they are not the
        extras themselves (an ordinal node's cutpoints from its gaps).
    model_options : tuple of (str, object)
        Keyword arguments of the likelihood in a model (not of its ``.dist``): an ordinal
        node's ``compute_p=False``, which keeps every row's level probabilities out of the posterior.
    cluster_sd : (str, tuple of float)
        Default prior of the sd of a node's cluster intercepts (``cluster`` statements): on
        the scale of the linear predictor, as the intercept's.
    residual_variance : callable or None
        ``extras -> `` the variance of the node's residual on the scale of its linear predictor
        (``pi^2 / 3`` for a logit, ``sigma^2`` for a normal node): the denominator of the
        intraclass correlation besides the cluster variances; None where none is defined (counts).
    """

    name: str
    likelihood: str
    mean_param: str
    link: Link
    extras: tuple[Param, ...]
    support: Support
    default_intercept: tuple[str, tuple[float, ...]]
    default_beta: tuple[str, tuple[float, ...]]
    logp: Callable = None
    fast: int = -1
    value_term: Callable = _no_term
    statsmodels: str | None = None
    probs: Callable | None = None
    tensor_extras: Callable | None = None
    model_options: tuple = ()
    cluster_sd: tuple[str, tuple[float, ...]] = ("halfnormal", (1.0,))
    residual_variance: Callable | None = None

    def extra(self, name: str) -> Param | None:
        return next((p for p in self.extras if p.name == name), None)

    def default_prior(self, param: str) -> tuple[str, tuple[float, ...]]:
        """``(distribution, arguments)`` of the default prior of ``intercept``, ``beta`` or an extra."""
        if param == "intercept":
            return self.default_intercept
        if param == "beta":
            return self.default_beta
        return self.extra(param).default_prior

    @property
    def vector(self) -> bool:
        """One linear predictor per level but the first: the intercept and each coefficient have a level axis."""
        return self.link.vector

    @property
    def continuous(self) -> bool:
        """Real values with an affine link: the linear models of Example 1."""
        return self.support.name == "real" and self.link.affine


def _logistic_variance(extras):
    """pi^2 / 3: the variance of the standard logistic, a logit model's residual on its latent scale."""
    return np.pi**2 / 3


# Defaults reproduce the reference analyses: Normal(0, 1) on the logit scale
# (Example 2), Normal(0, 10) and HalfCauchy(1) for linear models (Example 1).
FAMILIES = {
    f.name: f
    for f in (
        Family(
            "bernoulli",
            "Bernoulli",
            "p",
            LINKS["logit"],
            (),
            SUPPORTS["binary"],
            ("normal", (0.0, 1.0)),
            ("normal", (0.0, 1.0)),
            _logp_bernoulli,
            0,
            _no_term,
            "Binomial",
            _probs_bernoulli,
            residual_variance=_logistic_variance,
        ),
        Family(
            "normal",
            "Normal",
            "mu",
            LINKS["identity"],
            (Param("sigma", ("halfcauchy", (1.0,))),),
            SUPPORTS["real"],
            ("normal", (0.0, 10.0)),
            ("normal", (0.0, 10.0)),
            _logp_normal,
            1,
            _no_term,
            "Gaussian",
            cluster_sd=("halfcauchy", (1.0,)),
            residual_variance=lambda extras: extras["sigma"] ** 2,
        ),
        # heavy tails: identity link, scale sigma and degrees of freedom nu, nu's prior Gamma(2, 0.1)
        # (Juarez & Steel 2010). No branch of the fast density (a run compiles the PyMC model with
        # nutpie instead) and no statsmodels family (its implications are reported untested).
        Family(
            "studentt",
            "StudentT",
            "mu",
            LINKS["identity"],
            (Param("sigma", ("halfcauchy", (1.0,))), Param("nu", ("gamma", (2.0, 0.1)))),
            SUPPORTS["real"],
            ("normal", (0.0, 10.0)),
            ("normal", (0.0, 10.0)),
            _logp_studentt,
            cluster_sd=("halfcauchy", (1.0,)),
            # the t's variance, sigma^2 nu / (nu - 2), exists for nu > 2 only
            residual_variance=lambda extras: np.where(
                extras["nu"] > 2, extras["sigma"] ** 2 * extras["nu"] / np.maximum(extras["nu"] - 2, 1e-300), np.nan
            ),
        ),
        # overdispersed counts: log link, the variance mu + mu^2 / alpha (PyMC's and bambi's alpha;
        # NB2's dispersion is 1 / alpha), alpha's prior HalfCauchy(1) as bambi's. No branch of the
        # fast density and no statsmodels family (its GLM fixes the dispersion): the fallbacks of studentt.
        Family(
            "negbinomial",
            "NegativeBinomial",
            "mu",
            LINKS["log"],
            (Param("alpha", ("halfcauchy", (1.0,))),),
            SUPPORTS["count"],
            ("normal", (0.0, 1.0)),
            ("normal", (0.0, 1.0)),
            _logp_negbinomial,
        ),
        # Likert items and other ordered levels 0..L-1: cumulative logit, P(Y > l) = logistic(eta - c_l)
        # with c_0 = 0 (the intercept in eta sets the first threshold) and the positive gaps
        # c_l - c_{l-1} as parameters (HalfNormal(2): thresholds a few log-odds apart). PyMC's
        # OrderedLogistic; no fast branch, no statsmodels GLM (its implications are untested).
        Family(
            "ordinal",
            "OrderedLogistic",
            "eta",
            LINKS["cumulative logit"],
            (Param("gaps", ("halfnormal", (2.0,)), per_level=True),),
            SUPPORTS["ordinal"],
            ("normal", (0.0, 2.0)),
            ("normal", (0.0, 1.0)),
            _logp_ordinal,
            probs=_probs_ordinal,
            tensor_extras=_tensor_ordinal,
            model_options=(("compute_p", False),),
            residual_variance=_logistic_variance,
        ),
        # unordered levels 0..L-1 (the first the reference): multinomial logit, one intercept and one
        # coefficient per term for each level but the first (PyMC's Categorical of their softmax).
        # No fast branch, no statsmodels GLM: the fallbacks of studentt.
        Family(
            "categorical",
            "Categorical",
            "p",
            LINKS["multinomial logit"],
            (),
            SUPPORTS["categorical"],
            ("normal", (0.0, 2.0)),
            ("normal", (0.0, 1.0)),
            _logp_categorical,
            probs=_probs_categorical,
            residual_variance=_logistic_variance,
        ),
        Family(
            "poisson",
            "Poisson",
            "mu",
            LINKS["log"],
            (),
            SUPPORTS["count"],
            ("normal", (0.0, 1.0)),
            ("normal", (0.0, 1.0)),
            _logp_poisson,
            2,
            _log_factorial_term,
            "Poisson",
        ),
    )
}

# Every parameter a prior statement may target (``prior y.sigma = ...``).
PARAMS = {name: name for name in ("intercept", "beta", *sorted({p.name for f in FAMILIES.values() for p in f.extras}))}


def family(name: str, **loc) -> Family:
    """The row for ``name``, or one SpecError listing the valid families."""
    return lookup(FAMILIES, name, "family", **loc)
