"""A resolved spec -> a ``networkx.DiGraph`` with roles.

Node attributes: ``role`` (treatment, mediator, outcome, covariate, latent, other),
``family`` (a name or None), ``levels`` (an ordinal node's number, else None), ``observed``, ``loc``. Edge attributes: ``prior``, ``loc``.
Roles follow MATH.md: mediators are the observed nodes on a directed path from the
treatment to the outcome; covariates are the other observed nodes that are not
descendants of the treatment; "other" are observed descendants of the treatment that do
not lead to the outcome (modelled, but not part of the decomposition).
"""

from __future__ import annotations

from collections import deque

import networkx as nx

from ..lang import ir


def build(spec: ir.Spec) -> nx.DiGraph:
    """The causal DAG of ``spec``, with a role on every node.

    Parameters
    ----------
    spec : ir.Spec
        A resolved spec; it is not changed.

    Returns
    -------
    networkx.DiGraph
        A new graph, nodes and edges in spec order, attributes as in the module docstring.

    Examples
    --------
    >>> import dagmed
    >>> g = build(dagmed.parse("treatment t\\noutcome y\\nx -> t -> m -> y ~ bernoulli\\nm ~ bernoulli\\n"))
    >>> dict(g.nodes(data="role"))
    {'t': 'treatment', 'y': 'outcome', 'x': 'covariate', 'm': 'mediator'}
    """
    g = nx.DiGraph()
    for n in spec.nodes:
        g.add_node(n.name, family=n.family, observed=n.observed, loc=n.loc, role=None, levels=n.levels)
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
    """The nodes of ``g`` that have ``role``, in spec order.

    Parameters
    ----------
    g : networkx.DiGraph
        A graph from :func:`build`.
    role : str
        treatment, mediator, outcome, covariate, latent or other.

    Returns
    -------
    list of str

    Examples
    --------
    >>> g = nx.DiGraph([("t", "m1"), ("t", "m2"), ("m1", "y"), ("m2", "y")])
    >>> nx.set_node_attributes(g, {"t": "treatment", "m1": "mediator", "m2": "mediator", "y": "outcome"}, "role")
    >>> nodes_with_role(g, "mediator")
    ['m1', 'm2']
    """
    return [n for n, r in g.nodes(data="role") if r == role]


_ROLE_ORDER = {"treatment": 0, "mediator": 1, "covariate": 2, "other": 3, "outcome": 4, "latent": 5}


def observed_parents(g: nx.DiGraph, node: str) -> list[str]:
    """The observed parents of ``node``: treatment, mediators, covariates, each in spec order.

    This is the column order of the node's design matrix and of ``<node>_beta``.

    Parameters
    ----------
    g : networkx.DiGraph
        A graph from :func:`build`.
    node : str
        A node of ``g``.

    Returns
    -------
    list of str

    Examples
    --------
    >>> import dagmed
    >>> g = build(dagmed.parse("treatment t\\noutcome y\\nx -> y\\nt -> m -> y ~ bernoulli\\nm ~ bernoulli\\nt -> y\\n"))
    >>> observed_parents(g, "y")
    ['t', 'm', 'x']
    """
    order = {n: (_ROLE_ORDER[r], i) for i, (n, r) in enumerate(g.nodes(data="role"))}
    return sorted((p for p in g.predecessors(node) if g.nodes[p]["observed"]), key=order.__getitem__)


def format_path(g: nx.DiGraph, path: list[str]) -> str:
    """A path of the skeleton of ``g`` as text, each step showing its edge's direction.

    Parameters
    ----------
    g : networkx.DiGraph
        The graph the path runs in.
    path : list of str
        Consecutive nodes joined by an edge of ``g`` in either direction.

    Returns
    -------
    str

    Examples
    --------
    >>> g = nx.DiGraph([("u", "a"), ("u", "b")])
    >>> format_path(g, ["a", "u", "b"])
    'a <- u -> b'
    """
    out = [path[0]]
    for u, v in zip(path, path[1:]):
        out.append(f"-> {v}" if g.has_edge(u, v) else f"<- {v}")
    return " ".join(out)


# How a walk arrives at a node: along an edge into it (from a parent) or out of it (from a child).
_DOWN, _UP = "down", "up"


def active_path(g: nx.DiGraph, a: str, b: str, given) -> list[str] | None:
    """A short path between ``a`` and ``b`` that is open given ``given``, or None if there is none.

    None exactly when ``networkx.is_d_separator(g, {a}, {b}, given)``. A path is open when
    every collider on it is in ``given`` or has a descendant there, and no other node of it is
    in ``given``.

    Parameters
    ----------
    g : networkx.DiGraph
        A DAG.
    a, b : str
        Two distinct nodes of ``g``, not in ``given``.
    given : iterable of str
        The conditioning set.

    Returns
    -------
    list of str or None
        The path's nodes from ``a`` to ``b``, each pair joined by an edge of ``g``; no node twice.

    Raises
    ------
    ValueError
        If ``a`` is ``b``, or either of them is in ``given``.

    Notes
    -----
    One breadth-first search over the states (node, direction of arrival), the reachability
    of Bayes-ball as in networkx's ``d_separation.py``, recording each state's predecessor:
    linear in the size of the graph. The walk found is a shortest one, and a shortest open
    walk never passes a node twice: a walk that leaves ``v`` downwards and comes back up to
    it turns at a collider below ``v``, so ``v`` has a descendant in ``given`` and could have
    turned itself; every other return offers nothing the first visit did not.

    Examples
    --------
    >>> g = nx.DiGraph([("t", "m1"), ("t", "m2"), ("m1", "m2"), ("m1", "y"), ("m2", "y")])
    >>> active_path(g, "m1", "m2", {"t"})
    ['m1', 'm2']
    >>> g.remove_edge("m1", "m2")
    >>> active_path(g, "m1", "m2", {"t"}) is None
    True
    >>> active_path(g, "m1", "m2", {"y"})
    ['m1', 'y', 'm2']
    """
    given = set(given)
    if a == b or a in given or b in given:
        raise ValueError(f"active_path needs two distinct nodes outside the conditioning set, got {a!r} and {b!r}")
    opens = _with_ancestors(g, given)  # a collider is open when it or a descendant is given
    start = (a, _UP)  # leaving `a` both ways, like a non-collider not in `given`
    came_from = {start: None}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        node, arrived = state
        if node == b:
            return _walk(came_from, state)
        for nxt in _next_states(g, node, arrived, given, opens):
            if nxt not in came_from:
                came_from[nxt] = state
                queue.append(nxt)
    return None


def _with_ancestors(g: nx.DiGraph, nodes: set) -> set:
    """``nodes`` and all their ancestors, in one traversal."""
    found, stack = set(nodes), list(nodes)
    while stack:
        for p in g.predecessors(stack.pop()):
            if p not in found:
                found.add(p)
                stack.append(p)
    return found


def _next_states(g: nx.DiGraph, node: str, arrived: str, given: set, opens: set):
    """The states one edge on from ``node``, reached ``arrived``, that keep the walk open."""
    if node not in given:  # passing through: a chain or a fork
        yield from ((c, _DOWN) for c in g.successors(node))
        if arrived == _UP:
            yield from ((p, _UP) for p in g.predecessors(node))
    if arrived == _DOWN and node in opens:  # turning back up: a collider
        yield from ((p, _UP) for p in g.predecessors(node))


def _walk(came_from: dict, state) -> list[str]:
    """The nodes along the recorded predecessors, from the start to ``state``."""
    nodes = []
    while state is not None:
        nodes.append(state[0])
        state = came_from[state]
    return nodes[::-1]
