"""IR statements -> a resolved :class:`~dagmed.ir.Spec`.

Validates names against the lookup tables, merges repeated declarations (refusing
contradictory ones), and fills every prior in: edge > node > spec default > family default.
"""

from __future__ import annotations

import math

from . import ir
from .errors import SpecError
from .families import FAMILIES, PARAMS, family
from .tables import MISSING, PRIORS, ROLES, lookup


class _Ctx:
    def __init__(self, spec_ir: ir.SpecIR):
        self.source = spec_ir.source
        self.text = spec_ir.text

    def at(self, loc: ir.Loc | None) -> dict:
        return ir.location(self.source, self.text, loc)


def _check_dist(dist: ir.Dist, ctx: _Ctx, *, scale: bool) -> ir.Dist:
    """Validate a prior's name and arguments; return it with keyword arguments only."""
    at = ctx.at(dist.loc)
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
    if scale and not spec.positive_support:
        valid = ", ".join(sorted(k for k, v in PRIORS.items() if v.positive_support))
        raise SpecError(f"a scale (sigma) needs a positive prior, not {dist.name}; valid options are {valid}", **at)
    return ir.Dist(dist.name, (), tuple((p, float(values[p])) for p in spec.params), dist.loc)


def _set_once(store: dict, key, value, loc, ctx: _Ctx, what: str):
    """Record a declaration; repeating it is fine, contradicting it is an error."""
    if key in store and store[key][0] != value:
        old, old_loc = store[key]
        raise SpecError(f"contradictory {what}: {old} (line {old_loc.line}) and {value}", **ctx.at(loc))
    store.setdefault(key, (value, loc))


