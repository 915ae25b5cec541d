"""The spec's intermediate representation: frozen, value-comparable dataclasses.

The parser produces a :class:`SpecIR` (the statements as written, each with its line and
column); the resolver turns it into a :class:`Spec` (nodes, edges and priors with every
default filled in). Both compare by value, so tests compare parsed specs directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Loc:
    """A 1-based position in the spec text."""

    line: int
    column: int


@dataclass(frozen=True)
class Dist:
    """A prior distribution by name, e.g. ``normal(0, 1)``."""

    name: str
    args: tuple[float, ...] = ()
    kwargs: tuple[tuple[str, float], ...] = ()
    loc: Loc | None = field(default=None, compare=False)

    def __str__(self) -> str:
        parts = [format_number(a) for a in self.args] + [f"{k}={format_number(v)}" for k, v in self.kwargs]
        return f"{self.name}({', '.join(parts)})"


def location(source: str, text: str, loc: Loc | None) -> dict:
    """Keyword arguments that locate an error at ``loc`` in ``source`` (just the file if None)."""
    if loc is None:
        return {"source": source}
    return {"source": source, "line": loc.line, "column": loc.column, "text": text}


def format_number(x: float) -> str:
    """A number as the spec language writes it: integers without a point, others in full.

    Parameters
    ----------
    x : float

    Returns
    -------
    str
        The shortest text that reads back as ``x``.

    Examples
    --------
    >>> format_number(1.0), format_number(0.1), format_number(-2.5e-7)
    ('1', '0.1', '-2.5e-07')
    """
    return str(int(x)) if float(x).is_integer() else repr(float(x))


# ---- statements, as written -------------------------------------------------------------


@dataclass(frozen=True)
class Product:
    """``a:b``: the product of two or more parents, one more term of their children's equations.

    Examples
    --------
    >>> str(Product(("t", "m")))
    't:m'
    """

    factors: tuple[str, ...]

    def __str__(self) -> str:
        return ":".join(self.factors)


@dataclass(frozen=True)
class EdgeStmt:
    """``a, b -> c -> d [~ family]``: every parent group points to the next group.

    The first group may hold :class:`Product` terms (``t:m -> y``); the others are names.
    """

    groups: tuple[tuple[str | Product, ...], ...]
    family: str | None
    loc: Loc
    family_loc: Loc | None = None


@dataclass(frozen=True)
class FamilyStmt:
    """``a, b ~ family``."""

    nodes: tuple[str, ...]
    family: str
    loc: Loc
    family_loc: Loc | None = None


@dataclass(frozen=True)
class RoleStmt:
    """``treatment x`` / ``outcome y``; ``keyword`` is as written (aliases allowed)."""

    keyword: str
    nodes: tuple[str, ...]
    loc: Loc


@dataclass(frozen=True)
class LatentStmt:
    nodes: tuple[str, ...]
    loc: Loc


@dataclass(frozen=True)
class BidirectedStmt:
    """``a <-> b``: a latent common cause of a and b."""

    a: str
    b: str
    loc: Loc


@dataclass(frozen=True)
class PriorStmt:
    """``prior TARGET = dist``; target kind is "default", "node" or "edge"."""

    kind: str
    param: str | None  # intercept / beta / sigma for default and node targets
    node: str | None  # the node (node target) or the child (edge target)
    parent: str | Product | None  # edge target only: a parent, or a product term
    dist: Dist
    loc: Loc


@dataclass(frozen=True)
class DataStmt:
    source: str
    loc: Loc


@dataclass(frozen=True)
class CodeStmt:
    """``code gender: Male = 1[, Female = 0]``."""

    column: str
    levels: tuple[tuple[str, float], ...]
    loc: Loc


@dataclass(frozen=True)
class MissingStmt:
    policy: str
    loc: Loc


@dataclass(frozen=True)
class ScaleStmt:
    """``scale rr``: the scale the effects are reported on."""

    scale: str
    loc: Loc


@dataclass(frozen=True)
class ContrastStmt:
    """``contrast 2 vs 0``: the treatment's active value, then its reference value."""

    active: float
    reference: float
    loc: Loc


@dataclass(frozen=True)
class NaStmt:
    """``na ".", "-99"``: data cells holding one of these codes (after trimming whitespace) are missing."""

    codes: tuple[str, ...]
    loc: Loc


@dataclass(frozen=True)
class ClusterStmt:
    """``cluster school[: m, y]`` or ``cluster school: t -> y``: random intercepts (and slopes) by a column.

    ``nodes`` None: every modelled node. ``slopes``: the variables whose coefficients vary by
    cluster too (the left of the arrow), empty for intercepts alone.
    """

    column: str
    nodes: tuple[str, ...] | None
    slopes: tuple[str, ...]
    loc: Loc


# Every statement type; the resolver and the formatter each hold one handler per type.
STATEMENTS = (
    EdgeStmt,
    FamilyStmt,
    RoleStmt,
    LatentStmt,
    BidirectedStmt,
    PriorStmt,
    DataStmt,
    CodeStmt,
    MissingStmt,
    ContrastStmt,
    ScaleStmt,
    NaStmt,
    ClusterStmt,
)


