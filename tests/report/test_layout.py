"""The layered drawing (dagmed.report.layout) of the DAG and of the model graph: columns by role,
labels inside their boxes, no overlapping boxes, no edge through a box."""

import networkx as nx
import pytest

import dagmed
from dagmed.model import compiler
from dagmed.model.ir import ModelIR
from dagmed.report import layout, plots

from conftest import SPECS

BRANCHY = (
    "treatment t\noutcome y\nx1 -> x2 -> t\nx2 ~ normal\nx1, x2, x3 -> y\nt -> a, b, c -> y\na -> c\nb -> c\n"
    "c -> d -> y\nt -> y\nt, a, b, c, d, y ~ bernoulli\nt -> o ~ bernoulli\n"
)
SPEC_FILES = ["substance.dag", "substance_dependent.dag", "three_mediators.dag", "linear.dag"]


def _analyses():
    out = {name: dagmed.check(dagmed.load(SPECS / name)) for name in SPEC_FILES}
    out["branchy"] = dagmed.check(dagmed.parse(BRANCHY))
    return out


ANALYSES = _analyses()


def _assert_no_edge_through_a_box(lay):
    for (u, v), path in lay.edges.items():
        points = path.interpolated(40).vertices
        for n, box in lay.boxes.items():
            inside = [p for p in points if box.contains(*p, margin=-0.5)]
            if n not in (u, v):
                assert not inside, f"edge {u} -> {v} passes through {n}"
        # it starts on its source's right side and ends on its target's left side
        assert points[0][0] == pytest.approx(lay.boxes[u].x + lay.boxes[u].w / 2)
        assert points[-1][0] == pytest.approx(lay.boxes[v].x - lay.boxes[v].w / 2)


@pytest.mark.parametrize("name", sorted(ANALYSES))
def test_dag_layers_roles_left_to_right_labels_inside_no_edge_through_a_box(name):
    a = ANALYSES[name]
    lay = plots.dag_layout(a)
    x = {n: b.x for n, b in lay.boxes.items()}
    assert all(x[c] < x[a.treatment] for c in a.covariates)
    assert all(x[a.treatment] < x[m] < x[a.outcome] for m in a.mediators)
    for n, box in lay.boxes.items():
        assert layout.text_width(n) + 2 * layout.BOX_PAD <= box.w + 1e-9  # the label fits inside its box
    boxes = list(lay.boxes.items())
    for i, (n1, b1) in enumerate(boxes):  # boxes never overlap
        for n2, b2 in boxes[i + 1 :]:
            assert abs(b1.x - b2.x) >= (b1.w + b2.w) / 2 or abs(b1.y - b2.y) >= (b1.h + b2.h) / 2, (n1, n2)
    _assert_no_edge_through_a_box(lay)
    assert set(lay.edges) == set(a.graph.edges)


def test_model_graph_layout_keeps_parameters_beside_their_node():
    a = ANALYSES["substance.dag"]
    model = compiler.build(ModelIR.from_analysis(a), 5)
    from pymc.model_graph import ModelGraph

    deps = ModelGraph(model).make_compute_graph()
    g = nx.DiGraph([(p, c) for c, ps in deps.items() for p in ps])
    lay = layout.layered_layout(g, pull_sources=True)
    _assert_no_edge_through_a_box(lay)
    for node in ("fam_int", "sub_disorder"):
        gap = lay.boxes[node].x - lay.boxes[f"{node}_intercept"].x
        assert 0 < gap < 2 * (layout.GAP + max(b.w for b in lay.boxes.values()))
