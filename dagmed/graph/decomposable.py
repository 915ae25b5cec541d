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
    """What the exact decomposition cannot handle: ``(node, reason)`` pairs, empty if nothing.

    The checker asks this instead of holding the decomposition's limits itself. Exact are:
    binary mediators with any outcome and any product terms (enumeration over their ``2^K``
    values, every term evaluated at every corner, dependent or not); any mediator when the
    outcome's link is affine (the outcome is then affine in each mediator, MATH.md section
    6, product terms included: a product multiplies distinct nodes), provided that a mediator
    with mediator parents has an affine link itself and no product of two mediators in its
    equation (its interventional mean is then its mean at its parents' interventional
    means), and that the outcome multiplies no two mediators when the mediators depend on
    each other (the mean of a product of dependent mediators is not the product of their means).

    ``products`` are the spec's :class:`~dagmed.lang.ir.ProductTerm` entries.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.DiGraph([("t", "m"), ("m", "y"), ("t", "y")])
    >>> nx.set_node_attributes(g, {"t": None, "m": "studentt", "y": "bernoulli"}, "family")
    >>> unsupported(g, ("m",), "y")[0][1][:60]
    'mediator m has family studentt under a bernoulli outcome: it'
    """
    fam = {n: g.nodes[n]["family"] for n in (*mediators, outcome)}
    if fam[outcome] is None or any(fam[m] is None for m in mediators):
        return []  # a missing family is the checker's own complaint
    binary = {m: FAMILIES[fam[m]].support.binary for m in mediators}
    out = []
    yfam = FAMILIES[fam[outcome]]
    if not yfam.link.affine:
        # non-binary mediators on grids (dagmed.effects.quadrature): independent mediators only,
        # normal ones by Gauss-Hermite, counts summed while the outcome's mean is bounded
        dependent = any(mediator_parents(g, mediators).values())
        bounded = np.isfinite(yfam.link.mean_range[1])
        for m in mediators:
            mfam = FAMILIES[fam[m]]
            if binary[m]:
                continue
            if dependent:
                why = "depends on other mediators or they on it, and only binary mediators are enumerated jointly"
            elif mfam.name == "normal" or (mfam.support.name == "count" and bounded):
                continue
            elif mfam.support.name == "count":
                why = (
                    f"is a count, and a {yfam.name} outcome's mean grows exponentially in it: the "
                    f"expectation may not exist"
                )
            else:
                why = f"has no grid under a {yfam.name} outcome (normal, counts and binary mediators have one)"
            out.append(
                (
                    m,
                    f"mediator {m} has family {fam[m]} under a {yfam.name} outcome: it {why}; make it bernoulli, "
                    f"or give the outcome an identity link (e.g. normal)",
                )
            )
        return out
    if all(binary.values()):
        return out
    meds = set(mediators)
    multiplied = {}  # node -> its first product term of two or more mediators
    for pt in products:
        if len(meds.intersection(pt.factors)) >= 2:
            multiplied.setdefault(pt.child, pt.name)
    dependent = any(mediator_parents(g, mediators).values())
    if dependent and outcome in multiplied:
        out.append(
            (
                outcome,
                f"product term {multiplied[outcome]} -> {outcome} multiplies mediators that depend on each other, "
                f"among mediators that are not all binary: the mean of their product is not the product of their "
                f"means; make those mediators bernoulli, or leave the product out",
            )
        )
    for m in mediators:
        if m in multiplied:
            out.append(
                (
                    m,
                    f"product term {multiplied[m]} -> {m} multiplies two mediators among mediators that are not "
                    f"all binary: {m}'s interventional mean is not exact; make every mediator bernoulli, or "
                    f"leave the product out",
                )
            )
    for m, parents in mediator_parents(g, mediators).items():
        mfam = FAMILIES[fam[m]]
        if parents and not mfam.link.affine:
            out.append(
                (
                    m,
                    f"mediator {m} ({fam[m]}) depends on mediator(s) {', '.join(parents)} among mediators "
                    f"that are not all binary: its interventional distribution is not exact; give {m} an "
                    f"identity link (normal), or make every mediator bernoulli",
                )
            )
    return out
