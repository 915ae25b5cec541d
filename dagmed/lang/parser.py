"""Spec text -> :class:`~dagmed.lang.ir.SpecIR`, with lark's errors translated.

The grammar is ``dagmed.lark`` beside this module (package data, shipped by ``pip install .``).
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import lark
from lark import Lark, Token, Transformer, v_args

from ..errors import SpecSyntaxError
from . import ir

# How lark's terminal names read in an error message.
_TERMINAL_NAMES = {
    "NAME": "a name",
    "QNAME": "a name",
    "SIGNED_NUMBER": "a number",
    "STRING": 'a quoted string ("...")',
    "_NL": "end of line",
    "$END": "end of file",
    "_ARROW": "'->'",
    "_BIARROW": "'<->'",
}


def _grammar_text() -> str:
    """The grammar: package data beside this module (``pip install .`` ships it)."""
    return resources.files(__package__).joinpath("dagmed.lark").read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def _lark() -> Lark:
    return Lark(_grammar_text(), parser="lalr", propagate_positions=True, maybe_placeholders=False)


class _Family(NamedTuple):
    name: str
    loc: ir.Loc


def _loc(meta_or_token) -> ir.Loc:
    return ir.Loc(meta_or_token.line, meta_or_token.column)


@v_args(meta=True)
class _ToIR(Transformer):
    """Parse tree -> IR statements."""

    def start(self, meta, stmts):
        return tuple(stmts)

    def name(self, meta, children):
        (token,) = children
        return _name(token)

    def node_list(self, meta, names):
        return tuple(names)

    def term(self, meta, names):
        return names[0] if len(names) == 1 else ir.Product(tuple(names))

    def term_list(self, meta, terms):
        return tuple(terms)

    def family(self, meta, children):
        name, *rest = children
        levels = rest[0] if rest else None
        if levels is None:
            return _Family(str(name), _loc(name))
        # ``ordinal(5)``: the statement carries the family as written; the resolver splits it
        return _Family(f"{name}({ir.format_number(levels)})", _loc(name))

    def edge(self, meta, children):
        fam = children[-1] if isinstance(children[-1], _Family) else None
        groups = tuple(children[:-1] if fam else children)
        return ir.EdgeStmt(groups, fam.name if fam else None, _loc(meta), fam.loc if fam else None)

    def family_decl(self, meta, children):
        nodes, (fam, floc) = children
        return ir.FamilyStmt(nodes, fam, _loc(meta), floc)

    def role_kw(self, meta, children):
        return str(children[0])

    def role(self, meta, children):
        kw, nodes = children
        return ir.RoleStmt(kw, nodes, _loc(meta))

    def latent(self, meta, children):
        return ir.LatentStmt(children[0], _loc(meta))

    def bidirected(self, meta, children):
        a, b = children
        return ir.BidirectedStmt(str(a), str(b), _loc(meta))

    def number(self, meta, children):
        return float(children[0])

    def arg(self, meta, children):
        return children[0]

    def kwarg(self, meta, children):
        return (str(children[0]), children[1])

    def dist(self, meta, children):
        name, *args = children
        pos = tuple(a for a in args if not isinstance(a, tuple))
        kw = tuple(a for a in args if isinstance(a, tuple))
        return ir.Dist(str(name), pos, kw, _loc(name))

    def prior_default(self, meta, children):
        return ("default", str(children[0]), None, None)

    def prior_node(self, meta, children):
        node, param = children
        return ("node", str(param), str(node), None)

    def prior_edge(self, meta, children):
        parent, child = children
        return ("edge", None, str(child), parent)

    def prior(self, meta, children):
        (kind, param, node, parent), dist = children
        return ir.PriorStmt(kind, param, node, parent, dist, _loc(meta))

    def data(self, meta, children):
        return ir.DataStmt(_unquote(children[0]), _loc(meta))

    def level(self, meta, children):
        label, value = children
        if isinstance(label, Token):
            label = _unquote(label) if label.type == "STRING" else _name(label)
        return (str(label) if not isinstance(label, float) else ir.format_number(label), value)

    def code(self, meta, children):
        col, *levels = children
        return ir.CodeStmt(str(col), tuple(levels), _loc(meta))

    def missing(self, meta, children):
        return ir.MissingStmt(str(children[0]), _loc(meta))

    def scale(self, meta, children):
        return ir.ScaleStmt(str(children[0]), _loc(meta))

    def na(self, meta, children):
        return ir.NaStmt(tuple(_unquote(c) for c in children), _loc(meta))

    def cluster(self, meta, children):
        column, *lists = children
        nodes, slopes = (None, ()) if not lists else (lists[-1], lists[0] if len(lists) == 2 else ())
        return ir.ClusterStmt(column, nodes, slopes, _loc(meta))

    def contrast(self, meta, children):
        active, reference = children
        return ir.ContrastStmt(active, reference, _loc(meta))


# Characters a quoted name may not hold although the grammar reads them: the posterior's
# variable names are made from node names, and PyMC's dimensions and netCDF refuse a comma and
# a slash; a design term's name joins its factors by ':' and names a level by '[l]'.
_UNSAFE_IN_NAMES = {",": "a comma", "/": "a slash", ":": "a colon", "[": "a bracket", "]": "a bracket"}


def _name(token: Token) -> str:
    """A name as written, without its backticks when it is quoted (`` `got treatment` ``)."""
    text = str(token)
    if token.type != "QNAME":
        return text
    for ch, what in _UNSAFE_IN_NAMES.items():
        if ch in text:
            raise SpecSyntaxError(
                f"quoted name {text} holds {what}: the posterior's variable and term names are made from node "
                f"names and cannot carry it; rename the data column (e.g. '{text[1:-1].replace(ch, '_')}')",
                line=token.line,
                column=token.column + text.index(ch),
            )
    return text[1:-1]


def _unquote(token) -> str:
    """A quoted string's text; escapes as in JSON (``\\"``, ``\\\\``, ``\\n``, ``\\u00e9``)."""
    try:
        return json.loads(str(token))
    except json.JSONDecodeError as exc:
        raise SpecSyntaxError(
            f"invalid escape in string {token}: {exc.msg}", line=token.line, column=token.column + exc.pos
        ) from None


