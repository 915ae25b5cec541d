"""Product terms in the spec language: ``t:m -> y``, ``prior t:m -> y = ...``, and what they refuse."""

import pytest

import dagmed
from dagmed.errors import SpecError, SpecSyntaxError
from dagmed.lang import parser, resolver
from dagmed.lang.fmt import format_ir
from dagmed.model.ir import ModelIR

BASE = "treatment t\noutcome y\nx -> t, m, y\nt -> m ~ bernoulli\ny ~ bernoulli\n"


def test_a_product_implies_its_main_effects():
    spec = dagmed.parse("treatment t\noutcome y\nt:m -> y ~ bernoulli\nt -> m ~ bernoulli\n")
    assert {(e.parent, e.child) for e in spec.edges} == {("t", "y"), ("m", "y"), ("t", "m")}
    (p,) = spec.products
    assert (p.factors, p.child, str(p.prior)) == (("m", "t"), "y", "normal(mu=0, sigma=1)")


def test_one_product_however_it_is_spelt():
    a = dagmed.parse(BASE + "t:m -> y\nm:t -> y\n")
    b = dagmed.parse(BASE + "m:t -> y\n")
    assert a == b and len(a.products) == 1


def test_product_priors_follow_the_precedence_of_coefficients():
    spec = dagmed.parse(BASE + "t:m, x:t -> y\nprior y.beta = normal(0, 2)\nprior m:t -> y = normal(0.5, 0.25)\n")
    priors = {p.name: str(p.prior) for p in spec.products}
    assert priors == {"m:t": "normal(mu=0.5, sigma=0.25)", "t:x": "normal(mu=0, sigma=2)"}


def test_the_model_ir_orders_factors_as_the_design():
    spec = dagmed.parse(BASE + "m:t, x:m, x:t -> y\n")
    y = ModelIR.from_analysis(dagmed.check(spec)).node("y")
    assert y.term_names == ("t", "m", "x", "t:m", "m:x", "t:x")
    assert y.equation() == "y ~ bernoulli(logit: t, m, x, t:m, m:x, t:x)"
    assert y.beta.coords == y.term_names and len(y.beta.priors) == 6


@pytest.mark.parametrize(
    "text, message",
    [
        ("t:t -> y\n", "product term t:t repeats a factor"),
        ("t:m ~ normal\n", "product term t:m has no family"),
        ("prior t:m -> y = normal(0, 1)\n", "prior for product term m:t -> y, which no edge statement adds"),
        ("t:m -> y\nprior t:m -> y = studentt(3, 0, 1)\n", "priors of different distributions"),
        ("latent u\nu -> m\nt:u -> y\n", "u is latent"),
        ("y:t -> y\n", "self-loop"),
    ],
)
def test_refused_with_the_statement_named(text, message):
    with pytest.raises(SpecError, match=message) as err:
        dagmed.parse(BASE + text, "s.dag")
    assert err.value.line >= 6  # located at one of the statements added to BASE


def test_a_product_cannot_be_a_child():
    with pytest.raises(SpecSyntaxError, match=r"unexpected ':'"):
        dagmed.parse("treatment t\noutcome y\nt -> m:y ~ bernoulli\n")


def test_fmt_round_trips_products():
    text = BASE + "m:t, x:t -> y\nprior m:t -> y = normal(0, 0.5)\n"
    spec_ir = parser.parse(text)
    out = format_ir(spec_ir)
    assert "m:t, x:t -> y\n" in out and "prior m:t -> y = normal(0, 0.5)\n" in out
    assert resolver.resolve(parser.parse(out)) == resolver.resolve(spec_ir)


def test_check_prints_the_products(tmp_path):
    from dagmed.cli import main

    path = tmp_path / "s.dag"
    path.write_text(BASE + "t:m -> y\n")
    assert main(["check", str(path)]) == 0
