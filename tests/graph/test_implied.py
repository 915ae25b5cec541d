"""The graph's testable implications (MATH.md section 3d): the conditional independencies the DAG
implies among observed nodes, each testable in one node's GLM (no data: dagmed.graph.implied)."""

import networkx as nx
import pytest

import dagmed
from dagmed.graph.implied import Implication, implications

from conftest import IMPLICATIONS_SPEC, IMPLIED, SPECS

SPEC = IMPLICATIONS_SPEC


@pytest.fixture(scope="module")
def analysis():
    return dagmed.check(dagmed.parse(SPEC))


def test_every_local_markov_implication_once(analysis):
    found = implications(analysis)
    assert [str(i) for i in found] == IMPLIED
    assert all(isinstance(i, Implication) and isinstance(i.given, tuple) for i in found)


def test_implications_hold_by_d_separation(analysis):
    for i in implications(analysis):
        assert nx.is_d_separator(analysis.graph, {i.node}, {i.candidate}, set(i.given))
        assert analysis.graph.nodes[i.node]["family"]  # tested in a model
        assert i.candidate not in nx.descendants(analysis.graph, i.node)


def test_unmodelled_pair_is_not_an_implication():
    # gender and conflict are exogenous without a family: neither has a model to test in
    spec = dagmed.load(SPECS / "substance.dag")
    assert [str(i) for i in implications(dagmed.check(spec))] == ["sub_exp ⟂ dev_peer | fam_int, gender, conflict"]


def test_exogenous_pair_tested_in_the_modelled_node():
    # x has no family; t has one: x ⟂ t is tested in t's model even though x comes later in the spec
    spec = dagmed.parse("treatment t\noutcome y\nt -> y\nx -> y\nt, y ~ bernoulli\n")
    assert [str(i) for i in implications(dagmed.check(spec))] == ["t ⟂ x"]


def test_latent_common_cause_is_not_an_implication():
    spec = dagmed.parse("treatment t\noutcome y\nt -> m -> y\nt -> y\nm <-> c\nc, m, y ~ bernoulli\n")
    # c and m share a latent cause: no c ⟂ m (nor m ⟂ c | t); c ⟂ t holds (the collider m is
    # not given), and so does y ⟂ c | t, m (t and m block every path through U_m_c)
    assert [str(i) for i in implications(dagmed.analyse(spec))] == ["c ⟂ t", "y ⟂ c | t, m"]


def test_suggested_edge_points_from_covariate_to_treatment():
    spec = dagmed.parse("treatment t\noutcome y\nt -> y\nx -> y\nt, x, y ~ bernoulli\n")
    (i,) = implications(dagmed.check(spec))
    assert (i.node, i.candidate, i.edge) == ("t", "x", "x -> t")
