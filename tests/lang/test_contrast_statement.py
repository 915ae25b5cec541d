"""The ``contrast ACTIVE vs REFERENCE`` statement: parsed, resolved, printed back, refused when it says nothing."""

import pytest

import dagmed
from dagmed.errors import SpecError, SpecSyntaxError
from dagmed.lang import parser, resolver
from dagmed.lang.fmt import format_ir
from dagmed.model.ir import ModelIR

BASE = "treatment t\noutcome y\nt -> y ~ normal\n"


def test_stated_and_default():
    assert dagmed.parse(BASE + "contrast 2 vs -0.5\n").contrast == (2.0, -0.5)
    assert dagmed.parse(BASE).contrast is None
    assert ModelIR.from_analysis(dagmed.check(dagmed.parse(BASE))).contrast == (1.0, 0.0)


def test_fmt_prints_it_back():
    text = BASE + "contrast 2.5 vs 0\n"
    out = format_ir(parser.parse(text))
    assert out.endswith("contrast 2.5 vs 0\n")
    assert resolver.resolve(parser.parse(out)) == resolver.resolve(parser.parse(text))


@pytest.mark.parametrize(
    "text, error, message",
    [
        ("contrast 1 vs 1\n", SpecError, "the active and the reference value must differ"),
        ("contrast 1 vs 0\ncontrast 2 vs 0\n", SpecError, "contradictory contrasts"),
        ("contrast 1 0\n", SpecSyntaxError, "expected one of .*'vs'"),
    ],
)
def test_refused_where_written(text, error, message):
    with pytest.raises(error, match=message) as err:
        dagmed.parse(BASE + text, "s.dag")
    assert err.value.line >= 4
