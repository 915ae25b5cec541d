"""Property-based tests: the parser never leaks a foreign exception; fmt round-trips."""

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dagmed
from dagmed import parser, resolver
from dagmed.errors import DagmedError
from dagmed.fmt import format_ir

ALPHABET = string.ascii_letters + string.digits + " _,.:=()<>-~#\"\\\n\t\r'$é"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=ALPHABET, max_size=120) | st.text(max_size=60))
def test_arbitrary_text_raises_only_dagmed_errors(text):
    try:
        dagmed.analyse(dagmed.parse(text))  # no foreign exception from the checks either
    except DagmedError:
        pass


NODES = st.sampled_from(["t", "y", "m1", "m2", "x", "u_1", "Zeta"])
GROUP = st.lists(NODES, min_size=1, max_size=3, unique=True)
FAMILY = st.sampled_from(["bernoulli", "normal", "poisson"])
NUM = st.one_of(st.integers(-5, 5).map(float), st.floats(0.001, 100, allow_nan=False, allow_infinity=False))
POS = st.floats(0.01, 50, allow_nan=False, allow_infinity=False)
LABEL = st.text(alphabet=string.ascii_letters + " é\"\\0123456789", min_size=1, max_size=8)


def _num(x):
    return repr(float(x))


@st.composite
def statements(draw):
    kind = draw(st.sampled_from(["edge", "family", "latent", "bi", "prior", "data", "code", "missing"]))
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
        dist = draw(st.sampled_from([f"normal({_num(draw(NUM))}, {_num(draw(POS))})",
                                     f"studentt(nu={_num(draw(POS))}, mu=0, sigma=2)",
                                     f"laplace({_num(draw(NUM))}, b={_num(draw(POS))})"]))
        return f"prior {target} = {dist}"
    if kind == "data":
        return "data " + __import__("json").dumps(draw(LABEL))
    if kind == "code":
        return f"code x: {__import__('json').dumps(draw(LABEL))} = 1"
    return f"missing {draw(st.sampled_from(['drop', 'error']))}"


@settings(max_examples=300, deadline=None)
@given(st.lists(statements(), max_size=8), st.booleans())
def test_fmt_round_trips(stmts, comments):
    text = "treatment t\noutcome y\nt -> y ~ bernoulli\n" + "\n".join(
        s + ("  # note" if comments else "") for s in stmts
    ) + "\n"
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


def test_spec_files_never_execute_code(tmp_path):
    # a spec is data: Python in it is a syntax error, not a program
    with pytest.raises(DagmedError):
        dagmed.parse("__import__('os').system('touch pwned')\n")
    assert not (tmp_path / "pwned").exists()


def test_config_is_read_with_safe_load(tmp_path):
    from dagmed.commands import read_config
    from dagmed.errors import UsageError

    p = tmp_path / "c.yaml"
    p.write_text("!!python/object/apply:os.system ['touch pwned']\n")
    with pytest.raises(UsageError):
        read_config(p)
    p.write_text("draws: 10\nchains: two\n")
    with pytest.raises(UsageError, match="chains must be int"):
        read_config(p)
    p.write_text("drawz: 10\n")
    with pytest.raises(UsageError, match="unknown option 'drawz'"):
        read_config(p)
