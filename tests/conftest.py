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


@pytest.fixture(params=sorted(CANONICAL))
def canonical(request):
    return request.param, CANONICAL[request.param]


@pytest.fixture(scope="session")
def substance_csv():
    if not SUBSTANCE_CSV.exists():
        pytest.fail(f"the shared example data is missing: {SUBSTANCE_CSV}")
    return SUBSTANCE_CSV
