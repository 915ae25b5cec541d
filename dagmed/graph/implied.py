"""The conditional independencies the DAG implies among observed nodes, each testable in one node's GLM.

A DAG implies that each observed node is independent of its observed non-descendants given
its parents (the local Markov property, MATH.md section 3d). Each such independence that can
be tested in the node's own model is one :class:`Implication`; :mod:`dagmed.fit.implications`
tests them against the data.

Examples
--------
>>> import dagmed
>>> spec = dagmed.parse("treatment t\\noutcome y\\nt -> m1, m2 -> y\\nt -> y\\nm1, m2, y ~ bernoulli\\n")
>>> [str(i) for i in implications(dagmed.check(spec))]
['m2 ⟂ m1 | t']
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from . import dag
from .analysis import Analysis


@dataclass(frozen=True)
class Implication:
    """``node ⟂ candidate | given``: one conditional independence the graph implies.

    Attributes
    ----------
    node : str
        An observed node with a family: the test runs in its GLM.
    candidate : str
        An observed non-descendant of ``node`` that is not its parent.
    given : tuple of str
        ``node``'s observed parents, in the order of its equation
        (:func:`dagmed.dag.observed_parents`).

    Examples
    --------
    >>> str(Implication("sub_exp", "dev_peer", ("fam_int", "gender")))
    'sub_exp ⟂ dev_peer | fam_int, gender'
    >>> str(Implication("x2", "x1", ()))
    'x2 ⟂ x1'
    """

    node: str
    candidate: str
    given: tuple[str, ...]

    def __str__(self) -> str:
        given = f" | {', '.join(self.given)}" if self.given else ""
        return f"{self.node} ⟂ {self.candidate}{given}"

    @property
    def edge(self) -> str:
        """The edge that would explain a contradiction: ``candidate -> node``."""
        return f"{self.candidate} -> {self.node}"


# Ties in the topological order go by role, then spec order: a suggested edge then points
# from a covariate to the treatment rather than the other way round.
_ROLE_RANK = {"covariate": 0, "treatment": 1, "mediator": 2, "other": 3, "outcome": 4, "latent": 5}


def _topological(g: nx.DiGraph) -> list[str]:
    """A topological order of ``g``: covariates first, then treatment, mediators, other, outcome, as the edges allow."""
    rank = {n: (_ROLE_RANK[r], i) for i, (n, r) in enumerate(g.nodes(data="role"))}
    return list(nx.lexicographical_topological_sort(g, key=rank.__getitem__))


def implications(analysis: Analysis) -> list[Implication]:
    """Every conditional independence among observed nodes that the graph implies and a GLM can test.

    Each pair of non-adjacent observed nodes is tested once, in the model of the later of the
    two in a topological order (ties broken by role: covariates, treatment, mediators, other
    descendants of the treatment, outcome; then spec order), with the earlier as candidate: the
    suggested edge ``candidate -> node`` then keeps the graph acyclic. When the later node
    has no family (an exogenous covariate is not modelled) the pair is tested in the earlier
    node's model if the later is not its descendant. The independence must hold by
    d-separation given the node's observed parents; with latent nodes it may not (a latent
    common cause), and such a pair is not an implication.

    Parameters
    ----------
    analysis : Analysis
        From :func:`dagmed.check` (or :func:`dagmed.analyse`); the graph only, no data.

    Returns
    -------
    list of Implication
        Ordered by node, then candidate, in topological order.

    Examples
    --------
    >>> import dagmed
    >>> spec = dagmed.parse(
    ...     "treatment t\\noutcome y\\nx1 -> t\\nt -> m1, m2\\nx2 -> m2\\nt, m1, m2, x1 -> y\\n"
    ...     "x2, t, m1 ~ bernoulli\\nm2 ~ poisson\\ny ~ normal\\n")
    >>> for i in implications(dagmed.check(spec)):
    ...     print(i)
    x2 ⟂ x1
    t ⟂ x2 | x1
    m1 ⟂ x1 | t
    m1 ⟂ x2 | t
    m2 ⟂ x1 | t, x2
    m2 ⟂ m1 | t, x2
    y ⟂ x2 | t, m1, m2, x1

    A latent common cause leaves no implication between the two nodes it joins:

    >>> spec = dagmed.parse("treatment t\\noutcome y\\nt -> m1, m2 -> y\\nt -> y\\nm1 <-> m2\\nm1, m2, y ~ bernoulli\\n")
    >>> implications(dagmed.analyse(spec))
    []
    """
    g = analysis.graph
    order = [n for n in _topological(g) if g.nodes[n]["observed"]]
    found = []
    for j, later in enumerate(order):
        for earlier in order[:j]:
            if g.has_edge(earlier, later) or g.has_edge(later, earlier):
                continue
            for node, candidate in ((later, earlier), (earlier, later)):
                implication = _implied(g, node, candidate)
                if implication is not None:
                    found.append(implication)
                    break
    position = {n: i for i, n in enumerate(order)}
    return sorted(found, key=lambda i: (position[i.node], position[i.candidate]))


def _implied(g: nx.DiGraph, node: str, candidate: str) -> Implication | None:
    """``node ⟂ candidate | observed parents`` when ``node`` is modelled and it holds in ``g``."""
    if not g.nodes[node]["family"] or candidate in nx.descendants(g, node):
        return None
    given = tuple(dag.observed_parents(g, node))
    if not nx.is_d_separator(g, {node}, {candidate}, set(given)):
        return None
    return Implication(node, candidate, given)
