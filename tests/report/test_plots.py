"""The pictures that need no fit: the DAG in layers and the model graph, with and without Graphviz."""

import numpy as np
import pytest

import dagmed
from dagmed.model import compiler
from dagmed.model.ir import ModelIR
from dagmed.report import plots

from conftest import SPECS


def _ir(name):
    return ModelIR.from_analysis(dagmed.check(dagmed.load(SPECS / name)))


def _nonblank(png):
    import matplotlib.image as mpimg

    return float(np.var(mpimg.imread(png)[..., :3])) > 1e-3


def test_dag_picture(tmp_path):
    path = plots.dag(dagmed.check(dagmed.load(SPECS / "substance.dag")), tmp_path / "dag.png")
    assert _nonblank(path)


def test_model_graph_without_graphviz_is_drawn_and_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setattr(plots.shutil, "which", lambda name: None)
    said = []
    path = plots.model_graph(compiler.build(_ir("three_mediators.dag"), 5), tmp_path / "m.png", said.append)
    assert _nonblank(path)
    assert said == [
        "plots: model_graph.png drawn without Graphviz; for Graphviz's layout install its dot program "
        "(apt install graphviz, brew install graphviz or conda install graphviz)"
    ]


@pytest.mark.skipif(plots.shutil.which("dot") is None, reason="Graphviz's dot program is not installed")
def test_model_graph_with_graphviz(tmp_path):
    said = []
    path = plots.model_graph(compiler.build(_ir("three_mediators.dag"), 5), tmp_path / "m.png", said.append)
    assert _nonblank(path) and said == []
