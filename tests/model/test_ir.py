"""The model IR: node order, design terms, parameter names and per-element priors, value equality."""

import numpy as np
import pytest

import dagmed
from dagmed.lang import parser
from dagmed.lang.families import FAMILIES
from dagmed.lang.fmt import format_ir
from dagmed.lang.ir import Dist
from dagmed.model.ir import ModelIR, NodeModel, Param, Term


def D(name, **kw):
    return Dist(name, (), tuple(kw.items()))


def model_ir(text):
    return ModelIR.from_analysis(dagmed.check(dagmed.parse(text, "s.dag")))


# Spec order of first mention: t, y (the role lines), z, m2, x, m1. The sources are z and x (z
# first); t follows x, and the mediators m2 and m1 both follow t (m2 first: it is mentioned first).
ORDER = (
    "treatment t\n"
    "outcome y\n"
    "z -> y\n"
    "t -> m2 -> y ~ normal\n"
    "x -> t, m1, m2, y\n"
    "t -> m1 -> y\n"
    "t -> y\n"
    "m1, m2, t ~ bernoulli\n"
)


def test_nodes_are_in_topological_order_ties_in_spec_order():
    ir = model_ir(ORDER)
    assert ir.data_nodes == ("z", "x", "t", "m2", "m1", "y")
    assert [n.name for n in ir.nodes] == ["t", "m2", "m1", "y"]
    assert ir.exogenous == ("z", "x")
    assert (ir.treatment, ir.outcome, ir.mediators, ir.covariates, ir.other) == ("t", "y", ("m2", "m1"), ("z", "x"), ())
    # the parameters in the model's creation order: node by node, intercept, beta, extras
    assert [p.name for p in ir.params] == [
        "t_intercept",
        "t_beta",
        "m2_intercept",
        "m2_beta",
        "m1_intercept",
        "m1_beta",
        "y_intercept",
        "y_beta",
        "y_sigma",
    ]
    assert [ir.family(n).name if ir.family(n) else None for n in ir.data_nodes] == [
        None,
        None,
        "bernoulli",
        "bernoulli",
        "bernoulli",
        "normal",
    ]


def test_a_parent_mentioned_earlier_comes_first_among_ties():
    # the same graph with z mentioned last: x comes first among the sources, z waits until y's turn
    ir = model_ir(ORDER.replace("z -> y\n", "") + "z -> y\n")
    assert ir.data_nodes == ("x", "t", "m2", "m1", "z", "y")
    assert ir.node("y").term_names == ("t", "m2", "m1", "x", "z")


def test_terms_are_treatment_mediators_covariates_each_in_spec_order():
    ir = model_ir(ORDER)
    y = ir.node("y")
    assert y.terms == (Term(("t",)), Term(("m2",)), Term(("m1",)), Term(("z",)), Term(("x",)))
    assert y.term_names == y.parents == ("t", "m2", "m1", "z", "x")
    assert y.role == "outcome" and ir.node("m1").role == "mediator" and ir.node("t").role == "treatment"
    assert ir.node("t").term_names == ("x",)
    assert y.equation() == "y ~ normal(identity: t, m2, m1, z, x)"
    assert ir.node("m2").equation() == "m2 ~ bernoulli(logit: t, x)"


def test_param_names_dims_and_coords():
    y = model_ir(ORDER).node("y")
    assert y.intercept == Param("y_intercept", "intercept", (D("normal", mu=0.0, sigma=10.0),))
    assert (y.intercept.dim, y.intercept.shape, y.intercept.positive) == (None, (), False)
    assert (y.beta.name, y.beta.kind, y.beta.dim) == ("y_beta", "beta", "y_parents")
    assert y.beta.coords == y.term_names and y.beta.shape == (5,) and y.beta.size == 5
    (sigma,) = y.extras
    assert (sigma.name, sigma.kind, sigma.positive, sigma.dim) == ("y_sigma", "sigma", True, None)
    assert y.family is FAMILIES["normal"]


