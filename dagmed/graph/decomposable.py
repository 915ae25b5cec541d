"""What the exact decomposition can handle, read off the graph and the families (MATH.md sections 3b, 6).

The checks ask :func:`unsupported` instead of holding the decomposition's limits
themselves; :func:`mediator_parents` is the mediator sub-DAG that the dependent-mediator
enumeration walks down.
"""

from __future__ import annotations

import numpy as np

from ..lang.families import FAMILIES


def mediator_parents(g, mediators) -> dict[str, tuple[str, ...]]:
    """Each mediator's mediator parents (the mediator sub-DAG), in spec order.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.DiGraph([("t", "m1"), ("t", "m2"), ("m1", "m2"), ("m1", "y"), ("m2", "y")])
    >>> mediator_parents(g, ("m1", "m2"))
    {'m1': (), 'm2': ('m1',)}
    """
    meds = list(mediators)
    return {m: tuple(p for p in meds if g.has_edge(p, m)) for m in meds}


def unsupported(g, mediators, outcome, products=()) -> list[tuple[str, str]]:
    """What the decomposition cannot handle: ``(node, reason)`` pairs, empty if nothing.

    The checker asks this instead of holding the decomposition's limits itself. Every
    mediator family under every outcome link is decomposed, dependent mediators too: binary
    ones by enumeration, the others on grids (:mod:`dagmed.effects.quadrature`: levels
    enumerated, counts summed, continuous mediators by quadrature with the error estimated),
    product terms evaluated at every grid value. Refused are an outcome with levels (its
    effects would be on each level's probability: not defined yet), and a count or Student-t
    mediator under an outcome whose mean is unbounded and not affine (a log link): the mean
    grows exponentially in the mediator, so its expectation may not exist.

    ``products`` are the spec's :class:`~dagmed.lang.ir.ProductTerm` entries (no product is
    refused today).

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.DiGraph([("t", "m"), ("m", "y"), ("t", "y")])
    >>> nx.set_node_attributes(g, {"t": None, "m": "studentt", "y": "poisson"}, "family")
    >>> unsupported(g, ("m",), "y")[0][1][:62]
    'mediator m has family studentt under a poisson outcome (log li'
    >>> nx.set_node_attributes(g, {"t": None, "m": "studentt", "y": "bernoulli"}, "family")
    >>> unsupported(g, ("m",), "y")
    []
    """
    fam = {n: g.nodes[n]["family"] for n in (*mediators, outcome)}
    if fam[outcome] is None or any(fam[m] is None for m in mediators):
        return []  # a missing family is the checker's own complaint
    yfam = FAMILIES[fam[outcome]]
    if yfam.support.levels:
        return [
            (
                outcome,
                f"outcome {outcome} has family {yfam.name}: effects on an outcome with levels are not defined "
                f"(they would be on each level's probability); make it bernoulli (a level or above against "
                f"below), or normal (the level's number)",
            )
        ]
    out = []
    if yfam.link.affine or np.isfinite(yfam.link.mean_range[1]):
        return out
    for m in mediators:
        mfam = FAMILIES[fam[m]]
        if mfam.support.name == "count" or mfam.name == "studentt":
            out.append(
                (
                    m,
                    f"mediator {m} has family {mfam.name} under a {yfam.name} outcome ({yfam.link.name} link): the "
                    f"outcome's mean grows exponentially in {m}, so its expectation may not exist; make {m} "
                    f"normal or bernoulli, or give the outcome a bounded or identity link (bernoulli, normal)",
                )
            )
    return out
