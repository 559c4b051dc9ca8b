"""The learning time t_1/2 (F has covered half the way from F0 to m), an order parameter of the schema,
against the d-dimensional network integrated numerically (``phasefl.simulate``, ~1e-14 relative)."""

import math

import numpy as np
import pytest

import phasefl

rng = np.random.default_rng(7)


def _pair(scale_u: float, scale_w: float, width: int) -> tuple[np.ndarray, np.ndarray]:
    return scale_u * rng.standard_normal(width), scale_w * rng.standard_normal(width)


PARALLEL = np.array([0.6, 0.8])
CASES = {  # name -> (model, u0, w0)
    "alignment (small init, F0 m < 0)": (phasefl.Model(0.1, 1.0, 1.0), *_pair(0.1, 0.1, 100)),
    "disalignment (large init, d = 4)": (phasefl.Model(1.0, 1.0, 1.0, xy_cov=0.2), *_pair(2.0, 2.0, 4)),
    "rescaling (eta_w = 100 eta_u)": (phasefl.Model(0.3, 0.01, 1.0, xy_cov=-1.5), *_pair(1.0, 0.1, 8)),
    "kernel (wide, NTK scaling)": (phasefl.Model(0.01, 1.0, 1.0, xy_cov=0.5), *_pair(1.0, 1.0, 10_000)),
    "F0 beyond m (same signs)": (phasefl.Model(1.0, 1.0, 2.0, xy_cov=0.1), np.array([2.0, 0.3]), np.array([1.5, -0.2])),
    "logistic (u0 = w0: Kc = 0, m F0 > 0)": (phasefl.Model(1.0, 1.0, 1.0, xy_cov=3.0), PARALLEL, PARALLEL),
    "collapse, |m| < |F0| (u0 = -w0)": (phasefl.Model(1.0, 1.0, 1.0, xy_cov=0.1), PARALLEL, -PARALLEL),
}  # fmt: skip


def t_half(model, u0, w0) -> float:
    return phasefl.classify(model, u0, w0).order["t_half"]


@pytest.mark.parametrize("name", CASES)
def test_the_network_is_half_way_at_t_half(name):
    """At t_1/2 the simulated residual is half the initial one. An error dt in t_1/2 moves the residual
    ratio by a K dt / 2 (it decays at the rate a K), so the ratio's tolerance 1e-10 bounds dt by
    2e-10 / (a K(t_1/2)); the simulation contributes ~1e-14."""
    model, u0, w0 = CASES[name]
    t = t_half(model, u0, w0)
    assert 0 < t < math.inf
    m = model.xy_cov / model.x_var
    tr = phasefl.simulate(model, u0, w0, [0.0, t])
    ratio = (tr.F[1] - m) / (tr.F[0] - m)
    assert ratio == pytest.approx(0.5, abs=1e-10), (t, ratio)


def test_collapse_never_reaching_half_way_and_zero_target():
    """The collapse (u0 = -w0, equal rates: F -> 0, not m): with |m| >= |F0| F stops at 0 before the half
    way, so t_1/2 = inf; with m = 0 F = F0 / (1 + a g |F0| t) halves at t = 1 / (a g |F0|) (g = 2 kappa s)."""
    u0, w0 = PARALLEL, -PARALLEL  # F0 = -kappa
    assert t_half(phasefl.Model(1.0, 1.0, 1.0, xy_cov=2.0), u0, w0) == math.inf
    assert t_half(phasefl.Model(1.0, 1.0, 1.0, xy_cov=0.0), u0, w0) == pytest.approx(1 / (1.0 * 2.0 * 1.0), rel=1e-15)
    tr = phasefl.simulate(phasefl.Model(1.0, 1.0, 1.0, xy_cov=0.0), u0, w0, [0.0, 0.5])
    assert tr.F[1] / tr.F[0] == pytest.approx(0.5, abs=1e-10)


def test_t_half_tends_to_the_half_life_of_the_residual_near_the_target():
    """F0 -> m: the residual decays as e^(-a K t) with K -> K_inf, so t_1/2 -> ln 2 / (a K_inf); at F0 = m
    exactly that limit is the value (not 0 or nan)."""
    u0, w0 = np.array([1.0, 0.5]), np.array([0.8, -0.1])
    model = phasefl.Model(1.0, 1.0, 1.0, xy_cov=float(u0 @ w0))  # m = F0
    k0 = float(w0 @ w0 + u0 @ u0)
    assert t_half(model, u0, w0) == pytest.approx(math.log(2) / k0, rel=1e-14)
