"""Resolver: priors filled in by precedence, names checked against the tables."""

import pytest

import dagmed
from dagmed.errors import SpecError
from dagmed.lang import fmt, ir, resolver

BASE = "treatment t\noutcome y\nt -> m -> y ~ bernoulli\nm ~ bernoulli\nt -> y\n"


def D(name, **kw):
    return ir.Dist(name, (), tuple(kw.items()))


def test_bernoulli_defaults_are_normal_0_1():
    spec = dagmed.parse(BASE)
    assert {e.prior for e in spec.edges} == {D("normal", mu=0.0, sigma=1.0)}
    assert spec.node_priors("y") == ir.NodePriors(D("normal", mu=0.0, sigma=1.0), ())


def test_normal_defaults_are_normal_0_10_and_halfcauchy_1():
    spec = dagmed.parse("treatment x\noutcome y\nx -> m ~ normal\nx, m -> y ~ normal\n")
    assert spec.node_priors("m") == ir.NodePriors(
        D("normal", mu=0.0, sigma=10.0), (("sigma", D("halfcauchy", beta=1.0)),)
    )
    assert {e.prior for e in spec.edges} == {D("normal", mu=0.0, sigma=10.0)}


def test_prior_precedence_edge_over_node_over_default():
    spec = dagmed.parse(
        # y's coefficients share one distribution (a mix is refused, see below), unlike the spec default's
        BASE + "prior beta = normal(0, 5)\nprior y.beta = laplace(0, 2)\nprior t -> y = laplace(1, 1)\n"
        "prior intercept = studentt(3, 0, 2)\n"
    )
    priors = {(e.parent, e.child): e.prior for e in spec.edges}
    assert priors[("t", "y")] == D("laplace", mu=1.0, b=1.0)
    assert priors[("m", "y")] == D("laplace", mu=0.0, b=2.0)
    assert priors[("t", "m")] == D("normal", mu=0.0, sigma=5.0)
    assert spec.node_priors("m").intercept == D("studentt", nu=3.0, mu=0.0, sigma=2.0)


def test_spec_compares_by_value():
    assert dagmed.parse(BASE) == dagmed.parse("# same model\n" + BASE)
    assert dagmed.parse(BASE) != dagmed.parse(BASE + "prior beta = normal(0, 2)\n")


def test_roles_aliases_codes_data_missing():
    spec = dagmed.parse(
        'exposure t\nresponse y\nt -> y ~ bernoulli\nx -> t\ncode x: Male = 1\ndata "d.csv"\nmissing error\n'
    )
    assert (spec.treatment, spec.outcome) == ("t", "y")
    assert spec.code_for("x") == (("Male", 1.0),)
    assert (spec.data, spec.missing) == ("d.csv", "error")


@pytest.mark.parametrize(
    "extra, line, fragment",
    [
        (
            "y ~ bernouli",
            6,
            "unknown family 'bernouli' (did you mean 'bernoulli'?); valid options are bernoulli, categorical, negbinomial, normal, ordinal, poisson, studentt",
        ),
        ("prior beta = normall(0, 1)", 6, "unknown prior distribution 'normall'"),
        ("prior beta = normal(0, 1, 2)", 6, "normal takes 2 argument(s)"),
        (
            "prior beta = normal(mu=0, scale=1)",
            6,
            "unknown argument 'scale' for prior normal; valid options are mu, sigma",
        ),
        ("prior beta = normal(0)", 6, "prior normal needs sigma"),
        ("prior beta = normal(0, -1)", 6, "sigma must be > 0"),
        ("prior slope = normal(0, 1)", 6, "unknown prior target 'slope'"),
        ("prior sigma = normal(0, 1)", 6, "a scale (sigma) needs a positive prior"),
        ("prior y.sigma = halfnormal(1)", 6, "family bernoulli has no scale"),
        ("prior m -> t = normal(0, 1)", 6, "edge m -> t, which is not in the graph"),
        ("y ~ normal", 6, "contradictory families for y: bernoulli (line 3) and normal"),
        ("treatment m", 6, "contradictory treatment declarations"),
        ("a -> a", 6, "self-loop: a -> a"),
        ("latent y", 6, "outcome y is declared latent"),
        ("code t: yes = 2", 6, "a level of a two-level node can only be 0 or 1"),
        ("code y: yes = 2", 6, "a level of a bernoulli node can only be 0 or 1"),
        ("code t: yes = 0.5", 6, "a level is coded by an integer"),
        ("t -> y ~ normal(3)", 6, "family normal takes no number of levels (normal(3))"),
        ("missing impute", 6, "unknown missing-value policy 'impute'"),
        ('data "a.csv"\ndata "b.csv"', 7, "contradictory data sources"),
        ("prior beta = normal(0, 1)\nprior beta = normal(0, 2)", 7, "contradictory priors"),
    ],
)
def test_spec_errors_are_located(extra, line, fragment):
    with pytest.raises(SpecError) as info:
        dagmed.parse(BASE + extra + "\n", "s.dag")
    assert fragment in info.value.message
    assert (info.value.source, info.value.line) == ("s.dag", line)


