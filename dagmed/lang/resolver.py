"""IR statements -> a resolved :class:`~dagmed.lang.ir.Spec`.

Validates names against the lookup tables, merges repeated declarations (refusing
contradictory ones), and fills every prior in: edge > node > spec default > family default.
"""

from __future__ import annotations

import itertools
import json
import math

from ..errors import SpecError
from . import ir
from .families import FAMILIES, PARAMS, family
from .priors import PRIORS
from .vocabulary import MISSING, ROLES, SCALES, lookup


class _Declarations:
    """What the statements declare, gathered in one pass in the order written.

    Every store maps a key to ``(value, loc)`` (or just ``loc``): the first declaration
    wins, a repeated one is fine, a contradicting one is an error (:meth:`set_once`).
    """

    def __init__(self, spec_ir: ir.SpecIR):
        self.source = spec_ir.source
        self.text = spec_ir.text
        self.first_seen: dict[str, ir.Loc] = {}  # node order of the spec
        self.edges: dict[tuple[str, str], ir.Loc] = {}
        self.products: dict[tuple[str, tuple[str, ...]], ir.Loc] = {}  # (child, sorted factors)
        self.families: dict[str, tuple[str, ir.Loc]] = {}
        self.roles: dict[str, tuple[str, ir.Loc]] = {}
        self.latent: dict[str, ir.Loc] = {}
        self.priors: dict[tuple, tuple[ir.Dist, ir.Loc]] = {}
        self.codes: dict[str, tuple] = {}
        self.levels: dict[str, tuple[int, ir.Loc]] = {}  # ordinal(5): the number of levels
        self.settings: dict[str, tuple] = {}  # data source and missing-value policy
        self.mentions: dict[str, tuple[str, list[ir.Loc]]] = {}  # name -> (statement of the first mention, locs)
        self.na: dict[str, ir.Loc] = {}  # missing-value codes of the data, in the order written
        self.clusters: list[ir.ClusterStmt] = []  # cluster statements, in the order written

    def at(self, loc: ir.Loc | None) -> dict:
        return ir.location(self.source, self.text, loc)

    def see(self, name: str, loc: ir.Loc) -> None:
        self.first_seen.setdefault(name, loc)

    def add_edge(self, parent: str, child: str, loc: ir.Loc) -> None:
        if parent == child:
            raise SpecError(f"self-loop: {parent} -> {child}; a node cannot cause itself", **self.at(loc))
        self.see(parent, loc)
        self.see(child, loc)
        self.edges.setdefault((parent, child), loc)

    def add_product(self, product: ir.Product, child: str, loc: ir.Loc) -> None:
        """A product term in ``child``'s equation; its factors become parents of ``child`` (main effects)."""
        if len(set(product.factors)) < len(product.factors):
            raise SpecError(
                f"product term {product} repeats a factor; a product term multiplies distinct parents", **self.at(loc)
            )
        for f in sorted(product.factors):  # t:m and m:t add the same edges in the same order
            self.add_edge(f, child, loc)
        self.products.setdefault((child, tuple(sorted(product.factors))), loc)

    def add_family(self, node: str, fam: str, loc: ir.Loc) -> None:
        """``fam`` as written: a family's name, or ``ordinal(5)`` with its number of levels."""
        name, _, levels = fam.partition("(")
        row = family(name, **self.at(loc))
        if levels:
            count = levels.rstrip(")")
            if not row.support.levels:
                raise SpecError(
                    f"family {name} takes no number of levels ({fam}); only a family with levels does (ordinal)",
                    **self.at(loc),
                )
            if not count.isdigit() or int(count) < 3:
                raise SpecError(
                    f"{fam}: the number of levels must be an integer of at least 3 (two levels: bernoulli)",
                    **self.at(loc),
                )
            self.set_once(self.levels, node, int(count), loc, f"numbers of levels for {node}")
        self.set_once(self.families, node, name, loc, f"families for {node}")

    def set_once(self, store: dict, key, value, loc: ir.Loc, what: str) -> None:
        """Record a declaration; repeating it is fine, contradicting it is an error."""
        if key in store and store[key][0] != value:
            old, old_loc = store[key]
            raise SpecError(f"contradictory {what}: {old} (line {old_loc.line}) and {value}", **self.at(loc))
        store.setdefault(key, (value, loc))