def resolve(spec_ir: ir.SpecIR) -> ir.Spec:
    """Resolve parsed statements into a :class:`~dagmed.ir.Spec`.

    Raises
    ------
    SpecError
        For unknown names, contradictory or duplicate declarations, self-loops, and a
        missing treatment or outcome; located at the offending statement.
    """
    ctx = _Ctx(spec_ir)
    first_seen: dict[str, ir.Loc] = {}
    edges: dict[tuple[str, str], ir.Loc] = {}
    families: dict[str, tuple[str, ir.Loc]] = {}
    roles: dict[str, tuple[str, ir.Loc]] = {}
    latent: dict[str, ir.Loc] = {}
    priors: dict[tuple, tuple[ir.Dist, ir.Loc]] = {}
    codes: dict[str, tuple] = {}
    settings: dict[str, tuple] = {}  # data source and missing-value policy

    def see(name, loc):
        first_seen.setdefault(name, loc)

    def add_edge(parent, child, loc):
        if parent == child:
            raise SpecError(f"self-loop: {parent} -> {child}; a node cannot cause itself", **ctx.at(loc))
        see(parent, loc)
        see(child, loc)
        edges.setdefault((parent, child), loc)

    def add_family(node, fam, loc, floc):
        family(fam, **ctx.at(floc or loc))
        _set_once(families, node, fam, floc or loc, ctx, f"families for {node}")

    for st in spec_ir.statements:
        if isinstance(st, ir.EdgeStmt):
            for parents, children in zip(st.groups, st.groups[1:]):
                for p in parents:
                    for c in children:
                        add_edge(p, c, st.loc)
            if st.family is not None:
                for c in st.groups[-1]:
                    add_family(c, st.family, st.loc, st.family_loc)
        elif isinstance(st, ir.FamilyStmt):
            for n in st.nodes:
                see(n, st.loc)
                add_family(n, st.family, st.loc, st.family_loc)
        elif isinstance(st, ir.RoleStmt):
            role = lookup(ROLES, st.keyword, "role", **ctx.at(st.loc))
            for n in st.nodes:
                see(n, st.loc)
                _set_once(roles, role, n, st.loc, ctx, f"{role} declarations (dagmed needs exactly one {role})")
        elif isinstance(st, ir.LatentStmt):
            for n in st.nodes:
                see(n, st.loc)
                latent.setdefault(n, st.loc)
        elif isinstance(st, ir.BidirectedStmt):
            if st.a == st.b:
                raise SpecError(f"self-loop: {st.a} <-> {st.b}", **ctx.at(st.loc))
            u = f"U_{st.a}_{st.b}"
            see(st.a, st.loc)
            see(st.b, st.loc)
            latent.setdefault(u, st.loc)
            add_edge(u, st.a, st.loc)
            add_edge(u, st.b, st.loc)
        elif isinstance(st, ir.PriorStmt):
            key = (st.kind, st.param, st.node, st.parent)
            if st.param is not None:
                lookup(PARAMS, st.param, "prior target", **ctx.at(st.loc))
            scale = st.param is not None and any(f.extra(st.param) for f in FAMILIES.values())
            dist = _check_dist(st.dist, ctx, scale=scale)
            _set_once(priors, key, dist, st.loc, ctx, "priors for the same parameter")
        elif isinstance(st, ir.DataStmt):
            _set_once(settings, "data", st.source, st.loc, ctx, "data sources")
        elif isinstance(st, ir.CodeStmt):
            for label, value in st.levels:
                if value not in (0.0, 1.0):
                    raise SpecError(f"code {st.column}: {label} = {ir._num(value)}; a level can only be 0 or 1", **ctx.at(st.loc))
            labels = [lv for lv, _ in st.levels]
            if len(set(labels)) != len(labels):
                raise SpecError(f"code {st.column}: a level is given twice", **ctx.at(st.loc))
            _set_once(codes, st.column, tuple(st.levels), st.loc, ctx, f"codings for column {st.column}")
        elif isinstance(st, ir.MissingStmt):
            lookup(MISSING, st.policy, "missing-value policy", **ctx.at(st.loc))
            _set_once(settings, "missing", st.policy, st.loc, ctx, "missing-value policies")

    data = settings.get("data", (None,))[0]
    missing = settings.get("missing", ("drop",))[0]

    # ---- roles ----
    for role in ("treatment", "outcome"):
        if role not in roles:
            raise SpecError(f"no {role} declared; add a line '{role} NAME'", source=ctx.source)
    treatment, tloc = roles["treatment"]
    outcome, oloc = roles["outcome"]
    if treatment == outcome:
        raise SpecError(f"{treatment} is declared both treatment and outcome", **ctx.at(oloc))
    in_graph = {n for e in edges for n in e}
    for role, (name, loc) in roles.items():
        if name not in in_graph:
            raise SpecError(f"{role} {name} is not in the graph: no edge mentions it", **ctx.at(loc))
        if name in latent:
            raise SpecError(f"{role} {name} is declared latent; the {role} must be observed", **ctx.at(latent[name]))
    for name, (fam, loc) in families.items():
        if name in latent:
            raise SpecError(f"{name} is declared latent and given family {fam}; a latent node has no data", **ctx.at(loc))
    for column, (_, loc) in codes.items():
        if column not in first_seen:
            raise SpecError(f"code for {column}, which is not a node of the graph", **ctx.at(loc))

    # ---- priors: edge > node > spec default > family default ----
    nodes = tuple(
        ir.Node(n, families.get(n, (None,))[0], n not in latent, loc) for n, loc in first_seen.items()
    )
    for (kind, param, node, parent), (dist, loc) in priors.items():
        if kind == "edge" and (parent, node) not in edges:
            raise SpecError(f"prior for edge {parent} -> {node}, which is not in the graph", **ctx.at(loc))
        if kind == "node":
            if node not in families:
                raise SpecError(f"prior for {node}.{param}, but {node} has no family (so no {param})", **ctx.at(loc))
            fam = FAMILIES[families[node][0]]
            if param not in ("intercept", "beta") and fam.extra(param) is None:
                what = "no scale" if param == "sigma" else f"no parameter {param}"
                raise SpecError(f"prior for {node}.{param}, but family {fam.name} has {what}", **ctx.at(loc))

    def prior(param, node, parent=None):
        for key in (("edge", None, node, parent), ("node", param, node, None), ("default", param, None, None)):
            if key in priors:
                return priors[key][0]
        fam = FAMILIES[families[node][0]] if node in families else FAMILIES["normal"]
        name, args = fam.default_prior(param)
        spec = PRIORS[name]
        return ir.Dist(name, (), tuple(zip(spec.params, args)))

    node_priors = tuple(
        (n, ir.NodePriors(prior("intercept", n), tuple((p.name, prior(p.name, n)) for p in FAMILIES[f].extras)))
        for n, (f, _) in families.items()
    )
    edge_list = tuple(
        ir.Edge(p, c, prior("beta", c, p), loc, latent=p in latent) for (p, c), loc in edges.items()
    )
    return ir.Spec(
        nodes=nodes,
        edges=edge_list,
        treatment=treatment,
        outcome=outcome,
        priors=node_priors,
        data=data,
        codes=tuple((c, lv) for c, (lv, _) in codes.items()),
        missing=missing,
        role_locs=(("treatment", tloc), ("outcome", oloc)),
        source=ctx.source,
        text=ctx.text,
    )
