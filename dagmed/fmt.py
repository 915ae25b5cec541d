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
_KEYWORDS = {"treatment", "exposure", "outcome", "response", "latent", "prior", "data", "code", "missing"}


def _label(text: str) -> str:
    if _NAME.match(text) and text not in _KEYWORDS:
        return text
    return json.dumps(text, ensure_ascii=False)


def _names(nodes) -> str:
    return ", ".join(nodes)


def _stmt(st) -> str:
    if isinstance(st, ir.RoleStmt):
        return f"{st.keyword} {_names(st.nodes)}"
    if isinstance(st, ir.EdgeStmt):
        text = " -> ".join(_names(g) for g in st.groups)
        return f"{text} ~ {st.family}" if st.family else text
    if isinstance(st, ir.FamilyStmt):
        return f"{_names(st.nodes)} ~ {st.family}"
    if isinstance(st, ir.LatentStmt):
        return f"latent {_names(st.nodes)}"
    if isinstance(st, ir.BidirectedStmt):
        return f"{st.a} <-> {st.b}"
    if isinstance(st, ir.PriorStmt):
        target = {
            "default": lambda: st.param,
            "node": lambda: f"{st.node}.{st.param}",
            "edge": lambda: f"{st.parent} -> {st.node}",
        }[st.kind]()
        return f"prior {target} = {st.dist}"
    if isinstance(st, ir.DataStmt):
        return f"data {json.dumps(st.source, ensure_ascii=False)}"
    if isinstance(st, ir.CodeStmt):
        levels = ", ".join(f"{_label(lv)} = {ir._num(v)}" for lv, v in st.levels)
        return f"code {st.column}: {levels}"
    if isinstance(st, ir.MissingStmt):
        return f"missing {st.policy}"
    raise TypeError(f"not a statement: {st!r}")


def format_ir(spec_ir: ir.SpecIR) -> str:
    """Canonical text of a parsed spec."""
    return "".join(_stmt(st) + "\n" for st in spec_ir.statements)
