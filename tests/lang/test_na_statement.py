"""The ``na`` statement: which cell codes are missing values."""

import pytest

import dagmed
from dagmed.errors import SpecError, SpecSyntaxError
from dagmed.lang import ir, parser
from dagmed.lang.fmt import format_ir

BASE = "treatment t\noutcome y\nt -> y ~ bernoulli\n"


def test_na_codes_are_kept_in_order_across_statements():
    spec = dagmed.parse(BASE + 'na ".", "-99"\nna "?", "."\n')
    assert spec.na == (".", "-99", "?")


def test_without_na_there_are_no_codes():
    assert dagmed.parse(BASE).na == ()


def test_na_statement_ir_and_fmt():
    (st,) = parser.parse('na ".",   "n\\u00e4"\n').statements
    assert st == ir.NaStmt((".", "nä"), ir.Loc(1, 1))
    assert format_ir(parser.parse('na ".","-99"\n')) == 'na ".", "-99"\n'


@pytest.mark.parametrize("code", ['" ."', '""', '"- "'])
def test_a_code_with_surrounding_space_or_empty_is_refused(code):
    with pytest.raises(SpecError, match=r"s.dag:4:1: na .*must be non-empty and neither start nor end with a space"):
        dagmed.parse(BASE + f"na {code}\n", "s.dag")


def test_na_needs_quoted_codes():
    with pytest.raises(SpecSyntaxError, match=r"s.dag:4:4: unexpected '\.'; expected a quoted string"):
        dagmed.parse(BASE + "na .\n", "s.dag")