def _check_dist(dist: ir.Dist, d: _Declarations, *, scale: bool, param: str | None = None) -> ir.Dist:
    """Validate a prior's name and arguments; return it with keyword arguments only."""
    at = d.at(dist.loc)
    spec = lookup(PRIORS, dist.name, "prior distribution", **at)
    if len(dist.args) > len(spec.params):
        raise SpecError(
            f"{dist.name} takes {len(spec.params)} argument(s) ({', '.join(spec.params)}), got {len(dist.args)}", **at
        )
    values = dict(zip(spec.params, dist.args))
    for key, value in dist.kwargs:
        if key not in spec.params:
            raise SpecError(
                f"unknown argument '{key}' for prior {dist.name}; valid options are {', '.join(spec.params)}", **at
            )
        if key in values:
            raise SpecError(f"argument '{key}' of {dist.name} given twice", **at)
        values[key] = value
    infinite = [p for p, v in values.items() if not math.isfinite(v)]
    if infinite:
        raise SpecError(f"prior {dist.name}: {', '.join(infinite)} must be a finite number", **at)
    missing = [p for p in spec.params if p not in values]
    if missing:
        raise SpecError(f"prior {dist.name} needs {', '.join(missing)} ({dist.name}({', '.join(spec.params)}))", **at)
    bad = [p for p in spec.positive_params if values[p] <= 0]
    if bad:
        raise SpecError(f"prior {dist}: {', '.join(bad)} must be > 0", **at)
    if dist.name == "uniform" and values["lower"] >= values["upper"]:
        raise SpecError(f"prior {dist}: lower must be below upper", **at)
    if scale and not spec.scale:
        valid = ", ".join(sorted(k for k, v in PRIORS.items() if v.scale))
        what = "a scale (sigma)" if param in (None, "sigma") else f"{param} (> 0)"
        raise SpecError(f"{what} needs a positive prior, not {dist.name}; valid options are {valid}", **at)
    return ir.Dist(dist.name, (), tuple((p, float(values[p])) for p in spec.params), dist.loc)


# ---- one handler per statement type -----------------------------------------------------


def _edge(st: ir.EdgeStmt, d: _Declarations) -> None:
    for parents, children in zip(st.groups, st.groups[1:]):
        for p, c in itertools.product(parents, children):
            if isinstance(p, ir.Product):
                d.add_product(p, c, st.loc)
            else:
                d.add_edge(p, c, st.loc)
    if st.family is not None:
        for c in st.groups[-1]:
            d.add_family(c, st.family, st.family_loc or st.loc)


def _family(st: ir.FamilyStmt, d: _Declarations) -> None:
    for n in st.nodes:
        if isinstance(n, ir.Product):
            raise SpecError(
                f"product term {n} has no family: it is a term of a node's equation; "
                f"write it with an arrow to that node, e.g. '{n} -> y'",
                **d.at(st.loc),
            )
        d.see(n, st.loc)
        d.add_family(n, st.family, st.family_loc or st.loc)


def _role(st: ir.RoleStmt, d: _Declarations) -> None:
    role = lookup(ROLES, st.keyword, "role", **d.at(st.loc))
    for n in st.nodes:
        d.see(n, st.loc)
        d.set_once(d.roles, role, n, st.loc, f"{role} declarations (dagmed needs exactly one {role})")


def _latent(st: ir.LatentStmt, d: _Declarations) -> None:
    for n in st.nodes:
        d.see(n, st.loc)
        d.latent.setdefault(n, st.loc)


def _bidirected(st: ir.BidirectedStmt, d: _Declarations) -> None:
    if st.a == st.b:
        raise SpecError(f"self-loop: {st.a} <-> {st.b}", **d.at(st.loc))
    u = f"U_{st.a}_{st.b}"
    d.see(st.a, st.loc)
    d.see(st.b, st.loc)
    d.latent.setdefault(u, st.loc)
    d.add_edge(u, st.a, st.loc)
    d.add_edge(u, st.b, st.loc)