def _describe(terminals) -> str:
    parser = _lark()
    names = []
    for t in sorted(set(terminals)):
        if t in _TERMINAL_NAMES:
            names.append(_TERMINAL_NAMES[t])
            continue
        try:
            pattern = parser.get_terminal(t).pattern
        except KeyError:
            names.append(t)
            continue
        names.append(f"'{pattern.value}'" if pattern.type == "str" else t)
    names = sorted(set(names))
    return names[0] if len(names) == 1 else "one of " + ", ".join(names)


def _translate(err: lark.exceptions.UnexpectedInput, source: str, text: str) -> SpecSyntaxError:
    loc = {"source": source, "line": err.line, "column": err.column, "text": text}
    if isinstance(err, lark.exceptions.UnexpectedCharacters):
        ch = err.char
        if ch == '"':
            return SpecSyntaxError("unterminated string: a '\"' with no closing '\"' on the same line", **loc)
        if ch == "`":
            return SpecSyntaxError(
                "unterminated quoted name: a '`' with no closing '`' on the same line (a quoted name holds at "
                "least one character, and no backtick)",
                **loc,
            )
        return SpecSyntaxError(f"unexpected character {ch!r}; expected {_describe(err.allowed)}", **loc)
    if isinstance(err, lark.exceptions.UnexpectedToken):
        tok = err.token
        expected = _describe(err.expected)
        if tok.type == "_NL" or tok.type == "$END":
            if "RPAR" in err.expected:
                return SpecSyntaxError(f"unclosed '(': the line ends where {expected} was expected", **loc)
            if "NAME" in err.expected and err.expected <= {"NAME"} | set(_TERMINAL_NAMES) and _after_tilde(err, text):
                return SpecSyntaxError("missing family name after '~'; expected a name such as bernoulli", **loc)
            return SpecSyntaxError(f"the line ends too early; expected {expected}", **loc)
        return SpecSyntaxError(f"unexpected {_show(tok)}; expected {expected}", **loc)
    return SpecSyntaxError(f"unexpected end of file; expected {_describe(err.expected)}", **loc)


