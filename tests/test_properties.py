"""Property-based tests (hypothesis): invariants that must hold for every input, not just chosen ones."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phasefl import classify_batch, solve_batch
from phasefl.regimes import label_codes
from phasefl.sweep import parse_range

decades = st.floats(min_value=-4.0, max_value=4.0)


@st.composite
def cells(draw):
    """Hyperparameters and Gram numbers of a non-degenerate cell (D^2 > 0), over many decades."""
    kappa, lr_u, lr_w, su, sw = (10.0 ** draw(decades) for _ in range(5))
    b = draw(st.floats(min_value=-3.0, max_value=3.0))
    uu, ww = su * su, sw * sw
    cos = draw(st.floats(min_value=-0.999, max_value=0.999))
    uw = cos * math.sqrt(uu * ww)
    return kappa, lr_u, lr_w, 1.0, b, uu, ww, uw, uu * ww * (1 - cos * cos)


@settings(max_examples=200, deadline=None)
@given(cells())
def test_final_ntk_ratio_is_sqrt_one_plus_gamma2_minus_gamma02(cell):
    """K^2 - g^2 F^2 is conserved, so K_inf^2 / K0^2 = 1 + Gamma^2 - Gamma0^2 (D^2 > 0: no collapse)."""
    res = classify_batch(*cell)
    want = math.sqrt(1.0 + float(res.gamma) ** 2 - float(res.gamma0) ** 2)
    assert float(res.ntk_ratio) == pytest.approx(want, rel=1e-9)


@settings(max_examples=100, deadline=None)
@given(cells(), st.lists(st.floats(min_value=-3.0, max_value=3.0), min_size=1, max_size=6))
def test_conserved_quantities_along_the_trajectory(cell, log_times):
    """The layer imbalance eta_w |u|^2 - eta_u |w|^2 and K^2 - g^2 F^2 (g = 2 kappa sqrt(eta_u eta_w)) stay
    at their initial values, at every time, to rounding of the terms they are made of."""
    kappa, lr_u, lr_w, a, b, uu, ww, uw, d2 = cell
    k0 = kappa**2 * (lr_u * ww + lr_w * uu)
    times = np.concatenate([[0.0], 10.0 ** np.array(log_times) / (a * k0)])
    tr = solve_batch(*cell, times)
    imbalance = lr_w * tr.norm_u2 - lr_u * tr.norm_w2
    scale = lr_w * tr.norm_u2 + lr_u * tr.norm_w2
    np.testing.assert_allclose(imbalance, lr_w * uu - lr_u * ww, rtol=0, atol=float(np.max(scale)) * 1e-11)
    g2 = 4 * kappa**2 * lr_u * lr_w
    invariant = tr.ntk**2 - g2 * tr.F**2
    np.testing.assert_allclose(invariant, invariant[0], rtol=0, atol=float(np.max(tr.ntk**2)) * 1e-11)


@settings(max_examples=300, deadline=None)
@given(
    st.floats(min_value=-10.0, max_value=10.0),
    st.floats(min_value=0.0, max_value=1.0),
    st.floats(min_value=1e-6, max_value=1.0),
    st.floats(min_value=1e-6, max_value=1.0),
    st.floats(min_value=0.0, max_value=1.0),
)
def test_the_label_rule_is_monotone_in_its_thresholds(rk, zeta, t1, t2, zt):
    """A larger kernel threshold never turns a kernel cell into a feature-learning one, and a larger
    zeta threshold never turns a non-rescaling cell into rescaling."""
    lo, hi = sorted((t1, t2))
    if label_codes(rk, zeta, lo, zt) == 0:
        assert label_codes(rk, zeta, hi, zt) == 0
    if label_codes(rk, zeta, 0.5, zt) != 3 and zt < 1.0:
        assert label_codes(rk, zeta, 0.5, min(1.0, zt + 0.1)) != 3
    assert (label_codes(rk, zeta, lo, zt) == 0) == (abs(rk) < lo)


@settings(max_examples=200, deadline=None)
@given(decades, decades, st.integers(min_value=2, max_value=400))
def test_log_ranges_round_trip(lo, hi, n):
    if abs(hi - lo) < 1e-6:
        return
    text = f"{10.0**lo!r}:{10.0**hi!r}:{n}"
    axis = parse_range("init_scale", text)
    assert axis.values.size == n and axis.spacing == "log"
    assert axis.values[0] == pytest.approx(10.0**lo, rel=1e-12) and axis.values[-1] == pytest.approx(
        10.0**hi, rel=1e-12
    )
    np.testing.assert_allclose(np.diff(np.log10(axis.values)), (hi - lo) / (n - 1), rtol=1e-9, atol=1e-12)
    lin = parse_range("target", f"{lo!r}:{hi!r}:{n}")
    assert lin.spacing == "linear" and lin.values[0] == lo and lin.values[-1] == pytest.approx(hi, abs=1e-12)
