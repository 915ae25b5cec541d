"""Checks on canonical graphs: roles, acyclicity, reachability, d-separation, latents."""

import networkx as nx
import pytest

import dagmed
from dagmed.errors import SpecError
from dagmed.graph import analysis, dag
from dagmed.model.ir import ModelIR

from conftest import CANONICAL, SPECS


def analyse(name_or_text):
    return analysis.analyse(dagmed.parse(CANONICAL.get(name_or_text, name_or_text), "s.dag"))


def test_chain():
    a = analyse("chain")
    assert (a.treatment, a.mediators, a.outcome, a.covariates) == ("t", ("m",), "y", ())
    assert a.ok and a.n_regimes == 4


def test_fork_covariate():
    a = analyse("fork")
    assert a.covariates == ("x",) and a.mediators == ()
    assert a.ok and a.n_regimes == 2


def test_collider_is_neither_covariate_nor_mediator():
    a = analyse("collider")
    assert a.other == ("c",) and a.covariates == () and a.mediators == ()
    assert a.ok


def test_two_independent_mediators():
    a = analyse("two_mediators")
    assert a.mediators == ("m1", "m2") and a.dependent == () and a.ok
    assert a.n_regimes == 8


def test_directed_edge_between_mediators_is_accepted_and_named():
    a = analyse("dependent_mediators")
    assert a.dependent == (("m1", "m2", "m1 -> m2"),)
    assert a.ok and not a.independent
    assert a.mediator_parents == {"m1": (), "m2": ("m1",)}
    assert analysis.check(a.spec) == a


def test_independent_mediators_have_no_mediator_parents():
    a = analyse("two_mediators")
    assert a.independent and a.mediator_parents == {"m1": (), "m2": ()}


def test_chain_through_a_third_mediator_is_accepted():
    # m1 -> z -> m2 makes z a mediator too: three mediators, every pair dependent
    a = analyse("treatment t\noutcome y\nt -> m1, m2 -> y\nm1 -> z -> m2\nm1, m2, z, y ~ bernoulli\n")
    assert a.mediators == ("m1", "m2", "z")
    assert ("m1", "m2", "m1 -> z -> m2") in a.dependent and a.ok, a.problems
    assert a.mediator_parents == {"m1": (), "m2": ("z",), "z": ("m1",)}


LATENT_COMMON_CAUSE = (
    "share a latent common cause ({path}): their joint distribution is not what the per-node models say"
)


@pytest.mark.parametrize(
    "text, shown, path, line",
    [
        (
            "treatment t\noutcome y\nt -> m1, m2 -> y\nlatent u\nu -> m1, m2\nm1, m2, y ~ bernoulli\n",
            "m1 <- u -> m2",
            "m1 <- u -> m2",
            5,
        ),
        (
            "treatment t\noutcome y\nt -> m1, m2 -> y\nm1 <-> m2\nm1, m2, y ~ bernoulli\n",
            "m1 <- U_m1_m2 -> m2",
            "m1 <- U_m1_m2 -> m2",
            4,
        ),
        # the edge among the mediators does not explain the latent part of their dependence
        (
            "treatment t\noutcome y\nt -> m1, m2 -> y\nm1 -> m2\nm1 <-> m2\nm1, m2, y ~ bernoulli\n",
            "m1 -> m2",
            "m1 <- U_m1_m2 -> m2",
            5,
        ),
    ],
)
def test_latent_common_cause_of_mediators_is_refused(text, shown, path, line):
    a = analyse(text)
    assert a.dependent == (("m1", "m2", shown),)
    (err,) = a.problems
    assert err.message.startswith("mediators m1 and m2 " + LATENT_COMMON_CAUSE.format(path=path))
    assert err.message.endswith("write a directed edge instead, e.g. 'm1 -> m2'")
    assert (err.source, err.line, err.exit_code) == ("s.dag", line, 3)
    with pytest.raises(SpecError, match="latent common cause"):
        analysis.check(a.spec)


def test_covariate_blocks_a_fork_between_mediators():
    a = analyse("treatment t\noutcome y\nt -> m1, m2 -> y\nx -> m1, m2\nm1, m2, y ~ bernoulli\n")
    assert a.covariates == ("x",) and a.dependent == () and a.ok