def _after_tilde(err, text: str) -> bool:
    lines = text.splitlines()
    if not 1 <= err.line <= len(lines):
        return False
    return lines[err.line - 1][: err.column - 1].rstrip().endswith("~")


def _show(tok: Token) -> str:
    if tok.type == "NAME":
        return f"name '{tok}'"
    if tok.type == "QNAME":
        return f"name {tok}"
    if tok.type == "SIGNED_NUMBER":
        return f"number {tok}"
    return f"'{tok}'"


def parse(text: str, source: str = "<string>") -> ir.SpecIR:
    r"""Parse spec text into its IR.

    Parameters
    ----------
    text : str
        The spec.
    source : str
        The file name used in error messages.

    Returns
    -------
    ir.SpecIR
        The statements as written, each with its line and column.

    Raises
    ------
    SpecSyntaxError
        With file, line and column and what was expected there.

    Examples
    --------
    >>> parse("treatment t\noutcome y\nt -> y ~ bernoulli\n").statements[2]
    EdgeStmt(groups=(('t',), ('y',)), family='bernoulli', loc=Loc(line=3, column=1), family_loc=Loc(line=3, column=10))
    >>> parse("t -> -> y\n", "s.dag")
    Traceback (most recent call last):
    ...
    dagmed.errors.SpecSyntaxError: s.dag:1:6: unexpected '->'; expected a name
    """
    if not isinstance(text, str):
        raise SpecSyntaxError("a spec must be text", source=source)
    if "\x00" in text:
        i = text.index("\x00")
        line = text.count("\n", 0, i) + 1
        col = i - (text.rfind("\n", 0, i) + 1) + 1
        raise SpecSyntaxError("the spec holds a NUL byte: it is not a text file", source=source, line=line, column=col)
    try:
        tree = _lark().parse(text + "\n")
    except lark.exceptions.UnexpectedInput as err:
        raise _translate(err, source, text) from None
    try:
        statements = _ToIR().transform(tree)
    except lark.exceptions.VisitError as err:
        if isinstance(err.orig_exc, SpecSyntaxError):
            e = err.orig_exc
            raise SpecSyntaxError(e.message, source=source, line=e.line, column=e.column, text=text) from None
        raise
    return ir.SpecIR(statements, source=source, text=text)


def read(path) -> ir.SpecIR:
    r"""Read and parse a spec file (UTF-8, an initial byte-order mark ignored).

    Parameters
    ----------
    path : str or os.PathLike
        The spec file; its name is the ``source`` of error messages.

    Returns
    -------
    ir.SpecIR

    Raises
    ------
    SpecSyntaxError
        If the file is missing, unreadable, not UTF-8, or not a valid spec.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = pathlib.Path(tmp) / "s.dag"
    ...     _ = path.write_text("treatment t\noutcome y\nt -> y ~ normal\n")
    ...     print([type(st).__name__ for st in read(path).statements])
    ['RoleStmt', 'RoleStmt', 'EdgeStmt']
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SpecSyntaxError(f"spec file not found: {path}") from None
    except OSError as exc:
        raise SpecSyntaxError(f"cannot read spec file {path}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SpecSyntaxError(
            f"not UTF-8 text: byte 0x{raw[exc.start]:02x} cannot be decoded", source=str(path), line=line, column=col
        ) from None
    return parse(text.lstrip("\ufeff"), source=str(path))
