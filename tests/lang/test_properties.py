"""Property-based tests: no foreign exception from text; fmt round-trips; open paths are d-connection."""

import itertools
import string

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dagmed
from dagmed.errors import DagmedError
from dagmed.graph import dag
from dagmed.lang import parser, resolver
from dagmed.lang.fmt import format_ir

ALPHABET = string.ascii_letters + string.digits + " _,.:=()<>-~#\"\\\n\t\r'$é`"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=ALPHABET, max_size=120) | st.text(max_size=60))
def test_arbitrary_text_raises_only_dagmed_errors(text):
    try:
        dagmed.analyse(dagmed.parse(text))  # no foreign exception from the checks either
    except DagmedError:
        pass


NODES = st.sampled_from(["t", "y", "m1", "m2", "x", "u_1", "Zeta", "`got t`", "`prior`", "`m (2)`"])
GROUP = st.lists(NODES, min_size=1, max_size=3, unique=True)
FAMILY = st.sampled_from(["bernoulli", "normal", "poisson"])
NUM = st.one_of(st.integers(-5, 5).map(float), st.floats(0.001, 100, allow_nan=False, allow_infinity=False))
POS = st.floats(0.01, 50, allow_nan=False, allow_infinity=False)
LABEL = st.text(alphabet=string.ascii_letters + ' é"\\0123456789', min_size=1, max_size=8)


def _num(x):
    return repr(float(x))


@st.composite
def statements(draw):
    kind = draw(st.sampled_from(["edge", "family", "latent", "bi", "prior", "data", "code", "missing", "na"]))
    if kind == "edge":
        groups = draw(st.lists(GROUP, min_size=2, max_size=3))
        fam = draw(st.none() | FAMILY)
        return " -> ".join(", ".join(g) for g in groups) + (f" ~ {fam}" if fam else "")
    if kind == "family":
        return f"{', '.join(draw(GROUP))} ~ {draw(FAMILY)}"
    if kind == "latent":
        return f"latent {draw(st.sampled_from(['u', 'v']))}"
    if kind == "bi":
        a, b = draw(st.lists(NODES, min_size=2, max_size=2, unique=True))
        return f"{a} <-> {b}"
    if kind == "prior":
        target = draw(st.sampled_from(["intercept", "beta", "y.intercept", "t -> y"]))
        dist = draw(
            st.sampled_from(
                [
                    f"normal({_num(draw(NUM))}, {_num(draw(POS))})",
                    f"studentt(nu={_num(draw(POS))}, mu=0, sigma=2)",
                    f"laplace({_num(draw(NUM))}, b={_num(draw(POS))})",
                ]
            )
        )
        return f"prior {target} = {dist}"
    if kind == "data":
        return "data " + __import__("json").dumps(draw(LABEL))
    if kind == "code":
        return f"code x: {__import__('json').dumps(draw(LABEL))} = 1"
    if kind == "na":
        return "na " + ", ".join(
            __import__("json").dumps(c)
            for c in draw(st.lists(st.sampled_from([".", "-99", "?"]), min_size=1, max_size=3))
        )
    return f"missing {draw(st.sampled_from(['drop', 'error']))}"


@settings(max_examples=300, deadline=None)
@given(st.lists(statements(), max_size=8), st.booleans())
def test_fmt_round_trips(stmts, comments):
    text = (
        "treatment t\noutcome y\nt -> y ~ bernoulli\n"
        + "\n".join(s + ("  # note" if comments else "") for s in stmts)
        + "\n"
    )
    try:
        first = parser.parse(text)
        spec = resolver.resolve(first)
    except DagmedError:
        return
    canonical = format_ir(first)
    again = parser.parse(canonical)
    assert resolver.resolve(again) == spec
    assert format_ir(again) == canonical  # idempotent
    assert [type(s) for s in again.statements] == [type(s) for s in first.statements]


@st.composite
def dags_with_a_query(draw):
    """A random DAG (edges follow a random order of its nodes), two nodes and a conditioning set."""
    n = draw(st.integers(2, 8))
    order = draw(st.permutations(range(n)))
    g = nx.DiGraph()
    g.add_nodes_from(draw(st.permutations(range(n))))  # iteration order unrelated to the edges
    g.add_edges_from((order[i], order[j]) for i, j in itertools.combinations(range(n), 2) if draw(st.booleans()))
    a, b = draw(st.lists(st.sampled_from(range(n)), min_size=2, max_size=2, unique=True))
    given = draw(st.sets(st.sampled_from([v for v in range(n) if v not in (a, b)]))) if n > 2 else set()
    return g, a, b, given


def is_open_path(g, path, given):
    """The textbook rule, written out independently of dag.active_path."""
    opens = set(given).union(*(nx.ancestors(g, z) for z in given))
    if len(set(path)) != len(path) or not all(g.has_edge(u, v) or g.has_edge(v, u) for u, v in zip(path, path[1:])):
        return False
    for u, v, w in zip(path, path[1:], path[2:]):
        collider = g.has_edge(u, v) and g.has_edge(w, v)
        if (v not in opens) if collider else (v in given):
            return False
    return True


@settings(max_examples=600, deadline=None)
@given(dags_with_a_query())
def test_active_path_exactly_when_d_connected(case):
    g, a, b, given_ = case
    path = dag.active_path(g, a, b, given_)
    assert (path is None) == nx.is_d_separator(g, {a}, {b}, given_)
    if path is not None:
        assert (path[0], path[-1]) == (a, b) and is_open_path(g, path, given_), path


def test_active_path_is_a_shortest_open_path():
    # the open path a -> c <- b (c has a given descendant) is shorter than a <- u -> v -> b
    g = nx.DiGraph([("u", "a"), ("u", "v"), ("v", "b"), ("a", "c"), ("b", "c"), ("c", "d")])
    assert dag.active_path(g, "a", "b", {"d"}) == ["a", "c", "b"]
    assert dag.active_path(g, "a", "b", set()) == ["a", "u", "v", "b"]  # the collider c is closed
    assert dag.active_path(g, "a", "b", {"v"}) is None
    assert dag.format_path(g, ["a", "c", "b"]) == "a -> c <- b"


@pytest.mark.parametrize("a, b, given_", [("a", "a", set()), ("a", "b", {"a"}), ("a", "b", {"b"})])
def test_active_path_refuses_a_query_that_is_not_one(a, b, given_):
    with pytest.raises(ValueError, match="two distinct nodes outside the conditioning set"):
        dag.active_path(nx.DiGraph([("a", "b")]), a, b, given_)


def test_spec_files_never_execute_code(tmp_path, monkeypatch):
    # a spec is data: Python in it is a syntax error, not a program (run where 'touch' would write)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DagmedError):
        dagmed.parse("__import__('os').system('touch pwned')\n")
    assert not (tmp_path / "pwned").exists()


def test_config_is_read_with_safe_load(tmp_path, monkeypatch):
    from dagmed.cli.config import read_config
    from dagmed.errors import UsageError

    monkeypatch.chdir(tmp_path)  # where an unsafe load would run 'touch pwned'
    p = tmp_path / "c.yaml"
    p.write_text("!!python/object/apply:os.system ['touch pwned']\n")
    with pytest.raises(UsageError):
        read_config(p)
    assert not (tmp_path / "pwned").exists()
    p.write_text("draws: 10\nchains: two\n")
    with pytest.raises(UsageError, match="chains must be int"):
        read_config(p)
    p.write_text("drawz: 10\n")
    with pytest.raises(UsageError, match="unknown option 'drawz'"):
        read_config(p)
