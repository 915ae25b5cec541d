"""Parser: golden IR compared by value, and every class of syntax error located."""

import pytest

from dagmed.errors import SpecSyntaxError
from dagmed.lang import ir, parser

L = ir.Loc


def test_golden_ir_every_statement():
    text = (
        "# a comment\n"
        "\n"
        "exposure t   # trailing comment\n"
        "outcome y\n"
        "x1, x2 -> t -> m -> y ~ bernoulli\n"
        "m ~ poisson\n"
        "latent u\n"
        "t <-> x1\n"
        "prior beta = normal(0, 2.5)\n"
        "prior y.intercept = studentt(nu=3, mu=0, sigma=1)\n"
        "prior t -> y = normal(-1, 1e-1)\n"
        'data "sub dir/file.csv"\n'
        'code x1: Male = 1, "Not male" = 0\n'
        "missing error\n"
    )
    got = parser.parse(text)
    want = ir.SpecIR(
        (
            ir.RoleStmt("exposure", ("t",), L(3, 1)),
            ir.RoleStmt("outcome", ("y",), L(4, 1)),
            ir.EdgeStmt((("x1", "x2"), ("t",), ("m",), ("y",)), "bernoulli", L(5, 1), L(5, 25)),
            ir.FamilyStmt(("m",), "poisson", L(6, 1), L(6, 5)),
            ir.LatentStmt(("u",), L(7, 1)),
            ir.BidirectedStmt("t", "x1", L(8, 1)),
            ir.PriorStmt("default", "beta", None, None, ir.Dist("normal", (0.0, 2.5)), L(9, 1)),
            ir.PriorStmt(
                "node",
                "intercept",
                "y",
                None,
                ir.Dist("studentt", (), (("nu", 3.0), ("mu", 0.0), ("sigma", 1.0))),
                L(10, 1),
            ),
            ir.PriorStmt("edge", None, "y", "t", ir.Dist("normal", (-1.0, 0.1)), L(11, 1)),
            ir.DataStmt("sub dir/file.csv", L(12, 1)),
            ir.CodeStmt("x1", (("Male", 1.0), ("Not male", 0.0)), L(13, 1)),
            ir.MissingStmt("error", L(14, 1)),
        )
    )
    assert got == want


def test_statement_order_and_blank_lines_do_not_matter_for_content():
    a = parser.parse("treatment t\noutcome y\nt -> y ~ bernoulli\n")
    b = parser.parse("\n\n   treatment t\n\noutcome y   \nt -> y ~ bernoulli")
    assert [type(s) for s in a.statements] == [type(s) for s in b.statements]
    assert a.statements[2].groups == b.statements[2].groups


def test_crlf_line_endings():
    assert parser.parse("treatment t\r\noutcome y\r\nt -> y ~ normal\r\n").statements[2].family == "normal"


@pytest.mark.parametrize(
    "text, line, col, fragment",
    [
        ("treatment t\nt $ y\n", 2, 3, "unexpected character '$'"),
        ("t -> -> y\n", 1, 6, "unexpected '->'; expected a name"),
        ('treatment t\ndata "abc.csv\n', 2, 6, "unterminated string"),
        ("prior beta = normal(0, 1\n", 1, 25, "unclosed '('"),
        ("t -> y ~\n", 1, 9, "missing family name"),
        ("t -> y ~ bernoulli extra\n", 1, 20, "unexpected name 'extra'; expected one of '(', end of line"),
        ("treatment\n", 1, 10, "expected a name"),
        ("t -> y ~ normal)\n", 1, 16, "unexpected ')'"),
    ],
)
def test_syntax_errors_are_located(text, line, col, fragment):
    with pytest.raises(SpecSyntaxError) as info:
        parser.parse(text, "s.dag")
    err = info.value
    assert (err.source, err.line, err.column) == ("s.dag", line, col)
    assert fragment in err.message
    assert str(err).startswith(f"s.dag:{line}:{col}: ")
    # the caret sits under the column
    src, caret = err.excerpt().splitlines()
    assert caret.index("^") == 4 + col - 1


def test_not_utf8_file(tmp_path):
    p = tmp_path / "bad.dag"
    p.write_bytes(b"treatment t\noutcome \xff\xfe\n")
    with pytest.raises(SpecSyntaxError, match="not UTF-8") as info:
        parser.read(p)
    assert (info.value.line, info.value.column) == (2, 9)


def test_missing_spec_file(tmp_path):
    with pytest.raises(SpecSyntaxError, match="not found"):
        parser.read(tmp_path / "nope.dag")