def cluster_param(param: str | None) -> tuple[str, str] | None:
    """A prior target of a cluster term: ``("sd", "school")`` for ``sd_school``; ``("sd", "")`` for the default ``sd``.

    ``slope_sd_<column>`` is the sd of a random slope, ``corr_<column>`` the correlation of a
    node's intercepts and slopes; None for any other parameter.

    Examples
    --------
    >>> cluster_param("sd_school"), cluster_param("slope_sd_school"), cluster_param("corr_school"), cluster_param("sd")
    (('sd', 'school'), ('slope_sd', 'school'), ('corr', 'school'), ('sd', ''))
    >>> cluster_param("sigma") is None
    True
    """
    if param == "sd":
        return ("sd", "")
    for kind in ("slope_sd", "sd", "corr"):
        if param and param.startswith(kind + "_") and len(param) > len(kind) + 1:
            return (kind, param[len(kind) + 1 :])
    return None


def _lkj(dist: ir.Dist, d: _Declarations) -> ir.Dist:
    """A correlation's prior: ``lkj(eta)``, eta > 0 (the only one dagmed knows for a correlation)."""
    values = list(dist.args) + [v for k, v in dist.kwargs if k == "eta"]
    if dist.name != "lkj" or len(values) != 1 or len(dist.args) + len(dist.kwargs) != 1 or not values[0] > 0:
        raise SpecError(
            f"a correlation of cluster effects takes the prior lkj(eta) with eta > 0 (e.g. lkj(2)), not {dist}",
            **d.at(dist.loc),
        )
    return ir.Dist("lkj", (), (("eta", float(values[0])),), dist.loc)


def _prior(st: ir.PriorStmt, d: _Declarations) -> None:
    cluster = cluster_param(st.param)
    if st.param is not None and cluster is None:
        lookup(PARAMS, st.param, "prior target", **d.at(st.loc))
    scale = st.param is not None and (cluster is not None or any(f.extra(st.param) for f in FAMILIES.values()))
    if cluster is not None and cluster[0] == "corr":
        dist = _lkj(st.dist, d)
    else:
        dist = _check_dist(st.dist, d, scale=scale, param=st.param)
    parent = tuple(sorted(st.parent.factors)) if isinstance(st.parent, ir.Product) else st.parent
    d.set_once(d.priors, (st.kind, st.param, st.node, parent), dist, st.loc, "priors for the same parameter")


def _data(st: ir.DataStmt, d: _Declarations) -> None:
    d.set_once(d.settings, "data", st.source, st.loc, "data sources")


def _code(st: ir.CodeStmt, d: _Declarations) -> None:
    at = d.at(st.loc)
    for label, value in st.levels:
        if value < 0 or value != int(value):
            raise SpecError(
                f"code {st.column}: {label} = {ir.format_number(value)}; a level is coded by an integer "
                f"(0 or 1; 0, 1, 2, ... for an ordinal node)",
                **at,
            )
    labels = [lv for lv, _ in st.levels]
    if len(set(labels)) != len(labels):
        raise SpecError(f"code {st.column}: a level is given twice", **at)
    d.set_once(d.codes, st.column, tuple(st.levels), st.loc, f"codings for column {st.column}")


def _missing(st: ir.MissingStmt, d: _Declarations) -> None:
    lookup(MISSING, st.policy, "missing-value policy", **d.at(st.loc))
    d.set_once(d.settings, "missing", st.policy, st.loc, "missing-value policies")


def _scale(st: ir.ScaleStmt, d: _Declarations) -> None:
    lookup(SCALES, st.scale, "scale", **d.at(st.loc))
    d.set_once(d.settings, "scale", st.scale, st.loc, "scales")


def _contrast(st: ir.ContrastStmt, d: _Declarations) -> None:
    if st.active == st.reference:
        raise SpecError(
            f"contrast {ir.format_number(st.active)} vs {ir.format_number(st.reference)}: the active and the "
            f"reference value must differ",
            **d.at(st.loc),
        )
    d.set_once(d.settings, "contrast", (st.active, st.reference), st.loc, "contrasts")


def _na(st: ir.NaStmt, d: _Declarations) -> None:
    for code in st.codes:
        if code.strip() != code or not code:
            raise SpecError(
                f"na {json.dumps(code)}: a missing-value code is compared with each cell after trimming its "
                f"whitespace, so it must be non-empty and neither start nor end with a space "
                f"(blank cells are missing already)",
                **d.at(st.loc),
            )
        d.na.setdefault(code, st.loc)