def test_latent_chain_between_mediators_is_named_as_such():
    a = analyse("treatment t\noutcome y\nt -> m1, m2 -> y\nlatent u\nm1 -> u -> m2\nm1, m2, y ~ bernoulli\n")
    messages = [p.message for p in a.problems]
    assert any("latent node u lies on a causal path" in m for m in messages)
    assert any(m.startswith("mediators m1 and m2 are joined through latent u (m1 -> u -> m2)") for m in messages)


def test_latent_confounder_is_reported_with_its_name():
    a = analyse("latent_confounder")
    (err,) = a.problems
    assert "latent node U_t_y is a common cause of t and y" in err.message
    assert err.line == 4


@pytest.mark.parametrize("pair", ["t <-> m", "m <-> y"])
def test_latent_treatment_mediator_and_mediator_outcome(pair):
    a = analyse(f"treatment t\noutcome y\nt -> m -> y\n{pair}\nm, y ~ bernoulli\n")
    assert any("common cause" in p.message for p in a.problems)


def test_latent_confounding_blocked_by_an_observed_covariate_is_fine():
    a = analyse("treatment t\noutcome y\nt -> m -> y\nlatent u\nu -> x -> t\nu -> y\nm, y, x ~ bernoulli\n")
    assert a.ok, a.problems


def test_cycle_reports_nodes_in_order_at_the_closing_edge():
    with pytest.raises(SpecError) as info:
        analyse("treatment t\noutcome y\nt -> m -> y ~ bernoulli\nm ~ bernoulli\ny -> t\n")
    assert "cycle: t -> m -> y -> t" in info.value.message
    assert info.value.line == 5


def test_outcome_unreachable():
    with pytest.raises(SpecError, match="not reachable from the treatment t"):
        analyse("treatment t\noutcome y\ny -> t ~ bernoulli\nx -> y ~ bernoulli\n")


def test_endogenous_node_without_family():
    a = analyse("treatment t\noutcome y\nt -> m -> y ~ bernoulli\n")
    assert any("mediator m has parents but no family" in p.message for p in a.problems)


def test_treatment_without_family_is_allowed():
    # Analysis.modelled() is gone: the modelled nodes are the model IR's nodes
    a = analyse("treatment t\noutcome y\nx -> t -> y ~ bernoulli\nx -> y\n")
    assert a.ok and [n.name for n in ModelIR.from_analysis(a).nodes] == ["y"]


def test_which_non_binary_mediators_a_non_linear_outcome_takes():
    """Every mediator family is decomposed under every outcome link, dependent mediators too
    (dagmed.effects.quadrature); what has no expectation to bound is refused by name."""
    ok = [
        "t -> m ~ poisson\nt, m -> y ~ bernoulli\n",
        "t -> m ~ normal\nt, m, t:m -> y ~ bernoulli\n",
        "t -> m ~ poisson\nt, m -> y ~ normal\n",  # affine: exact
        "t -> m ~ studentt\nt, m -> y ~ bernoulli\n",
        "t -> m ~ ordinal(4)\nt, m -> y ~ negbinomial\n",
        "t -> m1 -> m2 -> y\nt -> m2\nm1 ~ normal\nm2 ~ bernoulli\nt, m2 -> y ~ bernoulli\n",
    ]
    for text in ok:
        a = analyse("treatment t\noutcome y\n" + text)
        assert a.ok, (text, [p.message for p in a.problems])
    refused = {
        "t -> m ~ poisson\nt, m -> y ~ poisson\n": "mediator m has family poisson under a poisson outcome (log link)",
        "t -> m ~ studentt\nt, m -> y ~ negbinomial\n": "outcome's mean grows exponentially in m",
        "t -> m ~ bernoulli\nt, m -> y ~ ordinal(3)\n": "effects on an outcome with levels are not defined",
    }
    for text, message in refused.items():
        problems = analyse("treatment t\noutcome y\n" + text).problems
        assert any(message in p.message for p in problems), (text, [p.message for p in problems])


