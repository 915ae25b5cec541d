"""Is the mediation analysis well posed? Checks on the causal DAG, each naming its culprit.

:func:`analyse` computes the roles, runs the fatal checks (:data:`FATAL`: a cycle, an
unreachable outcome; roles are meaningless without them) and then every check of
:data:`CHECKS`, collecting their problems; :func:`check` raises the first one.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace

import networkx as nx

from ..errors import SpecError
from ..lang import ir
from ..lang.families import FAMILIES
from ..lang.vocabulary import SCALES
from . import dag, decomposable


@dataclass(frozen=True)
class Analysis:
    """The roles of a spec's nodes and the verdicts of the checks.

    Attributes
    ----------
    spec : ir.Spec
        The spec analysed.
    graph : networkx.DiGraph
        Its causal DAG (:func:`dagmed.graph.dag.build`).
    treatment, outcome : str
        The declared roles.
    mediators, covariates, latent, other : tuple of str
        The inferred roles, each in spec order.
    dependent : tuple of (str, str, str)
        The mediator pairs that are not d-separated given the treatment and the covariates,
        with an open path between them, e.g. ``("m1", "m2", "m1 -> m2")``.
    problems : tuple of SpecError
        Everything that makes the analysis ill posed; empty when it is well posed.
    warnings : tuple of SpecError
        Likely mistakes that leave it well posed: names that look like typos (:func:`typos`),
        each located; ``check --strict`` makes them errors.
    ok : bool
        No problem found.
    independent : bool
        No dependent pair: the mediators are conditionally independent (MATH.md section 2).
    mediator_parents : dict of str to tuple of str
        Each mediator's mediator parents in spec order (:func:`dagmed.graph.decomposable.mediator_parents`).
    n_regimes : int
        The number of interventional regimes, ``2^(K+1)`` for K mediators.

    Examples
    --------
    >>> import dagmed
    >>> a = analyse(dagmed.parse("treatment t\\noutcome y\\nx -> t, m1, y\\nt -> m1 -> m2 -> y ~ bernoulli\\nm1, m2 ~ bernoulli\\n"))
    >>> a.mediators, a.covariates, a.ok, a.n_regimes
    (('m1', 'm2'), ('x',), True, 8)
    >>> a.independent, a.dependent, a.mediator_parents
    (False, (('m1', 'm2', 'm1 -> m2'),), {'m1': (), 'm2': ('m1',)})
    """

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
    warnings: tuple[SpecError, ...] = ()  # likely mistakes that do not make it ill posed (:func:`typos`)

    @property
    def n_regimes(self) -> int:
        """The number of interventional regimes, ``2^(K+1)`` for K mediators."""
        return 2 ** (len(self.mediators) + 1)

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems

    @property
    def independent(self) -> bool:
        """No dependent pair: the mediators are conditionally independent given treatment and covariates."""
        return not self.dependent

    @property
    def mediator_parents(self) -> dict[str, tuple[str, ...]]:
        """Each mediator's mediator parents, in spec order (:func:`dagmed.graph.decomposable.mediator_parents`)."""
        return decomposable.mediator_parents(self.graph, self.mediators)


# ---- fatal checks: they raise, since roles mean nothing without them ----------------------


def _refuse_cycle(g: nx.DiGraph, spec: ir.Spec) -> None:
    """The graph must be acyclic; a cycle is named in order, at the edge that closed it."""
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


def _refuse_unreachable_outcome(g: nx.DiGraph, spec: ir.Spec) -> None:
    """A directed path must lead from the treatment to the outcome."""
    t, y = spec.treatment, spec.outcome
    if not nx.has_path(g, t, y):
        raise SpecError(
            f"the outcome {y} is not reachable from the treatment {t}: no directed path {t} -> ... -> {y}",
            **spec.at(dict(spec.role_locs)["outcome"]),
        )


FATAL = (_refuse_cycle, _refuse_unreachable_outcome)


# ---- checks: each returns the problems it found -----------------------------------------


def _check_families(a: Analysis) -> list[SpecError]:
    """Every observed node with parents needs a family (the treatment only if it has parents)."""
    g = a.graph
    return [
        SpecError(
            f"{g.nodes[n]['role']} {n} has parents but no family; add e.g. '{n} ~ bernoulli' "
            f"(valid options are {', '.join(sorted(FAMILIES))})",
            **a.spec.at(g.nodes[n]["loc"]),
        )
        for n in [a.outcome, *a.mediators, *a.covariates, *a.other]
        if g.nodes[n]["family"] is None and dag.observed_parents(g, n)
    ]


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