def _cluster(st: ir.ClusterStmt, d: _Declarations) -> None:
    d.clusters.append(st)


# Statement class -> the handler that records its declarations.
HANDLERS = {
    ir.EdgeStmt: _edge,
    ir.FamilyStmt: _family,
    ir.RoleStmt: _role,
    ir.LatentStmt: _latent,
    ir.BidirectedStmt: _bidirected,
    ir.PriorStmt: _prior,
    ir.DataStmt: _data,
    ir.CodeStmt: _code,
    ir.MissingStmt: _missing,
    ir.ContrastStmt: _contrast,
    ir.ScaleStmt: _scale,
    ir.NaStmt: _na,
    ir.ClusterStmt: _cluster,
}


# What each statement is called in a message, and the names it mentions (each occurrence).
STATEMENT_WORDS = {
    ir.EdgeStmt: "an edge",
    ir.FamilyStmt: "a family statement",
    ir.RoleStmt: "a role statement",
    ir.LatentStmt: "a latent statement",
    ir.BidirectedStmt: "a '<->' statement",
    ir.PriorStmt: "a prior",
    ir.CodeStmt: "a code statement",
    ir.ClusterStmt: "a cluster statement",
}


def _terms(terms) -> list[str]:
    return [f for t in terms for f in (t.factors if isinstance(t, ir.Product) else (t,))]


def _mentioned(st) -> list[str]:
    """Every occurrence of a node's name in one statement, in the order written."""
    if isinstance(st, ir.EdgeStmt):
        return [n for g in st.groups for n in _terms(g)]
    if isinstance(st, (ir.FamilyStmt, ir.RoleStmt, ir.LatentStmt)):
        return _terms(st.nodes)
    if isinstance(st, ir.BidirectedStmt):
        return [st.a, st.b]
    if isinstance(st, ir.PriorStmt):
        return [*([st.node] if st.node else []), *_terms([st.parent] if st.parent else [])]
    if isinstance(st, ir.CodeStmt):
        return [st.column]
    if isinstance(st, ir.ClusterStmt):
        return [*st.slopes, *(st.nodes or ())]
    return []


def _count_mentions(st, d: _Declarations) -> None:
    for name in _mentioned(st):
        d.mentions.setdefault(name, (STATEMENT_WORDS[type(st)], []))[1].append(st.loc)


# ---- steps once every statement is read --------------------------------------------------


def _roles(d: _Declarations) -> tuple[tuple[str, ir.Loc], tuple[str, ir.Loc]]:
    """The treatment and the outcome, each with where it was declared; both observed nodes."""
    for role in ("treatment", "outcome"):
        if role not in d.roles:
            raise SpecError(f"no {role} declared; add a line '{role} NAME'", source=d.source)
    treatment, outcome = d.roles["treatment"], d.roles["outcome"]
    if treatment[0] == outcome[0]:
        raise SpecError(f"{treatment[0]} is declared both treatment and outcome", **d.at(outcome[1]))
    in_graph = {n for e in d.edges for n in e}
    for role, (name, loc) in d.roles.items():
        if name not in in_graph:
            raise SpecError(f"{role} {name} is not in the graph: no edge mentions it", **d.at(loc))
        if name in d.latent:
            raise SpecError(f"{role} {name} is declared latent; the {role} must be observed", **d.at(d.latent[name]))
    return treatment, outcome


def _check_nodes(d: _Declarations) -> None:
    """Families and codings name observed nodes of the graph."""
    for name, (fam, loc) in d.families.items():
        if name in d.latent:
            raise SpecError(f"{name} is declared latent and given family {fam}; a latent node has no data", **d.at(loc))
    for column, (_, loc) in d.codes.items():
        if column not in d.first_seen:
            raise SpecError(f"code for {column}, which is not a node of the graph", **d.at(loc))
    for (child, factors), loc in d.products.items():
        hidden = [f for f in factors if f in d.latent]
        if hidden:
            raise SpecError(
                f"product term {':'.join(factors)} -> {child}: {hidden[0]} is latent; a product term "
                f"multiplies observed parents",
                **d.at(loc),
            )


