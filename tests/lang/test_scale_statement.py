"""The ``scale`` statement: parsed, printed back, refused where it does not suit the outcome."""

import pytest

import dagmed
from dagmed.errors import SpecError
from dagmed.lang import parser, resolver
from dagmed.lang.fmt import format_ir


def test_stated_printed_back_and_compared():
    text = "treatment t\noutcome y\nt -> y ~ bernoulli\nscale or\n"
    assert dagmed.parse(text).scale == "or"
    out = format_ir(parser.parse(text))
    assert out.endswith("scale or\n") and resolver.resolve(parser.parse(out)) == dagmed.parse(text)
    assert dagmed.parse("treatment t\noutcome y\nt -> y ~ bernoulli\n").scale is None


def test_an_unknown_scale_is_named_with_the_valid_ones():
    with pytest.raises(SpecError, match=r"s.dag:4:1: unknown scale 'ratio'; valid options are diff, or, rr"):
        dagmed.parse("treatment t\noutcome y\nt -> y ~ bernoulli\nscale ratio\n", "s.dag")


def test_check_refuses_an_odds_ratio_of_a_normal_outcome_at_the_statement():
    spec = dagmed.parse("treatment t\noutcome y\nt -> y ~ normal\n\nscale or\n", "s.dag")
    with pytest.raises(SpecError, match=r"s.dag:5:1: scale or needs a binary outcome; y is normal \(use diff\)"):
        dagmed.check(spec)
