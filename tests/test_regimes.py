"""Labels follow the spec F rule on exact order parameters; named parametrizations (spec E.3)."""

import numpy as np
import pytest

from phasefl import LABELS, Model, classify, classify_batch, sample_gram
from phasefl.asymptotics import PARAMETRIZATIONS


def _naive_order_parameters(kappa, lr_u, lr_w, a, b, uu, ww, uw, d2):
    """Spec E.1 straight from the definitions (fine at moderate parameters)."""
    s = np.sqrt(lr_u * lr_w)
    g, m, f0 = 2 * kappa * s, b / a, kappa * uw
    C = lr_w * uu - lr_u * ww
    kc = kappa**2 * np.sqrt(C**2 + 4 * s**2 * d2)
    k0 = kappa**2 * (lr_u * ww + lr_w * uu)
    kinf = np.sqrt(kc**2 + g**2 * m**2)
    zeta = np.where(d2 == 0, 1.0, np.abs(C) / np.sqrt(C**2 + 4 * s**2 * d2))
    return kinf / k0, g * np.abs(m) / k0, g * np.abs(f0) / k0, zeta


def test_order_parameters_and_labels_match_the_rule():
    rng = np.random.default_rng(0)
    n = 5000
    kappa = 10 ** rng.uniform(-2, 0, n)
    lr_u, lr_w = 10 ** rng.uniform(-2, 2, n), 10 ** rng.uniform(-2, 2, n)
    b = rng.choice([-1.0, 0.0, 0.5, 2.0], n)
    g = sample_gram(10 ** rng.uniform(0, 3, n), 10 ** rng.uniform(-1.5, 1, n), 10 ** rng.uniform(-1.5, 1, n), seed=1)
    res = classify_batch(kappa, lr_u, lr_w, 1.0, b, *g)
    ratio, gamma, gamma0, zeta = _naive_order_parameters(kappa, lr_u, lr_w, 1.0, b, *g)
    np.testing.assert_allclose(res.ntk_ratio, ratio, rtol=1e-10)
    np.testing.assert_allclose(res.gamma, gamma, rtol=1e-10)
    np.testing.assert_allclose(res.gamma0, gamma0, rtol=1e-10)
    np.testing.assert_allclose(res.zeta, zeta, rtol=1e-8, atol=1e-12)
    # exact identity of spec E.1: K_inf/K0 = sqrt(1 + Gamma^2 - Gamma0^2)
    np.testing.assert_allclose(res.ntk_ratio, np.sqrt(1 + res.gamma**2 - res.gamma0**2), rtol=1e-12)
    rk = ratio - 1
    away = (np.abs(np.abs(rk) - 0.05) > 1e-6) & (np.abs(zeta - 0.9) > 1e-6)
    expected = np.where(np.abs(rk) < 0.05, 0, np.where(zeta >= 0.9, 3, np.where(rk < 0, 2, 1)))
    np.testing.assert_array_equal(res.label[away], expected[away])
    assert set(np.unique(res.label)) == {0, 1, 2, 3}, "the sample should visit all four regimes"


def test_thresholds_are_settings():
    d = 100
    rng = np.random.default_rng(2)
    u0, w0 = rng.normal(size=d), rng.normal(size=d)
    model = Model(output_scale=d**-0.5, lr_u=1.0, lr_w=1.0)  # NTK scaling: small NTK change
    base = classify(model, u0, w0)
    assert base.label == "kernel" and 0 < abs(base.ntk_rel_change) < 0.05
    tight = classify(model, u0, w0, kernel_threshold=abs(base.ntk_rel_change) / 2)
    assert tight.label in {"alignment", "disalignment"}
    assert (
        classify(model, u0, w0, kernel_threshold=abs(base.ntk_rel_change) / 2, zeta_threshold=0.0).label == "rescaling"
    )
    with pytest.raises(ValueError, match="kernel_threshold"):
        classify(model, u0, w0, kernel_threshold=-1)
    with pytest.raises(ValueError, match="zeta_threshold"):
        classify(model, u0, w0, zeta_threshold=2)


# (alpha, b_u, b_w, c_u, c_w) -> label at large width, from the table of spec E.3
SPEC_TABLE = {
    "ntk": "kernel",
    "mean-field": "alignment",
    "mup": "alignment",
    "standard": "kernel",
    (0.5, 0.5, 0.5, 0.0, 0.0): "alignment",  # NTK + small init
    (0.5, -0.25, -0.25, 0.0, 0.0): "kernel",  # NTK + large init
    (1.0, 0.0, 0.0, 0.0, -1.0): "kernel",  # mean-field + eta_w = d
    (2.0, 0.0, 0.0, 0.0, -2.0): "rescaling",  # kappa = d^-2, eta_w = d^2 (u dominant)
}


@pytest.mark.parametrize("setting", list(SPEC_TABLE), ids=str)
def test_named_parametrizations_get_the_spec_label_at_large_width(setting):
    alpha, b_u, b_w, c_u, c_w = PARAMETRIZATIONS[setting] if isinstance(setting, str) else setting
    for d in (1e6, 1e9):
        g = sample_gram(d, d**-b_u, d**-b_w, size=20, seed=3)
        res = classify_batch(d**-alpha, d**-c_u, d**-c_w, 1.0, 1.0, *g)
        assert [LABELS[c] for c in res.label] == [SPEC_TABLE[setting]] * 20
        if SPEC_TABLE[setting] == "rescaling":
            assert set(res.dominant_layer) == {"u"}


def test_width_one_is_pure_rescaling():
    # D^2 = 0: |cos(u, w)| = 1 forever, so any NTK change is a change of norms (spec F).
    res = classify(Model(1.0, 1.0, 1.0, xy_cov=5.0), [0.3], [0.2])
    assert res.label == "rescaling" and res.zeta == 1.0 and res.ntk_ratio > 1.05


def test_label_rule_at_its_thresholds():
    """kernel iff |K_inf/K0 - 1| < threshold (strict); rescaling iff zeta >= threshold (inclusive)."""
    from phasefl.regimes import label_codes

    assert label_codes(0.05, 0.0, 0.05, 0.9) == 1 and label_codes(-0.05, 0.0, 0.05, 0.9) == 2
    assert label_codes(0.0499, 0.95, 0.05, 0.9) == 0
    assert label_codes(0.5, 0.9, 0.05, 0.9) == 3 and label_codes(0.5, 0.8999, 0.05, 0.9) == 1
    assert label_codes(0.5, 1.0, 0.05, 1.0) == 3  # zeta_threshold = 1 is allowed
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="kernel_threshold"):
            label_codes(0.5, 0.5, bad, 0.9)
    with pytest.raises(ValueError, match="zeta_threshold"):
        label_codes(0.5, 0.5, 0.05, 1.01)


def test_dominant_layer_is_the_layer_whose_norm_carries_the_ntk():
    """eta_w |u|^2 vs eta_u |w|^2: the larger term of the NTK at the end."""
    import numpy as np

    from phasefl import Model, classify

    u0, w0 = np.array([3.0, 0.1]), np.array([0.1, 0.2])
    assert classify(Model(0.5, 1.0, 1.0), u0, w0).dominant_layer == "u"
    assert classify(Model(0.5, 1.0, 1.0), w0, u0).dominant_layer == "w"
    assert classify(Model(0.5, 1000.0, 1.0), u0, w0).dominant_layer == "w"  # eta_u |w|^2 wins