def _levels(d: _Declarations) -> dict[str, int]:
    """Each node with levels (ordinal): their number, from ``ordinal(L)`` or its ``code`` statement.

    A code statement of a node with levels gives every level its integer ``0..L-1`` once; of
    any other node, 0 or 1.
    """
    out = {}
    for name, (levels, loc) in d.codes.items():
        fam = d.families.get(name, (None,))[0]
        wrong = [(lv, v) for lv, v in levels if v not in (0.0, 1.0)]
        if wrong and not (fam and FAMILIES[fam].support.levels):
            label, value = wrong[0]
            raise SpecError(
                f"code {name}: {label} = {ir.format_number(value)}; a level of a {fam or 'two-level'} node can only "
                f"be 0 or 1 (an ordinal node's levels are 0, 1, 2, ...)",
                **d.at(loc),
            )
    for name, (fam, loc) in d.families.items():
        code = d.codes.get(name)
        if not FAMILIES[fam].support.levels:
            continue
        stated = d.levels.get(name)
        if stated is None and code is None:
            raise SpecError(
                f"{name} ~ {fam}: how many levels? write e.g. '{name} ~ {fam}(5)' (levels 0..4 in the data), "
                f"or list them in order with 'code {name}: low = 0, mid = 1, high = 2'",
                **d.at(loc),
            )
        count = stated[0] if stated else len(code[0])
        if code is not None:
            values = sorted(v for _, v in code[0])
            if values != list(range(count)):
                raise SpecError(
                    f"code {name}: the levels of {fam} node {name} must be coded 0, 1, ..., {count - 1}, each once "
                    f"(got {', '.join(ir.format_number(v) for v in values)})",
                    **d.at(code[1]),
                )
        if count < 3:
            raise SpecError(f"{name} ~ {fam} has {count} levels; two levels: bernoulli", **d.at(loc))
        out[name] = count
    return out


def _check_prior_targets(d: _Declarations) -> None:
    """Every per-edge and per-node prior has a parameter to go to."""
    for (kind, param, node, parent), (_, loc) in d.priors.items():
        if kind == "edge" and isinstance(parent, tuple) and (node, parent) not in d.products:
            term = ":".join(parent)
            raise SpecError(
                f"prior for product term {term} -> {node}, which no edge statement adds; add '{term} -> {node}'",
                **d.at(loc),
            )
        if kind == "edge" and not isinstance(parent, tuple) and (parent, node) not in d.edges:
            raise SpecError(f"prior for edge {parent} -> {node}, which is not in the graph", **d.at(loc))
        if kind != "node" or cluster_param(param) is not None:
            continue  # a cluster term's priors are checked with the cluster terms
        if node not in d.families:
            raise SpecError(f"prior for {node}.{param}, but {node} has no family (so no {param})", **d.at(loc))
        fam = FAMILIES[d.families[node][0]]
        if param not in ("intercept", "beta") and fam.extra(param) is None:
            what = "no scale" if param == "sigma" else f"no parameter {param}"
            raise SpecError(f"prior for {node}.{param}, but family {fam.name} has {what}", **d.at(loc))


def _prior_of(d: _Declarations, param: str, node: str, parent: str | tuple | None = None) -> ir.Dist:
    """The prior of one parameter: edge > node > spec default > family default.

    ``parent`` is the coefficient's parent, or a product term's sorted factors.
    """
    for key in (("edge", None, node, parent), ("node", param, node, None), ("default", param, None, None)):
        if key in d.priors:
            return d.priors[key][0]
    fam = FAMILIES[d.families[node][0]] if node in d.families else FAMILIES["normal"]
    name, args = fam.default_prior(param)
    return ir.Dist(name, (), tuple(zip(PRIORS[name].params, args)))