def _check_latents(a: Analysis) -> list[SpecError]:
    """No latent node on a causal path, nor confounding treatment, mediators and outcome."""
    g, t, y = a.graph, a.treatment, a.outcome
    t_desc, y_anc = nx.descendants(g, t), nx.ancestors(g, y)
    pairs = [(t, y)] + [(t, m) for m in a.mediators] + [(m, y) for m in a.mediators]
    problems = []
    for u in a.latent:
        loc = a.spec.at(g.nodes[u]["loc"])
        if u in t_desc and u in y_anc:
            problems.append(
                SpecError(f"latent node {u} lies on a causal path from {t} to {y}; mediators must be observed", **loc)
            )
            continue
        reach = _latent_reach(g, u)
        confounded = next(((p, q) for p, q in pairs if p in reach and q in reach), None)
        if confounded:
            p, q = confounded
            problems.append(
                SpecError(
                    f"latent node {u} is a common cause of {p} and {q}: the effects are not identified ({p} <- {u} -> {q})",
                    **loc,
                )
            )
    return problems


def _check_mediator_dependence(a: Analysis) -> list[SpecError]:
    """Dependent mediators are fine when edges among them explain it (MATH.md section 3b).

    A pair still connected once every mediator -> mediator edge is gone depends through
    latent nodes, whose joint the per-node GLMs cannot represent.
    """
    meds = set(a.mediators)
    h = a.graph.copy()
    h.remove_edges_from([(p, c) for p, c in a.graph.edges if p in meds and c in meds])
    given = [a.treatment, *a.covariates]
    problems = []
    for m1, m2, _ in a.dependent:
        path = dag.active_path(h, m1, m2, given)
        if path is None:
            continue
        fork = any(h.has_edge(v, u) and h.has_edge(v, w) for u, v, w in zip(path, path[1:], path[2:]))
        how = "share a latent common cause" if fork else f"are joined through latent {', '.join(path[1:-1])}"
        problems.append(
            SpecError(
                f"mediators {m1} and {m2} {how} ({dag.format_path(h, path)}): their joint distribution is not "
                f"what the per-node models say; if one acts on the other, write a directed edge instead, "
                f"e.g. '{m1} -> {m2}'",
                **a.spec.at(_edge_loc(h, path[0], path[1])),
            )
        )
    return problems


def _edge_loc(g: nx.DiGraph, u: str, v: str) -> ir.Loc:
    """Where the edge between ``u`` and ``v`` was written, whichever its direction."""
    return g.edges[u, v]["loc"] if g.has_edge(u, v) else g.edges[v, u]["loc"]


def _check_decomposable(a: Analysis) -> list[SpecError]:
    """What the decomposition can handle: it says so itself."""
    return [
        SpecError(reason, **a.spec.at(a.graph.nodes[node]["loc"]))
        for node, reason in decomposable.unsupported(a.graph, a.mediators, a.outcome, a.spec.products)
    ]


def _check_scale(a: Analysis) -> list[SpecError]:
    """The spec's ``scale`` suits the outcome (``or`` a binary one, ``rr`` one with a positive mean)."""
    family = a.graph.nodes[a.outcome]["family"]
    if a.spec.scale is None or family is None:
        return []
    why = SCALES[a.spec.scale].refusal(a.outcome, FAMILIES[family])
    return [SpecError(why, **a.spec.at(dict(a.spec.setting_locs).get("scale")))] if why else []


