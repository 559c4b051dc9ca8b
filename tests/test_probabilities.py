"""Regime probabilities over Gaussian initialization (phasefl.regime_probabilities, issue 17): against Monte
Carlo with 10^6 exact Gram samples per cell, against the closed form of P(K_inf < K0), against a refined
quadrature, and the structural properties (sum, threshold monotonicity, target-sign symmetry, width-free cost)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import phasefl
from phasefl import probabilities
from phasefl.regimes import LABELS

DRAWS = 10**6

# width, scaling, lr_u, lr_w, xy_cov, init_scale_u, init_scale_w, kernel_threshold, zeta_threshold: NTK
# (kappa = width^-1/2) and mean-field (kappa = 1/width) cells, balanced and unbalanced rates, both signs of the
# target; the thresholds are set where several labels have a fair share (|rK| ~ 1/width under NTK scaling).
CELLS = [
    (1, "ntk", 1.0, 1.0, 1.0, 1.0, 1.0, 0.05, 0.9),
    (2, "mf", 1.0, 2.0, -1.0, 1.0, 1.0, 0.05, 0.9),
    (3, "ntk", 1.0, 1.0, 0.3, 2.0, 0.5, 0.05, 0.9),
    (10, "ntk", 1.0, 1.0, 1.0, 1.0, 1.0, 0.05, 0.9),
    (10, "mf", 1.0, 3.0, -1.0, 1.0, 1.0, 0.05, 0.9),
    (100, "ntk", 1.0, 1.0, -2.0, 1.0, 1.0, 0.01, 0.3),
    (1000, "mf", 2.0, 1.0, 1.0, 1.0, 1.0, 0.05, 1 / 3),
    (10**4, "ntk", 1.0, 1.5, 1.0, 1.0, 1.0, 5e-5, 0.2),
    (10**5, "mf", 1.0, 1.0, -1.0, 1.0, 1.0, 0.05, 0.003),
    (10**5, "ntk", 1.0, 1.0, 1.0, 1.0, 1.0, 3e-6, 0.005),
]


def cell_model(width, scaling, lr_u, lr_w, xy_cov):
    kappa = width**-0.5 if scaling == "ntk" else 1.0 / width
    return phasefl.Model(kappa, lr_u, lr_w, 1.0, xy_cov)


def monte_carlo(model, width, s_u, s_w, eps, zeta_star, seed):
    """Label frequencies, P(K_inf < K0) and the classification of DRAWS exact Gram samples."""
    g = phasefl.sample_gram(width, s_u, s_w, size=DRAWS, seed=seed)
    c = phasefl.classify_batch(*model.as_tuple(), g.uu, g.ww, g.uw, g.d2, eps, zeta_star)
    return np.bincount(c.label, minlength=4) / DRAWS, float(np.mean(c.ntk_rel_change < 0)), c


def deviation(p, freq):
    """|freq - p| in binomial standard errors of DRAWS draws (one count's worth where p(1 - p) is tiny)."""
    return abs(freq - p) / math.sqrt(max(p * (1 - p), 1 / DRAWS) / DRAWS)


@pytest.mark.parametrize("cell", CELLS, ids=[f"d{c[0]}-{c[1]}-b{c[4]:+g}" for c in CELLS])
def test_against_monte_carlo(cell):
    width, scaling, lr_u, lr_w, xy_cov, s_u, s_w, eps, zeta_star = cell
    model = cell_model(width, scaling, lr_u, lr_w, xy_cov)
    res = phasefl.regime_probabilities(model, width, s_u, s_w, kernel_threshold=eps, zeta_threshold=zeta_star)
    freq, decrease, _ = monte_carlo(model, width, s_u, s_w, eps, zeta_star, seed=width)
    worst = max(deviation(res.probabilities[label], f) for label, f in zip(LABELS, freq))
    assert worst < 4, (res.probabilities, freq)
    assert deviation(res.ntk_decrease, decrease) < 4
    # the cells are informative: at least two labels with a share of 0.1% or more
    assert sum(p > 1e-3 for p in res.probabilities.values()) >= 2


@pytest.mark.parametrize("width, scaling, lr_w, xy_cov", [(3, "mf", 2.0, -1.0), (10, "ntk", 3.0, 1.0)])
def test_order_statistics_against_monte_carlo(width, scaling, lr_w, xy_cov):
    """Means within 4 standard errors; the empirical CDF at each quantile within 4 binomial errors of its level.
    (From width 3 on: K_inf/K0 ~ sqrt(nu)/(P + V) near the origin has an infinite variance at width 2.)"""
    model = cell_model(width, scaling, 1.0, lr_w, xy_cov)
    res = phasefl.regime_probabilities(model, width, 1.0, 1.0)
    _, _, c = monte_carlo(model, width, 1.0, 1.0, 0.05, 0.9, seed=7)
    for mean, values, quantiles in (
        (res.ntk_ratio_mean, c.ntk_ratio, res.ntk_ratio_quantiles),
        (res.zeta_mean, c.zeta, res.zeta_quantiles),
    ):
        assert abs(mean - values.mean()) < 4 * values.std() / math.sqrt(DRAWS)
        for level, q in quantiles.items():
            assert deviation(level, float(np.mean(values <= q))) < 4, (level, q)


@pytest.mark.parametrize(
    "width, kappa", [(1, 1.0), (1, 0.05), (2, 0.3), (3, 1.0), (7.5, 0.3), (10, 0.05), (40, 0.3), (200, 200**-0.5)]
)
def test_closed_form_ntk_decrease(width, kappa):
    """P(K_inf < K0) = P(|F0| > |m|): the variance-gamma closed form equals the quadrature to 1e-10."""
    model = phasefl.Model(kappa, 1.0, 2.0, 1.0, 0.7)
    closed = probabilities.ntk_decrease_closed_form(model, width, 1.3, 0.8)
    law = probabilities.reduce(model, width, 1.3, 0.8)
    quad = probabilities.label_probabilities(law, 0.05, 0.9)[4]
    assert 0 < closed < 1 and abs(closed - quad) < 1e-10


def test_closed_form_width_one_by_hand():
    """Width 1: F0 = kappa u w is a product of normals, P(|u w| <= a) by a one-dimensional integral."""
    from scipy import integrate, special

    a = 0.4
    model = phasefl.Model(1.0, 1.0, 1.0, 1.0, a)
    by_hand = integrate.quad(
        lambda u: 2 * np.exp(-u * u / 2) / math.sqrt(2 * math.pi) * special.erfc(a / u / 2**0.5), 0, np.inf
    )
    assert abs(probabilities.ntk_decrease_closed_form(model, 1, 1.0, 1.0) - by_hand[0]) < 1e-9


@pytest.mark.parametrize("cell", CELLS[:2] + CELLS[4:5] + [(10**12, "ntk", 1.0, 1.0, 1.0, 1.0, 1.0, 1e-12, 1e-6)])
def test_against_refined_quadrature(cell):
    width, scaling, lr_u, lr_w, xy_cov, s_u, s_w, eps, zeta_star = cell
    law = probabilities.reduce(cell_model(width, scaling, lr_u, lr_w, xy_cov), width, s_u, s_w)
    fine = probabilities.label_probabilities(law, eps, zeta_star, probabilities.NODES)
    refined = probabilities.label_probabilities(law, eps, zeta_star, 2 * probabilities.NODES - 1)
    assert np.max(np.abs(fine - refined)) < 1e-6
    coarse = probabilities.label_probabilities(law, eps, zeta_star, probabilities.COARSE_NODES)
    assert np.max(np.abs(fine - refined)) <= max(np.max(np.abs(fine - coarse)), 1e-9)  # the error estimate holds


def test_sum_and_sign_symmetry():
    """The four labels are integrated separately (rescaling too), so their sum is a check; labels depend on
    the target only through m^2 (outside a null set)."""
    rng = np.random.default_rng(3)
    for _ in range(6):
        width = float(np.exp(rng.uniform(0, np.log(1e6))))
        model = phasefl.Model(width ** -rng.uniform(0.5, 1), *np.exp(rng.normal(size=2)), 1.0, rng.normal())
        law_scales = np.exp(rng.normal(size=2))
        law = probabilities.reduce(model, width, *law_scales)
        eps, zeta_star = float(np.exp(rng.uniform(-8, 0))), float(rng.uniform(0.05, 0.95))
        p = probabilities.label_probabilities(law, eps, zeta_star, n=17)  # the sum is 1 at any resolution
        assert abs(p[:4].sum() - 1) < 1e-9 and np.all(p > -1e-12)
        flipped = phasefl.Model(model.output_scale, model.lr_u, model.lr_w, 1.0, -model.xy_cov)
        law_flipped = probabilities.reduce(flipped, width, law_scales[0], law_scales[1])
        assert np.array_equal(probabilities.label_probabilities(law_flipped, eps, zeta_star, n=17), p)


def test_threshold_monotonicity():
    """A larger kernel threshold never lowers P(kernel); a larger zeta threshold never raises P(rescaling)
    nor lowers P(alignment) + P(disalignment); P(K_inf < K0) does not depend on either."""
    law = probabilities.reduce(phasefl.Model(0.3, 1.0, 2.0, 1.0, -1.0), 10, 1.0, 1.0)
    by_eps = np.array(
        [probabilities.label_probabilities(law, e, 0.9, n=25) for e in (0.001, 0.01, 0.05, 0.2, 1.0, 3.0)]
    )
    assert np.all(np.diff(by_eps[:, 0]) > 0) and by_eps[-1, 0] > by_eps[0, 0] + 0.5
    by_zeta = np.array([probabilities.label_probabilities(law, 0.05, z, n=25) for z in (0.0, 0.2, 0.5, 0.9, 1.0)])
    assert np.all(np.diff(by_zeta[:, 3]) < 0) and np.all(np.diff(by_zeta[:, 1] + by_zeta[:, 2]) > 0)
    assert by_zeta[-1, 3] < 1e-12 and abs(by_zeta[0, 0] + by_zeta[0, 3] - 1) < 1e-9
    assert np.ptp(np.concatenate([by_eps[:, 4], by_zeta[:, 4]])) < 1e-7  # to the accuracy of 25 nodes


def test_cost_does_not_depend_on_width(monkeypatch):
    """The same number of quadrature nodes at width 10 and 10^12 (counted at the chi-square quantile)."""
    counts = []

    def count(law, u):
        counts[-1] += np.size(u)
        return 2 * probabilities.special.gammaincinv(law.width / 2, u)

    monkeypatch.setattr(probabilities.Reduced, "quantile", count)
    for width in (10, 10**12):
        counts.append(0)
        model = phasefl.Model(width**-0.5, 1.0, 2.0, 1.0, 1.0)
        probabilities.label_probabilities(probabilities.reduce(model, width, 1.0, 1.0), 0.05 / width, 0.9)
    assert counts[0] > 0 and counts[1] <= 1.2 * counts[0]


def test_result_and_validation():
    res = phasefl.regime_probabilities(phasefl.Model(1.0, 1.0, 1.0), 1, 1.0, 1.0)
    assert set(res.probabilities) == set(LABELS) and abs(sum(res.probabilities.values()) - 1) < 1e-12
    assert res.error < 1e-6 and res.ntk_ratio_mean == math.inf and res.zeta_mean == 1.0
    assert list(res.zeta_quantiles) == list(probabilities.QUANTILE_LEVELS)
    assert np.all(np.diff(list(res.ntk_ratio_quantiles.values())) > 0)
    for bad in ({"width": 0.5}, {"width": math.inf}, {"kernel_threshold": 0.0}, {"zeta_threshold": 1.5}):
        args = {"model": phasefl.Model(1.0, 1.0, 1.0), "width": 3, "init_scale_u": 1.0, "init_scale_w": 1.0} | bad
        with pytest.raises(ValueError):
            phasefl.regime_probabilities(**args)