def test_graph_attributes_and_parent_order():
    spec = dagmed.parse(CANONICAL["two_mediators"] + "x -> t, m1, m2, y\n")
    g = dag.build(spec)
    assert isinstance(g, nx.DiGraph)
    assert g.nodes["m1"]["role"] == "mediator" and g.nodes["x"]["role"] == "covariate"
    assert g.nodes["y"]["family"] == "bernoulli" and g.nodes["y"]["observed"]
    assert dag.observed_parents(g, "y") == ["t", "m1", "m2", "x"]
    assert g.edges["t", "y"]["prior"].name == "normal"


def test_equation_line():
    # Analysis.equation(n) is gone: the model IR's node(n).equation()
    a = analysis.analyse(dagmed.load(SPECS / "substance.dag"))
    assert (
        ModelIR.from_analysis(a).node("sub_disorder").equation()
        == "sub_disorder ~ bernoulli(logit: fam_int, dev_peer, sub_exp, gender, conflict)"
    )


def test_product_terms_are_never_refused():
    """Products of the treatment and mediators, of mediators that depend on each other, in a
    mediator's own equation: the grids evaluate every term at every value (dagmed.effects.quadrature)."""
    texts = [
        "treatment t\noutcome y\nt -> m1, m2 -> y ~ normal\nm1 ~ normal\nm2 ~ bernoulli\nt:m1, m1:m2 -> y\n",
        "treatment t\noutcome y\nt -> m1, m2 -> y ~ normal\nm1, m2 ~ normal\nm1 -> m2\nm1:m2 -> y\n",
        "treatment t\noutcome y\nt -> m1, m2, m3 -> y ~ normal\nm1, m2, m3 ~ normal\nm1:m2 -> m3\n",
        "treatment t\noutcome y\nt -> m1, m2 -> y ~ bernoulli\nm1, m2 ~ bernoulli\nm1 -> m2\nm1:m2, t:m1 -> y\n"
        "t:m1 -> m2\n",
    ]
    for text in texts:
        a = dagmed.analyse(dagmed.parse(text))
        assert a.ok, (text, [p.message for p in a.problems])


# ---- names that look like typos -------------------------------------------------------------


def test_a_family_for_a_misspelt_node_names_both():
    a = analysis.analyse(dagmed.parse("treatment t\noutcome y\nt -> m -> y\nt -> y\nt, m, yy ~ bernoulli\n", "s.dag"))
    # the typo leaves y without a family: that problem is reported, and the warning says why
    assert [p.message.split(";")[0] for p in a.problems] == ["outcome y has parents but no family"]
    (w,) = a.warnings
    assert (w.line, w.column) == (5, 1)
    assert "`yy` appears only once, in a family statement: did you mean `y`?" in w.message


def test_a_misspelt_edge_is_named_with_its_statement():
    text = (
        "treatment treat\noutcome relapse\ntreat -> adherence -> relapse\ntreat -> relapse\n"
        "adherence, relapse ~ bernoulli\nage -> treat, relapse\nage -> adherance\n"
    )
    (w,) = analysis.analyse(dagmed.parse(text)).warnings
    assert "`adherance` appears only once, in an edge: did you mean `adherence`?" in w.message and w.line == 7


@pytest.mark.parametrize(
    "text",
    [
        "treatment t\noutcome y\nx -> t, y\nt -> y ~ bernoulli\n",  # x is no typo of t: one letter each
        "treatment t\noutcome y\nx1, x2 -> t, y\nt -> y ~ bernoulli\n",  # named together, in one statement
        "treatment t\noutcome y\nt -> y ~ bernoulli\nage -> y\nsex -> y\n",  # far apart
    ],
)
def test_what_is_not_a_typo(text):
    assert analysis.analyse(dagmed.parse(text)).warnings == ()


@pytest.mark.parametrize("name", ["substance.dag", "three_mediators.dag", "interaction.dag", "linear.dag"])
def test_the_shipped_specs_have_no_typo_warnings(name):
    assert analysis.analyse(dagmed.load(SPECS / name)).warnings == ()


def test_canonical_graphs_have_no_typo_warnings(canonical):
    _, text = canonical
    assert analysis.analyse(dagmed.parse(text)).warnings == ()


@pytest.mark.parametrize(
    "a, b, d", [("yy", "y", 1), ("adherance", "adherence", 1), ("sleep", "slpe", 2), ("", "ab", 2)]
)
def test_edit_distance(a, b, d):
    assert analysis.edit_distance(a, b) == d == analysis.edit_distance(b, a)
