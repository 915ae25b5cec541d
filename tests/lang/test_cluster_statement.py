"""The ``cluster`` statement: random intercepts (and slopes of the treatment) by a column of the data."""

import pytest

import dagmed
from dagmed.errors import SpecError
from dagmed.lang import ir, parser
from dagmed.lang.fmt import format_ir

BASE = "treatment t\noutcome y\nt -> m -> y\nt -> y\nm, y ~ bernoulli\n"


def _terms(spec):
    return [(c.column, c.node, c.slope) for c in spec.clusters]


def test_cluster_alone_gives_every_modelled_node_an_intercept():
    spec = dagmed.parse(BASE + "x -> y\nt -> w ~ normal\ncluster school\n")
    assert _terms(spec) == [("school", "y", None), ("school", "m", None), ("school", "w", None)]  # spec order; not x
    assert str(spec.clusters[0].sd) == "halfnormal(sigma=1)"


def test_cluster_with_nodes_and_a_slope_of_the_treatment():
    spec = dagmed.parse(BASE + "cluster school: m\ncluster school: t -> y\ncluster `my class`: y\n")
    assert _terms(spec) == [("school", "m", None), ("school", "y", "t"), ("my class", "y", None)]
    assert spec.clusters[1].eta == 2.0 and str(spec.clusters[1].slope_sd) == "halfnormal(sigma=1)"


def test_a_node_named_twice_keeps_its_slope():
    spec = dagmed.parse(BASE + "cluster school: t -> y\ncluster school\n")
    assert _terms(spec) == [("school", "y", "t"), ("school", "m", None)]


def test_statement_ir_and_fmt_round_trip():
    text = "cluster school\ncluster `my class`: m, y\ncluster school: t -> y\n"
    sts = parser.parse(text).statements
    assert sts[0] == ir.ClusterStmt("school", None, (), ir.Loc(1, 1))
    assert sts[2] == ir.ClusterStmt("school", ("y",), ("t",), ir.Loc(3, 1))
    assert format_ir(parser.parse(text)) == text
    full = BASE + text
    assert dagmed.parse(format_ir(parser.parse(full))) == dagmed.parse(full)


def test_priors_node_then_default_then_family():
    spec = dagmed.parse(
        BASE
        + "z -> w ~ normal\ncluster school: m, y, w\nprior sd = halfnormal(0.5)\nprior y.sd_school = exponential(2)\n"
        + "cluster school: t -> y\nprior y.slope_sd_school = halfnormal(0.3)\nprior y.corr_school = lkj(4)\n"
    )
    by = {c.node: c for c in spec.clusters}
    assert str(by["m"].sd) == "halfnormal(sigma=0.5)" and str(by["w"].sd) == "halfnormal(sigma=0.5)"
    assert str(by["y"].sd) == "exponential(lam=2)"
    assert str(by["y"].slope_sd) == "halfnormal(sigma=0.3)" and by["y"].eta == 4.0


def test_family_default_sd_prior():
    spec = dagmed.parse("treatment t\noutcome y\nt -> y ~ normal\ncluster g\n")
    assert str(spec.clusters[0].sd) == "halfcauchy(beta=1)"


@pytest.mark.parametrize(
    "extra, message",
    [
        ("cluster school: x", r"s.dag:6:1: cluster school: x is not a modelled node \(not in the graph\)"),
        ("cluster school: t", r"s.dag:6:1: cluster school: t is not a modelled node \(has no family\).*t ~ bernoulli"),
        ("cluster m", r"s.dag:6:1: cluster m: m is a node of the graph"),
        ("cluster school: m -> y", r"only the treatment's coefficient may vary by cluster"),
        ("cluster school: t -> m\ncluster school: t -> x", r"s.dag:7:1: cluster school: x is not a modelled node"),
        ("prior y.sd_class = halfnormal(1)\ncluster school", r"s.dag:6:1: prior for y.sd_class, but y has no random"),
        ("cluster school\nprior y.slope_sd_school = halfnormal(1)", r"s.dag:7:1: .*y has no random slope by school"),
        ("cluster school\nprior y.corr_school = normal(0, 1)", r"s.dag:7:23: .*lkj\(eta\) with eta > 0"),
        ("cluster school\nprior y.sd_school = normal(0, 1)", r"s.dag:7:21: .*needs a positive prior"),
        (
            "cluster school\nprior sd_school = halfnormal(1)",
            r"s.dag:7:1: prior sd_school names a cluster column but no",
        ),
        ("cluster school\nprior y.sd = halfnormal(1)", r"s.dag:7:1: prior y.sd: name the cluster column"),
    ],
)
def test_refusals(extra, message):
    with pytest.raises(SpecError, match=message):
        dagmed.parse(BASE + extra + "\n", "s.dag")


def test_a_slope_needs_the_edge():
    spec = "treatment t\noutcome y\nt -> m -> y\nm, y ~ bernoulli\ncluster school: t -> y\n"
    with pytest.raises(SpecError, match=r"y's equation has no t \(add the edge 't -> y'\)"):
        dagmed.parse(spec)


def test_clusters_change_the_model():
    assert dagmed.parse(BASE + "cluster school\n") != dagmed.parse(BASE)