CHECKS = (_check_families, _check_latents, _check_mediator_dependence, _check_decomposable, _check_scale)


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: the fewest insertions, deletions and substitutions turning ``a`` into ``b``.

    Examples
    --------
    >>> edit_distance("yy", "y"), edit_distance("dev_peer", "dev_per"), edit_distance("t", "m")
    (1, 1, 1)
    """
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


TYPO_DISTANCE = 2  # at most this many edits from another node's name


def typos(spec: ir.Spec) -> list[SpecError]:
    """Names that look like typos of another node's, each a located warning naming both.

    A node is suspect when the spec mentions it once only, and another node, mentioned more
    than once and not in the same statement, is within :data:`TYPO_DISTANCE` edits of it
    (fewer edits than the suspect has characters, so ``x`` is no typo of ``t``).

    Parameters
    ----------
    spec : ir.Spec
        A resolved spec (its ``mentions``).

    Returns
    -------
    list of SpecError
        One per suspect, at its one mention.

    Examples
    --------
    >>> import dagmed
    >>> spec = dagmed.parse("treatment t\\noutcome y\\nt -> m -> y\\nt -> y\\nt, m, yy ~ bernoulli\\n")
    >>> print(typos(spec)[0].message)
    `yy` appears only once, in a family statement: did you mean `y`? (a node of its own otherwise)
    """
    mentions = {name: (what, locs) for name, what, locs in spec.mentions}
    out = []
    for name, (what, locs) in mentions.items():
        if len(locs) != 1:
            continue
        close = sorted(
            (edit_distance(name, other), other)
            for other, (_, other_locs) in mentions.items()
            if other != name and len(other_locs) > 1 and locs[0] not in other_locs
        )
        close = [(d, other) for d, other in close if d <= TYPO_DISTANCE and d < len(name)]
        if close:
            other = close[0][1]
            out.append(
                SpecError(
                    f"`{name}` appears only once, in {what}: did you mean `{other}`? (a node of its own otherwise)",
                    **spec.at(locs[0]),
                )
            )
    return out


def strict(warning: SpecError) -> SpecError:
    """A warning made an error by ``--strict``: the same message and place, marked ``(--strict)``.

    Examples
    --------
    >>> print(strict(SpecError("`yy` appears only once", source="s.dag", line=5, column=1)))
    s.dag:5:1: `yy` appears only once (--strict)
    """
    w = warning
    return SpecError(f"{w.message} (--strict)", source=w.source, line=w.line, column=w.column, text=w.text)


def _dependent_pairs(g: nx.DiGraph, mediators: list[str], given: list[str]) -> tuple[tuple[str, str, str], ...]:
    """The mediator pairs d-connected given ``given``, each with an open path (MATH.md section 2)."""
    paths = ((m1, m2, dag.active_path(g, m1, m2, given)) for m1, m2 in itertools.combinations(mediators, 2))
    return tuple((m1, m2, dag.format_path(g, path)) for m1, m2, path in paths if path)


def analyse(spec: ir.Spec) -> Analysis:
    """Roles and verdicts for ``spec``.

    Parameters
    ----------
    spec : ir.Spec
        A resolved spec.

    Returns
    -------
    Analysis
        With every problem found in ``problems`` (empty when the analysis is well posed).

    Raises
    ------
    SpecError
        Only for fatal problems: a cycle, or an outcome that the treatment cannot reach.

    Examples
    --------
    >>> import dagmed
    >>> a = analyse(dagmed.parse("treatment t\\noutcome y\\nt -> m1, m2 -> y\\nm1 <-> m2\\nm1, m2, y ~ bernoulli\\n"))
    >>> a.dependent
    (('m1', 'm2', 'm1 <- U_m1_m2 -> m2'),)
    >>> print(a.problems[0].message.split(":")[0])
    mediators m1 and m2 share a latent common cause (m1 <- U_m1_m2 -> m2)
    """
    g = dag.build(spec)
    for fatal in FATAL:
        fatal(g, spec)
    mediators = dag.nodes_with_role(g, "mediator")
    covariates = dag.nodes_with_role(g, "covariate")
    roles = Analysis(
        spec=spec,
        graph=g,
        treatment=spec.treatment,
        outcome=spec.outcome,
        mediators=tuple(mediators),
        covariates=tuple(covariates),
        latent=tuple(dag.nodes_with_role(g, "latent")),
        other=tuple(dag.nodes_with_role(g, "other")),
        dependent=_dependent_pairs(g, mediators, [spec.treatment, *covariates]),
        problems=(),
    )
    return replace(roles, problems=tuple(p for check_ in CHECKS for p in check_(roles)), warnings=tuple(typos(spec)))


def check(spec: ir.Spec) -> Analysis:
    """:func:`analyse`, raising the first problem found.

    Parameters
    ----------
    spec : ir.Spec
        As for :func:`analyse`.

    Returns
    -------
    Analysis
        Well posed: its ``problems`` are empty.

    Raises
    ------
    SpecError
        A fatal problem, or else the first problem :func:`analyse` collected, located at the
        statement that causes it.

    Examples
    --------
    >>> import dagmed
    >>> check(dagmed.parse("treatment t\\noutcome y\\nt -> m -> y ~ bernoulli\\nm ~ bernoulli\\n")).mediators
    ('m',)
    >>> check(dagmed.parse("treatment t\\noutcome y\\nt -> m -> y ~ bernoulli\\n", "s.dag"))
    Traceback (most recent call last):
    ...
    dagmed.errors.SpecError: s.dag:3:1: mediator m has parents but no family; add e.g. 'm ~ bernoulli' (valid options are bernoulli, categorical, negbinomial, normal, ordinal, poisson, studentt)
    """
    analysis = analyse(spec)
    if analysis.problems:
        raise analysis.problems[0]
    return analysis