def _refuse_mixed_coefficient_priors(d: _Declarations, spec_edges, products) -> None:
    """A node's coefficients are one vector with one prior distribution (its parameters may differ per term)."""
    coefficients = [(e.child, e.parent, e.prior, e.loc) for e in spec_edges if not e.latent]
    coefficients += [(p.child, p.factors, p.prior, p.loc) for p in products]
    first: dict[str, tuple] = {}
    for child, key, prior, loc in coefficients:
        f_child, f_key, f_prior, _ = first.setdefault(child, (child, key, prior, loc))
        if prior.name != f_prior.name:
            stated = d.priors.get(("edge", None, child, key)) or d.priors.get(("edge", None, f_child, f_key))
            label = lambda k: ":".join(k) if isinstance(k, tuple) else k  # noqa: E731
            raise SpecError(
                f"the coefficients of {child} have priors of different distributions ({f_prior.name} for "
                f"{label(f_key)}, {prior.name} for {label(key)}); per-edge priors of one node must share a "
                f"distribution (their parameters may differ)",
                **d.at(stated[1] if stated else loc),
            )


def _clusters(d: _Declarations, treatment: str) -> tuple[ir.ClusterTerm, ...]:
    """Each (cluster column, modelled node) pair with its priors, in the order the statements name them.

    ``cluster school`` gives every node with a family a random intercept by ``school``;
    ``cluster school: m, y`` only those; ``cluster school: t -> y`` a random slope of the
    treatment too. A node named twice by one column keeps its slope if either gives one.
    """
    modelled = [n for n in d.first_seen if n in d.families and n not in d.latent]
    terms: dict[tuple[str, str], tuple[str | None, ir.Loc]] = {}
    for st in d.clusters:
        at = d.at(st.loc)
        if st.column in d.first_seen:
            raise SpecError(
                f"cluster {st.column}: {st.column} is a node of the graph; a cluster column groups the rows "
                f"(schools, clinics) and is not a variable of the model",
                **at,
            )
        for n in st.nodes if st.nodes is not None else modelled:
            if n not in d.families or n in d.latent:
                what = "latent" if n in d.latent else ("not in the graph" if n not in d.first_seen else "has no family")
                raise SpecError(
                    f"cluster {st.column}: {n} is not a modelled node ({what}); a random intercept belongs to a node "
                    f"with a family{'' if n in d.latent or n not in d.first_seen else f' (add e.g. {n} ~ bernoulli)'}",
                    **at,
                )
            for v in st.slopes:
                if v != treatment:
                    raise SpecError(
                        f"cluster {st.column}: {v} -> {n}: only the treatment's coefficient may vary by cluster "
                        f"(a random slope of {treatment})",
                        **at,
                    )
                if (v, n) not in d.edges:
                    raise SpecError(
                        f"cluster {st.column}: {v} -> {n}: {n}'s equation has no {v} (add the edge '{v} -> {n}')", **at
                    )
            slope = st.slopes[0] if st.slopes else None
            old = terms.get((st.column, n))
            terms[(st.column, n)] = (slope or (old[0] if old else None), old[1] if old else st.loc)
        if st.nodes is None and not modelled:
            raise SpecError(f"cluster {st.column}: no node has a family, so none has an intercept to vary", **at)
    out = []
    for (column, node), (slope, loc) in terms.items():
        fam = FAMILIES[d.families[node][0]]

        def prior(kind, node=node, column=column, fam=fam):
            for key in (("node", f"{kind}_{column}", node, None), ("default", "sd", None, None)):
                if key in d.priors:
                    return d.priors[key][0]
            name, args = fam.cluster_sd
            return ir.Dist(name, (), tuple(zip(PRIORS[name].params, args)))

        eta = d.priors.get(("node", f"corr_{column}", node, None))
        out.append(
            ir.ClusterTerm(
                column,
                node,
                prior("sd"),
                slope,
                prior("slope_sd") if slope else None,
                dict(eta[0].kwargs)["eta"] if eta else 2.0,
                loc,
            )
        )
    for (kind, param, node, _), (_, loc) in d.priors.items():
        target = cluster_param(param)
        if target is None or (kind == "default" and param == "sd"):
            continue
        what, column = target
        if kind == "default":
            raise SpecError(
                f"prior {param} names a cluster column but no node: write 'prior y.{param} = ...' for node y "
                f"('prior sd = ...' sets every cluster sd)",
                **d.at(loc),
            )
        if not column:
            raise SpecError(
                f"prior {node}.{param}: name the cluster column, e.g. 'prior {node}.sd_school' for the sd of "
                f"{node}'s intercepts by school",
                **d.at(loc),
            )
        term = next((t for t in out if t.column == column and t.node == node), None)
        if term is None:
            raise SpecError(
                f"prior for {node}.{param}, but {node} has no random intercept by {column!r} "
                f"(add 'cluster {column}: {node}')",
                **d.at(loc),
            )
        if what != "sd" and term.slope is None:
            raise SpecError(
                f"prior for {node}.{param}, but {node} has no random slope by {column} "
                f"(add 'cluster {column}: {treatment} -> {node}')",
                **d.at(loc),
            )
    return tuple(out)