def handler(table: dict, statement):
    """The entry of ``table`` for the type of ``statement``: one error for a type nobody handles.

    Parameters
    ----------
    table : dict
        Statement class -> handler.
    statement : object
        A statement of :data:`STATEMENTS`.

    Returns
    -------
    object
        ``table[type(statement)]``.

    Raises
    ------
    TypeError
        If ``statement`` is not of a type in ``table`` (a bug, not the user's doing).

    Examples
    --------
    >>> handler({MissingStmt: "policy"}, MissingStmt("drop", Loc(1, 1)))
    'policy'
    >>> handler({MissingStmt: "policy"}, "missing drop")
    Traceback (most recent call last):
    ...
    TypeError: not a statement: 'missing drop'
    """
    try:
        return table[type(statement)]
    except KeyError:
        raise TypeError(f"not a statement: {statement!r}") from None


@dataclass(frozen=True)
class SpecIR:
    """A parsed spec: its statements in file order."""

    statements: tuple
    source: str = field(default="<string>", compare=False)
    text: str = field(default="", compare=False, repr=False)


# ---- the resolved spec ------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    name: str
    family: str | None  # None for latent nodes and for exogenous covariates
    observed: bool
    loc: Loc = field(compare=False)
    levels: int | None = None  # an ordinal node's number of levels


@dataclass(frozen=True)
class Edge:
    parent: str
    child: str
    prior: Dist  # prior of the coefficient
    loc: Loc = field(compare=False)
    latent: bool = False  # an edge out of a latent node (no coefficient is fitted)


@dataclass(frozen=True)
class ProductTerm:
    """A product of parents in ``child``'s equation (``t:m -> y``), with its coefficient's prior.

    ``factors`` are sorted by name: ``t:m`` and ``m:t`` are one term (the model IR orders
    them as the child's design does).
    """

    factors: tuple[str, ...]
    child: str
    prior: Dist
    loc: Loc = field(compare=False)

    @property
    def name(self) -> str:
        return ":".join(self.factors)


@dataclass(frozen=True)
class ClusterTerm:
    """A node's random intercept by the cluster column ``column`` (and a random slope of ``slope``).

    The intercepts are ``sd * z_g`` with ``z_g ~ Normal(0, 1)`` per cluster ``g`` (non-centred);
    with a slope, the pair (intercept, slope) per cluster has sds ``sd`` and ``slope_sd`` and
    correlation ``rho`` whose prior is LKJ(``eta``): for two dimensions ``(rho + 1) / 2 ~
    Beta(eta, eta)``.
    """

    column: str
    node: str
    sd: Dist
    slope: str | None = None
    slope_sd: Dist | None = None
    eta: float = 2.0
    loc: Loc | None = field(default=None, compare=False)


@dataclass(frozen=True)
class NodePriors:
    """A node's intercept prior and the priors of its family's extra parameters (e.g. sigma)."""

    intercept: Dist
    extras: tuple[tuple[str, Dist], ...] = ()

    def extra(self, name: str) -> Dist:
        return dict(self.extras)[name]


@dataclass(frozen=True)
class Spec:
    """A resolved spec: every node, edge and prior explicit; roles declared.

    Equality is the model's: locations are carried for messages but not compared, so
    the same model written in another layout (or by ``dagmed fmt``) compares equal.

    Mediators and covariates are not stored: they follow from the graph
    (see :func:`dagmed.graph.analysis.analyse`).
    """

    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    treatment: str
    outcome: str
    priors: tuple[tuple[str, NodePriors], ...]  # per observed endogenous node
    data: str | None = None
    codes: tuple[tuple[str, tuple[tuple[str, float], ...]], ...] = ()
    missing: str = "drop"
    products: tuple[ProductTerm, ...] = ()  # product terms, in the order written
    contrast: tuple[float, float] | None = None  # the treatment's (active, reference) values; None: not stated
    scale: str | None = None  # the effects' scale (diff, rr, or); None: not stated (diff)
    na: tuple[str, ...] = ()  # data cells holding one of these codes are missing (na statements)
    clusters: tuple[ClusterTerm, ...] = ()  # random intercepts (and slopes) by cluster columns
    role_locs: tuple[tuple[str, Loc], ...] = field(default=(), compare=False)
    # every node's mentions in the text: (name, the statement of the first, the Loc of each mention's statement)
    mentions: tuple[tuple[str, str, tuple[Loc, ...]], ...] = field(default=(), compare=False)
    setting_locs: tuple[tuple[str, Loc], ...] = field(default=(), compare=False)  # where data, scale, ... were set
    source: str = field(default="<string>", compare=False)
    text: str = field(default="", compare=False, repr=False)

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    def node_priors(self, name: str) -> NodePriors:
        return dict(self.priors)[name]

    def code_for(self, column: str):
        return dict(self.codes).get(column)

    def at(self, loc: Loc | None) -> dict:
        """Keyword arguments locating an error at ``loc`` in this spec."""
        return location(self.source, self.text, loc)

    def loc_of(self, node: str) -> dict:
        """Keyword arguments locating an error at ``node``'s first mention."""
        return self.at(next((n.loc for n in self.nodes if n.name == node), None))
