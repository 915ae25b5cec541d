"""The vectorisable exp and log1p of the fast density (dagmed.fit.vmath) against NumPy's, in units in the last place."""

import numba
import numpy as np
import pytest

from dagmed.fit import vmath


def ulps(got, want):
    """|got - want| in units in the last place of ``want``."""
    return np.abs(got - want) / np.spacing(np.abs(want))


def exp(x):
    out = np.empty_like(x)
    vmath.exp_into(x, out, np.empty(x.shape, np.int64), np.empty(x.shape, np.int64))
    return out


def test_exp_is_within_two_units_in_the_last_place():
    # Bound: r = x - k log 2 carries about |r| eps <= 0.35 eps (log 2 in two parts, k log2_hi exact);
    # Horner's rule on the Taylor polynomial of degree 13 (truncation 5e-18) adds its last
    # rounding, eps/2, and the earlier ones damped by |r q / p| <= 0.41 per step: about 0.76 eps;
    # 2**k is exact. About 1.1 eps relative, i.e. at most 2 units in the last place
    # (measured: 1, with or without fused multiply-adds).
    rng = np.random.default_rng(1)
    x = np.concatenate(
        [
            rng.normal(0.0, 3.0, 10**6),
            rng.uniform(-708.0, 709.7, 10**6),
            -np.abs(rng.normal(0.0, 1e-8, 10**5)),
            [0.0, -0.0, 1e-300, -1e-300, 1.0, -1.0, 709.78, -708.39, -700.0],
        ]
    )
    assert ulps(exp(x), np.exp(x)).max() <= 2


def test_exp_overflows_underflows_and_keeps_nan_as_ieee_arithmetic():
    x = np.array([709.79, 710.0, 1e6, np.inf, -745.2, -1e6, -np.inf, np.nan])
    got = exp(x)
    np.testing.assert_array_equal(got[:4], np.inf)
    np.testing.assert_array_equal(got[4:7], 0.0)
    assert np.isnan(got[7])
    # gradual underflow: subnormal results rounded once, as NumPy's
    sub = np.linspace(-745.0, -708.5, 2001)
    want = np.exp(sub)
    assert np.all(want < np.finfo(float).tiny) and np.all(np.abs(exp(sub) - want) <= np.spacing(want))


def test_exp_in_place_is_the_same():
    x = np.random.default_rng(2).normal(0.0, 5.0, 1001)
    want = exp(x)
    vmath.exp_into(x, x, np.empty(x.shape, np.int64), np.empty(x.shape, np.int64))
    np.testing.assert_array_equal(x, want)


def log1p_unit(e):
    @numba.njit(**vmath.VECTOR)
    def loop(e, out):
        for i in range(e.shape[0]):
            out[i] = vmath.log1p_unit(e[i])

    out = np.empty_like(e)
    loop(e, out)
    return out


def test_log1p_unit_is_within_six_units_in_the_last_place():
    # Bound: s = u / (2 + u) to about 1.5 eps relative (u = (e - 1) / 2 is exact for e >= 1/2,
    # one rounding below), the series' sum q = 1 + O(s^2) to eps, 2 s q to about 2 eps of
    # itself (<= 0.35), plus log 2 rounded and the last addition: about 1.4 eps absolute on a
    # result >= 0.53 above sqrt 2 - 1, i.e. at most 6 units in the last place (measured: 3).
    rng = np.random.default_rng(3)
    e = np.concatenate([rng.random(10**6), np.exp(-rng.uniform(0.0, 745.0, 10**6)), [0.0, 1.0, np.sqrt(2) - 1]])
    e = np.concatenate([e, np.nextafter(np.sqrt(2) - 1, [0.0, 1.0])])
    got = log1p_unit(e)
    want = np.log1p(e)
    nonzero = want > 0
    assert ulps(got[nonzero], want[nonzero]).max() <= 6
    assert np.all(got[~nonzero] == 0.0)


@pytest.mark.parametrize("n", [0, 1, 7, 1000])
def test_sums_are_numpys_within_their_rounding(n):
    a, b = np.random.default_rng(n).normal(size=(2, n))
    # reordered sums of n terms: within n eps sum|terms| of each other
    eps = np.finfo(float).eps
    assert abs(vmath.total(a) - a.sum()) <= n * eps * np.abs(a).sum()
    assert abs(vmath.dot(a, b) - a @ b) <= 2 * n * eps * np.abs(a * b).sum()
