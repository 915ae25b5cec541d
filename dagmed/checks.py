"""Is the mediation analysis well posed? Checks on the causal DAG, each naming its culprit.

:func:`analyse` computes the roles and collects every problem; :func:`check` raises the
first one. Fatal problems (a cycle, an unreachable outcome) stop the analysis early since
roles are meaningless without them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import networkx as nx

from . import graph as G
from . import ir
from .errors import SpecError
from .families import FAMILIES


@dataclass(frozen=True)
class Analysis:
    """The roles of a spec's nodes and the verdicts of the checks."""

    spec: ir.Spec
    graph: nx.DiGraph = field(compare=False, repr=False)
    treatment: str
    outcome: str
    mediators: tuple[str, ...]
    covariates: tuple[str, ...]
    latent: tuple[str, ...]
    other: tuple[str, ...]
    dependent: tuple[tuple[str, str, str], ...]  # (m_j, m_k, open path)
    problems: tuple[SpecError, ...]

    @property
    def n_regimes(self) -> int:
        return 2 ** (len(self.mediators) + 1)

    @property
    def ok(self) -> bool:
        return not self.problems

    def equation(self, node: str) -> str:
        """``y ~ bernoulli(logit: t, m, x)``."""
        fam = self.graph.nodes[node]["family"]
        parents = G.observed_parents(self.graph, node)
        link = FAMILIES[fam].link.name if fam else "?"
        return f"{node} ~ {fam}({link}: {', '.join(parents) if parents else '1'})"

    def modelled(self) -> list[str]:
        """Observed nodes with a family, parents first (ties in spec order): one GLM each."""
        order = {n: i for i, n in enumerate(self.graph.nodes)}
        topo = nx.lexicographical_topological_sort(self.graph, key=order.__getitem__)
        return [n for n in topo if self.graph.nodes[n]["observed"] and self.graph.nodes[n]["family"]]


def _cycle(g: nx.DiGraph, spec: ir.Spec) -> None:
    try:
        cycle = nx.find_cycle(g)
    except nx.NetworkXNoCycle:
        return
    # Report at the edge written last: that is the one that closed the cycle.
    last = max(cycle, key=lambda e: (g.edges[e]["loc"].line, g.edges[e]["loc"].column))
    i = cycle.index(last)
    cycle = cycle[i + 1 :] + cycle[: i + 1]
    names = " -> ".join([cycle[0][0]] + [v for _, v in cycle])
    raise SpecError(f"the graph has a cycle: {names}", **spec.at(g.edges[last]["loc"]))


def _latent_reach(g: nx.DiGraph, u: str) -> set[str]:
    """Observed nodes reachable from latent ``u`` through latent nodes only."""
    seen, stack, reach = {u}, [u], set()
    while stack:
        for c in g.successors(stack.pop()):
            if c in seen:
                continue
            seen.add(c)
            if g.nodes[c]["observed"]:
                reach.add(c)
            else:
                stack.append(c)
    return reach


def analyse(spec: ir.Spec) -> Analysis:
    """Roles and verdicts for ``spec``.

    Raises
    ------
    SpecError
        Only for fatal problems: a cycle, or an outcome that the treatment cannot reach.
        Everything else is collected in ``Analysis.problems``.
    """
    g = G.build(spec)
    _cycle(g, spec)
    t, y = spec.treatment, spec.outcome
    if not nx.has_path(g, t, y):
        raise SpecError(
            f"the outcome {y} is not reachable from the treatment {t}: no directed path {t} -> ... -> {y}",
            **spec.at(dict(spec.role_locs)["outcome"]),
        )
    mediators = G.nodes_with_role(g, "mediator")
    covariates = G.nodes_with_role(g, "covariate")
    latent = G.nodes_with_role(g, "latent")
    problems: list[SpecError] = []

    # Every observed endogenous node needs a family; the treatment only if it is modelled.
    for n in [y, *mediators, *covariates, *G.nodes_with_role(g, "other")]:
        if g.nodes[n]["family"] is None and G.observed_parents(g, n):
            role = g.nodes[n]["role"]
            problems.append(
                SpecError(
                    f"{role} {n} has parents but no family; add e.g. '{n} ~ bernoulli' "
                    f"(valid options are {', '.join(sorted(FAMILIES))})",
                    **spec.at(g.nodes[n]["loc"]),
                )
            )

    # Latent nodes on a causal path, or confounding treatment, mediators and outcome.
    t_desc, y_anc = nx.descendants(g, t), nx.ancestors(g, y)
    for u in latent:
        loc = spec.at(g.nodes[u]["loc"])
        if u in t_desc and u in y_anc:
            problems.append(SpecError(f"latent node {u} lies on a causal path from {t} to {y}; mediators must be observed", **loc))
            continue
        reach = _latent_reach(g, u)
        pairs = [(t, y)] + [(t, m) for m in mediators] + [(m, y) for m in mediators]
        for a, b in pairs:
            if a in reach and b in reach:
                problems.append(
                    SpecError(
                        f"latent node {u} is a common cause of {a} and {b}: the effects are not identified "
                        f"({a} <- {u} -> {b})",
                        **loc,
                    )
                )
                break

    # Mediators conditionally independent given treatment and covariates (MATH.md section 2).
    given = {t, *covariates}
    dependent = []
    for a, b in itertools.combinations(mediators, 2):
        if nx.is_d_separator(g, {a}, {b}, given):
            continue
        path = G.active_path(g, a, b, given) or [a, b]
        shown = G.format_path(g, path)
        dependent.append((a, b, shown))
        first = (path[0], path[1]) if g.has_edge(path[0], path[1]) else (path[1], path[0])
        loc = g.edges[first]["loc"] if g.has_edge(*first) else None
        problems.append(
            SpecError(
                f"mediators {a} and {b} are not conditionally independent given {', '.join([t, *covariates])}: "
                f"open path {shown} (dependent mediators are not supported yet)",
                **spec.at(loc),
            )
        )

    # What the decomposition can handle: it says so itself.
    from . import decompose

    for node, reason in decompose.unsupported(g, mediators, y):
        problems.append(SpecError(reason, **spec.at(g.nodes[node]["loc"])))
    return Analysis(
        spec=spec,
        graph=g,
        treatment=t,
        outcome=y,
        mediators=tuple(mediators),
        covariates=tuple(covariates),
        latent=tuple(latent),
        other=tuple(G.nodes_with_role(g, "other")),
        dependent=tuple(dependent),
        problems=tuple(problems),
    )


def check(spec: ir.Spec) -> Analysis:
    """:func:`analyse`, raising the first problem found."""
    analysis = analyse(spec)
    if analysis.problems:
        raise analysis.problems[0]
    return analysis
