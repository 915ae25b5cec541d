r"""The one reader of the posterior: each modelled node's parameter draws, flattened over chains.

The decomposition, the missing-value weights and the prior-sensitivity likelihood all read
the posterior through :meth:`Draws.from_posterior`, by the parameter names and
coordinates of the :class:`~dagmed.model.ir.ModelIR`: draws are flattened chain-major
(chain 0's draws first), the order of every ``(chain, draw)`` array reshaped to one axis.

Examples
--------
>>> import dagmed, xarray as xr
>>> from dagmed.model.ir import ModelIR
>>> ir = ModelIR.from_analysis(dagmed.check(dagmed.parse("treatment t\noutcome y\nt -> y ~ normal\n")))
>>> post = xr.Dataset({"y_intercept": (("chain", "draw"), [[0.0, 1.0], [2.0, 3.0]]),
...                    "y_beta": (("chain", "draw", "y_parents"), [[[5.0], [6.0]], [[7.0], [8.0]]]),
...                    "y_sigma": (("chain", "draw"), [[1.0, 1.0], [2.0, 2.0]])},
...                   coords={"y_parents": ["t"]})
>>> d = Draws.from_posterior(post, ir)
>>> y = d["y"]
>>> y.intercept.tolist(), y.coef("t").tolist(), y.extras["sigma"].tolist(), d.n_draws
([0.0, 1.0, 2.0, 3.0], [5.0, 6.0, 7.0, 8.0], [1.0, 1.0, 2.0, 2.0], 4)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..lang.families import Family
from . import names
from .clusters import ClusterDraws
from .ir import INTERCEPT, Term, split_factor

SAMPLE_DIMS = ("chain", "draw")


@dataclass(frozen=True, eq=False)
class NodeDraws:
    """Posterior draws of one node's GLM: ``(S,)`` and ``(S, P)`` arrays.

    Attributes
    ----------
    family : Family
    intercept : numpy.ndarray
        ``(S,)``; a categorical node's ``(S, L - 1)``, one per level but the first.
    beta : numpy.ndarray
        ``(S, P)``: one column per design term; a categorical node's ``(S, P, L - 1)``.
    terms : tuple of str
        The names of the terms, in the order of ``beta``'s columns.
    extras : dict of str to numpy.ndarray
        Each extra parameter of the family (a normal's ``sigma``): ``(S,)``, or ``(S, L - 2)``
        for one per level (an ordinal node's gaps).

    Examples
    --------
    >>> from dagmed.lang.families import FAMILIES
    >>> m = NodeDraws(FAMILIES["bernoulli"], np.zeros(2), np.array([[1.0], [2.0]]), ("t",))
    >>> m.coef("t").tolist(), m.coef("x").tolist(), m.link.name
    ([1.0, 2.0], [0.0, 0.0], 'logit')
    """

    family: Family
    intercept: np.ndarray
    beta: np.ndarray
    terms: tuple[str, ...]
    extras: dict = field(default_factory=dict)
    clusters: dict = field(default_factory=dict)  # cluster column -> ClusterDraws (``cluster`` statements)

    @property
    def link(self):
        return self.family.link

    @property
    def n_draws(self) -> int:
        return self.intercept.size

    @property
    def factors(self) -> tuple[tuple[str, ...], ...]:
        """Each term's factors: ``("t",)`` for a main effect, ``("t", "m")`` for ``t:m``."""
        return tuple(Term.parse(t).factors for t in self.terms)

    @property
    def parents(self) -> tuple[str, ...]:
        """The nodes the design reads, each once, in the order of the terms."""
        return tuple(dict.fromkeys(split_factor(f)[0] for fs in self.factors for f in fs))

    def coef(self, term: str) -> np.ndarray:
        """Draws of the coefficient of ``term`` (zeros when the node has no such term)."""
        if term in self.terms:
            return self.beta[:, self.terms.index(term)]
        return np.zeros_like(self.intercept)

    def draws(self, s: slice) -> NodeDraws:
        """The same GLM restricted to draws ``s``."""
        return NodeDraws(
            self.family,
            self.intercept[s],
            self.beta[s],
            self.terms,
            {k: v[s] for k, v in self.extras.items()},
            {c: x.draws(s) for c, x in self.clusters.items()},
        )


@dataclass(frozen=True, eq=False)
class Draws:
    """Every modelled node's draws, and the latent values of missing continuous data.

    Attributes
    ----------
    nodes : dict of str to NodeDraws
    latent : dict of str to numpy.ndarray
        ``<node>_missing`` per node with missing continuous values: ``(S, n_missing)``.
    n_draws : int
    """

    nodes: dict
    latent: dict
    n_draws: int

    def __getitem__(self, node: str) -> NodeDraws:
        return self.nodes[node]

    @classmethod
    def from_posterior(cls, posterior, ir, latent=()) -> Draws:
        """Read the draws of ``ir``'s parameters (and of the ``latent`` nodes' missing values) from ``posterior``.

        Parameters
        ----------
        posterior : xarray.Dataset
            An ArviZ ``posterior`` group (or any Dataset with ``chain`` and ``draw``).
        ir : dagmed.model.ir.ModelIR
        latent : iterable of str
            Nodes whose ``<node>_missing`` latent values are read too.

        Raises
        ------
        KeyError
            A parameter of ``ir`` is not in ``posterior`` (named).
        """
        size = posterior.sizes["chain"] * posterior.sizes["draw"]

        def flat(name, dims=()):
            if name not in posterior:
                raise KeyError(f"the posterior has no {name}: it was not fitted to this model")
            x = posterior[name].transpose(*SAMPLE_DIMS, *dims)
            return np.asarray(x.values, dtype=np.float64).reshape((size,) + x.shape[2:])

        nodes = {}
        for node in ir.nodes:
            beta, extras = node.beta, {p.kind: flat(p.name, p.dims) for p in node.extras}
            # a known intercept (a transformed model's) is no parameter: its draws are its value
            intercept = flat(node.intercept.name, node.intercept.dims) if node.intercept is not None else np.zeros(size)
            b = flat(beta.name, beta.dims) if beta is not None else np.zeros((size, 0) + intercept.shape[1:])
            if beta is not None and tuple(map(str, posterior[beta.dim].values)) != beta.coords:
                raise KeyError(
                    f"{beta.name} has coordinates {tuple(posterior[beta.dim].values)}, the model "
                    f"{beta.coords}: it was not fitted to this model"
                )
            # known coefficients join the estimated ones as columns: every reader sees one design
            known = [np.broadcast_to(k.coefficient(extras), (size,)) for k in node.known if k.term != INTERCEPT]
            if known:
                b = np.column_stack([b, *known])
            intercept = intercept + sum(k.coefficient(extras) for k in node.known if k.term == INTERCEPT)
            nodes[node.name] = NodeDraws(
                node.family,
                intercept,
                b,
                node.term_names + tuple(t.name for t in node.known_terms),
                extras,
                {c.column: _cluster_draws(c, flat, posterior) for c in node.clusters},
            )
        lat = {v: flat(names.missing(v), (names.missing_dim(v),)) for v in latent}
        return cls(nodes, lat, size)


def _cluster_draws(c, flat, posterior) -> ClusterDraws:
    """One node's cluster effects by one column, read by ``flat(name, dims)``."""
    if c.slope is None:
        return ClusterDraws(c.column, flat(c.sd.name), flat(c.z, (c.dim,)))
    # a scalar; a posterior written by an older dagmed holds PyMC 5's LKJCorr, a vector of one
    corr = flat(c.corr.name, tuple(d for d in posterior[c.corr.name].dims if d not in SAMPLE_DIMS))
    return ClusterDraws(
        c.column,
        flat(c.sd.name),
        flat(c.z, (c.dim,)),
        c.slope,
        flat(c.slope_sd.name),
        flat(c.slope_z, (c.dim,)),
        corr.reshape(-1),
    )