def test_a_node_without_parents_has_no_coefficients():
    ir = model_ir("treatment t\noutcome y\nt -> y ~ poisson\nt ~ bernoulli\n")
    t = ir.node("t")
    assert t.terms == () and t.beta is None and t.extras == ()
    assert [p.name for p in t.params] == ["t_intercept"]
    assert t.equation() == "t ~ bernoulli(logit: 1)"
    assert ir.node("y").equation() == "y ~ poisson(log: t)"


PRECEDENCE = (
    "treatment t\n"
    "outcome y\n"
    "z -> y\n"
    "t -> m2 -> y ~ normal\n"
    "x -> t, m1, m2, y\n"
    "t -> m1 -> y\n"
    "t -> y\n"
    "m2, t ~ bernoulli\n"
    "m1 ~ normal\n"  # a scale for m1 (y is normal, so a continuous mediator is fine)
    "prior beta = normal(0, 5)\n"
    "prior y.beta = normal(0, 2)\n"
    "prior t -> y = normal(1, 1)\n"
    "prior m2 -> y = normal(-1, 3)\n"
    "prior y.intercept = studentt(3, 0, 2)\n"
    "prior sigma = halfnormal(2)\n"
    "prior y.sigma = halfnormal(0.5)\n"
)


def test_per_element_priors_edge_over_node_over_default():
    ir = model_ir(PRECEDENCE)
    y = ir.node("y")
    # one prior per coefficient: the edge's, else y's own, else the spec's default
    assert dict(zip(y.beta.coords, y.beta.priors)) == {
        "t": D("normal", mu=1.0, sigma=1.0),
        "m2": D("normal", mu=-1.0, sigma=3.0),
        "m1": D("normal", mu=0.0, sigma=2.0),
        "z": D("normal", mu=0.0, sigma=2.0),
        "x": D("normal", mu=0.0, sigma=2.0),
    }
    assert y.intercept.priors == (D("studentt", nu=3.0, mu=0.0, sigma=2.0),)
    assert y.extras[0].priors == (D("halfnormal", sigma=0.5),)  # node over spec default
    m1 = ir.node("m1")
    assert m1.beta.priors == (D("normal", mu=0.0, sigma=5.0),) * 2  # the spec default, no node prior
    assert m1.extras[0].priors == (D("halfnormal", sigma=2.0),)  # the spec default over the family's
    # the intercepts without a stated prior: the family's default
    assert m1.intercept.priors == (D("normal", mu=0.0, sigma=10.0),)
    assert ir.node("m2").intercept.priors == (D("normal", mu=0.0, sigma=1.0),)


def test_family_defaults_without_any_prior_statement():
    ir = model_ir("treatment x\noutcome y\nx -> m ~ bernoulli\nx, m -> y ~ normal\n")
    m, y = ir.node("m"), ir.node("y")
    assert m.intercept.priors == m.beta.priors == (D("normal", mu=0.0, sigma=1.0),)
    assert m.extras == ()
    assert y.intercept.priors == (D("normal", mu=0.0, sigma=10.0),)
    assert y.beta.priors == (D("normal", mu=0.0, sigma=10.0),) * 2
    assert y.extras[0].priors == (D("halfcauchy", beta=1.0),)


LAYOUT_A = (
    "treatment t\n"
    "outcome y\n"
    "x -> t, m, y\n"
    "t -> m -> y ~ normal\n"
    "t -> y\n"
    "m ~ bernoulli\n"
    "prior y.beta = normal(0, 2)\n"
    "prior t -> y = normal(1, 0.5)\n"
)
LAYOUT_B = (
    "# the same model, written otherwise\n"
    "\n"
    "exposure    t   # an alias\n"
    "\n"
    "response y\n"
    "x -> t\n"
    "x -> m\n"
    "x -> y\n"
    "t -> m\n"
    "m -> y\n"
    "y ~ normal\n"
    "t -> y\n"
    "m ~ bernoulli\n"
    "prior y.beta = normal(mu=0, sigma=2.0)\n"
    "prior t -> y = normal(sigma=5e-1, mu=1)\n"
)