def _spec(d: _Declarations, treatment: tuple[str, ir.Loc], outcome: tuple[str, ir.Loc]) -> ir.Spec:
    """The resolved spec, every prior filled in."""
    levels = _levels(d)
    nodes = tuple(
        ir.Node(n, d.families.get(n, (None,))[0], n not in d.latent, loc, levels.get(n))
        for n, loc in d.first_seen.items()
    )
    node_priors = tuple(
        (
            n,
            ir.NodePriors(
                _prior_of(d, "intercept", n), tuple((p.name, _prior_of(d, p.name, n)) for p in FAMILIES[f].extras)
            ),
        )
        for n, (f, _) in d.families.items()
    )
    edges = tuple(
        ir.Edge(p, c, _prior_of(d, "beta", c, p), loc, latent=p in d.latent) for (p, c), loc in d.edges.items()
    )
    products = tuple(
        ir.ProductTerm(factors, child, _prior_of(d, "beta", child, factors), loc)
        for (child, factors), loc in d.products.items()
    )
    _refuse_mixed_coefficient_priors(d, edges, products)
    return ir.Spec(
        nodes=nodes,
        edges=edges,
        treatment=treatment[0],
        outcome=outcome[0],
        priors=node_priors,
        data=d.settings.get("data", (None,))[0],
        codes=tuple((c, lv) for c, (lv, _) in d.codes.items()),
        missing=d.settings.get("missing", ("drop",))[0],
        products=products,
        contrast=d.settings.get("contrast", (None,))[0],
        scale=d.settings.get("scale", (None,))[0],
        na=tuple(d.na),
        clusters=_clusters(d, treatment[0]),
        role_locs=(("treatment", treatment[1]), ("outcome", outcome[1])),
        mentions=tuple((name, what, tuple(locs)) for name, (what, locs) in d.mentions.items()),
        setting_locs=tuple((key, loc) for key, (_, loc) in d.settings.items()),
        source=d.source,
        text=d.text,
    )


def resolve(spec_ir: ir.SpecIR) -> ir.Spec:
    r"""Resolve parsed statements into a :class:`~dagmed.lang.ir.Spec`.

    Each statement goes to its handler in :data:`HANDLERS`; then the roles are checked,
    the families and codings, and the prior targets, and every prior is filled in.

    Parameters
    ----------
    spec_ir : ir.SpecIR
        The statements as written (:func:`dagmed.lang.parser.parse`).

    Returns
    -------
    ir.Spec
        Nodes, edges and priors explicit; equal for equal models whatever the layout.

    Raises
    ------
    SpecError
        For unknown names, contradictory or duplicate declarations, self-loops, and a
        missing treatment or outcome; located at the offending statement.

    Examples
    --------
    >>> from dagmed.lang import parser
    >>> spec = resolve(parser.parse("treatment t\noutcome y\nt -> y ~ bernoulli\nprior t -> y = normal(0, 2)\n"))
    >>> str(spec.edges[0].prior), str(spec.node_priors("y").intercept)
    ('normal(mu=0, sigma=2)', 'normal(mu=0, sigma=1)')
    >>> resolve(parser.parse("treatment t\noutcome y\nt -> y ~ bernouli\n", "s.dag"))
    Traceback (most recent call last):
    ...
    dagmed.errors.SpecError: s.dag:3:10: unknown family 'bernouli' (did you mean 'bernoulli'?); valid options are bernoulli, categorical, negbinomial, normal, ordinal, poisson, studentt
    """
    d = _Declarations(spec_ir)
    for st in spec_ir.statements:
        ir.handler(HANDLERS, st)(st, d)
        _count_mentions(st, d)
    treatment, outcome = _roles(d)
    _check_nodes(d)
    _check_prior_targets(d)
    return _spec(d, treatment, outcome)
