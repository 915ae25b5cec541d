"""The prior distributions: one row each, everything dagmed knows about a distribution.

A row holds the PyMC class, the parameters (and which must be > 0), whether it suits a
scale, and what the fast density (:mod:`dagmed.fit.fastglm`) needs: its code in the
compiled log density, PyMC's default transform, the parameters as the kernel reads them
with the log normalising constant, and the centre a chain starts from. Everything before
the compile stage refers to a distribution by its plain name; nothing here imports PyMC.

Examples
--------
>>> PRIORS["halfnormal"].pymc, PRIORS["halfnormal"].scale
('HalfNormal', True)
>>> PRIORS["normal"].kernel({"mu": 1.0, "sigma": 2.0})[0]
(1.0, 2.0, 0.0)
>>> PRIORS["gamma"].centre({"alpha": 2.0, "beta": 4.0})
0.5
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

# PyMC's default transform of a parameter with this prior, as the fast density codes it.
NO_TRANSFORM, LOG, INTERVAL = 0, 1, 2
_LOG_2PI = math.log(2 * math.pi)


def _student_const(nu: float, sigma: float) -> float:
    return math.lgamma((nu + 1) / 2) - math.lgamma(nu / 2) - 0.5 * math.log(nu * math.pi) - math.log(sigma)


@dataclass(frozen=True)
class PriorDist:
    """One prior distribution.

    Attributes
    ----------
    name : str
        As the spec writes it (``normal``).
    pymc : str
        The PyMC distribution class.
    params : tuple of str
        Its parameters, in the order the spec may give them by position.
    positive_params : tuple of str
        Parameters that must be > 0.
    scale : bool
        Positive support: usable for a scale parameter (a normal node's sigma).
    code : int
        Its branch in the fast density's ``_prior_logp``.
    transform : int
        PyMC's default transform: :data:`NO_TRANSFORM`, :data:`LOG` or :data:`INTERVAL`.
    kernel : callable
        ``kwargs -> ((a, b, c), const)``: the parameters as the fast density reads them and
        the log normalising constant.
    centre : callable
        ``kwargs -> float``: where a chain starts before jitter.
    """

    name: str
    pymc: str
    params: tuple[str, ...]
    positive_params: tuple[str, ...]
    scale: bool
    code: int
    transform: int
    kernel: Callable[[dict], tuple[tuple[float, float, float], float]]
    centre: Callable[[dict], float]


PRIORS = {
    p.name: p
    for p in (
        PriorDist(
            "normal",
            "Normal",
            ("mu", "sigma"),
            ("sigma",),
            False,
            0,
            NO_TRANSFORM,
            lambda k: ((k["mu"], k["sigma"], 0.0), -0.5 * _LOG_2PI - math.log(k["sigma"])),
            lambda k: k["mu"],
        ),
        PriorDist(
            "studentt",
            "StudentT",
            ("nu", "mu", "sigma"),
            ("nu", "sigma"),
            False,
            1,
            NO_TRANSFORM,
            lambda k: ((k["mu"], k["sigma"], k["nu"]), _student_const(k["nu"], k["sigma"])),
            lambda k: k["mu"],
        ),
        PriorDist(
            "cauchy",
            "Cauchy",
            ("alpha", "beta"),
            ("beta",),
            False,
            2,
            NO_TRANSFORM,
            lambda k: ((k["alpha"], k["beta"], 0.0), -math.log(math.pi * k["beta"])),
            lambda k: k["alpha"],
        ),
        PriorDist(
            "laplace",
            "Laplace",
            ("mu", "b"),
            ("b",),
            False,
            3,
            NO_TRANSFORM,
            lambda k: ((k["mu"], k["b"], 0.0), -math.log(2 * k["b"])),
            lambda k: k["mu"],
        ),
        PriorDist(
            "uniform",
            "Uniform",
            ("lower", "upper"),
            (),
            False,
            10,
            INTERVAL,
            # -log(width) cancels the transform's log(width)
            lambda k: ((k["lower"], k["upper"], 0.0), 0.0),
            lambda k: 0.5 * (k["lower"] + k["upper"]),
        ),
        PriorDist(
            "halfnormal",
            "HalfNormal",
            ("sigma",),
            ("sigma",),
            True,
            4,
            LOG,
            lambda k: ((0.0, k["sigma"], 0.0), 0.5 * math.log(2 / math.pi) - math.log(k["sigma"])),
            lambda k: k["sigma"],
        ),
        PriorDist(
            "halfcauchy",
            "HalfCauchy",
            ("beta",),
            ("beta",),
            True,
            5,
            LOG,
            lambda k: ((0.0, k["beta"], 0.0), math.log(2 / math.pi) - math.log(k["beta"])),
            lambda k: k["beta"],
        ),
        PriorDist(
            "halfstudentt",
            "HalfStudentT",
            ("nu", "sigma"),
            ("nu", "sigma"),
            True,
            6,
            LOG,
            lambda k: ((0.0, k["sigma"], k["nu"]), math.log(2) + _student_const(k["nu"], k["sigma"])),
            lambda k: k["sigma"],
        ),
        PriorDist(
            "exponential",
            "Exponential",
            ("lam",),
            ("lam",),
            True,
            7,
            LOG,
            lambda k: ((k["lam"], 0.0, 0.0), math.log(k["lam"])),
            lambda k: 1.0 / k["lam"],
        ),
        PriorDist(
            "gamma",
            "Gamma",
            ("alpha", "beta"),
            ("alpha", "beta"),
            True,
            8,
            LOG,
            lambda k: ((k["alpha"], k["beta"], 0.0), k["alpha"] * math.log(k["beta"]) - math.lgamma(k["alpha"])),
            lambda k: k["alpha"] / k["beta"],
        ),
        PriorDist(
            "lognormal",
            "LogNormal",
            ("mu", "sigma"),
            ("sigma",),
            True,
            9,
            LOG,
            lambda k: ((k["mu"], k["sigma"], 0.0), -0.5 * _LOG_2PI - math.log(k["sigma"])),
            lambda k: math.exp(k["mu"]),
        ),
    )
}
