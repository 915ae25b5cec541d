"""Backtick-quoted names: wherever a name may stand, kept exactly, re-quoted by fmt, named in the posterior."""

import pytest

import dagmed
from dagmed.errors import SpecSyntaxError
from dagmed.lang import ir, parser
from dagmed.lang.fmt import format_ir, quote
from dagmed.model import names

QUOTED = """treatment `got treatment`
outcome `relapse (12 m)`
`got treatment` -> `met peers` -> `relapse (12 m)`
`got treatment`:`met peers` -> `relapse (12 m)`
`age-group` -> `got treatment`, `relapse (12 m)`
`met peers`, `relapse (12 m)` ~ bernoulli
prior `met peers`.intercept = normal(0, 1.5)
prior `got treatment` -> `relapse (12 m)` = normal(0, 2)
prior `got treatment`:`met peers` -> `relapse (12 m)` = normal(0, 0.5)
code `age-group`: `under 30` = 1
latent `u v`
`u v` -> `age-group`
"""


def test_quoted_names_stand_wherever_a_name_may():
    spec = dagmed.parse(QUOTED)
    assert (spec.treatment, spec.outcome) == ("got treatment", "relapse (12 m)")
    assert [n.name for n in spec.nodes] == ["got treatment", "relapse (12 m)", "met peers", "age-group", "u v"]
    assert spec.node("met peers").family == "bernoulli" and not spec.node("u v").observed
    edges = {(e.parent, e.child): e for e in spec.edges}
    assert str(edges["got treatment", "relapse (12 m)"].prior) == "normal(mu=0, sigma=2)"
    assert str(spec.node_priors("met peers").intercept) == "normal(mu=0, sigma=1.5)"
    (product,) = spec.products
    assert product.factors == ("got treatment", "met peers") and str(product.prior) == "normal(mu=0, sigma=0.5)"
    assert spec.code_for("age-group") == (("under 30", 1.0),)


def test_a_quoted_plain_name_is_the_plain_name():
    plain = dagmed.parse("treatment t\noutcome y\nt -> y ~ bernoulli\n")
    assert dagmed.parse("treatment `t`\noutcome y\n`t` -> `y` ~ bernoulli\n") == plain


def test_a_keyword_may_be_a_node_when_quoted():
    spec = dagmed.parse("treatment `prior`\noutcome `data`\n`prior` -> `data` ~ bernoulli\n")
    assert (spec.treatment, spec.outcome) == ("prior", "data")


def test_fmt_requotes_names_that_are_not_plain_and_reads_back_the_same():
    text = format_ir(parser.parse(QUOTED))
    assert "treatment `got treatment`\n" in text
    assert "`got treatment`:`met peers` -> `relapse (12 m)`\n" in text
    assert "prior `met peers`.intercept = normal(0, 1.5)\n" in text
    assert 'code `age-group`: "under 30" = 1\n' in text
    assert dagmed.parse(text) == dagmed.parse(QUOTED)
    assert format_ir(parser.parse(text)) == text  # canonical: a fixed point


@pytest.mark.parametrize(
    "name, written", [("y", "y"), ("got treatment", "`got treatment`"), ("outcome", "`outcome`"), ("2x", "`2x`")]
)
def test_quote(name, written):
    assert quote(name) == written


@pytest.mark.parametrize(
    "text, col, fragment",
    [
        ("treatment `got treatment\n", 11, "unterminated quoted name"),
        ("treatment ``\n", 11, "unterminated quoted name"),
    ],
)
def test_an_unterminated_quoted_name_is_located(text, col, fragment):
    with pytest.raises(SpecSyntaxError) as info:
        dagmed.parse(text, "s.dag")
    assert (info.value.line, info.value.column) == (1, col) and fragment in info.value.message


def test_a_quoted_name_cannot_span_lines():
    with pytest.raises(SpecSyntaxError, match="s.dag:1:11: unterminated quoted name"):
        dagmed.parse("treatment `got\ntreatment`\n", "s.dag")


def test_posterior_names_of_a_quoted_node():
    pd = pytest.importorskip("pandas")
    spec = dagmed.parse("treatment `got treatment`\noutcome `re lapse`\n`got treatment` -> `re lapse` ~ bernoulli\n")
    df = pd.DataFrame({"got treatment": [0, 1, 1, 0], "re lapse": [1, 0, 1, 0]})
    model = dagmed.compile(spec, df)
    free = sorted(v.name for v in model.free_RVs)
    assert (
        free == sorted([names.beta("re lapse"), names.intercept("re lapse")]) == ["re lapse_beta", "re lapse_intercept"]
    )
    assert list(model.coords[names.parents_dim("re lapse")]) == ["got treatment"]


def test_the_statement_ir_keeps_the_name_without_backticks():
    (st,) = parser.parse("`a b`:c -> `d e`\n").statements
    assert st.groups == ((ir.Product(("a b", "c")),), ("d e",))


@pytest.mark.parametrize("name, col, what", [("a,b", 8, "a comma"), ("a/b", 8, "a slash")])
def test_a_quoted_name_that_no_posterior_variable_can_carry_is_refused_where_it_is(name, col, what):
    with pytest.raises(SpecSyntaxError) as info:
        dagmed.parse(f"treatment t\noutcome y\nt -> `{name}` -> y ~ bernoulli\n", "s.dag")
    assert (info.value.line, info.value.column) == (3, col)
    assert f"quoted name `{name}` holds {what}" in info.value.message
    assert f"(e.g. '{name[0]}_{name[2]}')" in info.value.message
