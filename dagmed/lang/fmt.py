"""``dagmed fmt``: print a spec back as canonical text.

One statement per line in the order written, single spaces, numbers in their shortest
form. The output parses to the same spec (``resolve(parse(fmt(x))) == resolve(parse(x))``).
Comments are not part of the IR and are not kept.
"""

from __future__ import annotations

import json
import re

from . import ir

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\Z")
_KEYWORDS = {
    "treatment",
    "exposure",
    "outcome",
    "response",
    "latent",
    "prior",
    "data",
    "code",
    "missing",
    "contrast",
    "scale",
    "na",
    "vs",
    "cluster",
}


def quote_level(text: str) -> str:
    """A level of a ``code`` statement as the spec language writes it: plain, a number, or in double quotes.

    Examples
    --------
    >>> quote_level("Male"), quote_level("1"), quote_level("not sure")
    ('Male', '1', '"not sure"')
    """
    if _NAME.match(text) and text not in _KEYWORDS or _NUMBER.match(text) and ir.format_number(float(text)) == text:
        return text
    return json.dumps(text, ensure_ascii=False)


def quote(name: str) -> str:
    """A node's name as the spec language writes it: plain when it can be, else in backticks.

    Parameters
    ----------
    name : str
        A node or column name.

    Returns
    -------
    str
        ``name`` itself when it is an identifier that is not a keyword, else `` `name` ``.

    Examples
    --------
    >>> quote("relapse"), quote("got treatment"), quote("prior")
    ('relapse', '`got treatment`', '`prior`')
    """
    return name if _NAME.match(name) and name not in _KEYWORDS else f"`{name}`"


def _term(term) -> str:
    """A name, or a product term with each factor quoted as needed (`` `got treatment`:m ``)."""
    return ":".join(map(quote, term.factors)) if isinstance(term, ir.Product) else quote(term)


def _names(nodes) -> str:
    return ", ".join(map(_term, nodes))


def _edge(st: ir.EdgeStmt) -> str:
    text = " -> ".join(_names(g) for g in st.groups)
    return f"{text} ~ {st.family}" if st.family else text


def _prior(st: ir.PriorStmt) -> str:
    if st.kind == "default":
        target = st.param
    elif st.kind == "node":
        target = f"{quote(st.node)}.{st.param}"
    else:
        target = f"{_term(st.parent)} -> {quote(st.node)}"
    return f"prior {target} = {st.dist}"


def _code(st: ir.CodeStmt) -> str:
    levels = ", ".join(f"{quote_level(lv)} = {ir.format_number(v)}" for lv, v in st.levels)
    return f"code {quote(st.column)}: {levels}"


def _cluster(st: ir.ClusterStmt) -> str:
    if st.nodes is None:
        return f"cluster {quote(st.column)}"
    slopes = f"{_names(st.slopes)} -> " if st.slopes else ""
    return f"cluster {quote(st.column)}: {slopes}{_names(st.nodes)}"


# Statement class -> its canonical line.
FORMATTERS = {
    ir.EdgeStmt: _edge,
    ir.FamilyStmt: lambda st: f"{_names(st.nodes)} ~ {st.family}",
    ir.RoleStmt: lambda st: f"{st.keyword} {_names(st.nodes)}",
    ir.LatentStmt: lambda st: f"latent {_names(st.nodes)}",
    ir.BidirectedStmt: lambda st: f"{quote(st.a)} <-> {quote(st.b)}",
    ir.PriorStmt: _prior,
    ir.DataStmt: lambda st: f"data {json.dumps(st.source, ensure_ascii=False)}",
    ir.CodeStmt: _code,
    ir.MissingStmt: lambda st: f"missing {st.policy}",
    ir.ScaleStmt: lambda st: f"scale {st.scale}",
    ir.NaStmt: lambda st: "na " + ", ".join(json.dumps(c, ensure_ascii=False) for c in st.codes),
    ir.ClusterStmt: _cluster,
    ir.ContrastStmt: lambda st: f"contrast {ir.format_number(st.active)} vs {ir.format_number(st.reference)}",
}


def format_ir(spec_ir: ir.SpecIR) -> str:
    """The canonical text of a parsed spec: one statement a line, in the order written.

    Parameters
    ----------
    spec_ir : ir.SpecIR
        From :func:`dagmed.lang.parser.parse`.

    Returns
    -------
    str
        Text that parses back to the same statements; comments are not kept.

    Raises
    ------
    TypeError
        For an object among the statements that is not one.

    Examples
    --------
    >>> from dagmed.lang import parser
    >>> print(format_ir(parser.parse("treatment t  # the trial arm\\noutcome y\\nt->y~bernoulli\\nprior beta=normal(0,2.50)\\n")), end="")
    treatment t
    outcome y
    t -> y ~ bernoulli
    prior beta = normal(0, 2.5)
    """
    return "".join(ir.handler(FORMATTERS, st)(st) + "\n" for st in spec_ir.statements)
