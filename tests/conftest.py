"""Shared fixtures: small canonical graphs and the paths of the shared example data."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SPECS = REPO / "specs"
SHARED = REPO.parent / "shared"
SUBSTANCE_CSV = SHARED / "data" / "substance.csv"

# Canonical graphs (treatment t, outcome y).
CANONICAL = {
    "chain": "treatment t\noutcome y\nt -> m -> y\nm, y ~ bernoulli\n",
    "fork": "treatment t\noutcome y\nx -> t, y\nt -> y ~ bernoulli\n",
    "collider": "treatment t\noutcome y\nt -> y ~ bernoulli\nt, y -> c ~ bernoulli\n",
    "two_mediators": "treatment t\noutcome y\nt -> m1, m2 -> y\nt -> y\nm1, m2, y ~ bernoulli\n",
    "dependent_mediators": "treatment t\noutcome y\nt -> m1, m2 -> y\nm1 -> m2\nm1, m2, y ~ bernoulli\n",
    "latent_confounder": "treatment t\noutcome y\nt -> m -> y\nt <-> y\nm, y ~ bernoulli\n",
}


# Every family and kind of implication: an exogenous covariate without a family (x1), one with
# a family and no parents (x2), an empty conditioning set, bernoulli, poisson and normal nodes.
IMPLICATIONS_SPEC = """treatment t
outcome y
x1 -> t
t -> m1, m2
x2 -> m2
t, m1, m2, x1 -> y
x2, t, m1 ~ bernoulli
m2 ~ poisson
y ~ normal
"""
# Its implications (tests/graph/test_implied.py checks them; tests/fit/test_implications.py tests each).
IMPLIED = [
    "x2 ⟂ x1",
    "t ⟂ x2 | x1",
    "m1 ⟂ x1 | t",
    "m1 ⟂ x2 | t",
    "m2 ⟂ x1 | t, x2",
    "m2 ⟂ m1 | t, x2",
    "y ⟂ x2 | t, m1, m2, x1",
]


@pytest.fixture(params=sorted(CANONICAL))
def canonical(request):
    return request.param, CANONICAL[request.param]


def needs_substance() -> Path:
    """The shared example data's path; skips the calling test, with the reason, when it is absent.

    The data are not ours and are not in the repository: CI has them beside the clone
    (``../shared``), a fresh clone with nothing beside it does not.
    """
    if not SUBSTANCE_CSV.exists():
        pytest.skip(f"needs the shared example data {SUBSTANCE_CSV} (not in the repository)")
    return SUBSTANCE_CSV


@pytest.fixture(scope="session")
def substance_csv():
    return needs_substance()
