"""A resolved spec -> a ``networkx.DiGraph`` with roles.

Node attributes: ``role`` (treatment, mediator, outcome, covariate, latent, other),
``family`` (a name or None), ``observed``, ``loc``. Edge attributes: ``prior``, ``loc``.
Roles follow MATH.md: mediators are the observed nodes on a directed path from the
treatment to the outcome; covariates are the other observed nodes that are not
descendants of the treatment; "other" are observed descendants of the treatment that do
not lead to the outcome (modelled, but not part of the decomposition).
"""

from __future__ import annotations

import networkx as nx

from . import ir


def build(spec: ir.Spec) -> nx.DiGraph:
    """Build the causal DAG of ``spec`` with node roles (a new graph; the spec is unchanged)."""
    g = nx.DiGraph()
    for n in spec.nodes:
        g.add_node(n.name, family=n.family, observed=n.observed, loc=n.loc, role=None)
    for e in spec.edges:
        g.add_edge(e.parent, e.child, prior=e.prior, loc=e.loc)
    _assign_roles(g, spec.treatment, spec.outcome)
    return g


def _assign_roles(g: nx.DiGraph, treatment: str, outcome: str) -> None:
    t_desc = nx.descendants(g, treatment)
    y_anc = nx.ancestors(g, outcome)
    for n, attrs in g.nodes(data=True):
        if not attrs["observed"]:
            role = "latent"
        elif n == treatment:
            role = "treatment"
        elif n == outcome:
            role = "outcome"
        elif n in t_desc and n in y_anc:
            role = "mediator"
        elif n in t_desc:
            role = "other"
        else:
            role = "covariate"
        attrs["role"] = role


def nodes_with_role(g: nx.DiGraph, role: str) -> list[str]:
    """Nodes of ``g`` with ``role``, in spec order."""
    return [n for n, r in g.nodes(data="role") if r == role]


_ROLE_ORDER = {"treatment": 0, "mediator": 1, "covariate": 2, "other": 3, "outcome": 4, "latent": 5}


def observed_parents(g: nx.DiGraph, node: str) -> list[str]:
    """The observed parents of ``node``: treatment, mediators, covariates, each in spec order.

    This is the column order of the node's design matrix and of ``<node>_beta``.
    """
    order = {n: (_ROLE_ORDER[r], i) for i, (n, r) in enumerate(g.nodes(data="role"))}
    return sorted((p for p in g.predecessors(node) if g.nodes[p]["observed"]), key=order.__getitem__)


def format_path(g: nx.DiGraph, path: list[str]) -> str:
    """``['a', 'u', 'b']`` -> ``'a <- u -> b'`` following the edge directions of ``g``."""
    out = [path[0]]
    for u, v in zip(path, path[1:]):
        out.append(f"-> {v}" if g.has_edge(u, v) else f"<- {v}")
    return " ".join(out)


def active_path(g: nx.DiGraph, a: str, b: str, given: set[str], limit: int = 10_000) -> list[str] | None:
    """The shortest path between ``a`` and ``b`` that is open given ``given``, or None.

    ``networkx.is_d_separator`` gives the verdict; this names the culprit path for the
    message. Paths are tried shortest first, at most ``limit`` of them.
    """
    skeleton = g.to_undirected(as_view=True)
    anc_of_given = set(given).union(*(nx.ancestors(g, z) for z in given)) if given else set()
    try:
        paths = nx.shortest_simple_paths(skeleton, a, b)
        for i, path in enumerate(paths):
            if i >= limit:
                return None
            if all(_open(g, u, v, w, given, anc_of_given) for u, v, w in zip(path, path[1:], path[2:])):
                return path
    except nx.NetworkXNoPath:
        return None
    return None


def _open(g, u, v, w, given, anc_of_given) -> bool:
    collider = g.has_edge(u, v) and g.has_edge(w, v)
    # a collider is open iff it or one of its descendants is conditioned on
    return v in anc_of_given if collider else v not in given