def test_the_same_spec_in_another_layout_gives_an_equal_ir():
    a, b = model_ir(LAYOUT_A), model_ir(LAYOUT_B)
    assert a.analysis is not b.analysis
    assert a == b
    assert a.nodes == b.nodes and a.params == b.params
    # and so does the canonical form `dagmed fmt` prints
    assert model_ir(format_ir(parser.parse(LAYOUT_B))) == a


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s.replace("prior t -> y = normal(1, 0.5)", "prior t -> y = normal(1, 0.25)"),  # a prior
        lambda s: s.replace("m ~ bernoulli", "m ~ poisson"),  # a family
        lambda s: s.replace("x -> t, m, y", "x -> t, y"),  # an edge
    ],
)
def test_a_different_model_gives_a_different_ir(change):
    assert model_ir(change(LAYOUT_A)) != model_ir(LAYOUT_A)


def test_the_ir_of_an_analysis_with_problems_keeps_a_node_without_family_as_data():
    analysis = dagmed.analyse(dagmed.parse("treatment t\noutcome y\nx -> t -> m -> y ~ bernoulli\nx, t -> y\n"))
    assert not analysis.ok
    assert any("mediator m has parents but no family" in p.message for p in analysis.problems)
    ir = ModelIR.from_analysis(analysis)
    assert ir.analysis is analysis
    assert ir.data_nodes == ("x", "t", "m", "y")
    assert [n.name for n in ir.nodes] == ["y"] and ir.exogenous == ("x", "t", "m")
    assert ir.family("m") is None and not ir.is_modelled("m") and ir.is_modelled("y")
    with pytest.raises(KeyError, match="m is not a modelled node"):
        ir.node("m")
    # its data still enter y's design
    assert ir.node("y").term_names == ("t", "m", "x")


def test_latent_nodes_are_not_data():
    ir = model_ir("treatment t\noutcome y\nlatent u\nu -> x -> t\nu -> y\nt -> m -> y\nt -> y\nm, y, x ~ bernoulli\n")
    assert "u" not in ir.data_nodes
    assert ir.node("y").term_names == ("t", "m")
    assert ir.node("x").terms == ()


def test_term_values_is_the_product_of_its_factors():
    columns = {"t": np.array([0.0, 1.0, 1.0]), "m": np.array([2.0, 3.0, -1.0]), "x": np.array([0.5, 2.0, 4.0])}
    assert Term(("t",)).values(columns) is columns["t"]
    assert Term(("t", "m")).name == "t:m"
    np.testing.assert_array_equal(Term(("t", "m")).values(columns), [0.0, 3.0, -1.0])
    np.testing.assert_array_equal(Term(("t", "m", "x")).values(columns), [0.0, 6.0, -4.0])
    # any broadcastable arrays: draws (chain, draw, 1) against rows (n,)
    draws = {"t": np.arange(4.0).reshape(2, 2, 1), "m": np.array([1.0, -1.0, 2.0])}
    got = Term(("t", "m")).values(draws)
    assert got.shape == (2, 2, 3)
    np.testing.assert_array_equal(got[1, 0], [2.0, -2.0, 4.0])


def test_a_product_term_reads_each_parent_once_and_enters_the_predictor():
    terms = (Term(("t",)), Term(("m",)), Term(("t", "m")))
    intercept = Param("y_intercept", "intercept", (D("normal", mu=0.0, sigma=1.0),))
    beta = Param("y_beta", "beta", (D("normal", mu=0.0, sigma=1.0),) * 3, "y_parents", tuple(t.name for t in terms))
    node = NodeModel("y", FAMILIES["normal"], terms, (intercept, beta), "outcome")
    assert node.intercept is intercept and node.beta is beta and node.beta.shape == (3,)
    assert node.parents == ("t", "m") and node.term_names == ("t", "m", "t:m")
    assert node.equation() == "y ~ normal(identity: t, m, t:m)"
    columns = {"t": np.array([0.0, 1.0]), "m": np.array([2.0, 3.0])}
    eta = node.predictor(0.5, np.array([1.0, 10.0, 100.0]), columns)
    np.testing.assert_allclose(eta, [0.5 + 20.0, 0.5 + 1.0 + 30.0 + 300.0])