def test_repeating_a_declaration_is_not_a_contradiction():
    assert dagmed.parse(BASE + "y ~ bernoulli\ntreatment t\n") == dagmed.parse(BASE)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("outcome y\nt -> y ~ bernoulli\n", "no treatment declared"),
        ("treatment t\nt -> y ~ bernoulli\n", "no outcome declared"),
        ("treatment t\noutcome t\nt -> y ~ bernoulli\n", "both treatment and outcome"),
        ("treatment t\noutcome z\nt -> y ~ bernoulli\n", "outcome z is not in the graph"),
    ],
)
def test_role_errors(text, fragment):
    with pytest.raises(SpecError, match=fragment):
        dagmed.parse(text)


def test_every_statement_type_has_one_handler_and_one_formatter():
    assert set(resolver.HANDLERS) == set(ir.STATEMENTS) == set(fmt.FORMATTERS)


@pytest.mark.parametrize("run", [resolver.resolve, fmt.format_ir])
def test_an_object_that_is_not_a_statement_is_a_bug_not_a_spec_error(run):
    with pytest.raises(TypeError, match="not a statement: 't -> y'"):
        run(ir.SpecIR(("t -> y",)))


@pytest.mark.parametrize(
    "extra, lines",
    [
        # both coefficients of y stated, with different distributions: either prior line may be blamed
        ("prior t -> y = normal(0, 1)\nprior m -> y = studentt(3, 0, 1)", (6, 7)),
        ("prior m -> y = studentt(3, 0, 1)\nprior t -> y = normal(0, 1)", (6, 7)),
        # one stated prior against the default normal of the other coefficient: that prior's line
        ("prior t -> y = laplace(0, 1)", (6,)),
    ],
)
def test_per_edge_priors_of_one_node_must_share_a_distribution(extra, lines):
    text = BASE + extra + "\n"
    with pytest.raises(SpecError, match="priors of different distributions") as info:
        dagmed.parse(text, "s.dag")
    err = info.value
    assert "coefficients of y" in err.message
    assert (err.source, err.line) in {("s.dag", line) for line in lines}
    assert text.splitlines()[err.line - 1].startswith("prior ")


def test_per_edge_priors_may_differ_in_their_parameters():
    spec = dagmed.parse(BASE + "prior t -> y = normal(0, 1)\nprior m -> y = normal(1, 3)\n")
    priors = {(e.parent, e.child): e.prior for e in spec.edges}
    assert priors[("t", "y")] == D("normal", mu=0.0, sigma=1.0)
    assert priors[("m", "y")] == D("normal", mu=1.0, sigma=3.0)


def test_check_command_refuses_mixed_per_edge_priors(tmp_path, capsys):
    # before the stage refactor `dagmed check` said ok and only compiling refused this spec
    from dagmed.cli import main

    path = tmp_path / "mixed.dag"
    path.write_text(BASE + "prior t -> y = normal(0, 1)\nprior m -> y = studentt(3, 0, 1)\n")
    assert main(["check", str(path)]) == 3
    out, err = capsys.readouterr()
    assert "ok:" not in out
    assert "priors of different distributions" in err
    assert f"{path}:6:" in err or f"{path}:7:" in err
