"""Gram numbers: compensated sums, exact zeros, and the exact Wishart sampler."""

from fractions import Fraction

import numpy as np
import pytest

from phasefl import gram, sample_gram
from phasefl.gram import dot


def test_dot_is_correctly_rounded():
    rng = np.random.default_rng(1)
    # ill-conditioned: large terms that cancel, plus a small remainder
    x = np.concatenate([rng.normal(size=500) * 1e8, rng.normal(size=500)])
    y = np.concatenate([rng.normal(size=500), rng.normal(size=500)])
    x = np.concatenate([x, -x[:500]])
    y = np.concatenate([y, y[:500]])
    exact = sum(Fraction(float(a)) * Fraction(float(b)) for a, b in zip(x, y))
    assert dot(x, y) == float(exact)


def test_dot_keeps_the_rounding_error_of_each_product():
    """(1 + 2^-30)^2 - (1 + 2^-29) = 2^-60 exactly: it lives entirely in the rounding error of the first
    product, which a sum of the rounded products loses (it gives 0)."""
    x = np.array([1.0 + 2.0**-30, -(1.0 + 2.0**-29)])
    y = np.array([1.0 + 2.0**-30, 1.0])
    assert dot(x, y) == 2.0**-60


def test_width_one_and_parallel_vectors_have_zero_area():
    assert gram([0.3], [-1.7]).d2 == 0.0
    u = np.random.default_rng(2).normal(size=50)
    assert gram(u, u).d2 == 0.0
    assert gram(u, -2.0 * u).d2 == 0.0


@pytest.mark.parametrize("scale_u, scale_w", [(1.0, 1.0), (1e3, 1e-2), (1e-4, 1e5)])
def test_area_of_nearly_parallel_vectors_keeps_its_digits(scale_u, scale_w):
    """w = u + 1e-9 e (e orthogonal to u): d2 ~ 1e-18 |u|^2 |w|^2 against exact rationals. The projection's
    rounding leaves ~eps |small| in each component of the perpendicular part, a relative error of
    ~eps sqrt(d) / 1e-9 in d2; the second projection must remove what the first leaves along the big
    vector whatever the vectors' scale."""
    rng = np.random.default_rng(3)
    u = rng.normal(size=20)
    e = rng.normal(size=20)
    e -= (e @ u) / (u @ u) * u  # orthogonal direction
    w = (u + 1e-9 * e) * scale_w
    u = u * scale_u
    uu = sum(Fraction(float(a)) ** 2 for a in u)
    ww = sum(Fraction(float(a)) ** 2 for a in w)
    uw = sum(Fraction(float(a)) * Fraction(float(b)) for a, b in zip(u, w))
    exact = float(uu * ww - uw**2)
    assert gram(u, w).d2 == pytest.approx(exact, rel=1e-6)
    assert gram(w, u).d2 == pytest.approx(exact, rel=1e-6)


def test_width_one_has_zero_area_for_any_pair():
    """d = 1: the vectors are parallel, d2 = 0 exactly (a projection would leave rounding noise)."""
    rng = np.random.default_rng(5)
    for a, b in rng.normal(size=(50, 2)) * 10.0 ** rng.integers(-3, 3, (50, 2)):
        assert gram([a], [b]).d2 == 0.0


def test_sampler_moments_match_iid_gaussian():
    d, su, sw, n = 7.0, 0.5, 2.0, 200_000
    g = sample_gram(d, su, sw, size=n, seed=4)
    se = lambda x: x.std() / np.sqrt(n)  # noqa: E731
    assert abs(g.uu.mean() - d * su**2) < 5 * se(g.uu)
    assert abs(g.ww.mean() - d * sw**2) < 5 * se(g.ww)
    assert abs(g.uw.mean()) < 5 * se(g.uw)
    assert abs(g.uw.var() - d * su**2 * sw**2) < 5 * np.sqrt(2.0 / n) * d * su**2 * sw**2 * 2
    np.testing.assert_allclose(g.d2, g.uu * g.ww - g.uw**2, rtol=1e-9, atol=0)


def test_sampler_matches_direct_sampling_in_distribution():
    d, n = 5, 50_000
    rng = np.random.default_rng(5)
    u, w = rng.normal(size=(n, d)), 3.0 * rng.normal(size=(n, d))
    direct = np.sort(np.einsum("ij,ij->i", u, w))
    sampled = np.sort(sample_gram(d, 1.0, 3.0, size=n, seed=6).uw)
    # two-sample Kolmogorov-Smirnov at the 1e-3 level
    from scipy.stats import ks_2samp

    assert ks_2samp(direct, sampled).pvalue > 1e-3


def test_sampler_is_finite_at_huge_width_and_exact_at_width_one():
    """(The cost's independence of width is a benchmark, bench/, not a test.)"""
    g = sample_gram(1e12, 1e-6, 1.0, size=10, seed=7)
    assert np.all(np.isfinite(np.stack(g)))
    np.testing.assert_allclose(g.uu, 1e12 * 1e-12, rtol=1e-4)
    assert np.all(sample_gram(1.0, 1.0, 1.0, size=5, seed=8).d2 == 0)


@pytest.mark.parametrize(
    "args, match",
    [
        ((0.5, 1.0, 1.0), "width"),
        ((np.nan, 1.0, 1.0), "width"),
        ((4, -1.0, 1.0), "init_scale_u"),
        ((4, 1.0, 0.0), "init_scale_w"),
    ],
)
def test_sampler_rejects_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        sample_gram(*args)


def test_gram_of_unit_and_orthogonal_vectors_is_exact():
    """|u0|^2 = 1 exactly is no special case (d2 = 1 here, not 0), nor is |w0|^2 = 1."""
    from phasefl import gram

    assert gram([1.0, 0.0], [0.0, 1.0]) == (1.0, 1.0, 0.0, 1.0)
    assert gram([2.0, 0.0], [0.0, 1.0]).d2 == 4.0 and gram([1.0, 0.0], [0.0, 3.0]).d2 == 9.0
    assert gram([0.0, 0.0], [0.0, 3.0]).d2 == 0.0 and gram([5.0], [3.0]).d2 == 0.0


def test_dot_is_correctly_rounded_at_mixed_scales():
    from fractions import Fraction

    from phasefl.gram import dot

    rng = np.random.default_rng(12)
    for _ in range(50):
        x, y = rng.normal(size=7) * 10.0 ** rng.integers(-5, 5, 7), rng.normal(size=7)
        exact = float(sum(Fraction(a) * Fraction(b) for a, b in zip(x, y)))
        assert dot(x, y) == exact


def test_sampler_broadcasts_width_and_scales_and_accepts_small_scales():
    g = sample_gram(np.array([1.0, 10.0, 100.0]), 0.5, 0.25, seed=1)
    assert g.uu.shape == (3,) and g.d2[0] == 0.0
    g = sample_gram(4.0, np.array([0.5, 2.0]), 1.0, seed=1)
    assert g.uu.shape == (2,)
    g = sample_gram(4.0, 1.0, np.array([[0.5], [2.0]]), seed=1)
    assert g.ww.shape == (2, 1)
    # cells that differ only in a scale get draws of their own, not one draw scaled twice
    for g in (sample_gram(4.0, np.ones(2), 1.0, seed=1), sample_gram(4.0, 1.0, np.ones(2), seed=1)):
        assert g.uu.shape == (2,) and g.uu[0] != g.uu[1]
    with pytest.raises(ValueError, match=r"^init_scale_u must"):
        sample_gram(4, 0.0, 1.0)
    with pytest.raises(ValueError, match=r"^init_scale_w must"):
        sample_gram(4, 1.0, -2.0)
